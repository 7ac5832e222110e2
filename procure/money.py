"""Money: ``Decimal`` amounts with an ISO 4217 currency, exact in every database."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

# Active ISO 4217 codes (list one, 2024), without funds and precious-metal codes.
ISO_CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP
    MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR
    RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT
    TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW
    ZWL
    """.split()  # noqa: SIM905
)

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def check_currency(code: str) -> str:
    """Return the upper-cased code, or raise ``ValueError`` for an unknown currency."""
    upper = code.strip().upper()
    if upper not in ISO_CURRENCIES:
        raise ValueError(f"unknown currency {code!r}; expected an ISO 4217 code such as USD or EUR")
    return upper


LARGEST_AMOUNT = Decimal(10) ** 14  # what a money column holds (24 digits, 10 after the point)


def check_amount(value: Decimal) -> Decimal:
    """An amount a money column can hold: finite, below 10^14 in size, at most 10 decimals."""
    if not value.is_finite() or abs(value) >= LARGEST_AMOUNT:
        raise ValueError(f"expected a finite amount below 10^14, got {value}")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -10 and value != value.quantize(Decimal("1e-10")):
        raise ValueError(f"expected at most 10 decimal places, got {value}")
    return value


def without_padding(amount: Decimal) -> Decimal:
    """``amount`` without trailing zeros after the point (and never in exponent form).

    >>> without_padding(Decimal("0.0656376000")), without_padding(Decimal("120.000"))
    (Decimal('0.0656376'), Decimal('120'))
    """
    return amount.quantize(1) if amount == amount.to_integral() else amount.normalize()


def format_money(amount: Decimal, currency: str, places: int = 2) -> str:
    """Display form, rounded half-even only here: ``format_money(Decimal("1234.5"), "USD")``.

    >>> format_money(Decimal("1234.565"), "USD")
    '$1,234.56'
    >>> format_money(Decimal("-3"), "CHF")
    '-3.00 CHF'
    """
    digits = format_amount(amount, places)
    sign, digits = ("-", digits[1:]) if digits.startswith("-") else ("", digits)
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def format_amount(amount: Decimal, places: int = 2) -> str:
    """An amount grouped by thousands and rounded half-even to ``places`` decimals.

    >>> format_amount(Decimal("0.9333333333333333333333333333"), 4), format_amount(Decimal("1"))
    ('0.9333', '1.00')
    """
    quantum = Decimal(1).scaleb(-places)
    rounded = amount.quantize(quantum, rounding=ROUND_HALF_EVEN)
    return f"{abs(rounded) if rounded == 0 else rounded:,.{places}f}"  # no "-0.00"


class MoneyType(TypeDecorator[Decimal]):
    """Exact decimal storage: NUMERIC on PostgreSQL, canonical text on SQLite.

    SQLite has no decimal type and would round-trip NUMERIC through binary floats.
    """

    impl = String(40)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(24, 10, asdecimal=True))
        return dialect.type_descriptor(String(40))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        return amount if dialect.name == "postgresql" else str(amount)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        amount = Decimal(str(value))
        if dialect.name == "postgresql":
            return without_padding(amount)  # NUMERIC pads to the column scale
        return amount
