"""The gap tables, the priority list and a return-to-sender workbook opened by a real reader:
LibreOffice headless converts each sheet to .csv as shown on screen. The titles and headers read
in Vietnamese with English beside, numbers show in their formats, and text a spreadsheet could
run ("=1+1", "-2", "@SUM(1)") shows as typed, never computed. Needs `soffice` (Debian:
libreoffice-calc)."""

from __future__ import annotations

import csv
import shutil
import subprocess

import polars as pl
import pytest

from assets.reports.gap_tables import GAP_LABELS, write_gap_tables
from assets.reports.returns import returns_workbooks
from schemas.lake import read_period, table_path

PERIOD = "2026-H1"
# UTF-8, first line 1, text quoted, cell contents as shown (formats applied), every sheet.
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,true,true,true,false,false,-1"


def soffice_csv(books: list, out_dir, profile) -> dict[str, list[list[str]]]:
    """Each workbook's single sheet as LibreOffice shows it: workbook stem → rows."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.fail("LibreOffice (soffice) is needed to open the workbooks as a reader does")
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            CSV_FILTER,
            "--outdir",
            str(out_dir),
            *map(str, books),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    out = {}
    for book in books:
        (path,) = out_dir.glob(f"{book.stem}-*.csv")  # <workbook>-<sheet>.csv
        with path.open(encoding="utf-8", newline="") as fh:
            out[book.stem] = list(csv.reader(fh))
    return out


@pytest.fixture(scope="module")
def shown(demo_run, catalogue, tmp_path_factory):
    settings = demo_run[0]
    tmp = tmp_path_factory.mktemp("libreoffice")
    gaps = pl.read_parquet(table_path(settings.lake, "coverage_gaps", PERIOD))
    first = gaps.sort("unit_code")["unit_code"][0]
    gaps = gaps.with_columns(
        unit_name=pl.when(pl.col("unit_code") == first).then(pl.lit("=1+1")).otherwise("unit_name")
    )
    write_gap_tables(gaps, catalogue, tmp / "gaps")
    quarantined = read_period(settings.lake, "quarantined_rows", PERIOD)
    quarantined = quarantined.with_columns(
        unit_name_raw=pl.when(pl.col("rule_id") == "not_a_number")
        .then(pl.lit("@SUM(1)"))
        .otherwise("unit_name_raw")
    )
    books = returns_workbooks(quarantined, tmp / "returns", catalogue)
    paths = [tmp / "gaps" / "pop_5g_coverage.xlsx", tmp / "gaps" / "priority.xlsx"]
    paths += sorted(books.values())
    return soffice_csv(paths, tmp / "csv", tmp / "profile"), gaps, first


def test_gap_table_reads_with_title_headers_words_and_formatted_numbers(shown, catalogue):
    books, gaps, first = shown
    rows = books["pop_5g_coverage"]
    ind = catalogue["pop_5g_coverage"]
    assert rows[0][0] == f"{ind.name_vi} / {ind.name_en}"
    assert PERIOD in rows[1][0] and "≥ 95" in rows[1][0]
    head = rows[3]
    assert head[:3] == ["Thứ tự / Rank", "Mã đơn vị / Unit code", "Tên đơn vị / Unit name"]
    data = rows[4:]
    assert len(data) == 40
    col = head.index
    lake = gaps.filter(pl.col("indicator_id") == ind.id).sort("rank")
    for row, want in zip(data, lake.iter_rows(named=True), strict=True):
        value = row[col("Giá trị (% dân số) / Value (% of population)")]
        assert value == ("" if want["value"] is None else f"{want['value']:.1f}")
        assert row[col("Mức khoảng cách / Gap class")] == GAP_LABELS[want["gap_class"]]
        assert row[col("Vùng khó khăn / Remote")] in ("Có", "Không")
    names = [r[col("Tên đơn vị / Unit name")] for r in data]
    assert "=1+1" in names and "2" not in names  # shown as typed, not computed


def test_priority_list_reads_rank_first(shown):
    books, _, _ = shown
    rows = books["priority"]
    assert rows[0][0].startswith("Danh sách ưu tiên / Priority list")
    assert rows[3][0] == "Thứ tự ưu tiên / Priority"
    assert [r[0] for r in rows[4:]] == [str(k) for k in range(1, 41)]
    assert "=1+1" in {r[2] for r in rows[4:]}


def test_returns_show_the_value_as_typed_and_the_problem_in_words(shown):
    books, _, _ = shown
    (stem,) = [s for s in books if s.startswith("so_khcn_hue_2026-H1")]
    rows = books[stem]
    assert rows[0][0].startswith("Số liệu cần sửa")
    head = rows[3]
    data = [dict(zip(head, r, strict=True)) for r in rows[4:]]
    negative = next(r for r in data if r["Lỗi cần sửa / What to fix"] == "Số liệu âm")
    assert negative["Giá trị (như đã ghi) / Value as written"] == "-2"  # no apostrophe
    assert negative["Chỉ tiêu / Indicator"] == "Số thôn, bản còn vùng lõm sóng"
    text = next(r for r in data if r["Tên đơn vị (như đã ghi) / Unit name as written"] == "@SUM(1)")
    assert text["Tử số (như đã ghi) / Numerator as written"] == "chưa có"
