"""Reading GeoParquet tables as polars: the attributes without the shapes, and never polars'
geoarrow warning on the data engineer's terminal."""

from __future__ import annotations

import warnings

import geopandas as gpd
import polars as pl
from shapely.geometry import Point

from schemas.lake import read_attributes, read_geotable, read_table, write_table


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
