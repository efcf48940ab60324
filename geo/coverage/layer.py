"""Dead zones as a display layer for the map pages."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyproj

from geo.coverage.grid import FALLBACK_CRS, WGS84
from geo.topology import GeometryCache
from schemas.lake import digest

# --------------------------------------------------------------------------------------------
# Map layer
# --------------------------------------------------------------------------------------------

_UNIT_INFO = ("unit_name", "province_name", "is_remote")  # carried along for the tooltips


def dead_zone_layer(
    dead_zones: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame | None = None,
    technology: str = "5G",
    min_population: float = 1.0,
    tolerance_m: float = 25.0,
    cache: GeometryCache | None = None,
) -> gpd.GeoDataFrame:
    """Dead zones of one technology as a display layer for geo/maps.py (EPSG:4326).

    One feature per zone with at least `min_population` people, cell staircases smoothed by a
    topology-preserving simplification (`tolerance_m`, metres); with `units` (admin_units), the
    unit's name, province name and remote flag ride along for tooltips. Largest zones first.
    `cache`: the layer kept there, read back while the zones and the units' names are the same
    (nationally the smoothing takes seconds; the zones change only with a coverage rerun, not
    when a commune resubmits its figures).
    """
    if cache is not None:
        return cached_dead_zone_layer(
            dead_zones, units, technology, min_population, tolerance_m, cache
        )[1]()
    zones = dead_zones[dead_zones["technology"] == technology]
    return _layer(zones, _unit_info(units), min_population, tolerance_m)


def cached_dead_zone_layer(
    dead_zones: gpd.GeoDataFrame | bytes,
    units: gpd.GeoDataFrame | None,
    technology: str,
    min_population: float,
    tolerance_m: float,
    cache: GeometryCache,
) -> tuple[str, Callable[[], gpd.GeoDataFrame]]:
    """(name, layer): dead_zone_layer's name in `cache`, and a function that returns the layer
    (read back, or made and kept, once). `dead_zones` may be the table's GeoParquet file as
    bytes: named by those bytes, decoded only if the layer must be made. Why: a publish after a
    commune resubmitted has the same zones, and most pages keep their overlay (0.5 s nationally
    to decode the zones and read the layer back for nothing)."""
    info = _unit_info(units)
    names = head = None  # the units' names and flags that ride along, every row
    if info is not None:
        head = repr([(c, str(t)) for c, t in info.dtypes.items()])
        names = pd.util.hash_pandas_object(info, index=False).to_numpy().tobytes()
    name = digest(
        "dead zone layer",
        Path(__file__).read_bytes(),  # the code that makes the layer
        pyproj.proj_version_str,  # the reprojections
        dead_zones,  # every technology's: a frame by its rows, a file by its bytes
        head,
        names,
        technology,
        min_population,
        tolerance_m,
    )

    def make() -> gpd.GeoDataFrame:
        zones = dead_zones
        if isinstance(zones, bytes):
            zones = gpd.read_parquet(io.BytesIO(zones))
        zones = zones[zones["technology"] == technology]
        return _layer(zones, info, min_population, tolerance_m)

    return name, functools.cache(lambda: cache.frame(name, make))


def _unit_info(units: gpd.GeoDataFrame | None) -> pd.DataFrame | None:
    if units is None:
        return None
    extra = [c for c in _UNIT_INFO if c in units.columns]
    return units[["unit_code", *extra]].drop_duplicates("unit_code")


def _layer(
    zones: gpd.GeoDataFrame, info: pd.DataFrame | None, min_population: float, tolerance_m: float
) -> gpd.GeoDataFrame:
    layer = zones[zones["population"] >= min_population].copy()
    if len(layer):
        metric = layer.geometry.to_crs(FALLBACK_CRS).simplify(tolerance_m)
        layer = layer.set_geometry(metric.to_crs(WGS84).make_valid())
    if info is not None:
        layer = layer.merge(info, on="unit_code", how="left")
    layer["population"] = layer["population"].round(1)
    layer["area_km2"] = layer["area_km2"].round(4)
    return layer.sort_values("population", ascending=False).reset_index(drop=True)
