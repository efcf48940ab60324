"""geo.coverage on hand-built grids whose covered population is known exactly.

The grid is 10 × 10 cells of 100 m in UTM 48N (EPSG:32648) with its corner at x=500 000,
y=1 800 000: cell centres sit at 50, 150, … m from the corner, so which centres a disc covers
is plain arithmetic. Sites are given in lon/lat, as operators send them.
"""

import geopandas as gpd
import numpy as np
import polars as pl
import pyproj
import pytest
import rasterio
import rasterio.features
import shapely
from rasterio.transform import from_origin

from assets.ingest.sites import SITE_SCHEMA
from geo.coverage import (
    CoverageOptions,
    compute_coverage,
    dead_zone_layer,
    rasterize_union,
    site_shapes,
)

X0, Y0 = 500_000.0, 1_800_000.0  # grid corner (south-west), metres
CRS = "EPSG:32648"
TO_LONLAT = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def sites(*rows: dict) -> pl.DataFrame:
    """Sites at local metres (x, y) from the grid corner, as a SITE_SCHEMA frame."""
    out = []
    for i, r in enumerate(rows):
        lon, lat = TO_LONLAT.transform(X0 + r["x"], Y0 + r["y"])
        out.append(
            {
                "operator": "Test",
                "site_id": f"s{i}",
                "technology": r.get("tech", "5G"),
                "lat": lat,
                "lon": lon,
                "radius_m": float(r["r"]),
                "azimuth_deg": r.get("az"),
                "beamwidth_deg": r.get("bw"),
                "source_row": i + 2,
            }
        )
    return pl.DataFrame(out, schema=SITE_SCHEMA)


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def units(*rows: tuple) -> gpd.GeoDataFrame:
    """(code, province, geometry[, population]) rows, in the grid's CRS so that boundaries sit
    exactly where the test says (admin_units come in EPSG:4326; any CRS is accepted)."""
    return gpd.GeoDataFrame(
        {
            "unit_code": [r[0] for r in rows],
            "province_code": [r[1] for r in rows],
            "population": [r[3] if len(r) > 3 else None for r in rows],
        },
        geometry=[r[2] for r in rows],
        crs=CRS,
    )


def row(result, code: str, tech: str = "5G") -> dict:
    return result.table.filter((pl.col("unit_code") == code) & (pl.col("technology") == tech)).row(
        0, named=True
    )


NO_ZONES = CoverageOptions(dead_zones=False)


def exact(value: float):
    """The known answer, to the single precision exactextract keeps cell fractions in."""
    return pytest.approx(value, rel=1e-6, abs=1e-9)


def test_a_cell_cut_by_a_unit_boundary_counts_by_its_fraction(grid):
    # Unit line at x=530 m cuts column 5 (500–600 m) 30/70. A disc of 240 m at (500, 500)
    # covers the 16 centres at ±50/±150 m: columns 3–4 (8 cells) in A, 5–6 (8 cells) cut.
    u = units(("00001", "01", box(0, 0, 530, 1000)), ("00002", "01", box(530, 0, 1000, 1000)))
    res = compute_coverage(u, sites({"x": 500, "y": 500, "r": 240}), grid(), options=NO_ZONES)
    a, b = row(res, "00001"), row(res, "00002")
    assert a["population"] == exact(530.0)  # 50 whole cells + 10 × 0.3
    assert b["population"] == exact(470.0)
    assert a["population_covered"] == exact(10 * (8 + 4 * 0.3))  # 92
    assert b["population_covered"] == exact(10 * (4 * 0.7 + 4))  # 68
    assert a["share_covered"] == exact(92 / 530 * 100)
    assert a["area_km2"] == exact(0.53)
    assert a["area_covered_km2"] == exact(0.092)
    assert b["area_covered_km2"] == exact(0.068)
    assert a["population_source"] == "grid"


