"""Validate the whole path on a published dataset: expert, GPT-4, Mixtral and Llama-3 stance
labels on 1,000 vaccine tweets (Espinosa & Salathé 2024, PLOS Digital Health; EUPL-1.2), read
from ../shared/reference_data and never copied into this project.

The files are turned into procure's long format in a temporary folder, then run through
`procure agreement` and through a workspace (import as gold and LLM runs, then the quality
report). Our figures are printed beside the published ones.

    python bench/validate_reference.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from procure.quality.results import Comparison

sys.path.insert(0, str(Path(__file__).parent.parent))

REFERENCE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "reference_data"
    / "espinosa2024_vaccine_stance"
)
LABELS = ["negative", "neutral", "positive"]
# (model, prompt code, published accuracy against the experts' majority), SOURCE.md
PUBLISHED = [
    ("GPT-4", 40 + p, a)
    for p, a in enumerate([0.7199, 0.7873, 0.7728, 0.7873, 0.7913, 0.7926, 0.8111, 0.8098], 1)
]
PUBLISHED += [
    ("Mixtral", p, a)
    for p, a in zip(range(3, 9), [0.6459, 0.7414, 0.7533, 0.7228, 0.7374, 0.7573], strict=True)
]
PUBLISHED += [
    ("Llama-3 70B", p, a)
    for p, a in zip(range(3, 9), [0.7122, 0.7454, 0.7228, 0.7294, 0.6817, 0.7374], strict=True)
]
MODEL_FILES = {
    "GPT-4": ("gpt_annotations_simple.csv", "sentiment_gpt"),
    "Mixtral": ("mixtral_annotations_simple.csv", "sentiment_mixtral"),
    "Llama-3 70B": ("llama70b_annotations_simple.csv", "sentiment_llama70b"),
}


def build_files(out: Path) -> dict[str, Path]:
    """Long-format label files: the experts' majority on the 757 tweets where at least 3 of 4
    experts agree, one file per model and prompt, and the 8 GPT-4 prompts as 8 annotators."""
    files: dict[str, Path] = {}
    with duckdb.connect() as con:
        experts = out / "experts.csv"
        con.execute(
            f"COPY (SELECT id_tweets AS item_id, 'experts' AS annotator_id, stance_epfl AS label FROM read_csv('{REFERENCE / 'epfl_annotations_simple_partial_agreement.csv'}')) TO '{experts}' (HEADER)"
        )
        files["experts"] = experts
        for model, prompt, _ in PUBLISHED:
            name, column = MODEL_FILES[model]
            path = out / f"{model.split()[0].lower()}_p{prompt}.csv"
            con.execute(
                f"""COPY (SELECT id_tweets AS item_id, '{model} p{prompt}' AS annotator_id, {column} AS label
                FROM read_csv('{REFERENCE / name}', all_varchar = true) WHERE id_tweets <> 'NA' AND prompt = '{prompt}')
                TO '{path}' (HEADER)"""
            )
            files[f"{model} p{prompt}"] = path
        prompts = out / "gpt4_prompts.csv"
        con.execute(
            f"""COPY (SELECT id_tweets AS item_id, 'prompt ' || prompt AS annotator_id, sentiment_gpt AS label
            FROM read_csv('{REFERENCE / "gpt_annotations_simple.csv"}', all_varchar = true)
            WHERE id_tweets <> 'NA' AND CAST(prompt AS INTEGER) BETWEEN 41 AND 48) TO '{prompts}' (HEADER)"""
        )
        files["gpt4 prompts"] = prompts
        pair = out / "experts_and_gpt4_p7.csv"
        con.execute(
            f"COPY (SELECT * FROM read_csv('{experts}') UNION ALL SELECT * FROM read_csv('{files['GPT-4 p47']}')) TO '{pair}' (HEADER)"
        )
        files["experts and GPT-4 p7"] = pair
    return files


def workspace_figures(files: dict[str, Path], home: Path) -> Comparison:
    """The same comparison through a workspace: experts imported as gold, GPT-4 prompt 7 as an
    LLM run, then the quality report."""
    from procure.config import Settings
    from procure.db import session_scope
    from procure.labels.store import LlmRunSpec, import_labels
    from procure.quality import quality_report, select_labels
    from procure.records.catalog import save_task_type
    from procure.records.workspace import open_workspace

    workspace = open_workspace(Settings(home=home))
    store = workspace.settings.label_store
    with session_scope(workspace.engine) as db:
        save_task_type(
            {
                "key": "stance",
                "name": "Vaccine stance",
                "unit": "tweet",
                "label_kind": "categorical",
                "labels": LABELS,
            },
            session=db,
        )
        import_labels(store, files["experts"], source="gold", task_type_key="stance", session=db)
        import_labels(
            store,
            files["GPT-4 p47"],
            source="llm",
            task_type_key="stance",
            llm=LlmRunSpec("gpt-4", "openai", "prompt 7"),
            session=db,
        )
    with session_scope(workspace.engine) as db:
        report = quality_report(store, select_labels("stance", store=store, session=db), session=db)
    workspace.engine.dispose()
    return report.pairs["llm_vs_gold"]


def main() -> int:
    if not REFERENCE.exists():
        print(f"reference data not found at {REFERENCE}")
        return 1
    from procure.quality.files import file_agreement

    with tempfile.TemporaryDirectory() as scratch:
        files = build_files(Path(scratch))
        print(
            f"{'model, prompt':<22} {'published accuracy':>18} {'procure':>9} {'kappa':>8} {'AC1':>7}"
        )
        worst = 0.0
        for model, prompt, published in PUBLISHED:
            report = file_agreement(
                files["experts"], files[f"{model} p{prompt}"], labels=LABELS
            ).against
            assert report is not None and report.percent_agreement is not None
            worst = max(worst, abs(report.percent_agreement - published))
            print(
                f"{model + ' p' + str(prompt):<22} {published:>18.4f} {report.percent_agreement:>9.4f} {report.cohen_kappa:>8.4f} {report.gwet_ac1:>7.4f}"
            )
        print(
            f"largest difference from the published accuracies: {worst:.5f} (they are rounded to 4 places)"
        )
        p7 = file_agreement(files["experts"], files["GPT-4 p47"], labels=LABELS).against
        assert p7 is not None
        print(
            f"GPT-4 p7 vs experts: kappa {p7.cohen_kappa:.6f} (SOURCE.md 0.484681), AC1 {p7.gwet_ac1:.6f} (0.769195), confusion {p7.confusion.counts}"
        )
        pair = file_agreement(files["experts and GPT-4 p7"], labels=LABELS)
        print(f"experts and GPT-4 p7 as two coders: alpha {pair.krippendorff_alpha:.6f} (0.480076)")
        prompts = file_agreement(files["gpt4 prompts"], labels=LABELS)
        print(
            f"8 GPT-4 prompts as raters: Fleiss kappa {prompts.fleiss_kappa:.6f} (0.635267), alpha {prompts.krippendorff_alpha:.6f} (0.635327)"
        )
        stored = workspace_figures(files, Path(scratch) / "workspace")
        print(
            f"through a workspace (gold + LLM run): accuracy {stored.percent_agreement:.6f} (0.811096), kappa {stored.cohen_kappa:.6f} (0.484681)"
        )
    return 0 if worst < 0.0001 else 1


if __name__ == "__main__":
    sys.exit(main())
