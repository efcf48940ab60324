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


def split_key(key: str | dg.MultiPartitionKey) -> tuple[str, str]:
    """(period, province) of a period_province key, as an object or as its string "period|code"."""
    if not isinstance(key, dg.MultiPartitionKey):
        key = period_province.get_partition_key_from_str(str(key))
    return key.keys_by_dimension["period"], key.keys_by_dimension["province"]


def run_provinces(context: dg.AssetExecutionContext) -> tuple[str, list[str]]:
    """(period, provinces) of a run on period_province: one province from the UI, a period's
    provinces in one ranged run from `dxlake run` and the sensors (see orchestration.plan)."""
    keys = [split_key(k) for k in context.partition_keys]
    periods_in_run = {period for period, _ in keys}
    if len(periods_in_run) != 1:
        raise ValueError(f"a run covers one period, not {sorted(periods_in_run)}")
    order = provinces.get_partition_keys()
    return keys[0][0], sorted({p for _, p in keys}, key=order.index)


def range_tags(period: str, first: str, last: str) -> dict[str, str]:
    """The run tags of a ranged run over provinces first..last (in partition order) of a period."""
    return {
        "dagster/asset_partition_range_start": f"{period}|{first}",
        "dagster/asset_partition_range_end": f"{period}|{last}",
    }
