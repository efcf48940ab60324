"""coverage_maps (planners) and quality_report (auditors): files under reports/<period>/."""

import dagster as dg
import geopandas as gpd
import polars as pl

from assets.partitions import ALL_PROVINCES, periods
from assets.resources import LakeResource
from geo.previews import png_preview_markdown

from .publish import publish_maps, publish_quality


@dg.asset(
    partitions_def=periods,
    group_name="reports",
    description="Planners' map page (reports/<period>/maps/index.html, a layer per indicator "
    "coloured by gap class, remote units outlined, 5G dead zones as an overlay), one page per "
    "province (maps/provinces/), a "
    "PNG per layer for slides (maps/png/<indicator_id>.png) and gap tables "
    "(reports/<period>/gaps/).",
)
def coverage_maps(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    coverage_gaps: pl.DataFrame,
    admin_units: gpd.GeoDataFrame,
    dead_zones: gpd.GeoDataFrame,
) -> dg.MaterializeResult:
    period = context.partition_key
    maps = lake.report_dir(period, "maps")
    out = publish_maps(
        maps,
        lake.report_dir(period, "gaps"),
        coverage_gaps,
        admin_units,
        dead_zones,
        lake.catalogue(),
        period,
    )
    page, provinces, pngs, tables = out["page"], out["provinces"], out["pngs"], out["tables"]
    return dg.MaterializeResult(
        metadata={
            "map": dg.MetadataValue.path(str(page)),
            "map_mb": round(page.stat().st_size / 1e6, 2),
            "province_maps": dg.MetadataValue.json([str(p) for p in provinces]),
            "layer_pngs": dg.MetadataValue.json({p.stem: str(p) for p in pngs}),
            # One layer inline (the UI keeps every event; nine images would weigh ~1 MB each run).
            "preview": dg.MetadataValue.md(png_preview_markdown(pngs[0])),
            "gap_tables": dg.MetadataValue.path(str(tables[0].parent)),
            "geometry": out["geometry"],
            "dead_zones_5g": out["zones"],
            # What this run wrote; the rest was unchanged since the last publish.
            "files_rebuilt": len(out["rebuilt"]),
        }
    )


@dg.asset(
    partitions_def=periods,
    group_name="reports",
    ins={
        name: dg.AssetIn(partition_mapping=ALL_PROVINCES)
        for name in (
            "file_status",
            "raw_reports",
            "validated_observations",
            "quarantined_rows",
            "superseded_observations",
            "indicator_values",
        )
    },
    description="Auditors' data-quality report (reports/<period>/quality/index.html): files "
    "received and rejected, per-rule counts, reconciliation, units not reported, traceability "
    "of each accepted figure, and the quarantined rows per file as .xlsx to send back.",
)
def quality_report(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    file_status: pl.DataFrame,
    raw_reports: pl.DataFrame,
    validated_observations: pl.DataFrame,
    quarantined_rows: pl.DataFrame,
    superseded_observations: pl.DataFrame,
    indicator_values: pl.DataFrame,
    admin_units: gpd.GeoDataFrame,
    boundary_problems: pl.DataFrame,
) -> dg.MaterializeResult:
    period = context.partition_key
    out = publish_quality(
        lake.report_dir(period, "quality"),
        period=period,
        catalogue=lake.catalogue(),
        file_status=file_status,
        raw_reports=raw_reports,
        validated_observations=validated_observations,
        quarantined_rows=quarantined_rows,
        superseded_observations=superseded_observations,
        indicator_values=indicator_values,
        admin_units=admin_units,
        boundary_problems=boundary_problems,
    )
    page, returns = out["page"], out["returns"]
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(page)),
            "files_to_send_back": len(returns),
            "files_rebuilt": len(out["rebuilt"]),
        }
    )
