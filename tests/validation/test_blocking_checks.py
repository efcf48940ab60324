"""The blocking checks on validated_observations stop what reads it when one fails, and the
other checks of the step still report (assets.validate.asset_checks runs a table's checks in
one step)."""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.partitions import period_province, periods
from assets.validate.asset_checks import validation_checks

PARTITION = dg.MultiPartitionKey({"period": "2026-H1", "province": "46"})


def _run(tmp_path, accepted_code: str):
    """validation_checks on stand-in tables (one observation, accepted for `accepted_code`;
    admin_units knows 19753), with a reader of validated_observations downstream."""

    @dg.asset
    def admin_units() -> pl.DataFrame:
        return pl.DataFrame({"unit_code": ["19753"]})

    @dg.asset(partitions_def=period_province)
    def raw_reports() -> pl.DataFrame:
        return pl.DataFrame({"obs_id": [1]})

    names = ("validated_observations", "quarantined_rows", "superseded_observations")

    @dg.multi_asset(
        partitions_def=period_province, outs={n: dg.AssetOut() for n in names}, deps=[raw_reports]
    )
    def validate():
        accepted = pl.DataFrame(
            {
                "obs_id": [1],
                "period": ["2026-H1"],
                "unit_code": [accepted_code],
                "indicator_id": ["x"],
            }
        )
        none = pl.DataFrame(schema={"obs_id": pl.Int64, "rule_id": pl.String})
        yield dg.Output(accepted, "validated_observations")
        yield dg.Output(none, "quarantined_rows")
        yield dg.Output(none.drop("rule_id"), "superseded_observations")

    @dg.asset(partitions_def=period_province, deps=["validated_observations"])
    def indicator_values() -> pl.DataFrame:
        return pl.DataFrame()

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(periods.name, ["2026-H1"])
    resources = {"io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path))}
    dg.materialize([admin_units], instance=instance, resources=resources)
    return dg.materialize(
        [admin_units, raw_reports, validate, indicator_values, validation_checks],
        selection=[raw_reports, validate, indicator_values],
        partition_key=PARTITION,
        instance=instance,
        resources=resources,
        raise_on_error=False,
    )


def _materialized(result) -> set[str]:
    return {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}


def test_a_failed_blocking_check_stops_what_reads_the_table(tmp_path):
    result = _run(tmp_path, accepted_code="99999")  # not an official unit
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["unit_codes_known"].passed
    assert checks["unit_codes_known"].severity == dg.AssetCheckSeverity.ERROR
    # the step's other checks still say their piece
    assert checks["observations_accounted_for"].passed
    assert checks["one_row_per_unit_indicator"].passed
    assert checks["no_quarantined_rows"].passed
    assert "validated_observations" in _materialized(result)
    assert "indicator_values" not in _materialized(result)
    assert not result.success


def test_passing_checks_let_it_through(tmp_path):
    result = _run(tmp_path, accepted_code="19753")
    assert all(c.passed for c in result.get_asset_check_evaluations())
    assert "indicator_values" in _materialized(result)
    assert result.success
