"""One window's coverage: the union of the sites' shapes rasterised, exact per-cell fractions of
the units, the overlap rule, sums per unit and dead zones (steps 2-5 of the method, see
geo.coverage)."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain

import geopandas as gpd
import numpy as np
import pyproj
import rasterio
import rasterio.features
import rasterio.windows
import shapely
from affine import Affine
from exactextract import exact_extract
from exactextract.feature import Feature, FeatureSource
from exactextract.raster import NumPyRasterSource

from geo.coverage.grid import FALLBACK_RESOLUTION_M, PopulationGrid

DEFAULT_MIN_CELL_POPULATION = 0.1  # people per cell (10/km² at 100 m): below, no "populated place"
DEFAULT_MIN_ZONE_POPULATION = 10.0  # a dead zone with fewer people is not listed


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
