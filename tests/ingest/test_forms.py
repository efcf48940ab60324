"""Every file form an office sends yields the same figures: the messy report as .xlsx (openpyxl and
LibreOffice), .xls and .ods, and the same table as .csv/.txt in every encoding and delimiter."""

from __future__ import annotations

import codecs
import shutil
import unicodedata
from pathlib import Path

import polars as pl
import pytest

from assets.reports.quality import reconcile
from tests.ingest.forms import (
    EXPECTED,
    HIDDEN,
    QUARANTINED,
    ROWS,
    SHEET,
    SOURCE_ROWS,
    write_messy_xlsx,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _place(form: str, landing: Path) -> Path:
    landing.mkdir(parents=True)
    if form == "openpyxl.xlsx":
        return write_messy_xlsx(landing / form)
    return Path(shutil.copyfile(FIXTURES / form, landing / form))


@pytest.mark.parametrize(
    "form", ["openpyxl.xlsx", "messy_libreoffice.xlsx", "messy.xls", "messy.ods"]
)
def test_the_messy_report_in_every_spreadsheet_form(form, tmp_path, ingest, judge):
    _place(form, tmp_path / "landing")
    raw, status = ingest(tmp_path / "landing")
    [row] = status.to_dicts()
    assert (row["status"], row["sheets_read"], row["sheets_hidden"]) == ("read", SHEET, HIDDEN)
    # title, two header rows, numbering, blank, total ("Tổng cộng", "Cộng") and signature rows
    # yield nothing; the hidden sheet's table is not read
    assert set(raw["source_row"]) == SOURCE_ROWS
    assert set(raw["source_sheet"]) == {SHEET}
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(EXPECTED)
    assert rules == QUARANTINED
    assert raw.filter(pl.col("unit_code") == "19942")["match_kind"].unique().to_list() == [
        "old_name"
    ]


def test_formulas_are_read_as_their_cached_values(tmp_path, ingest):
    _place("messy.ods", tmp_path / "landing")
    raw, _ = ingest(tmp_path / "landing")
    row = raw.filter((pl.col("source_row") == 8) & (pl.col("source_column") == "E/D")).row(
        0, named=True
    )
    assert (row["numerator_raw"], row["numerator"]) == ("28", 28.0)  # =D8-2


def test_hidden_sheets_are_listed_in_the_quality_report(tmp_path, ingest, judge):
    _place("messy.xls", tmp_path / "landing")
    raw, status = ingest(tmp_path / "landing")
    _, _, validated, quarantined, superseded = judge(raw)
    files = reconcile(status, raw, validated, quarantined, superseded)
    assert files["sheets_hidden"].to_list() == [HIDDEN]


def _table_lines() -> list[list[str]]:
    """The messy report as a CSV export: title lines, one header row, blank, total, signatures."""
    header = [
        "STT",
        "Ma xa",
        "TÊN ĐƠN VỊ",
        "Tổng số CBCC",
        "Số CBCC có máy tính",
        "Tổng số hồ sơ TTHC tiếp nhận",
        "Số hồ sơ DVCTT (hồ sơ)",
        "Tỷ lệ dân số được phủ sóng 5G (%)",
        "Số lãnh đạo có chuyên môn KHKT",
        "Tổng số lãnh đạo",
        "Chi cho KHCN, ĐMST và CĐS (triệu đồng)",
        "Tổng chi ngân sách (triệu đồng)",
        "Ghi chú",
    ]
    cached = {"=D8-2": "28", "=SUM(D8:D13)": "103"}
    lines = [["UBND THÀNH PHỐ HUẾ"], ["Kỳ báo cáo: 6 tháng đầu năm 2026"], [], header]
    for _, cells in ROWS:
        lines.append(["" if c is None else cached.get(str(c), str(c)) for c in cells])
    return lines


def _cp1258(text: str) -> bytes:
    """Windows' Vietnamese code page: base letters (ư, ơ, â, ê, ô, ă, đ) precomposed, tone marks
    as combining characters, as Excel writes it."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        base, *marks = unicodedata.normalize("NFD", ch)
        for mark in marks:  # "ậ" is a + dot below + circumflex: â is the precomposed base
            joined = unicodedata.normalize("NFC", base + mark)
            if len(joined) == 1 and joined.encode("cp1258", "ignore"):
                base, marks = joined, [m for m in marks if m != mark]
                break
        out += (base + "".join(marks)).encode("cp1258")
    return bytes(out)


ENCODINGS = {
    "utf-8": lambda s: s.encode("utf-8"),
    "utf-8-bom": lambda s: codecs.BOM_UTF8 + s.encode("utf-8"),
    "utf-16": lambda s: codecs.BOM_UTF16_LE + s.encode("utf-16-le"),  # Excel's "Unicode text"
    "cp1258": _cp1258,
}


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter"),
    [
        ("bao_cao.csv", "utf-8", ","),
        ("bao_cao.csv", "utf-8-bom", ";"),
        ("bao_cao.txt", "utf-16", "\t"),
        ("bao_cao.csv", "cp1258", ";"),
        ("bao_cao.csv", "cp1258", ","),
        ("bao_cao.txt", "utf-8", "\t"),
    ],
)
def test_delimited_text_in_every_encoding(name, encoding, delimiter, tmp_path, ingest, judge):
    landing = tmp_path / "landing"
    landing.mkdir()

    def quote(cell: str) -> str:
        return f'"{cell}"' if delimiter in cell or "\n" in cell else cell

    text = "\r\n".join(delimiter.join(quote(c) for c in line) for line in _table_lines())
    (landing / name).write_bytes(ENCODINGS[encoding](text + "\r\n"))
    raw, status = ingest(landing)
    assert status["status"].to_list() == ["read"]
    # rows as the office sees them in Excel: 4 lines above the first unit, so row 5 is Phú Xuân
    assert set(raw["source_row"]) == {r - 3 for r in SOURCE_ROWS}
    assert set(raw["source_sheet"]) == {"bao_cao"}
    kim_long = raw.filter(pl.col("unit_code") == "19774")
    assert kim_long["unit_name_raw"].unique().to_list() == ["Phường Kim Long"]  # NFC, whole
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(EXPECTED)
    assert rules == QUARANTINED
