"""Quality: the report from stored labels, reviews, acceptance, and agreement of files."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from procure.cli._common import (
    JsonFlag,
    _print_json,
    _session,
    _settings,
    _table,
    app,
)
from procure.results import to_json

if TYPE_CHECKING:
    from procure.quality.results import FileAgreement, PreferenceReport, Ties
from procure.kinds import Level

LlmRunOption = Annotated[
    int | None,
    typer.Option(
        help="The LLM run (its label set id, see `procure labels list`) to compare with "
        "(default: the run that labels the most of the selected items)."
    ),
]

CsvOption = Annotated[Path | None, typer.Option(help="Also write the rows to this CSV file.")]

review_app = typer.Typer(
    help="The disagreement queue and reviewers' verdicts, which count as gold."
)
acceptance_app = typer.Typer(help="Acceptance rules and the evidence for accepting a batch.")
app.add_typer(review_app, name="review")
app.add_typer(acceptance_app, name="acceptance")


@app.command()
def quality(
    ctx: typer.Context,
    task_type: Annotated[str, typer.Option(help="Task type key.")],
    batch: Annotated[
        list[int] | None, typer.Option(help="Only these batches' vendor labels (repeatable).")
    ] = None,
    llm_run: LlmRunOption = None,
    dawid_skene: Annotated[
        bool,
        typer.Option(
            "--dawid-skene", help="Also estimate each annotator's reliability without gold."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Vendor consensus vs LLM vs gold, the vendor's own agreement, annotators and weeks."""
    from procure.quality import dawid_skene_report, quality_report, select_labels

    settings = _settings(ctx)
    with _session(ctx, read_only=True) as session:
        selection = select_labels(
            task_type,
            batch_ids=batch or None,  # none given: every batch
            llm_set_id=llm_run,
            store=settings.label_store,
            session=session,
        )
        report = quality_report(settings.label_store, selection, session=session)
        estimate = (
            dawid_skene_report(settings.label_store, selection, session=session)
            if dawid_skene
            else None
        )
    if as_json:  # "dawid_skene" only with --dawid-skene, null when there are no vendor labels
        extra = {"dawid_skene": to_json(estimate)} if dawid_skene else {}
        _print_json({**to_json(report), **extra})
        return

    def show(value: object) -> str:
        return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    if report.llm_run:
        typer.echo(f"compared with {report.llm_run.title}")
    tied = report.tied
    if tied.items:
        typer.echo(f"vendor consensus ties: {_ties_text(tied)}; {report.tie_policy.description}")
    human = report.human
    if human:
        typer.echo(
            f"vendor annotators (human ceiling): {human.items:,} items, agreement {show(human.percent_agreement)}, "
            f"alpha {show(human.krippendorff_alpha)}, AC1 {show(human.gwet_ac1)}"
        )
    for name, pair in report.pairs.items():
        ci = pair.cohen_kappa_ci95
        typer.echo(
            f"{name.replace('_', ' ')}: {pair.items:,} items, agreement {show(pair.percent_agreement)}, "
            f"kappa {show(pair.cohen_kappa)}"
            + (f" [{show(ci[0])}, {show(ci[1])}]" if ci else "")
            + f", AC1 {show(pair.gwet_ac1)}"
        )
    for week in report.weeks:
        typer.echo(
            f"  week {week.week}: vendor vs LLM agreement {show(week.percent_agreement)}, kappa {show(week.cohen_kappa)} ({week.items:,} items)"
        )
    if report.preferences:
        typer.echo("preference pairs (the vendor's annotators; the LLM run as the judge):")
        typer.echo(textwrap.indent(preferences_text(report.preferences), "  "))
    if estimate:
        typer.echo(
            f"Dawid-Skene (converged after {estimate.iterations} iterations): "
            "estimated annotator accuracy"
            if estimate.converged
            else f"Dawid-Skene did NOT converge in {estimate.iterations} iterations; the "
            "estimates below are not settled: estimated annotator accuracy"
        )
        for annotator in estimate.annotators:
            typer.echo(f"  {annotator.annotator}: {annotator.estimated_accuracy:.3f}")
        gold = estimate.against_gold
        if gold:
            typer.echo(
                f"  against gold ({gold.items} items): Dawid-Skene labels {show(gold.dawid_skene)}, majority {show(gold.majority)}"
                + (
                    f" ({gold.majority_tied} tied items counted as wrong)"
                    if gold.majority_tied
                    else ""
                )
            )
    if not report.pairs and not human:
        typer.echo("no labels imported for this selection yet (procure labels import)")


