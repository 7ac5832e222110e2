"""The preference-pair figures of judgements already in DuckDB tables (``JudgementTables``):
each figure one aggregate query, a few rows per annotator, margin or item pattern, on which
``procure.quality.stats.preference`` computes. ``procure.quality.preferences`` reads the files
and stored label sets into those tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from procure.quality.results import (
    AnnotatorPreferences,
    BradleyTerry,
    Ceiling,
    GroupPreferences,
    JudgeFigures,
    LengthBias,
    MarginCalibration,
    MarginLevel,
    PositionBias,
    PreferenceReport,
    Rate,
    Strength,
    Triads,
    interval,
)
from procure.quality.stats import preference as pf

MARGIN_WORDS = (
    "negligible",
    "negligibly better",
    "unsure",
    "slight",
    "slightly better",
    "moderate",
    "clear",
    "better",
    "significant",
    "significantly better",
    "strong",
    "much better",
)
SHOWN_PROBLEM_PAIRS = 100  # prompts with cyclic triads listed, most cycles first
# Bradley-Terry costs k^2 per iteration, its bootstrap 200 fits: with more systems than these
# (a file whose model_a holds response ids, say) there are no strengths, or no intervals.
MAX_SYSTEMS, MAX_SYSTEMS_WITH_INTERVALS = 200, 50


@dataclass(frozen=True)
class JudgementTables:
    """Names of the DuckDB tables the figures read: ``humans`` (one row per item and annotator)
    and optionally ``judge`` (one row per item: the verdict, whether it was judged in both
    orders and survived, and its own rows for its biases in ``judge_rows``) and ``reference``
    (one row per item: a reference vote for the margins, e.g. gold), plus ``groups``: the
    breakdowns (by batch, vendor, week) as a grouping's name and a column of ``humans``."""

    humans: str
    judge: str | None = None
    judge_rows: str | None = None
    reference: str | None = None
    reference_name: str | None = None
    groups: tuple[tuple[str, str], ...] = ()  # (grouping, SQL of a humans column)


# One judgement per (item, annotator) when some annotator repeated an item: a repeated identical
# judgement counts once; two different labels are a conflict.


