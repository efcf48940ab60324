"""Text that came from a file is data everywhere: one real `dxlake run` on a landing of script,
formula, control and bidi text (in cells and in file names), then what it wrote is checked: the
return-to-sender workbooks open and show markers, their names are distinct and short, the
terminal got no escape byte, and the quality page, the GX Data Docs and the map page, opened in
real Chromium, run nothing and ask nothing of the network."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import polars as pl
import pytest
from openpyxl import load_workbook

from tests.hostile.cases import PERIOD, _units, minimal_xlsx
from tests.hostile.conftest import FIGURES, copy_good, dxlake_run

ESC, NUL, RLO, LRI = "\x1b", "\x00", "\u202e", "\u2066"
HEADER = [
    "Mã xã",
    "Tên xã",
    "Tổng số cán bộ, công chức cấp xã",
    "Số cán bộ, công chức có máy tính đáp ứng cấu hình tối thiểu",
]
# A figure GX reports as an unexpected value (not a number): what reaches its Data Docs.
SCRIPT_FIGURE = "<img src=x onerror=alert(11)>"
# A long Vietnamese file name: 230 bytes in UTF-8 with its extension.
_STEM = ("báo_cáo_chuyển_đổi_số_xã_" * 9).encode()[:226].decode(errors="ignore")
LONG_NAME = _STEM + "x" * (226 - len(_STEM.encode())) + ".csv"
# Rows accepted from a file named like this: its name is in the map's tooltips.
HOSTILE_FILE = f"<svg onload=alert(12)>{RLO}slx.csv"
REJECTED_ESC_FILE = f"{ESC}[2J{ESC}]0;owned{ESC}\\.csv"  # clears a terminal, sets its title
COLLIDING = ["x.csv", "x.xlsx", "a/x.csv", "a__x.csv"]


def _csv(rows: list[list[str]]) -> bytes:
    """A small report for Hà Nội communes as CSV (title rows, header, `rows`)."""
    lines = ["Tỉnh/Thành phố: Hà Nội;;;", f"Kỳ báo cáo: {PERIOD};;;", ";".join(HEADER)]
    return ("\n".join(lines + [";".join(r) for r in rows]) + "\n").encode()


def _inline(text: str) -> str:
    """Text as an .xlsx inline string: XML-escaped, controls as Excel's _xHHHH_ escapes."""
    from xml.sax.saxutils import escape

    return "".join(f"_x{ord(c):04X}_" if ord(c) < 0x20 else c for c in escape(text))


def _xlsx(rows: list[list[str]]) -> bytes:
    """A one-sheet .xlsx of the same report, every cell an inline string."""
    table = [[f"Kỳ báo cáo: {PERIOD}"], HEADER, *rows]
    xml = "".join(
        f'<row r="{r}">'
        + "".join(
            f'<c r="{chr(65 + c)}{r}" t="inlineStr"><is><t>{_inline(v)}</t></is></c>'
            for c, v in enumerate(values)
            if v
        )
        + "</row>"
        for r, values in enumerate(table, 1)
    )
    return minimal_xlsx(xml.encode())


def _unknown(name: str) -> list[str]:
    """A row for a commune no register knows: quarantined (unit_unresolved)."""
    return ["", name, "20", "18"]


def write_landing(folder: Path) -> None:
    units = list(_units(20).iter_rows())
    (folder / "điều_khiển.csv").write_bytes(
        _csv(
            [
                _unknown(f"Xã {ESC}[31mĐỏ{ESC}[0m {RLO}gnàX{LRI}"),
                [units[0][0], units[0][1], "20", f"1{ESC}[5m8"],
                [units[1][0], units[1][1], "20", SCRIPT_FIGURE],
                [units[2][0], units[2][1], "20", '=HYPERLINK("http://evil.example","bấm")'],
            ]
        )
    )
    (folder / "nul.xlsx").write_bytes(_xlsx([_unknown(f"Xã Nul{NUL}{ESC}Bell\x07")]))
    for k, name in enumerate(COLLIDING):
        path = folder / name
        path.parent.mkdir(exist_ok=True)
        rows = [_unknown(f"Xã Trùng Tên {k}")]
        path.write_bytes(_xlsx(rows) if name.endswith(".xlsx") else _csv(rows))
    (folder / LONG_NAME).write_bytes(_csv([_unknown("Xã Tên Dài")]))
    (folder / HOSTILE_FILE).write_bytes(
        _csv([[code, name, "25", "20"] for code, name in units[10:13]])
    )
    (folder / REJECTED_ESC_FILE).write_bytes(b"")  # empty: rejected, named in the summary


