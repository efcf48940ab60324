"""Red-team round on issue 18: inputs the hostile suite did not cover, each a defect found."""

from __future__ import annotations

import io
import os
import random
import resource
import string
import time
from pathlib import Path

import polars as pl
import pytest
import python_calamine

from assets.ingest import limits as lim
from assets.ingest.landing import ingest_folder
from assets.ingest.readers import read_sheets
from assets.ingest.sites import read_cell_sites
from tests.hostile.cases import PERIOD, minimal_ods, other_province_csv
from tests.hostile.conftest import copy_good
from tests.hostile.test_hostile_files import GOOD
from tests.hostile.test_reader_cases import workbook


def _sheet(rows: int, cols: int = 5) -> bytes:
    return b"".join(
        b'<row r="%d">' % r
        + b"".join(
            b'<c r="%s%d"><v>1</v></c>' % (lim.column_letters(c).encode(), r)
            for c in range(1, cols + 1)
        )
        + b"</row>"
        for r in range(1, rows + 1)
    )


@pytest.mark.parametrize(("sheets", "rows"), [(60, 2000), (500, 30)])
def test_many_ordinary_sheets_are_not_refused_by_their_fast_bounds(sheets, rows):
    """The fast bound of a sheet of 2,000 rows is 9,999 × 26 cells, of 30 rows 999 × 26: 60 (or
    500) such sheets, 600,000 (75,000) cells in all, once added up to over the 10,000,000-cell
    workbook limit and the workbook was refused. The bounds are settled exactly first."""
    data = workbook([(f"S{i}", _sheet(rows)) for i in range(sheets)])
    lim.check_zip("many_sheets.xlsx", data, lim.Limits())


def test_a_workbook_really_over_the_limit_is_still_refused_after_settling():
    data = workbook([(f"S{i}", _sheet(2000)) for i in range(60)])  # 600,000 cells in all
    with pytest.raises(lim.UnreadableFile, match="DXLAKE_MAX_WORKBOOK_CELLS"):
        lim.check_zip("many_sheets.xlsx", data, lim.Limits(max_workbook_cells=500_000))


def test_file_names_not_in_utf8_get_their_status_and_stop_nothing(
    tmp_path, good_landing, lowered_limits, catalogue, gazetteer
):
    """A name in cp1258 bytes (unzipped from a Windows archive) came back from the listing with
    lone surrogates, which no frame can hold: the whole period stopped on a UnicodeEncodeError
    naming no file. Each such entry now gets its status, the name shown with \\xNN."""
    copy_good(good_landing, tmp_path)
    root = os.fsencode(tmp_path)
    csv = other_province_csv(skip=30)
    entries = {
        b"b\xe1o_c\xe1o.csv": ("b\\xe1o_c\\xe1o.csv", "read"),
        b"h\xf5ng.xlsx": ("h\\xf5ng.xlsx", "rejected"),
        b"th\xfa_m\xfcc/x.csv": ("th\\xfa_m\\xfcc/x.csv", "read"),
    }
    os.mkdir(os.path.join(root, b"th\xfa_m\xfcc"))
    with open(os.path.join(root, b"b\xe1o_c\xe1o.csv"), "wb") as fh:
        fh.write(csv)
    with open(os.path.join(root, b"h\xf5ng.xlsx"), "wb") as fh:
        fh.write(b"PK\x03\x04 not a zip" * 8)
    with open(os.path.join(root, b"th\xfa_m\xfcc/x.csv"), "wb") as fh:
        fh.write(other_province_csv(skip=40))
    raw, status = ingest_folder(tmp_path, PERIOD, catalogue, gazetteer)
    assert status.height == len(GOOD) + len(entries)
    for shown, kind in entries.values():
        row = status.filter(pl.col("source_file") == shown).to_dicts()
        assert len(row) == 1 and row[0]["status"] == kind, (shown, row)
        if kind == "rejected":
            assert shown in row[0]["reason_en"] and shown in row[0]["reason_vi"], row
        else:
            assert raw.filter(pl.col("source_file") == shown).height == row[0]["observations"] > 0


