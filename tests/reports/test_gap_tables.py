"""The planners' gap tables (reports/<period>/gaps/) as the demo run wrote them (Huế, 2026-H1):
per indicator the units ranked by gap, remote units first within each class, as .csv and .xlsx;
a combined priority list; cells a spreadsheet would run as formulas arrive as text."""

from __future__ import annotations

import io

import openpyxl
import polars as pl
import pytest

from assets.indicators.gaps import SEVERITY
from assets.reports.gap_tables import COLUMNS, write_gap_tables
from schemas.lake import table_path

PERIOD = "2026-H1"


@pytest.fixture(scope="module")
def lake(demo_run):
    settings = demo_run[0]
    gaps = pl.read_parquet(table_path(settings.lake, "coverage_gaps", PERIOD))
    return settings.reports / PERIOD / "gaps", gaps


def read_csv(path) -> pl.DataFrame:
    text = path.read_bytes().decode("utf-8-sig")  # written with a BOM for Excel
    # Every cell is quoted, so an empty one ("") is a missing value, not text.
    return pl.read_csv(
        io.StringIO(text), schema_overrides={"unit_code": pl.String}, null_values=[""]
    )


def test_one_csv_and_xlsx_per_indicator_and_a_priority_list(lake, catalogue):
    out, _ = lake
    expected = {f"{i}.{ext}" for i in catalogue.ids for ext in ("csv", "xlsx")}
    assert {p.name for p in out.iterdir()} == expected | {"priority.csv", "priority.xlsx"}


def test_units_ranked_by_class_then_remote_first(lake, catalogue):
    out, gaps = lake
    assert gaps["is_remote"].any() and not gaps["is_remote"].all()  # the order means something
    for ind in catalogue.ids:
        table = read_csv(out / f"{ind}.csv")
        assert table.columns == list(COLUMNS)
        assert table["rank"].to_list() == list(range(1, 41))  # all 40 units of Huế
        assert sorted(table["unit_code"]) == sorted(
            gaps.filter(pl.col("indicator_id") == ind)["unit_code"]
        )
        keys = [
            (SEVERITY[c], not remote, -(gap or 0))
            for c, remote, gap in table.select("gap_class", "is_remote", "gap").iter_rows()
        ]
        assert keys == sorted(keys), ind
        sheet = openpyxl.load_workbook(out / f"{ind}.xlsx", read_only=True).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0] == tuple(COLUMNS.values())
        assert [r[0] for r in rows[1:]] == table["rank"].to_list()


def test_priority_list_puts_units_behind_on_most_indicators_first(lake, demo_run):
    out, gaps = lake
    priority = read_csv(out / "priority.csv")
    behind = (
        gaps.filter(pl.col("gap_class").is_in(["large", "not_reported"]))
        .group_by("unit_code")
        .len()
    )
    counts = dict(behind.iter_rows())
    got = [counts.get(c, 0) for c in priority["unit_code"]]
    assert got == priority["indicators_behind"].to_list()
    assert got == sorted(got, reverse=True) and priority.height == 40
    # The units that sent nothing lead the list (every indicator they report is missing).
    silent = set(demo_run[1].not_reported)
    assert set(priority["unit_code"][: len(silent)]) == silent


def test_formula_like_text_arrives_as_text(lake, catalogue, tmp_path):
    _, gaps = lake
    evil_name, evil_file = '=HYPERLINK("http://x.invalid","bấm")', "@SUM(A1:A9).xlsx"
    first = gaps["unit_code"][0]
    gaps = gaps.with_columns(
        unit_name=pl.when(pl.col("unit_code") == first)
        .then(pl.lit(evil_name))
        .otherwise("unit_name"),
        source_file=pl.when(pl.col("unit_code") == first)
        .then(pl.lit(evil_file))
        .otherwise("source_file"),
    )
    write_gap_tables(gaps, catalogue, tmp_path)
    ind = catalogue.ids[0]
    row = read_csv(tmp_path / f"{ind}.csv").filter(pl.col("unit_code") == first)
    assert row["unit_name"].to_list() == ["'" + evil_name]
    assert row["source_file"].to_list() == ["'" + evil_file]
    sheet = openpyxl.load_workbook(tmp_path / f"{ind}.xlsx").worksheets[0]
    cells = [
        c
        for r in sheet.iter_rows(min_row=2)
        for c in r
        if c.value in ("'" + evil_name, "'" + evil_file)
    ]
    assert len(cells) == 2 and all(c.data_type == "s" for c in cells)
    rows = list(openpyxl.load_workbook(tmp_path / "priority.xlsx")["priority"].values)
    names = [r[rows[0].index(COLUMNS["unit_name"])] for r in rows[1:]]
    assert "'" + evil_name in names and evil_name not in names
