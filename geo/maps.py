"""The planners' map page: one self-contained, offline HTML page per period (and per province).

Why: planners read these maps on government intranets with no Internet, on ordinary laptops, and
decide from them where money and equipment go. So the page loads nothing from a CDN (Leaflet is
inlined from the django-js-lib-leaflet package, folium's CDN links are dropped, there is no tile
layer), it stays light at national scale (3,321 units × 9 indicators in a few MB) and it draws in
a couple of seconds.

How the page is kept light: the unit polygons are cleaned into an edge-matched coverage and
simplified with `shapely.coverage_simplify` (neighbours keep one shared edge, no slivers), then
written ONCE as a TopoJSON topology: every shared edge is a single delta-encoded arc of integer
coordinates (5 decimals), referenced by both neighbours and by the province outlines. The page
decodes it with a few lines of JS (no library), and builds one Leaflet layer per indicator from the
same decoded coordinates, styled by each unit's gap class. The lake keeps full precision: the input
frame is never modified.

The embedded data (`<script type="application/json" id="dxlake-map-data">`), compact keys:

    {"type": "Topology", "transform": {"scale": [1e-5, 1e-5], "translate": [x0, y0]},
     "arcs": [[[x, y], [dx, dy], ...], ...],
     "objects": {
       "units": {"type": "GeometryCollection", "geometries": [
         {"type": "MultiPolygon", "arcs": [[[arc, ...], ...], ...], "properties": {
            "c": unit_code, "n": unit_name, "t": unit_type, "p": province index (meta.provinces),
            "f": remote bits (1 border, 2 island, 4 remote), "rc": remote_class,
            "g": geometry source (0 official, 1 approximate, 2 other),
            "v": per indicator (meta.indicators order) [value, target, gap, class, change,
                  source index (meta.sources), source_row], trailing nulls dropped;
                  class indexes meta.classes; null when the unit has no row}}]},
       "provinces": {"type": "GeometryCollection", "geometries": [
         {"type": "MultiLineString", "arcs": [[arc], ...]}]},
       "deadZones": {"type": "GeometryCollection", "geometries": [   (only when there are any)
         {"type": "MultiPolygon", "arcs": [...], "properties": {
            "u": index of the zone's unit in units.geometries, "q": population, "a": area_km2}}]}},
     "meta": {"title", "period", "indicators", "classes", "sources", "provinces", "geometry",
              "deadZones": {"technology", "count", "population", "total", "totalPopulation"}
              (only with dead zones; an overview page draws `count` of `total`)}}

Dead zones (vùng lõm sóng, from geo.coverage.dead_zone_layer) are a toggleable overlay: their
own arcs in the same topology (same quantization), a unit index instead of repeated names.

Text from reports (names, file names) is only ever put in the page through `textContent`, with
its control and bidi characters shown as markers (schemas.display), and the JSON is escaped so
that `</script>` inside a string cannot close its script tag.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import logging
import math
import os
import tempfile
import time
from base64 import b64encode
from importlib.util import find_spec
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import polars as pl
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from geo.text import fold
from schemas.catalogue import Catalogue
from schemas.contracts import GAP_CLASSES
from schemas.display import visible

log = logging.getLogger(__name__)

__all__ = [
    "render_map_page",
    "render_province_pages",
    "province_pages",
    "display_geometry",
    "build_topology",
    "GeometryCache",
]

QUANTUM = 1e-5  # coordinates rounded to 5 decimals (about 1 m)
SNAP = 0.0005  # cleaning snaps vertices this close (the source's own simplification, ~55 m)
CLASS_COLOURS = {  # fills for GAP_CLASSES, then units that have no row at all
    "meets_target": "#1a9850",
    "small": "#fee08b",
    "medium": "#fc8d59",
    "large": "#d73027",
    "not_reported": "url(#dx-hatch-nr)",
    "no_data": "#ffffff",
}
CLASSES = (*GAP_CLASSES, "no_data")
GEOMETRY_SOURCES = ("official", "approximate")
UNIT_COLUMNS = ("unit_code", "unit_name", "unit_type", "province_code", "province_name")
_OPTIONAL_GAP_COLUMNS = {
    **{c: pl.Float64 for c in ("value", "target", "gap", "change")},
    **{"source_file": pl.String, "source_sheet": pl.String, "source_row": pl.Int64},
    "rank": pl.Int64,
}

_LEAFLET_DIR = Path(find_spec("js_lib_leaflet").origin).parent / "static" / "js_lib_leaflet"


# --------------------------------------------------------------------------------------------
# Geometry for display
# --------------------------------------------------------------------------------------------


# Dead zones come simplified at 25 m (geo.coverage.dead_zone_layer), about this many degrees.
ZONE_DETAIL_DEG = 0.00025
OVERVIEW_ZONE_BYTES = 250_000  # the national page's share for dead zones (its budget: 4 MB)


def auto_tolerance(bounds: tuple[float, float, float, float] | np.ndarray) -> float:
    """Simplification tolerance in degrees, scaled with the extent: ~0.0015° for the whole
    country, 0.0001° for a province (finer than a pixel at the zoom each page opens at)."""
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    diag = math.hypot(maxx - minx, maxy - miny)
    return min(0.002, max(0.0001, diag * 7e-5)) if math.isfinite(diag) else 0.001


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Every geometry as (Multi)Polygon or empty: drop lines and points a repair may leave."""
    out = geoms.copy()
    types = shapely.get_type_id(out)
    for i in np.flatnonzero(~np.isin(types, (3, 6)) & ~shapely.is_missing(out)):
        parts = [p for p in shapely.get_parts(out[i]) if shapely.get_type_id(p) in (3, 6)]
        out[i] = shapely.union_all(parts) if parts else shapely.MultiPolygon()
    out[shapely.is_missing(out)] = shapely.MultiPolygon()
    return out


def display_geometry(geoms: np.ndarray, tolerance: float, *, clean: bool = True) -> np.ndarray:
    """Clean into an edge-matched coverage (small overlaps and unmatched edges snapped), then
    coverage-simplify so neighbours keep one shared edge. Returns new geometries."""
    geoms = _polygonal(np.asarray(geoms, dtype=object))
    base = geoms
    if clean and len(geoms) > 1:
        try:
            cleaned = _polygonal(shapely.coverage_clean(geoms, snapping_distance=SNAP))
            lost = shapely.is_empty(cleaned) & ~shapely.is_empty(geoms)
            cleaned[lost] = geoms[lost]  # a unit swallowed by its neighbours keeps its own shape
            base = cleaned
        except shapely.errors.GEOSException as exc:  # pragma: no cover - depends on the data
            log.warning("coverage_clean failed (%s); simplifying the raw polygons", exc)
    try:
        simple = shapely.coverage_simplify(base, tolerance)
    except shapely.errors.GEOSException as exc:  # pragma: no cover - depends on the data
        log.warning("coverage_simplify failed (%s); simplifying unit by unit", exc)
        simple = shapely.simplify(base, tolerance, preserve_topology=True)
    return _polygonal(np.asarray(simple, dtype=object))


CACHE_DAYS = 60


