"""A national landing for 2026-H1 as it really arrives, written once and cached (benchmarks/national.py).

What lands, per province in scope (a folder each, as offices upload them) and at the root:
- every commune's template, taken from benchmarks/ingest.py's cached set (national_set());
- resubmissions: a second version of a few communes' files under another name, later;
- provincial compilations (one sheet, every unit of the province, headers as offices retype
  them, a few units by their pre-July-2025 names): .csv UTF-8 with BOM, Excel's "Unicode text"
  (.txt, UTF-16, tabs), .csv in cp1258 with decimal commas, .ods (pandas/odfpy) and .xls when
  LibreOffice is installed (no Python package here writes .xls);
- operators' 5G coverage by unit name (the demo's operator file, per province);
- the national cell-site list of benchmarks/coverage.py (60,000 sites, 4G and 5G) as a CSV
  with Vietnamese headers, the sites of the provinces in scope;
- about 1 % of files that must be rejected (corrupt zip, truncated, empty, HTML saved as
  .xlsx, an encrypted workbook, a password-protected .xls, a PDF scan, .xlsb, random bytes).
Outside the landing: the corrected version of one commune's file (the benchmark's
resubmission step). Contents and file times are fixed (seeds, pinned zip timestamps), so two
machines write the same landing (the LibreOffice .xls aside, which stamps its own times).
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
PERIOD = "2026-H1"
VERSION = "v2"  # bump when what is written changes: the cache is keyed on it
ROOT = Path(tempfile.gettempdir()) / "dxlake-bench-national" / VERSION
COVERAGE_CACHE = Path(tempfile.gettempdir()) / "dxlake_cov"  # benchmarks/coverage.py's --cache
SHARED = Path(os.environ.get("DXLAKE_SHARED_DATA") or REPO.parent / "shared")
BASE_TIME = 1_780_000_000  # 2026-05-28: communes' files, then everything else, days later
DAY = 86_400
RESUBMISSIONS = 5
OPERATORS = ("Viettel", "VNPT", "MobiFone")
SITE_HEADER = (
    "Nhà mạng", "Mã trạm", "Công nghệ", "Vĩ độ", "Kinh độ", "Bán kính (m)",
    "Góc phương vị (độ)", "Độ rộng búp sóng (độ)",
)  # fmt: skip
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # cp1258 keeps these combining


@dataclass(frozen=True)
class Landing:
    """A cached landing: `folder` is landing/<period>; `corrected` replaces `corrected_rel`."""

    folder: Path
    grid: Path
    corrected: Path
    corrected_rel: str
    manifest: dict


def ensure_landing(provinces: int | None = None) -> Landing:
    """The cached landing for the first `provinces` provinces (None: all), written when missing."""
    scope = ROOT / ("all" if provinces is None else f"p{provinces}")
    manifest_path = scope / "manifest.json"
    from benchmarks.coverage import ensure_case

    grid, sites = ensure_case(_mkdir(COVERAGE_CACHE))
    if not manifest_path.exists():
        started = time.perf_counter()
        work = scope.with_name(scope.name + ".partial")
        shutil.rmtree(work, ignore_errors=True)
        manifest = _write(work, provinces, sites)
        manifest["generation_s"] = round(time.perf_counter() - started, 1)
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        shutil.rmtree(scope, ignore_errors=True)
        work.rename(scope)
        print(f"wrote the landing ({manifest['files']} files) in {manifest['generation_s']} s")
    manifest = json.loads(manifest_path.read_text())
    return Landing(
        folder=scope / "landing" / PERIOD,
        grid=grid,
        corrected=scope / "corrected" / Path(manifest["corrected_rel"]).name,
        corrected_rel=manifest["corrected_rel"],
        manifest=manifest,
    )


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------------------------
# The landing as a whole
# --------------------------------------------------------------------------------------------


def _write(work: Path, provinces: int | None, sites: pl.DataFrame) -> dict:
    from geo.units import official_units

    units = official_units().sort("unit_code")
    codes = sorted(units["province_code"].unique())[:provinces]
    units = units.filter(pl.col("province_code").is_in(codes))
    landing = _mkdir(work / "landing" / PERIOD)
    kinds: dict[str, list[str]] = {}

    def landed(kind: str, path: Path, mtime: int) -> None:
        os.utime(path, (mtime, mtime))
        kinds.setdefault(kind, []).append(path.relative_to(landing).as_posix())

    communes = _communes(landing, codes, landed)
    _resubmissions(landing, units, landed)
    _compilations(landing, units, codes, landed)
    _operator_files(landing, units, codes, landed)
    _sites(landing, sites, codes, landed)
    _rejects(landing, communes, landed)
    corrected_rel = _corrected(work, landing, units, kinds["resubmission"])
    written = sum(1 for p in landing.rglob("*") if p.is_file())
    return {
        "period": PERIOD,
        "provinces": codes,
        "files": written,
        "kinds": {k: len(v) for k, v in kinds.items()},
        "rejects": kinds.get("reject", []),
        "corrected_rel": corrected_rel,
    }


def _communes(landing: Path, codes: list[str], landed) -> list[Path]:
    """The ingest benchmark's templates of the provinces in scope, copied (its set is not ours
    to touch: file times are set here), each commune a minute after the previous one."""
    from benchmarks.ingest import SET_DIR, national_set

    out = []
    for i, src in enumerate(p for p in national_set() if p.parent.name in codes):
        dest = _mkdir(landing / src.parent.name) / src.name
        shutil.copyfile(src, dest)
        landed("commune", dest, BASE_TIME + i * 30)
        out.append(dest)
    assert out, f"no commune file for {codes} in {SET_DIR}"
    return out


def _province_units(units: pl.DataFrame, code: str) -> pl.DataFrame:
    return units.filter(pl.col("province_code") == code)


def _resubmissions(landing: Path, units: pl.DataFrame, landed) -> None:
    """A second version of a few communes' files, under another name, days later."""
    from assets.ingest.template import write_template
    from benchmarks.ingest import _figures
    from schemas.catalogue import load_catalogue

    catalogue = load_catalogue()
    field_ids = list(catalogue.report_fields())
    step = max(1, units.height // RESUBMISSIONS)
    for k, row in enumerate(units[1::step].head(RESUBMISSIONS).iter_rows(named=True)):
        code, province = row["unit_code"], row["province_code"]
        out = landing / province / f"{code}_bo_sung_lan_2.xlsx"
        write_template(
            _province_units(units, province),
            catalogue,
            out,
            province_name=row["province_name"],
            period=PERIOD,
            figures=_figures(5000 + k, code, field_ids),
        )
        _pin_zip(out)
        landed("resubmission", out, BASE_TIME + 6 * DAY + k * 600)


def _corrected(work: Path, landing: Path, units: pl.DataFrame, resubmitted: list[str]) -> str:
    """The first commune not resubmitted, corrected: same name, other figures (outside the
    landing until the benchmark puts it in)."""
    from assets.ingest.template import write_template
    from benchmarks.ingest import _figures
    from schemas.catalogue import load_catalogue

    taken = {Path(r).name.split("_")[0] for r in resubmitted}
    row = units.filter(~pl.col("unit_code").is_in(taken)).row(0, named=True)
    rel = f"{row['province_code']}/{row['unit_code']}.xlsx"
    assert (landing / rel).is_file(), rel
    catalogue = load_catalogue()
    out = _mkdir(work / "corrected") / f"{row['unit_code']}.xlsx"
    figures = _figures(7919, row["unit_code"], list(catalogue.report_fields()))
    write_template(
        _province_units(units, row["province_code"]),
        catalogue,
        out,
        province_name=row["province_name"],
        period=PERIOD,
        figures=figures,
    )
    _pin_zip(out)
    os.utime(out, (BASE_TIME + 8 * DAY,) * 2)
    return rel


# --------------------------------------------------------------------------------------------
# Provincial compilations
# --------------------------------------------------------------------------------------------

FORMATS = ("csv_utf8_bom", "txt_utf16", "csv_cp1258", "ods", "xls")


def _compilations(landing: Path, units: pl.DataFrame, codes: list[str], landed) -> None:
    """One compilation per format, each from another province (the second province first)."""
    rng = random.Random(2026)
    for k, fmt in enumerate(FORMATS):
        code = codes[(k + 1) % len(codes)]
        rows = _compilation_rows(_province_units(units, code), rng)
        written = _WRITERS[fmt](rows, landing / code / f"tong_hop_xa_{code}_{PERIOD}_{fmt}")
        if written is None:
            print(f"  no {fmt} compilation: nothing here writes it (no xlwt, no soffice)")
            continue
        landed(f"compilation_{fmt}", written, BASE_TIME + 3 * DAY + k * 3600)


def _compilation_rows(units: pl.DataFrame, rng: random.Random) -> list[list[object]]:
    """Title block, a retyped header (aliases where the catalogue has them), a row per unit
    with consistent figures; three units by their pre-2025 names (no code), then signatures."""
    from schemas.catalogue import load_catalogue

    fields = list(load_catalogue().report_fields().values())
    old = _old_names(units)
    province = units["province_name"][0]
    header = ["STT", "Mã xã", "Tên đơn vị", *((f.aliases or (f.vi,))[0] for f in fields)]
    rows: list[list[object]] = [
        [f"UBND {province.upper()}"],
        ["SỞ KHOA HỌC VÀ CÔNG NGHỆ"],
        ["BẢNG TỔNG HỢP KẾT QUẢ CHUYỂN ĐỔI SỐ CẤP XÃ"],
        ["Kỳ báo cáo: 6 tháng đầu năm 2026"],
        [],
        header,
    ]
    for i, (code, name) in enumerate(units.select("unit_code", "unit_name").iter_rows(), 1):
        figures = _unit_figures(rng)
        code_cell, name_cell = (None, old[code]) if code in old else (code, name)
        rows.append([i, code_cell, name_cell, *(figures[f.id] for f in fields)])
    rows += [[], [None, None, "Người lập biểu", None, None, None, "KT. GIÁM ĐỐC"]]
    return rows


def _unit_figures(rng: random.Random) -> dict[str, object]:
    """Plausible figures for one unit (numerators within their denominators)."""
    officials, dossiers = rng.randint(18, 35), rng.randint(200, 3000)
    transactions = rng.randint(1000, 20000)
    leaders, computers = rng.randint(5, 12), rng.randint(20, 40)
    budget = round(rng.uniform(20000, 80000), 1)
    population = rng.randint(4000, 40000)
    covered = int(population * rng.uniform(0.5, 1.0))
    return {
        "population": population,
        "population_5g": covered,
        "pop_5g_coverage_pct": round(covered / population * 100, 1),
        "officials": officials,
        "officials_with_computer_count": officials - rng.randint(0, 4),
        "officials_with_signature_count": officials - rng.randint(0, 10),
        "dossiers": dossiers,
        "dossiers_online": int(dossiers * rng.uniform(0.5, 0.98)),
        "transactions": transactions,
        "transactions_cashless": int(transactions * rng.uniform(0.3, 0.9)),
        "leaders": leaders,
        "leaders_stem": rng.randint(0, 4),
        "budget_total": budget,
        "budget_sti_dx": round(budget * rng.uniform(0.005, 0.04), 1),
        "computers": computers,
        "computers_protected": computers - rng.randint(0, 5),
        "villages_without_signal": rng.choice([0, 0, 0, 1, 2, 3]),
    }


def _old_names(units: pl.DataFrame, count: int = 3) -> dict[str, str]:
    """{current code: a pre-July-2025 name that went wholly into it}, for `count` units, checked
    against the gazetteer so that each resolves to its unit as an old name."""
    from geo.gazetteer import Gazetteer

    codes = set(units["unit_code"])
    province = units["province_code"][0]
    gazetteer = Gazetteer.default()
    splits = json.loads((SHARED / "data" / "dvhcvn_20250701_splits_old_to_new.json").read_text())
    out: dict[str, str] = {}
    for old_province in splits["data"]:
        for old in old_province["level3s"]:
            went = [s["new_id"] for s in old["splits"]]
            if len(went) != 1 or went[0] not in codes or went[0] in out:
                continue
            match = gazetteer.resolve(name=old["name"], province=province)
            if match.match_kind == "old_name" and match.unit_code == went[0]:
                out[went[0]] = old["name"]
            if len(out) == count:
                return out
    return out


def _text(rows: list[list[object]], sep: str, decimal: str = ".") -> str:
    def cell(v: object) -> str:
        if v is None:
            return ""
        return str(v).replace(".", decimal) if isinstance(v, float) else str(v)

    width = max(len(r) for r in rows)
    return "\r\n".join(sep.join(cell(v) for v in r + [None] * (width - len(r))) for r in rows)


def _csv_utf8_bom(rows: list[list[object]], out: Path) -> Path:
    out = out.with_suffix(".csv")
    out.write_bytes(("\ufeff" + _text(rows, ",") + "\r\n").encode())
    return out


def _txt_utf16(rows: list[list[object]], out: Path) -> Path:
    """Excel's "Unicode text": UTF-16 LE with a BOM, tab-delimited."""
    out = out.with_suffix(".txt")
    out.write_bytes(("\ufeff" + _text(rows, "\t") + "\r\n").encode("utf-16-le"))
    return out


def cp1258(text: str) -> bytes:
    """Windows-1258 as Vietnamese Windows writes it: tone marks as combining characters."""
    out = []
    for ch in text:
        try:
            out.append(ch.encode("cp1258"))
        except UnicodeEncodeError:
            marks = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in marks if c not in _TONES))
            out.append((base + "".join(c for c in marks if c in _TONES)).encode("cp1258"))
    return b"".join(out)


