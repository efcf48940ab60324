"""The planners' map page, opened from disk in real headless Chromium with the network off.

Real boundaries (../shared/data/vn_communes_2025.parquet) with synthetic gap rows: Huế (province
46, 40 units) with a unit that did not report, remote units, an approximate boundary and a unit
whose name carries a script; and the national page, 3,321 units × 9 indicators.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import polars as pl
import pytest
import shapely

from geo.maps import (
    CLASS_COLOURS,
    auto_tolerance,
    display_geometry,
    render_map_page,
    render_province_pages,
)
from geo.previews import CLASS_LABELS
from schemas.contracts import conform

HUE = "46"
PERIOD = "2025-Q4"
HUE_TITLE = "Huế — Sở KH&CN <b>thử</b>"
XSS_CODE = "19774"  # Phường Kim Long, renamed below
XSS_NAME = "<script>window.__pwned=1</script>Xã X"
XSS_FILE = '<img src=x onerror="window.__pwned=2">bao_cao.xlsx'
NOT_REPORTED = "19777"  # Phường Vỹ Dạ: no report for the first indicator
HOVER = "19819"  # Phường Phong Điền, the largest unit: large gap, then meets the next target
APPROXIMATE = "20179"  # Xã Nam Đông: drawn from an approximate boundary
REMOTE = {  # made up: unit_code -> (is_border, is_island, remote_class)
    "20056": (True, False, "ĐBKK"),  # Xã A Lưới 1
    "20161": (False, False, "vùng sâu"),  # Xã Khe Tre
    "19900": (False, True, None),  # Phường Thuận An
}
CYCLE = ("meets_target", "small", "medium", "large")
FETCHING = re.compile(
    r"""<(?:script|img|iframe|source|audio|video|embed|input|track)\b[^>]*\bsrc\s*=\s*["']?\s*"""
    r"""(?:https?:)?//|<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|url\(\s*["']?\s*(?:https?:)?//|@import""",
    re.IGNORECASE,
)


# ---------------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def units(shared_data: Path) -> gpd.GeoDataFrame:
    g = gpd.read_parquet(shared_data / "vn_communes_2025.parquet")
    code = g["ma_xa"].astype(str)
    flags = [REMOTE.get(c, (False, False, None)) for c in code]
    border = np.array([f[0] for f in flags])
    island = np.array([f[1] for f in flags])
    remote_class = np.array([f[2] for f in flags], dtype=object)
    return gpd.GeoDataFrame(
        {
            "unit_code": code,
            "unit_name": g["ten_day_du"].where(code != XSS_CODE, XSS_NAME),
            "unit_type": g["loai"].str.lower(),
            "province_code": g["ma_tinh"].astype(str),
            "province_name": g["ten_tinh"],
            "geometry_source": np.where(code == APPROXIMATE, "approximate", "official"),
            "is_border": border,
            "is_island": island,
            "remote_class": remote_class,
            "is_remote": border | island | (remote_class != None),  # noqa: E711
        },
        geometry=g.geometry.values,
        crs=g.crs,
    )


def _value(ind, cls: str, extra: float) -> tuple[float, float]:
    """A value in gap class `cls` for the indicator, and its gap."""
    small, medium = ind.gap_classes
    gap = {"meets_target": 0.0, "small": small / 2, "medium": (small + medium) / 2}.get(
        cls, medium * 1.5 + extra
    )
    return (ind.target - gap if ind.direction == "higher" else ind.target + gap), gap


