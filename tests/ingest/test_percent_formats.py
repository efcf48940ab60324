"""Rates stored as Excel fractions (issue 19): 0.923 in a cell formatted `0.0%` is shown, and
meant, as 92.3 %; the same 0.923 under the General format is still quarantined as a share."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from assets.ingest import readers
from assets.ingest.numbers import PercentCell, format_cell, parse_number
from assets.ingest.readers import is_percent_format, read_sheets

RATE = "Tỷ lệ dân số được phủ sóng 5G (%)"


def _book(path: Path, header: list[str], rows: list[tuple[list, dict[int, str]]]) -> Path:
    """rows: (cells, {column index: number format})."""
    wb = Workbook()
    ws = wb.active
    ws.title = "TH"
    ws.append(["Kỳ báo cáo: 6 tháng đầu năm 2026"])
    ws.append(header)
    for cells, formats in rows:
        ws.append(cells)
        for j, fmt in formats.items():
            ws.cell(ws.max_row, j + 1).number_format = fmt
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def test_a_rate_alone_is_read_with_its_number_format(tmp_path, ingest, judge):
    _book(
        tmp_path / "in" / "ty_le.xlsx",
        ["Mã xã", "Tên đơn vị", RATE],
        [
            (["19753", "Phường Phú Xuân", 0.923], {2: "0.0%"}),
            (["19774", "Phường Kim Long", 0.97], {2: "0%"}),  # built-in format 9
            (["19777", "Phường Vỹ Dạ", 0.9876], {2: "0.00%"}),  # built-in format 10
            (["19815", "Phường An Cựu", 0.923], {}),  # General: a share typed for 92.3
            (["19813", "Phường Thủy Xuân", 88.5], {}),
            (["19789", "Phường Thuận Hóa", 0.005], {2: "0.0%"}),  # 0.5 %, not a share
        ],
    )
    raw, _ = ingest(tmp_path / "in")
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "pop_5g_coverage"): 92.3,
            ("19774", "pop_5g_coverage"): 97.0,
            ("19777", "pop_5g_coverage"): 98.76,
            ("19813", "pop_5g_coverage"): 88.5,
            ("19789", "pop_5g_coverage"): 0.5,
        }
    )
    assert rules == {("19815", "pop_5g_coverage"): "percent_as_share"}
    shown = {r["unit_code_raw"]: r["value_raw"] for r in raw.iter_rows(named=True)}
    assert shown["19753"] == "92.3%" and shown["19815"] == "0.923"


def test_a_percent_formatted_rate_beside_its_counts_is_compared_with_them(tmp_path, ingest, judge):
    header = ["Mã xã", "Tổng số CBCC", "Số CBCC có máy tính", "Tỷ lệ (%)"]
    _book(
        tmp_path / "in" / "cbcc.xlsx",
        header,
        [
            (["19753", 30, 28, 28 / 30], {3: "0.0%"}),
            (["19777", 30, 28, 0.95], {3: "0.00%"}),  # typed over: 95 % of 28/30
            (["19815", 40, 10, 0.25], {}),  # General 0.25 for 25 %: its counts say so
        ],
    )
    raw, _ = ingest(tmp_path / "in")
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx({("19753", "officials_with_computer"): 28 / 30 * 100})
    assert rules == {
        ("19777", "officials_with_computer"): "stated_value_mismatch",
        ("19815", "officials_with_computer"): "percent_as_share",
    }


def test_the_sheet_lists_its_percent_cells(tmp_path):
    path = _book(
        tmp_path / "a.xlsx",
        ["Mã xã", RATE, "Ghi chú"],
        [
            (["19753", 0.5, None], {1: "0.0%"}),
            (["19774", 0.25, "25%"], {1: '0.0"%"', 2: "0%"}),  # a quoted % does not multiply
            (["19777", 0.75, None], {1: "#,##0.00\\%"}),  # nor an escaped one
        ],
    )
    (sheet,) = read_sheets(path)
    assert sheet.percent_cells == {(2, 1)}  # text under a percent format is left as typed
    assert isinstance(sheet.rows[2][1], PercentCell) and sheet.rows[3][1] == 0.25
    assert parse_number(sheet.rows[2][1]).value == 50.0
    assert format_cell(sheet.rows[2][1]) == "50%"


def test_a_workbook_without_percent_formats_is_not_opened_twice(tmp_path, monkeypatch):
    path = _book(tmp_path / "b.xlsx", ["Mã xã", RATE], [(["19753", 0.923], {1: "0.00"})])

    def refuse(*a, **kw):
        raise AssertionError("openpyxl opened a workbook with no percent format")

    monkeypatch.setattr(readers.openpyxl, "load_workbook", refuse)
    (sheet,) = read_sheets(path)
    assert sheet.percent_cells == frozenset() and sheet.rows[2][1] == 0.923


@pytest.mark.parametrize(
    ("code", "percent"),
    [
        ("0%", True),
        ("0.0%", True),
        ("#,##0.00%", True),
        ("0.0%;[Red]-0.0%", True),
        ('0.0"%"', False),
        ("0.0\\%", False),
        ("General", False),
        ("0.00", False),
        ("@", False),
    ],
)
def test_percent_number_formats(code, percent):
    assert is_percent_format(code) is percent


def _ods(path: Path, rows: list[list[object]]) -> Path:
    """An .ods written by odfpy: floats as cells of value type "float", (value, "percentage")
    pairs as percentage cells, None as an empty cell repeated over the columns it spans, and a
    title merged over three columns (covered cells follow it)."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Báo cáo")
    title = TableRow()
    title.addElement(TableCell(numbercolumnsspanned=3, valuetype="string"))
    title.childNodes[0].addElement(P(text="Báo cáo 6 tháng đầu năm 2026"))
    title.addElement(CoveredTableCell(numbercolumnsrepeated=2))
    table.addElement(title)
    table.addElement(TableRow(numberrowsrepeated=2))  # two blank rows
    for cells in rows:
        row = TableRow()
        for cell in cells:
            if cell is None:
                row.addElement(TableCell(numbercolumnsrepeated=2))
            elif isinstance(cell, tuple):
                row.addElement(TableCell(valuetype="percentage", value=cell[0]))
            elif isinstance(cell, int | float):
                row.addElement(TableCell(valuetype="float", value=cell))
            else:
                tc = TableCell(valuetype="string")
                tc.addElement(P(text=cell))
                row.addElement(tc)
        table.addElement(row)
    doc.spreadsheet.addElement(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def test_an_ods_percentage_cell_is_read_as_the_percent_shown(tmp_path, ingest, judge):
    _ods(
        tmp_path / "in" / "ty_le.ods",
        [
            ["Mã xã", "Tên đơn vị", "Ghi chú", "x", RATE],
            ["19753", "Phường Phú Xuân", None, (0.923, "percentage")],
            ["19774", "Phường Kim Long", None, 0.923],  # a float: a share typed for 92.3
            ["19777", "Phường Vỹ Dạ", None, (1.0, "percentage")],
        ],
    )
    (sheet,) = read_sheets(tmp_path / "in" / "ty_le.ods")
    assert sheet.percent_cells == {(4, 4), (6, 4)}
    raw, _ = ingest(tmp_path / "in")
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {("19753", "pop_5g_coverage"): 92.3, ("19777", "pop_5g_coverage"): 100.0}
    )
    assert rules == {("19774", "pop_5g_coverage"): "percent_as_share"}
