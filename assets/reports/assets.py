"""coverage_maps (planners) and quality_report (auditors): files under reports/<period>/."""

import shutil

import dagster as dg
import geopandas as gpd
import polars as pl

from assets.indicators.assets import units_frame
from geo.coverage import dead_zone_layer
from geo.maps import render_map_page, render_province_pages
from geo.previews import png_preview_markdown, render_layer_pngs
from orchestration.lake import write_table, write_text
from orchestration.partitions import ALL_PROVINCES, periods
from orchestration.resources import LakeResource

from .gap_tables import write_gap_tables
from .quality import render_quality_page, returns_workbooks, traceability
from .safe import write_csv


def geometry_note(admin_units: gpd.GeoDataFrame) -> str:
    """Which geometry the pages show: planners must know when shapes are approximate."""
    counts = admin_units["geometry_source"].value_counts().to_dict()
    if counts.get("approximate", 0) == 0:
        return "Ranh giới: chính thức (tệp DXLAKE_BOUNDARIES) / Boundaries: official file."
    return (
        f"Ranh giới: gần đúng cho {counts.get('approximate', 0)} đơn vị (dựng từ tâm và diện tích),"
        f" chính thức cho {counts.get('official', 0)} / Boundaries: approximate for "
        f"{counts.get('approximate', 0)} units (built from centre points and areas), official "
        f"for {counts.get('official', 0)}."
    )


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
    catalogue = lake.catalogue()
    in_scope = admin_units[admin_units["unit_code"].isin(coverage_gaps["unit_code"].to_list())]
    # The 5G target is about people: zones with fewer than one person are not drawn.
    zones = dead_zone_layer(dead_zones, units=admin_units, technology="5G", min_population=1)
    maps = lake.report_dir(period, "maps")
    page = render_map_page(
        in_scope,
        coverage_gaps,
        catalogue,
        maps / "index.html",
        title=f"Khoảng cách đến mục tiêu chuyển đổi số — {period}",
        period=period,
        dead_zones=zones,
    )
    provinces = render_province_pages(
        in_scope, coverage_gaps, catalogue, maps / "provinces", period, dead_zones=zones
    )
    pngs = render_layer_pngs(in_scope, coverage_gaps, catalogue, maps / "png", period=period)
    for stale in set((maps / "png").glob("*.png")) - set(pngs):  # an indicator no longer shown
        stale.unlink()
    tables = write_gap_tables(coverage_gaps, catalogue, lake.report_dir(period, "gaps"))
    return dg.MaterializeResult(
        metadata={
            "map": dg.MetadataValue.path(str(page)),
            "map_mb": round(page.stat().st_size / 1e6, 2),
            "province_maps": dg.MetadataValue.json([str(p) for p in provinces]),
            "layer_pngs": dg.MetadataValue.json({p.stem: str(p) for p in pngs}),
            # One layer inline (the UI keeps every event; nine images would weigh ~1 MB each run).
            "preview": dg.MetadataValue.md(png_preview_markdown(pngs[0])),
            "gap_tables": dg.MetadataValue.path(str(tables[0].parent)),
            "geometry": geometry_note(in_scope),
            "dead_zones_5g": len(zones),
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
    out = lake.report_dir(period, "quality")
    shutil.rmtree(out / "returns", ignore_errors=True)
    returns = returns_workbooks(quarantined_rows, out / "returns")
    html = render_quality_page(
        period=period,
        catalogue=lake.catalogue(),
        file_status=file_status.unique("source_file", maintain_order=True),  # once per file
        raw=raw_reports,
        validated=validated_observations,
        quarantined=quarantined_rows,
        superseded=superseded_observations,
        values=indicator_values,
        boundary_problems=boundary_problems,
        geometry_note=geometry_note(admin_units),
        gx_pages={
            p.parent.name: p.relative_to(out).as_posix()
            for p in sorted(out.glob("gx/*/index.html"))
        },
        returns={source: path.name for source, path in returns.items()},
    )
    page = write_text(out / "index.html", html)
    trace = traceability(validated_observations, units_frame(admin_units))
    write_table(out / "traceability.parquet", trace)
    write_csv(out / "traceability.csv", trace)
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(page)),
            "files_to_send_back": len(returns),
        }
    )