PER_ANNOTATOR = """
SELECT {who}, count(*), count(*) FILTER (WHERE vote = 2),
       count(*) FILTER (WHERE vote < 2 AND shown_first IS NOT NULL),
       count(*) FILTER (WHERE vote < 2 AND label = shown_first),
       count(*) FILTER (WHERE vote < 2 AND longer IS NOT NULL),
       count(*) FILTER (WHERE vote < 2 AND vote = longer)
FROM {rows} GROUP BY ALL ORDER BY ALL
"""
# Per item: the humans' (A, B, tie) counts, the judge's verdict, the longer response, the
# majority of all humans; grouped by pattern.
# Per item: the humans' (A, B, tie) counts, the longer response and the reward's verdict.
ITEMS = """
CREATE OR REPLACE TEMP TABLE pair_items AS
SELECT item_id, count(*) FILTER (WHERE vote = 0) AS a, count(*) FILTER (WHERE vote = 1) AS b,
       count(*) FILTER (WHERE vote = 2) AS t, any_value(longer) AS longer,
       any_value(reward_vote) AS reward_vote
FROM {humans} GROUP BY item_id
"""
# The items by pattern, with the judge's verdict.
ITEM_PATTERNS = """
SELECT a, b, t, {judge_vote} AS judge, longer, count(*) FROM pair_items {judge_join}
GROUP BY ALL ORDER BY ALL
"""
# Per annotator and own vote: the item's counts, for each annotator's leave-one-out agreement.
ANNOTATOR_PATTERNS = """
SELECT annotator_id, vote, a, b, t, count(*) FROM {humans} JOIN pair_items USING (item_id)
WHERE a + b + t >= 3 GROUP BY ALL ORDER BY ALL
"""
MARGINS = """
SELECT h.margin, count(*), count(*) FILTER (WHERE h.vote = r.vote)
FROM {humans} AS h JOIN ({reference}) AS r USING (item_id)
WHERE h.vote < 2 AND r.vote < 2 AND h.margin IS NOT NULL GROUP BY ALL ORDER BY ALL
"""
# Per annotator and prompt: fully judged triples of responses and the cyclic ones.
TRIADS = """
CREATE OR REPLACE TEMP TABLE triads AS
WITH edges AS (
    SELECT {who} AS who, prompt_id, least(model_a, model_b) AS x, greatest(model_a, model_b) AS y,
           min(CASE vote WHEN 0 THEN model_a ELSE model_b END) AS winner,
           max(CASE vote WHEN 0 THEN model_a ELSE model_b END) AS other_winner
    FROM {rows} WHERE vote < 2 AND prompt_id IS NOT NULL AND model_a <> model_b
    GROUP BY ALL
), decided AS (SELECT * FROM edges WHERE winner = other_winner)
SELECT e1.who, e1.prompt_id, count(*) AS triads,
       count(*) FILTER (WHERE (e1.winner = e1.x AND e2.winner = e2.x AND e3.winner = e3.y)
                           OR (e1.winner = e1.y AND e2.winner = e2.y AND e3.winner = e3.x)) AS cyclic
FROM decided AS e1
JOIN decided AS e2 ON e2.who = e1.who AND e2.prompt_id = e1.prompt_id AND e2.x = e1.y
JOIN decided AS e3 ON e3.who = e1.who AND e3.prompt_id = e1.prompt_id AND e3.x = e1.x AND e3.y = e2.y
GROUP BY ALL
"""
TRIADS_BY = (
    "SELECT {key}, sum(triads), sum(cyclic) FROM triads GROUP BY ALL {having} ORDER BY {order}"
)
WINS = """
SELECT CASE vote WHEN 0 THEN model_a ELSE model_b END, CASE vote WHEN 0 THEN model_b ELSE model_a END,
       count(*)
FROM {rows} WHERE vote < 2 AND model_a IS NOT NULL AND model_b IS NOT NULL AND model_a <> model_b
GROUP BY ALL ORDER BY ALL
"""
JUDGE_SWAPS = """
SELECT count(*) FILTER (WHERE swapped), count(*) FILTER (WHERE swapped AND consistent), count(*),
       count(*) FILTER (WHERE vote = 2)
FROM {judge}
"""


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def _bias(rows: list[tuple[Any, ...]]) -> tuple[int, int, int, int, int, int]:
    """Totals of PER_ANNOTATOR rows: judgements, ties, positioned, first, lengthed, longer."""
    totals = [0] * 6
    for row in rows:
        for i, value in enumerate(row[1:7]):
            totals[i] += int(value)
    return (totals[0], totals[1], totals[2], totals[3], totals[4], totals[5])


def _position(positioned: int, first: int) -> PositionBias | None:
    if positioned == 0:
        return None
    rate = Rate.of(first, positioned)
    return PositionBias(positioned, rate.value, rate.ci95, pf.binomial_test(first, positioned))


def _length(lengthed: int, longer: int, baseline: pf.LeaveOneOut) -> LengthBias | None:
    if lengthed == 0:
        return None
    rate = Rate.of(longer, lengthed)
    return LengthBias(
        lengthed,
        rate.value,
        rate.ci95,
        baseline.judge,
        interval(baseline.judge_ci95),
        int(baseline.judged),
    )


def margin_order(margins: list[str]) -> list[str]:
    """Stated margins weakest first: known words by ``MARGIN_WORDS``, then numbers by value,
    then other words in text order.

    >>> margin_order(["strong", "3", "slight", "clear", "1", "odd"])
    ['slight', 'clear', 'strong', '1', '3', 'odd']
    """

    def rank(margin: str) -> tuple[int, float, str]:
        word = margin.strip().lower()
        if word in MARGIN_WORDS:
            return (0, MARGIN_WORDS.index(word), margin)
        try:
            return (1, float(word), margin)
        except ValueError:
            return (2, 0.0, margin)

    return sorted(margins, key=rank)


