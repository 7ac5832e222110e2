"""Plotly figures for the pages (no streamlit here)."""

from __future__ import annotations

import html
import textwrap
from collections.abc import Sequence
from decimal import Decimal

import plotly.graph_objects as go

from procure.delivery import BurnupPoint, ContractReport, MoneyPoint
from procure.economics import CurvePoint, StrategyReport, TornadoBar
from procure.quality import WeekAgreement
from procure.quality.results import (
    AnnotatorPreferences,
    Ceiling,
    GroupPreferences,
    JudgeFigures,
    MarginCalibration,
)
from procure.records import RateTable

PLANNED, DELIVERED, ACCEPTED = "#9aa5b1", "#3b82f6", "#16a34a"
SPENT, PENDING, REMAINING, BUDGET = "#16a34a", "#f59e0b", "#cbd5e1", "#dc2626"
KIND_COLORS = {"human": "#3b82f6", "llm": "#a855f7", "hybrid": "#16a34a"}


def _title(text: str) -> str:
    # Plotly's text (titles, axis categories, legend and hover) takes a subset of HTML, links
    # included: user text is shown as typed.
    return html.escape(text, quote=False)


def _wrapped(text: str, width: int = 26) -> str:
    """User text as typed, in lines of about ``width`` characters (long axis categories)."""
    return "<br>".join(_title(line) for line in textwrap.wrap(text, width) or [""])


def _cumulative_layout(figure: go.Figure, title: str, y_title: str) -> go.Figure:
    figure.update_layout(
        title=_title(title),
        xaxis_title="week ending",
        yaxis_title=y_title,
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 50, "b": 10},
        height=380,
    )
    figure.update_yaxes(rangemode="tozero")
    return figure


def burnup_figure(points: Sequence[BurnupPoint], title: str, unit: str = "unit") -> go.Figure:
    """Cumulative planned, delivered and accepted units of one task type by week end (units
    of different task types are never added); the actual lines stop at the report date."""
    x = [p.week_end for p in points]
    figure = go.Figure()
    figure.add_scatter(
        x=x, y=[p.planned for p in points], name="planned", line={"color": PLANNED, "dash": "dash"}
    )
    figure.add_scatter(
        x=x, y=[p.delivered for p in points], name="delivered", line={"color": DELIVERED}
    )
    figure.add_scatter(
        x=x, y=[p.accepted for p in points], name="accepted", line={"color": ACCEPTED}
    )
    return _cumulative_layout(figure, title, f"cumulative {_title(unit)}s")


def money_burnup_figure(points: Sequence[MoneyPoint], title: str, currency: str) -> go.Figure:
    """Cumulative value by week end: the plan at the newest prices, what was delivered (spent
    plus pending review) and what was spent (accepted, at the frozen prices)."""
    x = [p.week_end for p in points]

    def amounts(values: Sequence[Decimal | None]) -> list[float | None]:
        return [None if v is None else float(v) for v in values]

    figure = go.Figure()
    figure.add_scatter(
        x=x,
        y=amounts([p.planned for p in points]),
        name="planned",
        line={"color": PLANNED, "dash": "dash"},
    )
    figure.add_scatter(
        x=x,
        y=amounts([p.delivered for p in points]),
        name="delivered (spent + pending)",
        line={"color": DELIVERED},
    )
    figure.add_scatter(
        x=x, y=amounts([p.spent for p in points]), name="spent", line={"color": SPENT}
    )
    figure.update_traces(hovertemplate="%{y:,.2f} " + currency)
    return _cumulative_layout(figure, title, f"cumulative {currency}")


def spend_figure(reports: Sequence[ContractReport], rates: RateTable) -> go.Figure:
    """Spent, pending and remaining against each contract's budget, in the reporting currency."""
    names = [_title(r.label) for r in reports]

    def converted(values: Sequence[object]) -> list[float]:
        return [
            float(rates.to_reporting(value, r.contract.currency))  # type: ignore[arg-type]
            for value, r in zip(values, reports, strict=True)
        ]

    figure = go.Figure()
    for label, color, values in (
        ("spent", SPENT, [r.spend.spent for r in reports]),
        ("pending review", PENDING, [r.spend.pending for r in reports]),
        ("still to come", REMAINING, [r.spend.remaining for r in reports]),
    ):
        figure.add_bar(
            y=names, x=converted(values), name=label, orientation="h", marker_color=color
        )
    figure.add_scatter(
        y=names,
        x=converted([r.spend.budget for r in reports]),
        name="budget",
        mode="markers",
        marker={"symbol": "line-ns-open", "size": 28, "color": BUDGET, "line": {"width": 3}},
    )
    figure.update_layout(
        barmode="stack",
        title=f"Spend vs budget ({rates.reporting}, converted at the exchange rates)",
        xaxis_title=rates.reporting,
        xaxis_rangemode="tozero",
        legend={"orientation": "h", "yanchor": "top", "y": -0.18 - 0.4 / len(reports)},
        margin={"t": 50, "b": 10},
        height=220 + 45 * len(reports),
    )
    figure.update_yaxes(autorange="reversed")
    return figure


