"""The label store: immutable Parquet files of labels under the workspace, one per vendor batch,
LLM run or gold set, each referenced by a ``LabelSet`` record with its path and sha256.

An import validates the file, writes Parquet to a temporary name, renames it into place and
only then adds the record, which the caller's transaction commits last. A reader only ever finds
files through records, so an interrupted import leaves nothing visible; ``sweep`` removes the
leftovers (temporary files, and files no record points to) when the workspace opens.

Stored columns: item_id, annotator_id, label, label_code (the label's position in the task
type's label order, so statistics can aggregate small integers) and the optional columns the
file had (confidence, duration_s, labeled_at, text, rationale, input_tokens, output_tokens,
cost). An annotator's repeated identical label is stored once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
from sqlmodel import Session, col, select

from procure.errors import AlreadyImportedError, InputError, NotFoundError
from procure.kinds import Adapter, LabelKind, LabelSource
from procure.labels.adapters import convert
from procure.labels.files import TypedRelation, conflict_check, open_label_file, typed_relation
from procure.labels.readers import (
    ANNOTATOR_CODED,
    FAST_ANNOTATORS,
    NUMERIC_COLUMNS,
    REPEATS,
    read_error,
)
from procure.money import check_currency
from procure.records.catalog import get_task_type
from procure.records.models import Batch, LabelSet, LlmRun
from procure.records.workspace import record_event

TEMPORARY_PREFIX = ".importing-"
ORPHAN_AGE_SECONDS = 3600  # a file without a record this old is an interrupted import's
# DuckDB spills the checking aggregate to disk beyond this, so a large import's memory stays
# bounded instead of growing with the number of (item, annotator) pairs.
IMPORT_MEMORY = "512MB"

# The file is parsed once, straight into the stored form (in the file's row order); the statistics
# DuckDB keeps while writing give the row count and the empty item ids, labels and label codes.
STAGE = """
COPY (SELECT {columns} FROM ({relation})) TO '{target}' (FORMAT parquet, COMPRESSION zstd, RETURN_STATS)
"""
ANNOTATOR_NAMES = "SELECT list(DISTINCT annotator_id) FROM read_parquet('{staged}')"
NOT_NUMBERS = "count(*) FILTER (WHERE label IS NOT NULL AND TRY_CAST(label AS DOUBLE) IS NULL)"
# Per item: whether an annotator appears twice (only then are conflicts possible; see CHECK) and,
# for ratings, labels that are not numbers.
ITEM_CHECK = f"""
SELECT count(item_id), coalesce(sum(repeats), 0), coalesce(sum(not_numbers), 0) FROM (
    SELECT item_id, {REPEATS} AS repeats, {{not_numbers}} AS not_numbers
    FROM ({ANNOTATOR_CODED.format(relation="SELECT * FROM read_parquet('{staged}')", names="names")})
    GROUP BY item_id
)
"""
# The exact check (more annotators than bit strings cover, or an annotator repeated an item).
# Pairs are grouped by a 64-bit hash of (item, annotator): a collision could only report a
# conflict or a repeat that is not there, never hide one; a conflict is confirmed exactly before
# it is reported, and a repeat only makes the import deduplicate.
CHECK = """
SELECT count(*) FILTER (WHERE copies > 1), count(*) FILTER (WHERE low <> high), sum(not_numbers),
       (SELECT count(DISTINCT item_id) FROM read_parquet('{staged}'))
FROM (
    SELECT count(*) AS copies, min({key}) AS low, max({key}) AS high, {not_numbers} AS not_numbers
    FROM read_parquet('{staged}') GROUP BY hash(item_id, annotator_id)
)
"""
DEDUPE = """
COPY (SELECT * FROM read_parquet('{staged}')
      QUALIFY row_number() OVER (PARTITION BY item_id, annotator_id) = 1)
