"""admin_units on the real shared data: boundaries, the approximate geometry, remoteness.

The product never reads ../shared/data; these tests do, as the ground truth (SOURCES.md).
admin_units is built once per module (a few seconds each way).
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import polars as pl
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geo.boundaries import (
    BoundaryFileError,
    check_against_official,
    equal_area_km2,
    normalise_code,
    read_boundaries,
    repair,
)
from geo.reference import COLUMNS, build_admin_units
from geo.remoteness import normalise_class, read_remote_classes
from geo.units import official_units
from tests.conftest import SHARED_DATA

SHARED = SHARED_DATA
pytestmark = pytest.mark.usefixtures("shared_data")  # missing ../shared fails, saying so
COMMUNES = SHARED / "vn_communes_2025.parquet"
FLAGS = SHARED / "vn_communes_2025_derived_geo_flags.csv"

# Measured: 97.5% of the real communes' representative points fall in the approximate cell of
# their own code (disc factor 1.5); the floor leaves room for small changes in the method.
APPROXIMATE_FLOOR = 0.96

A_LUOI = {"20056": "Xã A Lưới 1", "20044": "Xã A Lưới 2", "20071": "Xã A Lưới 3"}
A_LUOI |= {"20101": "Xã A Lưới 4", "20050": "Xã A Lưới 5"}
ISLANDS = {"31078": "Đặc khu Phú Quốc", "26732": "Đặc khu Côn Đảo", "21548": "Đặc khu Lý Sơn"}
PHU_XUAN = "19753"  # Phường Phú Xuân, Huế


@pytest.fixture(scope="module")
def real() -> tuple[gpd.GeoDataFrame, pl.DataFrame]:
    start = time.perf_counter()
    built = build_admin_units(COMMUNES)
    print(f"\nbuild_admin_units(vn_communes_2025.parquet): {time.perf_counter() - start:.1f} s")
    return built


@pytest.fixture(scope="module")
def approximate() -> tuple[gpd.GeoDataFrame, pl.DataFrame]:
    start = time.perf_counter()
    built = build_admin_units()
    print(f"\nbuild_admin_units() approximate: {time.perf_counter() - start:.1f} s")
    return built


@pytest.fixture(scope="module")
def communes() -> gpd.GeoDataFrame:
    return gpd.read_parquet(COMMUNES)


def by_code(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return units.set_index("unit_code")


# --- the contract, with the real boundary file ------------------------------------------------


def test_real_file_gives_every_official_unit_with_official_geometry(real):
    units, problems = real
    assert tuple(units.columns) == COLUMNS
    assert len(units) == 3321
    assert units["unit_code"].is_unique
    assert units["unit_code"].str.fullmatch(r"\d{5}").all()
    assert units["province_code"].str.fullmatch(r"\d{2}").all()
    assert units["province_code"].nunique() == 34
    assert units["unit_type"].value_counts().to_dict() == {
        "xã": 2621,
        "phường": 687,
        "đặc khu": 13,
    }
    assert (units["geometry_source"] == "official").all()
    assert units.crs.to_epsg() == 4326
    assert (units.geom_type == "MultiPolygon").all()
    assert units.is_valid.all()
    assert not units.geometry.is_empty.any()
    # The file matches the official list: only the four null/zero official areas are noted.
    assert set(problems["kind"]) == {"area_missing"}
    assert units["area_km2"].notna().all()
    assert units["population"].notna().all()  # the file's dan_so
    assert int(units.set_index("unit_code").loc["00004", "population"]) > 0


def test_border_units(real):
    units = by_code(real[0])
    for code, name in A_LUOI.items():
        row = units.loc[code]
        assert (row["unit_name"], row["province_code"]) == (name, "46")
        assert row["is_border"] and row["is_remote"], name
        assert row["dist_land_border_km"] <= 1.0
    assert not units.loc[PHU_XUAN, "is_border"]
    assert units.loc[PHU_XUAN, "dist_land_border_km"] > 30


def test_islands(real):
    units = by_code(real[0])
    for code, name in ISLANDS.items():
        assert units.loc[code, "unit_name"] == name
        assert units.loc[code, "is_island"] and units.loc[code, "is_remote"], name
    phu_xuan = units.loc[PHU_XUAN]
    assert phu_xuan["unit_name"] == "Phường Phú Xuân"
    assert not phu_xuan["is_island"] and not phu_xuan["is_border"]
    assert not phu_xuan["is_remote"]  # no province class list here
    assert phu_xuan["dist_province_centre_km"] < 30  # the ward of Huế's centre
    # Island communes that are not special zones (Quảng Ninh's Cái Chiên, Vĩnh Thực).
    assert units.loc[["06967", "06757"], "is_island"].all()
    # Not too many: the 13 special zones and a handful of offshore communes.
    assert 13 <= units["is_island"].sum() <= 30


def test_remote_is_border_or_island_or_class(real):
    units = real[0]
    expected = units["is_border"] | units["is_island"] | units["remote_class"].notna()
    assert (units["is_remote"] == expected).all()
    assert units["dist_province_centre_km"].between(0, 700).all()
    assert units["dist_land_border_km"].notna().all()
    assert (units["dist_land_border_km"] >= 0).all()


def test_border_against_the_heuristic_flags(real):
    """Compare with SOURCES.md's heuristic (243 communes within 0.5 km); reported, not equal."""
    units = pl.from_pandas(real[0][["unit_code", "is_border", "dist_land_border_km"]])
    flags = pl.read_csv(FLAGS, schema_overrides={"ma_xa": pl.String}).select(
        pl.col("ma_xa").str.zfill(5).alias("unit_code"),
        pl.col("giap_bien_gioi_dat_lien_heuristic").alias("heuristic"),
    )
    both = units.join(flags, on="unit_code", how="inner")
    assert len(both) == 3321
    ours, theirs = both["is_border"], both["heuristic"]
    agree = (ours == theirs).mean()
    at_half = (both["dist_land_border_km"] <= 0.5).to_numpy()
    print(
        f"\nborder: ours {ours.sum()} (1 km), {at_half.sum()} (0.5 km); heuristic {theirs.sum()};"
        f" both {(ours & theirs).sum()}; agreement {agree:.4f};"
        f" at 0.5 km {(at_half == theirs.to_numpy()).mean():.4f}"
    )
    assert theirs.sum() == 243
    assert agree > 0.99
    assert (ours & theirs).sum() >= 0.97 * 243


