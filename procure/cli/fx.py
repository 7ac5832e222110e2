"""The reporting currency and exchange rates."""

from __future__ import annotations

from typing import Annotated

import typer

from procure.cli._common import (
    AsOf,
    JsonFlag,
    _print_json,
    _session,
    _table,
    _today,
    app,
)

fx_app = typer.Typer(help="The reporting currency and exchange rates used to add currencies.")
app.add_typer(fx_app, name="fx")


@fx_app.command("set")
def fx_set(
    ctx: typer.Context,
    currency: str,
    rate: Annotated[
        str, typer.Argument(help="Units of the reporting currency per unit of CURRENCY.")
    ],
    as_of: AsOf = None,
) -> None:
    """Set the exchange rate of a currency into the reporting currency."""
    from procure.records import set_exchange_rate

    with _session(ctx) as session:
        row = set_exchange_rate(currency, rate, _today(as_of), session=session)
        typer.echo(f"1 {row.currency} = {row.rate} (as of {row.as_of})")


@fx_app.command("reporting")
def fx_reporting(ctx: typer.Context, currency: str) -> None:
    """Set the reporting currency that totals are converted to."""
    from procure.records import set_reporting_currency

    with _session(ctx) as session:
        typer.echo(f"reporting currency: {set_reporting_currency(currency, session=session)}")


@fx_app.command("list")
def fx_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the reporting currency and the exchange rates."""
    from procure.records import exchange_rates, reporting_currency

    with _session(ctx, read_only=True) as session:
        base = reporting_currency(session=session)
        rates = exchange_rates(session=session)
    if as_json:
        rows = [{"currency": r.currency, "rate": str(r.rate), "as_of": r.as_of} for r in rates]
        _print_json({"reporting_currency": base, "rates": rows})
    else:
        typer.echo(f"reporting currency: {base}")
        _table(
            [(r.currency, r.rate, r.as_of) for r in rates],
            ["currency", f"rate ({base})", "as of"],
        )