@pytest.fixture(scope="module")
def text_lake(tmp_path_factory, good_landing):
    """One `dxlake run` (its own process, the real CLI) on the demo's good files and the text
    cases: (home, returncode, stdout, stderr)."""
    home = tmp_path_factory.mktemp("text_lake")
    landing = home / "landing" / PERIOD
    copy_good(good_landing, landing)
    write_landing(landing)
    proc = dxlake_run(home)
    out, err = proc.communicate(timeout=400)
    FIGURES["runs"] += 1
    FIGURES["runs crashed"] += proc.returncode != 0
    assert proc.returncode == 0, err[-3000:]
    return home, out, err


def _returns(home: Path) -> Path:
    return home / "reports" / PERIOD / "quality" / "returns"


def _status(home: Path) -> pl.DataFrame:
    from schemas.lake import read_period

    return read_period(home / "lake", "file_status", PERIOD)


def _cells(path: Path) -> list[str]:
    return [c.value for ws in load_workbook(path).worksheets for row in ws.iter_rows() for c in row]


def _workbook_for(home: Path, source: str) -> Path:
    """The returns workbook the quality page links for `source` (its list under #returns)."""
    page = (home / "reports" / PERIOD / "quality" / "index.html").read_text(encoding="utf-8")
    from html import escape

    from schemas.display import visible

    shown = f"← {escape(visible(source))}</li>"
    line = next(part for part in page.split("<li>") if part.endswith(shown) or shown in part)
    href = line.split("href='", 1)[1].split("'", 1)[0]
    path = home / "reports" / PERIOD / "quality" / unquote(href)
    assert path.is_file(), href
    return path


def test_control_characters_in_cells_reach_the_returns_workbook_as_markers(text_lake):
    FIGURES["cases tried"] += 2
    home, _, _ = text_lake
    status = dict(_status(home).select("source_file", "status").iter_rows())
    assert status["điều_khiển.csv"] == "read" and status["nul.xlsx"] == "read"
    cells = _cells(_workbook_for(home, "điều_khiển.csv"))
    text = " ".join(str(c) for c in cells if c is not None)
    assert "Xã ␛[31mĐỏ␛[0m <U+202E>gnàX<U+2066>" in text  # the unit name, as written, visible
    assert "1␛[5m8" in text and ESC not in text and RLO not in text
    assert "'=HYPERLINK(" in text  # and still neutralised
    text = " ".join(str(c) for c in _cells(_workbook_for(home, "nul.xlsx")) if c is not None)
    assert "Xã Nul␀␛Bell␇" in text
    # the lake keeps the text as read: only what we render changes
    from schemas.lake import read_period

    names = read_period(home / "lake", "quarantined_rows", PERIOD)["unit_name_raw"].to_list()
    assert f"Xã Nul{NUL}{ESC}Bell\x07" in names


def test_same_names_in_other_folders_or_formats_get_distinct_workbooks(text_lake):
    FIGURES["cases tried"] += 1
    home, _, _ = text_lake
    books = {name: _workbook_for(home, name) for name in COLLIDING}
    assert len(set(books.values())) == 4, books
    for k, name in enumerate(COLLIDING):
        assert f"Xã Trùng Tên {k}" in _cells(books[name]), name  # each its own rows
    assert books["x.xlsx"].name == "x.xlsx.quarantined.xlsx"  # extension kept, no hash needed


