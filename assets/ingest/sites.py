"""Cell-site lists (operator, site, lat/lon, technology, radius, optional sector) from landing files.

Operators send their site lists beside the commune reports, in the same formats; they are read
through the same readers, with the same lineage (file, sheet, Excel row, hash), and a row that
cannot be used keeps its reason in Vietnamese and English instead of being dropped. A file is a
cell-site list when a sheet has a header naming lat, lon and a radius: that is how ingest tells
it from a report (file status `cell_sites`) and leaves it to the coverage assets.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from openpyxl.utils import get_column_letter

from geo.text import fold

from .numbers import parse_number
from .readers import Sheet, UnreadableFile, read_sheets

#: The sites table: one row per (site, technology) read, usable when reason_en is null.
SITE_SCHEMA: dict[str, pl.DataType] = {
    "operator": pl.String,
    "site_id": pl.String,
    "technology": pl.String,
    "lat": pl.Float64,
    "lon": pl.Float64,
    "radius_m": pl.Float64,
    "azimuth_deg": pl.Float64,  # null: omnidirectional
    "beamwidth_deg": pl.Float64,
    "reason_vi": pl.String,  # why the row cannot be used; null when it can
    "reason_en": pl.String,
    "source_file": pl.String,
    "source_sheet": pl.String,
    "source_row": pl.Int64,  # 1-based, as the office sees it in Excel
    "source_column": pl.String,  # the column(s) the reason is about ("D/E"); null when usable
    "file_sha256": pl.String,
    "ingested_at": pl.Datetime("us", "UTC"),
}

# Folded header texts (geo.text.fold: no diacritics, lower case, punctuation as spaces).
_SITE_HEADERS: dict[str, tuple[str, ...]] = {
    "operator": ("operator", "nha mang", "doanh nghiep", "nha cung cap", "carrier", "mang"),
    "site_id": ("site id", "site", "ma tram", "ten tram", "cell id", "site code", "id"),
    "technology": ("technology", "tech", "cong nghe", "loai tram", "rat"),
    "lat": ("lat", "latitude", "vi do", "y lat"),
    "lon": ("lon", "lng", "long", "longitude", "kinh do", "x lon"),
    "radius_m": ("radius", "radius m", "ban kinh", "ban kinh m", "ban kinh phu song"),
    "radius_km": ("radius km", "ban kinh km", "ban kinh phu song km"),
    "azimuth_deg": ("azimuth", "azimuth deg", "goc phuong vi", "phuong vi", "huong anten"),
    "beamwidth_deg": ("beamwidth", "beam width", "beamwidth deg", "do rong bup song", "goc mo"),
}
_HEADER_OF = {alias: col for col, aliases in _SITE_HEADERS.items() for alias in aliases}
_TECHNOLOGY = {"5g": "5G", "5g nr": "5G", "nr": "5G", "4g": "4G", "lte": "4G", "4g lte": "4G"}
_TECHNOLOGY |= {"3g": "3G", "umts": "3G", "wcdma": "3G", "2g": "2G", "gsm": "2G"}
VN_LAT, VN_LON = (4.0, 25.0), (100.0, 120.0)  # a generous box around Vietnam and its islands


def _header_column(cell: object) -> str | None:
    text = fold(cell) if cell is not None else ""
    for unit in (" deg", " do", " m"):  # "Góc phương vị (độ)", "Bán kính (m)"
        if text not in _HEADER_OF and text.endswith(unit):
            text = text[: -len(unit)]
    return _HEADER_OF.get(text)


def find_site_header(rows: list[list[object]], scan: int = 30) -> tuple[int, dict] | None:
    """(row index, {column: position}) of a cell-site header among the first `scan` rows.

    A header names at least lat, lon and a radius: that is what tells a cell-site list from a
    report, whose columns are indicators.
    """
    for i, row in enumerate(rows[:scan]):
        found: dict[str, int] = {}
        for j, cell in enumerate(row):
            col = _header_column(cell)
            if col and col not in found:
                found[col] = j
        if {"lat", "lon"} <= found.keys() and found.keys() & {"radius_m", "radius_km"}:
            return i, found
    return None


def _technologies(cell: object) -> list[str]:
    """'5G' → ['5G']; '4G/5G' → ['4G', '5G'] (a site carrying both is a site of each)."""
    if cell is None:
        return []
    parts = str(cell).replace(",", "/").replace(";", "/").replace("+", "/").split("/")
    out = []
    for part in parts:
        key = fold(part)
        if key:
            out.append(_TECHNOLOGY.get(key, key.upper()))
    return list(dict.fromkeys(out))


def _number(row: list[object], where: int | None) -> tuple[float | None, str | None]:
    if where is None or where >= len(row):
        return None, None
    parsed = parse_number(row[where])
    return parsed.value, parsed.error


def _site_rows(sheet: Sheet, header: int, cols: dict[str, int]) -> Iterable[dict]:
    def text(row, col):
        j = cols.get(col)
        v = row[j] if j is not None and j < len(row) else None
        return None if v is None or str(v).strip() == "" else str(v).strip()

    for i in range(header + 1, len(sheet.rows)):
        row = sheet.rows[i]
        if all(c is None or str(c).strip() == "" for c in row):
            continue
        values, errors, unparsed = {}, [], []
        for col in ("lat", "lon", "radius_m", "radius_km", "azimuth_deg", "beamwidth_deg"):
            values[col], err = _number(row, cols.get(col))
            if err:
                errors.append(f"{col}={err!r}")
                unparsed.append(col)
        if values["radius_m"] is None and values["radius_km"] is not None:
            values["radius_m"] = values["radius_km"] * 1000
        site = text(row, "site_id")
        base = {
            "operator": text(row, "operator"),
            "site_id": site if site is not None else f"row-{i + 1}",
            **{k: values[k] for k in ("lat", "lon", "radius_m", "azimuth_deg", "beamwidth_deg")},
            "source_sheet": sheet.name,
            "source_row": i + 1,
        }
        problem = _site_problem(values, errors, unparsed)
        techs = _technologies(text(row, "technology"))
        if not techs:
            problem = problem or (
                "thiếu công nghệ (4G/5G)",
                "technology missing (4G/5G)",
                ("technology",),
            )
            techs = [None]
        vi, en, about = problem or (None, None, ())
        letters = "/".join(get_column_letter(cols[c] + 1) for c in about if c in cols) or None
        for tech in techs:
            yield {**base, "technology": tech, "reason_vi": vi, "reason_en": en,
                   "source_column": letters}  # fmt: skip


def _site_problem(
    v: dict, errors: list[str], unparsed: list[str]
) -> tuple[str, str, tuple[str, ...]] | None:
    """Why a site row cannot be used (vi, en, the columns it is about), or None."""
    if errors:
        return (
            f"ô không phải số: {', '.join(errors)}",
            f"not a number: {', '.join(errors)}",
            tuple(unparsed),
        )
    lat, lon, radius = v["lat"], v["lon"], v["radius_m"]
    if lat is None or lon is None:
        return "thiếu tọa độ (vĩ độ, kinh độ)", "coordinates missing (lat, lon)", ("lat", "lon")
    if not (VN_LAT[0] <= lat <= VN_LAT[1] and VN_LON[0] <= lon <= VN_LON[1]):
        swapped = VN_LAT[0] <= lon <= VN_LAT[1] and VN_LON[0] <= lat <= VN_LON[1]
        hint_vi, hint_en = (
            (" (vĩ độ và kinh độ bị đảo?)", " (lat and lon swapped?)") if swapped else ("", "")
        )
        return (
            f"tọa độ ngoài Việt Nam: vĩ độ {lat}, kinh độ {lon}{hint_vi}",
            f"coordinates outside Vietnam: lat {lat}, lon {lon}{hint_en}",
            ("lat", "lon"),
        )
    if radius is None:
        return (
            "thiếu bán kính phủ sóng (cần 0–100.000 m)",
            "no coverage radius (must be 0–100,000 m)",
            ("radius_m", "radius_km"),
        )
    if not (0 < radius <= 100_000):
        return (
            f"bán kính phủ sóng không hợp lệ: {radius} m (cần 0–100.000 m)",
            f"invalid coverage radius: {radius} m (must be 0–100,000 m)",
            ("radius_m", "radius_km"),
        )
    az, bw = v["azimuth_deg"], v["beamwidth_deg"]
    if (az is None) != (bw is None):
        return (
            "trạm định hướng cần cả góc phương vị và độ rộng búp sóng",
            "a sector needs both azimuth and beam width",
            ("azimuth_deg", "beamwidth_deg"),
        )
    if bw is not None and not (0 < bw <= 360):
        return (
            f"độ rộng búp sóng không hợp lệ: {bw}°",
            f"invalid beam width: {bw}°",
            ("beamwidth_deg",),
        )
    return None


def read_cell_sites(
    path: str | Path,
    source_file: str | None = None,
    file_sha256: str | None = None,
    ingested_at: datetime | None = None,
    rows: list[dict] | None = None,
) -> pl.DataFrame:
    """Every site row of a cell-site file (.csv/.xlsx/... as ingest reads them), SITE_SCHEMA.

    Each row carries its lineage (file, sheet, 1-based row, hash) and, when it cannot be used,
    the reason in Vietnamese and English — rows are never dropped silently. Decimal commas,
    radius in km ("Bán kính (km)") and "4G/5G" sites (one row per technology) are understood.
    """
    path = Path(path)
    rows = site_rows(path) if rows is None else rows
    lineage = {
        "source_file": source_file or path.name,
        "file_sha256": file_sha256,
        "ingested_at": ingested_at or datetime.now(UTC),
    }
    return pl.DataFrame([{**r, **lineage} for r in rows], schema=SITE_SCHEMA)


def site_rows(path: Path) -> list[dict]:
    """The site rows of read_cell_sites as plain dicts (`rows` there): what a worker process
    reading under the cost bound returns (landing.bounded_calls)."""
    rows: list[dict] = []
    for sheet in read_sheets(path):
        if sheet.hidden:
            continue
        found = find_site_header(sheet.rows)
        if found:
            rows.extend(_site_rows(sheet, *found))
    return rows


def bounded_site_rows(path: Path) -> list[dict] | None:
    """site_rows, or None for a file that cannot be read (ingest's status gives the reason)."""
    try:
        return site_rows(path)
    except UnreadableFile:
        return None


def usable_sites(sites: pl.DataFrame) -> pl.DataFrame:
    return sites.filter(pl.col("reason_en").is_null())