def test_a_cell_partly_outside_every_unit_keeps_its_people_in_its_unit(grid):
    # The coast at x=530 m: column 5 is 30 % land (unit A), 70 % sea. Its 10 people per cell
    # live on the land part, so A has 50 whole cells and 10 coastal cells: 600 people, while
    # its area counts only the land (0.53 km²). The disc covers columns 3–4 and 5–6 (centres).
    u = units(("00001", "01", box(0, 0, 530, 1000)))
    res = compute_coverage(u, sites({"x": 500, "y": 500, "r": 240}), grid(), options=NO_ZONES)
    a = row(res, "00001")
    assert a["population"] == exact(600.0)
    assert a["area_km2"] == exact(0.53)
    assert a["population_covered"] == exact(10 * (8 + 4))  # 4 coastal cells whole: 120
    assert a["share_covered"] == exact(120 / 600 * 100)


def test_two_overlapping_sites_count_their_overlap_once(grid):
    # 150 m discs centred on cells (350, 550) and (450, 550) cover 3×3 blocks each, sharing
    # 6 cells: the union is 12 cells (120 people), not 18.
    u = units(("00001", "01", box(0, 0, 1000, 1000)))
    two = sites({"x": 350, "y": 550, "r": 150}, {"x": 450, "y": 550, "r": 150})
    res = compute_coverage(u, two, grid(), options=NO_ZONES)
    assert row(res, "00001")["population_covered"] == exact(120.0)
    assert row(res, "00001")["area_covered_km2"] == exact(0.12)


def test_a_site_near_a_province_border_covers_both_sides(grid):
    # A 250 m disc at (450, 550), in province 01, covers 21 centres: 13 west of x=500 and 8 in
    # province 02. Province 02 alone, its own window, still gets the 8.
    u = units(("00001", "01", box(0, 0, 500, 1000)), ("00002", "02", box(500, 0, 1000, 1000)))
    one = sites({"x": 450, "y": 550, "r": 250})
    path = grid()
    for by_province in (True, False):
        res = compute_coverage(u, one, path, by_province=by_province, options=NO_ZONES)
        assert row(res, "00001")["population_covered"] == exact(130.0)
        assert row(res, "00002")["population_covered"] == exact(80.0)
    only = compute_coverage(u, one, path, provinces=["02"], options=NO_ZONES)
    assert only.table["unit_code"].to_list() == ["00002"]
    assert row(only, "00002")["population_covered"] == exact(80.0)


def test_overlapping_unit_polygons_count_nobody_twice(grid):
    # A (0–650 m) and B (550–1000 m) overlap on 100 m: column 5 is A's whole and half B's,
    # column 6 half A's and whole B's. The lower code keeps the overlap: B gets column 6's
    # other half and columns 7–9. Everyone (1000 people) is counted exactly once.
    u = units(("00001", "01", box(0, 0, 650, 1000)), ("00002", "02", box(550, 0, 1000, 1000)))
    res = compute_coverage(u, sites({"x": 500, "y": 500, "r": 5000}), grid(), options=NO_ZONES)
    assert row(res, "00001")["population"] == exact(650.0)
    assert row(res, "00002")["population"] == exact(350.0)
    assert res.table["population"].sum() == exact(1000.0)
    assert row(res, "00002")["area_km2"] == exact(0.35)
    # The same with the units given in the other order: the rule is the code, not the order.
    rev = compute_coverage(
        u.iloc[::-1], sites({"x": 500, "y": 500, "r": 5000}), grid(), options=NO_ZONES
    )
    assert row(rev, "00002")["population"] == exact(350.0)


def test_a_province_window_keeps_the_overlap_rule_of_national_ranks(grid):
    # Ten units of province 01 far off the grid rank between the two overlapping units; in
    # each window only those two take part, national ranks 1 and 12 for two units. The
    # overlap still goes to the lower code, as in one window.
    far = [(f"{i:05d}", "01", box(50_000 + i * 10, 0, 50_005 + i * 10, 5)) for i in range(2, 12)]
    u = units(
        ("00001", "02", box(0, 0, 650, 1000)),
        *far,
        ("00012", "03", box(550, 0, 1000, 1000)),
    )
    s = sites({"x": 500, "y": 500, "r": 5000})
    for by_province in (True, False):
        res = compute_coverage(u, s, grid(), by_province=by_province, options=NO_ZONES)
        assert row(res, "00001")["population"] == exact(650.0)
        assert row(res, "00012")["population"] == exact(350.0)


