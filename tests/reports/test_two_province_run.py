"""A two-province run where one province sent nothing (as a backfill of Huế and Đà Nẵng from the
Dagster UI): Đà Nẵng's 94 units are "not in this run", kept apart from Huế's units that did not
report, and neither ranks ahead of a real gap, in the gap tables or the priority list."""

from __future__ import annotations

import dagster as dg
import openpyxl
import polars as pl
import pytest

from assets.reports.gap_tables import GAP_LABELS, PRIORITY_COLUMNS
from orchestration.runner import materialize_period
from schemas.lake import table_path
from schemas.settings import Settings

PERIOD = "2026-H1"
HUE, DA_NANG = "46", "48"
HEADER = (
    "Mã xã;Số thôn, bản còn vùng lõm sóng;Tổng số cán bộ, công chức cấp xã;"
    "Số cán bộ, công chức có máy tính đáp ứng cấu hình tối thiểu"
)
REPORTED = {"19753", "19774", "19777"}  # Huế communes in the one file
INDICATORS = ("villages_without_mobile_signal", "officials_with_computer")
NOT_IN_RUN = GAP_LABELS["not_in_run"]
NOT_REPORTED = GAP_LABELS["not_reported"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    home = tmp_path_factory.mktemp("two_provinces")
    landing = home / "landing" / PERIOD
    landing.mkdir(parents=True)
    (landing / "hue.csv").write_text(
        f"{HEADER}\n19753;1;20;12\n19774;0;25;25\n19777;3;18;17\n", encoding="utf-8"
    )
    settings = Settings(home=home)
    (home / ".dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(home / ".dagster")) as instance:
        results = materialize_period(
            settings, PERIOD, instance, log_level="ERROR", provinces=[HUE, DA_NANG]
        )
    assert results and all(r.success for r in results)
    gaps = pl.read_parquet(table_path(settings.lake, "coverage_gaps", PERIOD))
    return settings.reports / PERIOD / "gaps", gaps


def test_the_silent_province_is_not_in_the_run_and_the_other_reports_its_gaps(run):
    _, gaps = run
    by_province = dict(
        gaps.group_by("province_code").agg(pl.col("gap_class").unique().sort()).iter_rows()
    )
    assert by_province[DA_NANG] == ["not_in_run"]
    da_nang = gaps.filter(pl.col("province_code") == DA_NANG)
    assert da_nang["unit_code"].n_unique() == 94 and (da_nang["status"] == "not_in_run").all()
    hue = gaps.filter(pl.col("province_code") == HUE)
    assert "not_in_run" not in by_province[HUE]
    reported = hue.filter(pl.col("status") == "reported")
    assert set(reported["unit_code"]) == REPORTED and set(reported["indicator_id"]) == set(
        INDICATORS
    )
    assert set(hue.filter(pl.col("status") != "reported")["status"]) == {"not_reported"}


def sheet(path) -> list[list]:
    ws = openpyxl.load_workbook(path).worksheets[0]
    return [[c.value for c in r] for r in ws.iter_rows(min_row=4)]


def test_gap_tables_put_real_gaps_first_then_not_reported_then_not_in_run(run, catalogue):
    out, gaps = run
    for ind in catalogue.ids:
        head, *rows = sheet(out / f"{ind}.xlsx")
        classes = [r[head.index("Mức khoảng cách / Gap class")] for r in rows]
        codes = [r[head.index("Mã đơn vị / Unit code")] for r in rows]
        assert len(rows) == 40 + 94
        # Đà Nẵng's 94 units close the table, under their own label
        assert classes[-94:] == [NOT_IN_RUN] * 94 and NOT_IN_RUN not in classes[:-94]
        assert set(codes[-94:]) == set(gaps.filter(pl.col("province_code") == DA_NANG)["unit_code"])
        first_missing = classes.index(NOT_REPORTED)
        assert set(classes[first_missing:-94]) == {NOT_REPORTED}  # then nothing but the silent
        reported = set(codes[:first_missing])
        assert reported == (REPORTED if ind in INDICATORS else set()), ind
    # a real gap leads: Huế's 19753 has 12 of 20 officials with a computer (60 %, large gap)
    head, *rows = sheet(out / "officials_with_computer.xlsx")
    assert rows[0][head.index("Mã đơn vị / Unit code")] == "19753"
    assert rows[0][head.index("Mức khoảng cách / Gap class")] == GAP_LABELS["large"]


def test_priority_list_ranks_the_silent_province_last(run):
    out, _ = run
    head, *rows = sheet(out / "priority.xlsx")
    assert head == [c.header for c in PRIORITY_COLUMNS]
    col = {c.name: head.index(c.header) for c in PRIORITY_COLUMNS}
    codes = [r[col["unit_code"]] for r in rows]
    assert set(codes[:2]) == {"19753", "19777"}  # behind on an indicator: first
    assert codes[2] == "19774"  # meets both targets it reported
    assert all(r[col["not_reported"]] == 9 for r in rows[3:40])  # Huế's silent units
    assert all(r[col["not_in_run"]] == 9 and r[col["not_reported"]] == 0 for r in rows[40:])
    assert [r[col["rank"]] for r in rows] == list(range(1, 135))