# --- reading other formats, CRS, columns, invalid geometry -------------------------------------


def test_geopackage_in_vn2000_with_another_code_column_reads_back_equal(communes, tmp_path):
    gdf = communes[["ma_xa", "ten_day_du", "geometry"]].rename(columns={"ma_xa": "MA_DVHC"})
    gdf["MA_DVHC"] = gdf["MA_DVHC"].astype(int)  # codes typed as numbers: 5977 for 05977
    # A bow-tie: a small figure-eight (crossing diagonals, ~100 m) added to one ward's ring.
    row = int(np.flatnonzero(communes["ma_xa"] == PHU_XUAN)[0])
    polygon = max(gdf.geometry.iloc[row].geoms, key=lambda p: p.area)
    (x, y), *rest = polygon.exterior.coords
    d = 0.001
    lobe = [(x, y), (x + d, y + d), (x + d, y), (x, y + d)]
    broken = Polygon(lobe + rest, [r.coords for r in polygon.interiors])
    assert shapely.is_valid_reason(broken).startswith("Self-intersection")
    gdf.loc[gdf.index[row], "geometry"] = MultiPolygon([broken])
    path = tmp_path / "xa.gpkg"
    gdf.to_crs("EPSG:3405").to_file(path, driver="GPKG", engine="pyogrio")

    back = read_boundaries(path)
    original = read_boundaries(COMMUNES)
    assert back.attrs["code_column"] == "MA_DVHC"
    assert back["unit_code"].tolist() == original["unit_code"].tolist()
    # Reprojecting the 5-decimal source also pinches two near-degenerate rings (05542, 06994).
    assert PHU_XUAN in back.attrs["repaired"] and len(back.attrs["repaired"]) <= 5
    assert back.crs.to_epsg() == 4326
    assert (back.geom_type == "MultiPolygon").all() and back.is_valid.all()
    ratio = equal_area_km2(back.geometry) / equal_area_km2(original.geometry)
    assert np.abs(ratio - 1).max() < 0.01
    assert check_against_official(back).is_empty()
    # The code column can also be named in the settings, in any case.
    assert read_boundaries(path, code_column="ma_dvhc")["unit_code"].iloc[0] == "00004"


