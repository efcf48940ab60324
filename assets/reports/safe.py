"""Spreadsheet-safe exports: a cell a spreadsheet would run as a formula is neutralised.

Text from reports (unit names, file names, free text) goes back out to offices in .xlsx and
.csv; "=HYPERLINK(...)" or "@SUM(...)" must arrive as text, never run, and a control or bidi
character arrives as a visible marker (schemas.display), which openpyxl can always write.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Font

from schemas.display import visible_frame, visible_value
from schemas.lake import atomic_write

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value: object) -> object:
    """Control characters made visible, then text that a spreadsheet would evaluate prefixed
    with an apostrophe; numbers pass through."""
    value = visible_value(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Every text column made visible and neutralised (for .csv exports); categorical text is
    text too."""
    starts = "^[" + "".join("\\" + c if c in "+-" else c for c in "=+-@") + "\t\r\n]"
    df = df.with_columns(
        pl.col(c).cast(pl.String)
        for c, t in df.schema.items()
        if isinstance(t, pl.Categorical | pl.Enum)
    )
    df = visible_frame(df)
    return df.with_columns(
        pl.when(pl.col(c).str.contains(starts)).then("'" + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, t in df.schema.items()
        if t == pl.String
    )


def write_xlsx(
    path: Path,
    sheets: dict[str, pl.DataFrame],
    headers: dict[str, str] | None = None,
    *,
    neutralised: bool = False,
):
    """Write frames as sheets of one .xlsx, every text cell stored as text, atomically.

    openpyxl's write-only mode streams the rows: a national table (3,321 rows) takes half a
    second, where appending to a normal sheet and styling `ws[ws.max_row]` was quadratic. The
    text is neutralised a column at a time (safe_frame); openpyxl types text as text except
    an error code such as "#N/A", which alone needs a cell of its own. `neutralised`: the frames
    already went through safe_frame (thousands of small workbooks cut from one frame)."""
    headers = headers or {}
    bold = Font(bold=True)

    def write(tmp: Path) -> None:
        wb = Workbook(write_only=True)
        for name, df in sheets.items():
            ws = wb.create_sheet(name[:31])
            ws.freeze_panes = "A2"
            head = [_text_cell(ws, neutralise(headers.get(c, c)), bold) for c in df.columns]
            ws.append(head)
            for row in (df if neutralised else safe_frame(df)).iter_rows():
                ws.append([_text_cell(ws, v) if v in ERROR_CODES else v for v in row])
        wb.save(tmp)

    return atomic_write(path, write)


def _text_cell(ws, value: object, font: Font | None = None) -> WriteOnlyCell:
    """A cell holding `value` as text (never a formula or an error code)."""
    cell = WriteOnlyCell(ws, value)
    if isinstance(value, str):
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell


def write_csv(path: Path, df: pl.DataFrame) -> Path:
    """UTF-8 with BOM so Excel opens Vietnamese text correctly; cells neutralised."""
    return atomic_write(
        path, lambda tmp: safe_frame(df).write_csv(tmp, include_bom=True, quote_style="always")
    )
