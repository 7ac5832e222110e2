"""The preference section of the Labels & quality page: ties, biases, margins, the human
ceiling beside the published ones, the judge, cyclic triads and Bradley-Terry strengths."""

from __future__ import annotations

import streamlit as st

from procure.quality import PreferenceReport
from procure.quality.results import Rate
from procure.ui import widgets
from procure.ui.charts import (
    annotator_preferences_figure,
    bias_figure,
    ceiling_figure,
    margin_figure,
)

PERCENT = st.column_config.NumberColumn(format="percent")


def _share(value: float | None, ci: tuple[float, float] | None = None) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" + (f" ({ci[0]:.1%} to {ci[1]:.1%})" if ci else "")


def _rate(rate: Rate | None) -> str:
    return "-" if rate is None else _share(rate.value, rate.ci95)


def show_preferences(report: PreferenceReport, key: str) -> None:
    """Render ``report``; widget keys start with ``key`` (the task type and selection)."""
    st.subheader("Preference pairs")
    position, length, ceiling = report.position_bias, report.length_bias, report.loo_ceiling
    a, b, c, d = st.columns(4)
    a.metric("Judgements", f"{report.judgements:,}", help=f"{report.items:,} pairs")
    b.metric("Tie rate", _share(report.tie_rate.value), help=_rate(report.tie_rate))
    c.metric(
        "Chose the response shown first",
        "-" if position is None else _share(position.first_chosen),
        help="No decisive judgement with shown_first in the labels."
        if position is None
        else f"95% interval {_share(position.first_chosen, position.ci95)}; exact binomial "
        f"test against 50%: p = {position.p_value:.3g}",
    )
    d.metric(
        "Chose the longer response",
        "-" if length is None else _share(length.longer_chosen),
        help="No decisive judgement of responses of unequal length in the labels."
        if length is None
        else f"95% interval {_share(length.longer_chosen, length.ci95)}",
    )
    if length is not None:
        st.caption(
            f"Always picking the longer response agrees with the held-out majority of the "
            f"other annotators (ties out) on "
            f"{_share(length.longer_baseline_agreement, length.longer_baseline_ci95)} of "
            f"{length.baseline_judgements:,} judgements; {length.anchor.source} reports "
            f"{length.anchor.low:.1%} for that baseline."
        )
    widgets.plotly_chart(annotator_preferences_figure, report.per_annotator)
    widgets.table(
        [
            {
                "annotator": p.annotator_id,
                "judgements": p.judgements,
                "tie rate": p.tie_rate,
                "ties": p.tie_flag or "",
                "chose shown first": p.first_chosen,
                "position p-value": p.position_p_value,
                "chose longer": p.longer_chosen,
                "leave-one-out agreement": p.loo_agreement,
                "leave-one-out 95% CI": "-"
                if p.loo_agreement_ci95 is None
                else f"{p.loo_agreement_ci95[0]:.1%} to {p.loo_agreement_ci95[1]:.1%}",
            }
            for p in report.per_annotator
        ],
        key=f"{key}_annotators",
        download="preference_annotators.csv",
        column_config={
            "judgements": widgets.units_column("judgements"),
            "tie rate": PERCENT,
            "chose shown first": PERCENT,
            "position p-value": st.column_config.NumberColumn(format="%.2g"),
            "chose longer": PERCENT,
            "leave-one-out agreement": PERCENT,
        },
    )
    st.caption(
        "An annotator's ties are flagged when their 95% interval lies wholly above or below the "
        "median annotator's tie rate."
    )
    if report.groups and (position or length):
        widgets.plotly_chart(bias_figure, report.groups)
    if report.groups:
        widgets.table(
            [
                {
                    "group": g.group,
                    "judgements": g.judgements,
                    "tie rate": _rate(g.tie_rate),
                    "chose shown first": _rate(g.first_chosen),
                    "chose longer": _rate(g.longer_chosen),
                }
                for g in report.groups
            ],
            key=f"{key}_groups",
            column_config={
                "group": st.column_config.TextColumn(width="large"),
                "judgements": widgets.units_column("judgements"),
            },
        )
    if ceiling is not None:
        st.markdown("**The human ceiling**")
        st.caption(
            f"Leave-one-out agreement on {ceiling.items:,} pairs with three or more judgements: "
            f"{_share(ceiling.with_ties, ceiling.with_ties_ci95)} with ties, "
            f"{_share(ceiling.without_ties, ceiling.without_ties_ci95)} without. A tied majority "
            "of the others counts as its expected random break (AlpacaEval breaks it at random)."
        )
        widgets.plotly_chart(ceiling_figure, ceiling, report.judge)
    else:
        st.caption("No pair has three or more human judgements, so there is no measured ceiling.")
    judge = report.judge
    if judge is not None:
        st.markdown("**The LLM judge**")
        swap = (
            f"it judged {judge.swap_tested:,} pairs in both orders and kept its verdict on "
            f"{_share(judge.swap_consistency, judge.swap_consistency_ci95)} (the others count "
            "as ties in its verdicts)"
            if judge.swap_consistency is not None
            else "it judged each pair in one order only, so its swap consistency is unknown"
        )
        st.caption(
            f"The judge agrees with the held-out human majority on "
            f"{_share(judge.agreement_with_majority, judge.agreement_with_majority_ci95)} of the "
            "judgements with ties and "
            f"{_share(judge.agreement_without_ties, judge.agreement_without_ties_ci95)} "
            "without; its verdicts' tie rate is "
            f"{_rate(judge.tie_rate)}; {swap}."
        )
    margins = report.margin_calibration
    if margins is not None:
        widgets.plotly_chart(margin_figure, margins)
        if not margins.informative:
            st.caption(
                "The strongest margin is not clearly more often right than the weakest: these "
                "margins carry no information."
            )
    triads = report.transitivity
    if triads is not None:
        st.caption(
            f"Cyclic triads (x over y over z over x) among one annotator's judgements of a "
            f"prompt's responses: {triads.cyclic.successes:,} of {triads.triads:,} "
            f"({_rate(triads.cyclic)})."
        )
    strengths = report.bradley_terry
    if strengths is not None:
        st.markdown("**Bradley-Terry strengths of the systems that wrote the responses**")
        rows = []
        for source, fitted in strengths.sources.items():
            for s in sorted(fitted or [], key=lambda s: -s.strength):
                rows.append(
                    {
                        "source": source,
                        "system": s.model,
                        "strength": s.strength,
                        "95% interval": "-"
                        if s.ci95 is None
                        else f"{s.ci95[0]:+.2f} to {s.ci95[1]:+.2f}",
                        "judgements": s.judgements,
                    }
                )
        widgets.table(
            rows,
            key=f"{key}_bradley_terry",
            column_config={"strength": st.column_config.NumberColumn(format="%+.2f")},
        )
        shown = [
            f"{first} vs {second} {rho:.2f}"
            for first, second, rho in strengths.rank_correlation
            if rho is not None
        ]
        if shown:
            st.caption(
                "Log-strengths (mean 0; ties left out). Spearman rank correlation of the "
                "rankings: " + "; ".join(shown) + "."
            )
