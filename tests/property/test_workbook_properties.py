"""Property tests (hypothesis) for the whole per-file read of workbooks: random and malformed
sheet XML, truncated zips, random member names, random bytes inside valid zips, random .ods
tables. Whatever the bytes, `read_file` answers with one status row (read, rejected, ...) and a
bilingual reason naming the file when it is not read, within a time bound, and never by an
error nobody foresaw. Workbooks written by openpyxl read back exactly (a reader independent of
calamine writes them)."""

from __future__ import annotations

import io
import math
import tempfile
import time
import zipfile
from pathlib import Path

import openpyxl
import python_calamine as calamine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assets.ingest.landing import landing_files, read_file
from assets.ingest.limits import (
    Limits,
    UnreadableFile,
    _Book,
    _feed,
    _OdsScan,
    _parser,
    _sheet_bound,
    _SheetScan,
    check_zip,
    column_letters,
)
from assets.ingest.readers import read_sheets
from tests.hostile.cases import minimal_ods, minimal_xlsx

SECONDS = 5.0
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STATUSES = {"read", "rejected", "cell_sites"}
FAST = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

REFS = st.builds(
    lambda col, row: f"{column_letters(col)}{row}",
    st.integers(1, 40) | st.integers(1, 20_000),
    st.integers(0, 60) | st.integers(0, 2_000_000),
)
TEXT = st.sampled_from(
    ["x", "Mã xã", "&amp;", "&#xD800;", "_xD800_", "&#65;", "2_0", "-1", " ", "<", "]]>", "\x00"]
) | st.text(max_size=8)
NUMBERS = st.sampled_from(["0", "1", "-1", "2_0", "1e308", "1.5", "", "NaN", "99999999999"])
# Pieces of sheet XML, well-formed or not, in any order.
PIECES = st.one_of(
    st.builds(lambda r: f'<row r="{r}">', st.integers(-2, 300_000)),
    st.just("<row>"),
    st.just("</row>"),
    st.builds(
        lambda r, t: f'<c r="{r}"{t}>',
        REFS,
        st.sampled_from(["", ' t="s"', ' t="inlineStr"', ' t="str"', ' t="b"', ' t="e"', ' t="d"']),
    ),
    st.just("<c>"),
    st.just("<c/>"),
    st.just("</c>"),
    st.builds(lambda v: f"<v>{v}</v>", NUMBERS),
    st.builds(lambda t: f"<is><t>{t}</t></is>", TEXT),
    st.builds(lambda a, b: f'<mergeCell ref="{a}:{b}"/>', REFS, REFS),
    st.just("<f>SUM(A1:A2)</f>"),
    st.just('<x:c r="A1">'),
    TEXT,
)
SHEET_XML = st.lists(PIECES, max_size=40).map(
    lambda parts: "".join(parts).encode("utf-8", "replace")
)


def _good_workbook() -> bytes:
    return minimal_xlsx(
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>M\xc3\xa3 x\xc3\xa3</t></is></c>'
        b'<c r="B1"><v>12</v></c></row><row r="2"><c r="A2"><v>1.5</v></c></row>'
    )


