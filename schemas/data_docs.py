"""GX Data Docs that show file text as text and open offline, under a content-security policy.

Why: the Data Docs are linked from the auditors' quality page, which is read on intranets with
no Internet. GX writes some values from the data (the unexpected values of a failed expectation)
into its pages unescaped, and loads Bootstrap, jQuery and font-awesome from CDNs. So:
- the frame GX validates carries its text already as page text (`for_docs`: control characters
  visible, HTML escaped); every check we run compares it with nulls, booleans or the period,
  whose answers escaping cannot change;
- once GX has written the site, `make_offline` rewrites each page: no script at all (GX's
  pages read without it), nothing remote, a stylesheet of ours beside GX's own, and a
  Content-Security-Policy meta; the index, which GX fills by script, is written by us;
- the pages are bounded whatever the frame's size: GX renders each expectation from a copy of
  its result without the full lists of unexpected values and rows (`bound_for_docs`: counts and
  a sample of SAMPLE values), and only our stylesheet stays of GX's static files (4.4 MB of
  fonts and animations per site that no offline page loads);
- one site per validation run, with the provinces it covers in provinces.json
  (`write_site_provinces`); `current_sites` keeps for each province the newest site covering it
  and deletes the sites no longer newest for any province.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from schemas.display import page_templates, visible

CSS = Path(__file__).with_name("data_docs.css")
TEMPLATES = Path(__file__).with_name("templates")  # the site's index (data_docs_index.html.j2)
CSS_NAME = "dxlake_offline.css"  # copied into the site's static/styles/
CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; base-uri 'none'; form-action 'none'"
)
_URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "data", "poster", "xlink:href"}
_SAFE_SCHEMES = ("#", "./", "../")
_HTTP_EQUIV = {"refresh", "content-security-policy"}
SAMPLE = 20  # unexpected values shown per expectation
PROVINCES_FILE = "provinces.json"
# the result keys that list every unexpected value or row: not for pages
_FULL_LISTS = ("unexpected_list", "unexpected_index_list", "unexpected_index_query")


def page_text(value: object) -> object:
    """A value from a file as GX may put it in a page: controls visible, HTML escaped."""
    return escape(visible(value)) if isinstance(value, str) else value


def for_docs(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its text columns as page text (a copy; numbers and booleans untouched).

    Each distinct text is converted once (a national frame repeats a few thousand texts)."""
    text = [
        c
        for c in frame.columns
        if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])
    ]
    if not text:
        return frame
    return frame.assign(**{c: _page_text_column(frame[c]) for c in text})


def _page_text_column(column: pd.Series) -> pd.Series:
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    shown = pd.Series([page_text(v) for v in uniques], dtype=object)
    values = shown.to_numpy()[codes].astype(object) if len(shown) else codes.astype(object)
    values[codes < 0] = None
    # pandas' string dtype: GX's row conditions compare it twice as fast as Python objects
    return pd.Series(values, index=column.index, name=column.name, dtype="str")


def bound_for_docs(result: dict, unexpected: pd.Series | None = None) -> dict:
    """An expectation's result as its page shows it: the counts and percentages, and at most
    SAMPLE unexpected values with their counts; never the full lists of a national frame.

    `unexpected`: the values of the rows GX found unexpected (indexed by their row id), for the
    sample when GX was asked for its row ids alone (`exclude_unexpected_values`)."""
    bounded = {k: v for k, v in result.items() if k not in _FULL_LISTS}
    if unexpected is not None:
        counts = unexpected.value_counts(dropna=False, sort=False)
        top = sorted(
            ((_plain(v), int(n)) for v, n in counts.items()), key=lambda x: (-x[1], str(x[0]))
        )
        head = unexpected.iloc[:SAMPLE]
        bounded |= {
            "partial_unexpected_counts": [{"value": v, "count": n} for v, n in top[:SAMPLE]],
            "partial_unexpected_list": [_plain(v) for v in head],
            "partial_unexpected_index_list": [
                {unexpected.index.name or "index": _plain(i)} for i in head.index
            ],
        }
    for key in ("partial_unexpected_list", "partial_unexpected_index_list"):
        if isinstance(bounded.get(key), list):
            bounded[key] = bounded[key][:SAMPLE]
    if isinstance(bounded.get("partial_unexpected_counts"), list):
        bounded["partial_unexpected_counts"] = bounded["partial_unexpected_counts"][:SAMPLE]
    return bounded


def _plain(value: object) -> object:
    """A value as a plain Python one for GX's pages and stores (NaN and NA as None)."""
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


@dataclass(frozen=True)
class Finding:
    """One expectation's outcome as the site's index shows it."""

    rule_id: str
    expectation: str
    columns: str
    condition: str  # the row condition as text; "" when the expectation has none
    success: bool
    evaluated: int  # rows in the expectation's domain (after its row condition)
    missing: int
    unexpected: int
    percent: float | None  # of the evaluated rows that were not missing
    sample: list = field(default_factory=list)  # ≤ SAMPLE distinct unexpected values, page text

    @classmethod
    def of(cls, validation_result, condition: str = "") -> Finding:
        """From a GX ExpectationValidationResult (its result bounded by `bound_for_docs`)."""
        config = validation_result.expectation_config
        kw, res = config.kwargs, validation_result.result or {}
        counts = res.get("partial_unexpected_counts") or []
        sample = [c["value"] for c in counts if isinstance(c, dict) and "value" in c]
        if not sample:
            sample = list(dict.fromkeys(map(str, res.get("partial_unexpected_list") or [])))
        return cls(
            rule_id=str(config.meta.get("rule_id", "")),
            expectation=str(config.type),
            columns=", ".join(str(kw[k]) for k in ("column", "column_A", "column_B") if kw.get(k)),
            condition=condition,
            success=bool(validation_result.success),
            evaluated=int(res.get("element_count") or 0),
            missing=int(res.get("missing_count") or 0),
            unexpected=int(res.get("unexpected_count") or 0),
            percent=res.get("unexpected_percent"),
            sample=sample[:SAMPLE],
        )


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


