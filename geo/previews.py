"""Static PNG previews of the map layers: one image per indicator, for slides and for the asset's
metadata in the Dagster UI.

Why: the HTML page is the planners' tool, but a slide deck or the Dagster UI needs a still image.
The PNG follows the page (geo/maps.py): the same class colours, not-reported units hatched grey,
remote units with a thick dark outline, province outlines on top, a legend in Vietnamese with
English, the same display-simplified geometry (the lake keeps full precision).

How it stays fast at national scale (3,321 units × 9 indicators): the map is drawn once as
pixels and kept in the GeometryCache (maps/.cache) for later runs: the units as an index image
(which unit each pixel shows, sampled 3 × 3 per pixel without antialiasing), the lines that are
the same on every layer (the units' edges, remote and province outlines) and the not-reported
hatching. A layer only looks up its classes' colours for those pixels (a pixel shared by units
gets the mean of its samples, as antialiasing would give), keeps the hatching on its units not
reported, lays its title and subtitle (the same every run: kept as pixels too) and draws its
legend (its counts change with the figures); a resubmission redraws no path. The PNG is RGB (it
is opaque), compressed at level 1 (1 % larger than at the default 6, in half the time).

Determinism: no pyplot and no global backend switch (a `Figure` on its own Agg canvas), fixed
size and dpi, fixed rc parameters, no PNG text chunks (no software version or date); so a rerun
on the same inputs writes identical bytes. Each file is written beside its target and moved
into place with `os.replace`, so a reader never sees half a PNG.
"""

from __future__ import annotations

import io
import logging
import math
import textwrap
import time
from base64 import b64encode
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import polars as pl
import shapely
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_rgba, to_rgba_array
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.path import Path as MplPath
from PIL import Image  # matplotlib's own dependency

from geo.maps import (
    CLASS_COLOURS,
    CLASSES,
    QUANTUM,
    GeometryCache,
    auto_tolerance,
    display_geometry,
    prepare_units,
)
from schemas.catalogue import Catalogue, Indicator
from schemas.display import GAP_CLASS_LABELS
from schemas.lake import atomic_write, digest

log = logging.getLogger(__name__)

__all__ = [
    "render_layer_pngs",
    "layers_shown",
    "png_preview_markdown",
    "PNG_DPI",
    "PNG_SIZE_IN",
]

PNG_DPI = 110
PNG_SIZE_IN = (11.0, 9.0)  # 1210 × 990 px: map on the left, legend on the right
_MAP_BOX = (0.01, 0.025, 0.60, 0.815)  # the map's axes, in figure fractions
# The page hatches "not reported" with an SVG pattern (CLASS_COLOURS holds its url); same colours.
NOT_REPORTED_FILL = "#d9d9d9"
NOT_REPORTED_HATCH = "#7a7a7a"
REMOTE_COLOUR = "#2d004b"
PROVINCE_COLOUR = "#1a1a1a"
EDGE_COLOUR = "#ffffff"
BACKGROUND = "#eef2f5"
CLASS_LABELS = GAP_CLASS_LABELS
_RC = {  # fixed, so a user's matplotlibrc cannot change the bytes
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "hatch.linewidth": 0.9,
    "path.simplify": True,
    "path.simplify_threshold": 0.1,
    "agg.path.chunksize": 0,
    "legend.frameon": False,
}
SAMPLES = 3  # per side of a pixel, where the units' index image is drawn (3 × 3 a pixel)
_SLIVER_AREA = 1e-4  # deg² (about 1 km²): a hole smaller than this in a province is a gap


# --------------------------------------------------------------------------------- helpers


def _vi(x: float) -> str:
    """A number as Vietnamese write it: decimal comma, no trailing zeros."""
    s = f"{round(float(x), 2):.2f}".rstrip("0").rstrip(".")
    return s.replace(".", ",")


def _count(n) -> str:
    """A count with Vietnamese thousands dots: 3.321."""
    return f"{int(n):,}".replace(",", ".")