class GeometryCache:
    """Display geometry and its topology kept on disk between runs.

    Cleaning and simplifying 3,321 polygons and building their arcs takes seconds, yet changes
    only when the boundaries do; a publish after new figures reuses them. Files in `folder` are
    named by a hash of their inputs (the polygons, the tolerance, the provinces, this module's
    code, GEOS's version), so a stale one is never read; one read is touched, and `prune`
    removes those nobody read for CACHE_DAYS (boundaries from an older set)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def display(self, geoms: np.ndarray, tolerance: float, clean: bool) -> tuple[str, np.ndarray]:
        """(key, display_geometry(geoms, tolerance, clean=clean))."""
        key = _digest(b"".join(shapely.to_wkb(geoms)), tolerance, clean)
        path = self.folder / f"display-{key}.parquet"
        if path.exists():
            os.utime(path)
            return key, shapely.from_wkb(pl.read_parquet(path)["wkb"].to_numpy())
        shown = display_geometry(geoms, tolerance, clean=clean)
        buffer = io.BytesIO()
        pl.DataFrame({"wkb": shapely.to_wkb(shown)}, schema={"wkb": pl.Binary}).write_parquet(
            buffer
        )
        _write_atomic(path, buffer.getvalue())
        return key, shown

    def topology(self, key: str, shown: np.ndarray, feat_prov: np.ndarray, offset: float):
        """build_topology(shown, feat_prov, offset=offset), `key` naming `shown`."""
        path = (
            self.folder / f"topology-{_digest(key, np.asarray(feat_prov).tobytes(), offset)}.json"
        )
        if path.exists():
            os.utime(path)
            cached = json.loads(path.read_text(encoding="utf-8"))
            return cached["head"], cached["features"], cached["outline"]
        head, features, outline = build_topology(shown, feat_prov, offset=offset)
        data = {"head": head, "features": features, "outline": outline}
        _write_atomic(path, json.dumps(data, separators=(",", ":")).encode())
        return head, features, outline

    def lines(self, key: str, make) -> list[np.ndarray]:
        """Coordinate arrays (such as the PNGs' province outlines) derived from the geometry
        `key` names: make() once, then read back."""
        path = self.folder / f"lines-{_digest(key)}.parquet"
        if path.exists():
            os.utime(path)
            df = pl.read_parquet(path)
            xy = df.select("x", "y").to_numpy()
            return (
                np.split(xy, np.flatnonzero(np.diff(df["line"].to_numpy())) + 1) if len(xy) else []
            )
        lines = make()
        ids = np.repeat(np.arange(len(lines)), [len(line) for line in lines])
        xy = np.concatenate(lines) if lines else np.zeros((0, 2))
        buffer = io.BytesIO()
        pl.DataFrame({"line": ids, "x": xy[:, 0], "y": xy[:, 1]}).write_parquet(buffer)
        _write_atomic(path, buffer.getvalue())
        return lines

    def prune(self) -> None:
        old = time.time() - CACHE_DAYS * 86400
        for path in self.folder.glob("*"):
            if path.stat().st_mtime < old:
                path.unlink(missing_ok=True)


def _digest(*parts) -> str:
    h = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=16)
    h.update(shapely.geos_version_string.encode())
    for part in parts:
        h.update(part if isinstance(part, bytes) else repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    """Beside, then renamed: a reader never sees half a file (a planner opening a page mid-run
    sees the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600: a web server sharing the page could not read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _across_boundary(
    q: np.ndarray,
    nxt: np.ndarray,
    first: np.ndarray,
    owner: np.ndarray,
    feat_prov: np.ndarray,
    geoms: np.ndarray,
    origin: np.ndarray,
    offset: float,
) -> np.ndarray:
    """For edges that only one unit uses (coast, border, or a gap the cleaning left): is the
    other side outside the unit's province? Probe a point either side of the edge's midpoint."""
    a = (q[first] + origin) * QUANTUM
    b = (q[nxt[first]] + origin) * QUANTUM
    mid, d = (a + b) / 2, b - a
    length = np.hypot(d[:, 0], d[:, 1])
    length[length == 0] = 1
    normal = np.stack([-d[:, 1], d[:, 0]], axis=1) / length[:, None] * offset
    probes = shapely.points(np.concatenate([mid + normal, mid - normal]))
    hit_probe, hit_geom = shapely.STRtree(geoms).query(probes, predicate="intersects")
    edge = hit_probe % len(first)
    own = owner[edge]
    other = hit_geom != own
    edge, hit_geom, own = edge[other], hit_geom[other], own[other]
    same = np.zeros(len(first), bool)
    diff = np.zeros(len(first), bool)
    same_prov = feat_prov[hit_geom] == feat_prov[own]
    same[edge[same_prov]] = True
    diff[edge[~same_prov]] = True
    # nothing across (sea, abroad) or another province across: draw; same province: a gap
    return diff | ~same


def build_topology(
    geoms: np.ndarray, feat_prov: np.ndarray | None, *, offset: float = 0.003
) -> tuple[dict, list[list[list[list[int]]]], list[int]]:
    """Arcs shared by neighbours (TopoJSON, quantized to QUANTUM and delta-encoded).

    Returns (topology head with transform and arcs, per feature its MultiPolygon arc indexes,
    the arcs of the province outlines). `feat_prov` gives each geometry's province (any ints);
    None: no outlines (shapes that are not units, such as dead zones).
    """
    n_feat = len(geoms)
    polys, poly_feat = shapely.get_parts(geoms, return_index=True)
    rings, ring_poly = shapely.get_rings(polys, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    empty_head = {"type": "Topology", "transform": _transform((0, 0)), "arcs": []}
    if len(coords) == 0:
        return empty_head, [[] for _ in range(n_feat)], []
    q = np.rint(coords / QUANTUM).astype(np.int64)
    origin = q.min(axis=0)
    q -= origin

    # Open rings without repeated points; rings left with fewer than 3 points are dropped.
    keep = np.r_[coord_ring[1:] == coord_ring[:-1], False]  # drop each ring's closing point
    q, coord_ring = q[keep], coord_ring[keep]
    for _ in range(3):
        dup = np.r_[False, (coord_ring[1:] == coord_ring[:-1]) & (q[1:] == q[:-1]).all(1)]
        starts = np.flatnonzero(np.r_[True, coord_ring[1:] != coord_ring[:-1]])
        ends = np.r_[starts[1:], len(q)]
        wrap = (ends - starts > 1) & (q[ends - 1] == q[starts]).all(1)
        dup[ends[wrap] - 1] = True
        if not dup.any():
            break
        q, coord_ring = q[~dup], coord_ring[~dup]
    ring_ids, starts, counts = np.unique(coord_ring, return_index=True, return_counts=True)
    good = counts >= 3
    pt_keep = np.repeat(good, counts)
    q, coord_ring = q[pt_keep], coord_ring[pt_keep]
    ring_ids, counts = ring_ids[good], counts[good]
    starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64)
    ends = starts + counts
    n_rings = len(ring_ids)
    ring_of_pt = np.repeat(np.arange(n_rings), counts)
    ring_feat = poly_feat[ring_poly[ring_ids]]

    # Points, edges (point j to the next point of its ring), who uses each edge.
    keys = q[:, 0] * (1 << 32) + q[:, 1]
    _, rep, pid = np.unique(keys, return_index=True, return_inverse=True)
    n_pts = len(rep)
    idx = np.arange(len(q))
    nxt = idx + 1
    nxt[ends - 1] = starts
    prv = idx - 1
    prv[starts] = ends - 1
    lo, hi = np.minimum(pid, pid[nxt]), np.maximum(pid, pid[nxt])
    ekeys, efirst, eid, ecount = np.unique(
        lo * n_pts + hi, return_index=True, return_inverse=True, return_counts=True
    )
    emin = np.full(len(ekeys), n_rings, np.int64)
    emax = np.full(len(ekeys), -1, np.int64)
    np.minimum.at(emin, eid, ring_of_pt)
    np.maximum.at(emax, eid, ring_of_pt)
    degree = np.bincount(np.r_[ekeys // n_pts, ekeys % n_pts], minlength=n_pts)

    # Province outline per edge: shared by two provinces, or only one unit and across it
    # nothing or another province.
    efeat_min, efeat_max = ring_feat[emin], ring_feat[np.maximum(emax, 0)]
    if feat_prov is None:
        boundary = np.zeros(len(ekeys), bool)
    else:
        boundary = feat_prov[efeat_min] != feat_prov[efeat_max]
        single = np.flatnonzero(ecount == 1)
        if len(single):
            boundary[single] = _across_boundary(
                q, nxt, efirst[single], efeat_min[single], feat_prov, geoms, origin, offset
            )
    # An arc runs while the same rings use its edges (and the same outline status).
    sig = np.where(ecount >= 2, emin * (n_rings + 2) + emax, emin * (n_rings + 2) + n_rings)
    sig = sig * 2 + boundary
    junction = (degree[pid] > 2) | (sig[eid[prv]] != sig[eid])

    arcs: list[np.ndarray] = []
    arc_edge: list[int] = []
    index: dict[bytes, int] = {}

    def arc_ref(chain: np.ndarray, first_pt: int) -> int:
        fwd = chain.tobytes()
        found = index.get(fwd)
        if found is not None:
            return found
        found = index.get(chain[::-1].tobytes())
        if found is not None:
            return ~found
        index[fwd] = len(arcs)
        arcs.append(chain)
        arc_edge.append(int(eid[first_pt]))
        return len(arcs) - 1

    ring_refs: list[list[int]] = []
    for r in range(n_rings):
        s, e = int(starts[r]), int(ends[r])
        p = pid[s:e]
        j = np.flatnonzero(junction[s:e])
        if len(j) == 0:  # a ring that meets nothing else, or matches one other ring whole
            m = int(np.argmin(p))
            seq = np.roll(p, -m)
            ring_refs.append([arc_ref(np.r_[seq, seq[:1]], s + m)])
            continue
        rot = np.roll(p, -j[0])
        closed = np.r_[rot, rot[:1]]
        cuts = np.r_[j - j[0], len(p)]
        ring_refs.append(
            [
                arc_ref(closed[a : b + 1], s + (int(a) + int(j[0])) % len(p))
                for a, b in zip(cuts[:-1], cuts[1:], strict=True)
            ]
        )

    # MultiPolygon arcs per feature (a polygon whose shell was dropped drops its holes too).
    per_poly: dict[int, list[list[int]]] = {}
    shell_of = ring_ids  # original ring index
    poly_of_ring = ring_poly[shell_of]
    is_shell = np.r_[True, ring_poly[1:] != ring_poly[:-1]][shell_of]
    for r in range(n_rings):
        poly = int(poly_of_ring[r])
        if is_shell[r]:
            per_poly[poly] = [ring_refs[r]]
        elif poly in per_poly:
            per_poly[poly].append(ring_refs[r])
    features: list[list[list[list[int]]]] = [[] for _ in range(n_feat)]
    for poly, rings_ in per_poly.items():
        features[int(poly_feat[poly])].append(rings_)

    qpts = q[rep]
    encoded = []
    for chain in arcs:
        xy = qpts[chain]
        xy[1:] = np.diff(xy, axis=0)
        encoded.append(xy.tolist())
    outline = [i for i, e in enumerate(arc_edge) if boundary[e]]
    head = {"type": "Topology", "transform": _transform(origin), "arcs": encoded}
    return head, features, outline


def _transform(origin) -> dict:
    return {
        "scale": [QUANTUM, QUANTUM],
        "translate": [round(float(origin[0]) * QUANTUM, 5), round(float(origin[1]) * QUANTUM, 5)],
    }


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


def _num(x: float | None, digits: int) -> float | int | None:
    if x is None or not math.isfinite(x):
        return None
    r = round(float(x), digits)
    return int(r) if r == int(r) else r


def _bool(x) -> bool:
    return bool(x) if x is not None and x == x else False


def _unit_properties(
    units: gpd.GeoDataFrame, gaps: pl.DataFrame, catalogue: Catalogue
) -> tuple[list[dict], dict]:
    """Compact per-unit properties and the page's meta (indicators, sources, provinces)."""
    missing = [c for c in ("unit_code", "indicator_id", "gap_class") if c not in gaps.columns]
    if missing:
        raise ValueError(f"gaps: missing column(s) {missing}")
    gaps = gaps.with_columns(  # the rest of COVERAGE_GAPS is optional here
        pl.lit(None, dtype=t).alias(c) for c, t in _OPTIONAL_GAP_COLUMNS.items() if c not in gaps
    )
    present = set(gaps["indicator_id"].unique().to_list()) if gaps.height else set()
    indicators = [i for i in catalogue if i.id in present] or list(catalogue)
    ind_pos = {ind.id: k for k, ind in enumerate(indicators)}
    digits = {i.id: (2 if i.unit != "percent" or abs(i.target) < 10 else 1) for i in indicators}
    cls_pos = {c: k for k, c in enumerate(CLASSES)}
    default_target = {i.id: _num(i.target, digits[i.id]) for i in indicators}

    codes = units["unit_code"].astype(str).tolist()
    code_pos = {c: k for k, c in enumerate(codes)}
    values: list[list] = [[None] * len(indicators) for _ in codes]
    sources: dict[tuple[str, str], int] = {}
    if gaps.height:
        rows = (
            gaps.filter(pl.col("unit_code").is_in(codes) & pl.col("indicator_id").is_in(ind_pos))
            .sort("rank", nulls_last=True, maintain_order=True)
            .unique(["unit_code", "indicator_id"], keep="first", maintain_order=True)
            .sort("unit_code", "indicator_id")  # the sources' order: whatever the ranks
            .select(
                "unit_code",
                "indicator_id",
                "value",
                "target",
                "gap",
                "gap_class",
                "change",
                "source_file",
                "source_sheet",
                "source_row",
            )
        )
        for code, ind, value, target, gap, gcls, change, sfile, ssheet, srow in rows.iter_rows():
            d = digits[ind]
            src = None
            if sfile is not None:
                src = sources.setdefault((sfile, ssheet or ""), len(sources))
            t = _num(target, d)
            row = [
                _num(value, d),
                None if t == default_target[ind] else t,
                _num(gap, d),
                cls_pos.get(gcls, cls_pos["no_data"]),
                _num(change, d),
                src,
                srow,
            ]
            while row and row[-1] is None:
                row.pop()
            values[code_pos[code]][ind_pos[ind]] = row

    provinces = (
        units[["province_code", "province_name"]].astype(str).drop_duplicates("province_code")
    )
    prov_pos = {c: k for k, c in enumerate(provinces["province_code"])}
    cols = set(units.columns)

    def col(name: str, default):
        return units[name].tolist() if name in cols else [default] * len(units)

    border, island = col("is_border", False), col("is_island", False)
    remote, remote_class = col("is_remote", False), col("remote_class", None)
    geo_source = [
        str(g) if g is not None and g == g else "unknown"
        for g in col("geometry_source", "official")
    ]
    names, types, provs = (units[c].astype(str).tolist() for c in UNIT_COLUMNS[1:4])
    props = []
    for k, code in enumerate(codes):
        flags = _bool(border[k]) | _bool(island[k]) << 1 | _bool(remote[k]) << 2
        p = {"c": code, "n": names[k], "t": types[k], "p": prov_pos[provs[k]], "v": values[k]}
        if flags:
            p["f"] = flags
        rc = remote_class[k]
        if isinstance(rc, str) and rc:
            p["rc"] = str(rc)
        gs = geo_source[k]
        p["g"] = GEOMETRY_SOURCES.index(gs) if gs in GEOMETRY_SOURCES else 2
        props.append(p)

    counts = {s: geo_source.count(s) for s in dict.fromkeys(geo_source)}
    meta = {
        "indicators": [
            {
                "id": i.id,
                "vi": i.name_vi,
                "en": i.name_en,
                "unit": i.unit,
                "uvi": i.unit_vi,
                "uen": i.unit_en,
                "dir": i.direction,
                "target": _num(i.target, 2),
                "cls": [_num(x, 2) for x in i.gap_classes],
            }
            for i in indicators
        ],
        "classes": list(CLASSES),
        "colours": [CLASS_COLOURS[c] for c in CLASSES],
        "sources": [[visible(f), visible(sheet)] for f, sheet in sources],  # text from files
        "provinces": provinces.values.tolist(),
        "geometry": {"sources": counts},
    }
    return props, meta


# --------------------------------------------------------------------------------------------
# Dead zones
# --------------------------------------------------------------------------------------------


def _dead_zone_object(
    zones: gpd.GeoDataFrame | None, codes: list[str], head: dict, tolerance: float
) -> tuple[dict | None, dict | None]:
    """The dead-zone overlay as a TopoJSON object on the units' topology (its arcs appended to
    head["arcs"], rebased on the units' origin) and its meta; (None, None) when there is none.

    `zones`: a geo.coverage.dead_zone_layer frame (one technology, already simplified); zones of
    units not on the page are left out, so a province page shows its own. On a page whose units
    are drawn coarser than the zones' own detail (the national page), the zones are simplified
    to the same `tolerance` (degrees): thousands of cell staircases would otherwise triple its size.
    """
    if zones is None or len(zones) == 0:
        return None, None
    code_pos = {c: k for k, c in enumerate(codes)}
    zones = zones[zones["unit_code"].astype(str).isin(code_pos)]
    if zones.crs is not None and not zones.crs.equals("EPSG:4326"):
        zones = zones.to_crs("EPSG:4326")
    total, total_people = len(zones), float(zones["population"].sum())
    geoms = _polygonal(np.asarray(zones.geometry.values, dtype=object))
    if tolerance > ZONE_DETAIL_DEG:  # an overview: coarser zones, and only what the page holds
        geoms = _polygonal(shapely.simplify(geoms, tolerance, preserve_topology=True))
        keep = _overview_zones(zones, geoms)
        zones, geoms = zones.iloc[keep], geoms[keep]
    zhead, zone_arcs, _ = build_topology(geoms, None)
    units_at = np.rint(np.array(head["transform"]["translate"]) / QUANTUM)
    zones_at = np.rint(np.array(zhead["transform"]["translate"]) / QUANTUM)
    dx, dy = (int(d) for d in zones_at - units_at)
    first = len(head["arcs"])
    for arc in zhead["arcs"]:  # delta-encoded: only the first point is absolute
        arc[0] = [arc[0][0] + dx, arc[0][1] + dy]
    head["arcs"].extend(zhead["arcs"])

    def ref(r: int) -> int:
        return r + first if r >= 0 else ~(~r + first)

    geometries, people = [], 0.0
    for arcs, code, pop, area in zip(
        zone_arcs, zones["unit_code"], zones["population"], zones["area_km2"], strict=True
    ):
        if not arcs:  # a zone too small to keep three distinct points at 1 m is not drawn
            continue
        people += float(pop)
        geometries.append(
            {
                "type": "MultiPolygon",
                "arcs": [[[ref(r) for r in ring] for ring in poly] for poly in arcs],
                "properties": {"u": code_pos[str(code)], "q": _num(pop, 1), "a": _num(area, 4)},
            }
        )
    if not geometries:
        return None, None
    technologies = sorted(zones["technology"].astype(str).unique())
    meta = {
        "technology": " / ".join(technologies),
        "count": len(geometries),
        "population": _num(people, 0),
        "total": total,  # zones of the page's units; more than count on an overview page
        "totalPopulation": _num(total_people, 0),
    }
    return {"type": "GeometryCollection", "geometries": geometries}, meta


def _overview_zones(zones: gpd.GeoDataFrame, geoms: np.ndarray) -> np.ndarray:
    """Positions of the zones an overview page draws: remote units' first, then by people,
    while their estimated encoded size stays within OVERVIEW_ZONE_BYTES (the province pages
    draw every zone). The plans remove dead zones in remote areas first."""
    remote = np.zeros(len(zones), dtype=bool)
    if "is_remote" in zones:
        remote = zones["is_remote"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    order = np.lexsort((-zones["population"].to_numpy(dtype=float), ~remote))
    cost = shapely.get_num_coordinates(geoms[order]) * 12 + 60  # bytes: measured per point, zone
    return np.sort(order[np.cumsum(cost) <= OVERVIEW_ZONE_BYTES])


# --------------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------------


def _json_for_script(obj) -> str:
    """JSON safe inside <script>: no `<`, `>` or `&` (so no `</script>` or `<!--`), no U+2028."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _leaflet_css() -> str:
    css = (_LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8")
    for img in sorted((_LEAFLET_DIR / "images").glob("*.png")):
        uri = "data:image/png;base64," + b64encode(img.read_bytes()).decode("ascii")
        css = css.replace(f"url(images/{img.name})", f"url({uri})")
    return css


class _App(MacroElement):
    """The page's own script, rendered after the map it belongs to."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        window.dxlakeMapName = "{{ this._parent.get_name() }}";
        @@DXLAKE_APP_JS@@
        {% endmacro %}"""
    )

    def __init__(self):
        super().__init__()
        self._name = "DxlakeApp"
        self._id = "dxlake"


def prepare_units(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The units a page or a PNG draws: the unit columns checked, WGS 84, a 0..n-1 index."""
    missing = [c for c in (*UNIT_COLUMNS, "geometry") if c not in units.columns]
    if missing:
        raise ValueError(f"units: missing column(s) {missing}")
    if units.crs is not None and not units.crs.equals("EPSG:4326"):
        units = units.to_crs("EPSG:4326")
    return units.reset_index(drop=True)


def render_map_page(
    units: gpd.GeoDataFrame,
    gaps: pl.DataFrame,
    catalogue: Catalogue,
    out_path: Path,
    *,
    title: str,
    period: str,
    tolerance: float | None = None,
    clean: bool = True,
    dead_zones: gpd.GeoDataFrame | None = None,
    cache: GeometryCache | None = None,
) -> Path:
    """Write one self-contained offline map page (a layer per indicator) and return its path.

    units: the admin units (COVERAGE contract's unit fields + geometry, geometry_source and the
    remote flags); gaps: COVERAGE_GAPS rows for those units. `tolerance` (degrees) defaults to
    `auto_tolerance` of the units' extent; `clean` snaps the polygons into an edge-matched
    coverage first (slower by a few seconds nationally, smaller page, no slivers).
    `dead_zones`: a geo.coverage.dead_zone_layer frame, drawn as a toggleable overlay (those of
    the page's units); None or empty: no such overlay. `cache`: display geometry and topology
    reused from an earlier run with the same boundaries.
    """
    started = time.perf_counter()
    units = prepare_units(units)
    geoms = np.asarray(units.geometry.values, dtype=object)
    bounds = shapely.total_bounds(geoms)
    tol = auto_tolerance(bounds) if tolerance is None else float(tolerance)
    prov_codes = units["province_code"].astype(str)
    feat_prov = np.unique(prov_codes.to_numpy(), return_inverse=True)[1]
    offset = 0.001 + 1.5 * tol
    if cache is None:
        shown = display_geometry(geoms, tol, clean=clean)
        head, feature_arcs, outline = build_topology(shown, feat_prov, offset=offset)
    else:
        key, shown = cache.display(geoms, tol, clean)
        head, feature_arcs, outline = cache.topology(key, shown, feat_prov, offset)
    props, meta = _unit_properties(units, gaps, catalogue)
    meta.update(title=title, period=period)
    meta["geometry"]["tolerance"] = round(tol, 5)
    sb = shapely.total_bounds(shown)
    meta["bbox"] = [round(float(b), 5) for b in sb] if np.isfinite(sb).all() else None
    objects = {
        "units": {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "MultiPolygon", "arcs": arcs, "properties": p}
                for arcs, p in zip(feature_arcs, props, strict=True)
            ],
        },
        "provinces": {
            "type": "GeometryCollection",
            "geometries": [{"type": "MultiLineString", "arcs": [[i] for i in outline]}],
        },
    }
    zones, zones_meta = _dead_zone_object(dead_zones, [p["c"] for p in props], head, tol)
    if zones is not None:
        objects["deadZones"] = zones
        meta["deadZones"] = zones_meta
    topology = {**head, "objects": objects, "meta": meta}
    data = _json_for_script(topology)

    finite = np.isfinite(bounds).all()
    centre = [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2] if finite else [16, 106]
    m = folium.Map(
        location=centre,
        zoom_start=6,
        tiles=None,
        prefer_canvas=False,
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    m._id = "dxlake"
    m.default_js = []  # no CDN: Leaflet is inlined below, jQuery/Bootstrap are not needed
    m.default_css = []
    root = m.get_root()
    root.header.add_child(Element(f"<title>{html.escape(title)} · {html.escape(period)}</title>"))
    root.header.add_child(Element("<style>@@DXLAKE_LEAFLET_CSS@@</style>"), name="leaflet_css")
    root.header.add_child(Element("<style>@@DXLAKE_APP_CSS@@</style>"), name="dxlake_css")
    root.header.add_child(Element("<script>@@DXLAKE_LEAFLET_JS@@</script>"), name="leaflet_js")
    root.html.add_child(Element(_HATCH_SVG), name="dxlake_hatch")
    root.html.add_child(
        Element('<script type="application/json" id="dxlake-map-data">@@DXLAKE_DATA@@</script>'),
        name="dxlake_data",
    )
    m.add_child(_App())
    page = root.render()
    for token, content in (
        ("@@DXLAKE_LEAFLET_CSS@@", _leaflet_css()),
        ("@@DXLAKE_APP_CSS@@", _APP_CSS),
        ("@@DXLAKE_LEAFLET_JS@@", (_LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8")),
        ("@@DXLAKE_APP_JS@@", _APP_JS),
        ("@@DXLAKE_DATA@@", data),  # last: nothing is substituted inside the data
    ):
        if page.count(token) != 1:
            raise RuntimeError(f"map page template: {token} found {page.count(token)} times")
        page = page.replace(token, content.replace("</script", "<\\/script"), 1)
    out_path = Path(out_path)
    _write_atomic(out_path, page.encode("utf-8"))
    log.info(
        "map page %s: %d units, %d indicators, %d dead zones, %.2f MB, %.1f s",
        out_path,
        len(units),
        len(meta["indicators"]),
        zones_meta["count"] if zones_meta else 0,
        out_path.stat().st_size / 1e6,
        time.perf_counter() - started,
    )
    return out_path


def render_province_pages(
    units: gpd.GeoDataFrame,
    gaps: pl.DataFrame,
    catalogue: Catalogue,
    out_dir: Path,
    period: str,
    dead_zones: gpd.GeoDataFrame | None = None,
    cache: GeometryCache | None = None,
) -> list[Path]:
    """One page per province present in `gaps`: out_dir/<province_code>-<name>.html, each with
    the dead zones (a geo.coverage.dead_zone_layer frame) of its own units."""
    return [
        render_map_page(
            sub,
            rows,
            catalogue,
            path,
            title=title,
            period=period,
            dead_zones=dead_zones,
            cache=cache,
        )
        for path, sub, rows, title in province_pages(units, gaps, out_dir)
    ]


def province_pages(units: gpd.GeoDataFrame, gaps: pl.DataFrame, out_dir: Path):
    """(page path, the province's units, its gap rows, title) of each province in `gaps`."""
    out_dir = Path(out_dir)
    paths = []
    codes = units["province_code"].astype(str)
    for prov in sorted(gaps["province_code"].drop_nulls().unique().to_list()):
        sub = units[codes == str(prov)]
        if sub.empty:
            log.warning("province %s has gap rows but no units; no page", prov)
            continue
        name = str(sub["province_name"].iloc[0])
        title = f"Khoảng cách đến mục tiêu chuyển đổi số — {name} / Digital-transformation gaps"
        slug = fold(name).replace(" ", "-") or "province"
        rows = gaps.filter(pl.col("province_code") == prov)
        paths.append((out_dir / f"{prov}-{slug}.html", sub, rows, title))
    return paths


_HATCH_SVG = """<svg width="0" height="0" style="position:absolute" aria-hidden="true"
 focusable="false"><defs><pattern id="dx-hatch-nr" patternUnits="userSpaceOnUse" width="6"
 height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#d9d9d9"/><line x1="0"
 y1="0" x2="0" y2="6" stroke="#7a7a7a" stroke-width="2.2"/></pattern></defs></svg>"""

_APP_CSS = """
.folium-map { background: #eef2f5; }
.dx-box { background: rgba(255,255,255,.95); border-radius: 6px; padding: 6px 9px;
  box-shadow: 0 1px 5px rgba(0,0,0,.3); font: 12px/1.35 system-ui, "Segoe UI", Roboto, Arial,
  sans-serif; color: #222; max-width: 340px; }
.dx-box h3 { margin: 0 0 4px; font-size: 13px; }
.dx-en { color: #555; }
.dx-legend .dx-row { display: flex; align-items: center; gap: 6px; margin: 2px 0; }
.dx-sw { width: 18px; height: 12px; flex: none; border: 1px solid #999; box-sizing: border-box; }
.dx-sw-nr { background: repeating-linear-gradient(45deg, #7a7a7a 0 2px, #d9d9d9 2px 5px); }
.dx-sw-remote { background: #fff; border: 3px solid #2d004b; }
.dx-sw-prov { background: #fff; border: 0; border-top: 2px solid #1a1a1a; height: 2px; }
.dx-sw-approx { background: #fff; border: 1.5px dashed #555; }
.dx-sw-dz { background: rgba(20,20,20,.6); border: 1px solid #000; }
.dx-count { margin-left: auto; color: #555; padding-left: 8px; }
.dx-search input { width: 250px; font-size: 13px; padding: 4px 6px; box-sizing: border-box; }
.dx-search ul { list-style: none; margin: 4px 0 0; padding: 0; max-height: 220px;
  overflow-y: auto; }
.dx-search li button { display: block; width: 100%; text-align: left; border: 0;
  background: none; padding: 3px 4px; cursor: pointer; font: inherit; }
.dx-search li button:hover, .dx-search li button:focus { background: #e6f0fa; }
.dx-search .dx-status { color: #555; margin-top: 3px; }
.leaflet-control-layers { font-size: 11px; line-height: 1.25; max-width: 300px; max-height: 60vh;
  overflow-y: auto; }
.leaflet-control-layers label { margin: 3px 0; }
.leaflet-control-layers .dx-en { font-size: 10.5px; }
.dx-tip { font: 12px/1.35 system-ui, "Segoe UI", Roboto, Arial, sans-serif; width: 380px;
  white-space: normal; }
.dx-tip-title { font-weight: 600; font-size: 13px; margin-bottom: 3px; overflow-wrap: anywhere; }
.dx-tip table { border-collapse: collapse; width: 100%; table-layout: fixed; }
.dx-tip th { text-align: left; font-weight: 500; color: #333; padding: 2px 8px 2px 0;
  vertical-align: top; width: 42%; }
.dx-tip th .dx-en { display: block; font-weight: 400; font-size: 11px; }
.dx-tip td { padding: 2px 0; vertical-align: top; overflow-wrap: anywhere; }
.leaflet-tooltip.dx-tooltip { white-space: normal; padding: 6px 8px; }
.dx-note { max-width: 420px; }
"""

_APP_JS = r"""
(function () {
  "use strict";
  var map = window[window.dxlakeMapName];
  var T0 = performance.now();
  var DATA = JSON.parse(document.getElementById("dxlake-map-data").textContent);
  var META = DATA.meta;
  var IND = META.indicators;
  var COLOURS = META.colours;
  var CLASS_LABELS = {
    meets_target: ["Đạt mục tiêu", "meets target"],
    small: ["Khoảng cách nhỏ", "small gap"],
    medium: ["Khoảng cách trung bình", "medium gap"],
    large: ["Khoảng cách lớn", "large gap"],
    not_reported: ["Chưa báo cáo", "not reported"],
    no_data: ["Không có dữ liệu", "no data"]
  };
  var TYPES = {"xã": "commune", "phường": "ward", "đặc khu": "special zone"};
  var NO_DATA = META.classes.indexOf("no_data");
  // Dash the approximate boundaries only when the page mixes them with official ones.
  var MIXED = Boolean(META.geometry.sources.approximate) &&
    Object.keys(META.geometry.sources).length > 1;

  function el(tag, cls, text, parent) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function bi(parent, vi, en) {  // "Vietnamese / English", English greyed
    el("span", null, vi, parent);
    el("span", "dx-en", " / " + en, parent);
    return parent;
  }
  function fold(s) {
    return String(s).normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[đĐ]/g, "d").toLowerCase().replace(/[^0-9a-z]+/g, " ").trim();
  }
  function fmt(x, signed) {
    if (x === null || x === undefined) { return "—"; }
    var s = x.toLocaleString("vi-VN", {maximumFractionDigits: 2});
    return signed && x > 0 ? "+" + s : s;
  }
  function unitText(ind) { return ind.unit === "percent" ? "%" : ind.uvi + " / " + ind.uen; }

  // ---- decode the topology (TopoJSON, quantized + delta-encoded arcs) ----
  var sc = DATA.transform.scale, tr = DATA.transform.translate;
  var arcs = DATA.arcs.map(function (a) {
    var x = 0, y = 0, out = new Array(a.length);
    for (var i = 0; i < a.length; i++) {
      x += a[i][0]; y += a[i][1];
      out[i] = L.latLng(y * sc[1] + tr[1], x * sc[0] + tr[0]);
    }
    return out;
  });
  function arcPts(i) { return i >= 0 ? arcs[i] : arcs[~i].slice().reverse(); }
  function ring(refs) { var pts = line(refs); pts.pop(); return pts; }
  var features = DATA.objects.units.geometries.map(function (g, i) {
    var latlngs = g.arcs.map(function (poly) { return poly.map(ring); });
    var p = g.properties;
    var key = fold(p.n);
    return {i: i, properties: p, latlngs: latlngs, key: key, code: String(p.c),
            short: key.replace(/^(xa|phuong|dac khu|thi tran) /, ""),
            css: "dx-u-" + String(p.c).replace(/[^A-Za-z0-9_-]/g, "_")};
  });
  var byCode = {};
  features.forEach(function (f) { byCode[f.code] = f; });
  function line(refs) {
    var pts = [];
    for (var k = 0; k < refs.length; k++) {
      var a = arcPts(refs[k]);
      for (var i = k ? 1 : 0; i < a.length; i++) { pts.push(a[i]); }
    }
    return pts;
  }
  var outlineLatLngs = [];
  DATA.objects.provinces.geometries.forEach(function (g) {
    g.arcs.forEach(function (refs) { outlineLatLngs.push(line(refs)); });
  });

  // ---- dead zones: their own arcs, each naming its unit by index ----
  var DZ = META.deadZones || null;
  var zoneFeatures = ((DATA.objects.deadZones || {}).geometries || []).map(function (g) {
    return {properties: g.properties, unit: features[g.properties.u],
            latlngs: g.arcs.map(function (poly) { return poly.map(ring); })};
  });

  function row(f, k) { return (f.properties.v && f.properties.v[k]) || null; }
  function classOf(f, k) { var r = row(f, k); return r ? r[3] : NO_DATA; }

  // ---- panes: units, remote outlines, province outlines, search highlight ----
  [["dxRemote", 410], ["dxProvinces", 420], ["dxHighlight", 430]].forEach(function (p) {
    var pane = map.createPane(p[0]);
    pane.style.zIndex = p[1];
    pane.style.pointerEvents = "none";
  });

  // ---- tooltips, built with textContent only ----
  function tipRow(table, vi, en, value) {
    var tr_ = el("tr", null, null, table);
    bi(el("th", null, null, tr_), vi, en);
    el("td", null, value, tr_);
  }
  function tooltipFor(f, k) {
    var p = f.properties, ind = IND[k], r = row(f, k) || [];
    var box = el("div", "dx-tip");
    el("div", "dx-tip-title", p.n, box);
    var table = el("table", null, null, box);
    function addRow(vi, en, value) { tipRow(table, vi, en, value); }
    var prov = META.provinces[p.p] || ["", ""];
    addRow("Loại", "Type", p.t + " / " + (TYPES[p.t] || p.t));
    addRow("Tỉnh, thành phố", "Province", prov[1]);
    addRow("Chỉ tiêu", "Indicator", ind.vi + " / " + ind.en);
    var cls = META.classes[classOf(f, k)];
    var unit = unitText(ind);
    if (cls === "not_reported" || cls === "no_data") {
      addRow("Giá trị", "Value", CLASS_LABELS[cls][0] + " / " + CLASS_LABELS[cls][1]);
    } else {
      addRow("Giá trị", "Value", fmt(r[0]) + " " + unit);
    }
    addRow("Mục tiêu", "Target", fmt(r[1] !== undefined && r[1] !== null ? r[1] : ind.target) + " " + unit);
    addRow("Khoảng cách", "Gap", (r[2] === undefined ? "—" : fmt(r[2])) + " · " +
         CLASS_LABELS[cls][0] + " / " + CLASS_LABELS[cls][1]);
    var change = r[4];
    var prev = (change !== undefined && change !== null && r[0] !== null && r[0] !== undefined)
      ? " (kỳ trước / previous: " + fmt(Math.round((r[0] - change) * 100) / 100) + ")" : "";
    addRow("Thay đổi so với kỳ trước", "Change since previous period",
         change === undefined || change === null ? "—" : fmt(change, true) + prev);
    var flags = [];
    if (p.f & 1) { flags.push("Biên giới / border"); }
    if (p.f & 2) { flags.push("Hải đảo / island"); }
    if (p.rc) { flags.push("Phân loại / class: " + p.rc); }
    if ((p.f & 4) && !flags.length) { flags.push("Vùng sâu, vùng xa / remote"); }
    addRow("Vùng khó khăn", "Remote", flags.length ? flags.join(" · ") : "Không / no");
    var src = (r[5] !== undefined && r[5] !== null) ? META.sources[r[5]] : null;
    addRow("Nguồn", "Source", src ? src[0] + (src[1] ? " › " + src[1] : "") +
         (r[6] !== undefined && r[6] !== null ? ", dòng / row " + r[6] : "") : "—");
    addRow("Ranh giới", "Boundary", ["chính thức / official", "xấp xỉ / approximate", "khác / other"][p.g] || "—");
    return box;
  }

  function zoneTooltipFor(z) {
    var p = z.properties, u = z.unit.properties, prov = META.provinces[u.p] || ["", ""];
    var box = el("div", "dx-tip");
    bi(el("div", "dx-tip-title", null, box), "Vùng lõm sóng " + DZ.technology,
       DZ.technology + " dead zone");
    var table = el("table", null, null, box);
    tipRow(table, "Đơn vị", "Unit", u.n);
    tipRow(table, "Tỉnh, thành phố", "Province", prov[1]);
    tipRow(table, "Dân số chưa được phủ sóng", "Population not covered",
           fmt(p.q) + " người / people");
    tipRow(table, "Diện tích", "Area", fmt(p.a) + " km²");
    return box;
  }

  // ---- one layer per indicator, built from the shared coordinates when first shown ----
  function styleFor(f, k) {
    var s = {fillColor: COLOURS[classOf(f, k)], fillOpacity: 1, color: "#ffffff",
             weight: 0.6, opacity: 0.9, className: "dx-u " + f.css};
    if (MIXED && f.properties.g === 1) { s.color = "#555"; s.dashArray = "2 3"; s.weight = 0.8; }
    return s;
  }
  var IndicatorLayer = L.FeatureGroup.extend({
    initialize: function (k) {
      L.FeatureGroup.prototype.initialize.call(this);
      this.k = k;
      this.byCode = {};
      this.bindTooltip(function (layer) { return tooltipFor(layer.feature, k); },
                       {sticky: true, direction: "top", offset: [0, -8], className: "dx-tooltip",
                        opacity: 1});
    },
    onAdd: function (m) {
      if (!this.built) {
        this.built = true;
        var k = this.k, self = this;
        features.forEach(function (f) {
          if (!f.latlngs.length) { return; }
          var poly = L.polygon(f.latlngs, styleFor(f, k));
          poly.feature = f;
          self.byCode[f.code] = poly;
          self.addLayer(poly);
        });
      }
      L.FeatureGroup.prototype.onAdd.call(this, m);
    }
  });
  var layers = IND.map(function (ind, k) {
    var layer = new IndicatorLayer(k);
    layer.on("mouseover", function (e) {
      e.layer.setStyle({color: "#111", weight: 2, dashArray: null}).bringToFront();
    });
    layer.on("mouseout", function (e) { e.layer.setStyle(styleFor(e.layer.feature, k)); });
    return layer;
  });

  var remote = L.layerGroup(features.filter(function (f) {
    return ((f.properties.f & 7) || f.properties.rc) && f.latlngs.length;
  }).map(function (f) {
    return L.polygon(f.latlngs, {pane: "dxRemote", fill: false, color: "#2d004b", weight: 3,
                                 opacity: 1, interactive: false, className: "dx-remote"});
  }));
  var provinces = L.polyline(outlineLatLngs, {pane: "dxProvinces", color: "#1a1a1a", weight: 2,
                                              opacity: 1, interactive: false,
                                              className: "dx-province"});
  // Dead zones above the units, below the outlines, with their own tooltips. The pane lets
  // the mouse through (only the zones' own paths take it), so units around them keep theirs.
  var deadZones = null;
  if (zoneFeatures.length) {
    var dzPane = map.createPane("dxDeadZones");
    dzPane.style.zIndex = 405;
    dzPane.style.pointerEvents = "none";
    var dzStyle = {pane: "dxDeadZones", fillColor: "#141414", fillOpacity: 0.6, color: "#000",
                   weight: 0.6, opacity: 0.9, className: "dx-dz"};
    deadZones = L.featureGroup(zoneFeatures.map(function (z) {
      var poly = L.polygon(z.latlngs, dzStyle);
      poly.feature = z;
      return poly;
    }));
    deadZones.bindTooltip(function (layer) { return zoneTooltipFor(layer.feature); },
                          {sticky: true, direction: "top", offset: [0, -8],
                           className: "dx-tooltip dx-dz-tip", opacity: 1});
    deadZones.on("mouseover", function (e) { e.layer.setStyle({color: "#00b7ff", weight: 2}); });
    deadZones.on("mouseout", function (e) { e.layer.setStyle({color: "#000", weight: 0.6}); });
  }

  function esc(s) {
    var d = document.createElement("div"); d.textContent = s; return d.innerHTML;
  }
  var base = {};
  IND.forEach(function (ind, k) {
    base[esc(ind.vi) + ' <span class="dx-en">/ ' + esc(ind.en) + "</span>"] = layers[k];
  });
  var overlays = {};
  overlays['Vùng khó khăn (biên giới, hải đảo, vùng sâu, vùng xa) <span class="dx-en">/ remote units</span>'] = remote;
  overlays['Ranh giới tỉnh <span class="dx-en">/ province outlines</span>'] = provinces;
  if (deadZones) {
    overlays[esc("Vùng lõm sóng " + DZ.technology) + ' <span class="dx-en">/ ' +
             esc(DZ.technology + " dead zones") + "</span>"] = deadZones;
  }

  // ---- legend ----
  var legend = L.control({position: "bottomright"});
  legend.onAdd = function () {
    this.div = el("div", "dx-box dx-legend");
    L.DomEvent.disableClickPropagation(this.div);
    return this.div;
  };
  function thresholds(ind) {
    var a = fmt(ind.cls[0]), b = fmt(ind.cls[1]);
    return {meets_target: ind.dir === "higher" ? "≥ " + fmt(ind.target) : "≤ " + fmt(ind.target),
            small: "≤ " + a, medium: a + "–" + b, large: "> " + b};
  }
  function drawLegend(k) {
    var d = legend.div, ind = IND[k];
    d.textContent = "";
    var h = el("h3", null, null, d);
    bi(h, ind.vi, ind.en);
    var t = el("div", null, null, d);
    bi(t, "Mục tiêu: " + fmt(ind.target) + " " + (ind.unit === "percent" ? "%" : ind.uvi),
       "target, gap in " + (ind.unit === "percent" ? "percentage points" : ind.uen));
    var counts = META.classes.map(function () { return 0; });
    features.forEach(function (f) { counts[classOf(f, k)] += 1; });
    var th = thresholds(ind);
    META.classes.forEach(function (c, i) {
      if (c === "no_data" && !counts[i]) { return; }
      var r = el("div", "dx-row", null, d);
      var sw = el("span", "dx-sw" + (c === "not_reported" ? " dx-sw-nr" : ""), null, r);
      if (c !== "not_reported") { sw.style.background = COLOURS[i]; }
      var lab = el("span", null, null, r);
      bi(lab, CLASS_LABELS[c][0], CLASS_LABELS[c][1] + (th[c] ? " (" + th[c] + ")" : ""));
      el("span", "dx-count", counts[i], r);
    });
    var behind = el("div", "dx-row", null, d);
    bi(el("span", null, null, behind), "Chưa đạt mục tiêu (kể cả chưa báo cáo)",
       "behind target, not reported included");
    el("span", "dx-count", features.length - counts[0] - counts[NO_DATA], behind);
    var nr = el("div", "dx-row", null, d);
    el("span", "dx-sw dx-sw-remote", null, nr);
    bi(el("span", null, null, nr), "Vùng khó khăn: biên giới, hải đảo, vùng sâu, vùng xa",
       "remote: border, island, remote class");
    el("span", "dx-count", remote.getLayers().length, nr);
    var pr = el("div", "dx-row", null, d);
    el("span", "dx-sw dx-sw-prov", null, pr);
    bi(el("span", null, null, pr), "Ranh giới tỉnh", "province outline");
    if (deadZones) {
      var dz = el("div", "dx-row", null, d);
      el("span", "dx-sw dx-sw-dz", null, dz);
      bi(el("span", null, null, dz), "Vùng lõm sóng " + DZ.technology + " (" +
         fmt(DZ.population) + " người)", DZ.technology + " dead zones, people in them");
      el("span", "dx-count", zoneFeatures.length, dz);
      if (DZ.total > DZ.count) {
        bi(el("div", "dx-row dx-note", null, d),
           DZ.count + "/" + DZ.total + " vùng (vùng khó khăn trước, rồi đông dân); đủ " +
           fmt(DZ.totalPopulation) + " người ở trang từng tỉnh",
           "the " + DZ.count + " of " + DZ.total + " zones shown: remote first, then most people; " +
           "every zone on the province pages");
      }
    }
    if (MIXED) {
      var ap = el("div", "dx-row", null, d);
      el("span", "dx-sw dx-sw-approx", null, ap);
      bi(el("span", null, null, ap), "Ranh giới xấp xỉ", "approximate boundary");
    }
  }

  // ---- note: title, period, which geometry ----
  var note = L.control({position: "bottomleft"});
  note.onAdd = function () {
    var d = el("div", "dx-box dx-note");
    el("h3", null, META.title, d);
    bi(el("div", null, null, d), "Kỳ báo cáo: " + META.period, "period");
    var gs = META.geometry.sources, parts = [];
    if (gs.official) { parts.push("chính thức / official: " + gs.official); }
    if (gs.approximate) { parts.push("xấp xỉ / approximate: " + gs.approximate); }
    Object.keys(gs).forEach(function (k) {
      if (k !== "official" && k !== "approximate") { parts.push(k + ": " + gs[k]); }
    });
    var g = el("div", "dx-geometry", null, d);
    bi(g, "Ranh giới hiển thị", "boundaries shown");
    el("span", null, ": " + parts.join(" · "), g);
    bi(el("div", "dx-en", null, d), "Đã giản lược để hiển thị (" + META.geometry.tolerance + "°), dữ liệu gốc giữ nguyên độ chính xác",
       "simplified for display; the lake keeps full precision");
    L.DomEvent.disableClickPropagation(d);
    return d;
  };

  // ---- search (with or without diacritics) ----
  var current = 0, highlight = null, found = null;
  function select(code) {
    var f = byCode[code];
    if (!f || !f.latlngs.length) { return false; }
    if (highlight) { map.removeLayer(highlight); }
    highlight = L.polygon(f.latlngs, {pane: "dxHighlight", fill: false, color: "#00b7ff",
                                      weight: 4, opacity: 1, interactive: false,
                                      className: "dx-highlight"}).addTo(map);
    var b = highlight.getBounds();
    map.fitBounds(b, {maxZoom: 12, padding: [40, 40], animate: false});
    if (found) { map.closeTooltip(found); }
    found = L.tooltip({direction: "top", className: "dx-tooltip dx-found", opacity: 1})
      .setLatLng(b.getCenter()).setContent(tooltipFor(f, current));
    map.openTooltip(found);
    return true;
  }
  var search = L.control({position: "topleft"});
  search.onAdd = function () {
    var d = el("div", "dx-box dx-search");
    var input = el("input", null, null, d);
    input.type = "search";
    input.placeholder = "Tìm xã, phường… / find a unit";
    input.setAttribute("aria-label", "Tìm đơn vị / find a unit");
    var list = el("ul", null, null, d);
    var status = el("div", "dx-status", null, d);
    var hits = [];
    function update() {
      var qy = fold(input.value);
      list.textContent = ""; hits = [];
      if (!qy) { status.textContent = ""; return; }
      features.forEach(function (f) {
        var pos = f.key.indexOf(qy);
        if (pos < 0 && f.code !== qy) { return; }
        var rank = f.code === qy || f.short.indexOf(qy) === 0 ? 0 : pos === 0 ? 1 : 2;
        hits.push([rank, f.key.length, f]);
      });
      hits.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
      hits.slice(0, 12).forEach(function (h) {
        var f = h[2], prov = META.provinces[f.properties.p] || ["", ""];
        var btn = el("button", null, f.properties.n + " — " + prov[1], el("li", null, null, list));
        btn.type = "button";
        btn.addEventListener("click", function () { pick(f); });
      });
      status.textContent = hits.length ? hits.length + " kết quả / results"
                                       : "Không tìm thấy / not found";
    }
    function pick(f) {
      status.textContent = select(f.code) ? "Đã chọn / selected: " + f.properties.n
        : f.properties.n + ": không có ranh giới / no boundary to show";
    }
    input.addEventListener("input", update);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && hits.length) { e.preventDefault(); pick(hits[0][2]); }
    });
    L.DomEvent.disableClickPropagation(d);
    L.DomEvent.disableScrollPropagation(d);
    return d;
  };

  // ---- assemble ----
  var bb = META.bbox;
  if (bb) {
    var side = Math.min(320, map.getSize().x * 0.25);
    map.fitBounds([[bb[1], bb[0]], [bb[3], bb[2]]],
                  {animate: false, paddingTopLeft: [10, 10], paddingBottomRight: [side, 10]});
  }
  search.addTo(map);
  layers[0].addTo(map);
  remote.addTo(map);
  provinces.addTo(map);
  if (deadZones) { deadZones.addTo(map); }
  L.control.layers(base, overlays, {collapsed: false, position: "topright"}).addTo(map);
  legend.addTo(map);
  drawLegend(0);
  note.addTo(map);
  map.on("baselayerchange", function (e) {
    current = layers.indexOf(e.layer);
    drawLegend(current);
  });
  window.dxMap = {map: map, layers: layers, features: features, select: select,
                  deadZones: deadZones,
                  current: function () { return current; }, meta: META,
                  timing: {scriptStart: T0, ready: performance.now()}};
  document.documentElement.setAttribute("data-dx-ready", "1");
})();
"""