def _gaps(units: gpd.GeoDataFrame, catalogue, classes: dict[tuple[int, int], str]) -> pl.DataFrame:
    rows = []
    info = units.drop(columns="geometry").reset_index(drop=True)
    for k, ind in enumerate(catalogue):
        for i, u in info.iterrows():
            cls = classes[(i, k)]
            reported = cls != "not_reported"
            value, gap = _value(ind, cls, 0.3) if reported else (None, None)
            rows.append(
                {
                    "period": PERIOD,
                    **{c: u[c] for c in ("unit_code", "unit_name", "unit_type")},
                    **{c: u[c] for c in ("province_code", "province_name")},
                    "indicator_id": ind.id,
                    "status": "reported" if reported else "not_reported",
                    "value": value,
                    "target": ind.target,
                    "gap": gap,
                    "meets_target": None if not reported else cls == "meets_target",
                    "previous_value": None if value is None else value - 1.5,
                    "change": None if value is None else 1.5,
                    "is_border": u["is_border"],
                    "is_island": u["is_island"],
                    "remote_class": u["remote_class"],
                    "is_remote": u["is_remote"],
                    "source_file": (XSS_FILE if u["unit_code"] == XSS_CODE else None)
                    or (f"{u['province_code']}/bao_cao_{PERIOD}.xlsx" if reported else None),
                    "source_sheet": "Báo cáo" if reported else None,
                    "source_row": 7 + i if reported else None,
                    "gap_class": cls,
                    "rank": i + 1,
                }
            )
    return conform(pl.DataFrame(rows, infer_schema_length=None), "coverage_gaps")


@pytest.fixture(scope="module")
def hue(units):
    return units[units["province_code"] == HUE].reset_index(drop=True)


@pytest.fixture(scope="module")
def hue_gaps(hue, catalogue) -> pl.DataFrame:
    codes = hue["unit_code"].tolist()
    classes = {
        (i, k): CYCLE[(i + k) % 4] for i in range(len(codes)) for k in range(len(catalogue.ids))
    }
    classes[(codes.index(NOT_REPORTED), 0)] = "not_reported"
    classes[(codes.index(HOVER), 0)] = "large"
    classes[(codes.index(HOVER), 1)] = "meets_target"
    return _gaps(hue, catalogue, classes)


@pytest.fixture(scope="module")
def hue_page(hue, hue_gaps, catalogue, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("maps") / "46.html"
    return render_map_page(hue, hue_gaps, catalogue, out, title=HUE_TITLE, period=PERIOD)


@pytest.fixture(scope="module")
def national_page(units, catalogue, tmp_path_factory) -> tuple[Path, float, pl.DataFrame]:
    rng = np.random.default_rng(57)
    n = len(units)
    frames = []
    for ind in catalogue:
        cls = rng.choice(["meets_target", "small", "medium", "large", "not_reported"], n)
        value = ind.target + np.where(ind.direction == "higher", -1, 1) * np.select(
            [cls == "small", cls == "medium", cls == "large"],
            [ind.gap_classes[0] / 2, sum(ind.gap_classes) / 2, ind.gap_classes[1] * 1.5],
            0,
        ) * rng.uniform(0.8, 1.0, n)
        reported = cls != "not_reported"
        frames.append(
            pl.DataFrame(
                {
                    "unit_code": units["unit_code"].to_numpy(),
                    "province_code": units["province_code"].to_numpy(),
                    "indicator_id": ind.id,
                    "value": np.where(reported, value, np.nan),
                    "target": ind.target,
                    "gap": np.where(reported, np.abs(ind.target - value), np.nan),
                    "gap_class": cls,
                    "change": np.where(reported, rng.normal(0, 3, n), np.nan),
                    "source_file": [f"{p}/bao_cao_{PERIOD}.xlsx" for p in units["province_code"]],
                    "source_sheet": "Báo cáo",
                    "source_row": np.arange(n) + 7,
                    "rank": np.arange(n) + 1,
                }
            ).with_columns(pl.col("value", "gap", "change").fill_nan(None))
        )
    gaps = pl.concat(frames)
    out = tmp_path_factory.mktemp("maps") / "index.html"
    started = time.perf_counter()
    render_map_page(units, gaps, catalogue, out, title="Cả nước / Vietnam", period=PERIOD)
    return out, time.perf_counter() - started, gaps


# ------------------------------------------------------------------------------- browser


@dataclass
class Opened:
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def assert_offline_and_clean(self) -> None:
        assert self.requests, "the request log is empty: the network guard is not working"
        outside = [u for u in self.requests if not u.startswith(("file:", "data:"))]
        assert not outside, f"the page tried to reach the network: {outside}"
        assert not self.errors, f"console errors: {self.errors}"


def open_offline(browser, path: Path) -> Opened:
    """Open the page from disk; every request that is not file:// or data: is aborted."""
    page = browser.new_page()
    opened = Opened(page)

    def guard(route) -> None:
        url = route.request.url
        opened.requests.append(url)
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", guard)
    page.on("request", lambda r: opened.requests.append(r.url))
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.errors.append(f"pageerror: {e}"))
    started = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_selector("html[data-dx-ready='1']", state="attached", timeout=30_000)
    opened.seconds = time.perf_counter() - started
    return opened