TO '{target}' (FORMAT parquet, COMPRESSION zstd, RETURN_STATS)
"""


@dataclass(frozen=True)
class LlmRunSpec:
    model: str
    provider: str = ""
    prompt_version: str = ""
    currency: str = "USD"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_target(
    source: LabelSource, batch_id: int | None, llm: LlmRunSpec | None, *, session: Session
) -> Batch | None:
    if source is LabelSource.vendor:
        if batch_id is None:
            raise InputError(
                "vendor labels belong to a delivered batch; give its id", field="batch"
            )
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise NotFoundError(f"no batch with id {batch_id}", field="batch")
        return batch
    if source is LabelSource.llm and (llm is None or not llm.model.strip()):
        raise InputError("an LLM run needs the model that labelled it", field="model")
    return None


def import_labels(
    store: Path,
    path: Path,
    *,
    session: Session,
    source: LabelSource | str,
    task_type_key: str,
    batch_id: int | None = None,
    name: str | None = None,
    llm: LlmRunSpec | None = None,
    force: bool = False,
    display_name: str | None = None,
    adapter: Adapter | str | None = None,
    field: str | None = None,
    digest: str | None = None,
    progress: Progress | None = None,
) -> LabelSet:
    """Validate a label file and add it to the store (all or nothing; see the module).

    With ``adapter`` the file is an annotation tool's export whose ``field`` holds the labels;
    it is converted to the long format first (re-imports are still detected on the export).
    ``progress`` is called with the share done (0 to 1), from another thread, as DuckDB reports it.
    """
    if adapter is not None:
        with tempfile.TemporaryDirectory(prefix="procure-export-") as scratch:
            converted = Path(scratch) / f"{Path(display_name or path.name).stem}.parquet"
            convert(path, adapter, field or "", converted, display_name or path.name)
            return import_labels(
                store,
                converted,
                source=source,
                task_type_key=task_type_key,
                batch_id=batch_id,
                name=name,
                llm=llm,
                force=force,
                display_name=display_name or path.name,
                digest=file_sha256(path),
                progress=progress,
                session=session,
            )
    sweep(store, session=session)  # first, what interrupted imports left behind
    source = LabelSource(source)
    shown = display_name or path.name
    task_type = get_task_type(task_type_key, session=session)
    batch = _check_target(source, batch_id, llm, session=session)
    if batch is not None and batch.task_type_id != task_type.id:
        raise InputError(
            f"batch {batch.ref} is not a batch of task type {task_type_key!r}", field="batch"
        )
    labels = list(task_type.labels)
    store.mkdir(parents=True, exist_ok=True)
    relative = Path(source.value) / f"{uuid.uuid4().hex}.parquet"
    staged = store / f"{TEMPORARY_PREFIX}{uuid.uuid4().hex}.parquet"
    deduplicated = store / f"{TEMPORARY_PREFIX}{uuid.uuid4().hex}.parquet"
    try:
        # The file's sha256 is read in a second thread while DuckDB parses it (both release the
        # GIL); a repeated import is refused once both are done, before anything is visible.
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="procure-sha256") as hasher,
            duckdb.connect(config={"memory_limit": IMPORT_MEMORY}) as con,
            _watched(con, progress) as watch,
        ):
            given = digest
            hashed = hasher.submit(lambda: given or file_sha256(path))
            relation = typed_relation(con, path, display_name=shown)
            if watch is not None:
                watch.span(0.0, 0.9)  # parsing, converting and checking: nearly all the work
            ready = _stage(con, relation, labels, task_type.label_kind, staged, deduplicated)
            if watch is not None:
                watch.span(0.9, 1.0)
            tokens = _token_totals(con, relation.columns, ready.path)
            digest = hashed.result()
        earlier = session.exec(select(LabelSet).where(LabelSet.sha256 == digest)).first()
        if earlier is not None and not force:
            raise AlreadyImportedError(
                f"this file was already imported as label set {earlier.id} ({earlier.name!r}, "
                f"{earlier.created_at:%Y-%m-%d %H:%M} UTC); import it again with --force",
                source=shown,
            )
    except BaseException:
        staged.unlink(missing_ok=True)
        deduplicated.unlink(missing_ok=True)
        raise
    if ready.path != staged:
        staged.unlink(missing_ok=True)
    final = store / relative
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(ready.path, final)  # atomic on one file system
    label_set = LabelSet(
        source=source,
        task_type_id=task_type.id or 0,
        batch_id=batch_id,
        name=name or _default_name(source, batch, llm, shown),
        path=relative.as_posix(),
        sha256=digest,
        filename=shown,
        rows=ready.rows,
        items=ready.items,
        annotators=ready.annotators,
    )
    session.add(label_set)
    session.flush()
    if source is LabelSource.llm and llm is not None:
        session.add(
            LlmRun(
                label_set_id=label_set.id or 0,
                model=llm.model.strip(),
                provider=llm.provider,
                prompt_version=llm.prompt_version,
                currency=check_currency(llm.currency),
                input_tokens=tokens.input_tokens,
                output_tokens=tokens.output_tokens,
                cost=tokens.cost,
            )
        )
    record_event(
        "import", "label_set", label_set.id, f"{shown}: {ready.rows} labels", session=session
    )
    return label_set


Progress = Callable[[float], None]


class _Watch:
    """Reports an import's progress (0 to 1) from a watcher thread that reads DuckDB's own
    progress of the running query, placed within the span of the current stage."""

    def __init__(self, con: duckdb.DuckDBPyConnection, report: Progress) -> None:
        self.con, self.report = con, report
        self.start, self.end, self.shown = 0.0, 1.0, 0.0
        self.done = threading.Event()
        self.thread = threading.Thread(
            target=self._watch, name="procure-import-progress", daemon=True
        )

    def span(self, start: float, end: float) -> None:
        self.start, self.end = start, end

    def _watch(self) -> None:
        while not self.done.wait(0.2):
            percent = self.con.query_progress()
            if percent >= 0:
                value = self.start + (self.end - self.start) * min(percent, 100.0) / 100
                if value > self.shown:
                    self.shown = value
                    self.report(value)


@contextmanager
def _watched(con: duckdb.DuckDBPyConnection, report: Progress | None) -> Iterator[_Watch | None]:
    if report is None:
        yield None
        return
    con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
    watch = _Watch(con, report)
    watch.thread.start()
    try:
        yield watch
    finally:
        watch.done.set()
        watch.thread.join()


def _default_name(
    source: LabelSource, batch: Batch | None, llm: LlmRunSpec | None, filename: str
) -> str:
    if batch is not None:
        return f"batch {batch.ref}"
    if llm is not None:
        return f"{llm.model} {llm.prompt_version}".strip()
    return Path(filename).stem


@dataclass(frozen=True)
class Staged:
    path: Path
    rows: int
    items: int
    annotators: int


def _stage(
    con: duckdb.DuckDBPyConnection,
    relation: TypedRelation,
    labels: list[str],
    kind: LabelKind,
    staged: Path,
    deduplicated: Path,
) -> Staged:
    """Parse the file once into ``staged``, check it, and return the file to keep: ``staged``, or
    ``deduplicated`` when an annotator repeated a label. Raises on the first problem found."""
    params = {"labels": labels, **relation.params}
    numbers = [c for c in relation.columns if c in NUMERIC_COLUMNS]
    if numbers:  # checked on the file itself: DuckDB pushes the conversions into the reader
        open_label_file(con, relation.source.path, display_name=relation.source.name)
    try:
        written = con.execute(
            STAGE.format(
                columns=_stored_columns(relation.columns),
                relation=relation.sql,
                target=_quoted(staged),
            ),
            params,
        ).fetchone()
    except duckdb.Error as exc:
        raise read_error(exc, relation.source) from None
    assert written is not None
    rows, statistics = int(written[1]), written[4]

    def empty(column: str) -> int:
        return int(statistics[f'"{column}"']["null_count"])

    if rows == 0:
        raise InputError(
            "no label rows after the header; expected one row per judgement",
            source=relation.source.name,
        )
    closed = bool(labels)
    numeric = kind is LabelKind.rating
    not_numbers_sql = NOT_NUMBERS if numeric else "0"  # only ratings read the labels here
    names: list[str] = (
        con.execute(ANNOTATOR_NAMES.format(staged=_quoted(staged))).fetchone() or [[]]
    )[0]
    exact = len(names) > FAST_ANNOTATORS
    conflicts = 0
    if not exact:
        items, repeats, not_numbers = con.execute(
            ITEM_CHECK.format(
                staged=_quoted(staged), annotators=len(names), not_numbers=not_numbers_sql
            ),
            {"names": names},
        ).fetchone() or (0, 0, 0)
        exact = bool(repeats)
    if exact:
        repeats, conflicts, not_numbers, items = con.execute(
            CHECK.format(
                key="label_code" if closed else "label",
                staged=_quoted(staged),
                not_numbers=not_numbers_sql,
            )
        ).fetchone() or (0, 0, 0, 0)
    outside = closed and empty("label_code") > empty("label")
    if conflicts or empty("item_id") or empty("label") or outside or not_numbers or numbers:
        # The exact checks, with row numbers, on the staged copy (same rows, same order); numeric
        # side columns were converted while staging, so those are checked on the file itself.
        staged_file = open_label_file(
            con,
            staged,
            label_set=labels if closed else None,
            numeric=numeric,
            located_as=relation.source,
        )
        conflict_check(con, staged_file)
        if numbers:
            open_label_file(con, relation.source.path, display_name=relation.source.name)
    if not repeats:
        return Staged(staged, rows, int(items), len(names))
    deduplicated_rows = con.execute(
        DEDUPE.format(staged=_quoted(staged), target=_quoted(deduplicated))
    ).fetchone()
    assert deduplicated_rows is not None
    return Staged(deduplicated, int(deduplicated_rows[1]), int(items), len(names))


def _quoted(path: Path) -> str:
    """A path inside a SQL string literal (COPY targets cannot be parameters)."""
    return str(path).replace("'", "''")


def _stored_columns(columns: tuple[str, ...]) -> str:
    optional = [c for c in columns if c not in ("item_id", "annotator_id", "label")]
    return ", ".join(
        [
            "item_id",
            "annotator_id",
            "label",
            "CAST(list_position($labels, label) - 1 AS SMALLINT) AS label_code",
            *(
                f"CAST({c} AS {NUMERIC_COLUMNS[c]}) AS {c}" if c in NUMERIC_COLUMNS else c
                for c in optional
            ),
        ]
    )


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: Decimal | None = None


def _token_totals(con: duckdb.DuckDBPyConnection, columns: tuple[str, ...], written: Path) -> Usage:
    """Summed token usage and cost of an LLM run, from its columns when the file had them."""
    present = [c for c in ("input_tokens", "output_tokens", "cost") if c in columns]
    if not present:
        return Usage()
    sums = ", ".join(f"sum({c})" for c in present)
    row = con.execute(f"SELECT {sums} FROM read_parquet($path)", {"path": str(written)}).fetchone()
    found = dict(zip(present, row or (), strict=False))
    cost = found.get("cost")
    return Usage(
        input_tokens=None if found.get("input_tokens") is None else int(found["input_tokens"]),
        output_tokens=None if found.get("output_tokens") is None else int(found["output_tokens"]),
        cost=None if cost is None else Decimal(str(cost)),
    )


def label_sets(*, session: Session, source: LabelSource | None = None) -> list[LabelSet]:
    query = select(LabelSet).order_by(col(LabelSet.created_at))
    if source is not None:
        query = query.where(LabelSet.source == source)
    return list(session.exec(query))


def sweep(store: Path, *, session: Session, now: float | None = None) -> list[Path]:
    """Remove what interrupted imports left: temporary files, and Parquet files that no record
    points to and that are older than an hour (a younger one may be an import in progress)."""
    if not store.exists():
        return []
    now = time.time() if now is None else now
    known = set(session.exec(select(LabelSet.path)))
    removed = []
    for path in store.rglob("*.parquet"):
        relative = path.relative_to(store).as_posix()
        old = now - path.stat().st_mtime > ORPHAN_AGE_SECONDS
        if (path.name.startswith(TEMPORARY_PREFIX) or relative not in known) and old:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def parquet_columns(con: duckdb.DuckDBPyConnection, path: str) -> set[str]:
    """The column names of a stored label file (optional columns vary by file)."""
    return {
        row[0]
        for row in con.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": path}).fetchall()
    }
