"""The map page as HTML: a Jinja2 template (autoescaped) with Leaflet, the page's own script and
styles inlined from package files, and the page data as JSON.

Why inline: planners open the page from a shared folder or an intranet with no Internet, so
it loads nothing (no CDN, no tiles, no second file). Why templates: the markup, CSS and script
are read, linted and changed as the files they are, not as Python strings.
"""

from __future__ import annotations

import json
from base64 import b64encode
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

HERE = Path(__file__).parent
STATIC = HERE / "static"
LEAFLET_DIR = Path(find_spec("js_lib_leaflet").origin).parent / "static" / "js_lib_leaflet"
# Every file the page's bytes are made of (besides the data): for code stamps.
PAGE_FILES = (HERE / "templates" / "map.html.j2", STATIC / "map.js", STATIC / "map.css")


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        keep_trailing_newline=True,
    )


def json_for_script(obj) -> str:
    """JSON safe inside <script>: no `<`, `>` or `&` (so no `</script>` or `<!--`), no U+2028."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _inline(text: str, tag: str) -> Markup:
    """Trusted file content for a <script> or <style> element: it cannot close the element."""
    return Markup(text.replace(f"</{tag}", f"<\\/{tag}"))


@cache
def _leaflet_css() -> str:
    css = (LEAFLET_DIR / "leaflet.css").read_text(encoding="utf-8")
    for img in sorted((LEAFLET_DIR / "images").glob("*.png")):
        uri = "data:image/png;base64," + b64encode(img.read_bytes()).decode("ascii")
        css = css.replace(f"url(images/{img.name})", f"url({uri})")
    return css


def render_page(*, title: str, period: str, data: dict) -> str:
    """The whole page; `title` and `period` are escaped, `data` becomes the embedded JSON."""
    return (
        _environment()
        .get_template("map.html.j2")
        .render(
            title=title,
            period=period,
            leaflet_css=_inline(_leaflet_css(), "style"),
            leaflet_js=_inline((LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8"), "script"),
            map_css=_inline((STATIC / "map.css").read_text(encoding="utf-8"), "style"),
            map_js=_inline((STATIC / "map.js").read_text(encoding="utf-8"), "script"),
            data=Markup(json_for_script(data)),
        )
    )
