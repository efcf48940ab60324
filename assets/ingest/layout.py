"""Find the tables inside a sheet: title block, header band, data rows, signature lines.

Offices put a title block above the header ("UBND TỈNH ...", "Kỳ báo cáo: 6 tháng đầu năm
2026"), sometimes a header band over several merged rows whose groups carry periods ("Cùng kỳ
năm 2025" beside "6 tháng đầu năm 2026"), a row of column numbers, blank and total rows, and
signature lines below; several tables stacked in a sheet; a table turned (indicators as rows,
units as columns); a commune's own form (the unit in its heading); a row per figure under each
unit. This module turns each into a header map and the rows that hold units, and lists the
columns it leaves unread with why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache

from openpyxl.utils import get_column_letter

from geo.text import fold
from schemas.catalogue import Catalogue

from .headers import Vocabulary, indicator_names, normalise_header, read_parts, vocabulary
from .readers import Sheet
from .titles import parse_period, title_period

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
_NOT_FIGURES = frozenset({*UNIT_COLUMNS, "province", "period", "indicator"})
_COLUMN_NUMBER = re.compile(r"^\(?[0-9a-z]{1,3}\)?$")


@dataclass
class TableLayout:
    header_rows: tuple[int, ...]  # 0-based indices of the header row(s)
    columns: dict[int, str]  # 0-based column index → column id (unit_code, officials, ...)
    first_data_row: int
    # Headed columns not read: (0-based column, why: its group heading or its own header)
    unread: tuple[tuple[int, str], ...] = ()
    period: str | None = None  # the period of the column group read, when its heading states one
    end: int | None = None  # the row where the table ends (another table's lines begin)
    top: int = 0  # the first of the table's own title lines
    heading: int = 0  # rows of the sheet's heading above the first table, a later table's too

    @property
    def figures(self) -> bool:
        """Whether the table reads any figure (a period band may leave none of the period's)."""
        return any(c not in _NOT_FIGURES for c in self.columns.values())

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
    """The header of the sheet's table, trying one row and then two stacked rows as one header,
    at the first row where one is found and the next (group headings over subgroups over the
    fields: the last two are the header, the band above is read by read_band)."""
    found = _header_from(rows, 0, HEADER_SCAN_ROWS, catalogue)
    return read_band(rows, found, catalogue) if found is not None else None


def _header_from(
    rows: list[list[object]], start: int, stop: int, catalogue: Catalogue
) -> TableLayout | None:
    """The fullest header found from row `start` (before `stop`), its band not read yet."""
    best: TableLayout | None = None
    fields = _field_ids(catalogue)
    for i in range(start, min(stop, len(rows))):
        if best is not None and i > best.header_rows[0] + 1:
            break  # the row after a header's first is tried too: a band of three rows
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
    if best is not None:  # part-only headers ("Tỷ lệ (%)") read as their indicator's: headers.py
        best.columns = read_parts(best.columns, [rows[r] for r in best.header_rows], catalogue)
    return best


def stacked_tables(
    rows: list[list[object]], first: TableLayout, catalogue: Catalogue
) -> list[TableLayout]:
    """The sheet's first table and those stacked below it, each read with its own header.

    Offices put a second table under the first ("Biểu 2", after a blank or a title line, or
    right under its last row): a header is looked for only on the row after such a gap or on
    a row naming a unit column again where the first table has its unit, so a sheet of one
    table costs a count of filled cells and a memoised match or two per row. Each table ends where the next one's band begins; a later
    table's title lines are its own, then the sheet's heading."""
    tables = [first]
    vocab = vocabulary(catalogue)
    units = [j for j, c in first.columns.items() if c in UNIT_COLUMNS]
    i = first.first_data_row + 1
    while i < len(rows):
        gap = len(rows[i - 1]) - rows[i - 1].count(None) <= 1
        # or no gap, but a unit column's heading again ("Mã xã" where codes were): memoised
        # matches of texts every file of a province repeats
        again = (
            not gap
            and not any(isinstance(c, int | float) for c in rows[i])  # a data row has figures
            and any(vocab.match(_cell(rows[i], j)) in UNIT_COLUMNS for j in units)
        )
        if not (gap or again) or len(rows[i]) - rows[i].count(None) < 2:
            i += 1
            continue
        found = _header_from(rows, i, i + 2, catalogue)
        if found is None:
            i += 1
            continue
        start = _first_title_row(rows, tables[-1].first_data_row, _band_rows(rows, found)[0])
        tables[-1] = replace(tables[-1], end=start)
        found = replace(found, top=start, heading=first.header_rows[0])
        tables.append(read_band(rows, found, catalogue))
        i = found.first_data_row + 1
    return tables


def _first_title_row(rows: list[list[object]], lo: int, header: int) -> int:
    """Where a stacked table's own lines begin: after the previous table's last filled row of
    two or more cells (its units, totals), above the header."""
    j = header
    while j > lo and len(rows[j - 1]) - rows[j - 1].count(None) <= 1:
        j -= 1
    return j


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
    """The text of the rows above the header: where offices write the province and the period.
    A table stacked under another has its own lines first, then the sheet's heading."""
    own = rows[layout.top : layout.header_rows[0]]
    return [
        str(c)
        for row in (*own, *rows[: layout.heading])
        for c in row
        if c is not None and str(c).strip()
    ]


# A column group heading that is not the period's own result ("So sánh (%)", "Cùng kỳ năm 2025",
# "Kế hoạch năm 2026", "Ước thực hiện"), by folded words; the first that matches names it.
_GROUP_KINDS = (
    (re.compile(r"\b(so sanh|so voi|tang giam|tang \(giam\)|chenh lech)\b"), "comparison"),
    (re.compile(r"\b(cung ky|ky truoc|nam truoc)\b"), "previous"),
    (re.compile(r"\b(ke hoach|chi tieu giao|phuong huong|du kien|muc tieu)\b"), "plan"),
    (re.compile(r"\buoc\b"), "estimate"),
)
# "6 tháng" alone is the first half: the second is always "6 tháng cuối"
_GROUP_HALF = re.compile(r"\b6 thang(?: (dau|cuoi))?(?: nam)?(?: (20\d\d))?\b")
_GROUP_YEAR = re.compile(r"\b(20\d\d)\b")
_ORDINAL = frozenset({"stt", "tt", "so tt", "so thu tu"})
BAND_ROWS_ABOVE = 3


def group_heading(text: str, year: str | None) -> tuple[str | None, str | None]:
    """(kind, period) of a column group heading: kind is comparison, previous, plan, estimate or
    None (the period's own result); the period is the one the heading states, a half without its
    year ("Ước thực hiện 6 tháng") taking the title's year, a bare year being its H2 (the lake's
    yearly period)."""
    folded = fold(text)
    kind = next((k for pattern, k in _GROUP_KINDS if pattern.search(folded)), None)
    period = parse_period(text)
    if period is None and (m := _GROUP_HALF.search(folded)) and (m.group(2) or year):
        period = f"{m.group(2) or year}-{'H2' if m.group(1) == 'cuoi' else 'H1'}"
    if period is None and (m := _GROUP_YEAR.search(folded)):
        period = f"{m.group(1)}-H2"
    return kind, period


def read_band(rows: list[list[object]], layout: TableLayout, catalogue: Catalogue) -> TableLayout:
    """The columns a header band reads, and those it leaves unread with why.

    Offices compare periods side by side: the same columns under "Cùng kỳ năm 2025" and again
    under "6 tháng đầu năm 2026", then "So sánh (%)". Only the group of the period reported is
    read (the title's period, else the latest group that states one): the other groups are
    listed as unread, never taken for the current period. The band is the header rows and the
    rows just above them over which the unit columns' headings are merged, and the rows of
    period headings just below them under the same merged unit headings."""
    band = _band_rows(rows, layout)
    field_row = rows[layout.header_rows[-1]]
    width = max(len(rows[r]) for r in band)
    vocab = vocabulary(catalogue)
    titles = title_block(rows, replace(layout, header_rows=(band[0],)))
    stated = title_period(titles)
    year = stated[:4] if stated and stated[:4].isdigit() else None
    groups: dict[int, tuple[str, str | None, str | None]] = {}  # column → (text, kind, period)
    headers: dict[int, str] = {}
    for j in range(width):
        own = _cell(field_row, j)
        texts = list(dict.fromkeys(str(rows[r][j]).strip() for r in band if _cell(rows[r], j)))
        if texts:
            headers[j] = " / ".join(texts)
        above = [t for t in texts if t != str(own).strip() and vocab.match(t) is None]
        for text in above:
            kind, period = group_heading(text, year)
            if kind or period:
                groups[j] = (" / ".join(above), *_joined_group(above, year))
                break
    if not groups:
        columns = layout.columns
        period = None
    else:
        columns, period = _band_columns(layout, groups, stated, rows, catalogue)
    unread = []
    for j, header in headers.items():
        if j in columns or normalise_header(_cell(field_row, j)) in _ORDINAL:
            continue
        unread.append((j, groups[j][0] if j in groups else header))
    return replace(
        layout,
        header_rows=tuple(band),
        first_data_row=band[-1] + 1,
        columns=columns,
        unread=tuple(unread),
        period=period,
    )


def _joined_group(texts: list[str], year: str | None) -> tuple[str | None, str | None]:
    """(kind, period) of a column's group headings taken together: "6 tháng đầu năm 2026" over
    "Kế hoạch" is a plan; over "Thực hiện", the half's result."""
    kinds, periods = zip(*(group_heading(t, year) for t in texts), strict=True)
    kind = next((k for k in kinds if k), None)
    return kind, next((p for p in periods if p), None)


def _band_rows(rows: list[list[object]], layout: TableLayout) -> list[int]:
    """The header rows, and the rows just above them over which every unit column's heading is
    merged (fill_merged copied it): a group band, not a title line."""
    band = list(layout.header_rows)
    units = [j for j, c in layout.columns.items() if c in UNIT_COLUMNS]
    top = rows[band[0]]
    while band[0] > 0 and len(band) < len(layout.header_rows) + BAND_ROWS_ABOVE:
        above = rows[band[0] - 1]
        if not units or any(_cell(above, j) is None or _cell(above, j) != top[j] for j in units):
            break
        band.insert(0, band[0] - 1)
    bottom = rows[band[-1]]
    while band[-1] + 1 < len(rows) and len(band) < BAND_ROWS_ABOVE + 2:
        below = rows[band[-1] + 1]  # periods under the fields ("Tổng số CBCC" over "2025", "2026")
        if not units or any(_cell(below, j) is None or _cell(below, j) != bottom[j] for j in units):
            break
        if not any(isinstance(c, str) and any(group_heading(c, None)) for c in below):
            break
        band.append(band[-1] + 1)
    return band


def _band_columns(
    layout: TableLayout,
    groups: dict[int, tuple[str, str | None, str | None]],
    title_period: str | None,
    rows: list[list[object]],
    catalogue: Catalogue,
) -> tuple[dict[int, str], str | None]:
    """The columns of the reported period's group (and those under no period heading), each
    field read once: the first column that names it in a group that may be read."""
    results = {p for _, kind, p in groups.values() if kind is None and p}
    current = title_period or max(results, default=None)
    # An estimate of the period ("Ước thực hiện 6 tháng") is its figure when nothing else is.
    readable = {(None, current)} | ({("estimate", current)} if current not in results else set())
    vocab = vocabulary(catalogue)
    field_row = rows[layout.header_rows[-1]]
    upper = rows[layout.header_rows[0]] if len(layout.header_rows) > 1 else None
    columns: dict[int, str] = {}
    for j in range(len(field_row)):
        field = vocab.match(_cell(field_row, j))
        if field is None and upper is not None:
            field = vocab.match(_join(_cell(upper, j), _cell(field_row, j)))
        if field is None or field in columns.values():
            continue
        if j in groups and tuple(groups[j][1:]) not in readable:
            continue
        columns[j] = field
    period = current if any(j in groups for j in columns) else None
    return columns, period


def unread_spans(layout: TableLayout) -> list[str]:
    """The unread columns as the office sees them, neighbours with the same reason as one span:
    "D:F (Cùng kỳ năm 2025)", "J (So sánh (%))"."""
    return [
        f"{get_column_letter(a + 1)}{':' + get_column_letter(b + 1) if b > a else ''} ({why})"
        for a, b, why in _spans(layout.unread)
    ]


# Folded headings of a transposed table's corner (over the indicator names, left of the units)
_CORNER = frozenset({"chi tieu", "ten chi tieu", "noi dung", "chi tieu don vi", "don vi chi tieu"})
# Columns beside the indicator names that are no unit: unit of measure, ordinal, notes
_NOT_UNITS = frozenset({"don vi tinh", "dvt", "stt", "tt", "so tt", "ghi chu", "note"})
_UNIT_PREFIX = re.compile(r"^(xa|phuong|dac khu|thi tran|x|p|tt)\b")
_FIGURE = re.compile(r"^\s*-?\d[\d.,\s]*%?\s*$")
TRANSPOSE_MAX = 400  # cells of a side: a transposed table names tens of indicators and units


@dataclass
class Transposed:
    """A table with indicators as rows and units as columns, read as its transpose: `grid[j]`
    is the sheet's column j. `unread` lists the sheet's columns that are no unit."""

    grid: list[list[object]]
    layout: TableLayout
    unread: tuple[tuple[int, str], ...]

    def titles(self, rows: list[list[object]]) -> list[str]:
        """The sheet's lines above the table (above its row of units)."""
        top = min(j for j, c in self.layout.columns.items() if c in UNIT_COLUMNS)
        return title_block(rows, TableLayout((top,), {}, top + 1))


def transposed_table(rows: list[list[object]], catalogue: Catalogue) -> Transposed | None:
    """Indicators as rows, units as columns ("Chỉ tiêu" | "Phường Phú Xuân" | "Phường Vỹ Dạ"),
    found by finding the usual header in the sheet's transpose. Only a sheet with no table
    the usual way is tried, and the units must look like units (a code, "Xã …", "Phường …"):
    a form's "Kết quả thực hiện" column is no unit."""
    width = max(map(len, rows[:TRANSPOSE_MAX]), default=0)
    if width < 2 or width > TRANSPOSE_MAX:
        return None
    grid = [[_cell(row, j) for row in rows[:TRANSPOSE_MAX]] for j in range(width)]
    unread = []
    for j, column in enumerate(grid):  # unit of measure, STT, notes: no unit, not read
        label = next((c for c in column if normalise_header(c) in _NOT_UNITS), None)
        if label is not None:
            unread.append((j, str(label).strip()))
            grid[j] = [None] * len(column)
    layout = find_layout(grid, catalogue)
    if layout is None:  # the corner over the indicator names heads the units
        vocab = vocabulary(catalogue)
        for column in grid[:HEADER_SCAN_ROWS]:
            k = next((k for k, c in enumerate(column) if normalise_header(c) in _CORNER), None)
            if k is not None and sum(1 for c in column if vocab.match(c)) >= 2:
                column[k] = "Tên đơn vị"
                layout = find_layout(grid, catalogue)
                break
    if layout is None or layout.shape != "wide" or not _units_look_like_units(grid, layout):
        return None
    return Transposed(grid, layout, tuple(unread))


def _units_look_like_units(grid: list[list[object]], layout: TableLayout) -> bool:
    units = [j for j, c in layout.columns.items() if c in UNIT_COLUMNS]
    cells = [
        c
        for row in grid[layout.first_data_row :]
        for j in units
        if (c := _cell(row, j)) is not None and str(c).strip()
    ]
    named = sum(1 for c in cells if _is_code(c) or _UNIT_PREFIX.match(fold(str(c))))
    return bool(cells) and named * 2 >= len(cells)


def transposed_unread(turned: Transposed) -> list[str]:
    """A transposed table's unread columns (no unit) and rows (no indicator read), as spans."""
    units = max(j for j, c in turned.layout.columns.items() if c in UNIT_COLUMNS)
    data = turned.grid[turned.layout.first_data_row :]
    below = tuple(  # rows under the units' with a figure: not titles, sections or signatures
        (j, why)
        for j, why in turned.layout.unread
        if j > units and any(_FIGURE.match(str(_cell(r, j))) for r in data)
    )
    rows = [f"{a + 1}{':' + str(b + 1) if b > a else ''} ({why})" for a, b, why in _spans(below)]
    return unread_spans(replace(turned.layout, unread=turned.unread)) + rows


def _spans(unread: tuple[tuple[int, str], ...]) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    for j, why in unread:
        if spans and spans[-1][1] == j - 1 and spans[-1][2] == why:
            spans[-1] = (spans[-1][0], j, why)
        else:
            spans.append((j, j, why))
    return spans


# A form's column of results ("Kết quả thực hiện", "Số liệu"), by its folded start
_RESULT = re.compile(r"^(ket qua|thuc hien|so lieu|gia tri|so luong|uoc thuc hien)\b")
# The issuing commune in a form's heading: "UBND XÃ …", "ỦY BAN NHÂN DÂN PHƯỜNG …"
_ISSUER = re.compile(r"^(?:ubnd|uy ban nhan dan) ((?:xa|phuong|dac khu|thi tran) .+)$")


def form_table(rows: list[list[object]], catalogue: Catalogue) -> Transposed | None:
    """A commune's own report as an official document: the unit named only in the heading
    ("UBND XÃ …" under "UBND TỈNH …"), then one row per indicator (STT | Chỉ tiêu | Đơn vị
    tính | Kết quả thực hiện | Ghi chú). Read as a transposed table of one unit, the result
    column headed by the heading's unit; a result column under another period's or a plan's
    heading is not the result. The place-and-date line is the signing date, never a period."""
    vocab = vocabulary(catalogue)
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        texts = {j: normalise_header(c) for j, c in enumerate(row) if isinstance(c, str)}
        corner = next((j for j, t in texts.items() if t in _CORNER), None)
        if corner is None:
            continue
        below = rows[i + 1 : i + 1 + HEADER_SCAN_ROWS]
        if sum(1 for r in below if vocab.match(_cell(r, corner))) < 1:
            continue
        titles = title_block(rows, TableLayout((i,), {}, i + 1))
        unit = _issuer(titles)
        stated = title_period(titles)
        year = stated[:4] if stated and stated[:4].isdigit() else None
        results = {
            j: period
            for j, t in texts.items()
            if _RESULT.match(t)
            and (heading := group_heading(str(row[j]), year))[0] in (None, "estimate")
            and ((period := heading[1]) is None or stated in (None, period))
        }
        if unit is None or not results:
            return None
        result = next(iter(results))
        header = [None] * len(row)
        header[corner], header[result] = "Tên đơn vị", unit
        unread = tuple(
            (j, str(c).strip())
            for j, c in enumerate(row)
            if j not in (corner, result) and c is not None and texts.get(j) not in _ORDINAL
        )
        keep = (corner, result)
        body = [[_cell(r, j) if j in keep else None for j in range(len(row))] for r in below]
        turned = transposed_table([*([[None]] * i), header, *body], catalogue)
        if turned is None:
            return None
        turned.unread = unread + turned.unread
        turned.layout.period = results[result]  # "Thực hiện 6 tháng đầu năm 2026": its period
        return turned
    return None


def _issuer(titles: list[str]) -> str | None:
    """The commune or ward that issues a form, from its heading's "UBND XÃ …" line."""
    for text in titles:
        for line in text.splitlines():
            if _ISSUER.match(fold(line)):
                words = line.split()
                skip = 1 if fold(words[0]) == "ubnd" else 4
                return " ".join(words[skip:])
    return None


_FIGURE_KINDS = ("numerator", "denominator", "value")
FIGURE_ROWS_PROBE = 9  # data rows looked at for the labels "Tử số", "Mẫu số", "Tỷ lệ (%)"


@dataclass
class FigureRows:
    """Numerator, denominator and rate on rows of their own under each unit (its name merged
    over them), one column per indicator."""

    header_row: int
    units: dict[int, str]  # column → unit_code / unit_name / province
    label: int  # the column of "Tử số" / "Mẫu số" / "Tỷ lệ (%)"
    indicators: dict[int, str]  # column → indicator id
    unread: tuple[tuple[int, str], ...]


def figure_rows(rows: list[list[object]], catalogue: Catalogue) -> FigureRows | None:
    """The header of a table with a row per figure under each unit: a unit column, columns
    named by an indicator (its name, id, or one of its own columns' headers), and a column
    whose cells below say which figure each row holds."""
    vocab = vocabulary(catalogue)
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        if len(row) - row.count(None) < 3:
            continue
        units = {
            j: c for j, c in _match_row(row, vocab).items() if c in (*UNIT_COLUMNS, "province")
        }
        if not any(c in UNIT_COLUMNS for c in units.values()):
            continue
        below = rows[i + 1 : i + 1 + FIGURE_ROWS_PROBE]
        label = next(
            (
                j
                for j in range(len(row))
                if j not in units
                and len({vocab.match(_cell(r, j)) for r in below} & set(_FIGURE_KINDS)) >= 2
            ),
            None,
        )
        if label is None:
            return None  # the first row naming a unit is the header: no figure labels under it
        indicators = {
            j: ind
            for j, c in enumerate(row)
            if j not in units and j != label and (ind := _indicator_of(c, catalogue))
        }
        if not indicators:
            return None
        unread = tuple(
            (j, str(c).strip())
            for j, c in enumerate(row)
            if c is not None
            and j not in units
            and j != label
            and j not in indicators
            and normalise_header(c) not in _ORDINAL
        )
        return FigureRows(i, units, label, indicators, unread)
    return None


def _indicator_of(header: object, catalogue: Catalogue) -> str | None:
    if not isinstance(header, str):
        return None
    found = indicator_names(catalogue).get(normalise_header(header))
    return found or _field_owners(catalogue).get(vocabulary(catalogue).match(header))


@cache
def _field_owners(catalogue: Catalogue) -> dict[str, str]:
    """Report column → the indicator it is the rate or numerator of (a denominator is shared)."""
    out: dict[str, str] = {}
    for ind in catalogue:
        for f in (ind.value, ind.numerator):
            if f is not None:
                out.setdefault(f.id, ind.id)
    return out


def figure_rows_unread(table: FigureRows) -> list[str]:
    return unread_spans(TableLayout((table.header_row,), {}, 0, unread=table.unread))
