"""`procure preferences`: simulated judgements with planted truths recovered within their
intervals, the figures against independent computations from the same rows, the accepted
file shapes, and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from procure.cli import run
from procure.errors import InputError
from procure.quality.preferences import file_preferences
from procure.quality.results import PreferenceReport
from procure.quality.stats import preference as pf
from procure.results import to_json

SYSTEMS = {"m1": 1.0, "m2": 0.3, "m3": -0.2, "m4": -1.1}
MARGIN_ACCURACY = {"slight": 0.6, "clear": 0.75, "strong": 0.9}
POSITION_BIAS, TIE_RATE, JUDGE_LONGER, SWAP_CONSISTENCY = 0.65, 0.30, 0.80, 0.87


def simulate(seed: int, pairs: int = 3000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Humans and an LLM judge with planted truths:

    - ``first``: picks the response shown first with probability 0.3, else judges like the
      others, so it chooses the first-shown response in 0.3 + 0.7 / 2 = 0.65 of its judgements;
    - ``tier``: ties 30% of the time;
    - ``m_a`` and ``m_b``: right with the probability of their stated margin (slight 0.6,
      clear 0.75, strong 0.9), against the truth that the reward difference's sign gives;
    - the judge: picks the longer response 80% of the time, judged in both orders, keeping
      its verdict 87% of the time.

    Each prompt has three responses (three pairs); the better response comes from planted
    Bradley-Terry strengths."""
    rng = np.random.default_rng(seed)
    names = list(SYSTEMS)
    strength = np.array(list(SYSTEMS.values()))
    humans, judge = [], []
    for pair in range(pairs):
        if pair % 3 == 0:
            x, y, z = rng.choice(len(names), 3, replace=False)
            triple = [(x, y), (y, z), (x, z)]
        a, b = triple[pair % 3]
        truth = "A" if rng.random() < 1 / (1 + np.exp(strength[b] - strength[a])) else "B"
        other = "B" if truth == "A" else "A"
        len_a, len_b = (int(v) for v in rng.integers(100, 3000, 2))
        reward = 1.0 if truth == "A" else -1.0
        common = {
            "item_id": f"p{pair:05d}",
            "prompt_id": f"q{pair // 3:04d}",
            "model_a": names[a],
            "model_b": names[b],
            "len_a": len_a,
            "len_b": len_b,
            "reward_a": reward,
            "reward_b": 0.0,
        }
        for who in ("first", "tier", "m_a", "m_b"):
            shown = str(rng.choice(["A", "B"]))
            margin = str(rng.choice(list(MARGIN_ACCURACY)))
            right = rng.random() < MARGIN_ACCURACY[margin]
            label = truth if right else other
            if who == "first" and rng.random() < 0.3:
                label = shown
            if who == "tier" and rng.random() < TIE_RATE:
                label = "tie"
            humans.append(
                common
                | {
                    "annotator_id": who,
                    "label": label,
                    "shown_first": shown,
                    "margin": margin if who.startswith("m_") else "",
                }
            )
        longer = "A" if len_a > len_b else "B"
        verdict = longer if rng.random() < JUDGE_LONGER else ("B" if longer == "A" else "A")
        swapped = verdict if rng.random() < SWAP_CONSISTENCY else ("B" if verdict == "A" else "A")
        for shown, label in (("A", verdict), ("B", swapped)):
            judge.append(
                {
                    "item_id": common["item_id"],
                    "annotator_id": "judge",
                    "label": label,
                    "shown_first": shown,
                    "model_a": names[a],
                    "model_b": names[b],
                    "len_a": len_a,
                    "len_b": len_b,
                }
            )
    return pd.DataFrame(humans), pd.DataFrame(judge)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("preferences")
    humans, judge = simulate(20261207)
    humans.to_csv(folder / "humans.csv", index=False)
    judge.to_csv(folder / "judge.csv", index=False)
    return folder / "humans.csv", folder / "judge.csv", humans