def confusion_figure(
    labels: Sequence[str], counts: Sequence[Sequence[int]], rows: str, columns: str
) -> go.Figure:
    """A confusion matrix as a heatmap with the counts written in the cells."""
    figure = go.Figure(
        go.Heatmap(
            z=counts,
            x=[_title(label) for label in labels],
            y=[_title(label) for label in labels],
            colorscale="Blues",
            text=counts,
            texttemplate="%{text}",
            showscale=False,
        )
    )
    figure.update_layout(
        title=_title(f"Confusion matrix: {rows} vs {columns} (items)"),
        xaxis_title=_title(columns),
        yaxis_title=_title(rows),
        yaxis_autorange="reversed",
        margin={"t": 50, "b": 10},
        height=380,
    )
    return figure


def trend_figure(weeks: Sequence[WeekAgreement]) -> go.Figure:
    """Cohen's kappa of vendor consensus vs LLM labels by delivery week, with its 95% band."""
    x = [w.week for w in weeks]
    kappa = [w.cohen_kappa for w in weeks]
    low = [w.cohen_kappa_ci95[0] if w.cohen_kappa_ci95 else None for w in weeks]
    high = [w.cohen_kappa_ci95[1] if w.cohen_kappa_ci95 else None for w in weeks]
    figure = go.Figure()
    figure.add_scatter(
        x=x, y=high, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"
    )
    figure.add_scatter(
        x=x,
        y=low,
        mode="lines",
        fill="tonexty",
        fillcolor="rgba(59,130,246,0.15)",
        line={"width": 0},
        name="95% CI",
    )
    figure.add_scatter(x=x, y=kappa, mode="lines+markers", name="kappa", line={"color": DELIVERED})
    figure.add_scatter(
        x=x,
        y=[w.percent_agreement for w in weeks],
        mode="lines+markers",
        name="agreement",
        line={"color": ACCEPTED, "dash": "dot"},
    )
    figure.update_layout(
        title="Vendor vs LLM by delivery week",
        xaxis_title="delivery week",
        yaxis_title="agreement (share) and Cohen's kappa",
        xaxis_dtick=1,
        yaxis_range=[-0.1, 1.05],
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 50, "b": 10},
        height=360,
    )
    return figure


def strategies_figure(strategies: Sequence[StrategyReport], currency: str) -> go.Figure:
    """All-in cost per correct label by strategy, with the 5-95% Monte Carlo band as error bars."""
    names = [_wrapped(s.name) for s in strategies]
    cost = [float(s.all_in_cost_per_correct_label) for s in strategies]
    bands = [s.all_in_cost_per_correct_label_p05_p95 for s in strategies]
    figure = go.Figure()
    figure.add_bar(
        y=names,
        x=cost,
        orientation="h",
        marker_color=[KIND_COLORS[s.kind] for s in strategies],
        error_x={
            "type": "data",
            "symmetric": False,
            "array": [float(b[1]) - c for b, c in zip(bands, cost, strict=True)],
            "arrayminus": [c - float(b[0]) for b, c in zip(bands, cost, strict=True)],
        },
        hovertemplate="%{y}: %{x:.4g} " + currency + " per correct label<extra></extra>",
    )
    wide = min(cost) > 0 and max(cost) / min(cost) > 20  # orders of magnitude apart: log scale
    figure.update_layout(
        xaxis_title=f"{currency} per correct label<br>(all-in{', log scale' if wide else ''})",
        xaxis_type="log" if wide else "linear",
        yaxis={"autorange": "reversed"},
        margin={"t": 20, "b": 10},
        height=120 + 40 * len(names),
    )
    return figure