def screenshot_colours(browser, page) -> Counter:
    """Pixel colours of a screenshot of the map with its controls hidden (legend swatches do
    not count), counted by decoding the PNG in a canvas."""
    style = page.add_style_tag(content=".leaflet-control-container{visibility:hidden}")
    png = page.screenshot()
    style.evaluate("s => s.remove()")
    counter = browser.new_page()
    try:
        counts = counter.evaluate(
            """async (b64) => {
                const img = new Image();
                img.src = "data:image/png;base64," + b64;
                await img.decode();
                const c = document.createElement("canvas");
                c.width = img.width; c.height = img.height;
                const ctx = c.getContext("2d");
                ctx.drawImage(img, 0, 0);
                const d = ctx.getImageData(0, 0, c.width, c.height).data, out = {};
                for (let i = 0; i < d.length; i += 4) {
                  const k = "#" + ((1 << 24) | (d[i] << 16) | (d[i + 1] << 8) | d[i + 2])
                    .toString(16).slice(1);
                  out[k] = (out[k] || 0) + 1;
                }
                return out;
            }""",
            base64.b64encode(png).decode("ascii"),
        )
    finally:
        counter.close()
    return Counter(counts)


def point_at(page, geometry, zoom: int, css_class: str, approach: int) -> None:
    """Centre the map at `zoom` on a point inside `geometry`, check the drawn shape there has
    `css_class`, and move the mouse onto it from `approach` pixels up and left."""
    pt = shapely.point_on_surface(geometry)
    page.evaluate(  # a block, not an expression: returning the map would serialize all of it
        "([lat, lng, z]) => { window.dxMap.map.setView([lat, lng], z, {animate: false}); }",
        [pt.y, pt.x, zoom],
    )
    box = page.locator(".folium-map").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    under = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).getAttribute('class')", [x, y]
    )
    assert css_class in (under or ""), f"not over {css_class}: {under}"
    page.mouse.move(x - approach, y - approach)
    page.mouse.move(x, y, steps=max(3, approach // 10))


def hover_unit(page, geometry, code: str) -> str:
    """Centre the map on a point inside the unit, move the mouse there, return the tooltip."""
    point_at(page, geometry, 12, f"dx-u-{code}", approach=40)
    # Not one still fading out (Leaflet removes a closed tooltip 200 ms after setting opacity 0).
    tip = page.locator('.leaflet-tooltip.dx-tooltip:not(.dx-found):not([style*="opacity: 0;"])')
    tip.wait_for(timeout=5_000)
    return tip.inner_text()


def unit_fills(page) -> dict[str, str]:
    """unit_code -> fill of its drawn polygon (the unit's code is in its CSS class)."""
    return page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('path.dx-u'), p => [
            p.getAttribute('class').match(/dx-u-(\\S+)/)[1], p.getAttribute('fill')]))"""
    )


def expected_fills(gaps: pl.DataFrame, indicator_id: str) -> dict[str, str]:
    rows = gaps.filter(pl.col("indicator_id") == indicator_id).select("unit_code", "gap_class")
    return {code: CLASS_COLOURS[cls] for code, cls in rows.iter_rows()}


def fills(page) -> list[str]:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('path.dx-u'), p => p.getAttribute('fill'))"
    )


def vi_number(x: float, digits: int = 1) -> str:
    return f"{round(x, digits):.{digits}f}".rstrip("0").rstrip(".").replace(".", ",")


# --------------------------------------------------------------------------------- tests


def test_page_is_self_contained(hue_page: Path):
    html = hue_page.read_text(encoding="utf-8")
    assert not FETCHING.findall(html), FETCHING.findall(html)[:5]
    assert "Leaflet 1.9.4" in html  # inlined from django-js-lib-leaflet
    assert html.count('"type":"Topology"') == 1  # the geometry is written once
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower()
    assert XSS_NAME not in html  # the data JSON escapes "<": no "</script>" inside it
    assert "<title>Huế — Sở KH&amp;CN &lt;b&gt;thử&lt;/b&gt; · 2025-Q4</title>" in html


def test_topology_redraws_the_display_geometry(hue, hue_page: Path, shared_data: Path):
    """Decoding the page's arcs gives back the simplified polygons, with shared edges."""
    html = hue_page.read_text(encoding="utf-8")
    raw = re.search(r'id="dxlake-map-data">(.*?)</script>', html, re.S).group(1)
    topo = json.loads(raw)
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = [np.cumsum(np.array(a), axis=0) * (sx, sy) + (tx, ty) for a in topo["arcs"]]

    def ring(refs):
        parts = [arcs[r] if r >= 0 else arcs[~r][::-1] for r in refs]
        return np.concatenate([parts[0], *(p[1:] for p in parts[1:])])

    decoded = [
        shapely.MultiPolygon([(ring(p[0]), [ring(h) for h in p[1:]]) for p in g["arcs"]])
        for g in topo["objects"]["units"]["geometries"]
    ]
    expected = display_geometry(hue.geometry.values, auto_tolerance(hue.total_bounds))
    diff = shapely.area(shapely.symmetric_difference(decoded, expected))
    assert (diff / shapely.area(expected)).max() < 1e-3
    used = Counter(
        abs(r if r >= 0 else ~r)
        for g in topo["objects"]["units"]["geometries"]
        for p in g["arcs"]
        for rg in p
        for r in rg
    )
    assert sum(1 for n in used.values() if n == 2) > 60  # neighbours share their edges
    assert topo["objects"]["provinces"]["geometries"][0]["arcs"]  # the province outline
    # Full precision stays with the caller: the input frame is not modified.
    lake = gpd.read_parquet(shared_data / "vn_communes_2025.parquet")
    lake = lake[lake["ma_tinh"] == HUE].geometry.values
    assert shapely.equals_exact(hue.geometry.values, lake, tolerance=0).all()


