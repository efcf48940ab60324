"""Synthetic coverage demo for Huế (province 46): a population grid and a cell-site list.

The demo ships no real grid and no operator's site list: both are generated here, at run time,
deterministically (same seed, same files), and say they are synthetic — in the GeoTIFF's tags
and file name, and in the site list's title row and file name. Nothing is downloaded.

- grid: $DXLAKE_HOME/grids/population_synthetic_46_100m.tif, 100 m in UTM 48N, each commune's
  synthetic population as a bell around its centre (wards denser than communes);
- sites: landing/<period>/cell_sites_synthetic_hue_<period>.csv, semicolon-delimited with
  decimal commas and Vietnamese headers, as an operator might send it: 4G everywhere but the
  remotest communes, 5G in the wards and the larger communes, some sectors, and two rows
  planted bad (swapped coordinates, no radius) that the cell_sites table must reject.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyproj
import rasterio
from rasterio.transform import from_origin

from geo.units import official_units

PROVINCE = "46"
PERIOD = "2026-H1"
GRID_NAME = "population_synthetic_46_100m.tif"
CRS = "EPSG:32648"
RES = 100.0
SEED = 4613
NO_SIGNAL_UNITS = 3  # the westernmost communes get no site at all: dead zones to find


@dataclass
class DemoCoverageSpec:
    """What the demo wrote."""

    grid: Path
    sites_file: Path
    population: dict[str, float]  # unit_code → synthetic people put on the grid
    sites: int  # good site rows written
    planted: list[tuple[int, str]] = field(default_factory=list)  # (row, reason) to reject
    no_signal: list[str] = field(default_factory=list)  # units given no site


def _synthetic_population(units: pl.DataFrame, rng: np.random.Generator) -> np.ndarray:
    wards = units["unit_type"].str.contains("phường").to_numpy()
    return np.where(
        wards, rng.uniform(20_000, 40_000, len(units)), rng.uniform(5_000, 15_000, len(units))
    ).round()


def write_demo_coverage(
    home: str | Path, period: str = PERIOD, province: str = PROVINCE
) -> DemoCoverageSpec:
    """Write the synthetic grid and site list for `province` under `home` and say what they hold."""
    home = Path(home)
    rng = np.random.default_rng(SEED)
    units = official_units().filter(pl.col("province_code") == province).sort("unit_code")
    codes = units["unit_code"].to_list()
    to_m = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    cx, cy = (np.asarray(a) for a in to_m.transform(units["centre_lon"], units["centre_lat"]))
    people = _synthetic_population(units, rng)
    spread = 350 * np.sqrt(units["area_km2"].fill_null(50).to_numpy())  # metres, ~1/3 of a side

    # The grid: the province's centres ± 20 km, each commune a bell of its people.
    left = math.floor((cx.min() - 20_000) / RES) * RES
    top = math.ceil((cy.max() + 20_000) / RES) * RES
    width = math.ceil((cx.max() + 20_000 - left) / RES)
    height = math.ceil((top - cy.min() + 20_000) / RES)
    xs = left + (np.arange(width) + 0.5) * RES
    ys = top - (np.arange(height) + 0.5) * RES
    grid = np.zeros((height, width), dtype=np.float64)
    for x, y, n, s in zip(cx, cy, people, spread, strict=True):
        gx = np.exp(-0.5 * ((xs - x) / s) ** 2)
        gy = np.exp(-0.5 * ((ys - y) / s) ** 2)
        bell = np.outer(gy, gx)
        grid += n * bell / bell.sum()
    grid[grid < 0.05] = 0  # uninhabited beyond the bells
    path = home / "grids" / GRID_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
        crs=CRS, transform=from_origin(left, top, RES, RES), nodata=-1.0, compress="deflate",
    ) as dst:  # fmt: skip
        dst.write(grid.astype("float32"), 1)
        dst.update_tags(
            SYNTHETIC="yes",
            DESCRIPTION="DỮ LIỆU GIẢ LẬP / SYNTHETIC population grid for the dxlake demo "
            f"(province {province}); not a real population estimate",
        )

    # The sites: none in the westernmost communes, 4G elsewhere, 5G where people are densest.
    no_signal = [codes[i] for i in np.argsort(cx)[:NO_SIGNAL_UNITS]]
    to_ll = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    rows = []
    operators = ["Viettel", "VNPT", "MobiFone"]
    for i, code in enumerate(codes):
        if code in no_signal:
            continue
        ward = people[i] >= 20_000
        for tech, count, radius in (
            ("4G", 3 if ward else 2, (800, 1200) if ward else (2500, 4000)),
            ("5G", 4 if ward else int(rng.integers(0, 3)), (500, 900) if ward else (1200, 2200)),
        ):
            for _ in range(count):
                x = cx[i] + rng.normal(0, spread[i] * 0.6)
                y = cy[i] + rng.normal(0, spread[i] * 0.6)
                lon, lat = to_ll.transform(x, y)
                sector = rng.random() < 0.2
                rows.append(
                    [
                        operators[len(rows) % 3],
                        f"HUE-{tech}-{len(rows) + 1:04d}",
                        tech,
                        lat,
                        lon,
                        float(round(rng.uniform(*radius), -1)),
                        float(rng.integers(0, 360)) if sector else None,
                        120.0 if sector else None,
                    ]
                )
    sites_file = home / "landing" / period / f"cell_sites_synthetic_hue_{period}.csv"
    sites_file.parent.mkdir(parents=True, exist_ok=True)

    def num(v: float | None, digits: int = 6) -> str:  # decimal comma, as offices write it
        return "" if v is None else f"{v:.{digits}f}".replace(".", ",")

    lines = [
        "DANH SÁCH TRẠM PHÁT SÓNG - DỮ LIỆU GIẢ LẬP (SYNTHETIC, demo dxlake);;;;;;;",
        f"Tỉnh/Thành phố: {units['province_name'][0]}; Kỳ báo cáo: {period};;;;;;",
        "Nhà mạng;Mã trạm;Công nghệ;Vĩ độ;Kinh độ;Bán kính (m);Góc phương vị (độ);"
        "Độ rộng búp sóng (độ)",
    ]
    lines += [
        ";".join([r[0], r[1], r[2], num(r[3]), num(r[4]), num(r[5], 0), num(r[6], 0), num(r[7], 0)])
        for r in rows
    ]
    # Two planted errors, after the good rows: lat/lon swapped, and no radius.
    first_bad = len(lines) + 1
    lines.append(f"Viettel;HUE-BAD-1;5G;{num(rows[0][4])};{num(rows[0][3])};800;;")
    lines.append(f"VNPT;HUE-BAD-2;4G;{num(rows[1][3])};{num(rows[1][4])};;;")
    sites_file.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return DemoCoverageSpec(
        grid=path,
        sites_file=sites_file,
        population=dict(zip(codes, people.tolist(), strict=True)),
        sites=len(rows),
        planted=[
            (first_bad, "coordinates outside Vietnam"),
            (first_bad + 1, "no coverage radius"),
        ],
        no_signal=no_signal,
    )
