"""A workbook from assets.reports.safe as a reader opens it: the layout people see (title lines,
header, filter, frozen panes, print setup, formats, widths) and every kind of cell a frame can
hold stored as what it is: text as text (never a formula, a link or an error), numbers in their
column's format, a missing or not-finite number an empty cell, dates as dates."""

from __future__ import annotations

import datetime as dt
import gc
import math

import openpyxl
import polars as pl
import pytest
import xlsxwriter

from assets.reports.safe import (
    Column,
    Sheet,
    column_widths,
    column_widths_by,
    sheet_names,
    write_workbook,
    write_xlsx,
)

FRAME = pl.DataFrame(
    {
        "code": ["A1", "=1+1", "#N/A", "https://x.invalid", "-2", None],
        "name": pl.Series(["Xã Một", "@SUM(1)", "b\x1bc", "d", "e", "f"], dtype=pl.Categorical),
        "share": [12.345, float("nan"), None, None, -0.5, 1234567.0],
        "ratio": [float("inf"), -float("inf"), 1.0, None, float("nan"), 2.0],
        "count": [1, 2, None, 4, 5, 6],
        "flag": [True, False, None, True, False, True],
        "day": [dt.date(2026, 1, 31), None, None, None, None, dt.date(2026, 7, 1)],
    }
)
COLUMNS = (
    Column("code", "Mã / Code"),
    Column("name", "Tên / Name"),
    Column("share", "Tỷ lệ / Share", "0.0"),
    Column("ratio", "Hệ số / Ratio", "0.00"),
    Column("count", "Số / Count", "0"),
    Column("flag", "Cờ / Flag"),
    Column("day", "Ngày / Day", width=14),
)
TITLE = ("=Tiêu đề / Title", "Ghi chú / Note")


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    path = tmp_path_factory.mktemp("safe") / "book.xlsx"
    write_workbook(path, [Sheet("Bảng: 1/2", FRAME, COLUMNS, TITLE, frozen_columns=2)])
    return openpyxl.load_workbook(path).worksheets[0]


def test_title_header_filter_panes_and_print_setup(ws):
    assert ws.title == "Bảng 1 2"  # ":" and "/" are not allowed in a sheet name
    title, note = ws["A1"], ws["A2"]
    assert title.value == TITLE[0] and title.font.b and title.font.sz == 13
    assert title.data_type == "s" and title.quotePrefix  # a title is text, too
    assert note.value == TITLE[1] and note.font.i and note.font.color.rgb.endswith("555555")
    head = ws[3]
    assert [c.value for c in head] == [c.header for c in COLUMNS]
    for cell in head:
        assert cell.font.b and cell.fill.fill_type == "solid"
        assert cell.fill.fgColor.rgb.endswith("DDE7F0")
        assert cell.alignment.wrap_text and cell.alignment.vertical == "top"
    assert ws.auto_filter.ref == "A3:G9"
    assert ws.freeze_panes == "C4"
    assert ws.print_title_rows == "$3:$3"
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToWidth in (1, None) and ws.page_setup.fitToHeight == 0


def test_cells_keep_their_kind(ws):
    rows = list(ws.iter_rows(min_row=4, values_only=False))
    code = [r[0] for r in rows]
    assert [c.value for c in code] == ["A1", "=1+1", "#N/A", "https://x.invalid", "-2", None]
    assert all(c.data_type == "s" for c in code[:5])  # no formula, no error, no number
    assert [bool(c.quotePrefix) for c in code[:5]] == [False, True, False, False, True]
    assert code[3].hyperlink is None  # an address stays text, not a link
    name = [r[1] for r in rows]
    assert [c.value for c in name] == ["Xã Một", "@SUM(1)", "b␛c", "d", "e", "f"]
    assert name[1].quotePrefix
    share = [r[2] for r in rows]
    assert [c.value for c in share] == [12.345, None, None, None, -0.5, 1234567.0]
    assert {c.number_format for c in share if c.value is not None} == {"0.0"}
    assert [r[3].value for r in rows] == [None, None, 1.0, None, None, 2.0]
    count = [r[4] for r in rows]
    assert [c.value for c in count] == [1, 2, None, 4, 5, 6]
    assert all(c.number_format == "0" for c in count if c.value is not None)
    assert [r[5].value for r in rows] == [True, False, None, True, False, True]
    assert rows[0][6].value == dt.datetime(2026, 1, 31) and rows[0][6].is_date
    assert not any(c.data_type == "f" for r in ws.iter_rows() for c in r)


