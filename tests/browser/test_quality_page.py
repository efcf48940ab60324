"""The auditors' quality page of the demo in real headless Chromium, from disk, with the network
cut off, at the two screen sizes auditors' laptops have: nothing covered, tables readable, and
the findings of issue 22 on it (replacing files, 5G coverage disagreements, rejected cell-site
rows, only Huế's boundary problems)."""

from __future__ import annotations

import polars as pl
import pytest

from assets.coverage.compare import coverage_disagreements
from schemas.lake import read_period

SCREENS = [(1280, 720), (1366, 768)]

# Per element: visible, not covered by another one at its centre, readable, inside the window.
_LAYOUT = """(selector) => Array.from(document.querySelectorAll(selector)).map(el => {
    el.scrollIntoView({block: 'center', inline: 'nearest'});
    const r = el.getBoundingClientRect();
    const x = Math.min(Math.max(r.left + Math.min(r.width / 2, 40), 0), innerWidth - 1);
    const y = r.top + r.height / 2;
    const top = document.elementFromPoint(x, y);
    return {
        text: el.innerText.slice(0, 60),
        width: r.width, height: r.height,
        covered: !(top === el || el.contains(top)),
        font: parseFloat(getComputedStyle(el).fontSize),
        clipped: el.scrollHeight > el.clientHeight + 1,
    };
})"""


def _open(browser, path):
    page = browser.new_page()
    requests, errors = [], []

    def guard(route) -> None:
        requests.append(route.request.url)
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", guard)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, requests, errors


def _rows(page, section: str) -> list[dict[str, str]]:
    """The rows of the table after the <h2 id=section>, keyed by each header's English half."""
    table = page.locator(f"#{section}").locator("xpath=following-sibling::table[1]")
    headers = [h.split(" / ", 1)[1] for h in table.locator("thead th").all_inner_texts()]
    return [
        dict(zip(headers, row.locator("td").all_inner_texts(), strict=True))
        for row in table.locator("tbody tr").all()
    ]


def test_quality_page_opens_offline_and_shows_the_findings(browser, demo_run):
    settings, spec, _, _ = demo_run
    path = settings.reports / spec.period / "quality" / "index.html"
    page, requests, errors = _open(browser, path)
    assert requests == [path.as_uri()], "the page asked for something besides itself"
    assert not errors
    assert page.locator("#reconciliation").inner_text().startswith("Khớp")
    for _, _, _, rule in spec.planted:
        cells = page.locator(f"#rule-{rule} td").all_inner_texts()
        expected = sum(1 for *_, r in spec.planted if r == rule)
        assert cells[2] == str(expected), rule
    unresolved = page.locator("#unresolved").locator("xpath=following-sibling::table[1]")
    assert "Xã Ngoài Danh Mục" in unresolved.inner_text()
    not_reported = page.locator("#not-reported").locator("xpath=following-sibling::table[1]")
    text = not_reported.inner_text()
    assert all(code in text for code in spec.not_reported)
    assert page.locator("svg.chart rect").count() == 2  # one province: background + bar
    page.close()