def test_a_cell_site_list_named_not_in_utf8_is_read(tmp_path):
    """The cell_sites asset reads the same landing: its sheet (a CSV's name) had the surrogates."""
    path = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"tr\xe1m.csv")))
    path.write_text(
        "Nhà mạng;Mã trạm;Công nghệ;Vĩ độ;Kinh độ;Bán kính (km)\n"
        "Viettel;HUE001;5G;16,4637;107,5909;1,2\n",
        encoding="utf-8",
    )
    sites = read_cell_sites(path, "tr\\xe1m.csv", "abc")
    assert sites["source_sheet"].to_list() == ["tr\\xe1m"]


_ROWS = (
    '<table:table-row table:number-rows-repeated="{n}"><table:table-cell office:value-type="float"'
    ' office:value="1" table:number-columns-repeated="{c}"><text:p>1</text:p></table:table-cell>'
    "</table:table-row>"
)
_SUB_TABLE = (  # a table inside a cell: calamine reads on in the outer table
    '<table:table-row><table:table-cell><table:table table:name="trong"><table:table-row>'
    '<table:table-cell office:value-type="float" office:value="2"><text:p>2</text:p>'
    "</table:table-cell></table:table-row></table:table></table:table-cell></table:table-row>"
)


def test_a_sub_table_does_not_restart_the_ods_scan():
    """150,000 rows, a sub-table in a cell, 150,000 rows: calamine builds one grid of 300,001
    rows, over the 200,000-row limit; the scan took the sub-table for a new sheet and counted
    two of 150,000, so calamine built the grid before anything refused it."""
    data = minimal_ods(_ROWS.format(n=150_000, c=1) + _SUB_TABLE + _ROWS.format(n=150_000, c=1))
    assert python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(
        "Bảng"
    ).end == (300_000, 0)
    with pytest.raises(lim.UnreadableFile, match="row 300002, sheet Bảng"):
        lim.check_zip("sub_table.ods", data, lim.Limits())


def test_the_outer_row_goes_on_after_a_sub_table():
    wide = _SUB_TABLE.replace(
        "</table:table-cell></table:table-row>",
        '</table:table-cell><table:table-cell office:value-type="float" office:value="3" '
        'table:number-columns-repeated="1000"><text:p>3</text:p></table:table-cell>'
        "</table:table-row>",
    )
    data = minimal_ods(wide)  # calamine: 1,001 columns
    assert (
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        .get_sheet_by_name("Bảng")
        .end[1]
        == 1000
    )
    with pytest.raises(lim.UnreadableFile, match="1001 columns"):
        lim.check_zip("sub_table_wide.ods", data, lim.Limits())


