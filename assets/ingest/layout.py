"""Find the table inside a sheet: title block, header row(s), data rows, signature lines.

Offices put a title block above the header ("UBND TỈNH ...", "Kỳ báo cáo: 6 tháng đầu năm
2026"), sometimes a header over two merged rows, a row of column numbers, blank and total rows,
and signature lines below. This module turns that into a header map and the rows that hold units.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from geo.text import fold
from schemas.catalogue import Catalogue

from .headers import Vocabulary, read_parts, vocabulary
from .readers import Sheet
from .titles import parse_period  # noqa: F401  (moved to titles.py; kept importable here)

HEADER_SCAN_ROWS = 40
UNIT_COLUMNS = ("unit_code", "unit_name")
# Folded starts of rows that end the table or are not units.
SIGNATURE_STARTS = (
    "nguoi lap bieu",
    "nguoi lap",
    "tm uy ban",
    "tm ubnd",
    "thu truong",
    "ke toan",
    "chu tich",
    "giam doc",
    "xac nhan",
    "ngay thang nam",
    "kt chu tich",
    "noi nhan",
)
TOTAL_STARTS = ("tong cong", "cong", "tong so", "tong", "toan tinh", "toan thanh pho", "total")
_TOTAL = re.compile(r"^(" + "|".join(TOTAL_STARTS) + r")\b")
_COLUMN_NUMBER = re.compile(r"^\(?[0-9a-z]{1,3}\)?$")


@dataclass
class TableLayout:
    header_rows: tuple[int, ...]  # 0-based indices of the header row(s)
    columns: dict[int, str]  # 0-based column index → column id (unit_code, officials, ...)
    first_data_row: int

    @property
    def shape(self) -> str:
        return "long" if "indicator" in self.columns.values() else "wide"


def fill_merged(sheet: Sheet) -> list[list[object]]:
    """Copy the value of each merged range into all its cells (header groups span columns)."""
    if not sheet.merged:
        return sheet.rows  # nothing to fill: no copy (most files)
    rows = list(sheet.rows)  # only the rows a range touches are copied before they change
    copied: set[int] = set()
    for (r0, c0), (r1, c1) in sheet.merged:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1 + 1, len(rows))):
            if r not in copied:
                rows[r] = list(rows[r])
                copied.add(r)
            for c in range(c0, min(c1 + 1, len(rows[r]))):
                if rows[r][c] is None:
                    rows[r][c] = value
    return rows


def _match_row(cells: Sequence[object], vocab: Vocabulary) -> dict[int, str]:
    out: dict[int, str] = {}
    seen: set[str] = set()
    for j, cell in enumerate(cells):
        col = vocab.match(cell) if isinstance(cell, str) else None
        if col and col not in seen:
            out[j] = col
            seen.add(col)
    return out


def _is_table_header(columns: dict[int, str], fields: frozenset[str]) -> bool:
    ids = set(columns.values())
    has_unit = bool(ids & set(UNIT_COLUMNS))
    wide = bool(ids & fields)
    long = "indicator" in ids and bool(ids & {"numerator", "denominator", "value"})
    return has_unit and (wide or long)


@cache
def _field_ids(catalogue: Catalogue) -> frozenset[str]:
    return frozenset(catalogue.report_fields())


def find_layout(rows: list[list[object]], catalogue: Catalogue) -> TableLayout | None:
    """The header of the sheet's table, trying one row and then two stacked rows as one header."""
    best: TableLayout | None = None
    fields = _field_ids(catalogue)
    for i in range(min(HEADER_SCAN_ROWS, len(rows))):
        below = rows[i + 1] if i + 1 < len(rows) else None
        filled = len(rows[i]) - rows[i].count(None)
        if below is not None:
            filled += len(below) - below.count(None)
        if filled < 2:
            continue  # a title line or a blank: a header names at least a unit and a figure
        lower = tuple(below) if below is not None else None
        for offsets, columns in _header_candidates(tuple(rows[i]), lower, catalogue):
            if not _is_table_header(columns, fields):
                continue
            header_rows = tuple(i + k for k in offsets)
            layout = TableLayout(header_rows, dict(columns), header_rows[-1] + 1)
            if best is None or len(columns) > len(best.columns):
                best = layout
        if best is not None:
            break
    if best is not None:  # part-only headers ("Tỷ lệ (%)") read as their indicator's: headers.py
        best.columns = read_parts(best.columns, [rows[r] for r in best.header_rows], catalogue)
    return best


@lru_cache(maxsize=4096)
def _header_candidates(
    upper: tuple[object, ...], lower: tuple[object, ...] | None, catalogue: Catalogue
) -> tuple[tuple[tuple[int, ...], dict[int, str]], ...]:
    """Header readings of a row (offset 0) and of it stacked on the next (offsets 0, 1).

    Memoised: a province's template sends the same header rows back in every commune's file."""
    vocab = vocabulary(catalogue)
    single = _match_row(upper, vocab)
    candidates = [((0,), single)]
    if lower is not None and not any(_is_code(c) for c in lower):
        width = max(len(upper), len(lower))
        stacked = [_join(_cell(upper, j), _cell(lower, j)) for j in range(width)]
        below = _match_row(lower, vocab)
        both = {**_match_row(stacked, vocab), **below}
        # A two-row header: the lower row names what the merged upper row groups. It must
        # find more columns than either row alone, else the upper row is a title line; or
        # the lower row names more columns than the upper one, which then only heads the
        # columns merged down across both rows (STT, code, name) and is no table of its own.
        if len(both) > max(len(single), len(below)) or len(below) > len(single) > 0:
            candidates.append(((0, 1), both))
    return tuple(candidates)


def _cell(row: Sequence[object], j: int) -> object:
    return row[j] if j < len(row) else None


def _join(upper: object, lower: object) -> str | None:
    parts = [str(p) for p in (upper, lower) if p is not None and str(p).strip()]
    if len(parts) == 2 and parts[0] == parts[1]:
        parts = parts[:1]
    return " ".join(parts) or None


def row_kind(cells: list[object], layout: TableLayout) -> str:
    """'unit', 'blank', 'total', 'signature' or 'numbering' (a row of column numbers)."""
    values = [c for c in cells if c is not None and str(c).strip()]
    if not values:
        return "blank"
    first_text = fold(" ".join(str(v) for v in values[:2]))
    if any(first_text.startswith(s) for s in SIGNATURE_STARTS):
        return "signature"
    unit_cells = [_cell(cells, j) for j, c in layout.columns.items() if c in UNIT_COLUMNS]
    unit_text = fold(" ".join(str(c) for c in unit_cells if c is not None))
    if unit_text and _TOTAL.match(unit_text) and not any(_is_code(c) for c in unit_cells):
        return "total"
    if all(_COLUMN_NUMBER.match(fold(str(v))) for v in values) and len(values) > 2:
        return "numbering"
    return "unit"


def _is_code(cell: object) -> bool:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return True
    return bool(cell) and str(cell).strip().isdigit()


def title_block(rows: list[list[object]], layout: TableLayout) -> list[str]:
    """The text of the rows above the header: where offices write the province and the period."""
    return [
        str(c)
        for row in rows[: layout.header_rows[0]]
        for c in row
        if c is not None and str(c).strip()
    ]
