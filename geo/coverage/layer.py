"""Dead zones as a display layer for the map pages."""

from __future__ import annotations

import geopandas as gpd

from geo.coverage.grid import FALLBACK_CRS, WGS84

# --------------------------------------------------------------------------------------------
# Map layer
# --------------------------------------------------------------------------------------------


def dead_zone_layer(
    dead_zones: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame | None = None,
    technology: str = "5G",
    min_population: float = 1.0,
    tolerance_m: float = 25.0,
) -> gpd.GeoDataFrame:
    """Dead zones of one technology as a display layer for geo/maps.py (EPSG:4326).

    One feature per zone with at least `min_population` people, cell staircases smoothed by a
    topology-preserving simplification (`tolerance_m`, metres); with `units` (admin_units), the
    unit's name, province name and remote flag ride along for tooltips. Largest zones first.
    """
    layer = dead_zones[
        (dead_zones["technology"] == technology) & (dead_zones["population"] >= min_population)
    ].copy()
    if len(layer):
        metric = layer.geometry.to_crs(FALLBACK_CRS).simplify(tolerance_m)
        layer = layer.set_geometry(metric.to_crs(WGS84).make_valid())
    if units is not None:
        extra = [c for c in ("unit_name", "province_name", "is_remote") if c in units.columns]
        info = units[["unit_code", *extra]].drop_duplicates("unit_code")
        layer = layer.merge(info, on="unit_code", how="left")
    layer["population"] = layer["population"].round(1)
    layer["area_km2"] = layer["area_km2"].round(4)
    return layer.sort_values("population", ascending=False).reset_index(drop=True)
