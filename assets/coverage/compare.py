"""Reported against computed pop_5g_coverage, and the scope of a period's computation."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import polars as pl

from schemas.contracts import conform
from schemas.lake import Location, read_period

INDICATOR = "pop_5g_coverage"
TECHNOLOGY = "5G"
DEFAULT_TOLERANCE_PP = 5.0


def provinces_with_sites(admin_units: gpd.GeoDataFrame, sites: pl.DataFrame) -> list[str]:
    """Provinces holding at least one usable site: where a computation means something.

    Outside them a population grid may not even exist, and a share of 0 would read as a
    finding rather than as "no sites were sent".
    """
    usable = sites.filter(pl.col("reason_en").is_null())
    if usable.is_empty():
        return []
    points = gpd.GeoSeries(
        gpd.points_from_xy(usable["lon"].to_numpy(), usable["lat"].to_numpy()), crs=4326
    ).to_crs(admin_units.crs)
    hit = admin_units.sindex.query(points.values, predicate="within")[1]
    return sorted(set(admin_units["province_code"].to_numpy()[np.unique(hit)]))


def compare_with_reported(
    computed: pl.DataFrame,
    validated: pl.DataFrame,
    units: pl.DataFrame,
    period: str,
    tolerance_pp: float = DEFAULT_TOLERANCE_PP,
) -> pl.DataFrame:
    """COVERAGE_COMPARISON: each unit with a computed 5G share, beside its reported value.

    A unit exceeds the tolerance when both figures exist and differ by more than
    `tolerance_pp` percentage points; a unit that reported nothing is listed with a null.
    """
    mine = computed.filter(pl.col("technology") == TECHNOLOGY).select(
        "unit_code", "province_code", computed_value="share_covered"
    )
    reported = validated.filter(pl.col("indicator_id") == INDICATOR).select(
        "unit_code", "source_file", "source_row", reported_value="value"
    )
    diff = pl.col("reported_value") - pl.col("computed_value")
    df = (
        mine.join(reported, on="unit_code", how="left")
        .join(units.select("unit_code", "unit_name"), on="unit_code", how="left")
        .with_columns(
            period=pl.lit(period),
            indicator_id=pl.lit(INDICATOR),
            difference_pp=diff,
            exceeds_tolerance=(diff.abs() > tolerance_pp).fill_null(False),
            tolerance_pp=pl.lit(float(tolerance_pp)),
        )
        .sort("unit_code")
    )
    return conform(df, "coverage_comparison")


def coverage_disagreements(
    comparison: pl.DataFrame, tolerance_pp: float | None = None
) -> pl.DataFrame:
    """The units whose reported pop_5g_coverage differs from the computed one by more than the
    tolerance, largest difference first, with both figures.

    Why a plain function: the asset check only warns in Dagster; the quality report, the `dxlake
    run` summary and the map read the same answer from the stored coverage_comparison table.
    `tolerance_pp`: None → the tolerance the comparison was made with (its exceeds_tolerance).
    """
    diff = pl.col("difference_pp")
    over = (
        pl.col("exceeds_tolerance")
        if tolerance_pp is None
        else (diff.abs() > tolerance_pp).fill_null(False)
    )
    return (
        comparison.filter(over & pl.col("reported_value").is_not_null())
        .with_columns(direction=pl.when(diff > 0).then(pl.lit("over")).otherwise(pl.lit("under")))
        .sort(diff.abs(), "unit_code", descending=[True, False])
        .select(
            "unit_code",
            "unit_name",
            "province_code",
            "reported_value",
            "computed_value",
            "difference_pp",
            "direction",  # over: the unit reported more coverage than its sites give
            "tolerance_pp"
            if tolerance_pp is None
            else pl.lit(float(tolerance_pp)).alias("tolerance_pp"),
            "source_file",
            "source_row",
        )
    )


def stored_disagreements(
    lake: Location, period: str, tolerance_pp: float | None = None
) -> pl.DataFrame | None:
    """coverage_disagreements of the period's stored coverage_comparison; None when the period
    has none (no cell-site list, or not published yet)."""
    try:
        comparison = read_period(lake, "coverage_comparison", period)
    except FileNotFoundError:
        return None
    return coverage_disagreements(comparison, tolerance_pp)
