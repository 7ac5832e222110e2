"""What a correct label costs: the economics report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from procure.cli._common import (
    AsOf,
    JsonFlag,
    _amount,
    _print_json,
    _session,
    _settings,
    _table,
    _today,
    app,
)
from procure.errors import InputError
from procure.results import to_json


@app.command()
def economics(
    ctx: typer.Context,
    scenario: Annotated[
        Path | None,
        typer.Option(help="A scenario file (YAML or JSON); see the README for its fields."),
    ] = None,
    task_type: Annotated[
        str | None,
        typer.Option(help="Build the scenario from this task type's measured workspace figures."),
    ] = None,
    volume: Annotated[
        int | None, typer.Option(min=1, help="Labels wanted (overrides the scenario's volume).")
    ] = None,
    save_scenario: Annotated[
        Path | None,
        typer.Option(
            help="Write the scenario used (YAML, or JSON by extension) to edit and re-run."
        ),
    ] = None,
    llm_run: Annotated[
        list[int] | None,
        typer.Option(
            help="Measure LLMs from these runs (label set ids, repeatable; default: each model's "
            "run with the most gold items, of those whose cost is known; listed in the output)."
        ),
    ] = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
) -> None:
    """What a correct label costs from each vendor, LLM and hybrid: per label, per accepted and
    per correct label, totals, validation set, break-even, uncertainty bands."""
    from procure import economics as ec

    if (scenario is None) == (task_type is None):
        raise InputError("give either --scenario FILE or --task-type KEY")
    inputs: list[Any] = []
    runs: list[Any] = []
    if scenario is not None:
        if not scenario.is_file():
            raise InputError("no such file", source=str(scenario))
        model = ec.read_scenario(scenario.read_bytes(), str(scenario))
    else:
        from procure.economics import measured_scenario

        with _session(ctx) as session:
            measured = measured_scenario(
                _settings(ctx).label_store,
                task_type or "",
                _today(as_of),
                llm_runs=tuple(llm_run or ()),
                session=session,
            )
        model, inputs, runs = measured.scenario, measured.inputs, measured.llm_runs
    if volume is not None:
        model = model.model_copy(update={"volume": volume})
    if save_scenario is not None:
        fmt = "json" if save_scenario.suffix.lower() == ".json" else "yaml"
        save_scenario.write_text(ec.scenario_text(model, fmt), encoding="utf-8")
    report = ec.report(model)
    if as_json:
        _print_json({**to_json(report), "inputs": inputs, "llm_runs": runs})
        return
    currency = report.currency
    _table(
        [
            (
                s.name,
                f"{float(s.accuracy):.1%}" + ("*" if s.accuracy_estimated else ""),
                _amount(s.cost_per_label),
                _amount(s.cost_per_accepted_label),
                _amount(s.all_in_cost_per_correct_label),
                _amount(s.all_in_cost),
                "-" if s.break_even_volume is None else f"{s.break_even_volume:,}",
            )
            for s in report.strategies
        ],
        [
            "strategy",
            "accuracy",
            f"per label ({currency})",
            "per accepted",
            "per correct (all-in)",
            "all-in total",
            "break-even volume",
        ],
    )
    typer.echo("* estimated from the parts (see README: Economics)")
    typer.echo(report.summary)
    for i in inputs:
        kind = "measured" if i.measured else "ASSUMED "
        typer.echo(f"  {kind} {i.input} = {_amount(i.value)}: {i.note}")
    for run in runs:
        typer.echo(f"  {'used' if run.used else 'not used'}: {run.title}")