def break_even_figure(rows: Sequence[CurvePoint], currency: str) -> go.Figure:
    """All-in cost per correct label of each strategy against volume (both axes logarithmic):
    where a hybrid's line crosses a vendor's is its break-even volume."""
    figure = go.Figure()
    for name in dict.fromkeys(r.strategy for r in rows):
        points = [r for r in rows if r.strategy == name]
        figure.add_scatter(
            x=[r.volume for r in points],
            y=[float(r.cost_per_correct_label) for r in points],
            name=_title(name),
            mode="lines",
        )
    figure.update_layout(
        xaxis={"title": "labels wanted", "type": "log"},
        yaxis={"title": f"{currency} per correct label (all-in)", "type": "log"},
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 20, "b": 10},
    )
    return figure


def tornado_figure(bars: Sequence[TornadoBar], baseline: Decimal, currency: str) -> go.Figure:
    """Cost per correct label at the low and high end of each input, around the baseline."""
    shown = list(bars)[:12]
    names = [_title(b.input) for b in shown]
    base = float(baseline)
    figure = go.Figure()
    for label, color, ends, values in (
        (
            "input at its low end",
            "#3b82f6",
            [b.low_value for b in shown],
            [b.at_low for b in shown],
        ),
        (
            "input at its high end",
            "#f59e0b",
            [b.high_value for b in shown],
            [b.at_high for b in shown],
        ),
    ):
        figure.add_bar(
            y=names,
            x=[float(v) - base for v in values],
            base=base,
            orientation="h",
            name=label,
            marker_color=color,
            customdata=[f"{float(e):.4g}" for e in ends],
            hovertemplate="%{y} = %{customdata}: %{x:.4g} " + currency + "<extra></extra>",
        )
    figure.update_layout(
        barmode="overlay",
        xaxis_title=f"{currency} per correct label (all-in)",
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 20, "b": 10},
        height=140 + 32 * len(names),
    )
    return figure


# --- preference pairs ------------------------------------------------------------------------

Ci = tuple[float, float] | None


def _errors(values: Sequence[float | None], intervals: Sequence[Ci]) -> dict[str, object]:
    """Plotly asymmetric error bars of ``values`` from their 95% intervals."""
    return {
        "type": "data",
        "symmetric": False,
        "array": [
            None if v is None or ci is None else ci[1] - v
            for v, ci in zip(values, intervals, strict=True)
        ],
        "arrayminus": [
            None if v is None or ci is None else v - ci[0]
            for v, ci in zip(values, intervals, strict=True)
        ],
        "thickness": 1.2,
    }


def annotator_preferences_figure(annotators: Sequence[AnnotatorPreferences]) -> go.Figure:
    """Per annotator: tie rate, share choosing the response shown first and the longer one, each
    with its 95% Wilson interval; 50% is where position and length play no part."""
    names = [_wrapped(a.annotator_id, 18) for a in annotators]
    figure = go.Figure()
    for label, color, values, intervals in (
        (
            "tie rate",
            PLANNED,
            [a.tie_rate for a in annotators],
            [a.tie_rate_ci95 for a in annotators],
        ),
        (
            "chose the response shown first",
            DELIVERED,
            [a.first_chosen for a in annotators],
            [a.first_chosen_ci95 for a in annotators],
        ),
        (
            "chose the longer response",
            PENDING,
            [a.longer_chosen for a in annotators],
            [a.longer_chosen_ci95 for a in annotators],
        ),
    ):
        figure.add_bar(
            x=names,
            y=values,
            name=label,
            marker_color=color,
            error_y=_errors(values, intervals),
            hovertemplate="%{y:.1%}<extra>" + label + "</extra>",
        )
    figure.add_hline(y=0.5, line={"dash": "dot", "color": BUDGET}, annotation_text="50%")
    figure.update_layout(
        title="Ties, position and length by annotator (95% intervals)",
        xaxis_type="category",  # annotator ids that look like numbers stay names
        yaxis_title="share of the annotator's judgements",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1.05],
        barmode="group",
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 50, "b": 10},
        height=380,
    )
    return figure


