"""Dagster asset checks on a period's tables: blocking where bad data must not reach the maps."""

import dagster as dg
import polars as pl

from assets.partitions import period_province

from . import findings


def _result(passed: bool, details: dict, severity=dg.AssetCheckSeverity.ERROR):
    return dg.AssetCheckResult(
        passed=passed,
        severity=severity,
        metadata={
            k: dg.MetadataValue.json(v) if not isinstance(v, int | float | str) else v
            for k, v in details.items()
        },
    )


@dg.asset_check(
    partitions_def=period_province,  # a check reads its own partition, never the whole lake
    asset="validated_observations",
    blocking=True,
    description="Every raw observation ends in exactly one state: accepted, quarantined or "
    "superseded (raw = accepted + quarantined + superseded).",
    additional_ins={
        "raw_reports": dg.AssetIn(),
        "quarantined_rows": dg.AssetIn(),
        "superseded_observations": dg.AssetIn(),
    },
)
def observations_accounted_for(
    validated_observations: pl.DataFrame,
    raw_reports: pl.DataFrame,
    quarantined_rows: pl.DataFrame,
    superseded_observations: pl.DataFrame,
):
    return _result(
        *findings.accounting(
            raw_reports, validated_observations, quarantined_rows, superseded_observations
        )
    )


@dg.asset_check(
    partitions_def=period_province,  # a check reads its own partition, never the whole lake
    asset="validated_observations",
    blocking=True,
    description="One accepted figure per period, unit and indicator.",
)
def one_row_per_unit_indicator(validated_observations: pl.DataFrame):
    return _result(*findings.one_per_unit_indicator(validated_observations))


@dg.asset_check(
    partitions_def=period_province,  # a check reads its own partition, never the whole lake
    asset="validated_observations",
    blocking=True,
    description="Every accepted unit code is a current official unit in admin_units.",
    additional_ins={"admin_units": dg.AssetIn()},
)
def unit_codes_known(validated_observations: pl.DataFrame, admin_units: pl.DataFrame):
    codes = admin_units["unit_code"].cast(pl.String)
    return _result(*findings.codes_known(validated_observations, codes))


WARN = dg.AssetCheckSeverity.WARN


@dg.asset_check(
    partitions_def=period_province,  # a check reads its own partition, never the whole lake
    asset="quarantined_rows",
    description="No observation was quarantined; otherwise the count per rule (a finding: the "
    "rows go back to the offices, the rest of the period is published).",
)
def no_quarantined_rows(quarantined_rows: pl.DataFrame):
    return _result(*findings.quarantine_by_rule(quarantined_rows), severity=WARN)


@dg.asset_check(
    partitions_def=period_province,  # a check reads its own partition, never the whole lake
    asset="indicator_values",
    description=f"Each province has at least {findings.COMPLETENESS_MIN_SHARE:.0%} of its "
    "unit × indicator figures (a finding, not blocking).",
)
def province_completeness(indicator_values: pl.DataFrame):
    return _result(*findings.completeness(indicator_values), severity=WARN)


@dg.asset_check(
    partitions_def=period_province,  # a check reads its own partition, never the whole lake
    asset="indicator_values",
    description=f"No value moved more than {findings.CHANGE_MAX_PP:g} points since the previous "
    "period (a finding).",
)
def change_from_previous_period(indicator_values: pl.DataFrame):
    return _result(*findings.large_changes(indicator_values), severity=WARN)


@dg.asset_check(
    partitions_def=period_province,  # a check reads its own partition, never the whole lake
    asset="indicator_values",
    description="No indicator where most units report exactly the target (a sign of figures "
    "copied from the plan; a finding).",
)
def values_equal_to_target(indicator_values: pl.DataFrame):
    return _result(*findings.copied_targets(indicator_values), severity=WARN)
