"""The demo workspace (``workspace.yaml`` beside this module, shipped with the package), loaded
through the same path as any document."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from procure.documents import parse_text
from procure.records.models import ImportedFile
from procure.records.transfer import ImportSummary, apply_document, validate_document
from procure.records.workspace import claim_import

SAMPLE_KIND = "sample"


SAMPLE_FILE = "workspace.yaml"  # package data; sample_data/ keeps the same file to read


def _shift_dates(data: Any, by: timedelta) -> Any:
    if isinstance(data, date):
        return data + by
    if isinstance(data, dict):
        return {key: _shift_dates(value, by) for key, value in data.items()}
    if isinstance(data, list):
        return [_shift_dates(value, by) for value in data]
    return data


def sample_shift(written_as_of: date, today: date) -> timedelta:
    """Whole weeks that move the sample's ``written_as_of`` to the latest same weekday on or
    before ``today``: its weekdays stay, and nothing it records (a delivery two days before
    its as-of date) lands after ``today``, whatever day of the week ``today`` is.

    >>> sample_shift(date(2026, 11, 19), date(2026, 11, 26))  # Thursday -> the next Thursday
    datetime.timedelta(days=7)
    >>> sample_shift(date(2026, 11, 19), date(2026, 12, 7))  # a Monday -> the Thursday before
    datetime.timedelta(days=14)
    """
    return timedelta(weeks=(today - written_as_of).days // 7)


def is_sample_loaded(*, session: Session) -> bool:
    return (
        session.exec(select(ImportedFile.id).where(ImportedFile.kind == SAMPLE_KIND)).first()
        is not None
    )


def load_sample(
    today: date, store: Path | None = None, *, session: Session
) -> ImportSummary | None:
    """Load the sample with its dates moved to ``today``'s week and, given the label ``store``,
    its label files; ``None`` if already loaded."""
    if is_sample_loaded(session=session):
        return None
    content = resources.files(__package__).joinpath(SAMPLE_FILE).read_bytes()
    data, _ = parse_text(content.decode("utf-8"), SAMPLE_FILE, "yaml")
    written_as_of = data.pop("sample_as_of")
    prices = data.pop("llm_prices", [])  # the dates they were read are facts; never shifted
    shifted = _shift_dates(data, sample_shift(written_as_of, today)) | {"llm_prices": prices}
    document, _ = validate_document(shifted, SAMPLE_FILE)
    claim_import(content, SAMPLE_KIND, SAMPLE_FILE, force=False, session=session)
    summary = apply_document(document, SAMPLE_FILE, session=session)
    if store is not None:
        from procure.sample.labels import load_sample_labels

        summary.created["label sets"] = load_sample_labels(store, session=session)
    return summary
