"""The CLI's ``--json`` output is a stable interface: pinned on the sample workspace.

Regenerate the pinned files only for an intended change of the interface:
``PROCURE_PIN_CLI_JSON=1 pytest tests/cli/test_json.py``.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from procure.cli import run
from tests.conftest import DATA, ROOT, SAMPLE_TODAY

PINNED = DATA / "cli_json"
ECONOMICS_SCENARIO = ROOT / "sample_data" / "economics_scenario.yaml"
LABELS = DATA / "labels"

COMMANDS: dict[str, list[str]] = {
    "vendor_list": ["vendor", "list"],
    "task_type_list": ["task-type", "list"],
    "contract_list": ["contract", "list"],
    "batch_list": ["batch", "list"],
    "fx_list": ["fx", "list"],
    "labels_list": ["labels", "list"],
    "deliveries": ["deliveries", "--as-of", "2026-11-21"],
    "spend": ["spend", "--as-of", "2026-11-21"],
    "quality": ["quality", "--task-type", "pref_pair", "--dawid-skene"],
    "quality_batch": ["quality", "--task-type", "pref_pair", "--batch", "1"],
    # --dawid-skene with no vendor labels to fit: the key is there, null
    "quality_no_vendor_labels": ["quality", "--task-type", "helpfulness_eval", "--dawid-skene"],
    "review_queue": ["review", "queue", "--task-type", "pref_pair"],
    "acceptance_check": ["acceptance", "check", "4"],
    "economics_measured": ["economics", "--task-type", "pref_pair"],
    "economics_scenario": ["economics", "--scenario", str(ECONOMICS_SCENARIO)],
    "llm_price_list": ["llm-price", "list"],
    "llm_prompt_list": ["llm", "prompt", "list", "--task-type", "pref_pair"],
    "llm_jobs": ["llm", "jobs"],
}
# Values that differ from run to run by nature: the workspace's place and when it was made.
# Floats are compared to 12 significant digits: DuckDB may add in another order on another run.
VOLATILE = re.compile(r"(_at|_path|path|home|content_key)$")  # the key names DuckDB's version
IMPORTED_ON = re.compile(r"(run \d+ )\(\d{4}-\d{2}-\d{2}\)")


def _stable(value: object) -> object:
    if isinstance(value, dict):
        return {k: "<volatile>" if VOLATILE.search(k) else _stable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, str):  # a note naming an LLM run by the day it was imported
        return IMPORTED_ON.sub(r"\1(<imported>)", value)
    return value


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    home = str(tmp_path_factory.mktemp("pinned") / "ws")
    assert run(["--home", home, "init", "--with-sample", "--today", SAMPLE_TODAY.isoformat()]) == 0
    return home


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_json_output_is_unchanged(
    name: str, sample_home: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code = run(["--home", sample_home, *COMMANDS[name], "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    payload = _stable(json.loads(out))
    pinned = PINNED / f"{name}.json"
    if os.environ.get("PROCURE_PIN_CLI_JSON") == "1":
        pinned.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    assert payload == json.loads(pinned.read_text())


def test_agreement_json_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    vendor, gold = LABELS / "pairs.csv", LABELS / "gold.jsonl"
    code = run(["agreement", str(vendor), "--against", str(gold), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    payload = _stable(json.loads(out))
    pinned = PINNED / "agreement.json"
    if os.environ.get("PROCURE_PIN_CLI_JSON") == "1":
        pinned.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    assert payload == json.loads(pinned.read_text())
