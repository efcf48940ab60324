"""The official list of current units (34 provinces, 3,321 communes, wards and special zones).

Names, codes, centre points and areas come from the MIT-licensed `vietnamadminunits` package,
which carries the post-1 July 2025 register (Công văn 1027/CTK-CSCL and 915/CTK-CSCL).
"""

from __future__ import annotations

import importlib.util
import sqlite3
from functools import cache
from pathlib import Path

import polars as pl

# The package's data files, found without importing it (its parsers take a second to import).
PACKAGE_DATA = Path(importlib.util.find_spec("vietnamadminunits").origin).parent / "data"
_DB = PACKAGE_DATA / "dataset.db"

UNIT_TYPES = {"Xã": "xã", "Phường": "phường", "Đặc khu": "đặc khu"}
# The package's wardType is wrong for a few units (Phường Việt Hòa marked xã, ...): the type is
# the first word(s) of the official name, which the register always writes.
_TYPE_FROM_NAME = r"^(Đặc khu|Phường|Xã) "


def _query(sql: str) -> pl.DataFrame:
    with sqlite3.connect(f"file:{_DB}?mode=ro", uri=True) as conn:
        cur = conn.execute(sql)
        cols = [c[0] for c in cur.description]
        return pl.DataFrame(cur.fetchall(), schema=cols, orient="row", infer_schema_length=None)


@cache
def official_units() -> pl.DataFrame:
    """One row per current unit: unit_code, unit_name, unit_short_name, unit_type, province_code,
    province_name, centre_lon, centre_lat, area_km2, province_centre_lon, province_centre_lat."""
    df = _query(
        """SELECT wardCode AS unit_code, ward AS unit_name, wardShort AS unit_short_name,
                  wardType AS unit_type, provinceCode AS province_code, province AS province_name,
                  wardLon AS centre_lon, wardLat AS centre_lat, wardAreaKm2 AS area_km2,
                  provinceLon AS province_centre_lon, provinceLat AS province_centre_lat
           FROM admin_units ORDER BY wardCode"""
    )
    return df.with_columns(
        pl.col("unit_code").str.zfill(5),
        pl.col("province_code").str.zfill(2),
        pl.col("unit_name")
        .str.extract(_TYPE_FROM_NAME)
        .replace_strict(UNIT_TYPES)
        .alias("unit_type"),
        pl.col("centre_lon", "centre_lat", "area_km2").cast(pl.Float64),
    )


@cache
def official_provinces() -> pl.DataFrame:
    """One row per current province: province_code, province_name, province_short_name."""
    df = _query(
        """SELECT DISTINCT provinceCode AS province_code, province AS province_name,
                  provinceShort AS province_short_name FROM admin_units ORDER BY provinceCode"""
    )
    return df.with_columns(pl.col("province_code").str.zfill(2))


@cache
def legacy_units() -> pl.DataFrame:
    """Units before 1 July 2025 (63 provinces, ~10,000 communes), for old names in reports."""
    return _query(
        """SELECT wardCode AS old_unit_code, ward AS old_unit_name, wardShort AS old_unit_short_name,
                  wardType AS old_unit_type, district AS old_district_name,
                  districtAlias AS old_district_alias,
                  province AS old_province_name, provinceCode AS old_province_code,
                  provinceKey AS province_key, districtKey AS district_key, wardKey AS ward_key
           FROM admin_units_legacy"""
    )
