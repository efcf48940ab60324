"""Each cell site's disc or sector, built in metres in its own UTM zone, projected onto the
grid's CRS (step 1 of the method, see geo.coverage)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyproj
import shapely

from geo.coverage.grid import WGS84

# --------------------------------------------------------------------------------------------
# Site shapes
# --------------------------------------------------------------------------------------------


def _arc_shapes(x, y, radius, azimuth, beamwidth) -> np.ndarray:
    """Discs (azimuth NaN or beam >= 360) and sectors, in the metric CRS x/y are in.

    Azimuth is clockwise from grid north (the UTM zone's own, within 1.5° of true north).
    """
    discs = np.isnan(azimuth) | (beamwidth >= 360)
    out = np.empty(len(x), dtype=object)
    if discs.any():
        out[discs] = shapely.buffer(shapely.points(x[discs], y[discs]), radius[discs], quad_segs=16)
    sec = np.flatnonzero(~discs)
    if len(sec):  # fixed 65 arc points per sector: one vectorised build for all of them
        steps = np.linspace(-0.5, 0.5, 65)
        ang = np.radians(azimuth[sec, None] + beamwidth[sec, None] * steps)
        ring_x = x[sec, None] + radius[sec, None] * np.sin(ang)
        ring_y = y[sec, None] + radius[sec, None] * np.cos(ang)
        apex_x, apex_y = x[sec, None], y[sec, None]
        ring = np.stack(
            [np.hstack([apex_x, ring_x, apex_x]), np.hstack([apex_y, ring_y, apex_y])], axis=-1
        )
        out[sec] = shapely.polygons(ring)
    return out


def site_shapes(sites: pl.DataFrame, crs: str | pyproj.CRS) -> np.ndarray:
    """The coverage shape of each site (a disc or a sector), in `crs`.

    Each shape is built in metres in its site's UTM zone, then projected: the radius is a true
    ground distance whether the grid is in UTM 48N, VN-2000, another zone or lon/lat.
    """
    lon, lat = sites["lon"].to_numpy(), sites["lat"].to_numpy()
    radius = sites["radius_m"].to_numpy()
    azimuth = sites["azimuth_deg"].fill_null(np.nan).to_numpy().astype(float)
    beam = sites["beamwidth_deg"].fill_null(360.0).to_numpy().astype(float)
    target = pyproj.CRS(crs)
    out = np.empty(len(sites), dtype=object)
    zones = np.floor((lon + 180) / 6).astype(int) + 1
    for zone in np.unique(zones):
        sel = zones == zone
        utm = pyproj.CRS(32600 + int(zone) if lat[sel].mean() >= 0 else 32700 + int(zone))
        x, y = pyproj.Transformer.from_crs(WGS84, utm, always_xy=True).transform(lon[sel], lat[sel])
        shapes = _arc_shapes(np.asarray(x), np.asarray(y), radius[sel], azimuth[sel], beam[sel])
        if not utm.equals(target):
            to = pyproj.Transformer.from_crs(utm, target, always_xy=True)
            shapes = shapely.transform(shapes, lambda c, to=to: np.column_stack(to.transform(*c.T)))
        out[sel] = shapes
    return out
