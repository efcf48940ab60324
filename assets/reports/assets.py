"""coverage_maps and gap_tables (planners), quality_report (auditors): files under
reports/<period>/.

Each asset imports its publishing when it runs (matplotlib, folium, XlsxWriter: about a second),
so a process that loads the definitions to run something else (the ingest) does not."""

import dagster as dg
import geopandas as gpd
import polars as pl

from assets.partitions import ALL_PROVINCES, periods
from assets.resources import LakeResource


@dg.asset(
    partitions_def=periods,
    group_name="reports",
    # Paths in `code`: the UI renders descriptions as Markdown, where a bare <period> is an
    # HTML tag and vanishes ("reports//maps").
    description="Planners' map page (`reports/<period>/maps/index.html`, a layer per indicator "
    "coloured by gap class, remote units outlined, 5G dead zones as an overlay, units whose "
    "reported 5G coverage the cell sites contradict marked), one page per "
    "province (`maps/provinces/`) and a "
    "PNG per layer for slides (`maps/png/<indicator_id>.png`).",
)
def coverage_maps(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    coverage_gaps: pl.DataFrame,
    admin_units: gpd.GeoDataFrame,
    dead_zones: bytes,  # the GeoParquet file: decoded only if the zones changed
    coverage_comparison: pl.DataFrame,
    cell_sites: pl.DataFrame,
) -> dg.MaterializeResult:
    from geo.previews import png_preview_markdown

    from .publish import publish_maps

    period = context.partition_key
    maps = lake.report_dir(period, "maps")
    out = publish_maps(
        maps,
        coverage_gaps,
        admin_units,
        dead_zones,
        lake.catalogue(),
        period,
        coverage_comparison=coverage_comparison,
        cell_sites=cell_sites,
    )
    page, provinces, pngs = out["page"], out["provinces"], out["pngs"]
    return dg.MaterializeResult(
        metadata={
            "map": dg.MetadataValue.path(str(page)),
            "map_mb": round(page.stat().st_size / 1e6, 2),
            "province_maps": dg.MetadataValue.json([str(p) for p in provinces]),
            "layer_pngs": dg.MetadataValue.json({p.stem: str(p) for p in pngs}),
            # One layer inline (the UI keeps every event; nine images would weigh ~1 MB each run).
            "preview": dg.MetadataValue.md(png_preview_markdown(pngs[0])),
            "geometry": out["geometry"],
            "dead_zones_5g": out["zones"],
            "coverage_disagreements": out["coverage_disagreements"],
            # What this run wrote; the rest was unchanged since the last publish.
            "files_rebuilt": len(out["rebuilt"]),
        }
    )


@dg.asset(
    partitions_def=periods,
    group_name="reports",
    description="Planners' gap tables (`reports/<period>/gaps/`): per indicator, every unit's "
    "value, target and gap class, ranked (remote units first within a class), as .xlsx "
    "(Vietnamese headers with English beside, number formats, filter, frozen header) and .csv; "
    "and `priority.xlsx`, the units behind on most indicators first.",
)
def gap_tables(
    context: dg.AssetExecutionContext, lake: LakeResource, coverage_gaps: pl.DataFrame
) -> dg.MaterializeResult:
    from .gap_tables import publish_gap_tables

    folder = lake.report_dir(context.partition_key, "gaps")
    out = publish_gap_tables(folder, coverage_gaps, lake.catalogue())
    return dg.MaterializeResult(
        metadata={
            "gap_tables": dg.MetadataValue.path(str(folder)),
            "tables": len(out["tables"]) // 2,  # a .csv and an .xlsx each
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
    description="Auditors' data-quality report (`reports/<period>/quality/index.html`): files "
    "received and rejected, per-rule counts, reconciliation, units not reported, replaced "
    "figures with the file that replaced them, reported 5G coverage beyond the tolerance of the "
    "computed one, cell-site rows rejected, traceability of each accepted figure, and a link to "
    "each file's return-to-sender workbook.",
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
    admin_units: pl.DataFrame,  # the units' codes, names and flags: no shapes read
    boundary_problems: pl.DataFrame,
    coverage_comparison: pl.DataFrame,
    cell_sites: pl.DataFrame,
) -> dg.MaterializeResult:
    from .publish import publish_quality

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
        coverage_comparison=coverage_comparison,
        cell_sites=cell_sites,
    )
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(out["page"])),
            "coverage_disagreements": out["coverage_disagreements"],
            "cell_site_rows_rejected": out["cell_site_rows_rejected"],
            "files_rebuilt": len(out["rebuilt"]),
        }
    )


@dg.asset(
    partitions_def=periods,
    group_name="reports",
    ins={"quarantined_rows": dg.AssetIn(partition_mapping=ALL_PROVINCES)},
    description="Return-to-sender workbooks (`reports/<period>/quality/returns/`): for each "
    "file with quarantined rows, an .xlsx of those rows with what to fix beside each "
    "(Vietnamese with English beside), to send back to the office; the quality report links "
    "them.",
)
def return_workbooks(
    context: dg.AssetExecutionContext, lake: LakeResource, quarantined_rows: pl.DataFrame
) -> dg.MaterializeResult:
    from .returns import publish_returns

    folder = lake.report_dir(context.partition_key, "quality") / "returns"
    out = publish_returns(folder, quarantined_rows, lake.catalogue())
    return dg.MaterializeResult(
        metadata={
            "returns": dg.MetadataValue.path(str(folder)),
            "files_to_send_back": len(out["returns"]),
            "files_rebuilt": len(out["rebuilt"]),
        }
    )