def _csv_cp1258(rows: list[list[object]], out: Path) -> Path:
    out = out.with_suffix(".csv")
    out.write_bytes(cp1258(_text(rows, ";", decimal=",") + "\r\n"))
    return out


def _ods(rows: list[list[object]], out: Path) -> Path:
    import pandas as pd

    out = out.with_suffix(".ods")
    width = max(len(r) for r in rows)
    frame = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)
    frame.to_excel(out, engine="odf", header=False, index=False, sheet_name="Tổng hợp")
    _pin_zip(out)
    return out


def _xlsx(rows: list[list[object]], out: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Tổng hợp"
    for r in rows:
        ws.append(r)
    wb.save(out)
    _pin_zip(out)
    return out


def _xls(rows: list[list[object]], out: Path) -> Path | None:
    """Excel 97-2003, saved by LibreOffice from the same table (no Python writer here)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        src = _xlsx(rows, Path(tmp) / f"{out.name}.xlsx")
        profile = f"-env:UserInstallation=file://{tmp}/profile"
        cmd = [soffice, profile, "--headless", "--convert-to", "xls", "--outdir", tmp, str(src)]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=180)
        except (OSError, subprocess.SubprocessError):
            return None
        return Path(shutil.move(Path(tmp) / f"{out.name}.xls", out.with_suffix(".xls")))


_WRITERS = {
    "csv_utf8_bom": _csv_utf8_bom,
    "txt_utf16": _txt_utf16,
    "csv_cp1258": _csv_cp1258,
    "ods": _ods,
    "xls": _xls,
}


def _pin_zip(path: Path) -> None:
    """The same zip whenever written: member times and the document's own dates fixed."""
    with zipfile.ZipFile(path) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    stamp = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?")
    tmp = path.with_name(f".{path.name}.pin")
    with zipfile.ZipFile(tmp, "w") as zf:
        for info, data in members:
            if info.filename in ("docProps/core.xml", "meta.xml"):
                data = stamp.sub(b"2026-05-28T00:00:00Z", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 5, 28, 0, 0, 0))
            fixed.compress_type, fixed.external_attr = info.compress_type, info.external_attr
            zf.writestr(fixed, data)
    tmp.replace(path)


