from decimal import Decimal as D

import pytest

from procure.errors import MissingExchangeRateError
from procure.money import check_currency, format_money
from procure.records.fx import RateTable


def test_currency_codes() -> None:
    assert check_currency(" eur ") == "EUR"
    with pytest.raises(ValueError, match="unknown currency 'EURO'"):
        check_currency("EURO")


def test_format_rounds_half_even_only_for_display() -> None:
    assert format_money(D("0.125"), "USD") == "$0.12"
    assert format_money(D("0.135"), "USD") == "$0.14"
    assert format_money(D("1234567.891"), "EUR") == "€1,234,567.89"
    assert format_money(D("0.00031"), "USD", places=4) == "$0.0003"


def test_conversion_and_missing_rates() -> None:
    rates = RateTable("USD", {"EUR": D("1.08")})
    assert rates.to_reporting(D("16480.00"), "EUR") == D("17798.4000")
    assert rates.to_reporting(D("5"), "USD") == D("5")
    assert rates.missing({"USD", "EUR", "GBP"}) == ["GBP"]
    with pytest.raises(MissingExchangeRateError, match="no exchange rate from GBP"):
        rates.to_reporting(D(1), "GBP")
