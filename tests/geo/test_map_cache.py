"""The map outputs' geometry is made once and reused (geo.topology.GeometryCache, geo.maps), on
the real boundaries of Huế (province 46, 40 units) with synthetic figures:

- one cleaning serves every tolerance, and what a later process reads back is what was made;
- the same shapes are hashed once in a run, a moved one gives another key;
- a page rebuilt from the cache on disk (topology, base map) has the bytes of one built without
  any cache;
- an overview page's dead zones, simplified only as far as its budget goes, are those it would
  pick from all of them simplified;
- a gap-row column no page shows changing rebuilds no map output;
- the dead zones drawn (the layer and each page's overlay) are made again only when the zones
  change, and the outputs are those of a publish with no cache.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import pytest
import shapely

import geo.topology as topology
from assets.reports.publish import publish_maps
from geo.maps import render_map_page
from geo.page_data import OVERVIEW_ZONE_BYTES, _overview_zones
from geo.topology import GeometryCache, build_topology, display_geometry, encode_arcs
from schemas.contracts import conform
from tests.conftest import official_units

PROVINCE = "46"
PERIOD = "2026-H1"


@pytest.fixture(scope="module")
def units(shared_data: Path) -> gpd.GeoDataFrame:
    return official_units(shared_data, [PROVINCE], remote_every=5).to_crs("EPSG:4326")


@pytest.fixture(scope="module")
def gaps(units, catalogue) -> pl.DataFrame:
    rng = np.random.default_rng(46)
    classes = ("meets_target", "small", "medium", "large", "not_reported")
    rows = [
        {
            "period": PERIOD,
            "unit_code": code,
            "unit_name": name,
            "province_code": PROVINCE,
            "province_name": "Huế",
            "indicator_id": ind.id,
            "value": float(rng.uniform(0, 100)),
            "target": float(ind.target),
            "gap": float(rng.uniform(0, 30)),
            "gap_class": classes[k % len(classes)],
            "previous_value": 50.0,
            "change": None,
            "meets_target": k % len(classes) == 0,
            "status": "reported",
            "unit_type": "xã",
            "is_border": False,
            "is_island": False,
            "remote_class": None,
            "is_remote": False,
            "rank": k + 1,
            "source_file": f"{PROVINCE}/{code}.xlsx",
            "source_sheet": "Báo cáo",
            "source_row": 7,
        }
        for k, (code, name) in enumerate(zip(units["unit_code"], units["unit_name"], strict=True))
        for ind in catalogue
    ]
    frame = pl.DataFrame(rows, schema_overrides={"change": pl.Float64, "remote_class": pl.String})
    return conform(frame, "coverage_gaps")


def _geoms(units: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(units.geometry.values, dtype=object)


def test_one_cleaning_serves_every_tolerance_and_reads_back_as_made(units, tmp_path, monkeypatch):
    cleanings = []
    clean = topology.clean_coverage
    monkeypatch.setattr(topology, "clean_coverage", lambda g: cleanings.append(1) or clean(g))
    cache = GeometryCache(tmp_path)
    geoms = _geoms(units)
    _, fine = cache.display(geoms, 0.0002, True)
    key, coarse = cache.display(geoms, 0.002, True)
    assert len(cleanings) == 1
    assert shapely.equals_exact(fine, display_geometry(geoms, 0.0002), tolerance=0).all()
    assert shapely.equals_exact(coarse, display_geometry(geoms, 0.002), tolerance=0).all()
    assert shapely.get_num_coordinates(coarse).sum() < shapely.get_num_coordinates(fine).sum()

    provinces = np.zeros(len(geoms), np.int64)
    head, features, outline = cache.topology(key, coarse, provinces, 0.004)
    cleanings.clear()
    later = GeometryCache(tmp_path)  # another process: from the files
    again_key, again = later.display(geoms, 0.002, True)
    assert again_key == key and cleanings == []
    assert shapely.equals_exact(again, coarse, tolerance=0).all()
    read = later.topology(key, again, provinces, 0.004)
    made = build_topology(coarse, provinces, offset=0.004)
    for h, f, o in (read, (head, features, outline)):
        assert encode_arcs(h["arcs"]) == encode_arcs(made[0]["arcs"])
        assert h["transform"] == made[0]["transform"]
        assert (f, o) == (made[1], made[2])
    read[0]["arcs"].append(np.zeros((1, 2), np.int64))  # a page adds its own arcs...
    assert len(later.topology(key, again, provinces, 0.004)[0]["arcs"]) == len(made[0]["arcs"])


def test_the_same_shapes_are_hashed_once_per_run(units, tmp_path, monkeypatch):
    hashed = []
    wkb = topology._wkb
    monkeypatch.setattr(topology, "_wkb", lambda g: hashed.append(len(g)) or wkb(g))
    cache = GeometryCache(tmp_path)
    geoms = _geoms(units)
    key = cache.key(geoms, 0.002, True)
    assert cache.display(geoms.copy(), 0.002, True)[0] == key  # the same shapes, another array
    assert hashed == [len(geoms)]
    equal = shapely.from_wkb(shapely.to_wkb(geoms))  # other objects: hashed, the same key
    assert cache.key(equal, 0.002, True) == key and len(hashed) == 2
    moved = geoms.copy()
    moved[0] = shapely.transform(moved[0], lambda xy: xy + 0.001)
    assert cache.key(moved, 0.002, True) != key
    assert GeometryCache(tmp_path).key(geoms, 0.002, True) == key  # another process


def _zones(units: gpd.GeoDataFrame, n: int) -> gpd.GeoDataFrame:
    """`n` ragged dead zones (circles of many points) in the units, some remote."""
    rng = np.random.default_rng(7)
    at = rng.integers(0, len(units), n)
    centres = shapely.point_on_surface(units.geometry.values[at])
    return gpd.GeoDataFrame(
        {
            "unit_code": units["unit_code"].to_numpy()[at],
            "population": rng.integers(1, 5000, n).astype(float),
            "area_km2": 1.0,
            "technology": "5G",
            "is_remote": units["is_remote"].to_numpy()[at],
        },
        geometry=shapely.buffer(centres, rng.uniform(0.001, 0.01, n), quad_segs=64),
        crs="EPSG:4326",
    )


def test_an_overview_draws_the_zones_it_would_pick_from_all_of_them_simplified(units):
    zones = _zones(units, 4000)  # ~550 kB of points: more than the budget holds
    geoms = np.asarray(zones.geometry.values, dtype=object)
    tolerance = 0.0001
    keep, shapes = _overview_zones(zones, geoms, tolerance)

    every = topology._polygonal(shapely.simplify(geoms, tolerance, preserve_topology=True))
    remote = zones["is_remote"].to_numpy(dtype=bool)
    order = np.lexsort((-zones["population"].to_numpy(), ~remote))
    cost = shapely.get_num_coordinates(every[order]) * 5 + 60
    expected = np.sort(order[np.cumsum(cost) <= OVERVIEW_ZONE_BYTES])
    assert 0 < len(keep) < len(zones)
    assert keep.tolist() == expected.tolist()
    assert shapely.equals_exact(shapes, every[expected], tolerance=0).all()


def test_a_page_from_the_cache_on_disk_is_the_page_built_without_one(
    units, gaps, catalogue, tmp_path
):
    zones = _zones(units, 30)
    context = units  # its own province only: the base map has Vietnam's outline and Laos
    kw = {"title": "Huế", "period": PERIOD, "dead_zones": zones, "context": context}
    plain = render_map_page(units, gaps, catalogue, tmp_path / "plain.html", **kw)
    first = render_map_page(
        units, gaps, catalogue, tmp_path / "first.html", cache=GeometryCache(tmp_path / "c"), **kw
    )
    assert any((tmp_path / "c").glob("arcs-*.npz"))  # the base map was kept
    later = render_map_page(
        units, gaps, catalogue, tmp_path / "later.html", cache=GeometryCache(tmp_path / "c"), **kw
    )
    assert first.read_bytes() == plain.read_bytes()
    assert later.read_bytes() == plain.read_bytes()


def test_a_column_no_page_shows_changing_rebuilds_no_map_output(units, gaps, catalogue, tmp_path):
    zones = _zones(units, 0)
    args = (units, zones, catalogue, PERIOD)
    publish_maps(tmp_path / "maps", gaps, *args)
    changed = gaps.with_columns(previous_value=pl.lit(12.0), status=pl.lit("reported"))
    out = publish_maps(tmp_path / "maps", changed, *args)
    assert not [r for r in out["rebuilt"] if r.startswith("maps/")]
    shown = gaps.with_columns(value=pl.col("value") + 1)
    out = publish_maps(tmp_path / "maps", shown, *args)
    assert "maps/index.html" in out["rebuilt"]


def _outputs(maps: Path) -> dict[str, bytes]:
    """The published map files (pages, PNGs) by path, without the cache and the keys."""
    return {
        p.relative_to(maps).as_posix(): p.read_bytes()
        for p in sorted(maps.rglob("*"))
        if p.is_file() and ".cache" not in p.parts and p.name != ".publish.json"
    }


def test_dead_zones_are_drawn_again_only_when_they_change(
    units, gaps, catalogue, tmp_path, monkeypatch
):
    import geo.coverage.layer as layer
    import geo.maps as maps_module

    made = {"layer": 0, "overlay": 0}
    smooth, overlay = layer._layer, maps_module._dead_zone_object
    monkeypatch.setattr(
        layer, "_layer", lambda *a: made.update(layer=made["layer"] + 1) or smooth(*a)
    )
    monkeypatch.setattr(
        maps_module,
        "_dead_zone_object",
        lambda *a: made.update(overlay=made["overlay"] + 1) or overlay(*a),
    )
    zones = _zones(units, 30)
    folder = tmp_path / "kept" / "maps"
    publish_maps(folder, gaps, units, zones, catalogue, PERIOD)
    # One overlay: the national page's units are Huế's, so its page shares it.
    assert made == {"layer": 1, "overlay": 1}

    # A commune resubmits: the pages are rebuilt, their dead zones read back as they were.
    made.update(layer=0, overlay=0)
    resubmitted = gaps.with_columns(
        value=pl.when(pl.col("unit_code") == units["unit_code"].iloc[3])
        .then(pl.col("value") + 5)
        .otherwise("value")
    )
    out = publish_maps(folder, resubmitted, units, zones, catalogue, PERIOD)
    assert "maps/index.html" in out["rebuilt"]
    assert made == {"layer": 0, "overlay": 0}
    fresh = publish_maps(tmp_path / "fresh" / "maps", resubmitted, units, zones, catalogue, PERIOD)
    assert fresh["zones"] == out["zones"] == 30
    assert _outputs(folder) == _outputs(tmp_path / "fresh" / "maps")

    # The coverage is recomputed and one zone is smaller: the layer and the pages are made
    # again, as a publish with no cache makes them.
    made.update(layer=0, overlay=0)
    changed = zones.copy()
    changed.loc[0, "geometry"] = shapely.buffer(changed.geometry.iloc[0].centroid, 0.0005)
    out = publish_maps(folder, resubmitted, units, changed, catalogue, PERIOD)
    assert made == {"layer": 1, "overlay": 1}
    assert "maps/index.html" in out["rebuilt"]
    fresh = publish_maps(
        tmp_path / "fresh2" / "maps", resubmitted, units, changed, catalogue, PERIOD
    )
    assert _outputs(folder) == _outputs(tmp_path / "fresh2" / "maps")
    assert _outputs(folder)["index.html"] != _outputs(tmp_path / "fresh" / "maps")["index.html"]

    # A unit renamed: its zones' tooltips name it anew.
    made.update(layer=0, overlay=0)
    renamed = units.copy()
    renamed.loc[renamed["unit_code"] == changed["unit_code"].iloc[0], "unit_name"] = "Xã Mới"
    publish_maps(folder, resubmitted, renamed, changed, catalogue, PERIOD)
    assert made == {"layer": 1, "overlay": 1}


def test_a_resubmission_with_the_same_zones_file_decodes_no_zones(
    units, gaps, catalogue, tmp_path, monkeypatch
):
    """coverage_maps gets the dead_zones table as its GeoParquet file's bytes: while they are
    the same, no zone is decoded and the kept layer is not read back (pages that keep their
    overlay need neither); new zones (a coverage rerun) redraw every page that shows them."""
    from schemas.lake import write_table

    def zones_file(zones: gpd.GeoDataFrame, name: str) -> bytes:
        return write_table(tmp_path / name / "part-0.parquet", zones).read_bytes()

    zones = _zones(units, 30)
    folder = tmp_path / "kept" / "maps"
    first = publish_maps(folder, gaps, units, zones_file(zones, "z1"), catalogue, PERIOD)
    assert first["zones"] == 30
    from_frame = tmp_path / "frame" / "maps"
    publish_maps(from_frame, gaps, units, zones, catalogue, PERIOD)
    assert _outputs(folder) == _outputs(from_frame)  # the bytes publish what the frame does

    def no_reading(*args, **kwargs):
        raise AssertionError("the dead zones were read")

    resubmitted = gaps.with_columns(
        value=pl.when(pl.col("unit_code") == units["unit_code"].iloc[3])
        .then(pl.col("value") + 5)
        .otherwise("value")
    )
    with monkeypatch.context() as patched:
        patched.setattr(gpd, "read_parquet", no_reading)  # the zones' decoding, the layer's
        out = publish_maps(folder, resubmitted, units, zones_file(zones, "z2"), catalogue, PERIOD)
    assert "maps/index.html" in out["rebuilt"] and out["zones"] == 30
    fresh = tmp_path / "fresh" / "maps"
    publish_maps(fresh, resubmitted, units, zones, catalogue, PERIOD)
    assert _outputs(folder) == _outputs(fresh)

    # The coverage reran and one zone moved: its pages are drawn again, as from scratch.
    changed = zones.copy()
    changed.loc[0, "geometry"] = shapely.buffer(changed.geometry.iloc[0].centroid, 0.0005)
    out = publish_maps(folder, resubmitted, units, zones_file(changed, "z3"), catalogue, PERIOD)
    assert "maps/index.html" in out["rebuilt"]
    again = tmp_path / "again" / "maps"
    publish_maps(again, resubmitted, units, changed, catalogue, PERIOD)
    assert _outputs(folder) == _outputs(again)
    assert _outputs(folder)["index.html"] != _outputs(fresh)["index.html"]
