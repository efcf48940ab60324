"""What the two report assets write, as plain functions on frames (the assets, the benchmark
and the tests call these)."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import polars as pl

from assets.indicators.assets import units_frame
from geo.coverage import dead_zone_layer
from geo.maps import render_map_page, render_province_pages
from geo.previews import render_layer_pngs
from orchestration.lake import write_table, write_text
from schemas.catalogue import Catalogue

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


def publish_maps(
    maps: Path,
    gaps_dir: Path,
    coverage_gaps: pl.DataFrame,
    admin_units: gpd.GeoDataFrame,
    dead_zones: gpd.GeoDataFrame,
    catalogue: Catalogue,
    period: str,
) -> dict:
    """The planners' outputs: map page, province pages, a PNG per layer, gap tables."""
    in_scope = admin_units[admin_units["unit_code"].isin(coverage_gaps["unit_code"].to_list())]
    # The 5G target is about people: zones with fewer than one person are not drawn.
    zones = dead_zone_layer(dead_zones, units=admin_units, technology="5G", min_population=1)
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
    tables = write_gap_tables(coverage_gaps, catalogue, gaps_dir)
    return {
        "page": page,
        "provinces": provinces,
        "pngs": pngs,
        "tables": tables,
        "geometry": geometry_note(in_scope),
        "zones": len(zones),
    }


def publish_quality(
    out: Path,
    *,
    period: str,
    catalogue: Catalogue,
    file_status: pl.DataFrame,
    raw_reports: pl.DataFrame,
    validated_observations: pl.DataFrame,
    quarantined_rows: pl.DataFrame,
    superseded_observations: pl.DataFrame,
    indicator_values: pl.DataFrame,
    admin_units: gpd.GeoDataFrame,
    boundary_problems: pl.DataFrame,
) -> dict:
    """The auditors' outputs: the quality page, traceability, the return-to-sender workbooks."""
    shutil.rmtree(out / "returns", ignore_errors=True)
    returns = returns_workbooks(quarantined_rows, out / "returns")
    html = render_quality_page(
        period=period,
        catalogue=catalogue,
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
    return {"page": page, "returns": returns}