def test_province_page_in_chromium(browser, hue, hue_page: Path, catalogue):
    opened = open_offline(browser, hue_page)
    page = opened.page
    try:
        # Polygons drawn: one path per unit, the remote outlines and the province outline.
        assert page.locator("path.dx-u").count() == 40
        assert page.locator("path.dx-remote").count() == len(REMOTE)
        assert page.locator("path.dx-province").count() == 1
        assert (
            page.locator(f"path.dx-u-{NOT_REPORTED}").get_attribute("fill")
            == (CLASS_COLOURS["not_reported"])
        )
        # The screenshot shows the classes' fills.
        colours = screenshot_colours(browser, page)
        for cls in CYCLE:
            assert colours[CLASS_COLOURS[cls]] > 300, (cls, colours.most_common(12))
        note = page.locator(".dx-note").inner_text()
        assert "chính thức / official: 39" in note and "xấp xỉ / approximate: 1" in note
        assert PERIOD in note and "<b>thử</b>" in note  # the title shown as text

        # Hovering a unit shows its tooltip: name, value, target, gap, change, source.
        geometry = dict(zip(hue["unit_code"], hue.geometry.values, strict=True))
        first = catalogue[catalogue.ids[0]]
        value, _ = _value(first, "large", 0.3)
        text = hover_unit(page, geometry[HOVER], HOVER)
        assert "Phường Phong Điền" in text
        assert f"{vi_number(value)} %" in text, text
        assert "Khoảng cách lớn / large gap" in text
        assert f"bao_cao_{PERIOD}.xlsx › Báo cáo" in text and "dòng / row" in text
        assert "+1,5" in text  # change since the previous period

        # Switching layers restyles the units (and the legend follows).
        before = fills(page)
        assert page.locator(f"path.dx-u-{HOVER}").get_attribute("fill") == "#d73027"
        page.locator(".leaflet-control-layers-base input").nth(1).check()
        page.wait_for_function(
            f"() => document.querySelector('path.dx-u-{HOVER}')"
            f".getAttribute('fill') === '{CLASS_COLOURS['meets_target']}'"
        )
        after = fills(page)
        assert len(after) == 40 and after != before
        second = catalogue[catalogue.ids[1]]
        assert second.name_vi in page.locator(".dx-legend h3").inner_text()

        # A remote unit says so in its tooltip.
        text = hover_unit(page, geometry["20056"], "20056")
        assert "Biên giới / border" in text and "ĐBKK" in text

        # The name carrying a script is shown as text and never runs.
        text = hover_unit(page, geometry[XSS_CODE], XSS_CODE)
        assert XSS_NAME in text and XSS_FILE in text
        assert page.locator(".leaflet-tooltip script, .leaflet-tooltip img").count() == 0
        assert page.evaluate("() => window.__pwned") is None

        # Search without diacritics finds the unit, zooms to it and highlights it.
        search = page.locator(".dx-search input")
        search.fill("phu xuan")
        hits = page.locator(".dx-search li button").all_inner_texts()
        assert any(h.startswith("Phường Phú Xuân") for h in hits), hits
        search.press("Enter")
        page.locator("path.dx-highlight").wait_for()
        assert "Phường Phú Xuân" in page.locator(".leaflet-tooltip.dx-found").inner_text()
        assert page.evaluate("() => window.dxMap.map.getZoom()") >= 11
        for typed in ("PHÚ XUÂN", "Phu  Xuân", "xa x"):
            search.fill(typed)
            assert page.locator(".dx-search li button").count() >= 1, typed
        assert page.locator(".dx-search li button").first.inner_text().startswith(XSS_NAME)
        assert page.evaluate("() => window.__pwned") is None
        opened.assert_offline_and_clean()
    finally:
        page.close()


