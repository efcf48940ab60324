"""The auditors' quality page in real headless Chromium, from disk, with the network cut off."""

from __future__ import annotations


def test_quality_page_opens_offline_and_shows_the_findings(browser, demo_run):
    settings, spec, _, _ = demo_run
    path = settings.reports / spec.period / "quality" / "index.html"
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
