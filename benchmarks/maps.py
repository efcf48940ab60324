"""Benchmark: the national map page (3,321 units × 9 indicators) against the page a folium user
writes first, both opened in headless Chromium with the network off.

Why: planners open these pages on ordinary office laptops, often with no Internet; the page must
stay small and draw fast at national scale. The baseline shows what the shared, simplified
TopoJSON saves over one `folium.GeoJson` per indicator with full-precision geometry.

What runs, in one process, on ../shared/data/vn_communes_2025.parquet:
- synthetic but deterministic (seeded) reports for every unit and indicator, some units not
  reporting, turned into coverage_gaps by the product's own gap code;
- build: `geo.maps.render_map_page` on all units (timed: build_s), with its base layer
  (neighbouring countries, seas, province names) and side panel (layers, ranked list);
- the naive page: folium.Map, one folium.GeoJson per indicator (full geometry, the indicator's
  value and class as properties, a style_function by class, a GeoJsonTooltip), a LayerControl; only
  the first layer shown (what a user does once nine stacked layers hide each other);
- render: each page opened from disk in a fresh Chromium context (Debian's /usr/bin/chromium);
  every request that is not file: or data: is refused, except that the naive page's Leaflet
  CDN URLs are answered from the Leaflet the project ships (so it can draw at all offline);
  timed from navigation until the first layer's 3,321 SVG paths exist and a frame has been
  painted. `--runs N` opens each page N times and reports the median.

Run: `uv run python benchmarks/maps.py`. Last line:
RESULT units=3321 html_mb=<mb> build_s=<s> render_s=<s> naive_html_mb=<mb> naive_render_s=<s>
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assets.indicators.gaps import compute_coverage_gaps, compute_indicator_values  # noqa: E402
from geo.maps import CLASS_COLOURS, render_map_page  # noqa: E402
from schemas.catalogue import Catalogue, load_catalogue  # noqa: E402

BOUNDARIES = REPO.parent / "shared" / "data" / "vn_communes_2025.parquet"
CHROMIUM = "/usr/bin/chromium"
PERIOD = "2026-H1"
SEED = 20260601
OUT = Path(tempfile.gettempdir()) / "dxlake-bench-maps"
LEAFLET = Path(find_spec("js_lib_leaflet").origin).parent / "static" / "js_lib_leaflet"
NAIVE_FILL = {**CLASS_COLOURS, "not_reported": "#bdbdbd"}  # folium styles cannot use SVG patterns


def load_units(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The real communes with made-up remote flags (a tenth border, a few islands and classes)."""
    g = gpd.read_parquet(BOUNDARIES)
    n = len(g)
    border, island = rng.random(n) < 0.10, rng.random(n) < 0.01
    remote_class = np.where(rng.random(n) < 0.05, "ĐBKK", None)
    return gpd.GeoDataFrame(
        {
            "unit_code": g["ma_xa"].astype(str),
            "unit_name": g["ten_day_du"],
            "unit_type": g["loai"].str.lower(),
            "province_code": g["ma_tinh"].astype(str),
            "province_name": g["ten_tinh"],
            "geometry_source": "official",
            "is_border": border,
            "is_island": island,
            "remote_class": remote_class,
            "is_remote": border | island | (remote_class != None),  # noqa: E711
        },
        geometry=g.geometry.values,
        crs=g.crs,
    )


def synthetic_gaps(
    units: gpd.GeoDataFrame, catalogue: Catalogue, rng: np.random.Generator
) -> pl.DataFrame:
    """coverage_gaps as the pipeline computes it from seeded reports: per indicator a quarter of
    the units at or past target, the rest behind by an exponential shortfall, 6% not reporting,
    and a previous period a little behind this one (so the trend column is filled)."""
    info = pl.from_pandas(units.drop(columns="geometry"))
    codes = info["unit_code"].to_numpy()
    n = len(codes)
    now, before = [], []
    for ind in catalogue:
        lo, hi = ind.valid_range
        shortfall = rng.exponential(ind.gap_classes[1] * 0.8, n)
        meets = rng.random(n) < 0.25
        shortfall[meets] = -rng.uniform(0, ind.gap_classes[0] + 1e-9, meets.sum())
        sign = 1 if ind.direction == "higher" else -1
        value = np.clip(ind.target - sign * shortfall, lo, min(hi, 100) if ind.is_percent else hi)
        if not ind.is_percent:
            value = np.rint(value)
        previous = np.clip(value - sign * rng.exponential(ind.gap_classes[0], n), lo, hi)
        reported = rng.random(n) >= 0.06
        frame = {"unit_code": codes, "indicator_id": ind.id}
        now.append(
            pl.DataFrame(
                {
                    **frame,
                    "value": value,
                    "source_file": [f"so_khcn_{p}_{PERIOD}.xlsx" for p in info["province_code"]],
                    "source_sheet": "Báo cáo",
                    "source_row": np.arange(n) + 7,
                }
            ).filter(pl.Series(reported))
        )
        before.append(pl.DataFrame({**frame, "value": previous}))
    provinces = sorted(info["province_code"].unique())
    values = compute_indicator_values(
        pl.concat(now), info, catalogue, PERIOD, provinces, previous=pl.concat(before)
    )
    return compute_coverage_gaps(values, catalogue)