def _unit_paths(geoms: np.ndarray):
    """One matplotlib Path per geometry (every ring of every part; holes wound the other way,
    so both fill rules leave them open). Built with a few vectorised shapely calls."""
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    polys, poly_unit = shapely.get_parts(geoms, return_index=True)
    rings, ring_poly = shapely.get_rings(polys, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), MplPath.LINETO, dtype=MplPath.code_type)
    if len(coords):
        first = np.r_[True, coord_ring[1:] != coord_ring[:-1]]
        last = np.r_[coord_ring[1:] != coord_ring[:-1], True]
        codes[first] = MplPath.MOVETO
        codes[last] = MplPath.CLOSEPOLY
    coord_unit = poly_unit[ring_poly[coord_ring]] if len(coords) else np.zeros(0, np.int64)
    cuts = np.searchsorted(coord_unit, np.arange(len(geoms) + 1))
    empty = MplPath(np.zeros((0, 2)), np.zeros(0, dtype=MplPath.code_type))
    return [
        MplPath(coords[a:b], codes[a:b]) if b > a else empty
        for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ]


def _province_outlines(geoms: np.ndarray, province: np.ndarray) -> list[np.ndarray]:
    """Each province's outline (coast and borders included) as coordinate arrays: the union of
    its units' display polygons (a coverage union when they form a valid coverage, a snapped
    union otherwise), without the slivers a cleaning may leave between neighbours as holes."""
    lines: list[np.ndarray] = []
    for code in np.unique(province):
        part = geoms[province == code]
        part = part[~shapely.is_empty(part)]
        if not len(part):
            continue
        if shapely.coverage_is_valid(part):
            merged = shapely.coverage_union_all(part)
        else:
            merged = shapely.union_all(part, grid_size=QUANTUM)
        for poly in shapely.get_parts(merged):
            if shapely.get_type_id(poly) != 3:
                continue
            rings = [shapely.get_exterior_ring(poly)] + [
                hole
                for hole in shapely.get_interior_ring(
                    poly, range(shapely.get_num_interior_rings(poly))
                )
                if shapely.area(shapely.Polygon(hole)) > _SLIVER_AREA
            ]
            lines.extend(shapely.get_coordinates(r) for r in rings)
    return lines


def layers_shown(gaps: pl.DataFrame, catalogue: Catalogue) -> list[Indicator]:
    """The indicators drawn, a PNG each (as on the page: those present in `gaps`, else all)."""
    missing = [c for c in ("unit_code", "indicator_id", "gap_class") if c not in gaps.columns]
    if missing:
        raise ValueError(f"gaps: missing column(s) {missing}")
    present = set(gaps["indicator_id"].unique().to_list()) if gaps.height else set()
    return [i for i in catalogue if i.id in present] or list(catalogue)


def _class_matrix(
    units: gpd.GeoDataFrame, gaps: pl.DataFrame, catalogue: Catalogue
) -> tuple[list[Indicator], np.ndarray]:
    """The indicators shown (layers_shown) and, per unit and indicator, the index of its class
    in CLASSES (no_data when the unit has no row)."""
    indicators = layers_shown(gaps, catalogue)
    codes = units["unit_code"].astype(str).tolist()
    no_data = CLASSES.index("no_data")
    classes = np.full((len(codes), len(indicators)), no_data, dtype=np.int8)
    if gaps.height:
        order = [pl.col("rank")] if "rank" in gaps.columns else []
        rows = (
            gaps.filter(
                pl.col("unit_code").is_in(codes)
                & pl.col("indicator_id").is_in([i.id for i in indicators])
            )
            .sort(order, nulls_last=True, maintain_order=True)
            .unique(["unit_code", "indicator_id"], keep="first", maintain_order=True)
            .select(
                pl.col("unit_code").replace_strict(
                    {c: k for k, c in enumerate(codes)}, return_dtype=pl.Int64
                ),
                pl.col("indicator_id").replace_strict(
                    {i.id: k for k, i in enumerate(indicators)}, return_dtype=pl.Int64
                ),
                pl.col("gap_class")
                .replace_strict(
                    {c: k for k, c in enumerate(CLASSES)}, default=no_data, return_dtype=pl.Int8
                )
                .fill_null(no_data),
            )
        )
        u, i, c = (rows[:, k].to_numpy() for k in range(3))
        classes[u, i] = c
    return indicators, classes


