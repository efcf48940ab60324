"""admin_units: the reference table every figure of the lake is joined to (issue 3's contract).

Why one function: the asset, the CLI and the tests must all build exactly the same table from
the same settings — official codes and names, the best geometry available (a boundary file,
else the approximation), and the remoteness flags computed on that geometry — with every
problem met on the way returned, for the quality report and the Dagster run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import polars as pl
import shapely

from geo.boundaries import (
    METRIC_CRS,
    WGS84,
    approximate_geometry,
    check_against_official,
    dissolve_repeated,
    equal_area_km2,
    problems_frame,
    read_boundaries,
)
from geo.remoteness import (
    DEFAULT_BORDER_KM,
    dist_land_border_km,
    dist_province_centre_km,
    is_island,
    is_remote,
    land_border_line,
    read_remote_classes,
)
from geo.units import official_units

#: The columns of admin_units, in order (geometry last, as GeoParquet readers expect).
COLUMNS = (
    "unit_code",
    "unit_name",
    "unit_type",
    "province_code",
    "province_name",
    "area_km2",
    "population",
    "centre_lon",
    "centre_lat",
    "geometry_source",
    "is_border",
    "is_island",
    "dist_land_border_km",
    "dist_province_centre_km",
    "remote_class",
    "is_remote",
    "geometry",
)


def _default_resolver(crosswalk: Path | None) -> Callable[..., Any]:
    from geo.gazetteer import Gazetteer  # heavy, and only needed for names in a class list

    return Gazetteer.from_crosswalk(crosswalk).resolve


def _file_geometry(
    path: Path, code_column: str | None, official: pl.DataFrame
) -> tuple[gpd.GeoDataFrame, list[pl.DataFrame]]:
    """The file's shapes, one per official code present (repeats dissolved), and its problems."""
    boundaries = read_boundaries(path, code_column)
    problems = [check_against_official(boundaries, official)]
    known = boundaries["unit_code"].isin(official["unit_code"].to_list())
    boundaries = dissolve_repeated(boundaries[known])
    names = dict(zip(official["unit_code"], official["unit_name"], strict=True))
    notes = []
    for code in sorted(set(boundaries.attrs.get("repaired", [])) & set(names)):
        notes.append(
            {
                "kind": "geometry_repaired",
                "source": str(path),
                "unit_code": code,
                "unit_name": names[code],
                "message_vi": f"Hình học của {names[code]} ({code}) không hợp lệ; đã sửa.",
                "message_en": f"The geometry of {names[code]} ({code}) was invalid; repaired.",
            }
        )
    empty = boundaries.geometry.is_empty.to_numpy()
    for code in boundaries["unit_code"][empty]:
        notes.append(
            {
                "kind": "empty_geometry",
                "source": str(path),
                "unit_code": code,
                "unit_name": names[code],
                "message_vi": f"{names[code]} ({code}) không có hình học trong tệp; dùng hình "
                "học gần đúng.",
                "message_en": f"{names[code]} ({code}) has no geometry in the file; approximate "
                "geometry is used instead.",
            }
        )
    problems.append(problems_frame(notes))
    return boundaries[~empty], problems


def _fit_into(cells: np.ndarray, official_shapes: np.ndarray) -> np.ndarray:
    """Approximate cells minus the official shapes they overlap (kept whole if nothing is left)."""
    tree = shapely.STRtree(official_shapes)
    out = cells.copy()
    for i, cell in enumerate(cells):
        hits = tree.query(cell, predicate="intersects")
        if len(hits):
            rest = shapely.difference(cell, shapely.union_all(official_shapes[hits]))
            if shapely.area(rest) > 0.05 * shapely.area(cell):
                out[i] = rest
    return out


