"""Partitions: reporting period (2026-H1, 2026-H2) × province.

Periods are dynamic: a period exists once files for it land (the sensor adds it). Provinces are
the 34 official codes, plus `00` for what no province can be told for (a rejected file, a row
whose unit and province are both unknown) so that nothing read is dropped. Ingest and validation
run per (period, province): a province that resubmits reruns only its own partition. The gap
table, the maps and the quality report are per period, built from all its provinces.
"""

import warnings

import dagster as dg

from geo.units import official_provinces

UNATTRIBUTED = "00"  # chưa xác định tỉnh / province unknown

periods = dg.DynamicPartitionsDefinition(name="period")
provinces = dg.StaticPartitionsDefinition(
    [*official_provinces()["province_code"].to_list(), UNATTRIBUTED]
)
period_province = dg.MultiPartitionsDefinition({"period": periods, "province": provinces})

# A period-level asset reads every province partition of its period.
with warnings.catch_warnings():  # beta in Dagster 1.13, and exactly this use case
    warnings.simplefilter("ignore", dg.BetaWarning)
    ALL_PROVINCES = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="period")


def partition_key(period: str, province: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"period": period, "province": province})


def partition_tags(key: str | dg.MultiPartitionKey | None) -> dict[str, str]:
    """The run tags Dagster gives a run of this partition (for jobs launched by execute_job)."""
    if key is None:
        return {}
    tags = {"dagster/partition": str(key)}
    if isinstance(key, dg.MultiPartitionKey):
        tags |= {f"dagster/partition/{d}": k for d, k in key.keys_by_dimension.items()}
    return tags


def period_and_province(context: dg.AssetExecutionContext) -> tuple[str, str]:
    """(period, province) of a run on period_province."""
    keys = context.partition_key.keys_by_dimension
    return keys["period"], keys["province"]
