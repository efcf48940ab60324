"""Unit boundaries: read any boundary file, check it against the official list, or approximate.

Why: every figure is drawn on these shapes and the remoteness flags are computed from them, so a
boundary file is read whatever its format, CRS or code column, repaired rather than rejected, and
every code it lacks, repeats or does not know is reported by name instead of dropped. Without a
file the shapes are approximated from the official centre points and areas, so the flow still
runs (and says so: geometry_source "approximate").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import polars as pl
import pyproj
import shapely
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from geo.text import key, unit_code
from geo.units import official_units

WGS84 = "EPSG:4326"
# WGS 84 / UTM 48N: metres for Voronoi cells, discs, buffers and distances. Vietnam spans
# 102–110°E on land (the zone is 102–108°E), so the scale error stays under 0.2% there.
METRIC_CRS = "EPSG:32648"
# Lambert azimuthal equal-area centred on Vietnam, for areas (km²) that do not depend on the zone.
EQUAL_AREA_CRS = "+proj=laea +lat_0=16 +lon_0=106 +datum=WGS84 +units=m +no_defs"
DATA_DIR = Path(__file__).parent / "data"
OUTLINE_FILE = DATA_DIR / "vn_outline_ne10m.geojson"
LAND_BORDER_FILE = DATA_DIR / "vn_land_border_ne10m.geojson"

# Compared through geo.text.key, so "Mã xã", "MA_XA" and "maxa" are all the same column.
CODE_COLUMNS = (
    "unit_code",
    "ma_xa",
    "ma_dvhc",
    "ma_don_vi",
    "ma_phuong_xa",
    "ward_code",
    "commune_code",
    "wardcode",
    "code",
    "ma",
)
NAME_COLUMNS = ("unit_name", "ten_day_du", "ten_don_vi", "ten_xa", "ward_name", "name", "ten")
POPULATION_COLUMNS = ("population", "dan_so", "so_dan", "pop")

#: Columns of every problem list (boundaries, remote classes); one row per problem.
PROBLEM_SCHEMA = {
    "kind": pl.String,
    "source": pl.String,
    "rows": pl.String,
    "unit_code": pl.String,
    "unit_name": pl.String,
    "province_name": pl.String,
    "message_vi": pl.String,
    "message_en": pl.String,
}

# A disc of the official area is the right size only for a round unit centred on its point; real
# units are elongated and their points off-centre, so the bounding disc is widened by this factor
# (the Voronoi cell, not the disc, then decides most edges). Tuned on the real boundaries: see
# tests/geo/test_reference.py.
DISC_FACTOR = 1.5


class BoundaryFileError(ValueError):
    """A boundary file that cannot be used; the message names the file (and column)."""


def problems_frame(rows: Iterable[dict] = ()) -> pl.DataFrame:
    """A problem list with the shared schema (missing keys are null)."""
    rows = [{k: (None if r.get(k) is None else str(r[k])) for k in PROBLEM_SCHEMA} for r in rows]
    return pl.DataFrame(rows, schema=PROBLEM_SCHEMA)


def find_column(columns: Sequence[str], wanted: Sequence[str]) -> str | None:
    """The first of `wanted` among `columns`, compared by geo.text.key (case, accents, _)."""
    by_key: dict[str, str] = {}
    for c in columns:
        by_key.setdefault(key(c), c)
    for w in wanted:
        if key(w) in by_key:
            return by_key[key(w)]
    return None


def normalise_code(value: object) -> str | None:
    """`geo.text.unit_code`, except that anything that is not a code is kept as given
    (stripped), so that the check against the official list reports it as unknown instead of
    it vanishing."""
    code = unit_code(value)
    if code is not None or value is None or (isinstance(value, float) and math.isnan(value)):
        return code
    return str(value).strip() or None


def polygonal(geometry: BaseGeometry | None) -> MultiPolygon:
    """The polygonal parts of a geometry as one MultiPolygon (empty when it has none).

    make_valid turns a bow-tie into two triangles but may also return lines and points from
    collapsed rings; those carry no area and are dropped here.
    """
    if geometry is None:
        return MultiPolygon()
    if geometry.geom_type == "MultiPolygon":
        return geometry
    if geometry.geom_type == "Polygon":
        return MultiPolygon([geometry]) if not geometry.is_empty else MultiPolygon()
    polygons = [
        p
        for part in shapely.get_parts(geometry)
        for p in shapely.get_parts(part)
        if p.geom_type == "Polygon" and not p.is_empty
    ]
    return MultiPolygon(polygons)


def repair(geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Valid MultiPolygons for every geometry; also the mask of those that needed repair."""
    geometries = shapely.force_2d(np.asarray(geometries, dtype=object))  # drop Z/M: maps are 2D
    missing = shapely.is_missing(geometries)
    invalid = ~missing & ~shapely.is_valid(geometries)
    fixed = geometries.copy()
    if invalid.any():
        fixed[invalid] = shapely.make_valid(geometries[invalid])
    out = np.array([polygonal(g) for g in fixed], dtype=object)
    # Polygonal parts of a valid GeometryCollection may touch along an edge: merge them.
    mixed = ~missing & np.array([g is not None and g.geom_type not in _POLYGONAL for g in fixed])
    if mixed.any():
        out[mixed] = [polygonal(shapely.union_all(shapely.get_parts(g))) for g in out[mixed]]
    return out, invalid