def _remote_mask(units: gpd.GeoDataFrame) -> np.ndarray:
    """Border, island, remote or carrying a remote class: outlined (as on the page)."""
    mask = np.zeros(len(units), bool)
    for name in ("is_border", "is_island", "is_remote"):
        if name in units.columns:
            mask |= units[name].fillna(False).astype(bool).to_numpy()
    if "remote_class" in units.columns:
        rc = units["remote_class"].to_numpy(dtype=object)
        mask |= np.array([isinstance(x, str) and bool(x.strip()) for x in rc], dtype=bool)
    return mask


def _area_label(units: gpd.GeoDataFrame) -> str:
    provinces = units["province_name"].astype(str).unique()
    if len(provinces) == 1:
        return str(provinces[0])
    return "Cả nước / Vietnam" if len(provinces) >= 30 else f"{len(provinces)} tỉnh / provinces"


def _thresholds(ind: Indicator) -> dict[str, str]:
    small, medium = ind.gap_classes
    unit = " %" if ind.is_percent else ""
    meets = ("≥ " if ind.direction == "higher" else "≤ ") + _vi(ind.target) + unit
    return {
        "meets_target": meets,
        "small": f"≤ {_vi(small)}",
        "medium": f"{_vi(small)}–{_vi(medium)}",
        "large": f"> {_vi(medium)}",
    }


