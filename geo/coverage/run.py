"""The whole computation: the plan of windows (one national window, or one per province), run in
process, over a pool of processes or on a dask.distributed cluster, and assembled."""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import rasterio
import rasterio.features
import rasterio.windows
import shapely

from geo.boundaries import polygonal
from geo.coverage.grid import WGS84, PopulationGrid
from geo.coverage.sites import site_shapes
from geo.coverage.window import CoverageOptions, WindowResult, coverage_window

MAX_WINDOW_CELLS = 150_000_000  # one national window up to this (~3 GB peak), else by province


# --------------------------------------------------------------------------------------------
# The whole computation
# --------------------------------------------------------------------------------------------

#: computed_coverage without its period column (schemas.contracts.COMPUTED_COVERAGE).
RESULT_SCHEMA: dict[str, pl.DataType] = {
    "unit_code": pl.String,
    "province_code": pl.String,
    "technology": pl.String,
    "population": pl.Float64,
    "population_covered": pl.Float64,
    "share_covered": pl.Float64,  # percent, 0–100, as pop_5g_coverage
    "area_km2": pl.Float64,
    "area_covered_km2": pl.Float64,
    "population_source": pl.String,  # grid | even (unit population spread over its area)
}
DEAD_ZONE_COLUMNS = ("unit_code", "province_code", "technology", "population", "area_km2")


@dataclass
class CoverageResult:
    table: pl.DataFrame  # RESULT_SCHEMA, one row per unit × technology
    dead_zones: gpd.GeoDataFrame  # DEAD_ZONE_COLUMNS + geometry, EPSG:4326
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step, all windows


@dataclass
class _Plan:
    """Everything the windows need, in the grid's CRS (picklable, for dask workers)."""

    grid: PopulationGrid
    units: gpd.GeoDataFrame  # unit_code, province_code, code_rank, population, geometry
    shapes: dict[str, np.ndarray]
    shape_bounds: dict[str, np.ndarray]
    options: CoverageOptions


def _plan(units, sites, grid_path, options: CoverageOptions) -> _Plan:
    keep = ["unit_code", "province_code", "geometry"]
    prepared = units[keep].copy()
    prepared["population"] = (
        units["population"].astype("float64").to_numpy()
        if "population" in units
        else np.full(len(units), np.nan)
    )
    grid = (
        PopulationGrid.from_geotiff(grid_path)
        if grid_path
        else PopulationGrid.even(prepared, options.resolution_m)
    )
    prepared = prepared.to_crs(grid.crs)
    # Reprojection can make rounded polygons self-intersect; exactextract needs valid ones.
    geoms = prepared.geometry.to_numpy()
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms[bad] = [polygonal(g) for g in shapely.make_valid(geoms[bad])]
        prepared = prepared.set_geometry(gpd.GeoSeries(geoms, crs=grid.crs))
    prepared["code_rank"] = prepared["unit_code"].rank(method="first").astype(int).to_numpy()
    prepared = prepared.reset_index(drop=True)
    if "reason_en" in sites.columns:  # a cell_sites table: only the rows it could use
        sites = sites.filter(pl.col("reason_en").is_null())
    shapes, bounds = {}, {}
    for tech in sorted(sites["technology"].unique().to_list()):
        geoms = site_shapes(sites.filter(pl.col("technology") == tech), grid.crs)
        shapes[tech], bounds[tech] = geoms, shapely.bounds(geoms)
    return _Plan(grid, prepared, shapes, bounds, options)


def _run_window(plan: _Plan, provinces: list[str] | None) -> WindowResult | None:
    """The window of `provinces`' units (all units when None), computed for those units."""
    inputs = _window_inputs(plan, provinces)
    return None if inputs is None else coverage_window(*inputs)


