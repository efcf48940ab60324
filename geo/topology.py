"""Display geometry for the map pages: units cleaned and simplified into an edge-matched
coverage, then written once as a TopoJSON topology (shared, delta-encoded integer arcs).

Why: a national page holds 3,321 units; neighbours drawn from one shared edge keep the page a
few MB, free of slivers, and every layer (indicators, province outlines, dead zones, the base
map) is decoded from the same arcs. Cleaning is slow, so `GeometryCache` keeps the results.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import shapely

from schemas.lake import digest, write_bytes

log = logging.getLogger(__name__)

QUANTUM = 1e-5  # coordinates rounded to 5 decimals (about 1 m)
SNAP = 0.0005  # cleaning snaps vertices this close (the source's own simplification, ~55 m)


def auto_tolerance(bounds: tuple[float, float, float, float] | np.ndarray) -> float:
    """Simplification tolerance in degrees, scaled with the extent: ~0.0022° for the whole
    country, 0.0001-0.0003° for a province (finer than a pixel at the zoom each page opens
    at; the national page draws in well under the 1.5 s it may take on an office laptop)."""
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    diag = math.hypot(maxx - minx, maxy - miny)
    return min(0.0025, max(0.0001, diag * 1e-4)) if math.isfinite(diag) else 0.001


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Every geometry as (Multi)Polygon or empty: drop lines and points a repair may leave."""
    out = geoms.copy()
    types = shapely.get_type_id(out)
    for i in np.flatnonzero(~np.isin(types, (3, 6)) & ~shapely.is_missing(out)):
        parts = [p for p in shapely.get_parts(out[i]) if shapely.get_type_id(p) in (3, 6)]
        out[i] = shapely.union_all(parts) if parts else shapely.MultiPolygon()
    out[shapely.is_missing(out)] = shapely.MultiPolygon()
    return out


def clean_coverage(geoms: np.ndarray) -> np.ndarray:
    """The polygons cleaned into an edge-matched coverage (small overlaps and unmatched edges
    snapped). The slow step, and the same whatever the tolerance: GeometryCache keeps it once
    for every tolerance a publish simplifies to."""
    geoms = _polygonal(np.asarray(geoms, dtype=object))
    if len(geoms) <= 1:
        return geoms
    try:
        cleaned = _polygonal(shapely.coverage_clean(geoms, snapping_distance=SNAP))
    except shapely.errors.GEOSException as exc:  # pragma: no cover - depends on the data
        log.warning("coverage_clean failed (%s); simplifying the raw polygons", exc)
        return geoms
    lost = shapely.is_empty(cleaned) & ~shapely.is_empty(geoms)
    cleaned[lost] = geoms[lost]  # a unit swallowed by its neighbours keeps its own shape
    return cleaned


def simplify_coverage(base: np.ndarray, tolerance: float) -> np.ndarray:
    """Coverage-simplify so that neighbours keep one shared edge. Returns new geometries."""
    try:
        simple = shapely.coverage_simplify(base, tolerance)
    except shapely.errors.GEOSException as exc:  # pragma: no cover - depends on the data
        log.warning("coverage_simplify failed (%s); simplifying unit by unit", exc)
        simple = shapely.simplify(base, tolerance, preserve_topology=True)
    return _polygonal(np.asarray(simple, dtype=object))


def display_geometry(geoms: np.ndarray, tolerance: float, *, clean: bool = True) -> np.ndarray:
    """Clean into an edge-matched coverage (clean_coverage), then coverage-simplify so
    neighbours keep one shared edge. Returns new geometries."""
    geoms = _polygonal(np.asarray(geoms, dtype=object))
    return simplify_coverage(clean_coverage(geoms) if clean else geoms, tolerance)


CACHE_DAYS = 60


