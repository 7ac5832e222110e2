"""Typed results: frozen dataclasses that pages read by attribute and the CLI writes as JSON with
``to_json``, the one serialisation (``--json`` output is a stable interface).

A field made with ``optional()`` is left out of the JSON while it is ``None``, for keys that the
interface has only when they apply (``against`` only with ``--against``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

_OMITTED_WHEN_NONE = "omitted_when_none"
CENT = Decimal("0.01")


def decimal_text(amount: Decimal) -> str:
    """An exact decimal string without exponent: JSON carries every digit, display rounds.

    >>> decimal_text(Decimal("3E-4")), decimal_text(Decimal("2.50000")), decimal_text(Decimal("1.25E+3"))
    ('0.0003', '2.5', '1250')
    """
    return format(amount.normalize(), "f")


def optional() -> Any:
    """A field that defaults to ``None`` and is left out of the JSON while it is ``None``."""
    return dataclasses.field(default=None, metadata={_OMITTED_WHEN_NONE: True})


def to_json(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses as objects, tuples as lists, Decimals as exact
    decimal strings without exponent (``3E-4`` is ``0.0003``: JSON carries every digit, display
    rounds), dates and times as ``str`` writes them, enumerations as their values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_json(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not (f.metadata.get(_OMITTED_WHEN_NONE) and getattr(value, f.name) is None)
        }
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, date | datetime):
        return str(value)  # as the CLI has always written them: 2026-11-19, 2026-11-19 10:00:00
    return value


def csv_value(value: Any) -> str:
    """A cell as finance reads it: amounts as exact decimals with at least cents (1400.00, not
    $1,400.00), dates in ISO form, blanks for nothing, lists joined by '; '."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        cents = value.quantize(CENT)
        return format(cents, "f") if cents == value else decimal_text(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(csv_value(v) for v in value)
    return str(value)


def columns_of(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every column of ``rows`` in order of first appearance (rows may lack some columns)."""
    return list(dict.fromkeys(column for row in rows for column in row))


def csv_bytes(rows: Sequence[Mapping[str, Any]]) -> bytes:
    """Rows as CSV (UTF-8), one column per key in order of first appearance; a text cell that a
    spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab or carriage return
    first, and not a plain number such as ``-1``) is written with a leading ``'`` so that it
    stays text (OWASP, "CSV Injection")."""
    buffer = io.StringIO()
    columns = columns_of(rows)
    # RFC 4180 line ends: the writer then quotes a cell holding a lone CR as well as an LF.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_inert(row.get(column)) for column in columns])
    return buffer.getvalue().encode()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _inert(value: Any) -> str:
    text = csv_value(value)
    runs = text.startswith(FORMULA_START) and not NUMBER.fullmatch(text)  # -1 is a number
    return "'" + text if isinstance(value, str) and runs else text