def test_a_csv_of_quotes_is_read_in_far_less_than_the_time_limit(tmp_path):
    """csv.Sniffer's regexes take time quadratic in the sample: 64 KB of '",' (the old sample)
    took 22 s, a whole file's time limit, from a 64 KB file."""
    path = tmp_path / "quotes.csv"
    path.write_text('",' * 32_000 + "\na;b\n", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(lim.UnreadableFile, match="columns"):
        read_sheets(path, lim.Limits())
    assert time.monotonic() - started < 8


def _amplifying_workbook(cells: int) -> bytes:
    """One 1 MB shared string referenced by `cells` cells: calamine copies it for each (1 GB
    from a 0.7 MB file), as Python does again when the grid becomes lists."""
    text = "".join(random.Random(7).choices(string.ascii_letters, k=1_000_000))
    sheet = b"".join(
        b'<row r="%d"><c r="A%d" t="s"><v>0</v></c></row>' % (i, i) for i in range(1, cells + 1)
    )
    data = workbook([("S", sheet)], shared=[text])
    return data


def test_the_cell_sites_asset_reads_each_file_under_the_cost_bound(tmp_path, monkeypatch):
    """cell_sites re-read every landing file looking for site lists, in the step's own
    process: ingest's worker refused this 0.7 MB file over the memory limit, but cell_sites
    then took 36 s and 9.8 GB for it (5,000 cells), 20 GB with twice as many. It now reads
    only the files the snapshot told for site lists, each under the bound."""
    import dagster as dg

    from assets.coverage.assets import cell_sites
    from assets.ingest.snapshot import take_snapshot, write_snapshot
    from assets.resources import LakeResource

    landing = tmp_path / "landing" / PERIOD
    landing.mkdir(parents=True)
    (landing / "amplify.xlsx").write_bytes(_amplifying_workbook(1000))
    (landing / "tram.csv").write_text(
        "Nhà mạng;Mã trạm;Công nghệ;Vĩ độ;Kinh độ;Bán kính (km)\n"
        "Viettel;HUE001;5G;16,4637;107,5909;1,2\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("DXLAKE_MAX_MEMORY_MB", "300")
    lake = LakeResource(home=str(tmp_path))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10  # MB
    rows, files = take_snapshot(lake.settings, PERIOD)
    write_snapshot(lake.settings.tables, PERIOD, rows, files)
    status = dict(files.select("source_file", "status").iter_rows())
    assert status == {"amplify.xlsx": "rejected", "tram.csv": "cell_sites"}
    sites = cell_sites(dg.build_asset_context(partition_key=PERIOD), lake=lake)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10) - before
    assert sites["site_id"].to_list() == ["HUE001"]
    assert grown < 500, f"the asset's own process grew by {grown} MB"


def test_a_file_replaced_with_its_size_and_time_kept_is_read_again(
    tmp_path, lowered_limits, catalogue, gazetteer
):
    """Whether the period's snapshot is current was told by names, sizes and modification times:
    a corrected report of the same size copied with its time kept (cp -p, rsync -t, an
    archive's dates) kept the old figures in every later run."""
    from assets.ingest.landing import ingest_folder
    from assets.ingest.snapshot import landing_fingerprint

    landing = tmp_path / "landing"
    landing.mkdir()
    path = landing / "bao_cao.csv"
    path.write_bytes(other_province_csv(skip=30))
    raw, _ = ingest_folder(landing, PERIOD, catalogue, gazetteer)
    stamp = landing_fingerprint(landing)
    st = path.stat()
    corrected = tmp_path / "corrected.csv"
    corrected.write_bytes(other_province_csv(skip=30).replace(b";20;", b";29;"))
    assert corrected.stat().st_size == st.st_size
    os.utime(corrected, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(corrected, path)  # as `cp -p` or an unzip leaves it: same size, same time
    assert landing_fingerprint(landing) != stamp  # a new snapshot is taken
    again, _ = ingest_folder(landing, PERIOD, catalogue, gazetteer)
    assert again["file_sha256"].unique().to_list() != raw["file_sha256"].unique().to_list()
    assert 29 in again["denominator"].to_list() and 29 not in raw["denominator"].to_list()


def test_a_table_of_formulas_saved_without_values_is_not_a_silent_read(
    tmp_path, lowered_limits, catalogue, gazetteer
):
    """A workbook written by a program (openpyxl here) holds formulas and no saved values: its
    communes' figures read as empty, and the file was "read", 0 observations, no reason."""
    from openpyxl import Workbook

    lines = other_province_csv(skip=130).decode().strip().split("\n")
    wb = Workbook()
    for i, line in enumerate(lines):
        cells = [c or None for c in line.split(";")]
        wb.active.append(cells if i < 3 else [*cells[:2], "=10+10", f"=C{i + 1}-2"])
    wb.save(tmp_path / "cong_thuc.xlsx")
    raw, status = ingest_folder(tmp_path, PERIOD, catalogue, gazetteer)
    row = status.row(0, named=True)
    assert raw.is_empty() and row["observations"] == 0
    assert "file cong_thuc.xlsx" in row["reason_en"] and "Tệp cong_thuc.xlsx" in row["reason_vi"]
    assert "formulas saved without their values" in row["reason_en"]


def test_a_mac_csv_with_lone_cr_line_ends_is_read_not_one_long_line(tmp_path):
    """Excel's "CSV (Macintosh)" ends lines with CR alone: the line-length check counted LFs
    only, so a file larger than DXLAKE_MAX_LINE_BYTES was refused as one long line 1."""
    lines = other_province_csv(skip=5).decode().strip().split("\n")
    body = "\r".join(lines[:3] + lines[3:] * 100) + "\r"
    path = tmp_path / "mac.csv"
    path.write_text(body, encoding="utf-8")
    limits = lim.Limits(max_line_bytes=4096)
    assert path.stat().st_size > 2 * limits.max_line_bytes
    assert len(read_sheets(path, limits)[0].rows) == 3 + 300
    path.write_text("x" * 5000 + "\r\n" + body, encoding="utf-8")
    with pytest.raises(lim.UnreadableFile, match="line 1 is longer"):
        read_sheets(path, limits)
