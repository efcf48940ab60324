"""Hostile workbooks for the spreadsheet reader (issue 18): what Excel never writes, read by the
checks in limits.py and calamine. Each case goes through ingest_folder beside the demo's good
files: it gets its status and a bilingual reason naming it, the good files' observations are
unchanged, and each is read on its own within a small time."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

import polars as pl
import pytest

from assets.ingest.landing import landing_files, read_file
from schemas.settings import Limits
from tests.hostile.cases import LOWERED_LIMITS, PERIOD, _units, minimal_ods, minimal_xlsx
from tests.hostile.conftest import ingest_beside_good
from tests.hostile.test_hostile_files import GOOD, _observations

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
# The suite's lowered limits, and a workbook limit low enough for 20 sheets to cross it.
LIMITS = {**LOWERED_LIMITS, "DXLAKE_MAX_WORKBOOK_CELLS": "1000000"}
SECONDS = 5.0  # what one of these small files may take to be read


def workbook(sheets: list[tuple[str, bytes]], shared: list[str] | None = None) -> bytes:
    """An .xlsx of several sheets (name, <sheetData> content), with shared strings if given."""
    listed = "".join(
        f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, (name, _) in enumerate(sheets, start=1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats'
        '.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
        "</Types>",
        "_rels/.rels": f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
        f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>{listed}</sheets>'
        "</workbook>",
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PKG}">{rels}'
        + (
            f'<Relationship Id="rIdS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
            if shared is not None
            else ""
        )
        + "</Relationships>",
    }
    for i, (_, xml) in enumerate(sheets, start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = (
            f'<worksheet xmlns="{MAIN}"><sheetData>'.encode() + xml + b"</sheetData></worksheet>"
        )
    if shared is not None:
        items = "".join(f"<si><t>{s}</t></si>" for s in shared)  # unescaped: may carry &#...;
        parts["xl/sharedStrings.xml"] = f'<sst xmlns="{MAIN}">{items}</sst>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out.getvalue()


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def report(title_note: str = "", figure: str = "25", skip: int = 0) -> bytes:
    """A valid report for three Hà Nội communes (title block, header, rows), inline strings;
    `title_note` (raw XML text) goes in a note line of the title block, `figure` (raw <v>) is
    the first commune's officials count."""
    units = _units(3 + skip).tail(3).rows()
    rows = [
        [_inline("A1", "Tỉnh/Thành phố: Hà Nội")],
        [_inline("A2", f"Kỳ báo cáo: {PERIOD}")],
        [_inline("A3", f"Ghi chú: {title_note}")] if title_note else [],
        [
            _inline("A4", "Mã xã"),
            _inline("B4", "Tên xã"),
            _inline("C4", "Tổng số cán bộ, công chức cấp xã"),
            _inline("D4", "Số cán bộ, công chức có máy tính đáp ứng cấu hình tối thiểu"),
        ],
    ]
    for i, (code, name) in enumerate(units):
        r = 5 + i
        value = figure if i == 0 else str(25 + i)
        rows.append(
            [
                _inline(f"A{r}", code),
                _inline(f"B{r}", escape(name)),
                f'<c r="C{r}"><v>{value}</v></c>',
                f'<c r="D{r}"><v>{10 + i}</v></c>',
            ]
        )
    xml = "".join(
        f'<row r="{r}">{"".join(cells)}</row>' for r, cells in enumerate(rows, start=1) if cells
    )
    return workbook([("Báo cáo", xml.encode())])


