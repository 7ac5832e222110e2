"""The label store: immutable Parquet files of labels under the workspace, one per vendor batch,
LLM run or gold set, each referenced by a ``LabelSet`` record with its path and sha256.

An import validates the file, writes Parquet to a temporary name, renames it into place and
only then adds the record, which the caller's transaction commits last. A reader only ever finds
files through records, so an interrupted import leaves nothing visible; ``sweep`` removes the
leftovers (temporary files, and files no record points to) when the next import starts.

Stored columns: item_id, annotator_id, label, label_code (the label's position in the task
type's label order, so statistics can aggregate small integers) and the optional columns the
file had (confidence, duration_s, labeled_at, text, rationale, input_tokens, output_tokens,
cost). An annotator's repeated identical label is stored once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

import procure.labels.pairs as pairs
from procure import workfiles
from procure.errors import AlreadyImportedError, InputError, NotFoundError
from procure.kinds import Adapter, LabelKind, LabelSource
from procure.labels.adapters import convert
from procure.labels.files import typed_relation
from procure.labels.readers import check_gzip_complete
from procure.labels.staging import (
    IMPORT_MEMORY,
    Progress,
    Usage,
    content_key,
    stage,
    token_totals,
    watched,
)
from procure.money import check_currency
from procure.records.catalog import get_task_type
from procure.records.models import Batch, LabelSet, LlmRun
from procure.records.workspace import RETIRE, record_event, withdraw
from procure.workfiles import PRIVATE_FILE, TEMPORARY_PREFIX, WriteLock, make_private_folder

ORPHAN_AGE_SECONDS = 3600  # a file without a record this old is an interrupted import's


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
        if batch.voided_at is not None:
            raise InputError(f"batch {batch.ref!r} is voided; its labels would count nowhere")
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
    make_private_folder(store)
    relative = Path(source.value) / f"{uuid.uuid4().hex}.parquet"
    with WriteLock(store) as lock:  # its temporary files are removed however it ends
        staged, deduplicated = (
            lock.temporary("staged.parquet"),
            lock.temporary("deduplicated.parquet"),
        )
        # The file's sha256 is read in a second thread while DuckDB parses it (both release the
        # GIL); a repeated import is refused once both are done, before anything is visible.
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="procure-sha256") as hasher,
            duckdb.connect(config={"memory_limit": IMPORT_MEMORY}) as con,
            watched(con, progress) as watch,
        ):
            given = digest
            preference = task_type.label_kind is LabelKind.preference
            relation = typed_relation(
                con,
                path,
                display_name=shown,
                preference=preference,
                orders_apart=preference and source is LabelSource.llm,
            )

            def read_through() -> str:  # the whole file, once for its hash, once if gzip
                check_gzip_complete(relation.source)
                return given or file_sha256(path)

            hashed = hasher.submit(read_through)
            if watch is not None:
                watch.span(0.0, 0.9)  # parsing, converting and checking: nearly all the work
            ready = stage(con, relation, labels, task_type.label_kind, staged, deduplicated)
            if preference and "shown_first" in relation.columns:
                pairs.check_values(
                    con,
                    "SELECT row_number() OVER () - 1 AS rowid, * FROM read_parquet($rows)",
                    relation.source,
                    ("shown_first",),
                    {"rows": str(staged)},
                )
            if watch is not None:
                watch.span(0.9, 1.0)
            tokens = token_totals(con, relation.columns, ready.path)
            key = content_key(con, ready.path)
            digest = hashed.result()
        same_content = session.exec(
            select(LabelSet)
            .where(LabelSet.content_key == key)
            .order_by(col(LabelSet.repeat).desc())
        ).first()
        earlier = (
            same_content
            or session.exec(
                select(LabelSet).where(LabelSet.sha256 == digest)  # imported before content keys
            ).first()
        )
        if earlier is not None and not force:
            raise _already(earlier, shown)
        label_set = LabelSet(
            source=source,
            task_type_id=task_type.id or 0,
            batch_id=batch_id,
            name=name or _default_name(source, batch, llm, shown),
            path=relative.as_posix(),
            sha256=digest,
            content_key=key,
            repeat=0 if same_content is None else same_content.repeat + 1,
            filename=shown,
            rows=ready.rows,
            items=ready.items,
            annotators=ready.annotators,
        )
        # The records are written (and checked against their columns) first, the file moved into
        # place last: a refused record leaves no file behind.
        try:
            with session.begin_nested():  # the database keeps one set per content (and repeat)
                session.add(label_set)
                session.flush()
                if source is LabelSource.llm and llm is not None:
                    session.add(_llm_run(label_set, llm, tokens))
                detail = f"{shown}: {ready.rows} labels"
                record_event("import", "label_set", label_set.id, detail, session=session)
        except IntegrityError:
            raced = session.exec(select(LabelSet).where(LabelSet.content_key == key)).first()
            if raced is None:
                raise
            raise _already(raced, shown) from None
        final = store / relative
        make_private_folder(final.parent)
        ready.path.chmod(PRIVATE_FILE)  # the label store is its owner's alone, as the records
        os.replace(ready.path, final)  # atomic on one file system
        return label_set


def _llm_run(label_set: LabelSet, llm: LlmRunSpec, tokens: Usage) -> LlmRun:
    return LlmRun(
        label_set_id=label_set.id or 0,
        model=llm.model.strip(),
        provider=llm.provider,
        prompt_version=llm.prompt_version,
        currency=check_currency(llm.currency),
        input_tokens=tokens.input_tokens,
        output_tokens=tokens.output_tokens,
        cost=tokens.cost,
    )


def _already(earlier: LabelSet, shown: str) -> AlreadyImportedError:
    return AlreadyImportedError(
        f"these labels were already imported as label set {earlier.id} ({earlier.name!r}, "
        f"{earlier.created_at:%Y-%m-%d %H:%M} UTC; the same judgements, whatever the row order "
        "or format); import them again with --force",
        source=shown,
    )


def _default_name(
    source: LabelSource, batch: Batch | None, llm: LlmRunSpec | None, filename: str
) -> str:
    if batch is not None:
        return f"batch {batch.ref}"
    if llm is not None:
        return f"{llm.model} {llm.prompt_version}".strip()
    return Path(filename).stem


def label_sets(
    *, session: Session, source: LabelSource | None = None, with_retired: bool = False
) -> list[LabelSet]:
    query = select(LabelSet).order_by(col(LabelSet.created_at))
    if source is not None:
        query = query.where(LabelSet.source == source)
    if not with_retired:
        query = query.where(col(LabelSet.retired_at).is_(None))
    return list(session.exec(query))


def retire_label_set(label_set_id: int, *, reason: str, session: Session) -> LabelSet:
    """Take a label set out of every figure (attached to the wrong batch, a stray LLM run); its
    file and record stay, so the history and the data fingerprint still name it."""
    label_set = session.get(LabelSet, label_set_id)
    if label_set is None:
        raise NotFoundError(f"no label set with id {label_set_id}")
    what = f"label set {label_set.id} ({label_set.name!r})"
    kept = withdraw(label_set, reason, what=what, noun="a label set", how=RETIRE)
    session.add(label_set)
    record_event("retire", "label_set", label_set.id, kept, session=session)
    return label_set


def sweep(store: Path, *, session: Session, now: float | None = None) -> list[Path]:
    """Remove what interrupted imports left: their temporary files once their writer is gone
    (``workfiles.sweep``), and Parquet files that no record points to, once they are an hour old
    (an import moves its file into place just before its transaction commits)."""
    removed = workfiles.sweep(store, now=now)
    if not store.exists():
        return removed
    now = time.time() if now is None else now
    known = set(session.exec(select(LabelSet.path)))
    for path in store.rglob("*.parquet"):
        relative = path.relative_to(store).as_posix()
        if path.name.startswith(TEMPORARY_PREFIX) or relative in known:
            continue
        if now - path.stat().st_mtime > ORPHAN_AGE_SECONDS:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def parquet_columns(con: duckdb.DuckDBPyConnection, path: str) -> set[str]:
    """The column names of a stored label file (optional columns vary by file)."""
    return {
        row[0]
        for row in con.execute("DESCRIBE SELECT * FROM read_parquet($p)", {"p": path}).fetchall()
    }