@pytest.fixture(scope="module")
def report(simulated: tuple[Path, Path, pd.DataFrame]) -> PreferenceReport:
    humans, judge, _ = simulated
    return file_preferences(humans, judge)


def _inside(value: float, ci: tuple[float, float] | None) -> bool:
    return ci is not None and ci[0] <= value <= ci[1]


def test_planted_position_bias_and_tie_rate_are_recovered(report: PreferenceReport) -> None:
    by_name = {a.annotator_id: a for a in report.per_annotator}
    first, tier = by_name["first"], by_name["tier"]
    assert _inside(POSITION_BIAS, first.first_chosen_ci95)
    assert first.position_p_value is not None and first.position_p_value < 1e-6
    assert _inside(TIE_RATE, tier.tie_rate_ci95)
    assert tier.tie_flag == "ties often"
    # against the median annotator (who never ties), only the tier stands out
    assert [a.tie_flag for a in report.per_annotator] == [None, None, None, "ties often"]
    for fair in ("tier", "m_a", "m_b"):  # shown_first is random for them: no position bias
        assert _inside(0.5, by_name[fair].first_chosen_ci95)


def test_planted_judge_length_bias_and_swap_consistency(report: PreferenceReport) -> None:
    judge = report.judge
    assert judge is not None and judge.length_bias is not None
    # in the first order it picks the longer 80% of the time; in the second it keeps that
    # verdict 87% of the time and turns to the shorter (or back to the longer) otherwise
    swapped = JUDGE_LONGER * SWAP_CONSISTENCY + (1 - JUDGE_LONGER) * (1 - SWAP_CONSISTENCY)
    assert _inside((JUDGE_LONGER + swapped) / 2, judge.length_bias.ci95)
    assert _inside(SWAP_CONSISTENCY, judge.swap_consistency_ci95)
    assert judge.swap_tested == 3000
    assert report.length_bias is not None and _inside(0.5, report.length_bias.ci95)


def test_margins_carry_their_planted_accuracy(report: PreferenceReport) -> None:
    margins = report.margin_calibration
    assert margins is not None
    assert margins.reference == "the LLM judge"  # the judge comes before the reward sign
    assert [level.margin for level in margins.levels] == ["slight", "clear", "strong"]
    # the judge follows length, not the truth: against it the margins tell nothing
    assert not margins.informative


def test_margins_against_the_reward_sign(simulated: tuple[Path, Path, pd.DataFrame]) -> None:
    humans, _, _ = simulated
    margins = file_preferences(humans).margin_calibration
    assert margins is not None and margins.reference == "the sign of the reward difference"
    for level in margins.levels:
        assert _inside(MARGIN_ACCURACY[level.margin], level.ci95), level
    assert margins.informative


def _expected_loo(frame: pd.DataFrame, with_ties: bool) -> float:
    """Leave-one-out agreement computed row by row from the file (expected random breaks)."""
    vote = frame["label"].map({"A": 0, "B": 1}).fillna(2).astype(int)
    hits = total = 0.0
    for _, votes in vote.groupby(frame["item_id"]):
        values = list(votes)
        if len(values) < 3:
            continue
        for i, own in enumerate(values):
            others = [v for j, v in enumerate(values) if j != i and (with_ties or v != 2)]
            if (not with_ties and own == 2) or not others:
                continue
            tally = pd.Series(others).value_counts()
            leaders = list(tally[tally == tally.max()].index)
            hits += (own in leaders) / len(leaders)
            total += 1
    return hits / total


