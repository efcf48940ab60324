"""Dead zones as a display layer for the map pages."""

from __future__ import annotations

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
    zones = dead_zones[dead_zones["technology"] == technology]
    info = None
    if units is not None:
        extra = [c for c in _UNIT_INFO if c in units.columns]
        info = units[["unit_code", *extra]].drop_duplicates("unit_code")
    if cache is None:
        return _layer(zones, info, min_population, tolerance_m)
    names = head = None  # the units' names and flags that ride along, every row
    if info is not None:
        head = repr([(c, str(t)) for c, t in info.dtypes.items()])
        names = pd.util.hash_pandas_object(info, index=False).to_numpy().tobytes()
    name = digest(
        "dead zone layer",
        Path(__file__).read_bytes(),  # the code that makes the layer
        pyproj.proj_version_str,  # the reprojections
        zones,
        head,
        names,
        technology,
        min_population,
        tolerance_m,
    )
    return cache.frame(name, lambda: _layer(zones, info, min_population, tolerance_m))


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