def test_a_230_byte_file_name_is_published_with_a_short_workbook_name(text_lake):
    FIGURES["cases tried"] += 1
    home, _, _ = text_lake
    assert len(LONG_NAME.encode()) == 230
    assert dict(_status(home).select("source_file", "status").iter_rows())[LONG_NAME] == "read"
    book = _workbook_for(home, LONG_NAME)
    assert len(book.name.encode()) <= 120 and book.name.startswith("báo_cáo_chuyển_đổi_số")
    assert "Xã Tên Dài" in _cells(book)
    assert not list(home.rglob("*.tmp"))  # every atomic write renamed into place


def test_the_terminal_gets_no_escape_byte(text_lake):
    FIGURES["cases tried"] += 1
    home, out, err = text_lake
    assert ESC not in out and ESC not in err and RLO not in out + err
    assert "␛[2J␛]0;owned␛\\.csv" in out  # the rejected file is named, visibly
    rejected = dict(_status(home).select("source_file", "status").iter_rows())
    assert rejected[REJECTED_ESC_FILE] == "rejected"


# --- the pages, in Chromium -------------------------------------------------------------------


def _open(browser, path: Path):
    """The page from disk with every request recorded (and any non-file one refused)."""
    page = browser.new_page()
    requests, fired = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (fired.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: fired.append(str(e)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, requests, fired


INJECTED = (
    "img[src='x'], svg[onload], [onerror], [onload], a[href^='javascript' i], "
    "iframe, object, embed, base, meta[http-equiv='refresh' i]"
)


def _assert_clean(page, requests: list[str], fired: list[str], scripts: int = 0) -> None:
    assert fired == []
    assert [u for u in requests if not u.startswith("file://")] == []
    assert page.locator(INJECTED).count() == 0
    assert page.locator("script").count() == scripts
    body = page.locator("body").inner_text()
    assert ESC not in body and RLO not in body


def test_quality_page_runs_nothing_from_files(browser, text_lake):
    FIGURES["cases tried"] += 1
    home, _, _ = text_lake
    path = home / "reports" / PERIOD / "quality" / "index.html"
    page, requests, fired = _open(browser, path)
    _assert_clean(page, requests, fired)
    assert requests == [path.as_uri()]
    body = page.locator("body").inner_text()
    assert "Xã ␛[31mĐỏ␛[0m <U+202E>gnàX<U+2066>" in body
    assert "<svg onload=alert(12)><U+202E>slx.csv" in body
    for link in page.locator("#returns li a").all():  # each one opens a file
        href = urlparse(link.evaluate("a => a.href")).path
        assert Path(unquote(href)).is_file(), href
    from schemas.lake import read_period

    quarantined = read_period(home / "lake", "quarantined_rows", PERIOD)
    assert page.locator("#returns li a").count() == quarantined["source_file"].n_unique()
    page.close()


def test_gx_data_docs_show_file_text_as_text_offline(browser, text_lake):
    FIGURES["cases tried"] += 1
    home, _, _ = text_lake
    site = home / "reports" / PERIOD / "quality" / "gx" / "01"  # Hà Nội's partition
    page, requests, fired = _open(browser, site / "index.html")
    _assert_clean(page, requests, fired)
    assert requests == [
        (site / "index.html").as_uri(),
        (site / "static" / "styles" / "dxlake_offline.css").as_uri(),
    ]
    failed = page.locator("table.dx-validations tr", has_text="✗").first
    assert failed.is_visible() and "observations" in failed.inner_text()
    validation = failed.locator("a").evaluate("a => a.href")
    page.close()

    page, requests, fired = _open(browser, Path(unquote(urlparse(validation).path)))
    _assert_clean(page, requests, fired)
    sheets = page.evaluate("[...document.styleSheets].map(s => s.href).filter(Boolean)")
    assert [s.rsplit("/", 1)[1] for s in sheets] == ["dxlake_offline.css"]
    header = page.locator("th", has_text="Unexpected Value").first
    assert header.is_visible()
    assert header.evaluate("th => getComputedStyle(th).backgroundColor") == "rgb(240, 244, 248)"
    body = page.locator("body").inner_text()
    assert SCRIPT_FIGURE in body  # the figure as written, shown as text
    assert "1␛[5m8" in body
    csp = page.locator("meta[http-equiv='Content-Security-Policy']").get_attribute("content")
    assert csp.startswith("default-src 'none'") and "http" not in csp
    page.close()


def test_map_page_shows_a_hostile_file_name_as_text(browser, text_lake):
    FIGURES["cases tried"] += 1
    home, _, _ = text_lake
    path = home / "reports" / PERIOD / "maps" / "index.html"
    page, requests, fired = _open(browser, path)
    page.wait_for_selector("html[data-dx-ready='1']")
    scripts = page.locator("script").count()  # the page's own: Leaflet, ours, the data
    page.locator(".leaflet-control-layers-base label", has_text="máy tính").first.click()
    code = list(_units(20).iter_rows())[10][0]  # a commune HOSTILE_FILE reported
    page.locator(".dx-search input").fill(code)
    page.locator(".dx-search input").press("Enter")
    tooltip = page.locator(".dx-found").inner_text()
    assert "<svg onload=alert(12)><U+202E>slx.csv" in tooltip
    _assert_clean(page, requests, fired, scripts=scripts)
    own = page.evaluate("[...document.scripts].map(s => s.src).filter(Boolean)")
    assert own == []  # everything inlined: nothing loaded
    carriers = page.evaluate(
        "[...document.scripts].filter(s => s.text.includes('alert(12)')).map(s => s.type)"
    )
    assert carriers == ["application/json"]  # the file name is data in the page's data only
    page.close()


# --- the functions themselves ------------------------------------------------------------------


def test_visible_marks_every_control_and_bidi_character_and_nothing_else():
    from schemas.display import visible, visible_frame

    FIGURES["cases tried"] += 1
    hostile = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x61C, 0x200E, 0x200F]
    hostile += [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xD800, 0xDFFF]
    for code in hostile:
        shown = visible(f"a{chr(code)}b")
        if chr(code) in "\t\n":
            assert shown == f"a{chr(code)}b"
        else:
            assert shown.isprintable() and chr(code) not in shown, hex(code)
    assert visible("\x1b\x00") == "␛␀" and visible("\u202e") == "<U+202E>"
    text = "Xã Ea H'leo — Đắk Lắk; 85,5%\t=1+1 ‘ ’ ✓ 中文 עברית"  # ordinary text stays as it is
    assert visible(text) == text
    df = pl.DataFrame({"s": ["ok", f"x{ESC}", None], "n": [1, 2, 3]})
    assert visible_frame(df)["s"].to_list() == ["ok", "x␛", None]


def test_returns_names_are_unique_short_and_stable():
    from assets.reports.quality import RETURNS_NAME_BYTES, returns_names

    FIGURES["cases tried"] += 1
    sources = [*COLLIDING, "X.CSV", LONG_NAME, f"b/{LONG_NAME}", f"q{ESC}.csv", "q␛.csv", "plain"]
    names = returns_names(sources)
    assert len(set(n.casefold() for n in names.values())) == len(sources)
    assert all(len(n.encode()) <= RETURNS_NAME_BYTES for n in names.values())
    assert all("/" not in n and ESC not in n for n in names.values())
    assert names["x.xlsx"] == "x.xlsx.quarantined.xlsx" and names["plain"].startswith("plain")
    assert returns_names(list(reversed(sources))) == names  # whatever order they come in


def test_atomic_write_takes_any_name_the_file_system_does(tmp_path):
    from schemas.lake import write_text

    FIGURES["cases tried"] += 1
    target = tmp_path / ("đ" * 127)  # 254 bytes: the longest name there can be
    write_text(target, "ok")
    assert target.read_text(encoding="utf-8") == "ok"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # nothing left beside it
