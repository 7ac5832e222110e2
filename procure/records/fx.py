"""Currency conversion with the workspace's exchange-rate table. Amounts are never added across
currencies without a rate: a missing rate is an error that says which rate to add."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from procure.errors import MissingExchangeRateError


@dataclass(frozen=True)
class RateTable:
    """``rates[c]`` is how many units of ``reporting`` currency one unit of ``c`` buys."""

    reporting: str
    rates: Mapping[str, Decimal]

    def rate(self, currency: str) -> Decimal:
        if currency == self.reporting:
            return Decimal(1)
        try:
            return self.rates[currency]
        except KeyError:
            raise MissingExchangeRateError(
                f"no exchange rate from {currency} to the reporting currency {self.reporting}; "
                f"add one (Vendors & contracts > Exchange rates, or `procure fx set {currency} RATE`)"
            ) from None

    def missing(self, currencies: set[str]) -> list[str]:
        return sorted(c for c in currencies if c != self.reporting and c not in self.rates)

    def to_reporting(self, amount: Decimal, currency: str) -> Decimal:
        """``amount`` in ``currency`` expressed in the reporting currency: amount x rate.

        >>> RateTable("USD", {"EUR": Decimal("1.08")}).to_reporting(Decimal("100"), "EUR")
        Decimal('108.00')
        """
        return amount * self.rate(currency)
