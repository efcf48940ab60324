"""Spreadsheet-safe exports that people can read: a cell a spreadsheet would run as a formula
never runs, and a workbook opens with a title, readable headers, number formats, widths, a
filter and frozen headers.

Text from reports (unit names, file names, free text) goes back out to offices in .xlsx and
.csv; "=HYPERLINK(...)" or "@SUM(...)" must arrive as text, never run, and a control or bidi
character arrives as a visible marker (schemas.display), which openpyxl can always write. In an
.xlsx such text is a text cell with Excel's quote prefix (shown as typed, kept as text when
edited); a .csv has no cell types, so there it gets a leading apostrophe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from schemas.display import visible_frame, visible_value
from schemas.lake import atomic_write

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
    """Names Excel accepts, in order: no []:*?/\\ characters, at most 31 characters, unique
    (case-insensitively, as Excel compares them): a repeated name gets " (2)", " (3)"..."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        base = " ".join(name.translate(_SHEET_FORBIDDEN).split())[:SHEET_NAME_CHARS].strip("'")
        base = base or "Sheet"
        candidate, k = base, 1
        while candidate.casefold() in seen:
            k += 1
            tag = f" ({k})"
            candidate = base[: SHEET_NAME_CHARS - len(tag)].rstrip() + tag
        seen.add(candidate.casefold())
        out.append(candidate)
    return out


def write_workbook(path: Path, sheets: list[Sheet], *, visible: bool = False) -> Path:
    """Write `sheets` as one .xlsx, atomically: title rows, a bold header row with filter and
    frozen panes, number formats and widths; every text cell stored as text.

    openpyxl's write-only mode streams the rows: a national table (3,321 rows) takes about a
    second, where appending to a normal sheet and styling `ws[ws.max_row]` was quadratic.
    `visible`: the frames' text already went through schemas.display.visible_frame (thousands
    of small workbooks cut from one frame)."""
    names = sheet_names([s.name for s in sheets])

    def write(tmp: Path) -> None:
        wb = Workbook(write_only=True)
        for name, sheet in zip(names, sheets, strict=True):
            _write_sheet(wb.create_sheet(name), sheet, visible)
        wb.save(tmp)

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


_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)
_NOTE = Font(italic=True, color="555555")
_HEAD_FILL = PatternFill("solid", fgColor="DDE7F0")
_HEAD_ALIGN = Alignment(wrap_text=True, vertical="top")


def _write_sheet(ws, sheet: Sheet, visible: bool) -> None:
    columns = sheet.columns or tuple(Column(c, c) for c in sheet.frame.columns)
    df = _text_categoricals(sheet.frame.select([c.name for c in columns]))
    if not visible:
        df = visible_frame(df)
    head_row = len(sheet.title) + 1
    # Views, widths and page setup first: write-only mode writes them before the first row.
    for k, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(k)].width = col.width or _width(df, col)
    last = get_column_letter(len(columns))
    ws.freeze_panes = f"{get_column_letter(sheet.frozen_columns + 1)}{head_row + 1}"
    ws.auto_filter.ref = f"A{head_row}:{last}{head_row + max(df.height, 1)}"
    ws.print_title_rows = f"{head_row}:{head_row}"
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToHeight = 0  # as many pages down as needed, one across
    for k, line in enumerate(sheet.title):
        ws.append([_cell(ws, visible_value(line), font=_TITLE if k == 0 else _NOTE)])
    ws.append(
        [
            _cell(ws, visible_value(c.header), font=_BOLD, fill=_HEAD_FILL, align=_HEAD_ALIGN)
            for c in columns
        ]
    )
    formats = [c.number_format for c in columns]
    for row in df.iter_rows():
        ws.append([_value(ws, v, f) for v, f in zip(row, formats, strict=True)])


def _value(ws, value: object, number_format: str | None) -> object:
    """A data cell: text a spreadsheet could read as a formula or an error code gets a text
    cell of its own; a number gets its column's format; anything else goes as it is."""
    if isinstance(value, str):
        if value.startswith(FORMULA_STARTS) or value in ERROR_CODES:
            return _cell(ws, value)
        return value
    if number_format is not None and isinstance(value, int | float) and not isinstance(value, bool):
        cell = WriteOnlyCell(ws, value)
        cell.number_format = number_format
        return cell
    return value


def _cell(ws, value: object, *, font=None, fill=None, align=None) -> WriteOnlyCell:
    """A cell holding `value`; text as text (never a formula or an error code), with the quote
    prefix where a spreadsheet would evaluate it, so it stays text when edited."""
    cell = WriteOnlyCell(ws, value)
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if align is not None:
        cell.alignment = align
    return cell


def _width(df: pl.DataFrame, col: Column) -> float:
    """Characters: the longest cell, or the longer half of a "Vietnamese / English" header up
    to HEADER_WIDTH (headers wrap), within MIN_WIDTH..MAX_WIDTH."""
    halves = max((len(part) for part in col.header.split(" / ")), default=0)
    header = min(halves, HEADER_WIDTH) + 2
    s = df[col.name]
    if s.dtype == pl.String:
        content = s.str.len_chars().max() or 0
    elif s.dtype.is_numeric():
        shown = (col.number_format or "0.00").split(";")[0]
        decimals = len(shown.split(".", 1)[1]) + 1 if "." in shown else 0
        content = max(len(f"{v:,.0f}") for v in (s.min() or 0, s.max() or 0)) + decimals + 1
    else:
        content = 10
    return float(min(max(content + 2, header, MIN_WIDTH), MAX_WIDTH))


def write_csv(path: Path, df: pl.DataFrame) -> Path:
    """UTF-8 with BOM so Excel opens Vietnamese text correctly; cells neutralised."""
    return atomic_write(
        path, lambda tmp: safe_frame(df).write_csv(tmp, include_bom=True, quote_style="always")
    )
