"""Spreadsheet-safe exports that people can read: a cell a spreadsheet would run as a formula
never runs, and a workbook opens with a title, readable headers, number formats, widths, a
filter and frozen headers.

Text from reports (unit names, file names, free text) goes back out to offices in .xlsx and
.csv; "=HYPERLINK(...)" or "@SUM(...)" must arrive as text, never run, and a control or bidi
character arrives as a visible marker (schemas.display), which a workbook can always hold. In an
.xlsx such text is a text cell with Excel's quote prefix (shown as typed, kept as text when
edited); a .csv has no cell types, so there it gets a leading apostrophe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import xlsxwriter
from xlsxwriter.format import Format

from schemas.display import visible_frame, visible_value
from schemas.lake import atomic_write

from .outputs import cycles_paused

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
SHEET_NAME_CHARS = 31  # Excel's limit
_SHEET_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})
MIN_WIDTH, MAX_WIDTH, HEADER_WIDTH = 6, 60, 18  # characters


def neutralise(value: object) -> object:
    """For a .csv: control characters made visible, then text that a spreadsheet would
    evaluate prefixed with an apostrophe; numbers pass through."""
    value = visible_value(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Every text column made visible and neutralised (for .csv exports); categorical text is
    text too."""
    starts = "^[" + "".join("\\" + c if c in "+-" else c for c in "=+-@") + "\t\r\n]"
    df = visible_frame(_text_categoricals(df))
    return df.with_columns(
        pl.when(pl.col(c).str.contains(starts)).then("'" + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, t in df.schema.items()
        if t == pl.String
    )


def _text(s: pl.Series) -> pl.Series:
    """Categorical text as text."""
    return s.cast(pl.String) if isinstance(s.dtype, pl.Categorical | pl.Enum) else s


def _text_categoricals(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        pl.col(c).cast(pl.String)
        for c, t in df.schema.items()
        if isinstance(t, pl.Categorical | pl.Enum)
    )


@dataclass(frozen=True)
class Column:
    """A column of a sheet: the frame's column, its header, how its numbers show (an Excel
    number format, e.g. "0.0"), and its width in characters (from the content when None)."""

    name: str
    header: str
    number_format: str | None = None
    width: float | None = None


@dataclass(frozen=True)
class Sheet:
    """A sheet: `title` lines above the header row (the first in bold), the columns shown
    (default: every column of the frame, headed by its name) and how many of them stay in view
    when scrolling right."""

    name: str
    frame: pl.DataFrame
    columns: tuple[Column, ...] = ()
    title: tuple[str, ...] = ()
    frozen_columns: int = 0


def sheet_names(names: list[str]) -> list[str]:
    """Names Excel accepts, in order: no []:*?/\\ characters, at most 31 characters (as Excel
    counts them: UTF-16 units, two for an emoji), unique (case-insensitively, as Excel compares
    them): a repeated name gets " (2)", " (3)"..."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        clean = " ".join(name.translate(_SHEET_FORBIDDEN).split())
        base = _cut(clean, SHEET_NAME_CHARS).strip("'") or "Sheet"
        candidate, k = base, 1
        while candidate.casefold() in seen:
            k += 1
            tag = f" ({k})"
            candidate = _cut(base, SHEET_NAME_CHARS - len(tag)).rstrip() + tag
        seen.add(candidate.casefold())
        out.append(candidate)
    return out


def _cut(text: str, units: int) -> str:
    """`text` cut to `units` UTF-16 units, at a character."""
    return text.encode("utf-16-le")[: 2 * units].decode("utf-16-le", errors="ignore")


def write_workbook(path: Path, sheets: list[Sheet], *, visible: bool = False) -> Path:
    """Write `sheets` as one .xlsx, atomically: title rows, a bold header row with filter and
    frozen panes, number formats and widths; every text cell stored as text.

    XlsxWriter writes it (openpyxl reads): about half openpyxl's time for a national table and
    for each of thousands of small workbooks. The workbook is built in memory (no temporary
    file per part) and a string is never taken for a formula or a link; the cells go in a
    column at a time, by the column's type. Text longer than a cell holds (32,767 characters)
    is cut there. `visible`: the frames' text already went through
    schemas.display.visible_frame (thousands of small workbooks cut from one frame)."""
    names = sheet_names([s.name for s in sheets])

    def write(tmp: Path) -> None:
        wb = xlsxwriter.Workbook(str(tmp), _OPTIONS)
        styles = _Styles(wb)
        for name, sheet in zip(names, sheets, strict=True):
            _write_sheet(wb.add_worksheet(name), sheet, visible, styles)
        wb.close()

    with cycles_paused():
        return atomic_write(path, write)


def write_xlsx(path: Path, sheets: dict[str, pl.DataFrame], headers: dict[str, str] | None = None):
    """Frames as sheets of one .xlsx, headed by `headers` (column → header; default the name)."""
    headers = headers or {}
    return write_workbook(
        path,
        [
            Sheet(name, df, tuple(Column(c, headers.get(c, c)) for c in df.columns))
            for name, df in sheets.items()
        ],
    )


_OPTIONS = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
_TITLE = {"bold": True, "font_size": 13}
_NOTE = {"italic": True, "font_color": "#555555"}
_HEAD = {"bold": True, "bg_color": "#DDE7F0", "pattern": 1, "text_wrap": True, "valign": "top"}
# As openpyxl showed dates and times without a number format of their own.
_DATE_FORMATS = {pl.Date: "yyyy-mm-dd", pl.Datetime: "yyyy-mm-dd h:mm:ss", pl.Time: "h:mm:ss"}


class _Styles:
    """A workbook's cell formats, each made once: XlsxWriter formats belong to their workbook."""

    def __init__(self, wb: xlsxwriter.Workbook):
        self._wb = wb
        self._made: dict[tuple, Format | None] = {}

    def get(self, style: dict | None = None, number_format: str | None = None, quote=False):
        key = (tuple(style.items()) if style else (), number_format, quote)
        if key not in self._made:
            props = dict(style or {})
            if number_format is not None:
                props["num_format"] = number_format
            if quote:
                props["quote_prefix"] = True
            self._made[key] = self._wb.add_format(props) if props else None
        return self._made[key]

    def text(self, ws, row: int, col: int, value: str, style: dict | None = None) -> None:
        """A text cell, with the quote prefix where a spreadsheet would evaluate it, so it stays
        text when edited."""
        ws.write_string(row, col, value, self.get(style, quote=value.startswith(FORMULA_STARTS)))


def _write_sheet(ws, sheet: Sheet, visible: bool, styles: _Styles) -> None:
    columns = sheet.columns or tuple(Column(c, c) for c in sheet.frame.columns)
    df = pl.DataFrame([_text(sheet.frame.get_column(c.name)) for c in columns])
    if not visible:
        df = visible_frame(df)
    head = len(sheet.title)  # the header row, counted from 0
    for k, width in enumerate(column_widths(df, columns)):
        ws.set_column(k, k, width)
    ws.freeze_panes(head + 1, sheet.frozen_columns)
    ws.autofilter(head, 0, head + max(df.height, 1), len(columns) - 1)
    ws.repeat_rows(head)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)  # one page across, as many down as needed
    for k, line in enumerate(sheet.title):
        styles.text(ws, k, 0, visible_value(line), _TITLE if k == 0 else _NOTE)
    for k, col in enumerate(columns):
        styles.text(ws, head, k, visible_value(col.header), _HEAD)
    for k, (col, s) in enumerate(zip(columns, df.get_columns(), strict=True)):
        _write_column(ws, head + 1, k, s, col.number_format, styles)