def build_admin_units(
    boundaries_path: str | Path | None = None,
    code_column: str | None = None,
    remote_classes_path: str | Path | None = None,
    border_km: float = DEFAULT_BORDER_KM,
    resolve_unit: Callable[..., Any] | None = None,
    crosswalk: Path | None = None,
) -> tuple[gpd.GeoDataFrame, pl.DataFrame]:
    """admin_units (one row per official unit, COLUMNS, EPSG:4326) and the problems met.

    Geometry comes from `boundaries_path` when given ("official"), else — and for any unit the
    file lacks — from `approximate_geometry` ("approximate"). Remote classes come from the
    province's CSV at `remote_classes_path`, names resolved by `resolve_unit` (default: the
    gazetteer, with the dvhcvn `crosswalk` when given). Problems (PROBLEM_SCHEMA, polars) list
    codes missing, repeated or unknown in the file, repaired or empty geometries, null official
    areas, unresolved class rows.
    """
    official = official_units()
    codes = official["unit_code"].to_list()
    problems: list[pl.DataFrame] = []
    shapes = np.full(len(codes), None, dtype=object)
    population = np.full(len(codes), np.nan)
    source = np.full(len(codes), "approximate", dtype=object)
    if boundaries_path is not None:
        boundaries, found = _file_geometry(Path(boundaries_path), code_column, official)
        problems.extend(found)
        position = {c: i for i, c in enumerate(codes)}
        index = np.array([position[c] for c in boundaries["unit_code"]], dtype=int)
        shapes[index] = boundaries.geometry.to_numpy()
        population[index] = boundaries["population"].to_numpy(dtype=float)
        source[index] = "official"
    lacking = source == "approximate"
    connected = shapes.copy()  # the shapes that tell which units reach the mainland
    if lacking.any():
        cells = approximate_geometry(official).geometry.to_numpy()[lacking]
        if (~lacking).any():
            cells = _fit_into(cells, shapes[~lacking])
        shapes[lacking] = cells
        # Disc-bounded cells leave gaps between neighbours; the unbounded ones tile the land.
        connected[lacking] = approximate_geometry(official, None).geometry.to_numpy()[lacking]
    geometry = gpd.GeoSeries(shapes, crs=WGS84)

    area = official["area_km2"].to_numpy()
    no_area = ~(area > 0)  # null (NaN) or zero
    measured = equal_area_km2(geometry)
    area = np.where(no_area & ~lacking, measured, np.where(no_area, np.nan, area))
    names, provinces = official["unit_name"].to_list(), official["province_name"].to_list()
    notes = []
    for i in np.flatnonzero(no_area).tolist():
        what_vi = "lấy theo hình học." if not lacking[i] else "để trống."
        what_en = "measured on the geometry." if not lacking[i] else "left empty."
        notes.append(
            {
                "kind": "area_missing",
                "source": "vietnamadminunits",
                "unit_code": codes[i],
                "unit_name": names[i],
                "province_name": provinces[i],
                "message_vi": f"Danh mục chính thức không có diện tích của {names[i]} "
                f"({codes[i]}); {what_vi}",
                "message_en": f"The official list has no area for {names[i]} ({codes[i]}); "
                f"{what_en}",
            }
        )
    problems.append(problems_frame(notes))

    # Snap the border to the file's own frontier; approximate cells are clipped to the Natural
    # Earth outline already, and their disc edges are no frontier.
    metric = geometry.to_crs(METRIC_CRS)  # once, for all the distances below
    border_line = land_border_line(metric[~lacking] if (~lacking).any() else None)
    dist_border = dist_land_border_km(metric, border_line)
    border = dist_border <= border_km
    island = is_island(
        metric if not lacking.any() else gpd.GeoSeries(connected, crs=WGS84).to_crs(METRIC_CRS),
        official["unit_type"].to_list(),
    )
    dist_centre = dist_province_centre_km(
        metric, official["province_centre_lon"], official["province_centre_lat"]
    )
    remote_class = np.full(len(codes), None, dtype=object)
    if remote_classes_path is not None:
        resolver = resolve_unit if resolve_unit is not None else _default_resolver(crosswalk)
        classes, class_problems = read_remote_classes(remote_classes_path, resolver, official)
        problems.append(class_problems)
        position = {c: i for i, c in enumerate(codes)}
        for code, klass in classes.iter_rows():
            remote_class[position[code]] = klass

    units = gpd.GeoDataFrame(
        {
            "unit_code": codes,
            "unit_name": official["unit_name"].to_list(),
            "unit_type": official["unit_type"].to_list(),
            "province_code": official["province_code"].to_list(),
            "province_name": official["province_name"].to_list(),
            "area_km2": area,
            "population": pd.array(
                np.where(np.isnan(population), np.nan, np.round(population)), dtype="Int64"
            ),
            "centre_lon": official["centre_lon"].to_numpy(),
            "centre_lat": official["centre_lat"].to_numpy(),
            "geometry_source": source.astype(str),
            "is_border": border,
            "is_island": island,
            "dist_land_border_km": np.round(dist_border, 3),
            "dist_province_centre_km": np.round(dist_centre, 3),
            "remote_class": pd.array(remote_class, dtype="string"),
            "is_remote": is_remote(border, island, remote_class),
        },
        geometry=geometry,
        crs=WGS84,
    )[list(COLUMNS)]
    return units, pl.concat([p for p in problems if len(p)] or [problems_frame()])
