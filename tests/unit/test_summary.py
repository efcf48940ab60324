"""`dxlake run`'s summary says when reported 5G coverage disagrees with the coverage computed
from the cell sites (it used to show only as a failed Dagster check while the CLI said "done")."""

from __future__ import annotations

import polars as pl

from orchestration.summary import _coverage_lines
from schemas.contracts import CONTRACTS, conform
from schemas.lake import table_path, write_table
from schemas.settings import Settings

PERIOD = "2026-H1"


def _write(settings: Settings, table: str, rows: dict) -> None:
    """A table with the contract's columns; those not given are null."""
    frame = pl.DataFrame(rows).with_columns(
        pl.lit(None).alias(c) for c in CONTRACTS[table] if c not in rows
    )
    write_table(table_path(settings.tables, table, PERIOD), conform(frame, table))


def test_the_summary_names_the_largest_disagreement(tmp_path):
    settings = Settings(home=tmp_path)
    _write(
        settings,
        "computed_coverage",
        {
            "period": [PERIOD] * 2,
            "unit_code": ["19753", "19774"],
            "technology": ["5G", "5G"],
            "population": [1000.0, 3000.0],
            "population_covered": [500.0, 1500.0],
        },
    )
    _write(
        settings,
        "coverage_comparison",
        {
            "period": [PERIOD] * 3,
            "unit_code": ["19753", "19774", "19777"],
            "unit_name": ["Xã A", "Phường B", "Xã C"],
            "reported_value": [90.0, 52.0, None],
            "computed_value": [50.0, 50.0, 10.0],
            "difference_pp": [40.0, 2.0, None],
            "exceeds_tolerance": [True, False, False],
            "tolerance_pp": [5.0] * 3,
        },
    )
    lines = _coverage_lines(settings, PERIOD)
    assert lines[0].startswith("  phủ sóng 5G / 5G coverage: 50.0 %")
    assert lines[1] == (
        "  ! 5G báo cáo lệch tính toán / reported vs computed 5G coverage: 1 đơn vị / units "
        "beyond ±5 điểm / points; lớn nhất / largest Xã A: 90.0 % báo cáo / reported, 50.0 % "
        "tính / computed (xem báo cáo chất lượng / see the quality report)"
    )


def test_no_line_when_reports_and_sites_agree(tmp_path):
    settings = Settings(home=tmp_path)
    _write(
        settings,
        "computed_coverage",
        {"period": [PERIOD], "unit_code": ["19753"], "technology": ["5G"],
         "population": [1000.0], "population_covered": [500.0]},
    )  # fmt: skip
    _write(
        settings,
        "coverage_comparison",
        {"period": [PERIOD], "unit_code": ["19753"], "reported_value": [52.0],
         "computed_value": [50.0], "difference_pp": [2.0], "exceeds_tolerance": [False],
         "tolerance_pp": [5.0]},
    )  # fmt: skip
    assert len(_coverage_lines(settings, PERIOD)) == 1
