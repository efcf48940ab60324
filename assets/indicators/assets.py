"""indicator_values and coverage_gaps for a period."""

import dagster as dg
import geopandas as gpd
import polars as pl

from orchestration.lake import table_path
from orchestration.metadata import preview
from orchestration.partitions import periods
from orchestration.resources import LakeResource

from .gaps import compute_coverage_gaps, compute_indicator_values, previous_period


def units_frame(admin_units: gpd.GeoDataFrame) -> pl.DataFrame:
    """admin_units without geometry, as polars."""
    return pl.from_pandas(admin_units.drop(columns=admin_units.geometry.name))


@dg.asset(
    partitions_def=periods,
    group_name="indicators",
    description="Gold: every unit in scope × every indicator: value, target, gap (floored at 0), "
    "meets_target, change since the previous period, remote flags. A unit that did not report "
    "has value null and status not_reported.",
)
def indicator_values(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    validated_observations: pl.DataFrame,
    raw_reports: pl.DataFrame,
    admin_units: gpd.GeoDataFrame,
) -> pl.DataFrame:
    period = context.partition_key
    units = units_frame(admin_units)
    provinces = list(lake.settings.provinces) or (
        units.filter(pl.col("unit_code").is_in(raw_reports["unit_code"].drop_nulls().implode()))[
            "province_code"
        ]
        .unique()
        .sort()
        .to_list()
    )
    prev_path = table_path(lake.settings.lake, "indicator_values", previous_period(period))
    previous = pl.read_parquet(prev_path) if prev_path.exists() else None
    values = compute_indicator_values(
        validated_observations, units, lake.catalogue(), period, provinces, previous
    )
    context.add_output_metadata(
        {
            "provinces": ", ".join(provinces),
            "not_reported": int((values["status"] == "not_reported").sum()),
            "meets_target": int(values["meets_target"].sum()),
        }
    )
    return values


@dg.asset(
    partitions_def=periods,
    group_name="indicators",
    description="The gap table: each unit and indicator classed (meets target, small, medium, "
    "large gap, not reported) and ranked furthest behind first, remote units first.",
)
def coverage_gaps(
    context: dg.AssetExecutionContext, lake: LakeResource, indicator_values: pl.DataFrame
) -> pl.DataFrame:
    gaps = compute_coverage_gaps(indicator_values, lake.catalogue())
    context.add_output_metadata(
        {
            "large_or_not_reported": int(gaps["gap_class"].is_in(["large", "not_reported"]).sum()),
            "preview": preview(
                gaps.filter(pl.col("rank") <= 3),
                ["indicator_id", "rank", "unit_name", "is_remote", "value", "target", "gap_class"],
                27,
            ),
        }
    )
    return gaps
