"""The economics model: hand-computed cases, published anchors, invariants, and the Monte Carlo
and long-tail maths against scipy and numerical integration."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import numpy as np
import pytest
from scipy import stats

from procure.economics import comparison, formulas, uncertainty
from procure.economics import scenario as sc
from procure.errors import InputError
from procure.quality.stats.acceptance import wilson_interval
from procure.results import to_json


def scenario(*strategies: dict[str, Any], **fields: Any) -> sc.Scenario:
    return sc.Scenario.model_validate(
        {"volume": 1000, "currency": "USD", **fields, "strategies": list(strategies)}
    )


VENDOR = {
    "name": "vendor",
    "kind": "human",
    "unit_price": "1.00",
    "acceptance_rate": "0.8",
    "accuracy": "0.9",
}
LLM = {
    "name": "llm",
    "kind": "llm",
    "input_tokens_per_item": 500,
    "output_tokens_per_item": 10,
    "price_in_per_mtok": "1.50",
    "price_out_per_mtok": "5",
    "accuracy": "0.85",
}  # 500 x 1.5 / 1e6 + 10 x 5 / 1e6 = 0.0008 per label


def figures(s: sc.Scenario) -> dict[str, formulas.Figures]:
    return {f.name: f for f in formulas.evaluate(s)}


def test_published_anchor_gpt4_at_0_0003_per_label() -> None:
    # DESIGN.md: 1.4M labels with GPT-4 for $420 is $0.0003 per label. GPT-4 (8k) listed
    # $30 per million input tokens; 10 input tokens per label at that price is $0.0003.
    gpt4 = {
        **LLM,
        "input_tokens_per_item": 10,
        "output_tokens_per_item": 0,
        "price_in_per_mtok": 30,
        "accuracy": 1,
    }
    f = figures(scenario(gpt4, volume=1_400_000))["llm"]
    assert f.cost_per_label == D("0.0003")
    assert f.total_cost == D("420")


def test_published_anchor_chatgpt_twenty_to_thirty_times_cheaper_than_mturk() -> None:
    # Gilardi, Alizadeh & Kubli (2023), PNAS 120(30): ChatGPT annotation costs under $0.003 per
    # item, about twenty (body) to thirty (abstract) times cheaper than MTurk. gpt-3.5-turbo
    # was $0.002 per 1K tokens (= $2 per million) in and out; a tweet task prompt of ~1,000
    # tokens with a one-word answer; MTurk at $0.06 per annotation.
    chatgpt = {
        **LLM,
        "input_tokens_per_item": 1000,
        "output_tokens_per_item": 5,
        "price_in_per_mtok": 2,
        "price_out_per_mtok": 2,
    }
    mturk = {**VENDOR, "unit_price": "0.06", "acceptance_rate": 1}
    f = figures(scenario(chatgpt, mturk))
    assert f["llm"].cost_per_label == D("0.00201")
    assert f["llm"].cost_per_label < D("0.003")
    assert 20 <= f["vendor"].cost_per_label / f["llm"].cost_per_label <= 30


def test_human_hand_computed() -> None:
    f = figures(scenario(VENDOR))["vendor"]
    assert f.cost_per_label == D("1.00")
    assert f.cost_per_accepted_label == D("1.25")  # 1 / 0.8
    assert f.cost_per_correct_label == D("1.25") / D("0.9")
    assert f.total_cost == D("1250")
    assert f.expected_correct == D("900")
    assert f.validation_cost == 0


def test_unpaid_rejections_and_internal_review_time() -> None:
    # 60/hour, 30 s per review: 0.50 per reviewed item; 10% of delivered units reviewed.
    vendor = {**VENDOR, "pays_rejected": False, "review_share": "0.1"}
    f = figures(scenario(vendor, hourly_rate=60, review_seconds_per_item=30))["vendor"]
    assert f.cost_per_label == D("0.8") * D("1.00") + D("0.05")  # a x p + r
    assert f.cost_per_accepted_label == D("1.00") + D("0.05") / D("0.8")
    # 1,000 accepted need 1,250 delivered, 125 reviewed at 30 s
    assert f.review_hours == D("125") * 30 / 3600


def test_llm_with_runs_batch_discount_and_invalid_answers() -> None:
    llm = {**LLM, "runs_per_item": 3, "batch_discount": "0.5", "acceptance_rate": "0.95"}
    f = figures(scenario(llm))["llm"]
    assert f.cost_per_label == 3 * D("0.0008") * D("0.5")
    assert f.cost_per_accepted_label == D("0.0012") / D("0.95")
    recorded = {"name": "llm", "kind": "llm", "cost_per_item": "0.0008", "accuracy": "0.85"}
    assert figures(scenario(recorded))["llm"].cost_per_label == D("0.0008")


def test_hybrid_review_sample_hand_computed() -> None:
    hybrid = {
        "name": "h",
        "kind": "hybrid",
        "llm": "llm",
        "human": "vendor",
        "review_fraction": "0.1",
    }
    f = figures(scenario(VENDOR, LLM, hybrid, validation_items=500))
    h = f["h"]
    assert h.cost_per_label == D("0.0008") + D("0.1") * D("1.25")
    assert h.accuracy == D("0.1") * D("0.9") + D("0.9") * D("0.85")  # the mixture
    assert h.accuracy_estimated
    assert h.validation_cost == 500 * D("1.25")
    assert f["llm"].validation_cost == 500 * D("1.25")
    assert h.all_in_cost == 1000 * h.cost_per_accepted_label + 625
    assert h.all_in_cost_per_correct_label == h.all_in_cost / (1000 * h.accuracy)


def test_relabel_uncertain_uses_the_captured_errors() -> None:
    # 20% relabelled catch 60% of the LLM's 15% errors: 9% fixed (at 0.9 accuracy), 6% remain.
    hybrid = {
        "name": "h",
        "kind": "hybrid",
        "llm": "llm",
        "human": "vendor",
        "policy": "relabel_uncertain",
        "review_fraction": "0.2",
        "error_capture": "0.6",
    }
    h = figures(scenario(VENDOR, LLM, hybrid))["h"]
    assert h.accuracy == D("0.2") * D("0.9") + D("0.8") - D("0.4") * D("0.15")
    assert h.accuracy == D("0.92")
    random = {**hybrid, "error_capture": "0.2"}
    mixture = D("0.2") * D("0.9") + D("0.8") * D("0.85")
    assert figures(scenario(VENDOR, LLM, random))["h"].accuracy == mixture


@pytest.mark.parametrize("votes", [2, 3, 4, 5, 7])
@pytest.mark.parametrize("q", [0.55, 0.7, 0.9])
def test_majority_vote_matches_the_binomial(votes: int, q: float) -> None:
    expected = stats.binom.sf(votes // 2, votes, q)  # P(X > v/2)
    if votes % 2 == 0:
        expected = stats.binom.sf(votes // 2, votes, q) + stats.binom.pmf(votes // 2, votes, q) / 2
    assert float(formulas.majority_vote_accuracy(D(str(q)), votes)) == pytest.approx(
        expected, abs=1e-12
    )


def test_majority_vote_hybrid_costs_every_vote() -> None:
    hybrid = {
        "name": "h",
        "kind": "hybrid",
        "llm": "llm",
        "human": "vendor",
        "policy": "majority_vote",
        "votes": 3,
        "review_fraction": 0,
    }
    h = figures(scenario(VENDOR, LLM, hybrid))["h"]
    assert h.cost_per_label == 3 * D("0.0008")
    assert h.accuracy == formulas.majority_vote_accuracy(D("0.85"), 3)


def test_a_given_hybrid_accuracy_is_used_as_is() -> None:
    hybrid = {
        "name": "h",
        "kind": "hybrid",
        "llm": "llm",
        "human": "vendor",
        "review_fraction": "0.1",
        "accuracy": "0.97",
    }
    h = figures(scenario(VENDOR, LLM, hybrid))["h"]
    assert h.accuracy == D("0.97") and not h.accuracy_estimated


def test_break_even_volume_matches_the_closed_form() -> None:
    # Without a long tail: (C + V c_h) / (V q_h) = c_H / q_H  =>  V = C / (q_h (c_H/q_H - c_h/q_h)).
    hybrid = {
        "name": "h",
        "kind": "hybrid",
        "llm": "llm",
        "human": "vendor",
        "review_fraction": "0.1",
    }
    s = scenario(VENDOR, LLM, hybrid, validation_items=500)
    f = figures(s)
    h, v = f["h"], f["vendor"]
    exact = h.validation_cost / (h.accuracy * (v.cost_per_correct_label - h.cost_per_correct_label))
    volume = formulas.break_even_volume(s, "h", "vendor")
    assert volume == int(exact) + 1
    assert formulas.all_in_per_correct(s, "h", volume) <= formulas.all_in_per_correct(
        s, "vendor", volume
    )
    assert formulas.all_in_per_correct(s, "h", volume - 1) > formulas.all_in_per_correct(
        s, "vendor", volume - 1
    )
    costly = {**LLM, "price_in_per_mtok": 5000, "price_out_per_mtok": 0}  # 2.50 per label
    assert formulas.break_even_volume(scenario(VENDOR, costly, hybrid), "h", "vendor") is None


def test_break_even_accuracy_gives_equal_cost_per_correct_label() -> None:
    f = figures(scenario(VENDOR, LLM))
    needed = formulas.break_even_accuracy(
        f["llm"].cost_per_accepted_label, f["vendor"].cost_per_correct_label
    )
    assert needed is not None
    at_needed = figures(scenario(VENDOR, {**LLM, "accuracy": needed}))["llm"]
    assert at_needed.cost_per_correct_label == pytest.approx(
        f["vendor"].cost_per_correct_label, rel=D("1e-20")
    )
    assert formulas.break_even_accuracy(D("2"), D("1")) is None


def test_higher_accuracy_never_raises_cost_per_correct_label() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        low, high = sorted(rng.uniform(0.05, 1, 2).round(4))
        vendor = {**VENDOR, "unit_price": str(round(rng.uniform(0.01, 10), 4))}
        hybrid = {
            "name": "h",
            "kind": "hybrid",
            "llm": "llm",
            "human": "vendor",
            "review_fraction": str(round(rng.uniform(0, 1), 3)),
        }
        at = [
            figures(scenario(vendor, {**LLM, "accuracy": str(q)}, hybrid, validation_items=300))
            for q in (low, high)
        ]
        for name in ("llm", "h"):
            assert (
                at[1][name].all_in_cost_per_correct_label
                <= at[0][name].all_in_cost_per_correct_label
            )


def test_long_tail_average_matches_numerical_integration() -> None:
    base, start, growth, units = D("2"), 10_000, D("0.3"), D(250_000)
    b = formulas.long_tail_exponent(growth)
    grid = np.linspace(0, float(units), 2_000_001)
    marginal = np.where(grid <= start, 2.0, 2.0 * (grid / start) ** float(b))
    integral = float(np.sum((marginal[1:] + marginal[:-1]) / 2 * np.diff(grid)))
    assert float(formulas.average_unit_price(base, units, start, b)) == pytest.approx(
        integral / float(units), rel=1e-9
    )
    # each doubling past the start raises the marginal price by 30%
    assert float(D(2) ** b) == pytest.approx(1.3, rel=1e-15)


def test_long_tail_raises_the_vendor_cost_with_volume() -> None:
    vendor = {**VENDOR, "long_tail": {"from_units": 1000, "growth_per_doubling": "0.25"}}
    small = figures(scenario(vendor, volume=500))["vendor"]
    large = figures(scenario(vendor, volume=100_000))["vendor"]
    assert small.cost_per_label == D("1.00")
    assert large.cost_per_label > small.cost_per_label


def test_monte_carlo_matches_the_beta_quantiles() -> None:
    # cost per correct = c / q with q ~ Beta(x + 1/2, n - x + 1/2): its 5th percentile is c
    # over q's 95th percentile.
    vendor = {**VENDOR, "acceptance_rate": 1, "accuracy": "0.9", "accuracy_n": 200}
    s = scenario(vendor)
    band = uncertainty.monte_carlo(s, draws=200_000, seed=3)[0]
    beta = stats.beta(180.5, 20.5)
    assert float(band.cost_p05) == pytest.approx(1 / beta.ppf(0.95), rel=2e-3)
    assert float(band.cost_p95) == pytest.approx(1 / beta.ppf(0.05), rel=2e-3)
    assert float(band.accuracy_p05) == pytest.approx(beta.ppf(0.05), rel=2e-3)
    fixed = uncertainty.monte_carlo(scenario(VENDOR))[0]
    assert fixed.cost_p05 == fixed.cost_p95 == pytest.approx(D("1.25") / D("0.9"))


def test_monte_carlo_bands_propagate_into_hybrids() -> None:
    hybrid = {
        "name": "h",
        "kind": "hybrid",
        "llm": "llm",
        "human": "vendor",
        "review_fraction": "0.1",
    }
    s = scenario({**VENDOR, "accuracy_n": 100}, {**LLM, "accuracy_n": 150}, hybrid)
    bands = {b.name: b for b in uncertainty.monte_carlo(s)}
    point = figures(s)["h"].all_in_cost_per_correct_label
    assert bands["h"].cost_p05 < point < bands["h"].cost_p95
    assert bands["h"].accuracy_p05 < bands["h"].accuracy_p95


def test_tornado_moves_one_input_at_a_time() -> None:
    s = scenario({**VENDOR, "accuracy_n": 100})
    bars = {b.input: b for b in uncertainty.tornado(s, "vendor")}
    accuracy = bars["vendor: accuracy"]
    interval = wilson_interval(90, 100)  # measured on 100 items: its Wilson interval
    assert interval is not None
    assert float(accuracy.low_value) == pytest.approx(interval.low)
    assert accuracy.at_low == D("1.25") / accuracy.low_value
    price = bars["vendor: unit_price"]
    assert (price.low_value, price.high_value) == (D("0.8"), D("1.2"))
    assert price.at_high == D("1.2") / D("0.8") / D("0.9")
    swings = [b.swing for b in uncertainty.tornado(s, "vendor")]
    assert swings == sorted(swings, reverse=True)


def test_report_keys_follow_the_design_contract() -> None:
    hybrid = {
        "name": "h",
        "kind": "hybrid",
        "llm": "llm",
        "human": "vendor",
        "review_fraction": "0.1",
    }
    report = to_json(comparison.report(scenario(VENDOR, LLM, hybrid)))  # the --json contract
    assert report["currency"] == "USD" and report["volume"] == 1000
    entry = {s["name"]: s for s in report["strategies"]}
    for key in (
        "cost_per_label",
        "cost_per_accepted_label",
        "cost_per_correct_label",
        "total_cost",
        "expected_correct",
    ):
        assert all(key in s for s in report["strategies"])
    assert entry["llm"]["cost_per_label"] == "0.0008"
    assert entry["vendor"]["total_cost"] == "1250"
    assert entry["vendor"]["expected_correct"] == "900"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("volume: 10\ncurrency: USD\nstrategies: []\n", "line 3, strategies"),
        (
            "volume: 10\ncurrency: XXX\nstrategies:\n  - {name: a, kind: human, unit_price: 1, accuracy: 0.9}\n",
            "currency",
        ),
        (
            "volume: 10\ncurrency: USD\nstrategies:\n  - {name: a, kind: human, unit_price: 1, accuracy: 1.5}\n",
            "line 4, strategies[0].human.accuracy",
        ),
        ("volume: 10\ncurrency: USD\nstrategies:\n  - {name: a, kind: robot}\n", "strategies[0]"),
        (
            "volume: 10\ncurrency: USD\nstrategies:\n  - {name: h, kind: hybrid, llm: x, human: y, review_fraction: 0.1}\n",
            "llm must name",
        ),
        (
            "volume: 10\ncurrency: USD\nstrategies:\n  - {name: l, kind: llm, accuracy: 0.9}\n",
            "cost_per_item",
        ),
        ("- just a list\n", "expected a scenario"),
    ],
)
def test_bad_scenarios_get_one_clear_message(text: str, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        sc.read_scenario(text.encode(), "s.yaml")
    assert expected in str(caught.value)
    assert "s.yaml" in str(caught.value)


def test_a_scenario_survives_its_own_text() -> None:
    hybrid = {
        "name": "h",
        "kind": "hybrid",
        "llm": "llm",
        "human": "vendor",
        "policy": "majority_vote",
        "votes": 3,
        "review_fraction": "0.1",
    }
    s = scenario(VENDOR, LLM, hybrid, validation_items=250)
    for fmt in ("yaml", "json"):
        again = sc.read_scenario(sc.scenario_text(s, fmt).encode(), f"s.{fmt}")
        assert again == s


def test_estimated_hybrid_accuracy_stays_a_probability() -> None:
    rng = np.random.default_rng(11)
    for _ in range(500):
        f, q_h, q_b, c = (D(str(round(v, 4))) for v in rng.uniform(0, 1, 4))
        accuracy = formulas.hybrid_accuracy(f, q_h, q_b, c)
        assert 0 <= accuracy <= 1
        # relabelling by perfect humans never lowers accuracy below the LLM's own
        assert formulas.hybrid_accuracy(f, D(1), q_b, c) >= q_b


HYBRID = {"name": "h", "llm": "llm", "human": "vendor", "review_fraction": "0.1"}


def test_an_edited_scenario_keeps_the_measured_values_left_as_they_were() -> None:
    measured = sc.Scenario.model_validate(
        {
            "volume": 1000,
            "currency": "USD",
            "hourly_rate": "37.333333333333333333",
            "review_seconds_per_item": "0.1",
            "strategies": [VENDOR, LLM],
        }
    ).model_dump()
    edited = sc.edited_scenario(
        measured,
        volume=2000,
        hourly_rate=float(D("37.333333333333333333")),  # shown and left: the exact Decimal stays
        review_seconds_per_item=0.25,
        validation_items=0,
        strategies=[VENDOR, LLM, {**HYBRID, "kind": "hybrid"}],
    )
    assert edited.volume == 2000 and edited.hourly_rate == D("37.333333333333333333")
    assert edited.review_seconds_per_item == D("0.25")
    assert [s.kind for s in edited.strategies] == ["human", "llm", "hybrid"]
    with pytest.raises(InputError, match="economics inputs"):
        sc.edited_scenario(
            measured,
            volume=0,
            hourly_rate=37.0,
            review_seconds_per_item=0.1,
            validation_items=0,
            strategies=[VENDOR],
        )


def test_a_validation_unit_price_is_used_in_the_point_figures_and_the_draws() -> None:
    """Before: `procure economics` crashed with a TypeError (a Decimal price among float draws)."""
    s = scenario(VENDOR, LLM, validation_items=400, validation_unit_price="2.50")
    f = figures(s)
    assert f["llm"].validation_cost == 400 * D("2.50") == D("1000.00")
    fixed = uncertainty.monte_carlo(s)  # no drawn input: the band is the point figure
    llm = next(b for b in fixed if b.name == "llm")
    assert float(llm.cost_p05) == pytest.approx(float(f["llm"].all_in_cost_per_correct_label))
