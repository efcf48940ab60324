"""GX Data Docs that show file text as text and open offline, under a content-security policy.

Why: the Data Docs are linked from the auditors' quality page, which is read on intranets with
no Internet. GX writes some values from the data (the unexpected values of a failed expectation)
into its pages unescaped, and loads Bootstrap, jQuery and font-awesome from CDNs. So:
- the frame GX validates carries its text already as page text (`for_docs`: control characters
  visible, HTML escaped); every check we run compares it with nulls, booleans or the period,
  whose answers escaping cannot change;
- once GX has written the site, `make_offline` rewrites each page: no script at all (GX's
  pages read without it), nothing remote, a stylesheet of ours beside GX's own, and a
  Content-Security-Policy meta; the index, which GX fills by script, is written by us.
"""

from __future__ import annotations

import shutil
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from schemas.display import visible

CSS = Path(__file__).with_name("data_docs.css")
CSS_NAME = "dxlake_offline.css"  # copied into the site's static/styles/
CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; base-uri 'none'; form-action 'none'"
)
_URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "data", "poster", "xlink:href"}
_SAFE_SCHEMES = ("#", "./", "../")
_HTTP_EQUIV = {"refresh", "content-security-policy"}


def page_text(value: object) -> object:
    """A value from a file as GX may put it in a page: controls visible, HTML escaped."""
    return escape(visible(value)) if isinstance(value, str) else value


def for_docs(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its text columns as page text (a copy; numbers and booleans untouched)."""
    text = [
        c
        for c in frame.columns
        if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])
    ]
    if not text:
        return frame
    return frame.assign(**{c: frame[c].map(page_text) for c in text})


def _local(url: str) -> bool:
    """A relative link within the site (no scheme, no host)."""
    url = url.strip()
    return url.startswith(_SAFE_SCHEMES) or (
        ":" not in url.split("/", 1)[0] and not url.startswith(("//", "\\"))
    )


class _Offline(HTMLParser):
    """Copies a GX page through, dropping scripts and anything that is not local, and adding
    the policy and our stylesheet at the top of <head>."""

    def __init__(self, head: str):
        super().__init__(convert_charrefs=False)
        self.head, self.out, self.skip = head, [], 0

    def handle_starttag(self, tag, attrs):
        self._tag(tag, attrs, "")

    def handle_startendtag(self, tag, attrs):
        self._tag(tag, attrs, "/")

    def _tag(self, tag, attrs, end):
        if tag == "script":
            self.skip += end == ""
            return
        if tag == "link" and (
            not _local(dict(attrs).get("href") or "") or "icon" in (dict(attrs).get("rel") or "")
        ):
            return  # remote, or GX's favicon (linked one folder too high on deep pages)
        if tag == "meta" and (dict(attrs).get("http-equiv") or "").lower() in _HTTP_EQUIV:
            return  # a redirect; or our policy, from a page rewritten before (added anew)
        if tag == "link" and (dict(attrs).get("href") or "").endswith(CSS_NAME):
            return  # ours, from a page rewritten before
        kept = [
            (k, v)
            for k, v in attrs
            if not (k in _URL_ATTRIBUTES and v is not None and not _local(v))
            and not k.startswith("on")
        ]
        text = "".join(f" {k}" if v is None else f' {k}="{escape(v)}"' for k, v in kept)
        self._emit(f"<{tag}{text}{end}>")
        if tag == "head":
            self._emit(self.head)

    def handle_endtag(self, tag):
        if tag == "script":
            self.skip = max(0, self.skip - 1)
            return
        self._emit(f"</{tag}>")

    def handle_data(self, data):
        self._emit(data)

    def handle_entityref(self, name):
        self._emit(f"&{name};")

    def handle_charref(self, name):
        self._emit(f"&#{name};")

    def handle_comment(self, data):
        pass  # nothing of ours lives in comments; conditional comments may load things

    def handle_decl(self, decl):
        self._emit(f"<!{decl}>")

    def handle_pi(self, data):
        pass

    def unknown_decl(self, data):
        pass

    def _emit(self, text):
        if not self.skip:
            self.out.append(text)


def offline_page(html: str, styles: str) -> str:
    """One GX page rewritten: `styles` is the relative path of the site's static/styles/."""
    head = (
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<link rel="stylesheet" href="{styles}/{CSS_NAME}">'
    )
    parser = _Offline(head)
    parser.feed(html)
    parser.close()
    return "".join(parser.out)


def make_offline(site: Path, results: dict[str, tuple[bool, int, int]]) -> None:
    """Rewrite every page of the site GX wrote in `site`, and its index.

    `results`: suite name → (success, expectations evaluated, expectations failed), for the
    index."""
    styles = site / "static" / "styles"
    styles.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CSS, styles / CSS_NAME)
    for page in sorted(site.rglob("*.html")):
        if page == site / "index.html":
            continue
        relative = Path(*[".."] * (len(page.relative_to(site).parts) - 1), "static", "styles")
        page.write_text(
            offline_page(page.read_text(encoding="utf-8"), relative.as_posix()),
            encoding="utf-8",
        )
    (site / "index.html").write_text(_index(site, results), encoding="utf-8")


def _index(site: Path, results: dict[str, tuple[bool, int, int]]) -> str:
    """The site's index as a static page: each validation with its outcome, each suite."""
    rows = []
    for page in sorted(site.glob("validations/**/*.html")):
        parts = page.relative_to(site).parts
        suite = ".".join(parts[1:-3])  # validations/<suite as folders>/<run>/<time>/<batch>.html
        success, evaluated, failed = results.get(suite, (None, 0, 0))
        mark = {True: "✓", False: "✗"}.get(success, "?")
        outcome = "ok" if success else "bad"
        rows.append(
            f"<tr><td class='{outcome}'>{mark}</td><td><a href='{escape(page.relative_to(site).as_posix())}'>"
            f"{escape(suite)}</a></td><td>{escape(parts[-2])}</td><td>{evaluated}</td>"
            f"<td>{failed}</td></tr>"
        )
    suites = "".join(
        f"<li><a href='{escape(p.relative_to(site).as_posix())}'>"
        f"{escape('.'.join(p.relative_to(site).with_suffix('').parts[1:]))}</a></li>"
        for p in sorted(site.glob("expectations/**/*.html"))
    )
    return (
        "<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<link rel='stylesheet' href='static/styles/{CSS_NAME}'>"
        "<title>Great Expectations Data Docs</title></head><body class='dx-index'>"
        "<h1>Kết quả kiểm tra dữ liệu (Great Expectations) <span class='en'>/ Validation "
        "results</span></h1>"
        "<table class='table dx-validations'><thead><tr><th>Đạt / passed</th>"
        "<th>Bộ kiểm tra / suite</th><th>Lúc / run at</th><th>Số kiểm tra / expectations</th>"
        "<th>Không đạt / failed</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        "<h2>Bộ kiểm tra <span class='en'>/ Expectation suites</span></h2>"
        f"<ul>{suites}</ul></body></html>"
    )
