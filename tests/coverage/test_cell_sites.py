"""Reading cell-site files: headers as operators write them, lineage, rows rejected with a reason."""

import openpyxl
import polars as pl
import pytest

from assets.ingest.landing import landing_files, read_file
from assets.ingest.sites import read_cell_sites
from schemas.catalogue import load_catalogue


def _ingest_status(path) -> str:
    """The status ingest gives the file: `cell_sites` leaves it to the coverage assets."""
    (file,) = [f for f in landing_files(path.parent) if f.rel == path.name]
    return read_file(file, load_catalogue())[1]["status"]


def test_a_semicolon_csv_with_vietnamese_headers_and_decimal_commas(tmp_path):
    path = tmp_path / "tram_bts.csv"
    path.write_text(
        "DANH SÁCH TRẠM BTS;;;;;;\n"
        "Nhà mạng;Mã trạm;Công nghệ;Vĩ độ;Kinh độ;Bán kính (km);Góc phương vị (độ);Độ rộng búp sóng\n"
        "Viettel;HUE001;5G;16,4637;107,5909;1,2;;\n"
        "VNPT;HUE002;4G/5G;16,47;107,6;0,8;120;65\n"
        ";;;;;;;\n"
        "MobiFone;HUE003;LTE;107,6;16,47;2;;\n"
        "MobiFone;HUE004;5G;16,47;107,6;;;\n"
        "MobiFone;HUE005;5G;16,47;107,6;1;90;\n",
        encoding="utf-8-sig",
    )
    sites = read_cell_sites(path, "op/tram_bts.csv", "abc123")
    assert sites.select("site_id", "technology", "source_row").rows() == [
        ("HUE001", "5G", 3),
        ("HUE002", "4G", 4),
        ("HUE002", "5G", 4),  # a 4G/5G site is a site of each
        ("HUE003", "4G", 6),  # LTE is 4G; the blank row 5 is skipped
        ("HUE004", "5G", 7),
        ("HUE005", "5G", 8),
    ]
    first = sites.row(0, named=True)
    assert (first["lat"], first["lon"], first["radius_m"]) == (16.4637, 107.5909, 1200.0)
    assert first["source_file"] == "op/tram_bts.csv" and first["file_sha256"] == "abc123"
    assert first["reason_en"] is None
    assert sites.row(1, named=True)["azimuth_deg"] == 120.0
    reasons = dict(sites.select("site_id", "reason_en").rows())
    assert "lat and lon swapped?" in reasons["HUE003"]
    assert reasons["HUE004"] == "no coverage radius (must be 0–100,000 m)"
    assert reasons["HUE005"] == "a sector needs both azimuth and beam width"
    assert sites.filter(pl.col("reason_vi").is_not_null()).height == 3


def test_an_xlsx_with_english_headers_below_a_title_is_a_cell_site_file(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sites"
    ws.append(["Cell site list 2026-H1"])
    ws.append(["operator", "site_id", "technology", "lat", "lon", "radius_m"])
    ws.append(["Viettel", "A1", "5G", 16.5, 107.6, 900])
    ws.append(["Viettel", "A2", "5g", "16.6", "107.7", "abc"])
    wb.save(tmp_path / "sites.xlsx")
    assert _ingest_status(tmp_path / "sites.xlsx") == "cell_sites"
    sites = read_cell_sites(tmp_path / "sites.xlsx")
    assert sites["source_sheet"].to_list() == ["Sites", "Sites"]
    assert sites["source_row"].to_list() == [3, 4]
    assert sites["technology"].to_list() == ["5G", "5G"]
    assert sites["reason_en"][1] == "not a number: radius_m='abc'"


def test_a_report_is_not_a_cell_site_file(tmp_path):
    path = tmp_path / "bao_cao.csv"
    path.write_text("Mã xã;Tên xã;Dân số;Dân số được phủ sóng 5G\n19753;Phú Xuân;1000;900\n")
    assert _ingest_status(path) == "read"
    assert read_cell_sites(path).is_empty()


@pytest.mark.parametrize("header", ["latitude", "Vĩ độ", "LAT"])
def test_latitude_header_variants(tmp_path, header):
    path = tmp_path / "s.csv"
    path.write_text(f"site;tech;{header};kinh do;ban kinh\nX;5G;16.5;107.6;500\n")
    assert read_cell_sites(path)["lat"].to_list() == [16.5]