def _map_axes(fig, limits: tuple[float, float, float, float], aspect: float):
    """The map's axes on `fig`: the same box, extent and aspect on every figure."""
    ax = fig.add_axes(_MAP_BOX)
    ax.set_xlim(*limits[:2])
    ax.set_ylim(*limits[2:])
    ax.set_aspect(aspect, adjustable="box", anchor="C")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _drawn(fig) -> np.ndarray:
    """The figure drawn by Agg: an RGBA array (straight alpha) over the canvas's own buffer,
    valid until it draws again."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())


class _Pixels(Artist):
    """An RGBA image (straight alpha) laid on the figure pixel for pixel, as Agg lays any image
    over what is drawn below; `show` replaces it (a layer's fills, its hatching)."""

    def __init__(self, zorder: float) -> None:
        super().__init__()
        self.set_zorder(zorder)
        self._image: tuple[int, int, np.ndarray] | None = None

    def show(self, rgba: np.ndarray, at: tuple[int, int] | np.ndarray) -> None:
        """`rgba`'s rows top down, as drawn; `at`: the figure pixel (column, row from the top)
        of its first."""
        left, top = (int(v) for v in at)
        self._image = (left, top, np.ascontiguousarray(rgba[::-1]))  # Agg's rows go up

    def draw(self, renderer) -> None:
        if self._image is None or not self._image[2].size:
            return
        left, top, part = self._image
        gc = renderer.new_gc()
        renderer.draw_image(gc, left, int(renderer.height) - top - part.shape[0], part)
        gc.restore()


def _cropped(rgba: np.ndarray, where: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(the box of `rgba` where it has anything, or where `where` is set; its top-left pixel)."""
    where = rgba[..., 3] > 0 if where is None else where
    rows, cols = np.flatnonzero(where.any(axis=1)), np.flatnonzero(where.any(axis=0))
    if not len(rows):
        return rgba[:0, :0].copy(), np.zeros(2, np.int64)
    box = rgba[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].copy()
    return box, np.array([cols[0], rows[0]], np.int64)


def _map_frame(shown: np.ndarray) -> tuple[tuple[float, float, float, float], float]:
    """The map's limits (x0, x1, y0, y1) and aspect: the shapes' extent, padded, filling the
    map's box exactly at the local aspect (1/cos(latitude))."""
    sb = shapely.total_bounds(shown)
    if not np.isfinite(sb).all():
        sb = np.array([102.0, 8.0, 110.0, 23.5])
    aspect = 1 / max(math.cos(math.radians((sb[1] + sb[3]) / 2)), 0.1)
    pad = 0.02 * max(sb[2] - sb[0], sb[3] - sb[1], 0.01)
    x0, y0, x1, y1 = sb[0] - pad, sb[1] - pad, sb[2] + pad, sb[3] + pad
    box = (_MAP_BOX[3] * PNG_SIZE_IN[1]) / (_MAP_BOX[2] * PNG_SIZE_IN[0])  # height / width
    if aspect * (y1 - y0) / (x1 - x0) < box:
        grow = (box * (x1 - x0) / aspect - (y1 - y0)) / 2
        y0, y1 = y0 - grow, y1 + grow
    else:
        grow = (aspect * (y1 - y0) / box - (x1 - x0)) / 2
        x0, x1 = x0 - grow, x1 + grow
    return (float(x0), float(x1), float(y0), float(y1)), float(aspect)


def _unit_index(
    paths: list, limits: tuple[float, float, float, float], aspect: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which unit each pixel of the map shows: (index, its top-left pixel, mixed).

    The units are drawn once at SAMPLES × SAMPLES the resolution, without antialiasing, each in
    a colour that is its number; a pixel is SAMPLES² of those. `index` holds a pixel's unit
    when all its samples are that unit's (-1: none's), -2 when they differ: `mixed` then has
    its samples (a row per such pixel, in order), so that a layer blends their colours as
    antialiasing would (a unit smaller than a pixel still tints it)."""
    n = len(paths)
    fig = Figure(figsize=PNG_SIZE_IN, dpi=PNG_DPI * SAMPLES, facecolor="none")
    FigureCanvasAgg(fig)
    ax = _map_axes(fig, limits, aspect)
    ax.set_axis_off()
    number = np.arange(1, n + 1)
    colours = np.column_stack(
        [number & 255, number >> 8 & 255, number >> 16 & 255, np.full(n, 255)]
    )
    ax.add_collection(
        PathCollection(
            paths,
            sizes=None,
            facecolors=colours / 255,
            edgecolors="none",
            linewidths=0,
            antialiaseds=False,  # each sample one unit's: its number intact
            transform=ax.transData,
        ),
        autolim=False,
    )
    words = _drawn(fig).view("<u4")[..., 0]  # RGBA bytes: alpha in the top byte
    # The box the units cover, in whole pixels of the PNG (SAMPLES × SAMPLES samples each).
    drawn = words >= 0xFF000000
    rows = np.flatnonzero(drawn.any(axis=1)) // SAMPLES
    cols = np.flatnonzero(drawn.any(axis=0)) // SAMPLES
    if not len(rows):
        return (
            np.zeros((0, 0), np.int32),
            np.zeros(2, np.int64),
            np.zeros((0, SAMPLES**2), np.int32),
        )
    top, left = int(rows[0]), int(cols[0])
    h, w = int(rows[-1]) + 1 - top, int(cols[-1]) + 1 - left
    box = (slice(top * SAMPLES, (top + h) * SAMPLES), slice(left * SAMPLES, (left + w) * SAMPLES))
    samples = np.where(drawn[box], (words[box] & 0xFFFFFF).astype(np.int32) - 1, -1)
    samples = samples.reshape(h, SAMPLES, w, SAMPLES).transpose(0, 2, 1, 3)
    samples = samples.reshape(h, w, SAMPLES * SAMPLES)
    first = samples[..., 0]
    pure = (samples == first[..., None]).all(axis=2)
    mixed = samples[~pure]
    index = np.where(pure, first, -2)
    index_at = np.array([left, top], np.int64)
    return index, index_at, mixed


def _layer_pixels(unit_colour: np.ndarray, index: np.ndarray, mixed: np.ndarray) -> np.ndarray:
    """A layer's fills as pixels (RGBA): `unit_colour` per unit (a last row for no unit) laid on
    _unit_index's pixels, a mixed pixel the mean of its samples (their colours weighted by
    their alpha: what antialiasing gives)."""
    words = np.ascontiguousarray(unit_colour, dtype=np.uint8).view(np.uint32).ravel()
    image = np.take(words, index)  # -1: the last row (-2: mixed, set below)
    if len(mixed):
        c = unit_colour[mixed].astype(np.float32)  # (pixels, samples, RGBA)
        a = c[..., 3:]
        cover = a.sum(axis=1)
        rgb = (c[..., :3] * a).sum(axis=1) / np.maximum(cover, 1)
        blend = np.floor(np.concatenate([rgb, cover / mixed.shape[1]], axis=1) + 0.5)
        image[index == -2] = blend.astype(np.uint8).view(np.uint32).ravel()
    return image.view(np.uint8).reshape(*index.shape, 4)


def _hatched(
    hatch: np.ndarray, missing: np.ndarray, index: np.ndarray, mixed: np.ndarray
) -> np.ndarray:
    """The hatching (RGBA) kept on the units `missing` (per unit, a last False for no unit),
    on a mixed pixel as far as its samples are theirs."""
    out = hatch.copy()
    out[..., 3] *= np.take(missing.astype(np.uint8), index)
    if len(mixed):
        at = index == -2
        share = missing[mixed].mean(axis=1)
        out[..., 3][at] = np.floor(hatch[..., 3][at] * share + 0.5).astype(np.uint8)
    return out


class _Headings:
    """Layers' titles and subtitles (above the map) as pixels (at: their top-left pixel), drawn
    on one transparent figure, made when first needed."""

    def __init__(self) -> None:
        self._texts = None

    def __call__(self, title: str, subtitle: str) -> dict[str, np.ndarray]:
        if self._texts is None:
            fig = Figure(figsize=PNG_SIZE_IN, dpi=PNG_DPI, facecolor="none")
            FigureCanvasAgg(fig)
            self._texts = (
                fig.text(0.015, 0.975, "", fontsize=14, fontweight="bold", va="top"),
                fig.text(0.015, 0.915, "", fontsize=10.5, color="#444444", va="top"),
            )
        for artist, text in zip(self._texts, (title, subtitle), strict=True):
            artist.set_text(text)
        pixels, at = _cropped(_drawn(self._texts[0].get_figure()))
        return {"pixels": pixels, "at": at}


def _map_pixels(
    shown: np.ndarray, segments: list[np.ndarray], remote: np.ndarray, national: bool
) -> dict[str, np.ndarray]:
    """The map as pixels, drawn once for every layer (and kept in the GeometryCache): a layer
    only colours them.

    - index: each pixel's unit (its position in `shown`; -1: none) in the box the units cover
      (index_at: its top-left pixel), the fills drawn without antialiasing in colours that
      number the units;
    - hatch: the not-reported hatching over that box (a layer keeps it on its own units: Agg
      lays a hatch as a pattern fixed to the pixels, so it is the one drawn in their outline);
    - edges: the units' white edges, laid over the fills, under the hatching;
    - lines: remote and province outlines and the footnote, on top (edges_at, lines_at);
    - frame: the map's limits and aspect (_map_frame)."""
    limits, aspect = _map_frame(shown)
    paths = _unit_paths(shown)
    fig = Figure(figsize=PNG_SIZE_IN, dpi=PNG_DPI, facecolor="none")
    FigureCanvasAgg(fig)
    ax = _map_axes(fig, limits, aspect)
    ax.set_axis_off()

    index, index_at, mixed = _unit_index(paths, limits, aspect)

    hatch = PathCollection(
        [MplPath.unit_rectangle()],
        sizes=None,
        facecolors="none",
        edgecolors="none",
        hatch="/////" if national else "////",
        hatchcolors=NOT_REPORTED_HATCH,
        linewidths=0,
        transform=ax.transAxes,
    )
    ax.add_collection(hatch, autolim=False)
    (left, top), (h, w) = index_at, index.shape
    hatched = _drawn(fig)[top : top + h, left : left + w].copy()
    hatch.remove()

    edges = PathCollection(
        paths,
        sizes=None,
        facecolors="none",
        edgecolors=EDGE_COLOUR,
        # Every shared edge is drawn twice here, not half-covered by the next unit's fill:
        # nationally a finer line gives the same weight of white as before.
        linewidths=0.08 if national else 0.5,
        antialiaseds=True,
        transform=ax.transData,
    )
    ax.add_collection(edges, autolim=False)
    edge_pixels, edges_at = _cropped(_drawn(fig))
    edges.remove()
    ax.add_collection(
        PathCollection(
            [paths[i] for i in np.flatnonzero(remote)],
            sizes=None,
            facecolors="none",
            edgecolors=REMOTE_COLOUR,
            linewidths=0.9 if national else 2.0,
            zorder=3,
            transform=ax.transData,
        ),
        autolim=False,
    )
    ax.add_collection(
        LineCollection(
            segments,
            colors=PROVINCE_COLOUR,
            linewidths=0.7 if national else 1.5,
            capstyle="round",
            joinstyle="round",
            zorder=4,
        ),
        autolim=False,
    )
    fig.text(  # the footnote, below the map: the same on every layer too
        0.015,
        0.006,
        "Ranh giới giản lược để hiển thị; dữ liệu gốc giữ nguyên độ chính xác"
        " / boundaries simplified for display, the lake keeps full precision",
        fontsize=7.5,
        color="#666666",
        va="bottom",
    )
    line_pixels, lines_at = _cropped(_drawn(fig))
    return {
        "index": index.astype(np.int32),
        "index_at": index_at,
        "mixed": mixed.astype(np.int32),
        "hatch": hatched,
        "edges": edge_pixels,
        "edges_at": edges_at,
        "lines": line_pixels,
        "lines_at": lines_at,
        "frame": np.array([*limits, aspect]),
    }


def _save_png(rgba: np.ndarray, path: Path) -> None:
    """The image (opaque) as an RGB PNG, no alpha channel to store, without text chunks (no
    software version or date), written atomically (readable by others per the umask, like
    every output). Compression level 1: on these maps 1 % larger than the default 6, in half
    the time."""
    image = Image.fromarray(rgba, "RGBA").convert("RGB")
    atomic_write(
        path,
        lambda tmp: image.save(tmp, format="png", dpi=(PNG_DPI, PNG_DPI), compress_level=1),
    )


# ---------------------------------------------------------------------------------- public


def render_layer_pngs(
    units: gpd.GeoDataFrame,
    gaps: pl.DataFrame,
    catalogue: Catalogue,
    out_dir: Path,
    *,
    period: str,
    area: str | None = None,
    tolerance: float | None = None,
    only: set[str] | None = None,
    cache: GeometryCache | None = None,
) -> list[Path]:
    """Write one PNG per indicator layer, out_dir/<indicator_id>.png, and return their paths.

    units/gaps as for `geo.maps.render_map_page` (unit fields + geometry and the remote flags;
    COVERAGE_GAPS rows, at least unit_code, indicator_id, gap_class). `area` names the place in
    the title (default: the province's name, or "Cả nước / Vietnam"); `tolerance` (degrees) as
    on the page, default `auto_tolerance` of the extent. `only`: the indicator ids to draw (the
    others' paths are returned, not drawn: a publish redraws the layers whose data changed);
    `cache`: the display geometry reused from the map page or an earlier run.
    """
    started = time.perf_counter()
    units = prepare_units(units)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    indicators, classes = _class_matrix(units, gaps, catalogue)
    paths_out = [out_dir / f"{ind.id}.png" for ind in indicators]
    draw = [k for k, ind in enumerate(indicators) if only is None or ind.id in only]
    if not draw:
        return paths_out
    area = area or _area_label(units)

    # The map as pixels, once (and then from the cache): display-simplified units, numbered
    # pixel by pixel, their edges, the outlines.
    geoms = np.asarray(units.geometry.values, dtype=object)
    tol = auto_tolerance(shapely.total_bounds(geoms)) if tolerance is None else float(tolerance)
    province = units["province_code"].astype(str).to_numpy()
    remote = _remote_mask(units)
    n = len(units)
    national = n > 400
    code = Path(__file__).read_bytes()  # in the cache's names: the drawing code
    with mpl.rc_context(_RC):
        if cache is None:
            shown = display_geometry(geoms, tol)
            drawn = _map_pixels(shown, _province_outlines(shown, province), remote, national)
        else:
            key = cache.key(geoms, tol, True)

            def make() -> dict[str, np.ndarray]:
                shown = cache.display(geoms, tol, True)[1]
                segments = cache.lines(
                    f"{key} province outlines {'|'.join(province)}",
                    lambda: _province_outlines(shown, province),
                )
                return _map_pixels(shown, segments, remote, national)

            # Named by what shapes the pixels: the geometry, the provinces, the remote units,
            # this module's code (sizes, colours, rc parameters) and matplotlib's version.
            drawn = cache.arrays(
                digest(
                    "layer pixels", key, "|".join(province), remote.tobytes(), code, mpl.__version__
                ),
                make,
            )
    prepared = time.perf_counter()

    fill_rgba = to_rgba_array(
        [NOT_REPORTED_FILL if c == "not_reported" else CLASS_COLOURS[c] for c in CLASSES]
    )
    # As Agg turns a fill's colour into bytes; the last row: no unit (index -1).
    fill_bytes = np.vstack([np.floor(fill_rgba * 255 + 0.5), [0, 0, 0, 0]]).astype(np.uint8)
    nr = CLASSES.index("not_reported")
    no_data = CLASSES.index("no_data")
    *limits, aspect = drawn["frame"].tolist()
    index, index_at, mixed = drawn["index"], drawn["index_at"], drawn["mixed"]

    written: list[Path] = []
    with mpl.rc_context(_RC):
        fig = Figure(figsize=PNG_SIZE_IN, dpi=PNG_DPI, facecolor="white")
        FigureCanvasAgg(fig)
        ax = _map_axes(fig, tuple(limits), aspect)
        ax.set_facecolor(BACKGROUND)
        for spine in ax.spines.values():
            spine.set_edgecolor("#b0b0b0")
        fills, hatch = _Pixels(zorder=1), _Pixels(zorder=2)
        edges, lines = _Pixels(zorder=1.5), _Pixels(zorder=3)
        edges.show(drawn["edges"], drawn["edges_at"])
        lines.show(drawn["lines"], drawn["lines_at"])
        for image in (fills, edges, hatch, lines):
            ax.add_artist(image)

        heading, headings = _Pixels(zorder=3), _Headings()
        fig.add_artist(heading)
        legend = None
        for k in draw:
            ind = indicators[k]
            cls = classes[:, k]
            # Each pixel its unit's class colour; the hatching kept on the units not reported.
            fills.show(
                _layer_pixels(fill_bytes[np.append(cls, len(CLASSES))], index, mixed), index_at
            )
            hatch.show(
                _hatched(drawn["hatch"], np.append(cls == nr, False), index, mixed), index_at
            )
            counts = np.bincount(cls, minlength=len(CLASSES))

            unit = "%" if ind.is_percent else f"{ind.unit_vi} / {ind.unit_en}"
            texts = (
                textwrap.fill(f"{ind.name_vi} — {area}", 70),
                textwrap.fill(ind.name_en, 95)
                + f"\nKỳ báo cáo / period: {period}  ·  Mục tiêu / target: {_vi(ind.target)} {unit}",
            )
            # The same every run (a third of the layer's text): drawn once, then its pixels.
            made = (
                headings(*texts)
                if cache is None
                else cache.arrays(
                    digest("layer heading", *texts, code, mpl.__version__),
                    lambda texts=texts: headings(*texts),
                )
            )
            heading.show(made["pixels"], made["at"])
            th = _thresholds(ind)
            handles, labels = [], []
            for c, name in enumerate(CLASSES):
                if name == "no_data" and not counts[c]:
                    continue
                vi, en = CLASS_LABELS[name]
                extra = f" ({th[name]})" if name in th else ""
                if name == "not_reported":
                    handles.append(
                        Patch(
                            facecolor=NOT_REPORTED_FILL,
                            edgecolor=NOT_REPORTED_HATCH,
                            hatch="////",
                            linewidth=0.5,
                        )
                    )
                else:
                    handles.append(
                        Patch(facecolor=to_rgba(fill_rgba[c]), edgecolor="#999999", linewidth=0.5)
                    )
                labels.append(f"{vi} / {en}{extra}: {_count(counts[c])}")
            behind = n - counts[CLASSES.index("meets_target")] - counts[no_data]
            handles.append(Patch(facecolor="none", edgecolor="none"))
            labels.append(
                f"Chưa đạt (kể cả chưa báo cáo)\n/ behind target, not reported included: {_count(behind)}"
            )
            handles.append(Patch(facecolor="white", edgecolor=REMOTE_COLOUR, linewidth=2.0))
            labels.append(
                f"Vùng khó khăn / remote: {_count(remote.sum())}"
                + "\n(biên giới, hải đảo, vùng sâu, vùng xa\n/ border, island, remote class)"
            )
            handles.append(Line2D([], [], color=PROVINCE_COLOUR, linewidth=1.5))
            labels.append("Ranh giới tỉnh / province outline")
            if legend is not None:
                legend.remove()
            gap_unit = (
                "điểm % / percentage points" if ind.is_percent else f"{ind.unit_vi} / {ind.unit_en}"
            )
            legend = fig.legend(
                handles,
                labels,
                loc="upper left",
                bbox_to_anchor=(0.625, 0.84),
                title=f"Khoảng cách đến mục tiêu\n/ gap to target ({gap_unit})",
                title_fontsize=10,
                fontsize=9,
                alignment="left",
                handlelength=2.2,
                handleheight=1.3,
                labelspacing=0.9,
                borderaxespad=0,
            )
            _save_png(_drawn(fig), paths_out[k])
            written.append(paths_out[k])
    log.info(
        "layer PNGs in %s: %d units, %d layers, geometry %.1f s, drawing %.1f s",
        out_dir,
        n,
        len(written),
        prepared - started,
        time.perf_counter() - prepared,
    )
    return paths_out


def png_preview_markdown(path: Path, *, max_chars: int = 100_000, width: int = 640) -> str:
    """A markdown image with the PNG inlined as base64 (for Dagster's MetadataValue.md),
    at most `width` pixels wide and smaller until the whole string fits in `max_chars`.
    Made on every publish, so cheaply: shrunk by a whole factor (a box filter) and reduced to
    a palette by a fast octree, which also keeps the class colours (median cut blended the
    yellows and oranges into browns)."""
    path = Path(path)
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    alt = path.stem.replace("[", "(").replace("]", ")")
    w = min(width, rgb.width)
    while True:
        factor = math.ceil(rgb.width / w)
        small = rgb.reduce(factor) if factor > 1 else rgb
        small = small.quantize(
            colors=64, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
        )
        buf = io.BytesIO()
        small.save(buf, format="PNG", optimize=True)
        md = f"![{alt}](data:image/png;base64,{b64encode(buf.getvalue()).decode('ascii')})"
        if len(md) <= max_chars or w <= 64:
            return md
        w = max(64, int(w * 0.75))
