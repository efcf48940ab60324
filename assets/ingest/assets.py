"""landing_snapshot (a period's landing folder read once), and each province's share of it:
raw_reports and file_status for (period, province)."""

import dagster as dg
import polars as pl

from assets.metadata import preview
from assets.partitions import ALL_PROVINCES, period_province, periods, run_provinces
from assets.resources import LakeResource

from .landing import TERMINAL, progress_logger
from .snapshot import (
    landing_fingerprint,
    provinces_touched,
    reading_version,
    snapshot_shares,
    take_snapshot,
    write_snapshot,
)


@dg.asset(
    partitions_def=periods,
    group_name="ingest",
    code_version=reading_version(),
    description="Every entry of `landing/<period>/` read once: each file's status and its rows "
    "with the province they belong to (`lake/landing_snapshot/period=<p>/files.parquet`, "
    "`rows.parquet`). The province partitions of raw_reports and file_status are its shares, so "
    "every step of a run reads the same reading. Only files new or changed since the previous "
    "snapshot are read (`files_read`); the others' readings are reused (`files_reused`).",
)
def landing_snapshot(context: dg.AssetExecutionContext, lake: LakeResource):
    period = context.partition_key
    folder = lake.settings.landing / period
    stamp = landing_fingerprint(
        folder, lake.settings
    )  # before reading: a file changed meanwhile shows next time

    def log(message: str) -> None:  # the run's log, and a terminal through `dxlake run`
        context.log.info(message)
        TERMINAL.info(f"dxlake: {message}")

    rows, files = take_snapshot(lake.settings, period, progress_logger(log))
    write_snapshot(lake.settings.tables, period, rows, files)
    how = dict(files.group_by("reading").len().iter_rows())
    read, reused = how.get("read", 0), how.get("reused", 0)
    log(
        f"đã đọc {read} tệp, dùng lại {reused} tệp không đổi từ lần trước / read {read} files, "
        f"reused {reused} unchanged since the previous snapshot"
    )
    for row in files.filter(pl.col("status") == "rejected").iter_rows(named=True):
        context.log.warning(f"rejected {row['source_file']}: {row['reason_en']}")
    counts = dict(files.group_by("status").len().iter_rows())
    return dg.MaterializeResult(
        metadata={
            "landing_folder": str(folder),
            "landing_fingerprint": stamp,
            "files": len(files),
            "files_read": read,
            "files_reused": reused,
            "observations": len(rows),
            **{f"status:{k}": v for k, v in sorted(counts.items())},
            "provinces": ", ".join(provinces_touched(files)),
        }
    )


@dg.multi_asset(
    partitions_def=period_province,
    backfill_policy=dg.BackfillPolicy.single_run(),  # a period's provinces in one run
    deps=[dg.AssetDep("landing_snapshot", partition_mapping=ALL_PROVINCES)],
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
    period, provinces = run_provinces(context)
    shares = snapshot_shares(lake.settings.tables, period, provinces)
    raw = {p: share[0] for p, share in shares.items()}
    status = {p: share[1] for p, share in shares.items()}
    every_raw, every_status = pl.concat(raw.values()), pl.concat(status.values())
    yield dg.Output(
        raw,
        output_name="raw_reports",
        metadata={
            "observations": len(every_raw),
            "unresolved_units": int(every_raw["unit_code"].null_count()),
            "provinces": ", ".join(provinces),
            "preview": preview(
                every_raw,
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
            "files": every_status["source_file"].n_unique(),
            "rejected": int((every_status["status"] == "rejected").sum()),
            "duplicates": int((every_status["status"] == "duplicate").sum()),
            "preview": preview(
                every_status, ["source_file", "status", "reason_en", "observations"]
            ),
        },
    )