def _window_inputs(plan: _Plan, provinces: list[str] | None) -> tuple | None:
    """coverage_window's arguments for `provinces`' window: the units and site shapes reaching
    it; None when the window lies off the grid."""
    units = plan.units
    own = (
        np.ones(len(units), bool)
        if provinces is None
        else units["province_code"].isin(provinces).to_numpy()
    )
    window = plan.grid.window(tuple(units[own].total_bounds))
    if window is None:
        return None
    wb = rasterio.windows.bounds(window, plan.grid.transform)
    # Other units matter only where they share a cell with an own unit (the overlap rule, the
    # people of a cell cut between units, a cell's unit for dead zones): those within one cell
    # diagonal. The rest of the window's units (most of an elongated province's bounding box)
    # would only be extracted and thrown away.
    reach = 1.01 * math.hypot(plan.grid.transform.a, plan.grid.transform.e)
    near = units.sindex.query(units.geometry.values[own], predicate="dwithin", distance=reach)[1]
    near = np.union1d(near, np.flatnonzero(own))
    sub, sub_own = units.iloc[near].reset_index(drop=True), own[near]
    shapes = {}
    for tech, geoms in plan.shapes.items():
        b = plan.shape_bounds[tech]
        hit = (b[:, 0] < wb[2]) & (b[:, 2] > wb[0]) & (b[:, 1] < wb[3]) & (b[:, 3] > wb[1])
        shapes[tech] = geoms[hit]
    return plan.grid, window, sub, sub_own, shapes, plan.options


def _assemble(plan: _Plan, parts: list[WindowResult | None]) -> CoverageResult:
    parts = [p for p in parts if p is not None and len(p.unit_codes)]
    techs = list(plan.shapes)
    units = plan.units.set_index("unit_code")
    rows = []
    for p in parts:
        for tech in techs:
            rows.append(
                pl.DataFrame(
                    {
                        "unit_code": p.unit_codes,
                        "technology": tech,
                        "grid_population": p.population,
                        "area_m2": p.area_m2,
                        "covered_m2": p.covered_m2[tech],
                        "covered_population": p.covered_population[tech],
                    },
                    schema_overrides={"technology": pl.String},
                )
            )
    even = plan.grid.is_even
    info = pl.DataFrame(
        {
            "unit_code": units.index.to_numpy(),
            "province_code": units["province_code"].to_numpy(),
            "unit_population": units["population"].to_numpy(),
        }
    )
    if not rows:
        return CoverageResult(pl.DataFrame(schema=RESULT_SCHEMA), _dead_zone_frame([], plan))
    df = pl.concat(rows).join(info, on="unit_code", how="left")
    share_area = pl.when(pl.col("area_m2") > 0).then(pl.col("covered_m2") / pl.col("area_m2"))
    if even:
        population = pl.col("unit_population").fill_nan(None)
        covered = population * share_area
        share = share_area * 100
    else:
        population = pl.col("grid_population")
        covered = pl.col("covered_population")
        share = pl.when(population > 0).then(covered / population * 100)
    table = df.select(
        "unit_code",
        "province_code",
        "technology",
        population.alias("population"),
        covered.alias("population_covered"),
        share.alias("share_covered"),
        (pl.col("area_m2") / 1e6).alias("area_km2"),
        (pl.col("covered_m2") / 1e6).alias("area_covered_km2"),
        pl.lit("even" if even else "grid").alias("population_source"),
    ).sort("unit_code", "technology")
    zones = [z for p in parts for z in p.dead_zones]
    timings: dict[str, float] = {}
    for p in parts:
        for step, seconds in p.timings.items():
            timings[step] = timings.get(step, 0.0) + seconds
    return CoverageResult(table.cast(RESULT_SCHEMA), _dead_zone_frame(zones, plan), timings)


def _dead_zone_frame(zones: list[dict], plan: _Plan) -> gpd.GeoDataFrame:
    province = dict(zip(plan.units["unit_code"], plan.units["province_code"], strict=True))
    frame = gpd.GeoDataFrame(
        {
            "unit_code": [z["unit_code"] for z in zones],
            "province_code": [province[z["unit_code"]] for z in zones],
            "technology": [z["technology"] for z in zones],
            "population": np.array([z["population"] for z in zones], dtype=float),
            "area_km2": np.array([z["area_km2"] for z in zones], dtype=float),
        },
        geometry=gpd.GeoSeries([z["geometry"] for z in zones], crs=plan.grid.crs),
    ).to_crs(WGS84)
    frame = frame.sort_values(["unit_code", "technology", "population"], ascending=[1, 1, 0])
    return frame.reset_index(drop=True)


