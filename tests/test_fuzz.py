"""Fuzzing the two readers of user files, for a bounded number of generated inputs: malformed
label files (any format, gzip or not) and malformed workspace documents. Each input either
reads, or is refused with one ``InputError``; nothing else escapes, and a refused import leaves
the workspace exactly as it was."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procure.db import session_scope
from procure.errors import InputError
from procure.labels.store import import_labels
from procure.quality import file_agreement
from procure.records import import_document, open_workspace
from procure.records.workspace import Workspace
from tests.conftest import CLOCK_SHIFT_DAYS, DATA, workspace_state

# CI runs a fixed sample (about 30 s), and a fifth of it again with the clock shifted (the same
# inputs on another day); PROCURE_FUZZ_EXAMPLES=5000 searches longer, at random.
LONGER = int(os.environ.get("PROCURE_FUZZ_EXAMPLES", "0"))
EXAMPLES = settings(
    max_examples=LONGER or (24 if os.environ.get(CLOCK_SHIFT_DAYS) else 120),
    deadline=None,
    derandomize=not LONGER,  # the same inputs every CI run: a failure is reproduced, not flaky
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

VALID_CSV = "item_id,annotator_id,label,confidence\n1,a,A,0.9\n1,b,B,0.5\n2,a,tie,1\n2,b,tie,0\n"
VALID_JSONL = "".join(
    json.dumps({"item_id": i, "annotator_id": a, "label": label}) + "\n"
    for i, a, label in [("1", "a", "A"), ("1", "b", "B"), ("2", "a", "tie")]
)
SUFFIXES = [".csv", ".tsv", ".jsonl", ".json", ".csv.gz", ".jsonl.gz", ".parquet", ""]

# Values that break readers: types that change, numbers out of range, odd text.
ODD = st.sampled_from(
    [
        "",
        '"',
        '""',
        "\x00",
        "\ufeff",
        "NaN",
        "inf",
        "-1",
        "1e400",
        "9" * 40,
        "{}",
        "[1]",
        "null",
        "true",
        "\u0301",
        "é",
        "\n",
        "\r\n",
        ",",
        "\t",
        "'",
        "\\",
        '{"k":3}',
        "\uff21\uff22",
    ]
)


@st.composite
def label_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid file mutated: cut, bytes flipped, odd values spliced in, or random JSON rows."""
    suffix = draw(st.sampled_from(SUFFIXES))
    base = VALID_JSONL if "json" in suffix else VALID_CSV
    if suffix == ".tsv":
        base = base.replace(",", "\t")
    text = base
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.one_of(ODD, st.text(max_size=8))) + text[at:]
    if draw(st.booleans()) and "json" in suffix:
        rows = draw(
            st.lists(
                st.dictionaries(
                    st.sampled_from(["item_id", "label", "annotator_id", "confidence", "cost"]),
                    st.one_of(
                        st.none(),
                        st.booleans(),
                        st.integers(-(2**70), 2**70),
                        st.floats(allow_nan=True),
                        st.text(max_size=5),
                        st.lists(st.integers(), max_size=2),
                    ),
                ),
                max_size=5,
            )
        )
        text = (
            json.dumps(rows) if suffix == ".json" else "".join(json.dumps(r) + "\n" for r in rows)
        )
    content = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        content = content[: draw(st.integers(0, len(content)))]
    if draw(st.booleans()) and content:
        at = draw(st.integers(0, len(content) - 1))
        content = content[:at] + bytes([draw(st.integers(0, 255))]) + content[at + 1 :]
    if suffix.endswith(".gz"):
        packed = gzip.compress(content)
        content = packed[: draw(st.integers(len(packed) // 2, len(packed)))]
    return suffix, content


@pytest.fixture
def fuzzed(tmp_path: Path) -> Iterator[Workspace]:
    from procure.config import Settings
    from procure.sample.loader import load_sample
    from tests.conftest import SAMPLE_TODAY

    ws = open_workspace(Settings(home=tmp_path / "workspace"))
    with session_scope(ws.engine) as db:
        load_sample(SAMPLE_TODAY, session=db)
    yield ws
    ws.engine.dispose()


@EXAMPLES
@given(case=label_files())
def test_label_files_read_or_are_refused_with_one_message(
    fuzzed: Workspace, tmp_path: Path, case: tuple[str, bytes]
) -> None:
    suffix, content = case
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(content)
    try:
        file_agreement(path)
    except InputError as refused:
        assert str(refused).startswith(f"fuzz{suffix}") and "\n" not in str(refused)
    before = workspace_state(fuzzed)
    try:
        with session_scope(fuzzed.engine) as db:
            import_labels(
                fuzzed.settings.label_store,
                path,
                source="gold",
                task_type_key="pref_pair",
                force=True,
                session=db,
            )
    except InputError:
        assert workspace_state(fuzzed) == before


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, bytes]:
    """The test contract document mutated as text, or as data (values replaced by odd ones)."""
    name = draw(st.sampled_from(["contract.yaml", "contract.json", "contract.txt"]))
    text = (DATA / "contract.yaml").read_text()
    if name == "contract.json":
        import yaml

        text = json.dumps(yaml.safe_load(text), default=str)
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(lines) - 1))
        line = lines[at]
        cut = draw(st.integers(0, len(line)))
        lines[at] = (
            line[:cut]
            + draw(
                st.one_of(
                    ODD,
                    st.sampled_from(
                        [
                            "&a x",
                            "*a",
                            "!!python/object:os.system",
                            ": :",
                            "- ",
                            "{",
                            "]",
                            "2026-02-30",
                            "1.0e400",
                            "-5",
                            "99999999999999999999",
                            "<<: *a",
                            "? ",
                            "%YAML 1.1",
                        ]
                    ),
                    st.text(max_size=6),
                )
            )
            + line[cut:]
        )
    if draw(st.booleans()):
        lines = lines[: draw(st.integers(1, len(lines)))]
    return name, "".join(lines).encode("utf-8", "surrogatepass")


@EXAMPLES
@given(case=documents())
def test_documents_import_or_are_refused_with_one_message(
    fuzzed: Workspace, case: tuple[str, bytes]
) -> None:
    name, content = case
    before = workspace_state(fuzzed)
    try:
        with session_scope(fuzzed.engine) as db:
            import_document(content, name, force=True, session=db)
    except InputError as refused:
        assert "Traceback" not in str(refused)
        assert workspace_state(fuzzed) == before