def test_the_ceiling_equals_a_row_by_row_computation(
    report: PreferenceReport, simulated: tuple[Path, Path, pd.DataFrame]
) -> None:
    _, _, frame = simulated
    ceiling = report.loo_ceiling
    assert ceiling is not None and ceiling.items == 3000
    assert ceiling.with_ties == pytest.approx(_expected_loo(frame, True), abs=1e-12)
    assert ceiling.without_ties == pytest.approx(_expected_loo(frame, False), abs=1e-12)
    assert _inside(ceiling.with_ties or 0, ceiling.with_ties_ci95)
    assert {a.source.split(" (")[0] for a in ceiling.anchors} == {
        "InstructGPT",
        "AlpacaEval",
        "MT-Bench",
    }


def test_bradley_terry_is_the_fit_of_the_files_wins(
    report: PreferenceReport, simulated: tuple[Path, Path, pd.DataFrame]
) -> None:
    _, _, frame = simulated
    decisive = frame[frame["label"].isin(["A", "B"])]
    winner = np.where(decisive["label"] == "A", decisive["model_a"], decisive["model_b"])
    loser = np.where(decisive["label"] == "A", decisive["model_b"], decisive["model_a"])
    names = sorted(SYSTEMS)
    wins = np.zeros((4, 4), dtype=np.int64)
    for w, l_ in zip(winner, loser, strict=True):
        wins[names.index(w), names.index(l_)] += 1
    expected = pf.bradley_terry(wins)
    assert report.bradley_terry is not None
    vendor = report.bradley_terry.sources["vendor"]
    assert vendor is not None and expected is not None
    assert [s.model for s in vendor] == names
    assert [s.strength for s in vendor] == pytest.approx(list(expected), abs=1e-6)
    # the planted order is recovered by both sources, so their rankings agree
    ranked = [s.model for s in sorted(vendor, key=lambda s: -s.strength)]
    assert ranked == ["m1", "m2", "m3", "m4"]
    assert report.bradley_terry.rank_correlation[0][:2] == ("vendor", "judge")


def test_cyclic_triads_hand_counted(tmp_path: Path) -> None:
    rows = [
        # p: x > y, y > z, z > x, a cycle; q: x > y, y > z, x > z, transitive
        ("1", "p", "A", "x", "y"),
        ("2", "p", "A", "y", "z"),
        ("3", "p", "B", "x", "z"),
        ("1", "q", "A", "x", "y"),
        ("2", "q", "A", "y", "z"),
        ("3", "q", "A", "x", "z"),
        ("1", "r", "A", "x", "y"),
    ]
    frame = pd.DataFrame(rows, columns=["item_id", "annotator_id", "label", "model_a", "model_b"])
    frame["prompt_id"] = "prompt-1"
    frame.to_csv(tmp_path / "triads.csv", index=False)
    triads = file_preferences(tmp_path / "triads.csv").transitivity
    assert triads is not None
    assert (triads.triads, triads.cyclic.successes) == (2, 1)
    assert triads.per_annotator == [("p", 1, 1), ("q", 1, 0)]
    assert triads.prompts_with_cycles == [("prompt-1", 2, 1)]


def test_same_judgements_same_report_whatever_the_order_or_format(
    simulated: tuple[Path, Path, pd.DataFrame], tmp_path: Path
) -> None:
    humans, judge, frame = simulated
    shuffled = frame.sample(frac=1.0, random_state=3)
    shuffled.to_parquet(tmp_path / "humans.parquet", index=False)
    shuffled.to_json(tmp_path / "humans.jsonl", orient="records", lines=True)
    expected = to_json(file_preferences(humans, judge))
    assert to_json(file_preferences(tmp_path / "humans.parquet", judge)) == expected
    assert to_json(file_preferences(tmp_path / "humans.jsonl", judge)) == expected


def test_likert_labels_map_to_label_and_margin(tmp_path: Path) -> None:
    (tmp_path / "likert.csv").write_text(
        "item_id,annotator_id,label\n1,a,1\n1,b,3\n1,c,4\n2,a,7\n2,b,5\n2,c,6\n"
    )
    report = file_preferences(tmp_path / "likert.csv")
    assert (report.judgements, report.tie_rate.successes) == (6, 1)
    by_name = {a.annotator_id: a for a in report.per_annotator}
    assert by_name["c"].tie_rate == 0.5  # 4 (as good) and 6 (B, clearly)
    # pair 1: A strong, A slight, tie; pair 2: B strong, B slight, B clear
    ceiling = report.loo_ceiling
    assert ceiling is not None and ceiling.with_ties == pytest.approx((1 / 2 + 1 / 2 + 0 + 3) / 6)