def bias_figure(groups: Sequence[GroupPreferences]) -> go.Figure:
    """Position and length bias by vendor, batch and week: the share of decisive judgements
    that chose the response shown first and the longer one, with 95% intervals, against 50%."""
    names = [_wrapped(g.group, 30) for g in groups]
    figure = go.Figure()
    for label, color, rates in (
        ("chose the response shown first", DELIVERED, [g.first_chosen for g in groups]),
        ("chose the longer response", PENDING, [g.longer_chosen for g in groups]),
    ):
        values = [None if r is None else r.value for r in rates]
        figure.add_scatter(
            x=values,
            y=names,
            mode="markers",
            name=label,
            marker={"color": color, "size": 9},
            error_x=_errors(values, [None if r is None else r.ci95 for r in rates]),
            hovertemplate="%{x:.1%}<extra>" + label + "</extra>",
        )
    figure.add_vline(x=0.5, line={"dash": "dot", "color": BUDGET})
    figure.update_layout(
        title="Position and length bias by vendor, batch and week (95% intervals)",
        yaxis_type="category",
        xaxis_title="share of decisive judgements (50%: no bias)",
        xaxis_tickformat=".0%",
        xaxis_range=[0, 1.02],
        yaxis_autorange="reversed",
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 50, "b": 10},
        height=160 + 34 * len(names),
    )
    return figure


def margin_figure(calibration: MarginCalibration) -> go.Figure:
    """Agreement with the reference by stated margin, weakest first, with 95% intervals: it
    should rise with the margin; a flat line means the margins carry no information."""
    levels = calibration.levels
    values = [level.agreement for level in levels]
    figure = go.Figure()
    figure.add_scatter(
        x=[_title(level.margin) for level in levels],
        y=values,
        mode="lines+markers",
        name="agreement",
        line={"color": DELIVERED},
        error_y=_errors(values, [level.ci95 for level in levels]),
        customdata=[level.judgements for level in levels],
        hovertemplate="%{y:.1%} of %{customdata:,} judgements<extra></extra>",
    )
    figure.update_layout(
        title=_title(f"Agreement with {calibration.reference} by stated margin (95% intervals)"),
        xaxis_title="stated margin (weakest first)",
        xaxis_type="category",
        yaxis_title="share agreeing with the reference",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1.05],
        margin={"t": 50, "b": 10},
        height=340,
    )
    return figure


def ceiling_figure(ceiling: Ceiling, judge: JudgeFigures | None) -> go.Figure:
    """The measured leave-one-out agreement (ties in and out, 95% intervals) and the judge's
    against the same majorities, beside the published human and GPT-4 figures."""
    figure = go.Figure()
    measured = [
        ("vendor annotators, ties in", ceiling.with_ties, ceiling.with_ties_ci95, DELIVERED),
        ("vendor annotators, ties out", ceiling.without_ties, ceiling.without_ties_ci95, DELIVERED),
    ]
    if judge is not None:
        measured += [
            (
                "LLM judge, ties in",
                judge.agreement_with_majority,
                judge.agreement_with_majority_ci95,
                KIND_COLORS["llm"],
            ),
            (
                "LLM judge, ties out",
                judge.agreement_without_ties,
                judge.agreement_without_ties_ci95,
                KIND_COLORS["llm"],
            ),
        ]
    for name, value, ci, color in measured:
        if value is not None:
            figure.add_scatter(
                x=[value],
                y=[name],
                mode="markers",
                marker={"color": color, "size": 12},
                error_x=_errors([value], [ci]),
                name=name,
                showlegend=False,
                hovertemplate="%{x:.1%}<extra></extra>",
            )
    for anchor in ceiling.anchors:
        name = _wrapped(f"{anchor.source}: {anchor.figure}", 48)
        figure.add_scatter(
            x=[anchor.low, anchor.high] if anchor.high > anchor.low else [anchor.low],
            y=[name] * (2 if anchor.high > anchor.low else 1),
            mode="lines+markers",
            marker={"color": PLANNED, "symbol": "diamond", "size": 10},
            line={"color": PLANNED, "width": 6},
            showlegend=False,
            hovertemplate="%{x:.1%} (published)<extra></extra>",
        )
    figure.update_layout(
        title="Leave-one-out agreement: measured beside published ceilings",
        xaxis_title="agreement with the majority of the other humans",
        xaxis_tickformat=".0%",
        xaxis_range=[0.3, 1.0],
        yaxis_autorange="reversed",
        margin={"t": 50, "b": 10, "l": 10},
        height=200 + 36 * (len(measured) + len(ceiling.anchors)),
    )
    return figure
