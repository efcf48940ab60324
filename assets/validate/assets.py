"""validated_observations, quarantined_rows and superseded_observations, judged by GX suites."""

import dagster as dg
import polars as pl

from assets.metadata import preview
from assets.partitions import period_province, run_provinces
from assets.resources import LakeResource
from schemas.expectations import ObservationValidator

from .checks import validate


@dg.multi_asset(
    partitions_def=period_province,
    backfill_policy=dg.BackfillPolicy.single_run(),  # a period's provinces in one run
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
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    raw_reports: dict[str, pl.DataFrame],
):
    period, provinces = run_provinces(context)
    # One validation (one GX checkpoint) for all the run's provinces; each row's verdict
    # goes back to the province whose share it came from.
    raw = pl.concat(raw_reports.values())
    province_of = pl.concat(
        [r.select("obs_id", province=pl.lit(p)) for p, r in raw_reports.items()]
    )
    # A Data Docs site per validation run, naming the provinces it covers: the quality report
    # links each province's newest (schemas.data_docs.current_sites).
    label = provinces[0] if len(provinces) == 1 else f"{provinces[0]}-{provinces[-1]}"
    docs = lake.report_dir(period, "quality") / "gx" / label
    validator = ObservationValidator(lake.catalogue(), period, docs_dir=docs, provinces=provinces)
    validated, quarantined, superseded = validate(raw, lake.catalogue(), validator)
    outputs = {
        "validated_observations": by_province(validated, province_of, provinces),
        "quarantined_rows": by_province(quarantined, province_of, provinces),
        "superseded_observations": by_province(superseded, province_of, provinces),
    }
    by_rule = quarantined.group_by("rule_id").len().sort("rule_id")
    yield dg.Output(
        outputs["validated_observations"],
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
        outputs["quarantined_rows"],
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
        outputs["superseded_observations"],
        output_name="superseded_observations",
        metadata={"superseded": len(superseded)},
    )


def by_province(
    table: pl.DataFrame, province_of: pl.DataFrame, provinces: list[str]
) -> dict[str, pl.DataFrame]:
    """A table of the run split back into its provinces' partitions, by each row's obs_id."""
    province_of = province_of.unique("obs_id")
    tagged = table.join(province_of, on="obs_id", how="left", maintain_order="left")
    return {p: tagged.filter(pl.col("province") == p).drop("province") for p in provinces}