def test_national_page(browser, national_page, units, catalogue):
    """The issue's "done when": the national page from disk, network off, no console errors,
    every unit drawn in its class's fill, a tooltip read, a layer switch, a search without
    diacritics."""
    path, build_s, gaps = national_page
    size_mb = path.stat().st_size / 1e6
    print(f"\nnational page: {size_mb:.2f} MB, built in {build_s:.1f} s")
    assert size_mb <= 4.0
    html = path.read_text(encoding="utf-8")
    assert not FETCHING.findall(html)
    opened = open_offline(browser, path)
    page = opened.page
    try:
        print(f"national page ready in Chromium in {opened.seconds:.1f} s")
        assert page.locator("path.dx-u").count() == len(units) == 3321
        assert page.locator("path.dx-province").count() == 1
        first, last = catalogue.ids[0], catalogue.ids[8]
        assert unit_fills(page) == expected_fills(gaps, first)
        colours = screenshot_colours(browser, page)
        for cls in CYCLE:
            assert colours[CLASS_COLOURS[cls]] > 300, (cls, colours.most_common(12))
        assert colours["#d9d9d9"] > 300, colours.most_common(12)  # not reported: hatched grey

        # A tooltip: the unit under the mouse with its figures for the layer shown.
        row = gaps.filter((pl.col("unit_code") == HOVER) & (pl.col("indicator_id") == first))
        geometry = units.geometry[units["unit_code"] == HOVER].iloc[0]
        text = hover_unit(page, geometry, HOVER)
        assert "Phường Phong Điền" in text and "Huế" in text, text
        assert row["gap_class"].to_list() == ["small"]  # seeded; a reported value to read
        vi, en = CLASS_LABELS["small"]
        assert f"{vi} / {en}" in text and f"{vi_number(row['value'][0])} %" in text, text
        assert f"46/bao_cao_{PERIOD}.xlsx › Báo cáo" in text, text

        # Switching layers restyles every unit to the new indicator's classes.
        page.locator(".leaflet-control-layers-base input").nth(8).check()
        assert page.locator("path.dx-u").count() == 3321
        assert unit_fills(page) == expected_fills(gaps, last)
        assert catalogue[last].name_vi in page.locator(".dx-legend h3").inner_text()

        search = page.locator(".dx-search input")
        search.fill("phu xuan")
        page.locator(".dx-search li button", has_text="Phường Phú Xuân — Huế").click()
        assert "Phường Phú Xuân" in page.locator(".leaflet-tooltip.dx-found").inner_text()
        assert page.locator("path.dx-highlight").count() == 1
        opened.assert_offline_and_clean()
    finally:
        page.close()


