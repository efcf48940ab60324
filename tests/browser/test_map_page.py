"""The planners' map page, opened from disk in real headless Chromium with the network off.

Real boundaries (../shared/data/vn_communes_2025.parquet) with synthetic gap rows: Huế (province
46, 40 units) with a unit that did not report, remote units, an approximate boundary and a unit
whose name carries a script; and the national page, 3,321 units × 9 indicators. The last tests
(issue 22) open both at the screen sizes planners' offices have (1280×720, 1366×768): overlays
off at load, legend colours as drawn, no control covered, tooltips inside the map, the ranked
list, word-start search over units and provinces, unknown gap classes.
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
from geo.page import render_page
from geo.previews import CLASS_LABELS
from geo.topology import decode_arcs
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
def hue_page(hue, hue_gaps, units, catalogue, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("maps") / "46.html"
    return render_map_page(
        hue, hue_gaps, catalogue, out, title=HUE_TITLE, period=PERIOD, context=units
    )


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


def open_offline(browser, path: Path, size: tuple[int, int] | None = None) -> Opened:
    """Open the page from disk (in a `size` viewport, default the context's); every request
    that is not file:// or data: is aborted."""
    page = browser.new_page()
    if size is not None:
        page.set_viewport_size({"width": size[0], "height": size[1]})
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
    """Pixel colours of a screenshot of the map with its controls and side panel hidden (legend
    swatches do not count), counted by decoding the PNG in a canvas."""
    style = page.add_style_tag(
        content=".leaflet-control-container,.dx-side,.dx-label{visibility:hidden}"
    )
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


def show_layer(page, n: int) -> None:
    """The page's n-th indicator layer shown, picked in the layer control as a planner picks
    it (Playwright leaves a radio already checked as it is)."""
    page.locator(".leaflet-control-layers-base input").nth(n).check()


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


def test_the_page_is_built_by_folium(browser, hue_page: Path):
    """folium writes the map's div and creates the Leaflet map; the page's script draws on that
    map (it creates none of its own), and the whole page still loads nothing from the network."""
    html = hue_page.read_text(encoding="utf-8")
    name = re.search(r'<div class="folium-map" id="(map_\w+)" ></div>', html).group(1)
    assert html.count(f"var {name} = L.map(") == 1  # folium's Map template
    assert len(re.findall(r"\bL\.map\(", html)) == 1  # and nobody else's
    assert f'window.dxlakeMapName = "{name}";' in html
    opened = open_offline(browser, hue_page)
    page = opened.page
    try:
        state = page.evaluate(
            """(name) => {
                const m = window[name];
                return {same: window.dxMap.map === m, leaflet: m instanceof L.Map,
                        id: m.getContainer().id, zoomSnap: m.options.zoomSnap,
                        zoomDelta: m.options.zoomDelta, canvas: m.options.preferCanvas,
                        tiles: document.querySelectorAll(".leaflet-tile").length,
                        units: m.getContainer().querySelectorAll("path.dx-u").length};
            }""",
            name,
        )
        assert state == {
            "same": True,
            "leaflet": True,
            "id": name,
            "zoomSnap": 0.25,
            "zoomDelta": 0.5,
            "canvas": False,
            "tiles": 0,
            "units": 40,
        }
        opened.assert_offline_and_clean()
    finally:
        page.close()


def test_template_syntax_in_the_text_and_data_is_kept_as_is():
    """The arcs' characters include `{` (a national page holds `{{` over a hundred times) and
    names may hold anything: folium's rendering must not read any of it as Jinja."""
    data = {"arcs": ["?{{A", "}}~{%"], "name": "{% raw %}{{ this }}{# x #}</script>"}
    html = render_page(title="{{ 7*7 }} <b>", period="{% if 1 %}H1{% endif %}", data=data)
    raw = re.search(r'id="dxlake-map-data">(.*?)</script>', html, re.S).group(1)
    assert json.loads(raw) == data
    assert "<title>{{ 7*7 }} &lt;b&gt; · {% if 1 %}H1{% endif %}</title>" in html


def test_topology_redraws_the_display_geometry(hue, hue_page: Path, shared_data: Path):
    """Decoding the page's arcs gives back the simplified polygons, with shared edges."""
    html = hue_page.read_text(encoding="utf-8")
    raw = re.search(r'id="dxlake-map-data">(.*?)</script>', html, re.S).group(1)
    topo = json.loads(raw)
    arcs = decode_arcs(topo["arcs"], topo["transform"])

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
        # Polygons drawn: one path per unit and the province outline; the remote outlines are
        # an overlay, off at load, drawn when switched on.
        assert page.locator("path.dx-u").count() == 40
        assert page.locator("path.dx-province").count() == 1
        assert page.locator("path.dx-remote").count() == 0
        remote = page.locator(".leaflet-control-layers-overlays label", has_text="remote units")
        remote.locator("input").check()
        assert page.locator("path.dx-remote").count() == len(REMOTE)
        remote.locator("input").uncheck()
        assert (
            page.locator(f"path.dx-u-{NOT_REPORTED}").get_attribute("fill")
            == (CLASS_COLOURS["not_reported"])
        )
        # The screenshot shows the classes' fills.
        colours = screenshot_colours(browser, page)
        for cls in CYCLE:
            assert colours[CLASS_COLOURS[cls]] > 300, (cls, colours.most_common(12))
        note = page.locator(".dx-note").text_content()
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
        show_layer(page, 1)
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
    assert size_mb <= 3.5
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
        show_layer(page, 8)
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
    html = paths[0].read_text(encoding="utf-8")
    assert "Huế" in html
    # Its base map: the provinces around it (from all the units), Laos and the sea's land.
    topo = json.loads(re.search(r'id="dxlake-map-data">(.*?)</script>', html, re.S).group(1))
    labels = {(b[0], b[4]) for b in topo["meta"]["baseLabels"]}
    assert {("Quảng Trị", "province"), ("Đà Nẵng", "province"), ("Lào", "country")} <= labels
    base = [g["properties"]["n"][0] for g in topo["objects"]["base"]["geometries"]]
    assert {"Quảng Trị", "Đà Nẵng", "Lào", "Việt Nam"} <= set(base) and "Huế" not in base
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
    arcs = decode_arcs(topo["arcs"], topo["transform"])

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
        # Off at load: the indicator's colours are what the legend says.
        assert page.locator("path.dx-dz").count() == 0
        assert page.evaluate("() => window.dxMap.deadZones.getLayers().length") == len(expected)
        overlay = page.locator(".leaflet-control-layers-overlays label", has_text=DZ_LABEL)
        assert overlay.count() == 1
        assert not overlay.locator("input").is_checked()
        legend = page.locator(".dx-legend .dx-row", has_text="Vùng lõm sóng 5G")
        assert legend.locator(".dx-count").inner_text() == str(len(expected))
        people = vi_grouped(round(float(shown["population"].sum())))  # the zones drawn
        assert f"({people} người)" in legend.inner_text()

        # Toggled on and off again from the layer control: hatched, outlined, no fill colour
        # of their own, taking no mouse.
        overlay.locator("input").check()
        assert page.locator("path.dx-dz").count() == len(expected)
        fills_ = set(page.evaluate(
            "() => Array.from(document.querySelectorAll('path.dx-dz'), p => p.getAttribute('fill'))"
        ))  # fmt: skip
        assert fills_ == {"url(#dx-hatch-dz)"}
        assert page.locator("path.dx-dz.leaflet-interactive").count() == 0
        overlay.locator("input").uncheck()
        assert page.locator("path.dx-dz").count() == 0
        overlay.locator("input").check()

        # With the zones on, the centre of every unit still reaches the unit, never a zone.
        hue_units = admin[admin["province_code"] == "46"]
        points = on_screen_points(page, hue_units)
        assert len(points) >= 0.9 * len(hue_units), len(points)
        pts = shapely.point_on_surface(hue_units.geometry.values)
        hits = page.evaluate(
            """([lats, lngs]) => lats.map((lat, i) => {
                const m = window.dxMap.map, b = m.getContainer().getBoundingClientRect();
                const p = m.latLngToContainerPoint([lat, lngs[i]]);
                const e = document.elementFromPoint(b.left + p.x, b.top + p.y);
                return e && e.getAttribute("class") || "";
            })""",
            [shapely.get_y(pts).tolist(), shapely.get_x(pts).tolist()],
        )
        assert not [h for h in hits if "dx-dz" in h], hits

        # Inside the largest zone the mouse reaches the unit: its own tooltip, which counts the
        # unit's zones and the people in them.
        zone = shown.iloc[0]
        unit = admin[admin["unit_code"] == zone["unit_code"]].iloc[0]
        own = shown[shown["unit_code"] == zone["unit_code"]]
        point_at(page, zone.geometry, 14, f"dx-u-{unit['unit_code']}", approach=3)
        tip = page.locator('.leaflet-tooltip.dx-tooltip:not([style*="opacity: 0;"])')
        tip.wait_for(timeout=5_000)
        text = tip.inner_text()
        assert unit["unit_name"] in text and unit["province_name"] in text, text
        assert "Khoảng cách" in text, text
        assert "Vùng lõm sóng 5G" in text and "5G dead zones" in text, text
        people = vi_grouped(round(float(own["population"].sum())))
        assert f"{len(own)} vùng / zones · {people} người / people" in text, text
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
    print(f"\ndead zones on the national page: {meta['count']} zones, {added / 1e3:.0f} KB")
    assert added <= 1.25 * OVERVIEW_ZONE_BYTES  # the estimate, measured within this
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
        assert opened.page.locator("path.dx-dz").count() == 0  # off at load
        overlay = opened.page.locator(OVERLAY_INPUTS, has_text=DZ_LABEL)
        overlay.locator("input").check()
        assert opened.page.locator("path.dx-dz").count() == meta["count"]
        legend = opened.page.locator(".dx-legend").inner_text()
        assert f"{meta['count']}/{meta['total']} vùng" in legend
        assert "every zone on the province pages" in legend
        opened.assert_offline_and_clean()
    finally:
        opened.page.close()


# ------------------------------------------------------------------ the map as planners use it
# Issue 22: at the screen sizes planners' offices have, the map must not mislead or stop them.

SCREENS = [(1280, 720), (1366, 768)]
OVERLAY_INPUTS = ".leaflet-control-layers-overlays label"


def _remote(units: gpd.GeoDataFrame) -> dict[str, bool]:
    flags = (
        units["is_border"].astype(bool)
        | units["is_island"].astype(bool)
        | units["is_remote"].astype(bool)
        | units["remote_class"].notna()
    )
    return dict(zip(units["unit_code"], flags, strict=True))


def expected_ranking(gaps: pl.DataFrame, units: gpd.GeoDataFrame, ind) -> list[str]:
    """Units behind target with a gap for `ind`, remote first, then the largest gap (as the page
    rounds it), then the unit code."""
    digits = 2 if ind.unit != "percent" or abs(ind.target) < 10 else 1
    remote = _remote(units)
    rows = gaps.filter(
        (pl.col("indicator_id") == ind.id)
        & pl.col("gap_class").is_in(["small", "medium", "large"])
        & pl.col("gap").is_not_null()
    ).select("unit_code", "gap")
    return [
        code
        for code, _ in sorted(
            rows.iter_rows(), key=lambda r: (not remote[r[0]], -round(r[1], digits), r[0])
        )
    ]


def pixel(page, x: float, y: float) -> str:
    """The colour drawn at viewport point (x, y), from a 1×1 screenshot."""
    from io import BytesIO

    from PIL import Image

    png = page.screenshot(clip={"x": int(x), "y": int(y), "width": 1, "height": 1})
    r, g, b = Image.open(BytesIO(png)).convert("RGB").getpixel((0, 0))
    return f"#{r:02x}{g:02x}{b:02x}"


def on_screen_points(page, units: gpd.GeoDataFrame) -> dict[str, tuple[float, float]]:
    """unit_code -> a viewport point inside the unit where the unit's own path is what the
    mouse reaches (not a control, a label or another shape), 3 px and more from its edges."""
    pts = shapely.point_on_surface(units.geometry.values)
    return page.evaluate(
        """([codes, lats, lngs]) => {
            const m = window.dxMap.map, box = m.getContainer().getBoundingClientRect(), out = {};
            codes.forEach((c, i) => {
              const p = m.latLngToContainerPoint([lats[i], lngs[i]]);
              const x = box.left + p.x, y = box.top + p.y;
              if (x < box.left || y < box.top || x >= box.right || y >= box.bottom) { return; }
              const own = (dx, dy) => {  // the unit's own path, not its edge
                const hit = document.elementFromPoint(x + dx, y + dy);
                const cls = hit && hit.getAttribute("class") || "";
                return cls.split(/\\s+/).includes("dx-u-" + c);
              };
              if ([[0, 0], [-3, -3], [3, -3], [-3, 3], [3, 3]].every(d => own(d[0], d[1]))) {
                out[c] = [x, y];
              }
            });
            return out;
        }""",
        [units["unit_code"].tolist(), shapely.get_y(pts).tolist(), shapely.get_x(pts).tolist()],
    )


def assert_nothing_covered(page) -> int:
    """Every control's centre reaches the control itself (elementFromPoint), inside the
    viewport; returns how many were checked."""
    covered = page.evaluate(
        """() => {
            const sel = [".leaflet-control-zoom a", ".dx-search input", ".dx-search li button",
                         ".leaflet-control-layers input", ".dx-panel-title", ".dx-note summary",
                         ".dx-legend summary", ".dx-ranking-list li:first-child button",
                         ".dx-more:not([hidden])"];
            const W = window.innerWidth, H = window.innerHeight, bad = [];
            let n = 0;
            document.querySelectorAll(sel.join(",")).forEach((e) => {
              e.scrollIntoView({block: "nearest", inline: "nearest"});
              const r = e.getBoundingClientRect(), x = r.left + r.width / 2,
                    y = r.top + r.height / 2;
              n += 1;
              const hit = document.elementFromPoint(x, y);
              if (x < 0 || y < 0 || x > W || y > H || !hit || !(e === hit || e.contains(hit))) {
                bad.push([e.outerHTML.slice(0, 80), hit && hit.outerHTML.slice(0, 80)]);
              }
            });
            return {n, bad};
        }"""
    )
    assert not covered["bad"], covered["bad"]
    return covered["n"]


@pytest.fixture(scope="module", params=["hue", "national"])
def planners_page(request, hue, hue_gaps, hue_page, units, national_page):
    if request.param == "hue":
        return request.param, hue_page, hue, hue_gaps
    path, _, gaps = national_page
    return request.param, path, units, gaps


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_map_as_planners_use_it(browser, planners_page, catalogue, size):
    """At 1280×720 and 1366×768: overlays off at load, the legend's colours are the units'
    drawn colours, no control covers another, tooltips stay inside the map at its four
    edges, the ranked list is the gap rows' order and focuses a unit."""
    kind, path, units, gaps = planners_page
    opened = open_offline(browser, path, size)
    page = opened.page
    try:
        first = catalogue[catalogue.ids[0]]

        # Overlays that mark units are off at load: no remote outline, no dead zone.
        for label in page.locator(OVERLAY_INPUTS).all():
            text = label.inner_text()
            if "remote units" in text or "dead zones" in text:
                assert not label.locator("input").is_checked(), text
        assert page.locator("path.dx-remote, path.dx-dz").count() == 0

        # Nothing covers anything: zoom, search (with results), layer inputs, legend, note,
        # the ranked list.
        page.locator(".dx-search input").fill("phu")
        assert assert_nothing_covered(page) >= 20
        page.locator(".dx-search input").fill("")

        # The legend's swatches are the colours drawn: fill attributes and screen pixels of
        # the largest units of each class.
        page.add_style_tag(content=".dx-label{visibility:hidden}")
        swatches = page.evaluate(
            """() => Object.fromEntries(Array.from(document.querySelectorAll(
                  ".dx-legend .dx-class"), r => [r.dataset.cls || r.getAttribute("data-class"),
                  getComputedStyle(r.querySelector(".dx-sw")).backgroundColor]))"""
        )
        legend_hex = {
            c: "#{:02x}{:02x}{:02x}".format(*map(int, re.findall(r"\d+", rgb)[:3]))
            for c, rgb in swatches.items()
            if c != "not_reported"
        }
        assert set(legend_hex) >= set(CYCLE), swatches
        if kind == "national":  # its units are a few pixels wide at load: closer, around Huế
            pt = shapely.point_on_surface(units.geometry[units["unit_code"] == HOVER].iloc[0])
            page.evaluate(
                "([lat, lng]) => { window.dxMap.map.setView([lat, lng], 9, {animate: false}); }",
                [pt.y, pt.x],
            )
        points = on_screen_points(page, units)
        classes = dict(
            gaps.filter(pl.col("indicator_id") == first.id)
            .select("unit_code", "gap_class")
            .iter_rows()
        )
        drawn = unit_fills(page)
        area = dict(zip(units["unit_code"], units.to_crs("EPSG:3405").area, strict=True))
        checked = 0  # sampled with the controls hidden: no shadow of theirs on the units
        page.add_style_tag(content=".leaflet-control-container{visibility:hidden}")
        for cls in CYCLE:
            sample = sorted((c for c in points if classes.get(c) == cls), key=lambda c: -area[c])[
                :4
            ]
            assert sample, f"no {cls} unit reachable on screen"
            for code in sample:
                assert drawn[code] == legend_hex[cls], (code, cls)
                drawn_at = pixel(page, *points[code])
                assert drawn_at == legend_hex[cls], (code, cls, drawn_at, points[code])
                checked += 1
        assert checked == 4 * len(CYCLE)
        page.add_style_tag(content=".leaflet-control-container{visibility:visible}")

        # Tooltips stay inside the map: units at its top, bottom, left and right edges.
        box = page.locator(".folium-map").bounding_box()
        if kind == "national":
            page.evaluate("() => { window.dxMap.map.setZoom(7, {animate: false}); }")
            points = on_screen_points(page, units)
        edges = {
            "top": min(points, key=lambda c: points[c][1]),
            "bottom": max(points, key=lambda c: points[c][1]),
            "left": min(points, key=lambda c: points[c][0]),
            "right": max(points, key=lambda c: points[c][0]),
        }
        for edge, code in edges.items():
            x, y = points[code]
            page.mouse.move(x + 3, y + 3)
            page.mouse.move(x, y, steps=3)
            tip = page.locator(
                '.leaflet-tooltip.dx-tooltip:not(.dx-found):not([style*="opacity: 0;"])'
            )
            tip.wait_for(timeout=5_000)
            name = units.loc[units["unit_code"] == code, "unit_name"].iloc[0]
            assert name in tip.inner_text(), (edge, name)
            t = tip.bounding_box()
            assert box["x"] <= t["x"] and t["x"] + t["width"] <= box["x"] + box["width"], edge
            assert box["y"] <= t["y"] and t["y"] + t["height"] <= box["y"] + box["height"], edge
            assert t["y"] + t["height"] <= size[1] and t["x"] + t["width"] <= size[0], edge
        page.mouse.move(size[0] - 5, size[1] - 5)

        # The ranked list: remote first, largest gap first, as the gap rows say.
        expected = expected_ranking(gaps, units, first)
        listed = page.locator(".dx-ranking-list button").evaluate_all(
            "bs => bs.map(b => b.getAttribute('data-code'))"
        )
        assert listed[:20] == expected[:20]
        assert len(listed) == min(50, len(expected))
        top = units.loc[units["unit_code"] == expected[0], "unit_name"].iloc[0]
        page.locator(".dx-ranking-list button").first.click()
        assert page.locator("path.dx-highlight").count() == 1
        assert top in page.locator(".leaflet-tooltip.dx-found").inner_text()
        second = catalogue[catalogue.ids[1]]
        show_layer(page, 1)
        listed = page.locator(".dx-ranking-list button").evaluate_all(
            "bs => bs.map(b => b.getAttribute('data-code'))"
        )
        assert listed[:20] == expected_ranking(gaps, units, second)[:20]
        opened.assert_offline_and_clean()
    finally:
        page.close()


def search_hits(page, typed: str) -> list[str]:
    page.locator(".dx-search input").fill(typed)
    return page.locator(".dx-search li button").all_inner_texts()


def test_search_matches_word_starts_and_provinces(browser, hue, hue_page, national_page):
    """Search by word starts: "huong" finds the units with a word starting so, not every
    "phường"; "Hue" and "Ha Noi" find their provinces, focused whole; clearing the box clears
    the result."""
    from geo.text import fold

    opened = open_offline(browser, hue_page, (1280, 720))
    page = opened.page
    try:
        words = {n: fold(n).split() for n in hue["unit_name"]}
        expected = sorted(n for n, w in words.items() if any(x.startswith("huong") for x in w))
        assert expected == ["Phường Hương An", "Phường Hương Thủy", "Phường Hương Trà"]
        assert sum("phuong" in w for w in words.values()) >= 20
        hits = search_hits(page, "huong")
        assert sorted(h.split(" — ")[0] for h in hits) == expected
        assert search_hits(page, "Hương Trà")[0].startswith("Phường Hương Trà")
        page.locator(".dx-search input").press("Enter")
        assert page.locator("path.dx-highlight").count() == 1
        assert page.locator(".leaflet-tooltip.dx-found").count() == 1
        page.locator(".dx-search input").fill("")  # cleared: the result goes
        assert page.locator("path.dx-highlight").count() == 0
        page.locator(".leaflet-tooltip.dx-found").wait_for(state="detached", timeout=2_000)
        assert search_hits(page, "Hue")[0].startswith("Huế — tỉnh, thành phố / province")
        opened.assert_offline_and_clean()
    finally:
        page.close()

    path, _, _ = national_page
    opened = open_offline(browser, path, (1366, 768))
    page = opened.page
    try:
        for typed, name, code in (("Ha Noi", "Hà Nội", "01"), ("Hue", "Huế", HUE)):
            hits = search_hits(page, typed)
            assert hits[0] == f"{name} — tỉnh, thành phố / province", hits[:3]
            page.locator(".dx-search li button").first.click()
            assert page.locator("path.dx-highlight").count() == 1
            # (the previous result's tooltip may still be fading out)
            found = page.locator('.leaflet-tooltip.dx-found:not([style*="opacity: 0;"])')
            assert name in found.inner_text()
            shown = page.evaluate(
                """(code) => {
                    const m = window.dxMap.map, b = m.getBounds();
                    const p = window.dxMap.provinces.find(p => p.code === code);
                    return p.units.every(f => b.contains(L.polygon(f.latlngs).getBounds()));
                }""",
                code,
            )
            assert shown, f"{name}: the province is not all in view"
        hits = search_hits(page, "huong")
        assert hits and all(
            any(w.startswith("huong") for w in fold(h.split(" — ")[0]).split()) for h in hits
        ), hits
        opened.assert_offline_and_clean()
    finally:
        page.close()


def test_a_gap_class_the_page_does_not_know_gets_its_own_grey(
    browser, hue, hue_gaps, catalogue, tmp_path: Path
):
    """Rows of a class added elsewhere ("not_in_run", provinces outside the run, or one this
    code has never heard of) are drawn in a grey of their own with their own legend row, apart
    from "not reported"."""
    from geo.maps import OTHER_CLASS_GREYS

    codes = hue["unit_code"].tolist()[:5]
    odd = hue["unit_code"].tolist()[5]
    cls = (
        pl.when(pl.col("unit_code").is_in(codes))
        .then(pl.lit("not_in_run"))
        .when(pl.col("unit_code") == odd)
        .then(pl.lit("some_new_class"))
        .otherwise(pl.col("gap_class"))
    )
    gaps = hue_gaps.with_columns(gap_class=cls).with_columns(
        [
            pl.when(pl.col("gap_class").is_in(["not_in_run", "some_new_class"]))
            .then(None)
            .otherwise(pl.col(c))
            .alias(c)
            for c in ("value", "gap")
        ]
    )
    out = render_map_page(hue, gaps, catalogue, tmp_path / "46.html", title="Huế", period=PERIOD)
    opened = open_offline(browser, out)
    page = opened.page
    try:
        fills_ = unit_fills(page)
        grey, other = CLASS_COLOURS["not_in_run"], OTHER_CLASS_GREYS[0]
        assert {fills_[c] for c in codes} == {grey} and fills_[odd] == other
        assert not {grey, other} & {fills_[c] for c in fills_ if c not in {*codes, odd}}
        for name, label, count, colour in (
            ("not_in_run", "not in this run", "5", grey),
            ("some_new_class", "some new class", "1", other),
        ):
            row = page.locator(f'.dx-legend .dx-class[data-class="{name}"]')
            assert label in row.inner_text()
            assert row.locator(".dx-count").inner_text() == count
            rgb = row.locator(".dx-sw").evaluate("e => getComputedStyle(e).backgroundColor")
            assert "#{:02x}{:02x}{:02x}".format(*map(int, re.findall(r"\d+", rgb)[:3])) == colour
        assert page.locator('.dx-legend .dx-class[data-class="not_reported"]').count() == 1
        text = hover_unit(page, hue.geometry[hue["unit_code"] == codes[0]].iloc[0], codes[0])
        assert "not in this run" in text
        opened.assert_offline_and_clean()
    finally:
        page.close()


# ------------------------------------------- reported 5G coverage against the cell sites


FIVE_G = "pop_5g_coverage"
SITES_CHECK = {  # made up: unit -> (reported, computed from sites), the tolerance is 5 points
    HOVER: (90.0, 50.0),  # 40 points over: marked
    "20056": (20.0, 35.5),  # 15.5 under: marked
    "19900": (62.0, 60.0),  # within the tolerance: not marked
    "20161": (None, 40.0),  # nothing reported: not marked
    "00004": (99.0, 10.0),  # Hà Nội: beyond, but not on Huế's page
}
FLAG_STROKE = "#c51b7d"


def _sites_comparison(units: gpd.GeoDataFrame) -> pl.DataFrame:
    """A coverage_comparison made by the product's own comparison from SITES_CHECK."""
    from assets.coverage.compare import compare_with_reported

    info = units.set_index("unit_code")
    computed = pl.DataFrame(
        [
            {"unit_code": c, "province_code": info.at[c, "province_code"], "technology": "5G",
             "share_covered": v[1]}
            for c, v in SITES_CHECK.items()
        ]
    )  # fmt: skip
    validated = pl.DataFrame(
        [
            {"unit_code": c, "indicator_id": FIVE_G, "value": v[0], "source_file": "bc.xlsx",
             "source_row": 7 + k}
            for k, (c, v) in enumerate(SITES_CHECK.items())
            if v[0] is not None
        ]
    )  # fmt: skip
    names = pl.DataFrame({"unit_code": list(SITES_CHECK)}).with_columns(
        unit_name=pl.col("unit_code").replace_strict(info["unit_name"].to_dict())
    )
    return compare_with_reported(computed, validated, names, PERIOD)


def test_the_5g_layer_marks_reported_coverage_the_cell_sites_contradict(
    browser, hue, hue_gaps, hue_page, units, catalogue, tmp_path: Path
):
    """At 1280×720, on the 5G coverage layer only: the units whose reported figure is beyond
    the tolerance of the sites' carry a dashed outline over an unchanged fill, their tooltip
    gives both figures, the legend counts them; the side panel counts the rejected site rows
    and links the quality report."""
    from assets.coverage.compare import coverage_disagreements

    assert set(SITES_CHECK) - set(hue["unit_code"]) == {"00004"}  # one unit off the page
    disagreements = coverage_disagreements(_sites_comparison(units))
    on_page = set(disagreements["unit_code"]) & set(hue["unit_code"])
    assert on_page == {HOVER, "20056"}
    (maps := tmp_path / "reports" / PERIOD / "maps").mkdir(parents=True)
    path = render_map_page(
        hue,
        hue_gaps,
        catalogue,
        maps / "index.html",
        title="Huế",
        period=PERIOD,
        coverage={"disagreements": disagreements, "rejected_sites": 2,
                  "quality_href": "../quality/index.html"},
    )  # fmt: skip
    opened = open_offline(browser, path, (1280, 720))
    page = opened.page
    try:
        five_g = catalogue.ids.index(FIVE_G)
        show_layer(page, five_g)
        geometry = hue.geometry[hue["unit_code"] == HOVER].iloc[0]
        marked = page.locator("path.dx-flag").evaluate_all(
            """ps => ps.map(p => [p.getAttribute('class').match(/dx-u-(\\S+)/)[1],
                                  p.getAttribute('stroke'), p.getAttribute('stroke-dasharray'),
                                  p.getAttribute('stroke-width')])"""
        )
        assert {m[0] for m in marked} == on_page
        assert all(m[1:] == [FLAG_STROKE, "5 3", "2.5"] for m in marked), marked
        row = page.locator(".dx-legend .dx-flag-row")
        assert row.locator(".dx-count").inner_text() == str(len(on_page))
        assert "quá 5 điểm" in row.inner_text() and "by more than 5 points" in row.inner_text()
        sw = row.locator(".dx-sw").evaluate("e => getComputedStyle(e).borderTopStyle")
        assert sw == "dashed"

        # The fills are the reported values' classes, as the legend shows them, marked or not.
        swatches = page.evaluate(
            """() => Object.fromEntries(Array.from(document.querySelectorAll(
                  ".dx-legend .dx-class"), r => [r.getAttribute("data-class"),
                  getComputedStyle(r.querySelector(".dx-sw")).backgroundColor]))"""
        )
        legend_hex = {
            c: "#{:02x}{:02x}{:02x}".format(*map(int, re.findall(r"\d+", rgb)[:3]))
            for c, rgb in swatches.items()
            if c != "not_reported"
        }
        classes = dict(
            hue_gaps.filter(pl.col("indicator_id") == FIVE_G)
            .select("unit_code", "gap_class")
            .iter_rows()
        )
        assert unit_fills(page) == expected_fills(hue_gaps, FIVE_G)
        points = on_screen_points(page, hue)
        page.add_style_tag(content=".leaflet-control-container,.dx-label{visibility:hidden}")
        for code in on_page:
            assert code in points, code
            assert pixel(page, *points[code]) == legend_hex[classes[code]], code
        page.add_style_tag(content=".leaflet-control-container{visibility:visible}")

        # Their tooltip gives both figures, in Vietnamese and in English; others' do not.
        tip = hover_unit(page, geometry, HOVER)
        assert (
            "Báo cáo 90,0 % · tính từ trạm 50,0 % (lệch 40,0 điểm) / reported 90.0 % · "
            "computed from cell sites 50.0 % (40.0 points apart)" in tip
        ), tip
        page.mouse.move(1275, 715)
        other = hue.geometry[hue["unit_code"] == "19900"].iloc[0]
        assert "tính từ trạm" not in hover_unit(page, other, "19900")
        page.mouse.move(1275, 715)
        south = hue.geometry[hue["unit_code"] == "20056"].iloc[0]
        assert "Báo cáo 20,0 % · tính từ trạm 35,5 % (lệch 15,5 điểm)" in hover_unit(
            page, south, "20056"
        )

        # Another layer: nothing marked, no legend row, no tooltip line; the note stays.
        show_layer(page, 1 - min(five_g, 1))
        assert page.locator("path.dx-flag").count() == 0
        assert page.locator(".dx-legend .dx-flag-row").count() == 0
        assert "tính từ trạm" not in hover_unit(page, geometry, HOVER)
        page.mouse.move(1275, 715)

        # The rejected cell-site rows, whatever the layer, with the quality report's address.
        note = page.locator(".dx-side .dx-sites")
        assert note.is_visible()
        assert "Đã loại 2 dòng danh sách trạm phát sóng" in note.inner_text()
        assert "2 cell-site rows rejected" in note.inner_text()
        assert note.locator("a").get_attribute("href") == "../quality/index.html"
        opened.assert_offline_and_clean()
    finally:
        page.close()

    # A page without the check (no cell-site list): no note, no mark.
    opened = open_offline(browser, hue_page, (1280, 720))
    try:
        assert opened.page.locator(".dx-sites").is_hidden()
        show_layer(opened.page, catalogue.ids.index(FIVE_G))
        assert opened.page.locator("path.dx-flag, .dx-flag-row").count() == 0
    finally:
        opened.page.close()


def test_the_demo_page_marks_the_stored_coverage_disagreements(browser, demo_run, catalogue):
    """The demo's published page (coverage_maps through Dagster): its marks, legend count and
    rejected-rows note are the lake's coverage_comparison and cell_sites tables', and its link
    reaches the quality report the same run wrote."""
    from assets.coverage.compare import coverage_disagreements
    from assets.reports.quality import rejected_cell_sites
    from schemas.lake import read_period

    settings, _, results, _ = demo_run
    comparison = read_period(settings.lake, "coverage_comparison", DEMO_PERIOD)
    expected = set(coverage_disagreements(comparison)["unit_code"])
    rejected = len(rejected_cell_sites(read_period(settings.lake, "cell_sites", DEMO_PERIOD)))
    assert expected and rejected == 2  # the demo plants two bad site rows
    (maps_run,) = [r for r in results if r.dagster_run.tags.get("dxlake/part") == "pages"]
    (event,) = maps_run.asset_materializations_for_node("coverage_maps")
    assert event.metadata["coverage_disagreements"].value == len(expected)

    path = settings.reports / DEMO_PERIOD / "maps" / "index.html"
    opened = open_offline(browser, path, (1280, 720))
    page = opened.page
    try:
        five_g = catalogue.ids.index(FIVE_G)
        show_layer(page, five_g)
        marked = page.locator("path.dx-flag").evaluate_all(
            "ps => ps.map(p => p.getAttribute('class').match(/dx-u-(\\S+)/)[1])"
        )
        assert set(marked) == expected and len(marked) == len(expected)
        count = page.locator(".dx-legend .dx-flag-row .dx-count").inner_text()
        assert count == str(len(expected))
        note = page.locator(".dx-side .dx-sites")
        assert f"{rejected} cell-site rows rejected" in note.inner_text()
        href = note.locator("a").get_attribute("href")
        assert (path.parent / href).resolve() == (
            settings.reports / DEMO_PERIOD / "quality" / "index.html"
        ).resolve()
        assert (path.parent / href).is_file()
        opened.assert_offline_and_clean()
    finally:
        page.close()