# --------------------------------------------------------------------------------------------
# Operators: coverage by unit, and the national cell-site list
# --------------------------------------------------------------------------------------------


def _operator_files(landing: Path, units: pl.DataFrame, codes: list[str], landed) -> None:
    """The demo's operator file, for up to six provinces: 5G coverage by unit name only,
    semicolon CSV, UTF-8 with BOM, thousands dots and decimal commas, one pre-2025 name."""
    rng = random.Random(5)
    for k, code in enumerate(codes[:6]):
        here = _province_units(units, code)
        operator = OPERATORS[k % len(OPERATORS)]
        old = _old_names(here, count=1)
        lines = [
            f"BÁO CÁO VÙNG PHỦ SÓNG 5G - {operator.upper()};;;",
            f"Tỉnh/Thành phố: {here['province_name'][0]};;;",
            f"Kỳ báo cáo: {PERIOD};;;",
            ";;;",
            "Tên xã/phường;Dân số;Dân số được phủ sóng 5G;Tỷ lệ dân số được phủ sóng 5G (%)",
        ]
        for unit, name in here.select("unit_code", "unit_name").iter_rows():
            people = rng.randint(4000, 40000)
            covered = int(people * rng.uniform(0.6, 1.0))
            share = f"{covered / people * 100:.1f}".replace(".", ",")
            people_text = f"{people:,}".replace(",", ".")
            lines.append(f"{old.get(unit, name)};{people_text};{covered};{share}")
        lines += [";;;", "Người lập biểu;;;TM. Giám đốc"]
        out = landing / code / f"{operator.lower()}_phu_song_5g_{code}_{PERIOD}.csv"
        out.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode())
        landed("operator_coverage", out, BASE_TIME + 4 * DAY + k * 3600)