class GeometryCache:
    """Display geometry and its topology kept on disk between runs, and in memory for the run.

    Cleaning and simplifying 3,321 polygons and building their arcs takes seconds, yet changes
    only when the boundaries do; a publish after new figures reuses them. Within a run, a
    cleaned coverage serves all its simplifications (the national page and its PNGs, and the
    provinces around province pages, simplify one cleaning to two tolerances). Files in `folder` are
    named by a hash of their inputs (the polygons, the tolerance, the provinces, this module's
    code, GEOS's version), so a stale one is never read; one read is touched, and `prune`
    removes those nobody read for CACHE_DAYS (boundaries from an older set)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._memo: dict[str, object] = {}  # what this run already read or made, by file name
        self._hashed: dict[bytes, tuple[np.ndarray, str]] = {}  # _shapes_key's, by the ids

    def key(self, geoms: np.ndarray, tolerance: float, clean: bool) -> str:
        """The name of display_geometry(geoms, tolerance, clean=clean) in the cache."""
        return _digest(self._shapes_key(geoms), tolerance, clean)

    def _shapes_key(self, geoms: np.ndarray) -> str:
        """A hash of the geometries' WKB, made once per run for the same shapes (a publish
        asks for the units' several times; shapely's are immutable, so the same objects
        have the same bytes, and the array is kept so that their ids stay theirs)."""
        geoms = np.asarray(geoms, dtype=object)
        ids = np.fromiter(map(id, geoms), np.uint64, len(geoms)).tobytes()
        if ids not in self._hashed:
            self._hashed[ids] = geoms, _digest(_wkb(geoms))
        return self._hashed[ids][1]

    def display(self, geoms: np.ndarray, tolerance: float, clean: bool) -> tuple[str, np.ndarray]:
        """(key, display_geometry(geoms, tolerance, clean=clean))."""
        shapes = self._shapes_key(geoms)
        key = _digest(shapes, tolerance, clean)

        def make() -> np.ndarray:
            base = _polygonal(np.asarray(geoms, dtype=object))
            if clean:  # kept for this run only: on disk, the simplified shapes are enough
                cleaned = f"clean {shapes}"
                if cleaned not in self._memo:
                    self._memo[cleaned] = clean_coverage(base)
                base = self._memo[cleaned]
            return simplify_coverage(base, tolerance)

        return key, self.shapes(f"display {key}", make)

    def shapes(self, name: str, make) -> np.ndarray:
        """Geometries (an object array) that `name` identifies: make() once, then read back."""
        path = self.folder / f"shapes-{_digest(name)}.parquet"
        shapes = self._kept(
            path, lambda: np.asarray(make(), dtype=object), _shapes_bytes, _read_shapes
        )
        return shapes.copy()  # the caller's own array (shapes are immutable)

    def topology(self, key: str, shown: np.ndarray, feat_prov: np.ndarray, offset: float):
        """build_topology(shown, feat_prov, offset=offset), `key` naming `shown`; the head's
        arcs a list of the caller's own (appending to it leaves the cache's as it is)."""
        name = _digest(key, np.asarray(feat_prov).tobytes(), offset)
        head, features, outline = self._kept(
            self.folder / f"topology-{name}.npz",
            lambda: build_topology(shown, feat_prov, offset=offset),
            lambda made: _topology_bytes(*made),
            _read_topology,
        )
        return {**head, "arcs": list(head["arcs"])}, features, outline

    def arcs(self, name: str, make) -> tuple[object, list[np.ndarray]]:
        """(JSON data, arcs) that `name` identifies, such as an object drawn on a page's arcs
        (its arc indexes counted from its first arc): make() once, then read back."""
        data, arcs = self._kept(
            self.folder / f"arcs-{_digest(name)}.npz",
            make,
            lambda made: _arcs_bytes(made[1], made[0]),
            lambda path: _read_arcs(path)[::-1],
        )
        return data, list(arcs)

    def frame(self, name: str, make) -> gpd.GeoDataFrame:
        """A GeoDataFrame that `name` identifies (such as the dead zones a page draws, made
        from the coverage run's): make() once, then read back as GeoParquet."""
        path = self.folder / f"frame-{_digest(name)}.parquet"
        return self._kept(path, make, _parquet_bytes, gpd.read_parquet, memo=False)

    def lines(self, key: str, make) -> list[np.ndarray]:
        """Coordinate arrays (such as the PNGs' province outlines) derived from the geometry
        `key` names: make() once, then read back."""
        path = self.folder / f"lines-{_digest(key)}.parquet"
        return self._kept(path, make, _lines_bytes, _read_lines, memo=False)

    def arrays(self, name: str, make) -> dict[str, np.ndarray]:
        """Named arrays (such as the PNGs' map drawn as pixels) that `name` identifies: make()
        once, then read back (a compressed .npz)."""
        path = self.folder / f"arrays-{_digest(name)}.npz"
        return self._kept(path, make, _npz_bytes, _read_npz, memo=False)

    def _kept(self, path: Path, make, to_bytes, read, memo: bool = True):
        """What `path` holds: read back (and marked used) when it exists, else make() and
        written (to_bytes); with `memo`, also kept in memory for the rest of the run."""
        if memo and path.name in self._memo:
            return self._memo[path.name]
        if path.exists():
            _used(path)
            value = read(path)
        else:
            value = make()
            write_bytes(path, to_bytes(value))
        if memo:
            self._memo[path.name] = value
        return value

    def prune(self) -> None:
        old = time.time() - CACHE_DAYS * 86400
        for path in self.folder.glob("*"):
            if path.stat().st_mtime < old:
                path.unlink(missing_ok=True)


def _used(path: Path) -> None:
    """Mark a cache file read, so that `prune` keeps it: at most once a day, so that a publish
    that rebuilds nothing changes no file (the dead zones are read by every publish)."""
    if path.stat().st_mtime < time.time() - 86400:
        os.utime(path)


def _wkb(geoms: np.ndarray) -> bytes:
    return b"".join(shapely.to_wkb(np.asarray(geoms, dtype=object)))


def _parquet_bytes(frame: pl.DataFrame | gpd.GeoDataFrame) -> bytes:
    buffer = io.BytesIO()
    if isinstance(frame, pl.DataFrame):
        frame.write_parquet(buffer)
    else:  # GeoParquet
        frame.to_parquet(buffer)
    return buffer.getvalue()


def _shapes_bytes(shapes: np.ndarray) -> bytes:
    return _parquet_bytes(pl.DataFrame({"wkb": shapely.to_wkb(shapes)}, schema={"wkb": pl.Binary}))


def _read_shapes(path: Path) -> np.ndarray:
    return shapely.from_wkb(pl.read_parquet(path)["wkb"].to_numpy())


def _lines_bytes(lines: list[np.ndarray]) -> bytes:
    """Coordinate arrays as one table: each point with the number of its line."""
    ids = np.repeat(np.arange(len(lines)), [len(line) for line in lines])
    xy = np.concatenate(lines) if lines else np.zeros((0, 2))
    return _parquet_bytes(pl.DataFrame({"line": ids, "x": xy[:, 0], "y": xy[:, 1]}))


def _read_lines(path: Path) -> list[np.ndarray]:
    df = pl.read_parquet(path)
    xy = df.select("x", "y").to_numpy()
    return np.split(xy, np.flatnonzero(np.diff(df["line"].to_numpy())) + 1) if len(xy) else []


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def _arcs_bytes(arcs: list[np.ndarray], data) -> bytes:
    """Arcs and JSON data as .npz: the arcs as one integer array, the data as JSON text."""
    buffer = io.BytesIO()
    np.savez(
        buffer,
        xy=np.concatenate(arcs) if len(arcs) else np.zeros((0, 2), np.int64),
        lengths=np.array([len(a) for a in arcs], np.int64),
        data=np.frombuffer(json.dumps(data, separators=(",", ":")).encode(), np.uint8),
    )
    return buffer.getvalue()


def _read_arcs(path: Path) -> tuple[list[np.ndarray], object]:
    with np.load(path, allow_pickle=False) as npz:
        xy, lengths, data = npz["xy"], npz["lengths"], json.loads(npz["data"].tobytes())
    return (np.split(xy, np.cumsum(lengths)[:-1]) if len(lengths) else []), data


def _topology_bytes(head: dict, features: list, outline: list[int]) -> bytes:
    """build_topology's result as .npz."""
    rest = {"transform": head["transform"], "features": features, "outline": outline}
    return _arcs_bytes(head["arcs"], rest)


def _read_topology(path: Path) -> tuple[dict, list, list[int]]:
    arcs, rest = _read_arcs(path)
    head = {"type": "Topology", "transform": rest["transform"], "arcs": arcs}
    return head, rest["features"], rest["outline"]


def _digest(*parts) -> str:
    """A cache key: the parts, this module's code and GEOS's version (either changes shapes)."""
    return digest(Path(__file__).read_bytes(), shapely.geos_version_string, *parts)


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

    Returns (topology head with transform and arcs, each an (n, 2) integer array of its first
    position and then deltas; per feature its MultiPolygon arc indexes;
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
    at_junction = np.flatnonzero(junction)  # (plain slices and lists below: ~100k rings)
    j_from = np.searchsorted(at_junction, starts).tolist()
    j_to = np.searchsorted(at_junction, ends).tolist()
    for r, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        p = pid[s:e]
        if j_from[r] == j_to[r]:  # a ring that meets nothing else, or matches one other ring whole
            m = int(np.argmin(p))
            ring_refs.append([arc_ref(np.concatenate((p[m:], p[: m + 1])), s + m)])
            continue
        j = (at_junction[j_from[r] : j_to[r]] - s).tolist()
        n, j0 = e - s, j[0]
        closed = np.concatenate((p[j0:], p[: j0 + 1]))  # from the first junction round to it
        cuts = [k - j0 for k in j] + [n]
        ring_refs.append(
            [
                arc_ref(closed[a : b + 1], s + (a + j0) % n)
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

    # Each arc's positions: the first absolute, then deltas (one array, split into views).
    lengths = np.fromiter(map(len, arcs), np.int64, len(arcs))
    xy = q[rep][np.concatenate(arcs)] if arcs else np.zeros((0, 2), np.int64)
    delta = xy.copy()
    delta[1:] -= xy[:-1]
    first = np.cumsum(lengths) - lengths
    delta[first] = xy[first]
    encoded = np.split(delta, first[1:])
    outline = [i for i, e in enumerate(arc_edge) if boundary[e]]
    head = {"type": "Topology", "transform": _transform(origin), "arcs": encoded}
    return head, features, outline


def _transform(origin) -> dict:
    return {
        "scale": [QUANTUM, QUANTUM],
        "translate": [round(float(origin[0]) * QUANTUM, 5), round(float(origin[1]) * QUANTUM, 5)],
    }


def encode_arcs(arcs: list[np.ndarray] | list[list[list[int]]]) -> list[str]:
    """Each arc's integer positions (first absolute, then deltas, as in the topology) as one
    string: x and y of every position in turn, zigzag-encoded and written 5 bits per character
    (the Encoded Polyline Algorithm's characters, 63..126). About a third of the JSON arrays'
    size, and the page decodes it faster than it parses them."""
    if not len(arcs):
        return []
    arrays = [np.asarray(a, dtype=np.int64).reshape(-1) for a in arcs]
    lengths = np.fromiter(map(len, arrays), np.int64, len(arrays))
    values = np.concatenate(arrays)
    zig = np.where(values < 0, ~(values << 1), values << 1)
    n_chars = np.ones(len(zig), np.int64)
    rest = zig >> 5
    while rest.any():
        n_chars += rest > 0
        rest >>= 5
    out = np.empty(int(n_chars.sum()), np.uint8)
    ends = np.cumsum(n_chars)
    pos = ends - n_chars
    rest = zig.copy()
    for k in range(int(n_chars.max())):
        live = n_chars > k
        chunk = rest[live] & 0x1F
        more = n_chars[live] > k + 1
        out[pos[live] + k] = (chunk | np.where(more, 0x20, 0)) + 63
        rest[live] >>= 5
    text = out.tobytes().decode("ascii")
    cuts = np.r_[0, ends[np.cumsum(lengths) - 1]]
    return [text[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]


def decode_arcs(encoded: list[str], transform: dict) -> list[np.ndarray]:
    """encode_arcs undone and placed: each arc's positions as an (n, 2) array of lon/lat."""
    (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
    out = []
    for text in encoded:
        values, shift, acc = [], 0, 0
        for ch in text.encode("ascii"):
            b = ch - 63
            acc |= (b & 0x1F) << shift
            shift += 5
            if b < 0x20:
                values.append(~(acc >> 1) if acc & 1 else acc >> 1)
                acc = shift = 0
        xy = np.cumsum(np.array(values, dtype=np.int64).reshape(-1, 2), axis=0)
        out.append(xy * (sx, sy) + (tx, ty))
    return out