def naive_page(
    units: gpd.GeoDataFrame, gaps: pl.DataFrame, catalogue: Catalogue, out: Path
) -> Path:
    """The page a folium user writes first: one GeoJson per indicator, full geometry each time."""
    m = folium.Map(location=[16, 106], zoom_start=6, tiles=None)
    base = units[["unit_code", "unit_name", "province_name", "geometry"]]
    for k, ind in enumerate(catalogue):
        rows = gaps.filter(pl.col("indicator_id") == ind.id).select(
            "unit_code", "value", "gap", "gap_class"
        )
        layer = base.merge(rows.to_pandas(), on="unit_code", how="left")
        folium.GeoJson(
            layer,
            name=ind.name_vi,
            show=k == 0,
            style_function=lambda f: {
                "fillColor": NAIVE_FILL[f["properties"]["gap_class"]],
                "fillOpacity": 1,
                "color": "#ffffff",
                "weight": 0.6,
            },
            tooltip=folium.GeoJsonTooltip(
                ["unit_name", "province_name", "value", "gap", "gap_class"]
            ),
        ).add_to(m)
    folium.LayerControl().add_to(m)
    m.save(str(out))
    return out


def _serve_offline(route) -> None:
    """file: and data: load; Leaflet's CDN URLs get the local Leaflet; anything else is refused."""
    url = route.request.url
    if url.startswith(("file:", "data:")):
        route.continue_()
    elif "leaflet" in url and url.endswith(("/leaflet.js", "/leaflet.css")):
        name = url.rsplit("/", 1)[1]
        kind = "application/javascript" if name.endswith(".js") else "text/css"
        route.fulfill(body=(LEAFLET / name).read_bytes(), content_type=kind)
    else:
        route.abort("internetdisconnected")


def time_render(browser, path: Path, expected: int) -> tuple[float, list[str]]:
    """Seconds from navigation until `expected` unit paths are in the overlay pane and painted;
    the console errors seen (the naive page logs its refused jQuery/Bootstrap requests)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    errors: list[str] = []
    try:
        context.route("**/*", _serve_offline)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        started = time.perf_counter()
        page.goto(path.as_uri(), wait_until="commit", timeout=600_000)
        page.wait_for_function(
            """(n) => document.querySelectorAll(".leaflet-overlay-pane path").length >= n""",
            arg=expected,
            polling=50,
            timeout=600_000,
        )
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
        return time.perf_counter() - started, errors
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="openings per page (median)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    rng = np.random.default_rng(SEED)
    catalogue = load_catalogue()
    units = load_units(rng)
    gaps = synthetic_gaps(units, catalogue, rng)
    assert gaps["indicator_id"].n_unique() == 9 and gaps.height == 9 * len(units)
    OUT.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    page = render_map_page(
        units, gaps, catalogue, OUT / "index.html", title="Cả nước / Vietnam", period=PERIOD
    )
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    naive = naive_page(units, gaps, catalogue, OUT / "naive.html")
    naive_build_s = time.perf_counter() - started
    print(f"built: product {build_s:.1f} s, naive {naive_build_s:.1f} s; pages in {OUT}")

    expected = len(units)  # one path per unit (MultiPolygons are one path in Leaflet)
    times: dict[str, list[float]] = {"product": [], "naive": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            for _ in range(args.runs):
                for name, path in (("product", page), ("naive", naive)):
                    seconds, errors = time_render(browser, path, expected)
                    times[name].append(seconds)
                    print(f"{name}: drawn in {seconds:.2f} s, {len(errors)} console error(s)")
                    if name == "product" and errors:
                        raise SystemExit(f"console errors on the product page: {errors}")
        finally:
            browser.close()

    mb = page.stat().st_size / 1e6
    naive_mb = naive.stat().st_size / 1e6
    render_s, naive_render_s = (statistics.median(times[k]) for k in ("product", "naive"))
    print(
        f"RESULT units={len(units)} html_mb={mb:.2f} build_s={build_s:.1f} "
        f"render_s={render_s:.2f} naive_html_mb={naive_mb:.1f} naive_render_s={naive_render_s:.1f}"
    )


if __name__ == "__main__":
    main()