def _sites(landing: Path, sites: pl.DataFrame, codes: list[str], landed) -> None:
    """The coverage benchmark's sites in the provinces in scope, as one CSV with Vietnamese
    headers (UTF-8 with BOM, comma-delimited, empty cells for omnidirectional sites)."""
    sites = _in_provinces(sites, codes)

    def num(v: float | None, digits: int) -> str:
        return "" if v is None else f"{v:.{digits}f}"

    lines = [
        "DANH SÁCH TRẠM PHÁT SÓNG 4G/5G TOÀN QUỐC",
        f"Kỳ báo cáo: {PERIOD}",
        ",".join(SITE_HEADER),
    ]
    for r in sites.iter_rows(named=True):
        lines.append(
            ",".join(
                [
                    r["operator"],
                    r["site_id"],
                    r["technology"],
                    num(r["lat"], 6),
                    num(r["lon"], 6),
                    num(r["radius_m"], 0),
                    num(r["azimuth_deg"], 0),
                    num(r["beamwidth_deg"], 0),
                ]
            )  # fmt: skip
        )
    out = landing / f"danh_sach_tram_4g_5g_{PERIOD}.csv"
    out.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode())
    landed("cell_sites", out, BASE_TIME + 5 * DAY)


def _in_provinces(sites: pl.DataFrame, codes: list[str]) -> pl.DataFrame:
    """The sites inside the provinces' communes (all of them for the whole country)."""
    import geopandas as gpd

    communes = gpd.read_parquet(SHARED / "data" / "vn_communes_2025.parquet")
    if set(communes["ma_tinh"].astype(str).str.zfill(2)) <= set(codes):
        return sites
    communes = communes[communes["ma_tinh"].astype(str).str.zfill(2).isin(codes)]
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(sites["lon"].to_numpy(), sites["lat"].to_numpy()),
        crs=4326,
    ).to_crs(communes.crs)
    inside = gpd.sjoin(points, communes[["geometry"]], predicate="within").index.unique()
    return sites[sorted(inside)]


