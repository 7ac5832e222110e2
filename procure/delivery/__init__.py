"""Deliveries against the plan: the schedule by week, pricing with tiers and discounts, spend, and
the portfolio report (pure where the figures are pure)."""

from typing import TYPE_CHECKING

from procure._lazy import lazy_front

if TYPE_CHECKING:
    from procure.delivery.payloads import deliveries_payload, invoices_payload, spend_payload
    from procure.delivery.portfolio import build_report
    from procure.delivery.report import (
        MONEY_FIELDS,
        Alert,
        ContractReport,
        ContractState,
        PortfolioReport,
        Severity,
        Totals,
        money_of,
    )
    from procure.delivery.schedule import BurnupPoint, week_of
    from procure.delivery.spend import MoneyPoint
    from procure.records.terms import week_count

__getattr__, __all__ = lazy_front(__name__)