def test_province_pages(units, hue_gaps, catalogue, tmp_path: Path):
    paths = render_province_pages(units, hue_gaps, catalogue, tmp_path, PERIOD)
    assert [p.name for p in paths] == ["46-hue.html"]
    assert "Huế" in paths[0].read_text(encoding="utf-8")
    # Written beside and renamed: nothing left over, readable by others (not mkstemp's 0600).
    assert [p.name for p in tmp_path.iterdir()] == ["46-hue.html"]
    assert paths[0].stat().st_mode & 0o777 == 0o644


# ------------------------------------------------------------------------- 5G dead zones

DEMO_PERIOD = "2026-H1"
DZ_LABEL = "Vùng lõm sóng 5G / 5G dead zones"


def vi_grouped(x: float) -> str:
    """A number as the page's fmt() shows it in vi-VN: 12.345,6 (at most 2 decimals)."""
    s = f"{x:,.2f}".rstrip("0").rstrip(".")
    return s.translate(str.maketrans(",.", ".,"))


def test_demo_map_page_shows_the_5g_dead_zones(browser, demo_run):
    """The demo's map page: one overlay polygon per 5G dead zone of at least one person in the
    lake's dead_zones table, toggled from the layer control, each with its tooltip."""
    from geo.coverage import dead_zone_layer
    from schemas.lake import table_path

    settings, _, _, _ = demo_run
    zones = gpd.read_parquet(table_path(settings.lake, "dead_zones", DEMO_PERIOD))
    expected = zones[(zones["technology"] == "5G") & (zones["population"] >= 1)]
    assert len(expected) > 0
    admin = gpd.read_parquet(table_path(settings.lake, "admin_units"))
    shown = dead_zone_layer(zones, units=admin, technology="5G", min_population=1)
    assert len(shown) == len(expected)

    path = settings.reports / DEMO_PERIOD / "maps" / "index.html"
    html = path.read_text(encoding="utf-8")
    assert not FETCHING.findall(html)
    assert html.count('"type":"Topology"') == 1  # the zones share the page's one topology
    # Their arcs, decoded on the page's one transform, redraw the zones (to the 1 m quantum),
    # each naming its unit, people and area.
    topo = json.loads(re.search(r'id="dxlake-map-data">(.*?)</script>', html, re.S).group(1))
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs = [np.cumsum(np.array(a), axis=0) * (sx, sy) + (tx, ty) for a in topo["arcs"]]

    def ring(refs):
        parts = [arcs[r] if r >= 0 else arcs[~r][::-1] for r in refs]
        return np.concatenate([parts[0], *(p[1:] for p in parts[1:])])

    geometries = topo["objects"]["deadZones"]["geometries"]
    decoded = [
        shapely.MultiPolygon([(ring(p[0]), [ring(h) for h in p[1:]]) for p in g["arcs"]])
        for g in geometries
    ]
    assert len(decoded) == len(expected)
    diff = shapely.area(shapely.symmetric_difference(decoded, shown.geometry.values))
    assert (diff <= shapely.length(shown.geometry.values) * 1e-5).all()  # rounding to 1e-5°
    codes = [u["c"] for u in (g["properties"] for g in topo["objects"]["units"]["geometries"])]
    assert [codes[g["properties"]["u"]] for g in geometries] == shown["unit_code"].tolist()
    assert [g["properties"]["q"] for g in geometries] == shown["population"].tolist()
    assert topo["meta"]["deadZones"]["count"] == len(expected)

    opened = open_offline(browser, path)
    page = opened.page
    try:
        assert page.locator("path.dx-dz").count() == len(expected)
        assert page.evaluate("() => window.dxMap.deadZones.getLayers().length") == len(expected)
        overlay = page.locator(".leaflet-control-layers-overlays label", has_text=DZ_LABEL)
        assert overlay.count() == 1
        legend = page.locator(".dx-legend .dx-row", has_text="Vùng lõm sóng 5G")
        assert legend.locator(".dx-count").inner_text() == str(len(expected))
        people = vi_grouped(round(float(shown["population"].sum())))  # the zones drawn
        assert f"({people} người)" in legend.inner_text()

        # Toggled off and on again from the layer control.
        overlay.locator("input").uncheck()
        assert page.locator("path.dx-dz").count() == 0
        overlay.locator("input").check()
        assert page.locator("path.dx-dz").count() == len(expected)

        # The largest zone's tooltip: its unit, province, people and area.
        zone = shown.iloc[0]
        unit = admin[admin["unit_code"] == zone["unit_code"]].iloc[0]
        point_at(page, zone.geometry, 14, "dx-dz", approach=3)  # from inside the small zone
        tip = page.locator(".leaflet-tooltip.dx-dz-tip")
        tip.wait_for(timeout=5_000)
        text = tip.inner_text()
        assert "Vùng lõm sóng 5G / 5G dead zone" in text, text
        assert unit["unit_name"] in text and unit["province_name"] in text, text
        assert f"{vi_grouped(zone['population'])} người / people" in text, text
        assert f"{vi_grouped(zone['area_km2'])} km²" in text, text

        # Beside the zones, the units below still answer the mouse with their own tooltips.
        outside = unit.geometry.difference(shapely.union_all(shown.geometry.values))
        text = hover_unit(page, outside, unit["unit_code"])
        assert unit["unit_name"] in text and "Khoảng cách" in text, text
        assert "người / people" not in text, text
        opened.assert_offline_and_clean()
    finally:
        page.close()


