"""Injection: unit names, free text and a file name carrying <script>, HTML and javascript: URLs
show as text on the quality and map pages (real headless Chromium: no dialog, no script), and no
cell of an exported spreadsheet (.xlsx, .csv under reports/) starts a formula."""

from __future__ import annotations

import csv
import re

from openpyxl import load_workbook

from tests.hostile.cases import INJECTION_FILE, INJECTION_NAMES, PERIOD, _units

FORMULA = re.compile(r"^[=+\-@\t\r]")


def _open(browser, path):
    page = browser.new_page()
    fired = []
    page.on("dialog", lambda d: (fired.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: fired.append(str(e)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, fired


def test_quality_page_shows_hostile_names_as_text(browser, hostile_lake):
    home, _ = hostile_lake
    page, fired = _open(browser, home / "reports" / PERIOD / "quality" / "index.html")
    unresolved = (
        page.locator("#unresolved").locator("xpath=following-sibling::table[1]").inner_text()
    )
    for name in INJECTION_NAMES:
        assert name in unresolved, name  # shown, literally
    assert INJECTION_FILE in page.locator("body").inner_text()
    assert page.locator("body img, body script[src], a[href^='javascript']").count() == 0
    assert fired == []
    page.close()


def test_map_tooltip_shows_a_hostile_file_name_as_text(browser, hostile_lake):
    home, _ = hostile_lake
    page, fired = _open(browser, home / "reports" / PERIOD / "maps" / "index.html")
    page.wait_for_selector("html[data-dx-ready='1']")
    page.locator(".leaflet-control-layers-base label", has_text="máy tính").first.click()
    code = _units(12).tail(3)["unit_code"][0]  # a commune the injection file reported
    page.locator(".dx-search input").fill(code)
    page.locator(".dx-search input").press("Enter")
    tooltip = page.locator(".dx-found").inner_text()
    assert INJECTION_FILE in tooltip
    assert page.locator(".leaflet-container img[src='x']").count() == 0
    assert fired == []
    page.close()


def test_no_exported_cell_starts_a_formula(hostile_lake):
    home, _ = hostile_lake
    reports = home / "reports" / PERIOD
    seen, exports = set(), sorted(reports.rglob("*.xlsx")) + sorted(reports.rglob("*.csv"))
    assert any(p.suffix == ".xlsx" for p in exports) and any(p.suffix == ".csv" for p in exports)
    for path in exports:
        if path.suffix == ".xlsx":
            for ws in load_workbook(path).worksheets:
                for row in ws.iter_rows():
                    for cell in row:
                        assert cell.data_type != "f", (path.name, cell.coordinate, cell.value)
                        if isinstance(cell.value, str) and FORMULA.match(cell.value):
                            # text as typed, in a text cell that stays text when edited
                            assert cell.data_type == "s" and cell.quotePrefix, cell.coordinate
                            seen.add(cell.value)
        else:
            with path.open(encoding="utf-8-sig", newline="") as fh:
                for row in csv.reader(fh):
                    for value in row:
                        if FORMULA.match(value):
                            float(value)  # only a plain negative number may start with "-"
    # the hostile names did reach the workbooks, as text cells
    for name in INJECTION_NAMES:
        if FORMULA.match(name):
            assert name in seen, name


def test_logs_carry_row_references_not_file_contents(hostile_lake):
    """What the runs printed names files and rows, never a cell's text (the hostile names stand
    in for personal data typed into a report)."""
    _, done = hostile_lake
    logs = "".join(out + err for _, out, err in done)
    assert "rejected" in logs or "từ chối" in logs
    for text in [*INJECTION_NAMES, "Xã đang chép dở", "root:x:0"]:
        assert text not in logs, text


def test_dagster_ui_binds_to_localhost_unless_told(monkeypatch, tmp_path):
    from orchestration import cli

    monkeypatch.setenv("DXLAKE_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / ".dagster"))
    calls = []
    monkeypatch.setattr(cli.os, "execvp", lambda prog, cmd: calls.append(cmd))
    cli.main(["dev"])
    cli.main(["dev", "--host", "0.0.0.0"])
    assert calls[0][calls[0].index("-h") + 1] == "127.0.0.1"
    assert calls[1][calls[1].index("-h") + 1] == "0.0.0.0"


def test_csv_and_xlsx_writers_neutralise_every_kind_of_text(tmp_path):
    import polars as pl

    from assets.reports.safe import write_csv, write_xlsx

    df = pl.DataFrame(
        {
            "name": ["=1+1", "ok"],
            "kind": pl.Series(["@SUM(1)", "y"], dtype=pl.Categorical),
            "n": [-1.5, 2.0],
        }
    )
    write_csv(tmp_path / "t.csv", df)
    rows = list(csv.reader((tmp_path / "t.csv").open(encoding="utf-8-sig")))
    assert rows[1] == ["'=1+1", "'@SUM(1)", "-1.5"]
    write_xlsx(tmp_path / "t.xlsx", {"s": df}, headers={"name": "=HEADER()"})
    ws = load_workbook(tmp_path / "t.xlsx").active
    assert [c.value for c in ws[1]] == ["=HEADER()", "kind", "n"]
    assert [c.value for c in ws[2]] == ["=1+1", "@SUM(1)", -1.5]
    text = [ws["A1"], ws["A2"], ws["B2"]]
    assert all(c.data_type == "s" and c.quotePrefix for c in text)
