"""validated_observations, quarantined_rows and superseded_observations, judged by GX suites."""

import dagster as dg
import polars as pl

from orchestration.metadata import preview
from orchestration.partitions import period_and_province, period_province
from orchestration.resources import LakeResource
from schemas.expectations import ObservationValidator

from .checks import validate


@dg.multi_asset(
    partitions_def=period_province,
    outs={
        "validated_observations": dg.AssetOut(
            description="Silver: one accepted figure per (period, unit_code, indicator_id), with "
            "its value computed from numerator and denominator and its lineage.",
            group_name="validate",
        ),
        "quarantined_rows": dg.AssetOut(
            description="Observations that broke a rule: the raw row, rule_id and a message in "
            "Vietnamese and English.",
            group_name="validate",
        ),
        "superseded_observations": dg.AssetOut(
            description="Observations replaced by a later file for the same unit and indicator.",
            group_name="validate",
        ),
    },
)
def validated_observations(
    context: dg.AssetExecutionContext, lake: LakeResource, raw_reports: pl.DataFrame
):
    period, province = period_and_province(context)
    docs = lake.report_dir(period, "quality") / "gx" / province
    validator = ObservationValidator(lake.catalogue(), period, docs_dir=docs)
    validated, quarantined, superseded = validate(raw_reports, lake.catalogue(), validator)
    by_rule = quarantined.group_by("rule_id").len().sort("rule_id")
    yield dg.Output(
        validated,
        output_name="validated_observations",
        metadata={
            "accepted": len(validated),
            "gx_data_docs": dg.MetadataValue.path(str(docs)),
            "preview": preview(
                validated, ["unit_code", "indicator_id", "value", "source_file", "source_row"]
            ),
        },
    )
    yield dg.Output(
        quarantined,
        output_name="quarantined_rows",
        metadata={
            "quarantined": len(quarantined),
            "preview": preview(
                quarantined,
                [
                    "source_file",
                    "source_row",
                    "unit_code_raw",
                    "indicator_id",
                    "rule_id",
                    "message_en",
                ],
            ),
            **{f"rule:{r}": n for r, n in by_rule.iter_rows()},
        },
    )
    yield dg.Output(
        superseded, output_name="superseded_observations", metadata={"superseded": len(superseded)}
    )