def test_an_empty_dead_zone_table_gives_a_page_without_the_overlay(
    browser, hue, hue_gaps, catalogue, tmp_path: Path
):
    """An empty dead_zones table (a period without cell sites), as the lake stores it: the
    page is written and works, with no dead-zone layer, legend row or data."""
    from assets.resources import geo_contract
    from geo.coverage import dead_zone_layer
    from schemas.contracts import DEAD_ZONES
    from schemas.lake import read_geotable, write_table

    empty = gpd.GeoDataFrame(
        {c: [] for c in DEAD_ZONES if c != "period"}, geometry=[], crs="EPSG:4326"
    )
    empty.insert(0, "period", PERIOD)
    stored = write_table(tmp_path / "dead_zones.parquet", geo_contract("dead_zones", empty))
    layer = dead_zone_layer(read_geotable(stored), units=hue, technology="5G", min_population=1)
    assert len(layer) == 0
    out = render_map_page(
        hue, hue_gaps, catalogue, tmp_path / "46.html", title="Huế", period=PERIOD,
        dead_zones=layer,
    )  # fmt: skip
    html = out.read_text(encoding="utf-8")
    assert '"deadZones"' not in html and not FETCHING.findall(html)
    opened = open_offline(browser, out)
    page = opened.page
    try:
        assert page.locator("path.dx-u").count() == 40
        assert page.locator("path.dx-dz").count() == 0
        assert "Vùng lõm sóng" not in page.locator(".leaflet-control-layers").inner_text()
        assert "Vùng lõm sóng" not in page.locator(".dx-legend").inner_text()
        assert page.evaluate("() => window.dxMap.deadZones") is None
        opened.assert_offline_and_clean()
    finally:
        page.close()