def preference_figures(con: duckdb.DuckDBPyConnection, tables: JudgementTables) -> PreferenceReport:
    """Every preference figure of the judgements in ``tables`` (see ``JudgementTables``)."""
    humans = tables.humans
    annotator_rows = _fetch(con, PER_ANNOTATOR.format(who="annotator_id", rows=humans))
    judgements, ties, positioned, first, lengthed, longer = _bias(annotator_rows)
    judge_vote, judge_join = "NULL", ""
    if tables.judge:
        judge_vote, judge_join = "j.vote", f"LEFT JOIN {tables.judge} AS j USING (item_id)"
    con.execute(ITEMS.format(humans=humans))
    patterns = _fetch(con, ITEM_PATTERNS.format(judge_vote=judge_vote, judge_join=judge_join))
    votes = np.array([row[:3] for row in patterns], dtype=np.int64).reshape(-1, 3)
    judged = np.array([-1 if row[3] is None else row[3] for row in patterns], dtype=np.int64)
    frequency = np.array([row[5] for row in patterns], dtype=np.int64)
    longer_side = np.array([-1 if row[4] is None else row[4] for row in patterns], dtype=np.int64)
    items = int(frequency.sum())
    ceiling, judge_ceiling = _ceiling(votes, frequency, judged if tables.judge else None)
    baseline = pf.loo_agreement(votes, frequency, longer_side, with_ties=False)
    per_annotator = _annotators(con, humans, annotator_rows)
    return PreferenceReport(
        items=items,
        judgements=judgements,
        annotators=len(annotator_rows),
        tie_rate=Rate.of(ties, judgements),
        position_bias=_position(positioned, first),
        length_bias=_length(lengthed, longer, baseline),
        loo_ceiling=ceiling,
        margin_calibration=_margins(con, tables),
        per_annotator=per_annotator,
        transitivity=_triads(con, humans),
        bradley_terry=_bradley_terry(con, tables),
        judge=None if not tables.judge else _judge(con, tables, judge_ceiling, baseline),
        groups=_groups(con, tables),
    )


def _ceiling(
    votes: np.ndarray, frequency: np.ndarray, judge: np.ndarray | None
) -> tuple[Ceiling | None, tuple[pf.LeaveOneOut, pf.LeaveOneOut]]:
    """The humans' ceiling, and the leave-one-out figures (with ties, without) the judge's
    agreement comes from."""
    with_ties = pf.loo_agreement(votes, frequency, judge, with_ties=True)
    without = pf.loo_agreement(votes, frequency, judge, with_ties=False)
    if with_ties.items == 0:
        return None, (with_ties, without)
    ceiling = Ceiling(
        with_ties.items,
        with_ties.humans,
        interval(with_ties.ci95),
        without.humans,
        interval(without.ci95),
    )
    return ceiling, (with_ties, without)


