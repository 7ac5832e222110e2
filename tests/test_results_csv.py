"""CSV exports: cells a spreadsheet would run as formulas stay text; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from procure.results import csv_bytes


def test_formula_cells_are_inert_and_numbers_are_not_touched() -> None:
    texts = ["=1+2", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\r=1", "-1", "+1.5", "-2e3", "ok"]
    rows = [{"item": text, "amount": Decimal("-1.5")} for text in texts]
    read = list(csv.DictReader(io.StringIO(csv_bytes(rows).decode(), newline="")))
    assert [row["item"] for row in read] == [
        "'=1+2",
        "'+cmd",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "'\r=1",
        "-1",
        "+1.5",
        "-2e3",
        "ok",
    ]
    assert {row["amount"] for row in read} == {"-1.50"}  # amounts are never prefixed