def _write_column(ws, first: int, k: int, s: pl.Series, number_format, styles: _Styles) -> None:
    """A column's data cells from row `first`: text always as text (never a formula, a link or
    an error code); numbers in the column's format; a missing or not-finite number no cell."""
    values = s.to_list()
    if s.dtype == pl.String:
        plain, quoted = styles.get(), styles.get(quote=True)
        write = ws.write_string
        for r, v in enumerate(values, first):
            if v is not None:
                write(r, k, v, quoted if v.startswith(FORMULA_STARTS) else plain)
    elif s.dtype.is_numeric():
        fmt = styles.get(number_format=number_format)
        write = ws.write_number
        for r, v in enumerate(values, first):
            if v is not None and math.isfinite(v):
                write(r, k, v, fmt)
    elif s.dtype == pl.Boolean:
        for r, v in enumerate(values, first):
            if v is not None:
                ws.write_boolean(r, k, v)
    else:
        fmt = styles.get(number_format=number_format or _DATE_FORMATS.get(s.dtype.base_type()))
        for r, v in enumerate(values, first):
            if v is not None:
                ws.write(r, k, v, fmt)


def column_widths(df: pl.DataFrame, columns: tuple[Column, ...]) -> tuple[float, ...]:
    """Each column's width: its own, or from the content and header (_width)."""
    schema = df.schema
    extents = _extents(schema, columns)
    return _widths(df.select(extents).row(0, named=True) if extents else {}, schema, columns)