def _annotators(
    con: duckdb.DuckDBPyConnection, humans: str, rows: list[tuple[Any, ...]]
) -> list[AnnotatorPreferences]:
    """Each annotator's figures; leave-one-out agreement with a bootstrap interval over the
    annotator's judgements (their patterns resampled, seed 0)."""
    scores: dict[str, tuple[list[float], list[int]]] = {}
    for who, vote, a, b, t, n in _fetch(con, ANNOTATOR_PATTERNS.format(humans=humans)):
        others = np.array([[a, b, t]], dtype=np.int64)
        others[0, int(vote)] -= 1
        if others.sum() > 0:
            agree = pf.agreement_with_leaders(np.array([vote], dtype=np.int64), others)[0]
            score, count = scores.setdefault(str(who), ([], []))
            score.append(float(agree))
            count.append(int(n))
    rates = [Rate.of(int(tied), int(count)) for _, count, tied, *_ in rows]
    median = float(np.median([r.value for r in rates if r.value is not None] or [0.0]))
    found = []
    for (who, _, _, positioned, first, lengthed, longer), tie in zip(rows, rates, strict=True):
        flag = None
        if tie.ci95 and len(rows) > 2:
            flag = (
                "ties often"
                if tie.ci95[0] > median
                else "avoids ties"
                if tie.ci95[1] < median
                else None
            )
        position = _position(int(positioned), int(first))
        length = Rate.of(int(longer), int(lengthed))
        loo = pf.mean_with_interval(*scores.get(str(who), ([], [])))
        found.append(
            AnnotatorPreferences(
                annotator_id=str(who),
                judgements=tie.n,
                tie_rate=tie.value,
                tie_rate_ci95=tie.ci95,
                tie_flag=flag,
                first_chosen=None if position is None else position.first_chosen,
                first_chosen_ci95=None if position is None else position.ci95,
                position_p_value=None if position is None else position.p_value,
                longer_chosen=length.value,
                longer_chosen_ci95=length.ci95,
                loo_agreement=loo[0],
                loo_agreement_ci95=interval(loo[1]),
            )
        )
    return found


def _margins(con: duckdb.DuckDBPyConnection, tables: JudgementTables) -> MarginCalibration | None:
    """Margin calibration against the tables' reference, else the sign of the reward difference."""
    if tables.reference:
        reference, name = f"SELECT item_id, vote FROM {tables.reference}", tables.reference_name
    else:
        reference = (
            "SELECT item_id, reward_vote AS vote FROM pair_items WHERE reward_vote IS NOT NULL"
        )
        name = "the sign of the reward difference"
    rows = _fetch(con, MARGINS.format(humans=tables.humans, reference=reference))
    if not rows:
        return None
    counts = {str(margin): (int(n), int(agreed)) for margin, n, agreed in rows}
    levels = []
    for margin in margin_order(list(counts)):
        n, agreed = counts[margin]
        rate = Rate.of(agreed, n)
        levels.append(MarginLevel(margin, n, rate.value, rate.ci95))
    weakest, strongest = levels[0].ci95, levels[-1].ci95
    informative = bool(len(levels) > 1 and weakest and strongest and strongest[0] > weakest[1])
    return MarginCalibration(str(name), levels, informative)


def _triads(con: duckdb.DuckDBPyConnection, humans: str) -> Triads | None:
    con.execute(TRIADS.format(who="annotator_id", rows=humans))
    per_annotator = _fetch(con, TRIADS_BY.format(key="who", having="", order="who"))
    if not per_annotator:
        return None
    prompts = _fetch(
        con,
        TRIADS_BY.format(
            key="prompt_id",
            having="HAVING sum(cyclic) > 0",
            order=f"3 DESC, 1 LIMIT {SHOWN_PROBLEM_PAIRS}",
        ),
    )
    triads = sum(int(t) for _, t, _ in per_annotator)
    cyclic = sum(int(c) for _, _, c in per_annotator)
    return Triads(
        triads,
        Rate.of(cyclic, triads),
        [(str(who), int(t), int(c)) for who, t, c in per_annotator],
        [(str(prompt), int(t), int(c)) for prompt, t, c in prompts],
    )


