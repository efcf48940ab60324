"""The map page as HTML: a folium.Map (the Leaflet map) with the page's own parts as a branca
element whose macros are in geo/templates/map.html.j2, rendered into the document of
geo/templates/page.html.j2; Leaflet, the page's script and styles inlined from package files,
and the page data as JSON.

Why folium: it is the project's map library; the page extends it the way folium is extended
(a MacroElement added to the map) rather than writing its own Leaflet bootstrap.
Why inline: planners open the page from a shared folder or an intranet with no Internet, so
it loads nothing (no CDN, no tiles, no second file): folium's CDN links are switched off.
Why templates: the markup, CSS and script are read, linted and changed as the files they are,
not as Python strings.
"""

from __future__ import annotations

import json
from base64 import b64encode
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import folium
from branca.element import Element, Figure, MacroElement
from jinja2 import Environment, FileSystemLoader, Template, select_autoescape
from markupsafe import Markup

HERE = Path(__file__).parent
STATIC = HERE / "static"
LEAFLET_DIR = Path(find_spec("js_lib_leaflet").origin).parent / "static" / "js_lib_leaflet"
# Every file the page's bytes are made of (besides the data and folium): for code stamps.
PAGE_FILES = (
    HERE / "templates" / "page.html.j2",
    HERE / "templates" / "map.html.j2",
    STATIC / "map.js",
    STATIC / "map.css",
)
# folium names elements from random ids; a fixed one keeps the page's bytes reproducible
# (an unchanged republish writes nothing). The page has one map, so one name is enough.
MAP_ID = "dxlake"


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


class _Rendered(Element):
    """Text already rendered, placed as is. branca's `Element(text)` would compile the text as
    a Jinja template, and the inlined script and the data hold `{{`, `{%` or `{#` at times."""

    _template = Template("{{ this.text }}")

    def __init__(self, text: str):
        super().__init__()
        self.text = text


class PageFigure(Figure):
    """The document: `<html lang="vi">`, the map beside the side panel, the scripts last."""

    _template = _environment().get_template("page.html.j2")


class MapPage(MacroElement):
    """The page's own parts, added to the folium.Map: title, inlined Leaflet and page CSS/JS
    (header), SVG patterns, side panel and data (html), the page script (script)."""

    _template = _environment().get_template("map.html.j2")

    def __init__(self, *, title: str, period: str, data: dict):
        super().__init__()
        self._name = "MapPage"
        self.title, self.period = title, period
        self.data = Markup(json_for_script(data))
        self.leaflet_css = _inline(_leaflet_css(), "style")
        self.leaflet_js = _inline(
            (LEAFLET_DIR / "leaflet.js").read_text(encoding="utf-8"), "script"
        )
        self.map_css = _inline((STATIC / "map.css").read_text(encoding="utf-8"), "style")
        self.map_js = _inline((STATIC / "map.js").read_text(encoding="utf-8"), "script")

    def render(self, **kwargs) -> None:
        """As MacroElement.render, but the macros' output goes in unparsed (see _Rendered)."""
        figure = self.get_root()
        assert isinstance(figure, Figure), "the page must be in a Figure to render"
        macros = self._template.module.__dict__
        for part in ("header", "html", "script"):
            getattr(figure, part).add_child(
                _Rendered(macros[part](self, kwargs)), name=self.get_name()
            )
        for child in self._children.values():
            child.render(**kwargs)


def page_map() -> folium.Map:
    """The Leaflet map as geo/static/map.js wants it: no tiles (the base layer is in the data),
    fractional zoom, SVG paths (their classes and hatch patterns are styled); no CDN links."""
    m = folium.Map(
        location=[16, 106],
        zoom_start=6,
        tiles=None,
        zoom_snap=0.25,
        zoom_delta=0.5,
        prefer_canvas=False,
    )
    m._id = MAP_ID
    m.default_js = []
    m.default_css = []
    return m


def render_page(*, title: str, period: str, data: dict) -> str:
    """The whole page; `title` and `period` are escaped, `data` becomes the embedded JSON."""
    figure = PageFigure()
    m = page_map().add_to(figure)
    MapPage(title=title, period=period, data=data).add_to(m)
    return figure.render()