def test_the_findings_of_issue_22_are_on_the_page(browser, demo_run):
    from orchestration.demo import MAIN_FILE, SUPPLEMENT_FILE

    settings, spec, _, _ = demo_run
    path = settings.reports / spec.period / "quality" / "index.html"
    page, _, _ = _open(browser, path)

    replaced = _rows(page, "superseded")
    assert replaced and {r["replaced file"] for r in replaced} == {MAIN_FILE}
    assert {r["replaced by file"] for r in replaced} == {SUPPLEMENT_FILE}
    assert all(r["replacing file arrived"].endswith("UTC") for r in replaced)

    comparison = read_period(settings.tables, "coverage_comparison", spec.period)
    expected = coverage_disagreements(comparison)
    assert len(expected) > 0  # the demo's operator file claims far more than its sites give
    shown = _rows(page, "coverage")
    assert [r["code"] for r in shown] == expected["unit_code"].to_list()
    for row, want in zip(shown, expected.iter_rows(named=True), strict=True):
        assert float(row["reported (%)"]) == pytest.approx(want["reported_value"], abs=0.01)
        assert float(row["computed from sites (%)"]) == pytest.approx(
            want["computed_value"], abs=0.01
        )
        assert abs(float(row["difference (points)"])) > 5

    sites = _rows(page, "cell-sites")
    assert [(r["file"], int(r["row"])) for r in sites] == [
        (spec.coverage.sites_file.name, row) for row, _ in spec.coverage.planted
    ]
    for row, (_, reason) in zip(sites, spec.coverage.planted, strict=True):
        assert reason in row["reason"] and row["column"] != "—"

    # The demo's reference has problems in other provinces only: none listed, all counted.
    problems = pl.read_parquet(settings.tables / "reference" / "boundary_problems.parquet")
    assert problems.height > 0 and (problems["province_name"] != "Thành phố Huế").all()
    assert page.locator("#boundaries").count() == 0
    assert (
        f"{problems.height} vấn đề ranh giới thuộc tỉnh khác"
        in page.locator("#boundaries-elsewhere").inner_text()
    )
    page.close()


def _long_names_page(settings, spec, catalogue, folder):
    """The demo's page with a file whose name and reason are long and unbroken, as offices'
    scanners name them: what a table must still show within the window."""
    from assets.reports.quality import render_quality_page

    def table(name: str) -> pl.DataFrame:
        return read_period(settings.tables, name, spec.period)

    status = table("file_status")
    long_name = "bao_cao_" + "x" * 160 + ".xlsx"
    extra = status.head(1).with_columns(
        source_file=pl.lit(long_name),
        status=pl.lit("rejected"),
        reason_vi=pl.lit("Không đọc được: " + "tệp_hỏng_" * 30),
        reason_en=pl.lit("Unreadable: " + "broken_file_" * 30),
    )
    page = render_quality_page(
        period=spec.period,
        catalogue=catalogue,
        file_status=pl.concat([status, extra]),
        raw=table("raw_reports"),
        validated=table("validated_observations"),
        quarantined=table("quarantined_rows"),
        superseded=table("superseded_observations"),
        values=table("indicator_values"),
        boundary_problems=pl.DataFrame(),
        geometry_note="",
        coverage_comparison=table("coverage_comparison"),
        cell_sites=table("cell_sites"),
    )
    path = folder / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


@pytest.mark.parametrize("content", ["demo", "long names"])
@pytest.mark.parametrize("width,height", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_nothing_covered_and_tables_readable(
    browser, demo_run, catalogue, tmp_path, width, height, content
):
    settings, spec, _, _ = demo_run
    path = settings.reports / spec.period / "quality" / "index.html"
    if content == "long names":
        path = _long_names_page(settings, spec, catalogue, tmp_path)
    page, requests, _ = _open(browser, path)
    assert requests == [path.as_uri()]
    page.set_viewport_size({"width": width, "height": height})
    # The page itself never scrolls sideways; a wide table scrolls inside its own box.
    assert page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    boxes = page.evaluate(
        "() => Array.from(document.querySelectorAll('table'), t => t.getBoundingClientRect())"
        ".map(r => [r.left, r.right])"
    )
    assert all(left >= 0 and right <= width for left, right in boxes)
    for selector in ("h1", "h2", "th", "td", "#returns a"):
        for el in page.evaluate(_LAYOUT, selector):
            assert el["width"] > 0 and el["height"] > 0, (selector, el)
            assert not el["covered"], (selector, el)
            assert el["font"] >= 12, (selector, el)
            assert not el["clipped"], (selector, el)
    # Every header cell shows its text whole, and no column is squeezed to a few letters.
    narrow = page.evaluate(
        """() => Array.from(document.querySelectorAll('th, td')).filter(c =>
            c.scrollWidth > c.clientWidth + 1 || c.getBoundingClientRect().width < 24
        ).map(c => c.innerText.slice(0, 40))"""
    )
    assert narrow == []
    page.close()