def _strengths(con: duckdb.DuckDBPyConnection, rows: str) -> list[Strength] | None:
    found = _fetch(con, WINS.format(rows=rows))
    if not found:
        return None
    models = sorted({str(w) for w, _, _ in found} | {str(loser) for _, loser, _ in found})
    index = {model: i for i, model in enumerate(models)}
    wins = np.zeros((len(models), len(models)), dtype=np.int64)
    for winner, loser, n in found:
        wins[index[str(winner)], index[str(loser)]] += int(n)
    fit = pf.bradley_terry(wins) if len(models) <= MAX_SYSTEMS else None
    if fit is None:
        return None
    intervals = (
        pf.bradley_terry_intervals(wins) if len(models) <= MAX_SYSTEMS_WITH_INTERVALS else None
    )
    games = wins + wins.T
    return [
        Strength(
            model,
            float(fit[i]),
            None if intervals is None else (intervals[i].low, intervals[i].high),
            int(games[i].sum()),
        )
        for i, model in enumerate(models)
    ]


def _bradley_terry(con: duckdb.DuckDBPyConnection, tables: JudgementTables) -> BradleyTerry | None:
    sources: dict[str, str] = {"vendor": tables.humans}
    if tables.judge:  # its verdicts, one per pair
        sources["judge"] = tables.judge
    if tables.reference and tables.reference_name == "gold":  # gold votes on the humans' pairs
        sources["gold"] = (
            f"(SELECT r.vote, h.model_a, h.model_b FROM {tables.reference} AS r JOIN "
            f"(SELECT item_id, any_value(model_a) AS model_a, any_value(model_b) AS model_b "
            f"FROM {tables.humans} GROUP BY item_id) AS h USING (item_id))"
        )
    fitted = {name: _strengths(con, rows) for name, rows in sources.items()}
    if all(value is None for value in fitted.values()):
        return None
    correlations = []
    names = list(fitted)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            a, b = fitted[first], fitted[second]
            rho = None
            if a and b:
                shared = sorted({s.model for s in a} & {s.model for s in b})
                x = np.array([next(s.strength for s in a if s.model == m) for m in shared])
                y = np.array([next(s.strength for s in b if s.model == m) for m in shared])
                rho = pf.spearman(x, y)
            correlations.append((first, second, rho))
    return BradleyTerry(fitted, correlations)


def _judge(
    con: duckdb.DuckDBPyConnection,
    tables: JudgementTables,
    ceiling: tuple[pf.LeaveOneOut, pf.LeaveOneOut],
    baseline: pf.LeaveOneOut,
) -> JudgeFigures:
    assert tables.judge and tables.judge_rows
    rows = _fetch(con, PER_ANNOTATOR.format(who="'judge'", rows=tables.judge_rows))
    judgements, _, positioned, first, lengthed, longer = _bias(rows)
    swapped, consistent, items, ties = (
        int(v) for v in (con.execute(JUDGE_SWAPS.format(judge=tables.judge)).fetchone() or (0,) * 4)
    )
    swap = Rate.of(consistent, swapped)
    with_ties, without = ceiling
    return JudgeFigures(
        items=items,
        judgements=judgements,
        agreement_with_majority=with_ties.judge,
        agreement_with_majority_ci95=interval(with_ties.judge_ci95),
        agreement_without_ties=without.judge,
        agreement_without_ties_ci95=interval(without.judge_ci95),
        tie_rate=Rate.of(ties, items),
        position_bias=_position(positioned, first),
        length_bias=_length(lengthed, longer, baseline),
        swap_consistency=swap.value,
        swap_consistency_ci95=swap.ci95,
        swap_tested=swapped,
    )


def _groups(con: duckdb.DuckDBPyConnection, tables: JudgementTables) -> list[GroupPreferences]:
    found = []
    for grouping, column in tables.groups:
        rows = _fetch(con, PER_ANNOTATOR.format(who=column, rows=tables.humans))
        for name, count, tied, positioned, first, lengthed, longer in rows:
            found.append(
                GroupPreferences(
                    f"{grouping} {name}",
                    int(count),
                    Rate.of(int(tied), int(count)),
                    Rate.of(int(first), int(positioned)) if positioned else None,
                    Rate.of(int(longer), int(lengthed)) if lengthed else None,
                )
            )
    return found
