"""The report template (mẫu báo cáo) a province sends to its communes and wards.

One row per current unit with code and name prefilled, a column per report field headed as in
schemas/indicators.yaml, number validation on the figure cells, and an instructions sheet.
Reading it back is the ingest's easiest case; everything offices change in it is the general case.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from schemas.catalogue import Catalogue
from schemas.lake import atomic_write

TITLE_ROWS = 4  # title block above the header
HEADER_ROW = TITLE_ROWS + 1
UNIT_COLUMNS = ("STT", "Mã đơn vị", "Tên đơn vị (xã, phường)")


def template_columns(catalogue: Catalogue) -> list[tuple[str, str]]:
    """(field id, header) of the figure columns, in catalogue order, each field once."""
    return [(fid, f.vi) for fid, f in catalogue.report_fields().items()]


def write_template(
    units: pl.DataFrame,
    catalogue: Catalogue,
    out: Path,
    *,
    province_name: str,
    period: str,
    figures: dict[tuple[str, str], object] | None = None,
) -> Path:
    """Write the template for `units` (unit_code, unit_name) to `out`.

    `figures` maps (unit_code, field id) to a value to fill in: the demo and the tests use it to
    write a filled report exactly as an office would return it.
    """
    figures = figures or {}
    wb = Workbook()
    ws = wb.active
    ws.title = "Báo cáo"
    ws["A1"] = f"UBND {province_name.upper()}"
    ws["A2"] = "BÁO CÁO KẾT QUẢ THỰC HIỆN CHỈ TIÊU CHUYỂN ĐỔI SỐ CẤP XÃ"
    ws["A3"] = f"Tỉnh/Thành phố: {province_name}"
    ws["A4"] = f"Kỳ báo cáo: {period}"
    ws["A2"].font = Font(bold=True, size=13)
    fields = template_columns(catalogue)
    headers = [*UNIT_COLUMNS, *(h for _, h in fields)]
    for j, header in enumerate(headers, start=1):
        cell = ws.cell(row=HEADER_ROW, column=j, value=header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        ws.column_dimensions[get_column_letter(j)].width = 14 if j > 3 else (6, 10, 28)[j - 1]
    ws.row_dimensions[HEADER_ROW].height = 75
    first = HEADER_ROW + 1
    for i, (code, name) in enumerate(units.select("unit_code", "unit_name").iter_rows()):
        r = first + i
        ws.cell(row=r, column=1, value=i + 1)
        ws.cell(row=r, column=2, value=code).number_format = "@"  # keep the leading zero
        ws.cell(row=r, column=3, value=name)
        for j, (fid, _) in enumerate(fields, start=len(UNIT_COLUMNS) + 1):
            value = figures.get((code, fid))
            if value is not None:
                ws.cell(row=r, column=j, value=value)
    last = first + max(units.height, 1) - 1
    check = DataValidation(
        type="decimal",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Số liệu không hợp lệ",
        error="Nhập một số không âm (dùng dấu phẩy cho phần thập phân).",
    )
    ws.add_data_validation(check)
    first_fig, last_fig = get_column_letter(len(UNIT_COLUMNS) + 1), get_column_letter(len(headers))
    check.add(f"{first_fig}{first}:{last_fig}{last}")
    ws.freeze_panes = ws.cell(row=first, column=len(UNIT_COLUMNS) + 1)
    ws.cell(row=last + 2, column=3, value="Người lập biểu")
    ws.cell(row=last + 2, column=8, value="TM. ỦY BAN NHÂN DÂN")
    _instructions(wb, catalogue, period)
    return atomic_write(out, wb.save)


def _instructions(wb: Workbook, catalogue: Catalogue, period: str) -> None:
    ws = wb.create_sheet("Hướng dẫn")
    lines = [
        "HƯỚNG DẪN ĐIỀN BÁO CÁO / HOW TO FILL IN THIS REPORT",
        f"Kỳ báo cáo / period: {period}",
        "1. Không sửa mã và tên đơn vị. / Do not change unit codes or names.",
        "2. Nhập số lượng (tử số và mẫu số), không nhập tỷ lệ; hệ thống tự tính tỷ lệ. / "
        "Enter counts (numerator and denominator), not percentages; dxlake computes the shares.",
        "3. Để trống ô không có số liệu. / Leave a cell empty when there is no figure.",
        "",
        "Chỉ tiêu / indicator — chỉ tiêu (mục tiêu) — nguồn / source",
    ]
    for ind in catalogue:
        op = "≥" if ind.direction == "higher" else "≤"
        lines.append(
            f"{ind.name_vi} / {ind.name_en}: {op} {ind.target:g} {ind.unit_vi} "
            f"({ind.target_year}) — {ind.source}"
        )
    for i, line in enumerate(lines, start=1):
        ws.cell(row=i, column=1, value=line)
    ws.column_dimensions["A"].width = 120
