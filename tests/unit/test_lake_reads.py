"""Reading GeoParquet tables as polars: the attributes without the shapes, and never polars'
geoarrow warning on the data engineer's terminal."""

from __future__ import annotations

import warnings

import geopandas as gpd
import polars as pl
from shapely.geometry import Point

from schemas.lake import read_attributes, read_geotable, read_table, read_tables, write_table


def _units(tmp_path):
    frame = gpd.GeoDataFrame(
        {"unit_code": ["00001", "00004"], "unit_name": ["Phường Ba Đình", "Phường Ngọc Hà"]},
        geometry=[Point(105.8, 21.0).buffer(0.01), Point(105.82, 21.03).buffer(0.01)],
        crs="EPSG:4326",
    )
    frame.to_arrow()  # geopandas' arrow types registered, as in a run: the file then names
    return write_table(tmp_path / "admin_units.parquet", frame)  # geoarrow.wkb, as the lake's


def test_attributes_are_the_table_without_its_shapes(tmp_path):
    path = _units(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        attributes = read_attributes(path)
        whole = read_table(path)
    assert not [str(w.message) for w in caught]  # nothing for the terminal
    shapes = read_geotable(path)
    assert attributes.columns == ["unit_code", "unit_name"]
    assert attributes.equals(pl.from_pandas(shapes.drop(columns="geometry")))
    assert whole.columns == ["unit_code", "unit_name", "geometry"]  # the shapes as WKB bytes
    assert whole.schema["geometry"] == pl.Binary


def test_a_periods_parts_read_at_once_are_them_in_order(tmp_path):
    """read_tables gives what reading each part and concatenating gives, parts in the order
    given (not hive-partitioned from the folder's name), and a local lake's the same as an
    fsspec one's."""
    from pathlib import Path

    from upath import UPath

    folder = tmp_path / "raw_reports" / "period=2026-H1"
    parts = [
        write_table(
            folder / f"province={p}.parquet",
            pl.DataFrame({"obs_id": [i, i + 1], "unit_code": [f"{p}001", f"{p}002"]}),
        )
        for i, p in ((1, "48"), (3, "01"), (5, "46"))
    ]
    one_by_one = pl.concat([read_table(p) for p in parts], how="vertical")
    together = read_tables(parts)
    assert together.equals(one_by_one)
    assert together["obs_id"].to_list() == [1, 2, 3, 4, 5, 6]
    assert together.columns == ["obs_id", "unit_code"]  # no "period" taken from the folder
    assert read_tables(parts, ["unit_code"]).equals(one_by_one.select("unit_code"))
    remote = [UPath(f"file://{p}") for p in parts]  # fsspec's, read one by one
    assert not isinstance(remote[0], Path)
    assert read_tables(remote).equals(one_by_one)