_POLYGONAL = ("Polygon", "MultiPolygon")


def _read_any(path: Path) -> gpd.GeoDataFrame:
    if not path.exists():
        raise BoundaryFileError(f"Không tìm thấy tệp ranh giới / boundary file not found: {path}")
    try:
        if path.suffix.lower() in {".parquet", ".geoparquet"}:
            return gpd.read_parquet(path)
        return gpd.read_file(path, engine="pyogrio", use_arrow=True)
    except Exception as exc:  # GDAL, Arrow and geopandas raise many kinds
        raise BoundaryFileError(
            f"Không đọc được tệp ranh giới / cannot read boundary file {path}: {exc}"
        ) from exc


def _to_wgs84(gdf: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        minx, miny, maxx, maxy = gdf.total_bounds
        if -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90:
            return gdf.set_crs(WGS84)
        raise BoundaryFileError(
            f"Tệp {path} không có hệ tọa độ (CRS) và tọa độ không phải kinh độ/vĩ độ / "
            f"{path} has no CRS and its coordinates (bounds {minx:.0f}, {miny:.0f}, "
            f"{maxx:.0f}, {maxy:.0f}) are not longitude/latitude: add a .prj or write the CRS"
        )
    if gdf.crs.equals(pyproj.CRS(WGS84)):
        return gdf
    return gdf.to_crs(WGS84)


def read_boundaries(path: str | Path, code_column: str | None = None) -> gpd.GeoDataFrame:
    """Read a boundary file (GeoParquet, GeoPackage, GeoJSON, Shapefile…) as EPSG:4326.

    Returns one row per feature, in file order, with `unit_code` (zero-padded), `name_in_file`
    (the file's unit name when it has one, for reporting unknown codes), `population` (when
    the file has such a column, else null), `file_row` (1-based feature number) and `geometry`
    (valid MultiPolygon). Repeated and unknown codes are kept: `check_against_official`
    reports them. `attrs["repaired"]` lists the codes whose geometry had to be repaired.
    """
    path = Path(path)
    gdf = _read_any(path)
    if gdf.empty:
        raise BoundaryFileError(f"Tệp ranh giới rỗng / boundary file has no features: {path}")
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    if code_column is not None:
        column = find_column(columns, [code_column])
        if column is None:
            raise BoundaryFileError(
                f"Tệp {path} không có cột mã '{code_column}' / {path} has no code column "
                f"'{code_column}'; columns: {', '.join(columns)}"
            )
    else:
        column = find_column(columns, CODE_COLUMNS)
        if column is None:
            raise BoundaryFileError(
                f"Không tìm thấy cột mã đơn vị trong {path} / no unit-code column found in {path} "
                f"(looked for {', '.join(CODE_COLUMNS)}; columns: {', '.join(columns)}); "
                "name it in the settings"
            )
    gdf = _to_wgs84(gdf, path)
    codes = [normalise_code(v) for v in gdf[column].tolist()]
    name_column = find_column(columns, NAME_COLUMNS)
    names = gdf[name_column].astype("string") if name_column else None
    pop_column = find_column(columns, POPULATION_COLUMNS)
    population = None
    if pop_column:
        population = pl.Series(gdf[pop_column].tolist(), strict=False).cast(
            pl.Float64, strict=False
        )
    geometry, repaired = repair(gdf.geometry.to_numpy())
    if shapely.is_empty(geometry).all():
        raise BoundaryFileError(
            f"Tệp {path} không có vùng (polygon) nào / {path} has no polygons "
            f"(geometry types: {', '.join(sorted(set(gdf.geom_type.dropna())))})"
        )
    out = gpd.GeoDataFrame(
        {
            "unit_code": codes,
            "name_in_file": names.tolist() if names is not None else [None] * len(gdf),
            "population": population.to_numpy() if population is not None else np.nan,
            "file_row": np.arange(1, len(gdf) + 1),
        },
        geometry=gpd.GeoSeries(geometry, crs=WGS84),
    )
    out.attrs.update(
        source=str(path),
        code_column=column,
        has_population=pop_column is not None,
        repaired=[c for c, r in zip(codes, repaired, strict=True) if r],
    )
    return out


def check_against_official(
    boundaries: gpd.GeoDataFrame, official: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The codes the file is missing, repeats, or does not know, each with the unit's name.

    One row per code (PROBLEM_SCHEMA; kind = missing, repeated or unknown, rows = the file's
    feature numbers). Missing units get approximate geometry, repeated ones are dissolved into
    one, unknown ones are left out of admin_units: all of that is said here, for the quality
    report and the Dagster run.
    """
    official = official_units() if official is None else official
    source = boundaries.attrs.get("source")
    names = dict(zip(official["unit_code"], official["unit_name"], strict=True))
    provinces = dict(zip(official["unit_code"], official["province_name"], strict=True))
    in_file = pl.DataFrame(
        {
            "unit_code": boundaries["unit_code"].tolist(),
            "name_in_file": boundaries["name_in_file"].tolist(),
            "file_row": boundaries["file_row"].tolist(),
        },
        schema={"unit_code": pl.String, "name_in_file": pl.String, "file_row": pl.Int64},
    )
    groups = in_file.group_by("unit_code", maintain_order=True).agg(
        pl.col("file_row"), pl.col("name_in_file").drop_nulls().first()
    )
    problems: list[dict] = []
    present = set(groups["unit_code"].to_list())
    for code in official["unit_code"].to_list():
        if code not in present:
            problems.append(
                {
                    "kind": "missing",
                    "source": source,
                    "unit_code": code,
                    "unit_name": names[code],
                    "province_name": provinces[code],
                    "message_vi": f"Tệp ranh giới thiếu {names[code]} ({code}, "
                    f"{provinces[code]}); dùng hình học gần đúng.",
                    "message_en": f"The boundary file lacks {names[code]} ({code}, "
                    f"{provinces[code]}); approximate geometry is used instead.",
                }
            )
    for code, rows, file_name in groups.iter_rows():
        row_text = ", ".join(str(r) for r in rows)
        if code not in names:
            label = file_name or "không tên / no name"
            problems.append(
                {
                    "kind": "unknown",
                    "source": source,
                    "rows": row_text,
                    "unit_code": code,
                    "unit_name": file_name,
                    "message_vi": f"Mã {code!r} ({label}, dòng {row_text}) không có trong danh "
                    "mục đơn vị hành chính chính thức; không đưa vào admin_units.",
                    "message_en": f"Code {code!r} ({label}, feature {row_text}) is not in the "
                    "official list of units; left out of admin_units.",
                }
            )
        elif len(rows) > 1:
            problems.append(
                {
                    "kind": "repeated",
                    "source": source,
                    "rows": row_text,
                    "unit_code": code,
                    "unit_name": names[code],
                    "province_name": provinces[code],
                    "message_vi": f"{names[code]} ({code}) xuất hiện {len(rows)} lần trong tệp "
                    f"ranh giới (dòng {row_text}); đã gộp thành một.",
                    "message_en": f"{names[code]} ({code}) appears {len(rows)} times in the "
                    f"boundary file (features {row_text}); dissolved into one.",
                }
            )
    return problems_frame(problems)


def dissolve_repeated(boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per code: the shapes of a repeated code are unioned into one.

    Populations of the pieces are summed, unless they are all equal (the same feature written
    twice), when the one value is kept.
    """
    counts = boundaries["unit_code"].value_counts()
    repeated = boundaries["unit_code"].isin(counts.index[counts > 1])
    if not repeated.any():
        return boundaries
    merged = []
    for code, group in boundaries[repeated].groupby("unit_code", sort=False):
        pop = group["population"]
        merged.append(
            {
                "unit_code": code,
                "name_in_file": group["name_in_file"].dropna().iloc[0]
                if group["name_in_file"].notna().any()
                else None,
                "population": (pop.iloc[0] if pop.nunique() == 1 else pop.sum())
                if pop.notna().any()
                else np.nan,
                "file_row": int(group["file_row"].min()),
                "geometry": polygonal(shapely.union_all(group.geometry.to_numpy())),
            }
        )
    out = _concat(boundaries[~repeated], gpd.GeoDataFrame(merged, crs=boundaries.crs))
    out.attrs = dict(boundaries.attrs)
    return out


def _concat(*frames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


@cache
def national_outline() -> MultiPolygon:
    """Vietnam's land outline (Natural Earth 1:10m, committed under geo/data), EPSG:4326."""
    return polygonal(shapely.union_all(gpd.read_file(OUTLINE_FILE).geometry.to_numpy()))


@cache
def land_border() -> gpd.GeoDataFrame:
    """Vietnam's land border with China, Laos and Cambodia (Natural Earth 1:10m), EPSG:4326."""
    return gpd.read_file(LAND_BORDER_FILE)


def filled_areas(official: pl.DataFrame) -> pl.Series:
    """Official areas (km²); a null or zero one (four units) takes its province's median."""
    area = pl.when(pl.col("area_km2") > 0).then(pl.col("area_km2"))
    return official.select(
        area.fill_null(area.median().over("province_code")).alias("area_km2")
    ).to_series()


def _metric_points(official: pl.DataFrame) -> np.ndarray:
    to_metric = pyproj.Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True)
    x, y = to_metric.transform(official["centre_lon"].to_numpy(), official["centre_lat"].to_numpy())
    return shapely.points(x, y)


def approximate_geometry(
    official: pl.DataFrame | None = None,
    disc_factor: float | None = DISC_FACTOR,
    outline: BaseGeometry | None = None,
) -> gpd.GeoDataFrame:
    """Approximate cells for the units, from the official centre points and areas.

    Each unit gets the Voronoi cell of its centre (nearest centre wins, which splits the land
    between neighbours fairly), bounded by a disc of `disc_factor` × the radius of a circle of
    its official area (so a unit with few neighbours does not spread over half a province), and
    clipped to the national outline (Natural Earth). A unit whose centre lies outside that
    coarse outline (small islands, special zones such as Bạch Long Vĩ, Hoàng Sa, Trường Sa) is
    kept as its own disc of its area instead. A null or zero area takes the province's median.
    `disc_factor=None` leaves the cells unbounded (a partition of the outline: used to tell
    which units are connected to the mainland).
    Returns unit_code and geometry (MultiPolygon, EPSG:4326), in the order of `official`.
    """
    official = official_units() if official is None else official
    outline_wgs = national_outline() if outline is None else outline
    points = _metric_points(official)
    area_m2 = filled_areas(official).to_numpy() * 1e6
    radius = np.sqrt(area_m2 / np.pi)
    extent = shapely.buffer(shapely.envelope(shapely.multipoints(points)), 500_000)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=extent, ordered=True)
    )
    if len(cells) != len(points):  # only when two centres coincide
        raise ValueError("two units share a centre point; cannot build Voronoi cells")
    outline_m = gpd.GeoSeries([outline_wgs], crs=WGS84).to_crs(METRIC_CRS).iloc[0]
    shapely.prepare(outline_m)
    inside = shapely.contains(outline_m, points)
    if disc_factor is None:
        cells[~inside] = shapely.intersection(
            cells[~inside], shapely.buffer(points[~inside], radius[~inside], quad_segs=16)
        )
    else:
        factor = np.where(inside, disc_factor, 1.0)
        cells = shapely.intersection(cells, shapely.buffer(points, factor * radius, quad_segs=16))
    # Clip to the outline only the cells that cross it (most lie wholly inside).
    crossing = inside & ~shapely.contains(outline_m, cells)
    cells[crossing] = shapely.intersection(cells[crossing], outline_m)
    cells[crossing] = [
        _part_around(c, p) for c, p in zip(cells[crossing], points[crossing], strict=True)
    ]
    geometry, _ = repair(gpd.GeoSeries(cells, crs=METRIC_CRS).to_crs(WGS84).to_numpy())
    return gpd.GeoDataFrame(
        {"unit_code": official["unit_code"].to_list()},
        geometry=gpd.GeoSeries(geometry, crs=WGS84),
    )


def _part_around(cell: BaseGeometry, point: BaseGeometry) -> BaseGeometry:
    # Clipping a coastal cell can leave slivers on nearby islands; keep the part holding the
    # centre, plus any part at least a tenth of it (an island that belongs to the unit).
    parts = shapely.get_parts(cell)
    if len(parts) <= 1:
        return cell
    main = next((p for p in parts if p.contains(point)), max(parts, key=lambda p: p.area))
    return shapely.union_all([p for p in parts if p is main or p.area >= 0.1 * main.area])


def equal_area_km2(geometries: gpd.GeoSeries) -> np.ndarray:
    """Areas in km² (Lambert azimuthal equal-area centred on Vietnam)."""
    return geometries.to_crs(EQUAL_AREA_CRS).area.to_numpy() / 1e6
