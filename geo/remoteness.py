"""Remoteness of units: border, island, distance to the provincial centre, a province's class.

Why: the plans put remote areas (vùng sâu, vùng xa, biên giới, hải đảo) first, so every unit
carries flags that planners filter on and the maps show. They are computed from the geometry
where it can tell (border, island, distances) and read from a province's own list where it
cannot (khu vực III, xã đặc biệt khó khăn). Distances are in metres in a projected CRS.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import polars as pl
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from geo.boundaries import (
    CODE_COLUMNS,
    METRIC_CRS,
    NAME_COLUMNS,
    WGS84,
    find_column,
    land_border,
    national_outline,
    normalise_code,
    problems_frame,
)
from geo.text import fold
from geo.units import official_units

#: A callable shaped like Gazetteer.resolve: (name=..., province=...) -> a match with
#: `unit_code` (None when unresolved) and `candidates`.
ResolveUnit = Callable[..., Any]

DEFAULT_BORDER_KM = 1.0
# Neighbouring units are "connected" when closer than this: real boundary files leave small gaps
# between neighbours (per-ring simplification), and a river island touches its banks' units.
ISLAND_TOLERANCE_M = 100.0
PROVINCE_COLUMNS = ("province", "province_name", "ten_tinh", "tinh", "tinh_thanh_pho", "tinh_tp")
# Not "loai": in Vietnamese lists that is usually the unit type (xã, phường).
CLASS_COLUMNS = ("remote_class", "class", "classification", "phan_loai", "phan_loai_xa", "khu_vuc")
_GEOD = pyproj.Geod(ellps="WGS84")
_ROMAN = re.compile(r"_(i{1,3}|iv|v)$")


# The Natural Earth line lies up to a few km off the real frontier (median 1.7 km from the
# real communes' outer edge, 95% within 3.6 km): the units' own outer edge within this distance
# of it is taken as the land border instead, when the units are known.
SNAP_KM = 5.0
# Units this close to the Natural Earth line form the frontier strip whose outer edge is used.
SEARCH_KM = 20.0
# The coast within this distance of the Natural Earth coastline is not land border, even near
# the border's ends (Móng Cái, Hà Tiên).
COAST_KM = 1.0


@cache
def _natural_earth_metric() -> tuple[BaseGeometry, BaseGeometry]:
    """(land border, coastline) from geo/data in METRIC_CRS."""
    border = shapely.union_all(land_border().to_crs(METRIC_CRS).geometry.to_numpy())
    outline = gpd.GeoSeries([national_outline()], crs=WGS84).to_crs(METRIC_CRS).iloc[0]
    coast = shapely.difference(outline.boundary, shapely.buffer(border, 10))
    return border, coast


def _pieces(line: BaseGeometry, size: int = 8) -> np.ndarray:
    """A line cut into pieces of `size` segments (a few hundred metres)."""
    coords = [shapely.get_coordinates(part) for part in shapely.get_parts(line)]
    return np.array(
        [
            shapely.linestrings(c[i : i + size + 1])
            for c in coords
            for i in range(0, len(c) - 1, size)
        ],
        dtype=object,
    )


def _segments(line: BaseGeometry) -> shapely.STRtree:
    # Short pieces of a line in an STR-tree: nearest-piece queries are fast, whereas one
    # distance to the whole line compares every vertex pair.
    return shapely.STRtree(_pieces(line))


def _metric(geometry: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    shapes = geometry.to_crs(METRIC_CRS).to_numpy()
    return shapes, ~(shapely.is_missing(shapes) | shapely.is_empty(shapes))


def land_border_line(
    geometry: gpd.GeoSeries | None = None,
    snap_km: float = SNAP_KM,
    search_km: float = SEARCH_KM,
) -> BaseGeometry:
    """The land border with China, Laos and Cambodia, in METRIC_CRS (metres).

    From Natural Earth 1:10m (geo/data/vn_land_border_ne10m.geojson). Given the units' shapes,
    it is snapped to their own outer edge: the outline of the units within `search_km` of the
    Natural Earth line, where that outline lies within `snap_km` of the line and not on the
    coast. Where no unit edge is that close, the Natural Earth line is kept, so the border has
    no holes. Why: the generalised line is up to several km off, which would miss communes that
    touch the border (Xã A Lưới 1, 2, 5 lie 1.3–2.4 km from it).
    """
    border, coast = _natural_earth_metric()
    if geometry is None:
        return border
    shapes, present = _metric(geometry)
    shapes = shapes[present]
    border_tree = _segments(border)
    near, _ = border_tree.query(shapes, predicate="dwithin", distance=search_km * 1e3)
    if not len(near):  # e.g. a file of one lowland province: nothing to snap to
        return border
    strip = shapely.union_all(shapes[np.unique(near)])
    # Holes are gaps between neighbours, not frontier: keep exterior rings only.
    outer = _pieces(
        shapely.multilinestrings(
            [shapely.get_exterior_ring(p) for p in shapely.get_parts(strip) if not p.is_empty]
        )
    )
    on_border = np.zeros(len(outer), bool)
    on_border[border_tree.query(outer, predicate="dwithin", distance=snap_km * 1e3)[0]] = True
    on_coast = np.zeros(len(outer), bool)
    on_coast[_segments(coast).query(outer, predicate="dwithin", distance=COAST_KM * 1e3)[0]] = True
    frontier = outer[on_border & ~on_coast]
    if not len(frontier):
        return border
    ne_pieces = _pieces(border)
    covered = np.zeros(len(ne_pieces), bool)
    covered[
        shapely.STRtree(frontier).query(ne_pieces, predicate="dwithin", distance=snap_km * 1e3)[0]
    ] = True
    return shapely.multilinestrings(np.concatenate([frontier, ne_pieces[~covered]]))


def dist_land_border_km(geometry: gpd.GeoSeries, border: BaseGeometry | None = None) -> np.ndarray:
    """Distance (km) from each unit's shape to the land border (0 when it touches it).

    `border` is a line in METRIC_CRS, by default `land_border_line(geometry)`.
    """
    border = land_border_line(geometry) if border is None else border
    shapes, present = _metric(geometry)
    out = np.full(len(shapes), np.nan)
    (index, _), distance = _segments(border).query_nearest(
        shapes[present], return_distance=True, all_matches=False
    )
    values = np.full(present.sum(), np.nan)
    values[index] = distance
    out[present] = values / 1000
    return out


def is_border(
    geometry: gpd.GeoSeries,
    border_km: float = DEFAULT_BORDER_KM,
    border: BaseGeometry | None = None,
) -> np.ndarray:
    """Whether each unit lies within `border_km` of the land border (DESIGN: biên giới)."""
    return dist_land_border_km(geometry, border) <= border_km


def is_island(
    geometry: gpd.GeoSeries,
    unit_type: Sequence[str] | None = None,
    tolerance_m: float = ISLAND_TOLERANCE_M,
) -> np.ndarray:
    """Whether each unit is cut off from the mainland, or is a special zone (đặc khu).

    The mainland is the largest group (by area) of units linked through neighbours closer than
    `tolerance_m`: the units' own shapes, because the Natural Earth coast is far too coarse for
    near-shore islands. A unit outside that group is an island (hải đảo).
    """
    shapes, present = _metric(geometry)
    n = len(shapes)
    tree = shapely.STRtree(np.where(present, shapes, None))
    left, right = tree.query(shapes, predicate="dwithin", distance=tolerance_m)
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([root(i) for i in range(n)])
    area = np.where(present, shapely.area(shapes), 0.0)
    mainland = np.bincount(roots, weights=area, minlength=n).argmax()
    island = present & (roots != mainland)
    if unit_type is not None:
        island |= np.asarray([t == "đặc khu" for t in unit_type])
    return island


def dist_province_centre_km(
    geometry: gpd.GeoSeries,
    province_centre_lon: Sequence[float],
    province_centre_lat: Sequence[float],
) -> np.ndarray:
    """Geodesic distance (km) from each unit's representative point to its province's centre."""
    points = gpd.GeoSeries(shapely.point_on_surface(geometry.to_numpy()), crs=geometry.crs)
    points = points.to_crs(WGS84).to_numpy()
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    _, _, metres = _GEOD.inv(
        lon, lat, np.asarray(province_centre_lon, float), np.asarray(province_centre_lat, float)
    )
    return np.asarray(metres) / 1000


def normalise_class(value: str) -> str:
    """A class as a stable key: "Khu vực III" → "khu_vuc_III", "Xã ĐBKK" → "xa_dbkk"."""
    text = fold(value).replace(" ", "_")
    return _ROMAN.sub(lambda m: "_" + m.group(1).upper(), text)


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError(f"{path}: not UTF-8, UTF-16 or cp1258 text")


def _read_table(path: Path) -> pl.DataFrame:
    text = _read_text(path)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
        separator = dialect.delimiter
    except csv.Error:
        separator = ","
    return pl.read_csv(io.StringIO(text), separator=separator, infer_schema=False)


def _describe(candidate: Any) -> str:
    code = getattr(candidate, "unit_code", None)
    name = getattr(candidate, "unit_name", None)
    if code or name:
        return " ".join(str(x) for x in (name, f"({code})" if code else None) if x)
    if isinstance(candidate, tuple | list):
        return " ".join(str(x) for x in candidate)
    return str(candidate)


def _resolved(match: Any) -> tuple[str | None, str, list[str]]:
    """(unit_code, match_kind, candidates) from whatever a resolver returns."""
    if match is None:
        return None, "", []
    if isinstance(match, str):
        return match, "code", []
    if isinstance(match, dict):
        code, kind, cands = match.get("unit_code"), match.get("match_kind"), match.get("candidates")
    else:
        code = getattr(match, "unit_code", None)
        kind = getattr(match, "match_kind", None)
        cands = getattr(match, "candidates", None)
    return code, str(kind or ""), [_describe(c) for c in (cands or [])]


def read_remote_classes(
    path: str | Path,
    resolve_unit: ResolveUnit | None = None,
    official: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A province's list of remote classes → (unit_code, remote_class) and the problems.

    The CSV carries a unit code and/or a unit name (and optionally the province) and a class.
    Codes are matched directly (zero-padded); names through `resolve_unit(name=, province=)`,
    e.g. `Gazetteer.default().resolve`. A row that names no known unit, resolves ambiguously or
    has no class is returned as a problem with the candidates, never dropped silently. A unit
    listed with several classes keeps them all, joined with ";".
    """
    path = Path(path)
    official = official_units() if official is None else official
    names = dict(zip(official["unit_code"], official["unit_name"], strict=True))
    provinces = dict(zip(official["unit_code"], official["province_name"], strict=True))
    table = _read_table(path)
    columns = table.columns
    code_col = find_column(columns, CODE_COLUMNS)
    name_col = find_column(columns, NAME_COLUMNS + ("xa", "xa_phuong", "don_vi"))
    province_col = find_column(columns, PROVINCE_COLUMNS)
    class_col = find_column(columns, CLASS_COLUMNS)
    if class_col is None or (code_col is None and name_col is None):
        raise ValueError(
            f"Tệp {path} cần cột mã hoặc tên đơn vị và cột phân loại / {path} needs a unit code "
            f"or name column and a class column (e.g. remote_class); columns: {', '.join(columns)}"
        )
    found: dict[str, list[str]] = {}
    problems: list[dict] = []

    def problem(row: int, kind: str, unit: str, vi: str, en: str, code: str | None = None):
        problems.append(
            {
                "kind": kind,
                "source": str(path),
                "rows": row,
                "unit_code": code,
                "unit_name": unit or None,
                "province_name": provinces.get(code) if code else None,
                "message_vi": f"{path.name} dòng {row}: {vi}",
                "message_en": f"{path.name} row {row}: {en}",
            }
        )

    for number, record in enumerate(table.iter_rows(named=True), start=2):  # 1 = the header
        raw_code = (record.get(code_col) or "").strip() if code_col else ""
        name = (record.get(name_col) or "").strip() if name_col else ""
        province = (record.get(province_col) or "").strip() if province_col else ""
        klass = (record.get(class_col) or "").strip()
        if not (raw_code or name or klass):
            continue  # a blank line
        label = name or raw_code
        code = normalise_code(raw_code) if raw_code else None
        if code is not None and code not in names:
            if not name:
                problem(
                    number,
                    "remote_class_unknown_code",
                    label,
                    f"mã {raw_code!r} không có trong danh mục đơn vị chính thức.",
                    f"code {raw_code!r} is not in the official list of units.",
                    code,
                )
                continue
            code = None  # fall back on the name
        if code is None:
            if resolve_unit is None:
                problem(
                    number,
                    "remote_class_unresolved",
                    label,
                    f"không có bộ tra cứu tên để xác định {name!r}.",
                    f"no name resolver to look up {name!r}.",
                )
                continue
            try:
                match = resolve_unit(name=name, province=province or None)
            except Exception as exc:  # a resolver's failure is this row's problem
                match = None
                problem(
                    number,
                    "remote_class_unresolved",
                    label,
                    f"lỗi khi tra {name!r}: {exc}",
                    f"looking up {name!r} failed: {exc}",
                )
                continue
            code, _, candidates = _resolved(match)
            if code is None or code not in names:
                where = f" ({province})" if province else ""
                listed = "; ".join(candidates) or "—"
                problem(
                    number,
                    "remote_class_ambiguous" if len(candidates) > 1 else "remote_class_unresolved",
                    label,
                    f"không xác định được đơn vị {name!r}{where}; ứng viên: {listed}.",
                    f"cannot resolve unit {name!r}{where}; candidates: {listed}.",
                )
                continue
        if not klass:
            problem(
                number,
                "remote_class_empty",
                names[code],
                f"{names[code]} ({code}) không có phân loại.",
                f"{names[code]} ({code}) has no class.",
                code,
            )
            continue
        classes = found.setdefault(code, [])
        if normalise_class(klass) not in classes:
            classes.append(normalise_class(klass))
    result = pl.DataFrame(
        {"unit_code": list(found), "remote_class": [";".join(v) for v in found.values()]},
        schema={"unit_code": pl.String, "remote_class": pl.String},
    )
    return result, problems_frame(problems)


def is_remote(
    border: Sequence[bool], island: Sequence[bool], remote_class: Sequence[str | None]
) -> np.ndarray:
    """Border or island or a province class (DESIGN: vùng sâu, vùng xa, biên giới, hải đảo)."""
    has_class = np.array([c is not None and c == c and c != "" for c in remote_class], bool)
    return np.asarray(border, bool) | np.asarray(island, bool) | has_class