@review_app.command("queue")
def review_queue(
    ctx: typer.Context,
    task_type: Annotated[str, typer.Option(help="Task type key.")],
    batch: Annotated[
        list[int] | None, typer.Option(help="Only these batches (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="How many items at most.")] = 50,
    llm_run: LlmRunOption = None,
    blind: Annotated[
        bool, typer.Option("--blind", help="Hide the vendor's and the LLM's answers.")
    ] = False,
    csv: CsvOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Items to review: the vendor's consensus is tied or differs from the LLM; items with gold
    or a review are left out; the LLM's most confident disagreements first."""
    from procure.quality import disagreement_queue, select_labels

    settings = _settings(ctx)
    with _session(ctx, read_only=True) as session:
        selection = select_labels(
            task_type,
            batch_ids=batch or None,  # none given: every batch
            llm_set_id=llm_run,
            store=settings.label_store,
            session=session,
        )
        queue = disagreement_queue(settings.label_store, selection, limit, session=session)
    if csv is not None:
        from procure.quality import queue_rows

        _write_csv(csv, queue_rows(queue.items, blind=blind))
    if as_json:
        from procure.quality import blind_json

        _print_json(blind_json(queue) if blind else queue)
        return
    rows = [
        (q.item_id, q.reason)
        + (
            ()
            if blind
            else (
                q.vendor_votes,
                q.llm_label or "-",
                "-" if q.llm_confidence is None else f"{q.llm_confidence:.2f}",
            )
        )
        + ((q.text or "")[:60],)
        for q in queue.items
    ]
    answers = [] if blind else ["vendor votes", "LLM", "confidence"]
    _table(rows, ["item", "why", *answers, "text"])
    typer.echo(f"{len(queue.items):,} of {queue.total:,} items to review")


@review_app.command("list")
def review_list(
    ctx: typer.Context,
    task_type: Annotated[str, typer.Option(help="Task type key.")],
    csv: CsvOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Every review of a task type, and how far reviewers agree where several reviewed an item."""
    from procure.quality import review_rows, review_summary

    with _session(ctx, read_only=True) as session:
        summary = review_summary(task_type, session=session)
    if csv is not None:
        _write_csv(csv, review_rows(summary))
    if as_json:
        _print_json(summary)
        return
    _table(
        [
            (
                r.item_id,
                r.label,
                r.reviewer,
                f"{r.reviewed_at:%Y-%m-%d %H:%M}",
                "yes" if r.counts else "",
            )
            for r in summary.reviews
        ],
        ["item", "label", "reviewer", "reviewed (UTC)", "gold"],
    )
    if summary.reviewer_agreement is not None:
        typer.echo(
            f"{summary.items_with_several_reviewers:,} items reviewed by several named "
            f"reviewers; agreement {summary.reviewer_agreement:.1%} (the newest review is gold)"
        )


def _write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    from procure.results import csv_bytes

    path.write_bytes(csv_bytes(rows))
    typer.echo(f"wrote {len(rows):,} rows to {path}", err=True)


@review_app.command("add")
def review_add(
    ctx: typer.Context,
    item_id: str,
    label: str,
    task_type: Annotated[str, typer.Option(help="Task type key.")],
    reviewer: str = "",
    note: str = "",
) -> None:
    """Record the correct label of an item; it counts as gold in every figure."""
    from procure.quality import add_review

    with _session(ctx) as session:
        review = add_review(
            task_type, item_id, label, reviewer=reviewer, note=note, session=session
        )
        typer.echo(f"review {review.id}: item {review.item_id} is {review.label}")


@acceptance_app.command("rule")
def acceptance_rule(
    ctx: typer.Context,
    contract_id: int,
    task_type: Annotated[str, typer.Option(help="Task type key.")],
    max_error_rate: Annotated[str, typer.Option(help="Largest acceptable error rate, e.g. 0.05.")],
    min_reviewed: Annotated[int, typer.Option(help="Reviewed items needed before deciding.")] = 30,
) -> None:
    """Set a contract's acceptance rule for a task type."""
    from procure.quality import set_rule

    with _session(ctx) as session:
        rule = set_rule(
            contract_id,
            task_type,
            max_error_rate=max_error_rate,
            min_reviewed=min_reviewed,
            session=session,
        )
        typer.echo(
            f"accept when the 95% upper bound of the error rate is at most {rule.max_error_rate} ({rule.min_reviewed} reviewed items)"
        )


@acceptance_app.command("check")
def acceptance_check(ctx: typer.Context, batch_id: int, as_json: JsonFlag = False) -> None:
    """The evidence for a batch (reviewed items, error rate and interval) and the recommendation."""
    from procure.quality import batch_evidence

    settings = _settings(ctx)
    with _session(ctx, read_only=True) as session:
        evidence = batch_evidence(settings.label_store, batch_id, session=session)
    if as_json:
        _print_json(evidence)
    else:
        typer.echo(f"batch {evidence.ref}: {evidence.recommendation}. {evidence.reason}")


@app.command()
def agreement(
    file: Annotated[
        Path, typer.Argument(help="A label file (CSV, TSV, JSON Lines, JSON, Parquet; gzip ok).")
    ],
    against: Annotated[
        Path | None, typer.Option(help="Compare FILE's per-item consensus with this file's.")
    ] = None,
    level: Annotated[
        Level, typer.Option(help="Measurement level for Krippendorff's alpha.")
    ] = Level.nominal,
    labels: Annotated[
        str | None,
        typer.Option(
            help="Label order, comma-separated (ordinal data); numbers sort numerically otherwise."
        ),
    ] = None,
    tie_break: Annotated[
        str | None,
        typer.Option(
            help="Labels, comma-separated, that settle a tied consensus (first wins); "
            "without it tied items are left out of the --against comparison."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Agreement among FILE's annotators and, with --against, between two files. No workspace needed."""
    from procure.quality import file_agreement

    report = file_agreement(
        file, against, level=level, labels=_label_list(labels), tie_break=_label_list(tie_break)
    )
    if as_json:
        _print_json(report)
        return
    typer.echo(_agreement_text(report))


@app.command()
def preferences(
    file: Annotated[
        Path,
        typer.Argument(
            help="Preference judgements, one row per (pair, annotator): label A, B, tie or "
            "both_bad (or a Likert 1-7), optionally margin, shown_first, len_a/len_b or "
            "response_a/response_b, reward_a/reward_b, model_a/model_b, prompt_id."
        ),
    ],
    judge: Annotated[
        Path | None,
        typer.Option(
            help="The LLM judge's judgements of the same pairs (both orders allowed, with "
            "shown_first)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Preference-pair figures: ties, position and length bias, margins, the leave-one-out
    human ceiling beside published ones, the judge's agreement and swap consistency, cyclic
    triads and Bradley-Terry strengths. No workspace needed."""
    from procure.quality import file_preferences

    report = file_preferences(file, judge)
    if as_json:
        _print_json(report)
        return
    typer.echo(preferences_text(report))


def preferences_text(report: PreferenceReport) -> str:
    """The preference figures as lines of text (``procure preferences`` and ``procure quality``)."""

    def share(value: float | None, ci: tuple[float, float] | None = None) -> str:
        if value is None:
            return "-"
        return f"{value:.1%}" + (f" [{ci[0]:.1%}, {ci[1]:.1%}]" if ci else "")

    lines = [
        f"{report.items:,} pairs, {report.annotators} annotators, {report.judgements:,} judgements",
        f"tie rate            {share(report.tie_rate.value, report.tie_rate.ci95)}",
    ]
    position = report.position_bias
    lines.append(
        "position bias       "
        + (
            f"{share(position.first_chosen, position.ci95)} chose the response shown first "
            f"({position.judgements:,} decisive judgements, p = {position.p_value:.3g})"
            if position and position.p_value is not None
            else "- (no decisive judgement with shown_first)"
        )
    )
    length = report.length_bias
    lines.append(
        "length bias         "
        + (
            f"{share(length.longer_chosen, length.ci95)} chose the longer response; always "
            f"picking the longer agrees with the held-out majorities on "
            f"{share(length.longer_baseline_agreement, length.longer_baseline_ci95)} "
            f"(AlpacaEval: {length.anchor.low:.1%})"
            if length
            else "- (no decisive judgement of responses of unequal length)"
        )
    )
    ceiling = report.loo_ceiling
    if ceiling:
        lines.append(
            f"human ceiling       leave-one-out agreement on {ceiling.items:,} pairs with 3+ "
            f"judgements: {share(ceiling.with_ties, ceiling.with_ties_ci95)} with ties, "
            f"{share(ceiling.without_ties, ceiling.without_ties_ci95)} without"
        )
        lines.append(
            "  published: "
            + "; ".join(
                f"{a.source.split(' (')[0]} {a.figure} "
                + (f"{a.low:.1%}" if a.low == a.high else f"{a.low:.1%}-{a.high:.1%}")
                for a in ceiling.anchors
            )
        )
    else:
        lines.append("human ceiling       - (no pair has three or more human judgements)")
    judge = report.judge
    if judge:
        lines.append(
            f"LLM judge           agrees with the held-out majority "
            f"{share(judge.agreement_with_majority)} with ties, "
            f"{share(judge.agreement_without_ties)} without; tie rate "
            f"{share(judge.tie_rate.value)}"
            + (
                f"; swap consistency {share(judge.swap_consistency, judge.swap_consistency_ci95)}"
                f" of {judge.swap_tested:,} pairs judged in both orders"
                if judge.swap_consistency is not None
                else "; not judged in both orders"
            )
        )
    margins = report.margin_calibration
    if margins:
        lines.append(f"margins             agreement with {margins.reference}, by stated margin:")
        for level in margins.levels:
            lines.append(
                f"  {level.margin:<16}{share(level.agreement, level.ci95)} ({level.judgements:,})"
            )
        if not margins.informative:
            lines.append(
                "  the strongest margin is not clearly more accurate: margins carry no signal here"
            )
    triads = report.transitivity
    if triads:
        lines.append(
            f"transitivity        {triads.cyclic.successes:,} cyclic of {triads.triads:,} "
            f"triads ({share(triads.cyclic.value, triads.cyclic.ci95)})"
        )
    strengths = report.bradley_terry
    if strengths:
        for source, fitted in strengths.sources.items():
            if fitted:
                ranked = sorted(fitted, key=lambda s: -s.strength)
                lines.append(
                    f"Bradley-Terry {source:<7}"
                    + ", ".join(f"{s.model} {s.strength:+.2f}" for s in ranked)
                )
        for first, second, rho in strengths.rank_correlation:
            if rho is not None:
                lines.append(f"  rank correlation {first} vs {second}: {rho:.2f}")
    lines.append(
        "per annotator (judgements, tie rate, first chosen, longer chosen, leave-one-out):"
    )
    for a in report.per_annotator:
        flag = f"  {a.tie_flag}" if a.tie_flag else ""
        lines.append(
            f"  {a.annotator_id}: {a.judgements:,}, {share(a.tie_rate)}, {share(a.first_chosen)}, "
            f"{share(a.longer_chosen)}, {share(a.loo_agreement)}{flag}"
        )
    return "\n".join(lines)


def _label_list(text: str | None) -> list[str] | None:
    """Comma-separated labels, each without the spaces around it (as labels in files are read)."""
    return [label.strip() for label in text.split(",") if label.strip()] if text else None


def _ties_text(ties: Ties) -> str:
    share = "" if ties.share is None else f" ({ties.share:.1%})"
    return f"{ties.tied:,} of {ties.items:,} items{share}"


def _agreement_text(report: FileAgreement) -> str:
    def show(value: object) -> str:
        return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = [
        f"{report.items:,} items, {report.annotators} annotators, {report.ratings:,} labels ({report.level})",
        f"percent agreement   {show(report.percent_agreement)}",
        f"Krippendorff alpha  {show(report.krippendorff_alpha)}"
        + (
            f"  95% CI {show(report.krippendorff_alpha_ci95[0])} to {show(report.krippendorff_alpha_ci95[1])}"
            if report.krippendorff_alpha_ci95
            else ""
        ),
        f"Fleiss kappa        {show(report.fleiss_kappa)}",
        f"Gwet AC1            {show(report.gwet_ac1)}",
        f"Cohen kappa         {show(report.cohen_kappa)}",
        f"consensus ties      {_ties_text(report.ties)}",
    ]
    other = report.against
    if other:
        ci = other.cohen_kappa_ci95
        lines += [
            "",
            f"against: {other.items:,} items in both compared; {report.tie_policy.description}"
            + (
                f"; --against ties {_ties_text(report.against_ties)}" if report.against_ties else ""
            ),
            f"percent agreement   {show(other.percent_agreement)}",
            f"Cohen kappa         {show(other.cohen_kappa)}"
            + (f"  95% CI {show(ci[0])} to {show(ci[1])}" if ci else ""),
            f"weighted kappa      {show(other.weighted_kappa)}",
            f"Gwet AC1            {show(other.gwet_ac1)}",
            "confusion (rows FILE, columns --against):",
        ]
        names = other.confusion.labels
        width = (
            max(len(str(n)) for n in [*names, *(c for row in other.confusion.counts for c in row)])
            + 2
        )
        lines.append(" " * width + "".join(str(n).rjust(width) for n in names))
        for name, row in zip(names, other.confusion.counts, strict=True):
            lines.append(str(name).rjust(width) + "".join(str(c).rjust(width) for c in row))
    return "\n".join(lines)