def test_a_sector_covers_only_its_beam(grid):
    # 240 m at (500, 500) facing east with a 100° beam (bearings 40°–140°): of the disc's 16
    # centres, those east with |dy| <= dx: (50, ±50), (150, ±50), (150, ±150) — 6 cells.
    u = units(("00001", "01", box(0, 0, 1000, 1000)))
    sector = sites({"x": 500, "y": 500, "r": 240, "az": 90.0, "bw": 100.0})
    res = compute_coverage(u, sector, grid(), options=NO_ZONES)
    assert row(res, "00001")["population_covered"] == exact(60.0)
    omni = compute_coverage(u, sites({"x": 500, "y": 500, "r": 240}), grid(), options=NO_ZONES)
    assert row(omni, "00001")["population_covered"] == exact(160.0)


def test_without_a_grid_each_units_population_is_spread_evenly():
    u = units(
        ("00001", "01", box(0, 0, 530, 1000), 1000),
        ("00002", "01", box(530, 0, 1000, 1000), 2000),
        ("00003", "01", box(1000, 0, 1500, 1000), None),  # population unknown
    )
    res = compute_coverage(u, sites({"x": 500, "y": 500, "r": 240}), None, options=NO_ZONES)
    a, b, c = row(res, "00001"), row(res, "00002"), row(res, "00003")
    assert a["population_source"] == "even"
    assert a["area_covered_km2"] == exact(0.092)
    assert a["population_covered"] == exact(1000 * 0.092 / 0.53)
    assert b["population_covered"] == exact(2000 * 0.068 / 0.47)
    assert a["share_covered"] == exact(0.092 / 0.53 * 100)
    assert c["population"] is None and c["population_covered"] is None
    assert c["share_covered"] == 0.0  # of its area, since its population is unknown


def test_technologies_are_computed_separately(grid):
    u = units(("00001", "01", box(0, 0, 1000, 1000)))
    both = sites(
        {"x": 350, "y": 550, "r": 150, "tech": "5G"}, {"x": 450, "y": 550, "r": 150, "tech": "4G"}
    )
    res = compute_coverage(u, both, grid(), options=NO_ZONES)
    assert sorted(res.table["technology"].to_list()) == ["4G", "5G"]
    assert row(res, "00001", "5G")["population_covered"] == exact(90.0)
    assert row(res, "00001", "4G")["population_covered"] == exact(90.0)


def test_dead_zones_are_populated_cells_outside_coverage(grid):
    # People in a 2×2 block at the top-left (4 × 6), one cell bottom-right (20), one lone
    # cell of 3 (under the 10-person zone threshold) and a covered block in the middle.
    values = np.zeros((10, 10), dtype="float32")
    values[0:2, 0:2] = 6
    values[9, 9] = 20
    values[0, 9] = 3
    values[4:6, 4:6] = 50
    u = units(("00001", "01", box(0, 0, 1000, 1000)))
    res = compute_coverage(
        u, sites({"x": 500, "y": 500, "r": 150}), grid(values),
        options=CoverageOptions(min_cell_population=1, min_zone_population=10),
    )  # fmt: skip
    assert row(res, "00001")["population_covered"] == exact(200.0)
    zones = res.dead_zones.sort_values("population", ascending=False)
    assert zones["population"].tolist() == pytest.approx([24.0, 20.0])
    assert zones["area_km2"].tolist() == pytest.approx([0.04, 0.01])
    assert zones.crs.to_epsg() == 4326
    metric = zones.to_crs(CRS).geometry
    assert metric.iloc[0].bounds == pytest.approx(box(0, 800, 200, 1000).bounds, abs=1e-3)
    assert metric.iloc[1].bounds == pytest.approx(box(900, 0, 1000, 100).bounds, abs=1e-3)
    layer = dead_zone_layer(res.dead_zones, technology="5G", min_population=21)
    assert layer["population"].tolist() == [24.0]


