"""What a map page shows, as compact JSON: each unit's figures per indicator, the gap classes
with their colours and labels, the dead zones and the base map (neighbours, seas, province
names), all on the units' one topology (geo.topology).

Why: the page is a static file read offline; everything it draws or lists is in this data, and
the page's script (geo/static/map.js) only decodes and styles it.
"""

from __future__ import annotations

import json
import math
from functools import cache, cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import shapely

from geo.topology import QUANTUM, _polygonal, build_topology
from schemas.catalogue import Catalogue
from schemas.contracts import GAP_CLASSES
from schemas.display import GAP_CLASS_LABELS, visible

CLASS_COLOURS = {  # fills for GAP_CLASSES, then units that have no row at all
    "meets_target": "#1a9850",
    "small": "#fee08b",
    "medium": "#fc8d59",
    "large": "#d73027",
    "not_reported": "url(#dx-hatch-nr)",
    "not_in_run": "#b0b0b0",  # units of provinces outside the run, apart from not_reported
    "no_data": "#ffffff",
}
# Any other gap class (one added elsewhere) gets a grey of its own and its own legend row:
# never the colour of a gap.
OTHER_CLASS_GREYS = ("#8c8c8c", "#cfcfcf", "#6e6e6e", "#a3a3a3")
CLASS_LABELS = GAP_CLASS_LABELS
BEHIND_TARGET = ("small", "medium", "large", "not_reported")
CLASSES = (*GAP_CLASSES, "no_data")
GEOMETRY_SOURCES = ("official", "approximate")
UNIT_COLUMNS = ("unit_code", "unit_name", "unit_type", "province_code", "province_name")
# The gap rows' columns a page shows (the units' names and flags come from admin_units).
SHOWN = (
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
_OPTIONAL_GAP_COLUMNS = {
    **{c: pl.Float64 for c in ("value", "target", "gap", "change")},
    **{"source_file": pl.String, "source_sheet": pl.String, "source_row": pl.Int64},
    "rank": pl.Int64,
}
# Dead zones come simplified at 25 m (geo.coverage.dead_zone_layer), about this many degrees.
ZONE_DETAIL_DEG = 0.00025
OVERVIEW_ZONE_BYTES = 250_000  # the national page's share for dead zones (its budget: 3.5 MB)
BASE_LAYER = Path(__file__).parent / "data" / "base_ne10m.geojson"
HOME_OUTLINE = Path(__file__).parent / "data" / "vn_outline_ne10m.geojson"
BASE_MARGIN_DEG = 1.5  # neighbours drawn this far around the page's units


def page_classes(present: list[str]) -> tuple[str, ...]:
    """The classes a page knows: GAP_CLASSES, any other class found in the rows, then no_data."""
    other = sorted({c for c in present if c not in CLASSES})
    return (*GAP_CLASSES, *other, "no_data")


def class_colours(classes) -> list[str]:
    others = iter(OTHER_CLASS_GREYS * (1 + len(classes) // len(OTHER_CLASS_GREYS)))
    return [CLASS_COLOURS.get(c) or next(others) for c in classes]


def class_label(cls: str) -> tuple[str, str]:
    """(Vietnamese, English) label; an unknown class is shown by its own name."""
    return CLASS_LABELS.get(cls) or (cls.replace("_", " "), cls.replace("_", " "))


# --------------------------------------------------------------------------------------------
# Units
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
    classes = page_classes(gaps["gap_class"].drop_nulls().unique().to_list())
    cls_pos = {c: k for k, c in enumerate(classes)}
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
            .select(*SHOWN)
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
        "classes": list(classes),
        "colours": class_colours(classes),
        "labels": [list(class_label(c)) for c in classes],
        "sources": [[visible(f), visible(sheet)] for f, sheet in sources],  # text from files
        "provinces": provinces.values.tolist(),
        "geometry": {"sources": counts},
    }
    return props, meta


def coverage_check(
    codes: list[str],
    disagreements: pl.DataFrame | None,
    rejected_sites: int | None,
    quality_href: str | None = None,
) -> dict | None:
    """Where the reported 5G coverage disagrees with the cell sites, as page meta: the page marks
    those units on that indicator's layer (its fill stays the reported value's gap class) and
    says how many cell-site rows were rejected. None when the period has no site check.

    `disagreements`: assets.coverage.compare.coverage_disagreements rows (units not on the page
    are left out); `quality_href`: the quality report, relative to the page."""
    if disagreements is None and rejected_sites is None:
        return None
    pos = {c: k for k, c in enumerate(codes)}
    units = []
    if disagreements is not None:
        rows = disagreements.filter(pl.col("unit_code").is_in(codes)).sort("unit_code")
        for code, reported, computed, diff, tol in rows.select(
            "unit_code", "reported_value", "computed_value", "difference_pp", "tolerance_pp"
        ).iter_rows():
            units.append([pos[code], *(_num(x, 1) for x in (reported, computed, diff, tol))])
    return {
        "indicator": "pop_5g_coverage",  # assets.coverage.compare.INDICATOR
        "units": units,  # [unit index, reported, computed, difference (points), tolerance]
        "rejected": rejected_sites,
        "quality": quality_href,
    }


# --------------------------------------------------------------------------------------------
# Shapes that are not units (dead zones, the base map) on the units' topology
# --------------------------------------------------------------------------------------------


def append_shapes(head: dict, geoms: np.ndarray) -> list[list[list[list[int]]]]:
    """Add the arcs of `geoms` (polygons, no shared edges with the units) to head["arcs"],
    rebased on the units' origin; return each geometry's MultiPolygon arc indexes."""
    zhead, shape_arcs, _ = build_topology(geoms, None)
    units_at = np.rint(np.array(head["transform"]["translate"]) / QUANTUM)
    shapes_at = np.rint(np.array(zhead["transform"]["translate"]) / QUANTUM)
    dx, dy = (int(d) for d in shapes_at - units_at)
    first = len(head["arcs"])
    for arc in zhead["arcs"]:  # delta-encoded: only the first point is absolute
        arc[0] += (dx, dy)
    head["arcs"].extend(zhead["arcs"])

    def ref(r: int) -> int:
        return r + first if r >= 0 else ~(~r + first)

    return [[[[ref(r) for r in ring] for ring in poly] for poly in arcs] for arcs in shape_arcs]


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
        keep, geoms = _overview_zones(zones, geoms, tolerance)
        zones = zones.iloc[keep]
    zone_arcs = append_shapes(head, geoms)
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
                "arcs": arcs,
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


def _overview_zones(
    zones: gpd.GeoDataFrame, geoms: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the zones an overview page draws, and their shapes simplified to
    `tolerance`: remote units' first, then by people, while their estimated encoded size stays
    within OVERVIEW_ZONE_BYTES (the province pages draw every zone). The plans remove dead
    zones in remote areas first. Zones are simplified in that order, as far as the budget
    goes: nationally a few hundred of thousands."""
    remote = np.zeros(len(zones), dtype=bool)
    if "is_remote" in zones:
        remote = zones["is_remote"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    order = np.lexsort((-zones["population"].to_numpy(dtype=float), ~remote))
    taken, shapes, spent, start, step = [], [], 0, 0, 64
    while start < len(order):
        part = order[start : start + step]
        simple = _polygonal(shapely.simplify(geoms[part], tolerance, preserve_topology=True))
        cost = spent + np.cumsum(shapely.get_num_coordinates(simple) * 5 + 60)  # bytes, measured
        fits = int(np.searchsorted(cost, OVERVIEW_ZONE_BYTES, side="right"))
        taken.append(part[:fits])
        shapes.append(simple[:fits])
        if fits < len(part):
            break
        spent, start, step = int(cost[-1]), start + step, step * 2
    keep = np.concatenate(taken) if taken else np.zeros(0, np.int64)
    shapes = np.concatenate(shapes) if shapes else np.zeros(0, dtype=object)
    at = np.argsort(keep)
    return keep[at], shapes[at]


# --------------------------------------------------------------------------------------------
# The base map: neighbours and seas (Natural Earth), province names (the units)
# --------------------------------------------------------------------------------------------


@cache
def _home_outline() -> shapely.MultiPolygon:
    (feature,) = json.loads(HOME_OUTLINE.read_text(encoding="utf-8"))["features"]
    return shapely.geometry.shape(feature["geometry"])


@cache
def _base_features() -> tuple[tuple[dict, shapely.Geometry], ...]:
    """(properties, shape) of the base map's features, parsed once per process."""
    features = json.loads(BASE_LAYER.read_text(encoding="utf-8"))["features"]
    return tuple((f["properties"], shapely.geometry.shape(f["geometry"])) for f in features)


def base_view(bbox: list[float]) -> shapely.Polygon:
    """The extent the base map covers around a page's units."""
    minx, miny, maxx, maxy = bbox
    m = BASE_MARGIN_DEG
    return shapely.box(minx - m, miny - m, maxx + m, maxy + m)


CONTEXT_TOLERANCE = 0.0005  # degrees (~50 m): the provinces drawn around a province page


class ProvinceLands:
    """Each province's land, its units merged after `display` (geo.topology.display_geometry
    or the cache's) made them an edge-matched coverage (so the merge leaves no slivers): built
    once, when a page first asks, for every province page that draws its neighbours.
    `keep(make)`: the lands (an array) as make() returns them, or as a cache kept them;
    `name`: a text naming the context's shapes, provinces and names (None: not cacheable)."""

    def __init__(self, context: gpd.GeoDataFrame, display, keep=None, name=None) -> None:
        self.context, self.display = context, display
        self.keep = keep or (lambda make: make())
        self.name = name  # what the lands are made from, for caches of what they make

    @cached_property
    def lands(self) -> list[tuple[str, str, shapely.Geometry]]:
        """(province code, name, land) of every province."""
        codes = self.context["province_code"].astype(str).to_numpy()
        names = self.context["province_name"].astype(str).to_numpy()
        order = list(dict.fromkeys(codes))

        def make() -> np.ndarray:
            shown = self.display(np.asarray(self.context.geometry.values, dtype=object))
            return np.array(
                [shapely.coverage_union_all(shown[codes == code]) for code in order], dtype=object
            )

        return [
            (code, names[codes == code][0], land)
            for code, land in zip(order, self.keep(make), strict=True)
        ]

    def around(self, own: set[str], view: shapely.Polygon) -> list[tuple[str, shapely.Geometry]]:
        """(name, land in `view`) of the other provinces that reach into `view`."""
        out = []
        for code, name, land in self.lands:
            if code in own or not shapely.intersects(land, view):
                continue
            part = _polygonal(np.array([shapely.intersection(land, view)], dtype=object))[0]
            if not part.is_empty:
                out.append((name, part))
        return out


def base_object(
    head: dict,
    bbox: list[float] | None,
    tolerance: float,
    units_area: float,
    provinces: list[tuple[str, shapely.Geometry]] = (),
) -> tuple[dict | None, list[list]]:
    """The land around the page's units in `bbox` (generalised to `tolerance`, its arcs added to
    head): the neighbouring countries, Vietnam's own outline when the units (`units_area`,
    square degrees) leave most of it undrawn (a province page) and over it the neighbouring
    `provinces` (ProvinceLands.around); with the labels of the provinces, neighbours and seas
    in view ([name_vi, name_en, lon, lat, kind])."""
    if not bbox:
        return None, []
    minx, miny, maxx, maxy = bbox
    view = base_view(bbox)
    page = shapely.box(minx, miny, maxx, maxy)
    names, shapes, labels, home = [], [], [], []
    outline = _home_outline().intersection(view)
    if units_area < 0.5 * outline.area:  # under the provinces: no sea between them and Laos
        names.append(["Việt Nam", "Vietnam"])
        shapes.append(shapely.simplify(outline, tolerance, preserve_topology=True))
        home.append(True)
    for name, land in provinces:
        names.append([name, name])
        shapes.append(land)
        home.append(True)
        in_view = shapely.intersection(land, page)
        if shapely.area(in_view) > 1e-3:
            at = shapely.point_on_surface(max(shapely.get_parts(in_view), key=shapely.area))
            labels.append([name, name, round(at.x, 3), round(at.y, 3), "province"])
    for p, geom in _base_features():
        if p["kind"] == "sea":
            if shapely.contains(view, geom):
                labels.append([p["name_vi"], p["name"], geom.x, geom.y, "sea"])
            continue
        land = _polygonal(np.array([shapely.intersection(geom, view)], dtype=object))[0]
        if land.is_empty:
            continue
        land = shapely.simplify(land, tolerance, preserve_topology=True)
        if land.is_empty:
            continue
        names.append([p["name_vi"], p["name"]])
        shapes.append(land)
        home.append(False)
        in_view = shapely.intersection(land, page)
        if shapely.area(in_view) < 1e-3:  # not on the page's extent: no name
            continue
        at = shapely.point_on_surface(max(shapely.get_parts(in_view), key=shapely.area))
        labels.append([p["name_vi"], p["name"], round(at.x, 3), round(at.y, 3), "country"])
    if not shapes:
        return None, labels
    arcs = append_shapes(head, _polygonal(np.array(shapes, dtype=object)))
    geometries = [
        {"type": "MultiPolygon", "arcs": a, "properties": {"n": n, **({"home": 1} if h else {})}}
        for a, n, h in zip(arcs, names, home, strict=True)
        if a
    ]
    return {"type": "GeometryCollection", "geometries": geometries}, labels


def shift_refs(obj: dict | None, first: int) -> dict | None:
    """A GeometryCollection of MultiPolygons whose arc indexes count from 0, as a new one whose
    indexes count from `first` (its arcs appended after `first` others)."""
    if obj is None:
        return None

    def ref(r: int) -> int:
        return r + first if r >= 0 else ~(~r + first)

    return {
        **obj,
        "geometries": [
            {**g, "arcs": [[[ref(r) for r in ring] for ring in poly] for poly in g["arcs"]]}
            for g in obj["geometries"]
        ],
    }


def province_labels(units: gpd.GeoDataFrame, shown: np.ndarray) -> list[list]:
    """[name, lon, lat] per province, largest first (the page keeps those when names would
    overlap): a point inside its unit nearest the area-weighted centre of its units (cheaper
    than a union, and always on the province's land)."""
    labels = []
    area = shapely.area(shown)
    centres = shapely.get_coordinates(shapely.centroid(shown))
    prov = units["province_code"].astype(str).to_numpy()
    names = units["province_name"].astype(str).to_numpy()
    for code in dict.fromkeys(prov):
        at = np.flatnonzero((prov == code) & (area > 0))
        if not len(at):
            continue
        weights = area[at] / area[at].sum()
        centre = shapely.Point(*(centres[at] * weights[:, None]).sum(axis=0))
        near = at[np.argmin(shapely.distance(shown[at], centre))]
        inside = shapely.contains(shown[near], centre)
        pt = centre if inside else shapely.point_on_surface(shown[near])
        labels.append((-area[at].sum(), [names[at[0]], round(pt.x, 4), round(pt.y, 4)]))
    return [label for _, label in sorted(labels, key=lambda a: a[0])]