def test_the_national_page_draws_the_dead_zones_within_its_budget(
    browser, units, national_page, catalogue
):
    """A national set of dead zones (a ragged 5 km zone in every commune: ~3 MB as drawn on a
    province page) on the national page: simplified to the page's tolerance and cut to its
    share of the 4 MB budget, remote communes' zones first, then the most people; the meta
    says how many of how many, and how many people all of them hold."""
    from geo.coverage import dead_zone_layer
    from geo.maps import OVERVIEW_ZONE_BYTES

    page, _, gaps = national_page
    rng = np.random.default_rng(13)
    metric = units.to_crs("EPSG:32648")
    centres = shapely.get_coordinates(metric.geometry.representative_point())
    angles = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    radii = 2500 + rng.uniform(-400, 400, (len(units), angles.size))
    zones = gpd.GeoDataFrame(
        {
            "unit_code": units["unit_code"].to_numpy(),
            "province_code": units["province_code"].to_numpy(),
            "technology": "5G",
            "population": rng.uniform(1, 5000, len(units)).round(1),
            "area_km2": 19.6,
        },
        geometry=shapely.polygons(
            np.stack(
                [
                    centres[:, :1] + radii * np.sin(angles),
                    centres[:, 1:] + radii * np.cos(angles),
                ],
                axis=-1,
            )
        ),
        crs="EPSG:32648",
    )
    layer = dead_zone_layer(zones, units=units, technology="5G")
    out = render_map_page(
        units, gaps, catalogue, page.with_name("zones.html"), title="Cả nước / Vietnam",
        period=PERIOD, dead_zones=layer,
    )  # fmt: skip
    html = out.read_text(encoding="utf-8")
    topo = json.loads(re.search(r'id="dxlake-map-data">(.*?)</script>', html, re.S).group(1))
    meta = topo["meta"]["deadZones"]
    drawn = topo["objects"]["deadZones"]["geometries"]
    assert meta["total"] == len(units) and 0 < meta["count"] == len(drawn) < len(units)
    assert meta["totalPopulation"] == round(layer["population"].sum())
    added = len(html.encode()) - page.stat().st_size
    assert added <= 1.6 * OVERVIEW_ZONE_BYTES  # the estimate, measured within this
    codes = [g["properties"]["c"] for g in topo["objects"]["units"]["geometries"]]
    shown = {codes[g["properties"]["u"]] for g in drawn}
    info = layer.set_index("unit_code")
    remote = info["is_remote"].astype(bool)
    # Remote communes' zones first: none left out while another's is drawn...
    if any(not remote[c] for c in shown):
        assert remote[remote].index.isin(list(shown)).all()
    # ...then the most people: every zone drawn holds at least as many as any left out.
    kind = remote[list(shown)].iloc[-1]
    same = info[remote == kind]
    left = same[~same.index.isin(list(shown))]["population"]
    if len(left):
        assert same[same.index.isin(list(shown))]["population"].min() >= left.max()
    opened = open_offline(browser, out)
    try:
        assert opened.page.locator("path.dx-dz").count() == meta["count"]
        legend = opened.page.locator(".dx-legend").inner_text()
        assert f"{meta['count']}/{meta['total']} vùng" in legend
        assert "every zone on the province pages" in legend
        opened.assert_offline_and_clean()
    finally:
        opened.page.close()
