"""Benchmark: national 5G population coverage, the project's method against the analyst's baseline.

    uv run python benchmarks/coverage.py [--cache DIR] [--skip-baseline]

The case (synthetic, deterministic, generated once into the cache directory in a child process
so its memory does not count): the 3,321 units of ../shared/data/vn_communes_2025.parquet; a
100 m population grid (EPSG:32648) over mainland Vietnam and its near islands (~33 M land
cells; Hoàng Sa and Trường Sa lie outside it) holding each unit's published population, spread
unevenly (smooth lognormal density, rural people in ~500 m village clusters, blurred 500 m
across commune lines as real population is); 60,000 sites placed where
people live (radius 0.3–4 km by density, a quarter of them sectors, ~40 % 5G).

Both methods run on it in this process and their 5G shares are compared unit by unit:
- project: geo.coverage.compute_coverage on the 5G sites (wall_s, like for like), after the
  full run the asset makes (every technology and the dead zones), itself timed and printed;
- baseline: buffer the 5G sites (in metres on the ground: each in its UTM zone), dissolve,
  overlay with the units, rasterstats zonal sums (cell centres).
The last line is the RESULT line of issue 13.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import pyproj
import rasterio
import rasterio.features
import shapely
from rasterio.transform import from_origin

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assets.ingest.sites import SITE_SCHEMA  # noqa: E402
from geo.coverage import CoverageOptions, compute_coverage  # noqa: E402

COMMUNES = REPO.parent / "shared" / "data" / "vn_communes_2025.parquet"
CRS = "EPSG:32648"
RES = 100.0
N_SITES = 60_000
SEED = 13
GRID_MAX_X = 1_300_000  # units reaching past this (Hoàng Sa, Trường Sa) stay off the grid


def load_units() -> gpd.GeoDataFrame:
    g = gpd.read_parquet(COMMUNES)
    return gpd.GeoDataFrame(
        {
            "unit_code": g["ma_xa"].astype(str).str.zfill(5),
            "province_code": g["ma_tinh"].astype(str).str.zfill(2),
            "population": g["dan_so"].astype("float64"),
        },
        geometry=g.geometry.values,
        crs=g.crs,
    )


# --------------------------------------------------------------------------------------------
# The synthetic case
# --------------------------------------------------------------------------------------------


def _generate(cache: Path) -> None:
    """Write cache/population_100m.tif and cache/sites.parquet (deterministic)."""
    rng = np.random.default_rng(SEED)
    units = load_units().to_crs(CRS)
    b = units[units.bounds["maxx"] < GRID_MAX_X].total_bounds
    left, top = math.floor(b[0] / RES) * RES, math.ceil(b[3] / RES) * RES
    width, height = math.ceil((b[2] - left) / RES), math.ceil((top - b[1]) / RES)
    transform = from_origin(left, top, RES, RES)
    order = units.sort_values("unit_code", ascending=False)
    label = rasterio.features.rasterize(
        zip(order.geometry.values, order.index.to_numpy() + 1, strict=True),
        out_shape=(height, width),
        transform=transform,
        fill=0,
        dtype="int32",
    )
    # Smooth lognormal density at 2 km, bilinear to 100 m.
    from scipy.ndimage import zoom

    coarse = rng.lognormal(0.0, 0.8, size=(height // 20 + 2, width // 20 + 2)).astype("float32")
    smooth = zoom(coarse, 20, order=1)[:height, :width]
    del coarse
    area_km2 = np.bincount(label.ravel(), minlength=len(units) + 1) * (RES * RES / 1e6)
    pop = np.r_[0.0, units["population"].to_numpy()]
    density = np.divide(pop, area_km2, out=np.zeros_like(pop), where=area_km2 > 0)
    # Settlements: cells kept where a ~500 m noise field is under the unit's keep share, so a
    # rural unit is clusters of villages among empty land and a dense ward is full.
    keep_p = np.clip(0.35 + density / 2000, 0.35, 1.0).astype("float32")
    blobs = zoom(rng.random((height // 5 + 2, width // 5 + 2), dtype="float32"), 5, order=1)
    values = smooth
    for r0 in range(0, height, 2048):  # strips: bounded memory
        sl = slice(r0, min(height, r0 + 2048))
        lab = label[sl]
        values[sl][(blobs[sl, :width] >= keep_p[lab]) | (lab == 0)] = 0
    del blobs
    raw = np.bincount(label.ravel(), values.ravel().astype("float64"), minlength=len(units) + 1)
    scale = np.divide(pop, raw, out=np.zeros_like(pop), where=raw > 0).astype("float32")
    values *= scale[label]
    # Real population does not jump at a commune line (nor know its 50 m fragments): blur the
    # per-unit field across boundaries (sigma 500 m),
    # then nobody lives at sea or abroad.
    from scipy.ndimage import gaussian_filter

    values = gaussian_filter(values, sigma=5.0, truncate=3.0, output=np.float32)
    values[label == 0] = 0
    del label
    profile = dict(
        driver="GTiff", width=width, height=height, count=1, dtype="float32", crs=CRS,
        transform=transform, nodata=-1.0, tiled=True, blockxsize=512, blockysize=512,
        compress="deflate", predictor=3, zlevel=1,
    )  # fmt: skip
    tif = cache / "population_100m.tif"
    with rasterio.open(tif.with_suffix(".tmp"), "w", **profile) as dst:
        dst.write(values, 1)
    tif.with_suffix(".tmp").rename(tif)

    # Sites where people live: cells drawn by population.
    flat = values.ravel()
    populated = np.flatnonzero(flat > 0)
    weight = flat[populated].astype("float64")
    cell = rng.choice(populated, size=N_SITES, replace=False, p=weight / weight.sum())
    people = flat[cell]
    del values, flat
    row, col = np.divmod(cell, width)
    x = left + (col + rng.random(N_SITES)) * RES
    y = top - (row + rng.random(N_SITES)) * RES
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(x, y)
    urban = people > 40  # > 4,000 people per km²
    radius = np.where(
        urban, rng.uniform(300, 800, N_SITES), rng.uniform(1000, 4000, N_SITES)
    ).round(-1)
    tech = np.where(rng.random(N_SITES) < np.where(urban, 0.6, 0.35), "5G", "4G")
    sector = rng.random(N_SITES) < 0.25
    operators = np.array(["Viettel", "VNPT", "MobiFone"])[rng.integers(0, 3, N_SITES)]
    sites = pl.DataFrame(
        {
            "operator": operators,
            "site_id": [f"S{i:06d}" for i in range(N_SITES)],
            "technology": tech,
            "lat": np.round(lat, 6),
            "lon": np.round(lon, 6),
            "radius_m": radius,
            "azimuth_deg": np.where(sector, rng.uniform(0, 360, N_SITES).round(), np.nan),
            "beamwidth_deg": np.where(sector, rng.choice([65.0, 90.0, 120.0], N_SITES), np.nan),
        }
    ).with_columns(pl.col("azimuth_deg", "beamwidth_deg").fill_nan(None))
    sites.write_parquet(cache / "sites.parquet")


def ensure_case(cache: Path) -> tuple[Path, pl.DataFrame]:
    tif, sites = cache / "population_100m.tif", cache / "sites.parquet"
    if not (tif.exists() and sites.exists()):
        print(f"generating the synthetic case in {cache} (once) ...", flush=True)
        started = time.perf_counter()
        proc = multiprocessing.get_context("spawn").Process(target=_generate, args=(cache,))
        proc.start()
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"generation failed (exit {proc.exitcode})")
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    frame = pl.read_parquet(sites)
    return tif, frame.with_columns(
        **{c: pl.lit(None, t) for c, t in SITE_SCHEMA.items() if c not in frame.columns}
    ).select(SITE_SCHEMA.keys())


# --------------------------------------------------------------------------------------------
# The baseline a geospatial analyst writes first
# --------------------------------------------------------------------------------------------


def _wedge(x: float, y: float, r: float, azimuth: float, beam: float) -> shapely.Polygon:
    angles = np.radians(np.linspace(azimuth - beam / 2, azimuth + beam / 2, 33))
    ring = [(x, y), *zip(x + r * np.sin(angles), y + r * np.cos(angles), strict=True), (x, y)]
    return shapely.Polygon(ring)


def baseline(units: gpd.GeoDataFrame, sites: pl.DataFrame, tif: Path) -> dict[str, float]:
    """5G share per unit: buffer, dissolve, overlay, rasterstats zonal sums (cell centres)."""
    import pandas as pd
    from rasterstats import zonal_stats

    five = sites.filter(pl.col("technology") == "5G").to_pandas()
    # Radii are ground distances: each site is buffered in its own UTM zone (east of 108°E,
    # zone 48's metres are 0.2 % short of the ground's), then brought into the grid's CRS.
    zones = np.floor((five["lon"].to_numpy() + 180) / 6).astype(int) + 1
    parts = []
    for zone in np.unique(zones):
        here = five[zones == zone]
        utm = f"EPSG:{32600 + int(zone)}"
        pts = gpd.GeoSeries(gpd.points_from_xy(here["lon"], here["lat"]), crs=4326).to_crs(utm)
        shapes = []
        cols = (here["radius_m"], here["azimuth_deg"], here["beamwidth_deg"])
        for p, r, az, bw in zip(pts, *cols, strict=True):
            shapes.append(p.buffer(r) if np.isnan(az) else _wedge(p.x, p.y, r, az, bw))
        parts.append(gpd.GeoSeries(shapes, crs=utm).to_crs(CRS))
    cover = gpd.GeoDataFrame(geometry=pd.concat(parts, ignore_index=True), crs=CRS).dissolve()
    units_m = units[["unit_code", "geometry"]].to_crs(CRS)
    pieces = gpd.overlay(units_m, cover, how="intersection")
    pop = zonal_stats(list(units_m.geometry), str(tif), stats=["sum"])
    cov = zonal_stats(list(pieces.geometry), str(tif), stats=["sum"])
    covered = dict.fromkeys(units_m["unit_code"], 0.0)
    for code, s in zip(pieces["unit_code"], cov, strict=True):
        covered[code] += s["sum"] or 0.0
    out = {}
    for code, s in zip(units_m["unit_code"], pop, strict=True):
        total = s["sum"] or 0.0
        out[code] = covered[code] / total * 100 if total > 0 else math.nan
    return out


# --------------------------------------------------------------------------------------------


def _steps(result) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dxlake_cov")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    tif, sites = ensure_case(args.cache)
    units = load_units()
    with rasterio.open(tif) as src:
        print(f"grid {src.width} x {src.height} at {RES:g} m ({src.crs}); {len(units)} units; "
              f"{len(sites)} sites", flush=True)  # fmt: skip

    # What the asset computes: every technology, and the dead zones. Run first, it also warms
    # the file cache and the libraries for the timed like-for-like run (the baseline, after
    # it, finds the same warm cache).
    started = time.perf_counter()
    full = compute_coverage(units, sites, tif)
    print(f"project, all technologies + dead zones: {time.perf_counter() - started:.2f} s; "
          f"{len(full.table)} unit x technology rows, {len(full.dead_zones)} dead zones; "
          + _steps(full), flush=True)  # fmt: skip
    del full

    # Like for like with the baseline: 5G shares per unit.
    five = sites.filter(pl.col("technology") == "5G")
    started = time.perf_counter()
    result = compute_coverage(units, five, tif, options=CoverageOptions(dead_zones=False))
    wall = time.perf_counter() - started
    table = result.table
    print(f"project, 5G shares (as the baseline): {wall:.2f} s; " + _steps(result), flush=True)
    ours = dict(table.select("unit_code", "share_covered").iter_rows())
    land = table.filter(pl.col("population") > 0)
    national = land["population_covered"].sum() / land["population"].sum() * 100
    print(f"  national 5G population coverage {national:.2f} %", flush=True)
    base_wall, max_diff = math.nan, math.nan
    if not args.skip_baseline:
        started = time.perf_counter()
        theirs = baseline(units, sites, tif)
        base_wall = time.perf_counter() - started
        diffs = {
            c: abs(ours[c] - theirs[c])
            for c in theirs
            if c in ours and ours[c] is not None and not math.isnan(theirs[c])
        }
        worst = sorted(diffs.items(), key=lambda kv: -kv[1])[:5]
        max_diff = worst[0][1] if worst else math.nan
        print(f"baseline: {base_wall:.1f} s; {len(diffs)} units compared; worst: "
              + ", ".join(f"{c} {d:.3f} pp" for c, d in worst), flush=True)  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"RESULT units={len(units)} sites={len(sites)} wall_s={wall:.2f} "
        f"baseline_wall_s={base_wall:.1f} speedup={base_wall / wall:.1f} "
        f"max_abs_diff_pp={max_diff:.3f} peak_rss_mb={peak:.0f}"
    )


if __name__ == "__main__":
    main()