def test_chosen_and_rejected_texts(tmp_path: Path) -> None:
    pd.DataFrame(
        {
            "item_id": ["1", "2", "3"],
            "chosen": ["a long helpful answer", "short", "mid answer"],
            "rejected": ["meh", "a much longer answer", "x"],
        }
    ).to_json(tmp_path / "hh.jsonl", orient="records", lines=True)
    report = file_preferences(tmp_path / "hh.jsonl")
    assert report.tie_rate.successes == 0
    assert report.length_bias is not None and report.length_bias.longer_chosen == pytest.approx(
        2 / 3
    )
    pd.DataFrame(
        {
            "item_id": ["1", "2"],
            "response_a": ["one", "two"],
            "response_b": ["uno", "dos"],
            "chosen": ["uno", "two"],
            "rejected": ["one", "dos"],
            "shown_first": ["A", "A"],
        }
    ).to_csv(tmp_path / "ab.csv", index=False)
    ab = file_preferences(tmp_path / "ab.csv")
    assert ab.position_bias is not None and ab.position_bias.first_chosen == 0.5  # B, then A


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "item_id,label\n1,A\n2,C\n",
            "column label: expected A, B, tie or both_bad, or a Likert 1-7, found 'C' at line 3",
        ),
        (
            "item_id,label,shown_first\n1,A,A\n2,B,left\n",
            "column shown_first: expected A or B (the response shown first), found 'left' at line 3",
        ),
        ("item_id,verdict\n1,A\n", "missing column 'label'"),
        (
            "item_id,label,len_a,len_b\n1,A,10,-3\n",
            "line 2, column len_b: expected a length, 0 or more",
        ),
        (
            "item_id,annotator_id,label\n1,a,A\n1,a,B\n",
            "item '1' has different labels from annotator 'a'",
        ),
    ],
)
def test_bad_files_get_one_message_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        file_preferences(path)
    assert run(["preferences", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err and len(err.strip().splitlines()) == 1


def test_a_judge_may_judge_in_both_orders_but_not_twice_in_one(
    tmp_path: Path, simulated: tuple[Path, Path, pd.DataFrame]
) -> None:
    humans, _, _ = simulated
    (tmp_path / "judge.csv").write_text(
        "item_id,annotator_id,label,shown_first\np00000,j,A,A\np00000,j,B,A\n"
    )
    with pytest.raises(InputError, match="item 'p00000' has different labels from annotator 'j'"):
        file_preferences(humans, tmp_path / "judge.csv")


def test_cli_json_has_the_design_keys(
    simulated: tuple[Path, Path, pd.DataFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    humans, judge, _ = simulated
    assert run(["preferences", str(humans), "--judge", str(judge), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"items", "judgements", "tie_rate", "position_bias", "length_bias"} <= set(out)
    assert {"loo_ceiling", "per_annotator", "judge"} <= set(out)
    assert set(out["tie_rate"]) >= {"value", "ci95"}
    assert set(out["position_bias"]) >= {"first_chosen", "ci95", "p_value"}
    assert set(out["length_bias"]) >= {"longer_chosen", "ci95", "longer_baseline_agreement"}
    assert set(out["loo_ceiling"]) >= {"with_ties", "without_ties", "items"}
    assert set(out["per_annotator"][0]) >= {
        "annotator_id",
        "judgements",
        "tie_rate",
        "first_chosen",
        "longer_chosen",
        "loo_agreement",
    }
    assert set(out["judge"]) >= {"agreement_with_majority", "swap_consistency"}
    assert run(["preferences", str(humans)]) == 0
    text = capsys.readouterr().out
    assert "human ceiling" in text and "first: 3,000" in text


def test_without_optional_columns_the_figures_are_null(tmp_path: Path) -> None:
    (tmp_path / "plain.csv").write_text("item_id,annotator_id,label\n1,a,A\n1,b,B\n")
    report = file_preferences(tmp_path / "plain.csv")
    assert report.position_bias is None and report.length_bias is None
    assert report.loo_ceiling is None and report.margin_calibration is None
    assert report.transitivity is None and report.bradley_terry is None and report.judge is None


@pytest.mark.parametrize(
    ("judge", "message"),
    [
        (
            "item_id,annotator_id,label\np00000,m1,A\np00000,m2,B\n",
            "2 judges (m1, m2); expected one",
        ),
        ("item_id,annotator_id,label\nnope,m1,A\n", "no pair in common with humans.csv"),
    ],
)
def test_a_judge_file_holds_one_judge_of_the_same_pairs(
    simulated: tuple[Path, Path, pd.DataFrame], tmp_path: Path, judge: str, message: str
) -> None:
    humans, _, _ = simulated
    (tmp_path / "judge.csv").write_text(judge)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        file_preferences(humans, tmp_path / "judge.csv")


def test_the_judge_counts_verdicts_on_the_humans_pairs_only(tmp_path: Path) -> None:
    (tmp_path / "humans.csv").write_text(
        "item_id,annotator_id,label,model_a,model_b\n"
        "1,a,A,x,y\n1,b,A,x,y\n1,c,B,x,y\n2,a,B,y,z\n2,b,B,y,z\n2,c,B,y,z\n"
    )
    # pair 1 flips under the swap (a tie), pair 2 stays B, pair 9 is no pair of the humans'
    (tmp_path / "judge.csv").write_text(
        "item_id,annotator_id,label,shown_first\n1,j,A,A\n1,j,B,B\n2,j,B,A\n2,j,B,B\n9,j,A,A\n"
    )
    judge = file_preferences(tmp_path / "humans.csv", tmp_path / "judge.csv").judge
    assert judge is not None
    assert (judge.items, judge.judgements, judge.swap_tested) == (2, 4, 2)
    assert (judge.tie_rate.successes, judge.tie_rate.n) == (1, 2)  # verdicts, not rows
    # with ties: on pair 1 each held-out majority (A-B tied, A-B tied, A) misses the judge's
    # tie; on pair 2 every held-out majority is B, as the judge says: 3 of 6. Without ties
    # the judge's tie drops out: 3 of 3.
    assert judge.agreement_with_majority == pytest.approx(0.5)
    assert judge.agreement_without_ties == pytest.approx(1.0)
    # z never loses (to the vendor or the judge): no finite strengths anywhere
    assert file_preferences(tmp_path / "humans.csv", tmp_path / "judge.csv").bradley_terry is None


def test_a_human_who_saw_both_orders_has_no_position(tmp_path: Path) -> None:
    (tmp_path / "both.csv").write_text(
        "item_id,annotator_id,label,shown_first\n1,u,A,A\n1,u,A,B\n2,u,B,B\n"
    )
    report = file_preferences(tmp_path / "both.csv")
    [person] = report.per_annotator
    assert person.judgements == 2 and person.first_chosen == 1.0  # pair 2 only
    assert report.position_bias is not None and report.position_bias.judgements == 1


def test_an_object_where_a_grouping_column_belongs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nested.jsonl"
    path.write_text(
        '{"item_id": 1, "label": "A", "model_a": "x", "model_b": "y"}\n'
        '{"item_id": 2, "label": "B", "model_a": {"name": "x"}, "model_b": "y"}\n'
    )
    with pytest.raises(
        InputError,
        match="line 2, column model_a: expected a string or a whole number, found an object",
    ):
        file_preferences(path)
