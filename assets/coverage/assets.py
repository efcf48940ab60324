"""Coverage assets: thin wrappers around geo.coverage and .compare (issue 13).

cell_sites sits with ingest (it reads landing files, with their lineage); the computed
coverage, its dead zones and the comparison sit with the indicators they feed. All are
period-level: they run with the period's publishing, after ingest and validation.

Settings (run config, else the lake's settings: schemas.settings): the population grid
(DXLAKE_POPULATION_GRID), the tolerance of the comparison (DXLAKE_COVERAGE_TOLERANCE_PP) and the
dask.distributed scheduler the provinces are computed on (DXLAKE_DASK_ADDRESS).
"""

import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import geopandas as gpd
import polars as pl

from assets.ingest.landing import bounded_calls
from assets.ingest.sites import bounded_site_rows, read_cell_sites, usable_sites
from assets.ingest.snapshot import snapshot_files
from assets.partitions import periods
from assets.resources import LakeResource
from geo.coverage import (
    DEFAULT_MIN_CELL_POPULATION,
    DEFAULT_MIN_ZONE_POPULATION,
    FALLBACK_RESOLUTION_M,
    CoverageOptions,
    compute_coverage,
    compute_coverage_distributed,
)
from schemas.contracts import DEAD_ZONES, conform, empty
from schemas.settings import Settings

from .compare import compare_with_reported, provinces_with_sites

#: Processes sharing a national computation's province windows (each holds the plan and one
#: window, some hundreds of MB): one per core, up to this.
MAX_COVERAGE_WORKERS = 4


class CoverageConfig(dg.Config):
    population_grid: str = ""  # a GeoTIFF; empty → DXLAKE_POPULATION_GRID → $HOME/grids/*.tif
    resolution_m: float = FALLBACK_RESOLUTION_M  # cell size when no grid is given
    min_cell_population: float = DEFAULT_MIN_CELL_POPULATION
    min_zone_population: float = DEFAULT_MIN_ZONE_POPULATION


class ComparisonConfig(dg.Config):
    tolerance_pp: float | None = None  # None → DXLAKE_COVERAGE_TOLERANCE_PP → 5


def population_grid(config_value: str, settings: Settings) -> Path | None:
    """The grid to use: the run's config, the setting, or the single GeoTIFF in home/grids."""
    value = config_value or settings.population_grid
    home = settings.home
    if value:
        path = Path(value).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"population grid {path} not found (không tìm thấy lưới dân số {path})"
            )
        return path
    found = sorted((home / "grids").glob("*.tif")) if (home / "grids").is_dir() else []
    return found[0] if len(found) == 1 else None


@dg.asset(
    partitions_def=periods,
    group_name="ingest",
    deps=["landing_snapshot"],
    description="Every cell-site row of the period's landing files (operator, site, technology, "
    "lat/lon, radius, optional azimuth and beam width), with file/sheet/row lineage; rows that "
    "cannot be used carry the reason (vi/en). Cell-site files are told from reports by their "
    "lat, lon and radius columns.",
)
def cell_sites(context: dg.AssetExecutionContext, lake: LakeResource) -> pl.DataFrame:
    period = context.partition_key
    folder = lake.settings.landing / period
    frames = []
    ingested_at = datetime.now(UTC)
    # The files the period's snapshot told for site lists (never a refused or rejected one).
    listed = snapshot_files(lake.settings.tables, period).filter(pl.col("status") == "cell_sites")
    by_path = {folder / r["source_file"]: r for r in listed.unique("source_file").to_dicts()}
    # Each file read under the cost bound ingest reads it with: a small hostile file must not
    # cost this process what ingest's bound refused it.
    for path, rows, over in bounded_calls(bounded_site_rows, list(by_path), lake.settings.limits):
        rel, sha256 = by_path[path]["source_file"], by_path[path]["file_sha256"]
        if rows is None:  # changed since the snapshot, or over the bound
            if over:
                context.log.warning(f"{rel}: not read for cell sites, {over}")
            continue
        sites = read_cell_sites(path, rel, sha256, ingested_at, rows=rows)
        if not sites.is_empty():
            frames.append(sites)
            bad = sites.filter(pl.col("reason_en").is_not_null())
            context.log.info(f"{rel}: {len(sites)} site rows, {len(bad)} unusable")
            for row in bad.head(20).iter_rows(named=True):
                context.log.warning(
                    f"{rel} row {row['source_row']}: {row['reason_en']} / {row['reason_vi']}"
                )
    table = (
        conform(pl.concat(frames).with_columns(period=pl.lit(period)), "cell_sites")
        if frames
        else empty("cell_sites")
    )
    context.add_output_metadata(
        {
            "files": len(frames),
            "usable_sites": len(usable_sites(table)),
            "unusable_rows": int(table["reason_en"].is_not_null().sum()),
        }
    )
    return table