def test_bow_tie_is_repaired_into_its_two_triangles():
    bow_tie = Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    fixed, repaired = repair(np.array([bow_tie, Polygon([(0, 0), (1, 0), (1, 1)])]))
    assert repaired.tolist() == [True, False]
    assert fixed[0].geom_type == "MultiPolygon" and len(fixed[0].geoms) == 2
    assert fixed[0].area == pytest.approx(2.0)
    assert fixed[1].geom_type == "MultiPolygon"


def test_codes_are_zero_padded():
    assert normalise_code(5977) == "05977"
    assert normalise_code(5977.0) == "05977"
    assert normalise_code(" 5977 ") == "05977"
    assert normalise_code("05977") == "05977"
    assert normalise_code("X-12") == "X-12"  # kept, reported as unknown
    assert normalise_code(None) is None and normalise_code(float("nan")) is None


def test_file_without_crs(communes, tmp_path):
    hue = communes[communes["ma_tinh"] == "46"][["ma_xa", "geometry"]]
    lonlat = tmp_path / "lonlat.shp"
    hue.to_file(lonlat, engine="pyogrio")
    lonlat.with_suffix(".prj").unlink()
    assert read_boundaries(lonlat).crs.to_epsg() == 4326  # lon/lat bounds: assumed WGS84
    metres = tmp_path / "metres.shp"
    hue.to_crs("EPSG:3405").to_file(metres, engine="pyogrio")
    metres.with_suffix(".prj").unlink()
    with pytest.raises(BoundaryFileError, match=r"metres\.shp.*no CRS"):
        read_boundaries(metres)


def test_code_column_errors_name_the_file_and_column(communes, tmp_path):
    path = tmp_path / "no_code.geojson"
    communes.head(3)[["ten_xa", "geometry"]].to_file(path, engine="pyogrio")
    with pytest.raises(BoundaryFileError, match=r"no_code\.geojson.*no unit-code column"):
        read_boundaries(path)
    with pytest.raises(BoundaryFileError, match=r"no_code\.geojson.*'ma_so'"):
        read_boundaries(path, code_column="ma_so")
    with pytest.raises(BoundaryFileError, match=r"nowhere\.gpkg"):
        read_boundaries(tmp_path / "nowhere.gpkg")


def test_missing_repeated_and_unknown_codes_are_reported_by_name(communes, tmp_path):
    gdf = communes.copy()
    missing, repeated = PHU_XUAN, "20044"  # Phường Phú Xuân; Xã A Lưới 2
    gdf = gdf[gdf["ma_xa"] != missing]
    extra = gdf[gdf["ma_xa"] == repeated].copy()
    unknown = gdf.head(1).copy()
    unknown[["ma_xa", "ten_day_du"]] = ["99999", "Xã Không Có"]
    gdf = gpd.GeoDataFrame(
        pd.concat([gdf, extra, unknown], ignore_index=True), geometry="geometry", crs=communes.crs
    )
    path = tmp_path / "xa.parquet"
    gdf.to_parquet(path)

    units, problems = build_admin_units(path)
    assert len(units) == 3321 and units["unit_code"].is_unique
    assert "99999" not in set(units["unit_code"])
    by_kind = {k: p for (k,), p in problems.group_by("kind")}
    row = by_kind["missing"].row(0, named=True)
    assert (row["unit_code"], row["unit_name"]) == (missing, "Phường Phú Xuân")
    assert "Phường Phú Xuân" in row["message_vi"] and "Phường Phú Xuân" in row["message_en"]
    row = by_kind["repeated"].row(0, named=True)
    assert (row["unit_code"], row["unit_name"]) == (repeated, "Xã A Lưới 2")
    assert "2 times" in row["message_en"] and "2 lần" in row["message_vi"]
    row = by_kind["unknown"].row(0, named=True)
    assert (row["unit_code"], row["unit_name"]) == ("99999", "Xã Không Có")
    assert row["rows"] == str(len(gdf)) and "Xã Không Có" in row["message_en"]
    assert all(len(by_kind[k]) == 1 for k in ("missing", "repeated", "unknown"))

    units = by_code(units)
    assert units.loc[missing, "geometry_source"] == "approximate"
    assert (units.drop(index=missing)["geometry_source"] == "official").all()
    # The stand-in cell for the missing ward sits where the ward is.
    real_point = communes.set_index("ma_xa").loc[missing].geometry.representative_point()
    assert units.loc[missing].geometry.buffer(0.01).contains(real_point)
    # The repeated commune is dissolved, still one border unit.
    original = communes.set_index("ma_xa").loc[repeated].geometry
    assert units.loc[repeated].geometry.area == pytest.approx(original.area, rel=1e-6)
    assert units.loc[repeated, "is_border"]