def column_widths_by(
    df: pl.DataFrame, columns: tuple[Column, ...], by: str
) -> dict[object, tuple[float, ...]]:
    """column_widths() of each part of `df` by the values of `by`, from one aggregation (for
    thousands of small workbooks cut from one frame)."""
    schema = df.schema
    parts = df.group_by(by).agg(_extents(schema, columns))
    return {row[by]: _widths(row, schema, columns) for row in parts.iter_rows(named=True)}


def _extents(schema: pl.Schema, columns: tuple[Column, ...]) -> list[pl.Expr]:
    """What a width is made from: the longest text, the least and greatest number."""
    out = []
    for k, col in enumerate(columns):
        t, c = schema[col.name], pl.col(col.name)
        if col.width is not None:
            continue
        if t == pl.String:
            out.append(c.str.len_chars().max().alias(f"{k}_len"))
        elif t.is_numeric():
            out += [c.min().alias(f"{k}_min"), c.max().alias(f"{k}_max")]
    return out


def _widths(extents: dict, schema: pl.Schema, columns: tuple[Column, ...]) -> tuple[float, ...]:
    return tuple(
        col.width
        if col.width is not None
        else _width(
            col, schema[col.name], *(extents.get(f"{k}_{e}") for e in ("len", "min", "max"))
        )
        for k, col in enumerate(columns)
    )


def _width(col: Column, dtype: pl.DataType, longest, low, high) -> float:
    """Characters: the longest cell, or the longer half of a "Vietnamese / English" header up
    to HEADER_WIDTH (headers wrap), within MIN_WIDTH..MAX_WIDTH."""
    halves = max((len(part) for part in col.header.split(" / ")), default=0)
    header = min(halves, HEADER_WIDTH) + 2
    if dtype == pl.String:
        content = longest or 0
    elif dtype.is_numeric():
        shown = (col.number_format or "0.00").split(";")[0]
        decimals = len(shown.split(".", 1)[1]) + 1 if "." in shown else 0
        content = max(len(f"{v:,.0f}") for v in (low or 0, high or 0)) + decimals + 1
    else:
        content = 10
    return float(min(max(content + 2, header, MIN_WIDTH), MAX_WIDTH))


def write_csv(path: Path, df: pl.DataFrame) -> Path:
    """UTF-8 with BOM so Excel opens Vietnamese text correctly; cells neutralised."""
    return atomic_write(
        path, lambda tmp: safe_frame(df).write_csv(tmp, include_bom=True, quote_style="always")
    )