def _provinces(plan: _Plan, provinces: Iterable[str] | None) -> list[str]:
    present = sorted(plan.units["province_code"].unique())
    return [p for p in present if provinces is None or p in set(provinces)]


def compute_coverage(
    units: gpd.GeoDataFrame,
    sites: pl.DataFrame,
    grid_path: str | Path | None = None,
    *,
    provinces: Iterable[str] | None = None,
    by_province: bool | None = None,
    options: CoverageOptions | None = None,
    workers: int = 1,
) -> CoverageResult:
    """Coverage per unit × technology and dead zones, in this process (`workers` > 1: the
    province windows in that many processes).

    `units`: unit_code, province_code, geometry (any CRS) and optionally population (used when
    there is no grid). `sites`: SITE_SCHEMA rows (unusable ones are left out). `provinces`
    limits the units reported (all units still take part in the overlap rule). `by_province`:
    one window per province (bounded memory) or one window over all units (fastest: a unit is
    extracted once, not again in each neighbour's window); by default one window unless it
    would exceed MAX_WINDOW_CELLS or `provinces` is given.
    `options`: resolution of the even grid, populated-cell and dead-zone thresholds.
    `workers`: the windows are independent (each gives only its own units), so by province
    they share out over processes with the same result; each process holds the plan and one
    window at a time.
    """
    started = time.perf_counter()
    plan = _plan(units, sites, grid_path, options or CoverageOptions())
    planned = time.perf_counter() - started
    if by_province is None:
        whole = plan.grid.window(tuple(plan.units.total_bounds))
        cells = 0 if whole is None else int(whole.width) * int(whole.height)
        by_province = provinces is not None or cells > MAX_WINDOW_CELLS
    if by_province:
        parts = _run_windows(plan, [[p] for p in _provinces(plan, provinces)], workers)
    else:
        if provinces is not None:
            raise ValueError("provinces needs by_province=True")
        parts = [_run_window(plan, None)]
    result = _assemble(plan, parts)
    result.timings = {"plan (units, site shapes)": planned, **result.timings}
    return result


def _run_windows(plan: _Plan, windows: list[list[str]], workers: int) -> list[WindowResult | None]:
    """Each window's result, in the order given: in this process, or over `workers` processes.

    The processes are spawned (the caller may be a Dagster run with threads of its own; a fork
    would copy their locks) and are sent each window's own units and site shapes, not the whole
    plan, so each holds one window at a time; the largest windows go first, so the last to
    finish is a small one."""
    workers = min(workers, len(windows))
    if workers <= 1:
        return [_run_window(plan, w) for w in windows]
    inputs = [_window_inputs(plan, w) for w in windows]
    order = sorted(
        (i for i, args in enumerate(inputs) if args is not None),
        key=lambda i: -int(inputs[i][1].width) * int(inputs[i][1].height),
    )
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, context) as pool:
        futures = {i: pool.submit(coverage_window, *inputs[i]) for i in order}
        return [futures[i].result() if i in futures else None for i in range(len(windows))]


def compute_coverage_distributed(
    units: gpd.GeoDataFrame,
    sites: pl.DataFrame,
    client,
    grid_path: str | Path | None = None,
    *,
    provinces: Iterable[str] | None = None,
    options: CoverageOptions | None = None,
) -> CoverageResult:
    """The same as `compute_coverage`, one task per province on a dask.distributed `client`.

    The plan (units and site shapes in the grid CRS) is scattered once; each worker reads only
    its province's window of the GeoTIFF, so the grid is never shipped.
    """
    plan = _plan(units, sites, grid_path, options or CoverageOptions())
    shared = client.scatter(plan, broadcast=True)
    futures = client.map(
        lambda p, plan: _run_window(plan, [p]), _provinces(plan, provinces), plan=shared,
        pure=False,
    )  # fmt: skip
    return _assemble(plan, client.gather(futures))