# --- the approximate geometry -------------------------------------------------------------------


def test_approximate_geometry_is_close_to_the_real_boundaries(approximate, communes):
    units, problems = approximate
    assert len(units) == 3321 and units["unit_code"].is_unique
    assert (units["geometry_source"] == "approximate").all()
    assert (units.geom_type == "MultiPolygon").all() and units.is_valid.all()
    assert not units.geometry.is_empty.any()
    assert set(problems["kind"]) == {"area_missing"}

    cells = by_code(units).geometry
    real = communes.set_index("ma_xa").geometry.loc[cells.index]
    points = shapely.point_on_surface(real.to_numpy())
    share = shapely.contains(cells.to_numpy(), points).mean()
    print(f"\napproximate geometry: {share:.4f} of real representative points in own cell")
    assert share >= APPROXIMATE_FLOOR

    flags = by_code(units)
    assert flags.loc[list(ISLANDS), "is_island"].all()
    assert not flags.loc[PHU_XUAN, "is_island"] and not flags.loc[PHU_XUAN, "is_border"]
    assert flags.loc[["20071", "20101"], "is_border"].all()  # A Lưới 3, 4 touch the NE line
    assert 150 <= flags["is_border"].sum() <= 350


# --- remote classes from a province's list ------------------------------------------------------


def fake_resolver(name: str | None = None, province: str | None = None):
    """Shaped like Gazetteer.resolve: a match with unit_code, match_kind, candidates."""
    if name == "Phường Phú Xuân" and province in {"Huế", "Thành phố Huế"}:
        return SimpleNamespace(unit_code=PHU_XUAN, match_kind="name", candidates=())
    if name == "Phú Xuân":
        return SimpleNamespace(
            unit_code=None,
            match_kind="ambiguous",
            candidates=(("19753", "Phường Phú Xuân"), ("14890", "Xã Phú Xuân")),
        )
    return SimpleNamespace(unit_code=None, match_kind="unknown", candidates=())


def test_remote_classes_from_a_province_csv(tmp_path):
    path = tmp_path / "xa_dbkk.csv"
    path.write_text(
        "Mã xã;Tên xã;Tỉnh;Phân loại\n"
        "20044;Xã A Lưới 2;Huế;Khu vực III\n"
        "20044;;;xã đặc biệt khó khăn\n"
        "4;;;khu_vuc_III\n"
        ";Phường Phú Xuân;Huế;Khu vực I\n"
        ";Phú Xuân;;Khu vực II\n"
        ";Xã Không Có;Huế;Khu vực III\n"
        "99999;;;Khu vực III\n"
        ";;;\n"
        "20050;;;\n",
        encoding="utf-8-sig",
    )
    classes, problems = read_remote_classes(path, fake_resolver)
    assert dict(classes.iter_rows()) == {
        "20044": "khu_vuc_III;xa_dac_biet_kho_khan",
        "00004": "khu_vuc_III",
        PHU_XUAN: "khu_vuc_I",
    }
    kinds = dict(zip(problems["rows"], problems["kind"], strict=True))
    assert kinds == {
        "6": "remote_class_ambiguous",
        "7": "remote_class_unresolved",
        "8": "remote_class_unknown_code",
        "10": "remote_class_empty",
    }
    ambiguous = problems.filter(pl.col("rows") == "6").row(0, named=True)
    assert "Xã Phú Xuân" in ambiguous["message_en"] and "14890" in ambiguous["message_vi"]
    assert normalise_class("Khu vực III") == "khu_vuc_III"

    units, all_problems = build_admin_units(remote_classes_path=path, resolve_unit=fake_resolver)
    units = by_code(units)
    assert units.loc[PHU_XUAN, "remote_class"] == "khu_vuc_I"
    assert units.loc[PHU_XUAN, "is_remote"]  # by class only: neither border nor island
    assert not units.loc[PHU_XUAN, "is_border"] and not units.loc[PHU_XUAN, "is_island"]
    assert units["remote_class"].notna().sum() == 3
    assert all_problems["kind"].str.starts_with("remote_class").sum() == 4


def test_official_list_is_the_one_admin_units_covers(real):
    assert real[0]["unit_code"].tolist() == official_units()["unit_code"].to_list()
