"""Label files for the sample workspace, generated with a fixed seed and imported through the
same path as any user's files. Each task tells a story a lead would recognise:

- preference pairs (Northwind): the annotators improve week by week, so agreement with the LLM
  and with gold rises from week 1 to week 4; a fourth annotator always picks the response
  shown first; the stated margins carry signal (right judgements are stronger); the pairs are
  three responses per prompt from four systems of planted Bradley-Terry strengths, and the LLM
  judge ran in both orders, keeping its verdict on about 87% of the pairs;
- SFT instruction ratings (Lumen Labs): each annotator copies the LLM's rating more often than
  not and guesses otherwise, so the vendor's consensus matches the LLM far more closely than its
  own annotators match each other (a sign the data is LLM-generated);
- expert report reviews (Kestrel): nearly every report is accepted, so raw agreement is high
  while kappa is low; Gwet's AC1 stays high.

The preference-pair LLM run was also run earlier, so the page shows its test-retest consistency;
the newer run (with confidence, tokens and cost) is the one compared by default.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from sqlmodel import Session, col, select

from procure.labels.store import LlmRunSpec, import_labels
from procure.records.models import Batch, TaskType

SEED = 20261119
ITEMS_PER_BATCH = 300  # the sample labels a sample of each batch's units


@dataclass(frozen=True)
class Story:
    task_type: str
    annotators: int
    priors: tuple[float, ...]
    annotator_accuracy: tuple[float, ...]  # by delivery week (last value repeats)
    llm_accuracy: float
    copies_llm: float = 0.0  # probability an annotator copies the LLM instead of judging
    gold_items: int = 0
    llm_model: str = "gpt-4o-mini"
    tokens: tuple[int, int] = (350, 4)  # input, output tokens per item
    price_per_mtok: tuple[str, str] = ("0.15", "0.60")  # USD per million input, output tokens
    rerun_stability: float | None = None  # run the LLM again; share of labels it repeats
    pairs: bool = False  # a preference task: the side columns of procure.labels.pairs


STORIES = (
    Story(
        "pref_pair",
        3,
        (0.45, 0.45, 0.10),
        (0.62, 0.70, 0.78, 0.86),
        0.85,
        gold_items=120,
        rerun_stability=0.92,
        pairs=True,
    ),
    Story("sft_instruction", 3, (0.05, 0.15, 0.30, 0.35, 0.15), (0.45,), 0.80, copies_llm=0.6),
    Story(
        "expert_report",
        2,
        (0.03, 0.04, 0.93),
        (0.93,),
        0.90,
        gold_items=60,
        llm_model="gpt-4o",
        tokens=(2600, 6),
        price_per_mtok=("2.50", "10.00"),
    ),
)


TOPICS = (
    "how to rotate a PostgreSQL password without downtime",
    "a gentle explanation of Bayes' rule for a nurse",
    "whether to refinance a mortgage at 6.1%",
    "a haiku about the first frost",
    "the difference between TCP and UDP for a game server",
    "a polite reply declining a meeting",
    "why the sky is blue, for a seven-year-old",
    "a Python one-liner that deduplicates a list in order",
)


def item_text(task_type: str, i: int) -> str:
    """The item a label is about (what an LLM labeller reads); deterministic, no random draws."""
    topic = TOPICS[i % len(TOPICS)]
    if task_type == "pref_pair":
        return (
            f"Prompt: {topic}.\nResponse A: a direct answer in {3 + i % 4} short paragraphs.\n"
            f"Response B: a {'longer' if i % 2 else 'shorter'} answer with {'an example' if i % 3 else 'no example'}.\n"
            "Which response is better: A, B or tie?"
        )
    if task_type == "sft_instruction":
        return (
            f"Instruction: write about {topic}.\nResponse: (draft {i}). Rate the pair from 1 to 5."
        )
    return f"Expert report #{i} on {topic}. Decision: reject, revise or accept?"


# The preference story: systems that wrote the responses, with their planted strengths.
SYSTEMS = {"cirrus-405b": 1.0, "atlas-70b": 0.4, "beacon-8b": -0.3, "delta-mini": -0.9}
FIRST_PICKER = 3  # a fourth annotator (0-based 3) who always chooses the response shown first
JUDGE_SWAP_CONSISTENCY = 0.87
MARGIN_CHANCES = {True: (0.15, 0.35, 0.5), False: (0.6, 0.3, 0.1)}  # (slight, clear, strong)


def _pairs(rng: np.random.Generator, ref: str, truth: np.ndarray) -> pd.DataFrame:
    """Each item's prompt (three pairs per prompt: the three pairs of three systems), which
    system wrote A and B (the truth's winner is the stronger with its Bradley-Terry chance) and
    the lengths (the better response is longer 60% of the time)."""
    n = len(truth)
    names = list(SYSTEMS)
    strength = np.array(list(SYSTEMS.values()))
    model_a, model_b = [], []
    for i in range(n):
        if i % 3 == 0:
            chosen = rng.choice(len(names), 3, replace=False)
            triple = [(chosen[0], chosen[1]), (chosen[1], chosen[2]), (chosen[0], chosen[2])]
        x, y = triple[i % 3]
        p_x = 1 / (1 + np.exp(strength[y] - strength[x]))
        winner_x = rng.random() < p_x
        if truth[i] == 2:  # a tie: either side
            a, b = (x, y) if rng.random() < 0.5 else (y, x)
        else:
            winner, loser = (x, y) if winner_x else (y, x)
            a, b = (winner, loser) if truth[i] == 0 else (loser, winner)
        model_a.append(names[a])
        model_b.append(names[b])
    short, long = rng.integers(300, 900, n), rng.integers(900, 2400, n)
    better_longer = rng.random(n) < 0.6
    a_longer = np.where(
        truth == 0, better_longer, np.where(truth == 1, ~better_longer, rng.random(n) < 0.5)
    )
    return pd.DataFrame(
        {
            "prompt_id": [f"{ref}-P{i // 3:03d}" for i in range(n)],
            "model_a": model_a,
            "model_b": model_b,
            "len_a": np.where(a_longer, long, short),
            "len_b": np.where(a_longer, short, long),
        }
    )


def _pair_judgement(
    rng: np.random.Generator, truth: np.ndarray, label: np.ndarray, first_picker: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An annotator's (label, shown_first, margin): the first picker's label is the response
    shown first; a right decisive judgement states a stronger margin than a wrong one."""
    n = len(truth)
    shown_first = rng.integers(0, 2, n)
    if first_picker:
        label = shown_first
    right = label == truth
    margins = np.array(["slight", "clear", "strong"])
    margin = np.where(
        right,
        margins[[rng.choice(3, p=MARGIN_CHANCES[True]) for _ in range(n)]],
        margins[[rng.choice(3, p=MARGIN_CHANCES[False]) for _ in range(n)]],
    )
    return label, np.array(["A", "B"])[shown_first], np.where(label == 2, "", margin)


def _both_orders(
    rng: np.random.Generator, run: pd.DataFrame, model: str, labels: np.ndarray
) -> pd.DataFrame:
    """The LLM run with each pair judged again with B shown first: the same verdict with
    ``JUDGE_SWAP_CONSISTENCY``, else another label (each call costs again). The columns are
    those ``procure llm run --both-orders`` stores."""
    first = run.assign(annotator_id=f"{model} (A shown first)", shown_first="A")
    code = {label: i for i, label in enumerate(labels)}
    codes = np.array([code[label] for label in first["label"]])
    kept = rng.random(len(codes)) < JUDGE_SWAP_CONSISTENCY
    other = (codes + rng.integers(1, len(labels), len(codes))) % len(labels)
    swapped = first.assign(
        annotator_id=f"{model} (B shown first)",
        shown_first="B",
        label=labels[np.where(kept, codes, other)],
    )
    return pd.concat([first, swapped], ignore_index=True)


def _judge(rng: np.random.Generator, truth: np.ndarray, accuracy: float, k: int) -> np.ndarray:
    wrong = rng.random(len(truth)) > accuracy
    return np.where(wrong, (truth + rng.integers(1, k, len(truth))) % k, truth)


def load_sample_labels(store: Path, *, session: Session) -> int:
    """Generate and import the sample's vendor, LLM and gold labels; returns the label sets added."""
    rng = np.random.default_rng(SEED)
    side = np.random.default_rng(SEED + 1)  # the preference columns: the labels' draws stay
    added = 0
    with tempfile.TemporaryDirectory(prefix="procure-sample-") as scratch:
        folder = Path(scratch)
        for story in STORIES:
            task_type = session.exec(select(TaskType).where(TaskType.key == story.task_type)).one()
            labels = np.array(task_type.labels)
            k = len(labels)
            batches = session.exec(
                select(Batch)
                .where(Batch.task_type_id == task_type.id)
                .order_by(col(Batch.delivered_on))
            ).all()
            items, truths, llm_labels = [], [], []
            for batch in batches:
                n = min(batch.quantity, ITEMS_PER_BATCH)
                truth = rng.choice(k, n, p=story.priors)
                llm = _judge(rng, truth, story.llm_accuracy, k)
                accuracy = story.annotator_accuracy[
                    min(batch.week, len(story.annotator_accuracy)) - 1
                ]
                ids = np.array([f"{batch.ref}-{i:04d}" for i in range(n)])
                frames = []
                pair_columns = _pairs(side, batch.ref, truth) if story.pairs else None
                for a in range(story.annotators + (1 if story.pairs else 0)):
                    if a < story.annotators:
                        judged = _judge(rng, truth, accuracy, k)
                        copied = np.where(
                            rng.random(n) < story.copies_llm, llm, rng.integers(0, k, n)
                        )
                        label = copied if story.copies_llm else judged
                    else:  # the first picker (its label is the response shown first)
                        label = truth
                    frame = pd.DataFrame(
                        {
                            "item_id": ids,
                            "annotator_id": f"{batch.ref[:2].lower()}_annotator_{a + 1}",
                            "label": labels[label],
                            "text": [item_text(story.task_type, i) for i in range(n)],
                        }
                    )
                    if pair_columns is not None:
                        label, shown_first, margin = _pair_judgement(
                            side, truth, label, a == FIRST_PICKER
                        )
                        frame["label"] = labels[label]
                        frame["shown_first"] = shown_first
                        frame["margin"] = margin
                        frame = pd.concat([frame, pair_columns], axis=1)
                    frames.append(frame)
                path = folder / f"{batch.ref}.csv"
                pd.concat(frames).to_csv(path, index=False)
                import_labels(
                    store,
                    path,
                    source="vendor",
                    task_type_key=story.task_type,
                    batch_id=batch.id,
                    session=session,
                )
                added += 1
                items.append(ids)
                truths.append(truth)
                llm_labels.append(llm)
            if not items:
                continue
            all_items, all_truth, all_llm = (
                np.concatenate(items),
                np.concatenate(truths),
                np.concatenate(llm_labels),
            )
            input_tokens = rng.integers(
                int(story.tokens[0] * 0.7), int(story.tokens[0] * 1.3), len(all_items)
            )
            output_tokens = np.full(len(all_items), story.tokens[1])
            price_in, price_out = (Decimal(p) for p in story.price_per_mtok)
            cost = [
                str((price_in * int(i) + price_out * int(o)) / Decimal(1_000_000))
                for i, o in zip(input_tokens, output_tokens, strict=True)
            ]
            # the model is more confident when it is right, as a calibrated model is
            right = all_llm == all_truth
            confidence = np.where(
                right, 0.70 + 0.29 * rng.random(len(right)), 0.40 + 0.45 * rng.random(len(right))
            )
            llm_path = folder / f"{story.task_type}_llm.csv"
            llm_frame = pd.DataFrame(
                {
                    "item_id": all_items,
                    "label": labels[all_llm],
                    "confidence": np.round(confidence, 3),
                    "input_tokens": input_tokens,
                    "output_tokens": output_tokens,
                    "cost": cost,
                }
            )
            if story.pairs:  # judged in both orders, as two annotators of the run
                llm_frame = _both_orders(side, llm_frame, story.llm_model, labels)
            llm_frame.to_csv(llm_path, index=False)
            if story.rerun_stability is not None:
                again = np.where(
                    rng.random(len(all_llm)) < story.rerun_stability,
                    all_llm,
                    rng.integers(0, k, len(all_llm)),
                )
                rerun_path = folder / f"{story.task_type}_llm_rerun.csv"
                rerun = pd.DataFrame({"item_id": all_items, "label": labels[again]})
                if story.pairs:  # the same annotator as the newer run's first order
                    rerun["annotator_id"] = f"{story.llm_model} (A shown first)"
                    rerun["shown_first"] = "A"
                rerun.to_csv(rerun_path, index=False)
                import_labels(
                    store,
                    rerun_path,
                    source="llm",
                    task_type_key=story.task_type,
                    llm=LlmRunSpec(story.llm_model, "openai", "sample-v1"),
                    name=f"{story.llm_model} sample-v1 (earlier run)",
                    session=session,
                )
                added += 1
            import_labels(
                store,
                llm_path,
                source="llm",
                task_type_key=story.task_type,
                llm=LlmRunSpec(story.llm_model, "openai", "sample-v1"),
                session=session,
            )
            added += 1
            if story.gold_items:
                chosen = rng.choice(
                    len(all_items), min(story.gold_items, len(all_items)), replace=False
                )
                gold_path = folder / f"{story.task_type}_gold.csv"
                pd.DataFrame(
                    {
                        "item_id": all_items[chosen],
                        "annotator_id": "lead_review",
                        "label": labels[all_truth[chosen]],
                    }
                ).to_csv(gold_path, index=False)
                import_labels(
                    store,
                    gold_path,
                    source="gold",
                    task_type_key=story.task_type,
                    name=f"{story.task_type} gold (lead review)",
                    session=session,
                )
                added += 1
    return added