def _read(data: bytes, name: str = "bao_cao.xlsx", catalogue=None) -> dict:
    """read_file on `data` landed as `name`; checks the status row, the time and the reason."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / name).write_bytes(data)
        (file,) = landing_files(folder)
        started = time.perf_counter()
        observations, status = read_file(file, catalogue)
        took = time.perf_counter() - started
    assert took < SECONDS, (took, status)
    assert status["status"] in STATUSES, status
    assert status["source_file"] == name
    if status["status"] != "read":
        assert status["reason_vi"] and status["reason_en"], status
        assert name in status["reason_en"] and name in status["reason_vi"], status
    assert "unexpected error" not in (status["reason_en"] or ""), status
    assert len(observations) == (status["observations"] or 0)
    return status


@FAST
@given(SHEET_XML, st.booleans(), st.lists(TEXT, max_size=3) | st.none())
def test_any_sheet_xml_gets_a_status(catalogue, xml, prefixed, shared):
    extra = {}
    if shared is not None:
        items = "".join(f"<si><t>{s}</t></si>" for s in shared)
        extra["xl/sharedStrings.xml"] = f"<sst>{items}</sst>".encode("utf-8", "replace")
    if prefixed:
        xml = xml.replace(b"<c ", b"<x:c ").replace(b"</c>", b"</x:c>")
    _read(minimal_xlsx(xml, extra=extra, prefix="x:" if prefixed else ""), catalogue=catalogue)


@FAST
@given(st.data())
def test_a_truncated_workbook_gets_a_status(catalogue, data):
    whole = _good_workbook()
    cut = data.draw(st.integers(0, len(whole) - 1))
    status = _read(whole[:cut] or b"P", catalogue=catalogue)
    assert status["status"] == "rejected"


@FAST
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "mimetype", "content.xml"]
            )
            | st.text(min_size=1, max_size=20),
            st.binary(max_size=64) | SHEET_XML,
        ),
        max_size=6,
    ),
    st.sampled_from(["bao_cao.xlsx", "bao_cao.ods", "bao_cao.xlsm"]),
)
def test_any_members_get_a_status(catalogue, members, name):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for member, body in dict(members).items():  # one body per name (zipfile warns else)
            try:
                zf.writestr(member, body)
            except (ValueError, UnicodeEncodeError, IndexError):
                continue  # a name zipfile itself will not write
    _read(out.getvalue(), name, catalogue=catalogue)


@FAST
@given(st.data(), st.booleans())
def test_random_bytes_inside_a_valid_zip_get_a_status(catalogue, data, stored):
    whole = _good_workbook()
    if stored:  # the sheet's XML itself then lies in the zip's bytes, to be damaged
        src, out = zipfile.ZipFile(io.BytesIO(whole)), io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
            for info in src.infolist():
                dst.writestr(info.filename, src.read(info))
        whole = out.getvalue()
    damaged = bytearray(whole)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        damaged[at] = data.draw(st.integers(0, 255))
    _read(bytes(damaged), catalogue=catalogue)


ODS_PIECES = st.one_of(
    st.builds(
        lambda n: f'<table:table-row table:number-rows-repeated="{n}">',
        st.sampled_from(["1", "3", "0", "-1", "x", "1048576", "99999999999999"]),
    ),
    st.just("<table:table-row>"),
    st.just("</table:table-row>"),
    st.builds(
        lambda n, v: f'<table:table-cell table:number-columns-repeated="{n}"{v}>',
        st.sampled_from(["1", "2", "1024", "0", "16384"]),
        st.sampled_from(["", ' office:value-type="float" office:value="1"']),
    ),
    st.just("<table:covered-table-cell/>"),
    st.just('<table:table-cell table:number-columns-spanned="2" table:number-rows-spanned="2">'),
    st.just("</table:table-cell>"),
    st.builds(lambda t: f"<text:p>{t}</text:p>", TEXT),
    st.builds(lambda n: f'<table:table table:name="{n}">', st.sampled_from(["T", "Bảng 2"])),
    st.just("</table:table>"),
)


@FAST
@given(st.lists(ODS_PIECES, max_size=30))
def test_any_ods_table_gets_a_status(catalogue, pieces):
    _read(
        minimal_ods("".join(pieces).encode("utf-8", "replace")), "bao_cao.ods", catalogue=catalogue
    )


CELL_VALUES = st.one_of(
    st.integers(-(10**12), 10**12),
    # openpyxl writes 16 significant digits (%.16g): a double needing 17 would not come back
    st.floats(allow_nan=False, allow_infinity=False)
    .map(lambda f: float(f"{f:.15g}"))
    .filter(math.isfinite),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12
    ).filter(lambda s: s.strip() == s and not s.startswith("=") and "_x" not in s),
)


@FAST
@given(
    st.dictionaries(
        st.tuples(st.integers(1, 60), st.integers(1, 12)), CELL_VALUES, min_size=1, max_size=40
    ),
    st.lists(
        st.tuples(st.integers(1, 30), st.integers(1, 8), st.integers(0, 3), st.integers(0, 2)),
        max_size=4,
    ),
)
def test_workbooks_openpyxl_writes_read_back_exactly(tmp_path_factory, cells, merges):
    """The grid read (limits' scan, then calamine) is the grid written, merges included."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Báo cáo"
    for (r, c), value in cells.items():
        sheet.cell(r, c, value)
    written = set()
    for r, c, dr, dc in merges:
        span = {(r + i, c + j) for i in range(dr + 1) for j in range(dc + 1)}
        if (dr or dc) and not span & written:
            sheet.merge_cells(start_row=r, start_column=c, end_row=r + dr, end_column=c + dc)
            written |= span
    path = tmp_path_factory.mktemp("wb") / "ghi.xlsx"
    book.save(path)
    expected = {(r, c): v for (r, c), v in cells.items() if sheet.cell(r, c).value is not None}
    (read,) = read_sheets(path)
    got = {
        (i + 1, j + 1): v
        for i, row in enumerate(read.rows)
        for j, v in enumerate(row)
        if v is not None
    }
    assert got == {k: float(v) if isinstance(v, int) else v for k, v in expected.items()}
    merged = {((r0 + 1, c0 + 1), (r1 + 1, c1 + 1)) for (r0, c0), (r1, c1) in read.merged}
    assert merged == {
        ((m.min_row, m.min_col), (m.max_row, m.max_col)) for m in sheet.merged_cells.ranges
    }


HUGE = Limits(
    max_rows=10**12,
    max_columns=10**12,
    max_cells=10**24,
    max_workbook_cells=10**24,
    max_merged_ranges=10**12,
)


def _exact(xml: bytes) -> tuple[int, int, int, int] | UnreadableFile | None:
    """What the exact scan (expat and _SheetScan) finds: (rows, columns, cells, merged), its
    refusal, or None for XML expat refuses."""
    book = _Book("t.xlsx", HUGE, zipfile.ZipFile(io.BytesIO(minimal_xlsx(b""))))
    scan = _SheetScan(book, "xl/worksheets/sheet1.xml")
    parser = _parser(book.name, scan.member, scan)
    try:
        _feed(parser, xml, True, book.name, scan.member)
        scan.finish()
    except UnreadableFile as refused:
        return None if "well-formed" in refused.reason_en else refused
    return scan.rows, scan.cols, scan.cells, book.merged


def _cell_xml(ref: str | None, kind: str, value: str | None, attrs: str) -> str:
    r = f' r="{ref}"' if ref is not None else ""
    t = f' t="{kind}"' if kind else ""
    if value is None:
        return f"<c{r}{t}{attrs}/>"
    inner = f"<is><t>{value}</t></is>" if kind == "inlineStr" else f"<v>{value}</v>"
    return f"<c{r}{attrs}{t}>{inner}</c>"


def _well_formed(refs, kinds, values) -> st.SearchStrategy[bytes]:
    """Well-formed rows of cells as Excel writes them, with what it never writes mixed in."""
    cell = st.builds(
        _cell_xml,
        st.none() | refs | st.sampled_from(["A0", "a1", "A01", "&#65;1", "AAAA1"]),
        kinds,
        st.none() | values,
        st.sampled_from(["", ' s="1"', " r2='x'"]),
    )
    row = st.builds(
        lambda r, cells: (
            (f'<row r="{r}">' if r is not None else "<row>") + "".join(cells) + "</row>"
        ),
        st.none() | st.integers(0, 300_000) | st.integers(1, 999),
        st.lists(cell, max_size=6),
    )
    merge = st.builds(lambda a, b: f'<mergeCell ref="{a}:{b}"/>', refs, refs)
    return st.builds(
        lambda rows, merges: (
            "".join(rows).encode()
            + (b"</sheetData><mergeCells>" + "".join(merges).encode() + b"</mergeCells><sheetData>")
        ),
        st.lists(row, max_size=8),
        st.lists(merge, max_size=3),
    )


WELL_FORMED = _well_formed(
    REFS,
    st.sampled_from(["", "s", "inlineStr", "n"]),
    NUMBERS | st.sampled_from(["12", "0", "&#45;1", " 3"]),
)
# Mostly what calamine reads (small references, numbers and inline strings): for comparing grids.
READABLE = _well_formed(
    st.builds(
        lambda col, row: f"{column_letters(col)}{row}",
        st.integers(1, 30),
        st.integers(1, 300) | st.integers(1, 250_000),
    ),
    st.sampled_from(["", "inlineStr", "n"]),
    st.sampled_from(["1", "2.5", "-3", "x"]),
)


@settings(max_examples=400, deadline=None)
@given(SHEET_XML | WELL_FORMED, st.booleans())
def test_the_fast_bound_never_undercounts_the_exact_scan(body, wrapped):
    """_sheet_bound (byte counts, no Python per cell) may answer only for a sheet the exact
    scan accepts, and then with at least its extent, cells and merged ranges."""
    xml = f'<worksheet xmlns="{MAIN}"><sheetData>'.encode() + body + b"</sheetData></worksheet>"
    xml = xml if wrapped else body
    exact = _exact(xml)
    bound = _sheet_bound(xml)
    if bound is None or exact is None:
        return
    assert not isinstance(exact, UnreadableFile), (exact.reason_en, bound)
    assert all(b >= e for b, e in zip(bound, exact, strict=True)), (bound, exact)


def _calamine_grids(data: bytes) -> list[tuple[int, int]] | None:
    """(rows, columns) of the grid calamine builds for each worksheet, None if it refuses or
    the zip check refuses the file first (calamine is never shown what the check refuses: an
    extent of billions of cells aborts the process as it allocates)."""
    try:
        check_zip("t", data, Limits())
    except UnreadableFile:
        return None
    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        ends = [book.get_sheet_by_name(name).end for name in book.sheet_names]
    except BaseException as exc:  # calamine's errors and Rust panics
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        return None
    return [(end[0] + 1, end[1] + 1) if end else (0, 0) for end in ends]


@settings(max_examples=300, deadline=None)
@given(READABLE | WELL_FORMED | SHEET_XML)
def test_the_scan_never_undercounts_the_grid_calamine_builds(body):
    """What the scan lets through, calamine builds no larger: its grid's rows and columns are
    at most the extent the scan counted (so the limits bound calamine's allocation)."""
    data = minimal_xlsx(body)
    xml = f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>'.encode()
    exact = _exact(xml + body + b"</sheetData></worksheet>")
    grids = _calamine_grids(data)
    if grids is None or exact is None or isinstance(exact, UnreadableFile):
        return
    ((rows, cols),) = grids
    if rows * cols:
        assert rows <= exact[0] and cols <= exact[1], (rows, cols, exact)


ODS_CELL = st.builds(
    lambda repeat, value, span: (
        "<table:table-cell"
        + (f' table:number-columns-repeated="{repeat}"' if repeat > 1 else "")
        + (' table:number-columns-spanned="2"' if span else "")
        + (' office:value-type="float" office:value="1"' if value == "float" else "")
        + (f"><text:p>{value}</text:p></table:table-cell>" if value else "/>")
    ),
    st.sampled_from([1, 1, 2, 40, 1024]),
    st.sampled_from(["", "float", "x"]),
    st.booleans(),
) | st.just("<table:covered-table-cell/>")
ODS_ROWS = st.lists(
    st.builds(
        lambda repeat, cells: (
            "<table:table-row"
            + (f' table:number-rows-repeated="{repeat}"' if repeat > 1 else "")
            + ">"
            + "".join(cells)
            + "</table:table-row>"
        ),
        st.sampled_from([1, 1, 3, 500, 1_048_000]),
        st.lists(ODS_CELL, min_size=1, max_size=5),
    ),
    max_size=6,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(ODS_ROWS | st.lists(ODS_PIECES, max_size=30).map("".join))
def test_the_ods_scan_never_undercounts_the_grids_calamine_builds(markup):
    data = minimal_ods(markup.encode("utf-8", "replace"))
    grids = _calamine_grids(data)
    book = _Book("t.ods", HUGE, zipfile.ZipFile(io.BytesIO(data)))
    scan = _OdsScan(book)
    parser = _parser(book.name, "content.xml", scan)
    try:
        _feed(parser, zipfile.ZipFile(io.BytesIO(data)).read("content.xml"), True, "t", "c")
        scan.finish()
    except UnreadableFile:
        return
    if grids is not None:
        assert sum(r * c for r, c in grids) <= book.cells, (grids, book.cells)