# --------------------------------------------------------------------------------------------
# Files that must be rejected
# --------------------------------------------------------------------------------------------


def _rejects(landing: Path, communes: list[Path], landed) -> None:
    """About 1 % of the files (at least one of each kind), beside the communes' files. Each
    differs from the others: the same bytes twice would be a duplicate, not a reject."""
    rng = random.Random(404)
    kinds = list(_JUNK)
    count = max(len(kinds), round(len(communes) / 100))
    for k in range(count):
        kind = kinds[k % len(kinds)]
        if kind == "password_xls" and k >= len(kinds):  # one fixture: landed once
            kind = "encrypted"
        source = communes[(k * 97) % len(communes)]
        name, data = _JUNK[kind](source.read_bytes(), rng)
        out = source.with_name(f"{source.stem}_{name}")
        out.write_bytes(data)
        landed("reject", out, BASE_TIME + 2 * DAY + k * 60)


def _corrupt_zip(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """A workbook damaged in transit: 200 bytes in its middle overwritten."""
    middle = len(data) // 2
    return "gui_lai.xlsx", data[:middle] + rng.randbytes(200) + data[middle + 200 :]


def _truncated(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    return "dang_tai.xlsx", data[: len(data) * 3 // 5]


def _empty(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    return "bao_cao.xlsx", b""


def _html(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """A web portal's "Excel export": an HTML table saved as .xlsx."""
    page = (
        '<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8">'
        "</head><body><table><tr><td>Mã xã</td><td>Tổng số CBCC</td></tr>"
        f"<tr><td>{rng.randint(0, 99999):05d}</td><td>{rng.randint(15, 40)}</td></tr>"
        "</table></body></html>"
    )
    return "xuat_tu_phan_mem.xlsx", page.encode()


def _encrypted(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """What a password-protected .xlsx is: an OLE2 container, not a zip (here, junk inside)."""
    return "co_mat_khau.xlsx", bytes.fromhex("d0cf11e0a1b11ae1") + rng.randbytes(4096)


def _password_xls(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    return "mat_khau.xls", (REPO / "tests" / "fixtures" / "password_protected.xls").read_bytes()


def _pdf(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    return "ban_scan.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + rng.randbytes(2048) + b"\n%%EOF\n"


def _xlsb(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """Excel's binary workbook (a zip of .bin parts): refused by name, with advice."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in ("[Content_Types].xml", "xl/workbook.bin", "xl/worksheets/sheet1.bin"):
            fixed = zipfile.ZipInfo(name, date_time=(2026, 5, 28, 0, 0, 0))
            zf.writestr(fixed, rng.randbytes(512), zipfile.ZIP_DEFLATED)
    return "nhi_phan.xlsb", out.getvalue()


def _random(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    return "hong.xls", rng.randbytes(3000)


_JUNK = {
    "corrupt_zip": _corrupt_zip,
    "truncated": _truncated,
    "empty": _empty,
    "html": _html,
    "encrypted": _encrypted,
    "password_xls": _password_xls,
    "pdf": _pdf,
    "xlsb": _xlsb,
    "random": _random,
}
