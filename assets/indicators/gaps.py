"""Gold tables: each unit's value against its target, and the gap table planners rank.

Every unit of the provinces in scope gets a row per indicator: a unit that did not report has
value null and status `not_reported`, because a missing report is itself a gap. A province with
no accepted figure at all in the period (it sent nothing, or its partition ran without files)
says nothing about its units: they get status `not_in_run`, kept apart from `not_reported`, and
neither ranks ahead of a real gap.
"""

from __future__ import annotations

import geopandas as gpd
import polars as pl

from schemas.catalogue import Catalogue
from schemas.contracts import conform

NOT_REPORTED, NOT_IN_RUN = "not_reported", "not_in_run"
# Ranking order within an indicator: real gaps first, largest class first; units without a
# figure last, those of a province outside the run after those whose province reported.
SEVERITY = {"large": 0, "medium": 1, "small": 2, "meets_target": 3, NOT_REPORTED: 4, NOT_IN_RUN: 5}


def _targets(catalogue: Catalogue) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "indicator_id": [i.id for i in catalogue],
            "target": [i.target for i in catalogue],
            "higher_is_better": [i.direction == "higher" for i in catalogue],
            "small_gap": [i.gap_classes[0] for i in catalogue],
            "medium_gap": [i.gap_classes[1] for i in catalogue],
        }
    )


def compute_indicator_values(
    validated: pl.DataFrame,
    units: pl.DataFrame,
    catalogue: Catalogue,
    period: str,
    provinces: list[str],
    previous: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """indicator_values: every unit of `provinces` × every indicator, with target, gap and trend.

    `units` is admin_units without geometry; `previous` the previous period's indicator_values.
    """
    scope = units.filter(pl.col("province_code").is_in(provinces)).select(
        "unit_code",
        "unit_name",
        "unit_type",
        "province_code",
        "province_name",
        "is_border",
        "is_island",
        "remote_class",
        "is_remote",
    )
    grid = scope.join(_targets(catalogue), how="cross")
    observed = validated.select(
        "unit_code", "indicator_id", "value", "source_file", "source_sheet", "source_row"
    )
    df = grid.join(observed, on=["unit_code", "indicator_id"], how="left")
    # A province reported if any of its units has an accepted figure this period.
    reporting = df.filter(pl.col("value").is_not_null())["province_code"].unique().to_list()
    if previous is not None and not previous.is_empty():
        prev = previous.select("unit_code", "indicator_id", previous_value="value")
        df = df.join(prev, on=["unit_code", "indicator_id"], how="left")
    else:
        df = df.with_columns(previous_value=pl.lit(None, pl.Float64))
    value, target = pl.col("value"), pl.col("target")
    shortfall = pl.when(pl.col("higher_is_better")).then(target - value).otherwise(value - target)
    df = df.with_columns(
        period=pl.lit(period),
        status=pl.when(value.is_not_null())
        .then(pl.lit("reported"))
        .when(pl.col("province_code").is_in(reporting))
        .then(pl.lit(NOT_REPORTED))
        .otherwise(pl.lit(NOT_IN_RUN)),
        gap=pl.max_horizontal(shortfall, pl.lit(0.0)).round(6),
        meets_target=shortfall <= 0,
        change=value - pl.col("previous_value"),
    ).with_columns(gap=pl.when(value.is_null()).then(None).otherwise(pl.col("gap")))
    return conform(df.sort("province_code", "unit_code", "indicator_id"), "indicator_values")


def compute_coverage_gaps(values: pl.DataFrame, catalogue: Catalogue) -> pl.DataFrame:
    """The gap table: a class per unit and indicator, ranked largest class first, remote first
    within a class, largest gap first; units without a figure last (SEVERITY)."""
    gap = pl.col("gap")
    df = values.join(_targets(catalogue).drop("target"), on="indicator_id", how="left")
    df = df.with_columns(
        gap_class=pl.when(pl.col("status").is_in([NOT_REPORTED, NOT_IN_RUN]))
        .then(pl.col("status"))
        .when(gap <= 0)
        .then(pl.lit("meets_target"))
        .when(gap <= pl.col("small_gap"))
        .then(pl.lit("small"))
        .when(gap <= pl.col("medium_gap"))
        .then(pl.lit("medium"))
        .otherwise(pl.lit("large"))
    )
    df = df.with_columns(severity=pl.col("gap_class").replace_strict(SEVERITY)).sort(
        "indicator_id",
        "severity",
        "is_remote",
        "gap",
        "unit_code",
        descending=[False, False, True, True, False],
        nulls_last=True,
    )
    df = df.with_columns(rank=pl.int_range(1, pl.len() + 1).over("indicator_id"))
    return conform(df, "coverage_gaps")


def units_frame(admin_units: gpd.GeoDataFrame) -> pl.DataFrame:
    """admin_units without geometry, as polars."""
    return pl.from_pandas(admin_units.drop(columns=admin_units.geometry.name))