@dg.multi_asset(
    partitions_def=periods,
    group_name="indicators",
    outs={
        "computed_coverage": dg.AssetOut(
            description="Per unit × technology: population, population covered, share covered "
            "(%), area and area covered, computed from the cell sites and the population grid "
            "(exact cell fractions at unit boundaries, overlapping sites counted once, sites "
            "covering across province borders, overlapping unit polygons counted once)."
        ),
        "dead_zones": dg.AssetOut(
            description="Dead zones (vùng lõm sóng): populated grid cells outside a technology's "
            "coverage, as polygons per unit with their population (GeoParquet, EPSG:4326)."
        ),
    },
)
def computed_coverage(
    context: dg.AssetExecutionContext,
    config: CoverageConfig,
    lake: LakeResource,
    cell_sites: pl.DataFrame,
    admin_units: gpd.GeoDataFrame,
):
    period = context.partition_key
    sites = usable_sites(cell_sites)
    provinces = list(lake.settings.provinces) or provinces_with_sites(admin_units, sites)
    grid = population_grid(config.population_grid, lake.settings)
    options = CoverageOptions(
        config.resolution_m, config.min_cell_population, config.min_zone_population
    )
    if provinces:
        address = lake.settings.dask_address
        if address:
            from distributed import Client

            with Client(address) as client:
                result = compute_coverage_distributed(
                    admin_units, sites, client, grid, provinces=provinces, options=options
                )
        else:
            result = compute_coverage(
                admin_units, sites, grid, provinces=provinces, options=options,
                workers=min(len(os.sched_getaffinity(0)), MAX_COVERAGE_WORKERS),
            )  # fmt: skip
        table, zones = result.table, result.dead_zones
    else:
        context.log.warning(f"{period}: no usable cell sites; nothing to compute")
        table = pl.DataFrame()
        zones = gpd.GeoDataFrame(
            {c: [] for c in DEAD_ZONES if c != "period"}, geometry=[], crs="EPSG:4326"
        )
    counts = sites.group_by("technology").len(name="sites")
    if table.is_empty():
        table = empty("computed_coverage")
    else:
        table = table.join(counts, on="technology", how="left").with_columns(
            period=pl.lit(period), population_grid=pl.lit(str(grid) if grid else None)
        )
    table = conform(table, "computed_coverage")
    zones.insert(0, "period", period)
    zones = zones[[*DEAD_ZONES, "geometry"]]
    five = table.filter(pl.col("technology") == "5G")
    context.log.info(
        f"{period}: {len(table)} unit × technology rows in {len(provinces)} province(s), "
        f"{len(zones)} dead zones; population from {'grid ' + str(grid) if grid else 'even spread'}"
    )
    yield dg.Output(
        table,
        output_name="computed_coverage",
        metadata={
            "provinces": ", ".join(provinces),
            "population_grid": str(grid) if grid else "none (even spread)",
            "units_5g": len(five),
            "population_5g_share": float(
                five["population_covered"].sum() / five["population"].sum() * 100
            )
            if len(five) and (five["population"].sum() or 0) > 0
            else float("nan"),
        },
    )
    yield dg.Output(
        zones,
        output_name="dead_zones",
        metadata={"zones": len(zones), "population": float(zones["population"].sum())},
    )


@dg.asset(
    partitions_def=periods,
    group_name="indicators",
    description="pop_5g_coverage beside itself: the reported value (validated_observations) and "
    "the value computed from the cell sites, per unit, with the difference in points and "
    "whether it exceeds the tolerance (DXLAKE_COVERAGE_TOLERANCE_PP, default 5).",
)
def coverage_comparison(
    context: dg.AssetExecutionContext,
    config: ComparisonConfig,
    lake: LakeResource,
    computed_coverage: pl.DataFrame,
    validated_observations: pl.DataFrame,
    admin_units: pl.DataFrame,  # the units' codes and names: no shapes read
) -> pl.DataFrame:
    tolerance = config.tolerance_pp
    if tolerance is None:
        tolerance = lake.settings.coverage_tolerance_pp
    units = admin_units.select("unit_code", "unit_name")
    table = compare_with_reported(
        computed_coverage, validated_observations, units, context.partition_key, tolerance
    )
    context.add_output_metadata(
        {
            "units": len(table),
            "reported": int(table["reported_value"].is_not_null().sum()),
            "exceeding_tolerance": int(table["exceeds_tolerance"].sum()),
            "tolerance_pp": tolerance,
        }
    )
    return table