def test_a_dead_zone_does_not_join_through_another_units_cells(grid):
    # Unit 00001 is two strips (columns 0-1 and 3-4) with unit 00002 (column 2, another
    # province) between them; nothing is covered. Its strips touch only through 00002's dead
    # cells: two zones, whether the window is the nation's or a province's.
    u = units(
        ("00001", "01", shapely.union(box(0, 0, 200, 1000), box(300, 0, 500, 1000))),
        ("00002", "02", box(200, 0, 300, 1000)),
    )
    far = sites({"x": 5000, "y": 5000, "r": 100})
    for by_province in (False, True):
        res = compute_coverage(
            u, far, grid(), by_province=by_province,
            options=CoverageOptions(min_cell_population=1, min_zone_population=10),
        )  # fmt: skip
        zones = res.dead_zones.sort_values(["unit_code", "population"])
        assert zones["unit_code"].tolist() == ["00001", "00001", "00002"], by_province
        assert zones["population"].tolist() == pytest.approx([200.0, 200.0, 100.0])


def test_a_lon_lat_grid_is_measured_in_metres(tmp_path, grid):
    # The same ground in a 0.001° lon/lat grid: everyone is counted, and a 1 km disc covers
    # its area in metres (π km² within the grid's resolution), whatever the grid's CRS.
    lon0, lat0 = TO_LONLAT.transform(X0, Y0)
    values = np.full((40, 40), 1.0, dtype="float32")
    path = grid(values, crs="EPSG:4326", transform=from_origin(lon0, lat0 + 0.04, 0.001, 0.001))
    u = units(("00001", "01", box(-2000, -2000, 6000, 6000)))
    res = compute_coverage(u, sites({"x": 2000, "y": 2000, "r": 1000}), path, options=NO_ZONES)
    r = row(res, "00001")
    assert r["population"] == pytest.approx(1600.0, abs=1e-6)
    assert r["area_covered_km2"] == pytest.approx(np.pi, rel=0.03)


def test_site_shapes_are_true_ground_distances_in_another_utm_zone():
    # A site at 109.5°E lies in UTM zone 49: built there, its 1 km disc keeps 1 km on the
    # ground although the grid is in zone 48 (where a plain buffer would be 0.25 % off).
    s = pl.DataFrame(
        [{"technology": "5G", "lat": 12.0, "lon": 109.5, "radius_m": 1000.0}],
        schema={k: SITE_SCHEMA[k] for k in ("technology", "lat", "lon", "radius_m")},
    ).with_columns(azimuth_deg=pl.lit(None, pl.Float64), beamwidth_deg=pl.lit(None, pl.Float64))
    disc = site_shapes(s, CRS)[0]
    ring = shapely.get_coordinates(disc)
    lon, lat = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(*ring.T)
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(
        np.full(len(lon), 109.5), np.full(len(lat), 12.0), lon, lat
    )
    assert dist == pytest.approx(np.full(len(dist), 1000.0), abs=0.5)


def test_scanline_union_matches_gdal_cell_centre_rule():
    rng = np.random.default_rng(7)
    shapes = shapely.buffer(
        shapely.points(rng.uniform(0, 5000, 300), rng.uniform(0, 5000, 300)),
        rng.uniform(50, 800, 300),
    )
    holed = shapely.Polygon(
        [(100, 100), (2000, 100), (2000, 2000), (100, 2000)],
        [[(600, 600), (1500, 600), (1500, 1500), (600, 1500)]],
    )
    shapes = np.r_[shapes, [holed]]
    transform = from_origin(-123.4, 5200.7, 37.0, 41.0)
    mine = rasterize_union(shapes, (140, 150), transform)
    gdal = rasterio.features.rasterize(
        ((g, 1) for g in shapes), out_shape=(140, 150), transform=transform
    )
    assert np.array_equal(mine, gdal > 0)
