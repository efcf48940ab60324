"""Mobile coverage computed from cell sites and a population grid (issue 13).

Operators' own coverage percentages cannot be audited; a department holding the cell-site list
and a population grid can compute the figure itself. The method, chosen so the national case
runs in seconds and stays exact at the edges:

1. Work on the population grid's own cells (any resolution, any CRS). Each site's disc or
   sector is built in metres in the site's own UTM zone, then projected onto the grid's CRS,
   so radii are true ground distances wherever the grid lives.
2. Coverage of a technology is the union of its sites' shapes, rasterised onto the grid
   (a cell is covered when its centre is): overlapping sites count once by construction.
3. Units get exact per-cell fractions (exactextract): a cell cut by a unit boundary counts in
   each unit by the share of its area inside it. Where unit polygons overlap (slivers left by
   simplified boundaries), a cell is never given out more than once: units take their
   fractions in ascending code order, each capped at what lower codes left of the cell
   (w'_k = min(1, W_k) - min(1, W_{k-1}) over the cumulative fractions W), so the lower code
   keeps an overlap and a person is counted in one unit only. The part of a cell outside
   every unit (sea, abroad) holds nobody: a cell's people are shared by the units in it in
   proportion to their areas there, so a coastal cell's people all count in its unit.
4. Sums by unit are `bincount`s over those (cell, unit, fraction) entries.
5. Dead zones: populated cells (population >= a threshold) outside a technology's coverage,
   each given to the unit holding the largest fraction of it (ties: lower code), polygonised
   into 4-connected zones per unit.

Without a grid, each unit's population is spread evenly over its area: the same fractions are
computed on a 100 m grid in UTM 48N and population_covered = population x covered area / area.

The work is partitioned by province: a province's window is the bounding box of its units; the
units of neighbouring provinces that reach into it take part in the overlap rule, and every site
whose shape reaches the window covers it, so sites near a border cover both sides and every
window gives its own units exactly what a national pass would. `compute_coverage` runs the
windows in process (or as one national window); `compute_coverage_distributed` runs them on a
dask.distributed cluster with equal results.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import pyproj
import rasterio
import rasterio.features
import rasterio.windows
import shapely
from affine import Affine
from exactextract import exact_extract
from exactextract.feature import Feature, FeatureSource
from exactextract.raster import NumPyRasterSource

from geo.boundaries import polygonal

WGS84 = "EPSG:4326"
FALLBACK_CRS = "EPSG:32648"  # WGS 84 / UTM 48N: metric, and what geo.boundaries measures in
FALLBACK_RESOLUTION_M = 100.0
DEFAULT_MIN_CELL_POPULATION = 0.1  # people per cell (10/km² at 100 m): below, no "populated place"
DEFAULT_MIN_ZONE_POPULATION = 10.0  # a dead zone with fewer people is not listed
MAX_WINDOW_CELLS = 150_000_000  # one national window up to this (~3 GB peak), else by province

# --------------------------------------------------------------------------------------------
# Site shapes
# --------------------------------------------------------------------------------------------


def _arc_shapes(x, y, radius, azimuth, beamwidth) -> np.ndarray:
    """Discs (azimuth NaN or beam >= 360) and sectors, in the metric CRS x/y are in.

    Azimuth is clockwise from grid north (the UTM zone's own, within 1.5° of true north).
    """
    discs = np.isnan(azimuth) | (beamwidth >= 360)
    out = np.empty(len(x), dtype=object)
    if discs.any():
        out[discs] = shapely.buffer(shapely.points(x[discs], y[discs]), radius[discs], quad_segs=16)
    sec = np.flatnonzero(~discs)
    if len(sec):  # fixed 65 arc points per sector: one vectorised build for all of them
        steps = np.linspace(-0.5, 0.5, 65)
        ang = np.radians(azimuth[sec, None] + beamwidth[sec, None] * steps)
        ring_x = x[sec, None] + radius[sec, None] * np.sin(ang)
        ring_y = y[sec, None] + radius[sec, None] * np.cos(ang)
        apex_x, apex_y = x[sec, None], y[sec, None]
        ring = np.stack(
            [np.hstack([apex_x, ring_x, apex_x]), np.hstack([apex_y, ring_y, apex_y])], axis=-1
        )
        out[sec] = shapely.polygons(ring)
    return out


def site_shapes(sites: pl.DataFrame, crs: str | pyproj.CRS) -> np.ndarray:
    """The coverage shape of each site (a disc or a sector), in `crs`.

    Each shape is built in metres in its site's UTM zone, then projected: the radius is a true
    ground distance whether the grid is in UTM 48N, VN-2000, another zone or lon/lat.
    """
    lon, lat = sites["lon"].to_numpy(), sites["lat"].to_numpy()
    radius = sites["radius_m"].to_numpy()
    azimuth = sites["azimuth_deg"].fill_null(np.nan).to_numpy().astype(float)
    beam = sites["beamwidth_deg"].fill_null(360.0).to_numpy().astype(float)
    target = pyproj.CRS(crs)
    out = np.empty(len(sites), dtype=object)
    zones = np.floor((lon + 180) / 6).astype(int) + 1
    for zone in np.unique(zones):
        sel = zones == zone
        utm = pyproj.CRS(32600 + int(zone) if lat[sel].mean() >= 0 else 32700 + int(zone))
        x, y = pyproj.Transformer.from_crs(WGS84, utm, always_xy=True).transform(lon[sel], lat[sel])
        shapes = _arc_shapes(np.asarray(x), np.asarray(y), radius[sel], azimuth[sel], beam[sel])
        if not utm.equals(target):
            to = pyproj.Transformer.from_crs(utm, target, always_xy=True)
            shapes = shapely.transform(shapes, lambda c, to=to: np.column_stack(to.transform(*c.T)))
        out[sel] = shapes
    return out


# --------------------------------------------------------------------------------------------
# Population grid
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PopulationGrid:
    """The grid the computation runs on: a GeoTIFF's, or an even grid when there is none.

    `path` None means no population raster: units' populations are spread evenly over them.
    """

    crs: pyproj.CRS
    transform: Affine
    width: int
    height: int
    path: str | None = None
    band: int = 1

    @classmethod
    def from_geotiff(cls, path: str | Path, band: int = 1) -> PopulationGrid:
        with rasterio.open(path) as src:
            t = src.transform
            if t.b != 0 or t.d != 0 or t.e >= 0:
                raise ValueError(f"{path}: only north-up, unrotated grids are supported")
            if src.crs is None:
                raise ValueError(f"{path}: the population grid has no CRS")
            return cls(pyproj.CRS(src.crs.to_wkt()), t, src.width, src.height, str(path), band)

    @classmethod
    def even(
        cls,
        units: gpd.GeoDataFrame,
        resolution_m: float = FALLBACK_RESOLUTION_M,
        crs: str = FALLBACK_CRS,
    ) -> PopulationGrid:
        """A grid aligned on multiples of `resolution_m`, covering the units."""
        x0, y0, x1, y1 = units.to_crs(crs).total_bounds
        r = float(resolution_m)
        left, top = math.floor(x0 / r) * r, math.ceil(y1 / r) * r
        width = max(1, math.ceil((x1 - left) / r))
        height = max(1, math.ceil((top - y0) / r))
        return cls(pyproj.CRS(crs), Affine(r, 0, left, 0, -r, top), width, height)

    @property
    def is_even(self) -> bool:
        return self.path is None

    def window(self, bounds: tuple[float, float, float, float]) -> rasterio.windows.Window | None:
        """The grid-aligned window covering `bounds` (grid CRS), clipped; None if outside."""
        inv = ~self.transform
        cols, rows = zip(
            *(inv @ (x, y) for x in (bounds[0], bounds[2]) for y in (bounds[1], bounds[3])),
            strict=True,
        )
        c0, c1 = max(0, math.floor(min(cols))), min(self.width, math.ceil(max(cols)))
        r0, r1 = max(0, math.floor(min(rows))), min(self.height, math.ceil(max(rows)))
        if c1 <= c0 or r1 <= r0:
            return None
        return rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)

    def read(self, window: rasterio.windows.Window) -> np.ndarray | None:
        """People per cell in the window (nodata, NaN and negatives as 0); None for an even grid."""
        if self.path is None:
            return None
        with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"), rasterio.open(self.path) as src:
            data = src.read(self.band, window=window, out_dtype="float32")
            nodata = src.nodatavals[self.band - 1]
        bad = ~np.isfinite(data) | (data < 0)
        if nodata is not None and np.isfinite(nodata):
            bad |= data == nodata
        data[bad] = 0
        return data

    def row_area_m2(self, window: rasterio.windows.Window) -> np.ndarray:
        """Area of one cell in each row of the window, m² (geodesic rows for lon/lat grids)."""
        a, e = self.transform.a, self.transform.e
        if self.crs.is_projected:
            factor = self.crs.axis_info[0].unit_conversion_factor
            return np.full(int(window.height), abs(a * e) * factor**2)
        geod = pyproj.Geod(ellps="WGS84")
        top = self.transform.f + e * window.row_off
        out = np.empty(int(window.height))
        for i in range(int(window.height)):
            y0, y1 = top + e * i, top + e * (i + 1)
            area, _ = geod.polygon_area_perimeter([0, a, a, 0], [y0, y0, y1, y1])
            out[i] = abs(area)
        return out


# --------------------------------------------------------------------------------------------
# One window
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageOptions:
    """The method's settings. Without a grid, `resolution_m` is the even grid's cell size."""

    resolution_m: float = FALLBACK_RESOLUTION_M
    min_cell_population: float = DEFAULT_MIN_CELL_POPULATION  # a populated cell has at least
    min_zone_population: float = DEFAULT_MIN_ZONE_POPULATION  # a listed dead zone has at least
    dead_zones: bool = True


@dataclass
class WindowResult:
    """What one window gives its own units: sums per unit and technology, and dead zones."""

    unit_codes: np.ndarray  # own units, in the order of the arrays below
    area_m2: np.ndarray
    population: np.ndarray  # NaN for an even grid (the unit's own population is used)
    covered_m2: dict[str, np.ndarray] = field(default_factory=dict)
    covered_population: dict[str, np.ndarray] = field(default_factory=dict)
    dead_zones: list[dict] = field(default_factory=list)  # geometry in the grid CRS
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step

    @contextmanager
    def timed(self, step: str):
        started = time.perf_counter()
        yield
        self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - started


class _WKBFeature(Feature):
    """A unit handed to exactextract as WKB (its GeoJSON path costs more than the extraction)."""

    def __init__(self, pos: int, wkb: bytes):
        super().__init__()
        self.pos, self.wkb = pos, wkb

    def geometry(self) -> bytes:
        return self.wkb

    def get(self, name: str) -> int:
        return self.pos

    def fields(self) -> list[str]:
        return ["pos"]


class _WKBSource(FeatureSource):
    def __init__(self, geoms: np.ndarray, crs: pyproj.CRS):
        super().__init__()
        self.geoms, self.wkt = geoms, crs.to_wkt()

    def count(self) -> int:
        return len(self.geoms)

    def __iter__(self):
        for i, wkb in enumerate(shapely.to_wkb(self.geoms)):
            yield _WKBFeature(i, wkb)

    def srs_wkt(self) -> str:
        return self.wkt


def _fractions(
    units: gpd.GeoDataFrame, shape: tuple[int, int], transform: Affine, crs: pyproj.CRS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact (cell, unit position, fraction) entries for the window, overlaps given out once."""
    h, w = shape
    x0, y1 = transform.c, transform.f
    x1, y0 = x0 + transform.a * w, y1 + transform.e * h
    raster = NumPyRasterSource(
        np.broadcast_to(np.uint8(0), shape), x0, y0, x1, y1, srs_wkt=crs.to_wkt()
    )
    found = exact_extract(
        raster, _WKBSource(units.geometry.values, crs), ["cell_id", "coverage"],
        include_cols=["pos"], output="pandas",
    )  # fmt: skip
    # Cells met by two units: only they can be given out twice (cell ids within one unit are
    # unique, so a running "seen" mask finds them without a window-sized float array).
    seen, shared = np.zeros(h * w, dtype=bool), np.zeros(h * w, dtype=bool)
    for ids in found["cell_id"]:
        shared[ids] |= seen[ids]
        seen[ids] = True
    del seen
    sizes = np.fromiter((len(c) for c in found["cell_id"]), dtype=np.int64, count=len(found))
    cells = np.concatenate([np.asarray(c, dtype=np.int64) for c in found["cell_id"]] or [[]])
    frac = np.concatenate([np.asarray(c, dtype=np.float64) for c in found["coverage"]] or [[]])
    pos = np.repeat(found["pos"].to_numpy(dtype=np.intp), sizes)  # bincount's own index type
    del found
    if not (frac > 0).all():
        keep = frac > 0
        cells, pos, frac = cells[keep], pos[keep], frac[keep]
    # Shared cells: fractions taken in code order, each capped at what lower codes left.
    over = np.flatnonzero(shared[cells])
    if len(over):
        rank = units["code_rank"].to_numpy()[pos[over]]  # national ranks: 1 … all units
        order = over[np.lexsort((rank, cells[over]))]
        c, f = cells[order], frac[order]
        start = np.r_[0, np.flatnonzero(np.diff(c)) + 1]
        nth = np.arange(len(c)) - np.repeat(start, np.diff(np.r_[start, len(c)]))
        # What lower codes took of the cell, summed within the cell alone (a running sum over
        # all cells would leave residues of 1e-11 that depend on the window, and a cell all
        # taken would still give a sliver, and with it its people, to the next unit).
        before = np.zeros(len(c))
        for n in range(1, int(nth.max()) + 1):
            at = np.flatnonzero(nth == n)
            before[at] = before[at - 1] + f[at - 1]
        frac[order] = np.minimum(1, before + f) - np.minimum(1, before)
    return cells, pos, frac


def _people_shares(cells: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Each entry's share of its cell's people: its area fraction over the cell's total.

    A grid puts a cell's people where people live: the part of a cell outside every unit (sea,
    abroad, a gap between simplified polygons) holds nobody, so a coastal cell's people all
    belong to its unit, and a cell cut between two units is shared by their areas in it. Only
    cells partly outside every unit change (their entries are all partial: a whole entry leaves
    the others at 0), so the sort runs over the boundary entries alone."""
    part = np.flatnonzero((frac > 0) & (frac < 1))
    if not len(part):
        return frac
    ids, inverse = np.unique(cells[part], return_inverse=True)
    total = np.bincount(inverse, frac[part], minlength=len(ids))[inverse]
    shares = frac.copy()
    short = total < 1 - 1e-6  # not rounding: float32 fractions of a whole cell sum to ~1
    shares[part[short]] = frac[part[short]] / total[short]
    return shares


def _label_entries(cells, pos, frac, ranks) -> np.ndarray:
    """Entries (bool) naming each cell's unit: the largest fraction, ties to the lower code."""
    label = frac >= 1 - 1e-12
    part = np.flatnonzero((frac > 0) & ~label)
    order = part[np.lexsort((ranks[pos[part]], -frac[part], cells[part]))]
    label[order[np.unique(cells[order], return_index=True)[1]]] = True
    return label


def rasterize_union(geoms: np.ndarray, shape: tuple[int, int], transform: Affine) -> np.ndarray:
    """Cells (bool, `shape`) whose centre lies inside any of the polygons: their union.

    A vectorised scanline fill — the cell-centre rule GDAL uses — written in numpy because
    handing 100,000 shapely shapes to GDAL goes through GeoJSON in Python and costs more than
    the fill itself. Each polygon is filled even-odd along every row centre it crosses (holes
    and multipolygon parts included); the spans of all polygons are summed, so overlaps count
    once. Crossings are half-open in y, so a vertex on a row centre is never counted twice.
    """
    h, w = shape
    covered = np.zeros(shape, dtype=bool)
    if not len(geoms):
        return covered
    rings, owner = shapely.get_rings(geoms, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    col = (xy[:, 0] - transform.c) / transform.a  # pixel space: rows grow downwards
    row = (xy[:, 1] - transform.f) / transform.e
    same = ring[:-1] == ring[1:]  # edges join consecutive points of one ring
    c0, c1, r0, r1 = col[:-1][same], col[1:][same], row[:-1][same], row[1:][same]
    gid = owner[ring[:-1][same]]
    lo = np.clip(np.ceil(np.minimum(r0, r1) - 0.5), 0, h).astype(np.int64)
    hi = np.clip(np.ceil(np.maximum(r0, r1) - 0.5), 0, h).astype(np.int64)
    n = np.maximum(hi - lo, 0)
    if not n.sum():
        return covered
    edge = np.repeat(np.arange(len(n)), n)
    rows = lo[edge] + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    t = (rows + 0.5 - r0[edge]) / (r1[edge] - r0[edge])
    x = c0[edge] + t * (c1[edge] - c0[edge])
    order = np.lexsort((x, gid[edge] * h + rows))  # by shape and row, then x
    x, rows = x[order], rows[order]
    start = np.clip(np.ceil(x[0::2] - 0.5), 0, w).astype(np.int64)
    end = np.clip(np.ceil(x[1::2] - 0.5), 0, w).astype(np.int64)
    span_rows = rows[0::2]
    real = end > start
    # Span ends as +1/-1 along each row, summed: a cell's count is the spans over it. int16
    # holds the count while fewer than 32,767 shapes exist (half the memory traffic of int32).
    dtype = np.int16 if len(geoms) < np.iinfo(np.int16).max else np.int32
    diff = np.zeros((h, w + 1), dtype=dtype)
    flat = diff.reshape(-1)
    np.add.at(flat, span_rows[real] * (w + 1) + start[real], 1)
    np.add.at(flat, span_rows[real] * (w + 1) + end[real], -1)
    np.cumsum(diff, axis=1, out=diff)
    return diff[:, :w] > 0


def _dead_zones(
    cells, unit, share, people, shape, transform, row_area, codes, tech, min_zone_population
) -> list[dict]:
    """Zones of dead cells (given as entries): 8-connected within one unit, with at least
    `min_zone_population` people.

    Zones are found on the raster (scipy.ndimage) and only the kept ones are polygonised, so
    scattered single cells do not become millions of features; a zone's geometry is its cells
    (4-connected polygons, a MultiPolygon when cells touch only at corners).
    Within one unit means a path through another unit's dead cells joins nothing, so a zone
    does not depend on which other units share the window (a province's or the nation's):
    each unit's cells are labelled on their own, in the unit's bounding box.
    """
    from scipy import ndimage

    if not len(cells):
        return []
    eight = np.ones((3, 3), dtype=bool)
    zone = np.empty(len(cells), dtype=np.int64)
    by_unit = np.argsort(unit, kind="stable")
    bounds = np.r_[0, np.flatnonzero(np.diff(unit[by_unit])) + 1, len(cells)]
    rows, cols = cells // shape[1], cells % shape[1]
    found = 0
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        mine = by_unit[lo:hi]
        r, c = rows[mine], cols[mine]
        r0, c0 = r.min(), c.min()
        layer = np.zeros((r.max() - r0 + 1, c.max() - c0 + 1), dtype=bool)
        layer[r - r0, c - c0] = True
        labels, n = ndimage.label(layer, structure=eight)
        zone[mine] = labels[r - r0, c - c0] + (found - 1)  # 0, 1, … over all units
        found += n
    unit_of = np.empty(found, dtype=np.int64)
    unit_of[zone] = unit
    pop = np.bincount(zone, people * share, minlength=found)
    area = np.bincount(zone, row_area[rows], minlength=found)
    keep = ~(pop < min_zone_population)  # NaN (unknown population) kept
    if not keep.any():
        return []
    ids = np.zeros(shape, dtype=np.int32)  # zone id + 1 on kept cells, 0 elsewhere
    ids.ravel()[cells[keep[zone]]] = zone[keep[zone]] + 1
    polys, zone_of = _polygonise(ids, transform)
    order = np.argsort(zone_of, kind="stable")
    zone_of, polys = zone_of[order], polys[order]
    first = np.r_[0, np.flatnonzero(np.diff(zone_of)) + 1]
    out = []
    for z, part in zip(zone_of[first], np.split(polys, first[1:]), strict=True):
        out.append(
            {
                "unit_code": codes[unit_of[z]],
                "technology": tech,
                "population": float(pop[z]),
                "area_km2": float(area[z]) / 1e6,
                "geometry": part[0] if len(part) == 1 else shapely.MultiPolygon(list(part)),
            }
        )
    return out


def _polygonise(ids: np.ndarray, transform: Affine) -> tuple[np.ndarray, np.ndarray]:
    """Polygons (4-connected) of the non-zero cells of `ids`, and the zone (id - 1) of each.

    GDAL traces the rings; the shapely geometries are built in one vectorised call from the
    flattened coordinates, which is several times faster than one `shape()` per polygon.
    """
    values, ring_sizes, ring_poly, coords = [], [], [], []
    for geom, value in rasterio.features.shapes(
        ids, mask=ids > 0, connectivity=4, transform=transform
    ):
        for ring in geom["coordinates"]:
            ring_sizes.append(len(ring))
            ring_poly.append(len(values))
            coords.append(ring)
        values.append(int(value) - 1)
    xy = np.fromiter(
        chain.from_iterable(chain.from_iterable(coords)), dtype=np.float64,
        count=2 * sum(ring_sizes),
    ).reshape(-1, 2)  # fmt: skip
    rings = shapely.linearrings(xy, indices=np.repeat(np.arange(len(ring_sizes)), ring_sizes))
    polys = shapely.polygons(rings, indices=np.asarray(ring_poly))
    return polys, np.asarray(values, dtype=np.int64)


def coverage_window(
    grid: PopulationGrid,
    window: rasterio.windows.Window,
    units: gpd.GeoDataFrame,
    own: np.ndarray,
    shapes: dict[str, np.ndarray],
    options: CoverageOptions | None = None,
) -> WindowResult:
    """Sums for the `own` units of `units` (grid CRS, with code_rank) over one grid window.

    `units` also holds every other unit reaching into the window (for the overlap rule);
    `shapes` every site shape reaching it, per technology. On an even grid a unit's people are
    its `population` spread over its area (own units lie wholly inside their window, so their
    area here is their whole area); unknown populations count every cell as populated.
    """
    opt = options or CoverageOptions()
    shape = (int(window.height), int(window.width))
    transform = rasterio.windows.transform(window, grid.transform)
    codes, k = units["unit_code"].to_numpy(), len(units)
    result = WindowResult(codes[own], np.empty(0), np.empty(0))
    with result.timed("unit fractions (exactextract)"):
        cells, pos, frac = _fractions(units, shape, transform, grid.crs)
    with result.timed("population grid read"):
        raster = grid.read(window)
    with result.timed("sums by unit"):
        row_area = grid.row_area_m2(window)
        uniform = bool((row_area == row_area[0]).all())  # projected grid: one cell area
        area_w = frac * (row_area[0] if uniform else row_area[cells // shape[1]])
        area = np.bincount(pos, area_w, minlength=k)
        if raster is None:  # even grid: people = the unit's density × area
            density = units["population"].to_numpy(dtype=float) / np.where(area > 0, area, np.nan)
            people_w = area_w * np.nan_to_num(density)[pos]
            result.population = np.full(own.sum(), np.nan)
        else:
            people_w = _people_shares(cells, frac) * raster.ravel()[cells]
            result.population = np.bincount(pos, people_w, minlength=k)[own]
        result.area_m2 = area[own]
    if opt.dead_zones and shapes:
        with result.timed("dead zones"):
            # Candidate entries: the cell's unit (largest fraction), one of ours, populated.
            cand = _label_entries(cells, pos, frac, units["code_rank"].to_numpy()) & own[pos]
            if raster is None:
                cand &= ~(density[pos] <= 0)  # NaN: population unknown, counted as populated
            else:
                cand &= raster.ravel()[cells] >= opt.min_cell_population
            cand = np.flatnonzero(cand)
            if raster is None:
                people = density[pos[cand]] * row_area[cells[cand] // shape[1]]
            else:
                people = raster.ravel()[cells[cand]].astype(np.float64)
    del raster
    for tech, tech_shapes in shapes.items():
        with result.timed("site coverage (scanline)"):
            on = rasterize_union(tech_shapes, shape, transform).ravel()[cells]
        with result.timed("sums by unit"):
            result.covered_m2[tech] = np.bincount(pos, area_w * on, minlength=k)[own]
            result.covered_population[tech] = np.bincount(pos, people_w * on, minlength=k)[own]
        if opt.dead_zones:
            with result.timed("dead zones"):
                d = ~on[cand]
                result.dead_zones += _dead_zones(
                    cells[cand[d]], pos[cand[d]], frac[cand[d]], people[d], shape, transform,
                    row_area, codes, tech, opt.min_zone_population,
                )  # fmt: skip
    return result


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


# --------------------------------------------------------------------------------------------
# Map layer
# --------------------------------------------------------------------------------------------


def dead_zone_layer(
    dead_zones: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame | None = None,
    technology: str = "5G",
    min_population: float = 1.0,
    tolerance_m: float = 25.0,
) -> gpd.GeoDataFrame:
    """Dead zones of one technology as a display layer for geo/maps.py (EPSG:4326).

    One feature per zone with at least `min_population` people, cell staircases smoothed by a
    topology-preserving simplification (`tolerance_m`, metres); with `units` (admin_units), the
    unit's name, province name and remote flag ride along for tooltips. Largest zones first.
    """
    layer = dead_zones[
        (dead_zones["technology"] == technology) & (dead_zones["population"] >= min_population)
    ].copy()
    if len(layer):
        metric = layer.geometry.to_crs(FALLBACK_CRS).simplify(tolerance_m)
        layer = layer.set_geometry(metric.to_crs(WGS84).make_valid())
    if units is not None:
        extra = [c for c in ("unit_name", "province_name", "is_remote") if c in units.columns]
        info = units[["unit_code", *extra]].drop_duplicates("unit_code")
        layer = layer.merge(info, on="unit_code", how="left")
    layer["population"] = layer["population"].round(1)
    layer["area_km2"] = layer["area_km2"].round(4)
    return layer.sort_values("population", ascending=False).reset_index(drop=True)