def make_offline(
    site: Path,
    results: dict[str, tuple[bool, int, int]],
    findings: list[Finding] | None = None,
    provinces: Iterable[str] | None = None,
) -> None:
    """Rewrite every page of the site GX wrote in `site`, and its index.

    `results`: suite name → (success, expectations evaluated, expectations failed), for the
    index; `findings`: each expectation's outcome, listed on the index; `provinces`: the
    province codes the site covers. GX's static files go but for our stylesheet."""
    static = site / "static"
    for entry in static.iterdir() if static.is_dir() else ():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    styles = static / "styles"
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
    (site / "index.html").write_text(
        _index(site, results, findings or [], sorted(provinces or [])), encoding="utf-8"
    )


def _shown(value: object) -> str:
    """A sampled value (already page text, see `for_docs`) as plain text for our own page,
    which the template escapes once."""
    return "null" if value is None else unescape(str(value))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g} %"


_ENV = page_templates(TEMPLATES, shown=_shown, percent=_percent)


def _index(
    site: Path,
    results: dict[str, tuple[bool, int, int]],
    findings: list[Finding] = (),
    provinces: list[str] = (),
) -> str:
    """The site's index as a static page: each validation with its outcome, each suite."""
    validations = []
    for page in sorted(site.glob("validations/**/*.html")):
        parts = page.relative_to(site).parts
        suite = ".".join(parts[1:-3])  # validations/<suite as folders>/<run>/<time>/<batch>.html
        success, evaluated, failed = results.get(suite, (None, 0, 0))
        validations.append(
            {
                "outcome": "ok" if success else "bad",
                "mark": {True: "✓", False: "✗"}.get(success, "?"),
                "href": page.relative_to(site).as_posix(),
                "suite": suite,
                "run_at": parts[-2],
                "evaluated": evaluated,
                "failed": failed,
            }
        )
    suites = [
        {
            "href": p.relative_to(site).as_posix(),
            "name": ".".join(p.relative_to(site).with_suffix("").parts[1:]),
        }
        for p in sorted(site.glob("expectations/**/*.html"))
    ]
    return _ENV.get_template("data_docs_index.html.j2").render(
        csp=CSP,
        css_name=CSS_NAME,
        provinces=list(provinces),
        validations=validations,
        findings=list(findings),
        sample=SAMPLE,
        suites=suites,
    )


# --- one site per validation run, and which of them are current -----------------------------


def write_site_provinces(
    site: Path, provinces: Iterable[str], validated_ns: int | None = None
) -> Path:
    """Write beside the site (last, once its pages are written) the provinces it covers and
    when it was validated (now, by default); `current_sites` reads it."""
    path = site / PROVINCES_FILE
    at = time.time_ns() if validated_ns is None else validated_ns
    body = {
        "provinces": sorted(set(provinces)),
        "validated_ns": at,
        "validated_at": datetime.fromtimestamp(at / 1e9, UTC).isoformat(timespec="microseconds"),
    }
    tmp = path.with_name(f".{PROVINCES_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _site_record(site: Path) -> tuple[list[str], int] | None:
    """(provinces, validated_ns) of a finished site; None for a folder that is not one (yet).

    A site from before provinces.json (one per province, named by its code) covers its name."""
    if not (site / "index.html").is_file():
        return None
    try:
        body = json.loads((site / PROVINCES_FILE).read_text(encoding="utf-8"))
        return [str(p) for p in body["provinces"]], int(body["validated_ns"])
    except FileNotFoundError:
        return [site.name], (site / "index.html").stat().st_mtime_ns
    except (ValueError, KeyError, TypeError):
        return None  # being written, or not ours: left alone


def current_sites(gx_dir: Path) -> dict[str, Path]:
    """Site label → its index.html, for the sites that are the newest covering at least one
    province; the other finished sites under `gx_dir` are deleted.

    A province validated alone after a national run takes its share of the national site over;
    the national site stays while it is the newest for some other province."""
    records = {}
    for site in sorted(gx_dir.iterdir()) if gx_dir.is_dir() else ():
        record = site.is_dir() and _site_record(site)
        if record:
            records[site.name] = record
    newest: dict[str, tuple[int, str]] = {}
    for label, (provinces, at) in records.items():
        for province in provinces:
            newest[province] = max(newest.get(province, (at, label)), (at, label))
    keep = {label for _, label in newest.values()}
    for label in sorted(set(records) - keep):
        shutil.rmtree(gx_dir / label, ignore_errors=True)
    return {label: gx_dir / label / "index.html" for label in sorted(keep)}