def test_widths_in_characters_from_content_header_or_given(ws):
    widths = {
        openpyxl.utils.get_column_letter(k): d.width
        for d in ws.column_dimensions.values()
        for k in range(d.min, d.max + 1)
    }
    # XlsxWriter stores Excel's width (characters plus the cell padding, 5 pixels of 7)
    text = FRAME.with_columns(pl.col("name").cast(pl.String))  # categorical text is text
    asked = dict(zip("ABCDEFG", column_widths(text, COLUMNS), strict=True))
    assert widths == pytest.approx({k: w + 5 / 7 for k, w in asked.items()}, abs=0.01)
    assert asked["A"] == len("https://x.invalid") + 2  # the longest text
    assert asked["B"] == len("@SUM(1)") + 2
    assert asked["C"] == len("1,234,567") + 2 + 1 + 2  # digits, decimals, sign, margin
    assert asked["G"] == 14


def test_widths_by_part_are_each_part_s_own():
    parts = FRAME.with_columns(part=pl.Series([1, 1, 1, 2, 2, 2]))
    by = column_widths_by(parts, COLUMNS, "part")
    for key, part in parts.partition_by("part", as_dict=True).items():
        assert by[key[0]] == column_widths(part, COLUMNS)
    assert by[1] != by[2]
    assert not math.isnan(sum(by[1]))


def test_sheet_names_fit_excel_s_count_of_characters(tmp_path):
    """Excel counts a sheet name's characters in UTF-16 units: an emoji is two, never halved."""
    names = sheet_names(["📊" * 20, "📊" * 20, "Bảng 📊"])
    assert names == ["📊" * 15, "📊" * 13 + " (2)", "Bảng 📊"]
    write_xlsx(tmp_path / "t.xlsx", dict.fromkeys(names, FRAME.head(1)))
    assert openpyxl.load_workbook(tmp_path / "t.xlsx").sheetnames == names


def test_text_longer_than_a_cell_holds_is_cut_to_excel_s_limit(tmp_path):
    write_xlsx(tmp_path / "t.xlsx", {"s": pl.DataFrame({"text": ["ạ" * 40_000, "b"]})})
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx").active
    assert [c.value for c in ws["A"]] == ["text", "ạ" * 32_767, "b"]


def test_cycle_collection_is_paused_while_a_workbook_is_written_and_restored(tmp_path, monkeypatch):
    """A national table is ~45,000 cells of a few objects each: Python's cycle collection is
    paused while they are built and written (in a run's process each collection goes over
    Dagster's heap), and is as it was after, also when writing fails."""
    seen = []
    close = xlsxwriter.Workbook.close
    monkeypatch.setattr(
        xlsxwriter.Workbook, "close", lambda wb: (seen.append(gc.isenabled()), close(wb))[1]
    )
    assert gc.isenabled()
    write_xlsx(tmp_path / "a.xlsx", {"s": FRAME})
    assert seen == [False] and gc.isenabled()
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        write_workbook(tmp_path / "b.xlsx", [Sheet("s", FRAME, (Column("missing", "x"),))])
    assert gc.isenabled() and not (tmp_path / "b.xlsx").exists()
    gc.disable()
    try:
        write_xlsx(tmp_path / "c.xlsx", {"s": FRAME})
        assert not gc.isenabled()  # the caller's pause is theirs to end
    finally:
        gc.enable()
    assert seen == [False, False]
