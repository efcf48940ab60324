"""raw_reports and file_status for a (period, province): every landing file read or rejected."""

import dagster as dg

from orchestration.metadata import preview
from orchestration.partitions import period_and_province, period_province
from orchestration.resources import LakeResource

from .landing import TERMINAL, progress_logger
from .period import province_share, read_landing


@dg.multi_asset(
    partitions_def=period_province,
    outs={
        "raw_reports": dg.AssetOut(
            description="Bronze: one row per observation read (a source row × an indicator), "
            "as written, with the unit resolved by the gazetteer and full lineage "
            "(file, sheet, row, column, hash).",
            group_name="ingest",
        ),
        "file_status": dg.AssetOut(
            description="One row per landing entry: read, rejected (with the reason in "
            "Vietnamese and English), duplicate, skipped (still being written), ignored (a lock "
            "or hidden file) or cell_sites.",
            group_name="ingest",
        ),
    },
)
def raw_reports(context: dg.AssetExecutionContext, lake: LakeResource):
    period, province = period_and_province(context)
    folder = lake.settings.landing / period

    def log(message: str) -> None:  # the run's log, and a terminal through `dxlake run`
        context.log.info(message)
        TERMINAL.info(f"dxlake: {message}")

    progress = progress_logger(log)

    raw, status = province_share(*read_landing(lake.settings, period, progress), province)
    rejected = status.filter(status["status"] == "rejected")
    for row in rejected.iter_rows(named=True):
        context.log.warning(f"rejected {row['source_file']}: {row['reason_en']}")
    yield dg.Output(
        raw,
        output_name="raw_reports",
        metadata={
            "observations": len(raw),
            "unresolved_units": int(raw["unit_code"].null_count()),
            "landing_folder": str(folder),
            "preview": preview(
                raw,
                [
                    "source_file",
                    "source_row",
                    "unit_code",
                    "indicator_id",
                    "numerator_raw",
                    "denominator_raw",
                    "value_raw",
                ],
            ),
        },
    )
    yield dg.Output(
        status,
        output_name="file_status",
        metadata={
            "files": len(status),
            "rejected": len(rejected),
            "duplicates": int((status["status"] == "duplicate").sum()),
            "preview": preview(status, ["source_file", "status", "reason_en", "observations"]),
        },
    )
