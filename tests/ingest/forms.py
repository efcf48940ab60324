"""The messy reports the ingest tests feed, and what must come out of them.

One report as Huế's communes really return it (title block, a header over two merged rows, a row
of column numbers, a blank row, a total row, formulas, numbers typed as text the Vietnamese way,
a unit by name and one by its pre-2025 name, signature lines, a hidden sheet, an instructions
sheet), written by openpyxl; tests/fixtures/make_fixtures.py saves the same workbook through
LibreOffice as .xlsx, .xls and .ods. EXPECTED says what every form must yield.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from openpyxl import Workbook

PERIOD = "2026-H1"
SHEET = "Báo cáo"
HIDDEN = "Số liệu cũ"

# Header row 5 (groups, merged across row 6 where a column has one header) and row 6.
UPPER = [
    "STT",
    "Mã xã",
    "Tên đơn vị",
    "Cán bộ, công chức",
    None,
    "Thủ tục hành chính",
    None,
    "TY LE DAN SO DUOC PHU SONG 5G (%)",
    "Lãnh đạo",
    None,
    "Ngân sách",
    None,
    "Ghi chú",
]
LOWER = [
    None,
    None,
    None,
    "Tổng số CBCC",
    "Số CBCC có máy tính",
    "tong so ho so TTHC tiep nhan",
    "Số hồ sơ nộp\ntrực tuyến (hồ sơ)",
    None,
    "Số lãnh đạo có chuyên môn KHKT",
    "TỔNG SỐ LÃNH ĐẠO",
    "Chi cho KHCN, ĐMST và CĐS (triệu đồng)",
    "Tổng chi ngân sách (triệu đồng)",
    None,
]
MERGED = ["A5:A6", "B5:B6", "C5:C6", "D5:E5", "F5:G5", "H5:H6", "I5:J5", "K5:L5", "M5:M6"]

# Data rows from Excel row 8 (row 7 numbers the columns): (Excel row, cells A..M).
# Formulas are read as the value the office last saw (their cached value).
ROWS: list[tuple[int, list[object]]] = [
    (
        8,
        [
            1,
            "19753",
            "Phường Phú Xuân",
            30,
            "=D8-2",
            "1.234",
            "987",
            "85,5%",
            2,
            10,
            "1.234,5",
            50000,
            None,
        ],
    ),
    (9, [None] * 13),  # a blank row
    (10, [2, None, "Phường Kim Long", "25", "25", 800, "-", "85.5", "3", "12", None, None, "x"]),
    (11, [3, 19777, "Phường Vỹ Dạ", 28, 30, 900, 600, None, 1, 8, 120.5, 60000, None]),
    (
        12,
        [4, None, "Thị trấn Phú Đa", 20, 18, "1.000", "1.500", None, None, None, None, None, None],
    ),
    (13, [5, "19815", "Phường An Cựu", "hai mươi", 10, 500, 400, "101", 1, 5, 10, 2000, None]),
    (14, [None, None, "Tổng cộng", "=SUM(D8:D13)", 999, 9999, 9999, None, 9, 99, 9, 9, None]),
    (15, [None, None, "Cộng", 999, 999, 9999, 9999, None, 9, 99, 9, 9, None]),
    (
        17,
        [
            None,
            None,
            "Người lập biểu",
            None,
            None,
            None,
            None,
            "TM. ỦY BAN NHÂN DÂN",
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (18, [None, None, "Nguyễn Văn A", 1, 2, 3, 4, None, None, None, None, None, None]),
]

# What every form yields once validated: (unit_code, indicator_id) → accepted value.
EXPECTED: dict[tuple[str, str], float] = {
    ("19753", "officials_with_computer"): 28 / 30 * 100,
    ("19753", "online_service_usage"): 987 / 1234 * 100,
    ("19753", "pop_5g_coverage"): 85.5,
    ("19753", "leaders_with_stem_expertise"): 2 / 10 * 100,
    ("19753", "budget_share_sti_dx"): 1234.5 / 50000 * 100,
    ("19774", "officials_with_computer"): 100.0,  # by name, "25" typed as text
    ("19774", "pop_5g_coverage"): 85.5,  # "85.5": a dot before one digit is a decimal point
    ("19774", "leaders_with_stem_expertise"): 25.0,
    ("19777", "online_service_usage"): 600 / 900 * 100,
    ("19777", "leaders_with_stem_expertise"): 12.5,
    ("19777", "budget_share_sti_dx"): 120.5 / 60000 * 100,
    ("19815", "online_service_usage"): 80.0,
    ("19815", "leaders_with_stem_expertise"): 20.0,
    ("19815", "budget_share_sti_dx"): 0.5,
    ("19942", "officials_with_computer"): 90.0,  # "Thị trấn Phú Đa", now part of Xã Phú Vang
}
# The rows quarantined, with their rule: (unit_code, indicator_id) → rule_id.
QUARANTINED = {
    ("19774", "online_service_usage"): "missing_figure",  # 800 with "-": no numerator
    ("19777", "officials_with_computer"): "numerator_exceeds_denominator",  # 30 of 28
    ("19942", "online_service_usage"): "numerator_exceeds_denominator",  # old name; 1.500/1.000
    ("19815", "officials_with_computer"): "not_a_number",  # "hai mươi"
    ("19815", "pop_5g_coverage"): "value_out_of_range",  # 101 %
}
# Excel rows that hold observations: nothing from the header, numbering, total or signature rows.
SOURCE_ROWS = {8, 10, 11, 12, 13}


def write_messy_xlsx(path: Path, *, province_title: str = "UBND THÀNH PHỐ HUẾ") -> Path:
    """The report as openpyxl writes it (what a script or a web export produces)."""
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws["A1"] = province_title
    ws["A2"] = "BÁO CÁO KẾT QUẢ THỰC HIỆN CHUYỂN ĐỔI SỐ CẤP XÃ"
    ws["A3"] = "Kỳ báo cáo: 6 tháng đầu năm 2026"
    for j, (upper, lower) in enumerate(zip(UPPER, LOWER, strict=True), start=1):
        ws.cell(5, j, upper)
        ws.cell(6, j, lower)
        ws.cell(7, j, f"({j})")
    for rng in MERGED:
        ws.merge_cells(rng)
    for r, cells in ROWS:
        for j, value in enumerate(cells, start=1):
            if value is not None:
                ws.cell(r, j, value)
    old = wb.create_sheet(HIDDEN)  # last half-year's table, hidden: must not be read
    old.append(["Mã xã", "Tên đơn vị", "Tổng số CBCC", "Số CBCC có máy tính"])
    old.append(["19753", "Phường Phú Xuân", 30, 1])
    old.sheet_state = "hidden"
    notes = wb.create_sheet("Hướng dẫn")
    notes["A1"] = "Không sửa mã và tên đơn vị."
    notes["A2"] = "Tổng số CBCC: số cán bộ, công chức cấp xã"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return cache_formula_values(path, CACHED)


# What Excel stores beside each formula; openpyxl writes formulas without it.
CACHED = {"E8": 28, "D14": 103}


def cache_formula_values(path: Path, values: dict[str, object]) -> Path:
    """Store a cached value beside each formula, as Excel and LibreOffice save them."""
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    xml = members[sheet].decode()
    for ref, value in values.items():
        xml, n = re.subn(
            rf'(<c r="{ref}"[^>]*>)(<f>[^<]*</f>)<v\s*/?>(?:</v>)?', rf"\1\2<v>{value}</v>", xml
        )
        assert n == 1, f"no formula cell {ref} in {path}"
    members[sheet] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path
