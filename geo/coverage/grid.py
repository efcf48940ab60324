"""The population grid a coverage is computed on: a GeoTIFF read window by window, or each
unit's population spread evenly over its area on a 100 m grid (see geo.coverage)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import rasterio
import rasterio.features
import rasterio.windows
from affine import Affine

WGS84 = "EPSG:4326"
FALLBACK_CRS = "EPSG:32648"  # WGS 84 / UTM 48N: metric, and what geo.boundaries measures in
FALLBACK_RESOLUTION_M = 100.0


# --------------------------------------------------------------------------------------------
# Population grid
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PopulationGrid:
    """The grid the computation runs on: a GeoTIFF's, or an even grid when there is none.

    `path` None means no population raster: units' populations are spread evenly over them.
    """

    crs: pyproj.CRS
    transform: Affine
    width: int
    height: int
    path: str | None = None
    band: int = 1

    @classmethod
    def from_geotiff(cls, path: str | Path, band: int = 1) -> PopulationGrid:
        with rasterio.open(path) as src:
            t = src.transform
            if t.b != 0 or t.d != 0 or t.e >= 0:
                raise ValueError(f"{path}: only north-up, unrotated grids are supported")
            if src.crs is None:
                raise ValueError(f"{path}: the population grid has no CRS")
            return cls(pyproj.CRS(src.crs.to_wkt()), t, src.width, src.height, str(path), band)

    @classmethod
    def even(
        cls,
        units: gpd.GeoDataFrame,
        resolution_m: float = FALLBACK_RESOLUTION_M,
        crs: str = FALLBACK_CRS,
    ) -> PopulationGrid:
        """A grid aligned on multiples of `resolution_m`, covering the units."""
        x0, y0, x1, y1 = units.to_crs(crs).total_bounds
        r = float(resolution_m)
        left, top = math.floor(x0 / r) * r, math.ceil(y1 / r) * r
        width = max(1, math.ceil((x1 - left) / r))
        height = max(1, math.ceil((top - y0) / r))
        return cls(pyproj.CRS(crs), Affine(r, 0, left, 0, -r, top), width, height)

    @property
    def is_even(self) -> bool:
        return self.path is None

    def window(self, bounds: tuple[float, float, float, float]) -> rasterio.windows.Window | None:
        """The grid-aligned window covering `bounds` (grid CRS), clipped; None if outside."""
        inv = ~self.transform
        cols, rows = zip(
            *(inv @ (x, y) for x in (bounds[0], bounds[2]) for y in (bounds[1], bounds[3])),
            strict=True,
        )
        c0, c1 = max(0, math.floor(min(cols))), min(self.width, math.ceil(max(cols)))
        r0, r1 = max(0, math.floor(min(rows))), min(self.height, math.ceil(max(rows)))
        if c1 <= c0 or r1 <= r0:
            return None
        return rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)

    def read(self, window: rasterio.windows.Window) -> np.ndarray | None:
        """People per cell in the window (nodata, NaN and negatives as 0); None for an even grid."""
        if self.path is None:
            return None
        with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"), rasterio.open(self.path) as src:
            data = src.read(self.band, window=window, out_dtype="float32")
            nodata = src.nodatavals[self.band - 1]
        bad = ~np.isfinite(data) | (data < 0)
        if nodata is not None and np.isfinite(nodata):
            bad |= data == nodata
        data[bad] = 0
        return data

    def row_area_m2(self, window: rasterio.windows.Window) -> np.ndarray:
        """Area of one cell in each row of the window, m² (geodesic rows for lon/lat grids)."""
        a, e = self.transform.a, self.transform.e
        if self.crs.is_projected:
            factor = self.crs.axis_info[0].unit_conversion_factor
            return np.full(int(window.height), abs(a * e) * factor**2)
        geod = pyproj.Geod(ellps="WGS84")
        top = self.transform.f + e * window.row_off
        out = np.empty(int(window.height))
        for i in range(int(window.height)):
            y0, y1 = top + e * i, top + e * (i + 1)
            area, _ = geod.polygon_area_perimeter([0, a, a, 0], [y0, y0, y1, y1])
            out[i] = abs(area)
        return out
