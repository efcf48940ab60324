"""The planners' map page: one self-contained, offline HTML page per period (and per province).

Why: planners read these maps on government intranets with no Internet, on ordinary laptops, and
decide from them where money and equipment go. So the page loads nothing from a CDN (Leaflet is
inlined from the django-js-lib-leaflet package; the base map is Natural Earth land shipped in
geo/data, no tile layer), it stays light at national scale (3,321 units × 9 indicators in a few MB) and it draws in
a couple of seconds.

How the page is kept light: the unit polygons are cleaned into an edge-matched coverage and
simplified with `shapely.coverage_simplify` (neighbours keep one shared edge, no slivers), then
written ONCE as a TopoJSON topology: every shared edge is a single delta-encoded arc of integer
coordinates (5 decimals), referenced by both neighbours and by the province outlines; each arc
is written as a string (geo.topology.encode_arcs: a third of the JSON arrays' size). The page
decodes it with a few lines of JS (no library), and builds one Leaflet layer per indicator from the
same decoded coordinates, styled by each unit's gap class. The lake keeps full precision: the input
frame is never modified.

The embedded data (`<script type="application/json" id="dxlake-map-data">`), compact keys:

    {"type": "Topology", "transform": {"scale": [1e-5, 1e-5], "translate": [x0, y0]},
     "arcs": ["<x y dx dy ... as zigzag varints, geo.topology.encode_arcs>", ...],
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
     "meta": {"title", "period", "indicators", "classes", "colours", "labels", "sources", "provinces",
              "geometry", "bbox", "baseLabels", "provinceLabels",
              "deadZones": {"technology", "count", "population", "total", "totalPopulation"}
              (only with dead zones; an overview page draws `count` of `total`)}}

Dead zones (vùng lõm sóng, from geo.coverage.dead_zone_layer) are a toggleable overlay: their
own arcs in the same topology (same quantization), a unit index instead of repeated names.
The base map ("base": neighbouring countries, and Vietnam's outline on a province page) is
another object on the same arcs; meta.baseLabels and meta.provinceLabels place the names.

Where things are: geo.topology (display geometry, arcs, the cache), geo.page_data (the units'
figures, classes, dead zones, base map), geo.page with geo/templates/map.html.j2 and
geo/static/map.{js,css} (the HTML); this module puts them together.

Text from reports (names, file names) is only ever put in the page through `textContent`, with
its control and bidi characters shown as markers (schemas.display), and the JSON is escaped so
that `</script>` inside a string cannot close its script tag.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import shapely

from geo.page import json_for_script, render_page
from geo.page_data import (
    CLASS_COLOURS,
    CLASS_LABELS,
    CLASSES,
    CONTEXT_TOLERANCE,
    GEOMETRY_SOURCES,
    OTHER_CLASS_GREYS,
    OVERVIEW_ZONE_BYTES,
    UNIT_COLUMNS,
    ZONE_DETAIL_DEG,
    ProvinceLands,
    _dead_zone_object,
    _unit_properties,
    base_object,
    base_view,
    coverage_check,
    province_labels,
    shift_refs,
)
from geo.text import fold
from geo.topology import (
    QUANTUM,
    SNAP,
    GeometryCache,
    auto_tolerance,
    build_topology,
    display_geometry,
    encode_arcs,
)
from schemas.catalogue import Catalogue
from schemas.lake import digest, write_bytes

log = logging.getLogger(__name__)

__all__ = [
    "render_map_page",
    "render_province_pages",
    "province_pages",
    "prepare_units",
    "display_geometry",
    "build_topology",
    "auto_tolerance",
    "GeometryCache",
    "CLASS_COLOURS",
    "CLASS_LABELS",
    "CLASSES",
    "GEOMETRY_SOURCES",
    "OTHER_CLASS_GREYS",
    "OVERVIEW_ZONE_BYTES",
    "QUANTUM",
    "SNAP",
    "UNIT_COLUMNS",
    "ZONE_DETAIL_DEG",
    "json_for_script",
]


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
    dead_zones: gpd.GeoDataFrame | Callable[[], gpd.GeoDataFrame] | None = None,
    cache: GeometryCache | None = None,
    context: gpd.GeoDataFrame | ProvinceLands | None = None,
    coverage: dict | None = None,
    dead_zones_key: str | None = None,
) -> Path:
    """Write one self-contained offline map page (a layer per indicator) and return its path.

    units: the admin units (COVERAGE contract's unit fields + geometry, geometry_source and the
    remote flags); gaps: COVERAGE_GAPS rows for those units. `tolerance` (degrees) defaults to
    `auto_tolerance` of the units' extent; `clean` snaps the polygons into an edge-matched
    coverage first (slower by a few seconds nationally, smaller page, no slivers).
    `dead_zones`: a geo.coverage.dead_zone_layer frame, drawn as a toggleable overlay (those of
    the page's units); None or empty: no such overlay. `cache`: display geometry and topology
    reused from an earlier run with the same boundaries. `context`: all the units (admin_units),
    whose provinces around the page's own are drawn, with their names, on its base map; for
    many pages, their `province_lands`, built once.
    `coverage`: the arguments of geo.page_data.coverage_check after the codes (disagreements,
    rejected_sites, quality_href): the units whose reported 5G coverage the sites contradict.
    `dead_zones_key`: a hash of `dead_zones` the caller already has (the overlay is kept in
    `cache` under it); without it they are hashed here. With it, `dead_zones` may be a function
    that returns them, called only if the overlay is not in `cache` (the zones' shapes are
    read only to draw it).
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
    codes = [p["c"] for p in props]
    check = coverage_check(codes, **coverage) if coverage else None
    if check is not None:
        meta["coverage"] = check
    if callable(dead_zones) and (cache is None or not dead_zones_key):
        dead_zones = dead_zones()  # no overlay to look up by their key
    if cache is None or dead_zones is None or (not callable(dead_zones) and len(dead_zones) == 0):
        zones, zones_meta = _dead_zone_object(dead_zones, codes, head, tol)
    else:  # the same zones on the same units: the same overlay (nationally, seconds to simplify)
        zones_key = dead_zones_key or digest(dead_zones)
        load = dead_zones if callable(dead_zones) else lambda: dead_zones
        name = repr((head["transform"], tol, zones_key, "|".join(codes)))
        made, arcs = cache.arcs(
            f"dead zones {name}",
            lambda: _own_arcs(lambda h: _dead_zone_object(load(), codes, h, tol), head),
        )
        zones, zones_meta = shift_refs(made[0], len(head["arcs"])), made[1]
        head["arcs"].extend(arcs)
    if zones is not None:
        objects["deadZones"] = zones
        meta["deadZones"] = zones_meta
    units_area = float(shapely.area(shown).sum())
    if context is not None and meta["bbox"] and not isinstance(context, ProvinceLands):
        context = province_lands(context, cache)

    def make_base(head: dict) -> tuple[dict | None, list]:
        around = []
        if context is not None and meta["bbox"]:
            around = context.around(set(prov_codes), base_view(meta["bbox"]))
        return base_object(head, meta["bbox"], 3 * tol, units_area, around)

    lands = context.name if isinstance(context, ProvinceLands) else None
    if cache is None or (context is not None and lands is None):
        base, meta["baseLabels"] = make_base(head)
    else:  # the same units and provinces around: the same base map, on arcs counted from 0
        name = repr((key, feat_prov.tobytes(), offset, tol, units_area, meta["bbox"], lands))
        made, arcs = cache.arcs(f"base {name}", lambda: _own_arcs(make_base, head))
        base, meta["baseLabels"] = shift_refs(made[0], len(head["arcs"])), made[1]
        head["arcs"].extend(arcs)
    if base is not None:
        objects["base"] = base
    if len(meta["provinces"]) > 1:
        meta["provinceLabels"] = province_labels(units, shown)
    topology = {**head, "arcs": encode_arcs(head["arcs"]), "objects": objects, "meta": meta}

    page = render_page(title=title, period=period, data=topology)
    out_path = Path(out_path)
    write_bytes(out_path, page.encode("utf-8"))
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


def _own_arcs(make, head: dict) -> tuple[object, list]:
    """make() on a copy of `head` with no arcs yet: (its result, the arcs it added)."""
    own = {**head, "arcs": []}
    return make(own), own["arcs"]


def province_lands(units: gpd.GeoDataFrame, cache: GeometryCache | None = None) -> ProvinceLands:
    """The provinces' land around province pages, from all the units, built once for them all."""
    units = prepare_units(units)
    if cache is not None:
        geoms = np.asarray(units.geometry.values, dtype=object)
        codes = "|".join(units["province_code"].astype(str))
        name = f"province lands {cache.key(geoms, CONTEXT_TOLERANCE, True)} {codes}"
        names = "|".join(units["province_name"].astype(str))
        return ProvinceLands(
            units,
            lambda g: cache.display(g, CONTEXT_TOLERANCE, True)[1],
            lambda make: cache.shapes(name, make),
            f"{name} {names}",
        )
    return ProvinceLands(units, lambda g: display_geometry(g, CONTEXT_TOLERANCE))


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
    around = province_lands(units, cache)
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
            context=around,
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
