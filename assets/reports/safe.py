"""Spreadsheet-safe exports: a cell a spreadsheet would run as a formula is neutralised.

Text from reports (unit names, file names, free text) goes back out to offices in .xlsx and
.csv; "=HYPERLINK(...)" or "@SUM(...)" must arrive as text, never run, and a control or bidi
character arrives as a visible marker (schemas.display), which openpyxl can always write.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.styles import Font

from orchestration.lake import atomic_write
from schemas.display import visible_frame, visible_value

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


def write_xlsx(path: Path, sheets: dict[str, pl.DataFrame], headers: dict[str, str] | None = None):
    """Write frames as sheets of one .xlsx, every text cell stored as text, atomically."""
    headers = headers or {}

    def write(tmp: Path) -> None:
        wb = Workbook()
        wb.remove(wb.active)
        for name, df in sheets.items():
            ws = wb.create_sheet(name[:31])
            ws.append([neutralise(headers.get(c, c)) for c in df.columns])
            for cell in ws[1]:
                cell.font = Font(bold=True)
            for row in df.iter_rows():
                ws.append([neutralise(v) for v in row])
                for cell in ws[ws.max_row]:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"  # never a formula, whatever it starts with
            ws.freeze_panes = "A2"
        wb.save(tmp)

    return atomic_write(path, write)


def write_csv(path: Path, df: pl.DataFrame) -> Path:
    """UTF-8 with BOM so Excel opens Vietnamese text correctly; cells neutralised."""
    return atomic_write(
        path, lambda tmp: safe_frame(df).write_csv(tmp, include_bom=True, quote_style="always")
    )