def _replaced(data: bytes, member: str, change: Callable[[bytes], bytes]) -> bytes:
    """The zip with one member's bytes changed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info, change(body) if info.filename == member else body)
    return out.getvalue()


def _unclosed(n: int) -> bytes:
    """n unclosed <c> tags, references varied (so that the zip's ratio stays low)."""
    return b"".join(b'<c r="A%d">' % (i % 9999 + 1) for i in range(n))


def _merges(n: int, ref: bytes = b"A1:B1") -> bytes:
    return (
        b'<row r="1"><c r="A1"><v>1</v></c></row></sheetData><mergeCells>'
        + b"".join(b'<mergeCell ref="' + ref + b'"/>' for _ in range(n))
        + b"</mergeCells><sheetData>"
    )


def _near_limit_sheets(n: int) -> bytes:
    """n sheets, each a 19,999 × 10 grid (A1 and J19999: under the 200,000-cell sheet limit)."""
    sheet = (
        b'<row r="1"><c r="A1"><v>1</v></c></row><row r="19999"><c r="J19999"><v>2</v></c></row>'
    )
    return workbook([(f"T{i}", sheet) for i in range(1, n + 1)])


_ODS_CELL = '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p>'


@dataclass(frozen=True)
class ReaderCase:
    name: str
    data: Callable[[], bytes]
    status: str
    reason: str  # a piece of the English reason ("" for a file read without a note)
    rows: int = 0  # observations expected when it is read


CASES = [
    ReaderCase(
        "unclosed_tags.xlsx",
        lambda: minimal_xlsx(b'<c r="A1">' * 8000),
        "rejected",
        "member xl/worksheets/sheet1.xml (sheet Sheet1) is not well-formed XML (line 1, column",
    ),
    ReaderCase(
        "unclosed_tags_many.xlsx",  # 20 times as many: linear, so still fast
        lambda: minimal_xlsx(_unclosed(160_000)),
        "rejected",
        "is not well-formed XML (line 1, column",
    ),
    ReaderCase(
        "surrogate_reference.xlsx",  # &#xD800; in an inline cell
        lambda: report(figure="25</v></c>" + _inline("E5", "&#xD800;") + '<c r="F5"><v>1'),
        "rejected",
        "reference to invalid character number",
    ),
    ReaderCase(
        "surrogate_shared_string.xlsx",  # &#xD800; in the shared strings: calamine refuses it
        lambda: workbook(
            [("Báo cáo", b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>')], ["&#xD800;"]
        ),
        "rejected",
        "corrupt",
    ),
    ReaderCase(
        "surrogate_escape.xlsx",  # _xD800_ (OOXML's escape) in a cell: kept as text, read
        lambda: report(title_note="a_xD800_b _xDFFF_"),
        "read",
        "",
        rows=3,
    ),
    ReaderCase(
        "negative_shared_index.xlsx",  # t="s" with -1: never another string, never a figure
        lambda: workbook(
            [
                (
                    "Báo cáo",
                    b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
                    b'<row r="2"><c r="A2" t="s"><v>-1</v></c><c r="B2"><v>25</v></c></row>',
                )
            ],
            ["Mã xã"],
        ),
        "rejected",
        "sheet Báo cáo, row 2: cell A2 refers to shared string '-1', which cannot exist",
    ),
    ReaderCase(
        "row_zero.xlsx",
        lambda: minimal_xlsx(b'<row r="1"><c r="A1"><v>1</v></c><c r="B0"><v>5</v></c></row>'),
        "rejected",
        "sheet Sheet1: cell B0 is numbered row 0",
    ),
    ReaderCase(
        "row_zero_no_cell_ref.xlsx",
        lambda: minimal_xlsx(b'<row r="0"><c><v>5</v></c></row>'),
        "rejected",
        "sheet Sheet1: a row is numbered row 0",
    ),
    ReaderCase(
        "underscore_number.xlsx",  # <v>2_0</v>: text, not 20 (the figure is quarantined)
        lambda: report(figure="2_0", skip=3),
        "read",
        "",
        rows=3,
    ),
    ReaderCase(
        "merged_40000.xlsx",
        lambda: minimal_xlsx(_merges(40_000)),
        "rejected",
        "more than 10,000 merged ranges (reached in sheet Sheet1)",
    ),
    ReaderCase(
        "merged_overlapping.xlsx",  # 5,000 ranges each over the whole grid
        lambda: minimal_xlsx(
            b'<row r="1"><c r="A1"><v>1</v></c></row><row r="500"><c r="Z500"><v>1</v></c></row>'
            + _merges(5_000, b"A1:Z500")
        ),
        "rejected",
        "sheet Sheet1: merged ranges overlap",
    ),
    ReaderCase(
        "sheets_20_near_limit.xlsx",
        lambda: _near_limit_sheets(20),
        "rejected",
        "over the 1,000,000-cell limit for a workbook (DXLAKE_MAX_WORKBOOK_CELLS)",
    ),
    ReaderCase(
        "doctype.xlsx",  # entities are expanded by XML parsers: Excel never writes a DTD
        lambda: _replaced(
            minimal_xlsx(b'<row r="1"><c r="A1"><v>1</v></c></row>'),
            "xl/worksheets/sheet1.xml",
            lambda xml: xml.replace(
                b"?><worksheet", b'?><!DOCTYPE w [<!ENTITY a "aaaa">]><worksheet'
            ),
        ),
        "rejected",
        "member xl/worksheets/sheet1.xml holds a DOCTYPE declaration",
    ),
    ReaderCase(
        "sheet_renamed_as_picture.xlsx",  # a sheet where only <sheetData> says it is one
        lambda: minimal_xlsx(
            b'<row r="1"><c r="A1"><v>1</v></c></row><row r="900000"><c r="B900000"><v>2</v></c>'
            b"</row>",
            sheet_path="media/image1.png",
        ),
        "rejected",
        "reaches row 900000",
    ),
    ReaderCase(
        "ods_spans.ods",  # 10,001 merged spans: the workbook limit holds for .ods too
        lambda: minimal_ods(
            "".join(
                '<table:table-row><table:table-cell table:number-columns-spanned="2">'
                f"<text:p>{i}</text:p></table:table-cell><table:covered-table-cell/>"
                "</table:table-row>"
                for i in range(10_001)
            )
        ),
        "rejected",
        "more than 10,000 merged ranges (reached in sheet Bảng)",
    ),
    ReaderCase(
        "ods_wide.ods",  # one filled cell repeated 2,000 columns to the right, on row 3
        lambda: minimal_ods(
            '<table:table-row table:number-rows-repeated="2"><table:table-cell/></table:table-row>'
            '<table:table-row><table:table-cell table:number-columns-repeated="2000" '
            + _ODS_CELL[len("<table:table-cell ") :]
            + "</table:table-cell></table:table-row>"
        ),
        "rejected",
        "has 2000 columns (up to column BXX), sheet Bảng, row 3",
    ),
    ReaderCase(
        "ods_empty_tail.ods",  # as LibreOffice saves: empty cells and rows repeated to the end
        lambda: minimal_ods(
            "<table:table-row>"
            + _ODS_CELL
            + '</table:table-cell><table:table-cell table:number-columns-repeated="16383"/>'
            '</table:table-row><table:table-row table:number-rows-repeated="1048575">'
            '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
        ),
        "rejected",
        "no report table found",
    ),
    ReaderCase(
        "utf16_sheet_as_picture.xlsx",  # UTF-16 XML (expat and calamine read it) stored as .png
        lambda: _replaced(
            minimal_xlsx(b"", sheet_path="media/image1.png"),
            "xl/media/image1.png",
            lambda xml: (
                xml.decode()
                .replace('"1.0"?>', '"1.0" encoding="UTF-16"?>')
                .replace(
                    "<sheetData>", '<sheetData><row r="900000"><c r="B900000"><v>2</v></c></row>'
                )
                .encode("utf-16")
            ),
        ),
        "rejected",
        "reaches row 900000, sheet Sheet1",
    ),
    ReaderCase(
        "positional_cells.xlsx",  # cells without r placed as calamine places them: too wide
        lambda: minimal_xlsx(b"<row>" + b"<c><v>1</v></c>" * 1_200 + b"</row>"),
        "rejected",
        "has 1001 columns (up to column ALM), sheet Sheet1, row 1",
    ),
]


READER_LIMITS = Limits.from_env(LIMITS)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, good_landing, catalogue, gazetteer):
    """(raw, status) of the good files alone and of the good files with every reader case."""
    base = tmp_path_factory.mktemp("reader_cases")

    def write(folder):
        for case in CASES:
            (folder / case.name).write_bytes(case.data())

    alone, mixed = ingest_beside_good(
        base, good_landing, write, len(CASES), catalogue, gazetteer, READER_LIMITS
    )
    return alone, mixed, base / "hostile"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reader_case_gets_its_status_and_reason(ingested, case):
    _, (raw, status), _ = ingested
    rows = status.filter(pl.col("source_file") == case.name).to_dicts()
    assert len(rows) == 1, f"{case.name} has no file_status row"
    row = rows[0]
    assert row["status"] == case.status, row
    assert case.reason in (row["reason_en"] or ""), row
    if case.status != "read":
        assert row["reason_vi"] and row["reason_en"], row
    if case.status != "read":
        assert f"Tệp {case.name}" in row["reason_vi"], row
        assert f"file {case.name}" in row["reason_en"], row
    n = raw.filter(pl.col("source_file") == case.name).height
    assert n == case.rows == row["observations"]


def test_good_files_unchanged_beside_the_reader_cases(ingested):
    (raw_alone, status_alone), (raw_mixed, status_mixed), _ = ingested
    assert status_alone["status"].to_list() == ["read"] * 3
    assert _observations(raw_mixed, GOOD).equals(_observations(raw_alone, GOOD))
    assert status_mixed.height == len(GOOD) + len(CASES)


def test_text_that_looks_like_a_number_is_never_a_figure(ingested):
    """<v>2_0</v> is the text "2_0": its figure is a parse error, not 20; the rows are read."""
    _, (raw, _), _ = ingested
    rows = raw.filter(pl.col("source_file") == "underscore_number.xlsx")
    hit = rows.filter(pl.any_horizontal(pl.col("^.*_raw$") == "2_0"))
    assert hit.height >= 1
    for row in hit.iter_rows(named=True):
        assert row["parse_error"], row
        for part in ("numerator", "denominator", "value"):
            parsed = "value_stated" if part == "value" else part
            if row[f"{part}_raw"] == "2_0":
                assert row[parsed] is None, row
    assert 20.0 not in rows.select("numerator", "denominator").to_series().to_list()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_reader_case_is_read_within_a_small_time(ingested, catalogue, case):
    *_, folder = ingested
    (file,) = [f for f in landing_files(folder) if f.rel == case.name]
    started = time.perf_counter()
    _, status = read_file(file, catalogue, limits=READER_LIMITS)
    took = time.perf_counter() - started
    assert status["status"] == case.status and took < SECONDS, (took, status)
