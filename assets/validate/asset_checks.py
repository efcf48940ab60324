"""Dagster asset checks on a period's tables: blocking where bad data must not reach the maps.

Each table's checks run together, one step reading its inputs once (a step costs a run about
0.1 s whatever it does: seven of them were a third of a resubmission's ingest run); each check
keeps its own key, severity and result in the UI. A check reads the run's own partitions,
never the whole lake.
"""

import dagster as dg
import polars as pl

from assets.partitions import period_province

from . import findings

WARN = dg.AssetCheckSeverity.WARN


def _spec(name: str, asset: str, description: str, blocking: bool = False, deps=()):
    return dg.AssetCheckSpec(
        name,
        asset=asset,
        description=description,
        blocking=blocking,
        additional_deps=deps,
        partitions_def=period_province,
    )


def _result(
    asset: str, check: str, passed: bool, details: dict, severity=dg.AssetCheckSeverity.ERROR
):
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=check,
        passed=passed,
        severity=severity,
        metadata={
            k: dg.MetadataValue.json(v) if not isinstance(v, int | float | str) else v
            for k, v in details.items()
        },
    )


@dg.multi_asset_check(
    specs=[
        _spec(
            "observations_accounted_for",
            "validated_observations",
            "Every raw observation ends in exactly one state: accepted, quarantined or "
            "superseded (raw = accepted + quarantined + superseded).",
            blocking=True,
            deps=["raw_reports", "quarantined_rows", "superseded_observations"],
        ),
        _spec(
            "one_row_per_unit_indicator",
            "validated_observations",
            "One accepted figure per period, unit and indicator.",
            blocking=True,
        ),
        _spec(
            "unit_codes_known",
            "validated_observations",
            "Every accepted unit code is a current official unit in admin_units.",
            blocking=True,
            deps=["admin_units"],
        ),
        _spec(
            "no_quarantined_rows",
            "quarantined_rows",
            "No observation was quarantined; otherwise the count per rule (a finding: the "
            "rows go back to the offices, the rest of the period is published).",
        ),
    ],
    ins={
        "validated_observations": dg.AssetIn(),
        "raw_reports": dg.AssetIn(),
        "quarantined_rows": dg.AssetIn(),
        "superseded_observations": dg.AssetIn(),
        "admin_units": dg.AssetIn(),
    },
)
def validation_checks(
    validated_observations: pl.DataFrame,
    raw_reports: pl.DataFrame,
    quarantined_rows: pl.DataFrame,
    superseded_observations: pl.DataFrame,
    admin_units: pl.DataFrame,
):
    validated = "validated_observations"
    yield _result(
        validated,
        "observations_accounted_for",
        *findings.accounting(
            raw_reports, validated_observations, quarantined_rows, superseded_observations
        ),
    )
    yield _result(
        validated,
        "one_row_per_unit_indicator",
        *findings.one_per_unit_indicator(validated_observations),
    )
    codes = admin_units["unit_code"].cast(pl.String)
    yield _result(
        validated, "unit_codes_known", *findings.codes_known(validated_observations, codes)
    )
    yield _result(
        "quarantined_rows",
        "no_quarantined_rows",
        *findings.quarantine_by_rule(quarantined_rows),
        severity=WARN,
    )


@dg.multi_asset_check(
    specs=[
        _spec(
            "province_completeness",
            "indicator_values",
            f"Each province has at least {findings.COMPLETENESS_MIN_SHARE:.0%} of its "
            "unit × indicator figures (a finding, not blocking).",
        ),
        _spec(
            "change_from_previous_period",
            "indicator_values",
            f"No value moved more than {findings.CHANGE_MAX_PP:g} points since the previous "
            "period (a finding).",
        ),
        _spec(
            "values_equal_to_target",
            "indicator_values",
            "No indicator where most units report exactly the target (a sign of figures "
            "copied from the plan; a finding).",
        ),
    ],
    ins={"indicator_values": dg.AssetIn()},
)
def indicator_checks(indicator_values: pl.DataFrame):
    for check, finding in (
        ("province_completeness", findings.completeness),
        ("change_from_previous_period", findings.large_changes),
        ("values_equal_to_target", findings.copied_targets),
    ):
        yield _result("indicator_values", check, *finding(indicator_values), severity=WARN)
