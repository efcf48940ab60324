"""Static PNG previews of the map layers (geo/previews.py), on Huế's real boundaries
(../shared/data/vn_communes_2025.parquet, province 46, 40 units) with synthetic gap rows."""

from __future__ import annotations

import base64
import io
import re
from collections import Counter
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl
import matplotlib.image as mpimg
import numpy as np
import polars as pl
import pytest
import shapely
import shapely.affinity
from matplotlib.figure import Figure

import geo.previews as previews
from geo.maps import CLASS_COLOURS, GeometryCache
from geo.previews import (
    NOT_REPORTED_FILL,
    NOT_REPORTED_HATCH,
    PNG_DPI,
    PNG_SIZE_IN,
    REMOTE_COLOUR,
    _map_axes,
    png_preview_markdown,
    render_layer_pngs,
)

HUE = "46"
PERIOD = "2025-Q4"
CYCLE = ("meets_target", "small", "medium", "large", "not_reported")
REMOTE = {"20056": (True, False, "ĐBKK"), "20161": (False, False, "vùng sâu")}
NO_ROWS = "19819"  # Phường Phong Điền (the largest unit): no gap row at all -> no data
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def hue(shared_data: Path) -> gpd.GeoDataFrame:
    g = gpd.read_parquet(shared_data / "vn_communes_2025.parquet")
    g = g[g["ma_tinh"].astype(str) == HUE].reset_index(drop=True)
    code = g["ma_xa"].astype(str)
    flags = [REMOTE.get(c, (False, False, None)) for c in code]
    return gpd.GeoDataFrame(
        {
            "unit_code": code,
            "unit_name": g["ten_day_du"],
            "unit_type": g["loai"].str.lower(),
            "province_code": g["ma_tinh"].astype(str),
            "province_name": g["ten_tinh"],
            "is_border": [f[0] for f in flags],
            "is_island": [f[1] for f in flags],
            "remote_class": [f[2] for f in flags],
            "is_remote": [f[0] or f[1] or f[2] is not None for f in flags],
        },
        geometry=g.geometry.values,
        crs=g.crs,
    )


@pytest.fixture(scope="module")
def hue_gaps(hue, catalogue) -> pl.DataFrame:
    """Every class in every layer (the units cycle through them), one unit without rows."""
    codes = [c for c in hue["unit_code"] if c != NO_ROWS]
    return pl.DataFrame(
        [
            {
                "unit_code": c,
                "province_code": HUE,
                "indicator_id": ind.id,
                "gap_class": CYCLE[(i + k) % len(CYCLE)],
                "rank": i + 1,
            }
            for k, ind in enumerate(catalogue)
            for i, c in enumerate(codes)
        ]
    )


@pytest.fixture(scope="module")
def pngs(hue, hue_gaps, catalogue, tmp_path_factory) -> list[Path]:
    return render_layer_pngs(
        hue, hue_gaps, catalogue, tmp_path_factory.mktemp("png"), period=PERIOD
    )


def colours(path: Path) -> Counter:
    rgba = mpimg.imread(path)
    rgb = np.rint(rgba[..., :3] * 255).astype(np.uint32)
    keys = rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]
    values, counts = np.unique(keys, return_counts=True)
    return Counter({f"#{int(v):06x}": int(n) for v, n in zip(values, counts, strict=True)})


def test_one_valid_png_per_indicator(pngs, catalogue):
    assert [p.name for p in pngs] == [f"{i}.png" for i in catalogue.ids]
    width, height = (round(x * PNG_DPI) for x in PNG_SIZE_IN)
    for p in pngs:
        assert p.read_bytes()[:8] == PNG_SIGNATURE
        img = mpimg.imread(p)
        assert img.shape[:2] == (height, width), img.shape
    # Nothing left behind by the atomic writes, and readable by others (not mkstemp's 0600).
    assert sorted(x.name for x in pngs[0].parent.iterdir()) == sorted(p.name for p in pngs)
    assert {p.stat().st_mode & 0o777 for p in pngs} == {0o644}


def test_pixels_show_the_page_colours(pngs):
    for p in pngs:
        seen = colours(p)
        for cls in CYCLE[:4]:
            assert seen[CLASS_COLOURS[cls]] > 500, (p.name, cls, seen.most_common(12))
        # Not reported: hatched grey (background and hatch lines), remote outlines, no data.
        assert seen[NOT_REPORTED_FILL] > 500 or seen[NOT_REPORTED_HATCH] > 200, p.name
        assert seen[NOT_REPORTED_HATCH] > 200, p.name
        assert seen[REMOTE_COLOUR] > 200, p.name
        assert seen[CLASS_COLOURS["no_data"]] > 10_000, p.name  # the unit with no rows


def test_reruns_give_identical_bytes(pngs, hue, hue_gaps, catalogue, tmp_path):
    before = dict(mpl.rcParams)
    again = render_layer_pngs(hue, hue_gaps, catalogue, tmp_path, period=PERIOD)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in pngs]
    # Over the top of existing files too (os.replace), and the caller's rcParams untouched.
    again = render_layer_pngs(hue, hue_gaps, catalogue, tmp_path, period=PERIOD)
    assert again[0].read_bytes() == pngs[0].read_bytes()
    assert dict(mpl.rcParams) == before
    assert b"Software" not in pngs[0].read_bytes()[:4096]


def test_the_period_changes_the_image(pngs, hue, hue_gaps, catalogue, tmp_path):
    other = render_layer_pngs(
        hue,
        hue_gaps.filter(pl.col("indicator_id") == catalogue.ids[0]),
        catalogue,
        tmp_path,
        period="2026-H1",
    )
    assert len(other) == 1  # only the indicators present in the gaps, as on the page
    assert other[0].read_bytes() != pngs[0].read_bytes()


def test_markdown_preview_is_small_and_decodes(pngs):
    md = png_preview_markdown(pngs[0])
    assert len(md) <= 100_000
    m = re.fullmatch(r"!\[([^\]]*)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", md)
    assert m and m.group(1) == pngs[0].stem
    raw = base64.b64decode(m.group(2))
    assert raw[:8] == PNG_SIGNATURE
    img = mpimg.imread(io.BytesIO(raw), format="png")
    assert 300 <= img.shape[1] <= 640
    tight = png_preview_markdown(pngs[0], max_chars=20_000)
    assert len(tight) <= 20_000


def test_missing_columns_are_refused(hue, catalogue, tmp_path):
    with pytest.raises(ValueError, match="gap_class"):
        render_layer_pngs(
            hue,
            pl.DataFrame({"unit_code": ["1"], "indicator_id": ["x"]}),
            catalogue,
            tmp_path,
            period=PERIOD,
        )


def _map_files(folder: Path) -> set[str]:
    """The names of the map's pixels a render kept in its GeometryCache folder (the arrays
    files with an index image; the others hold the layers' headings)."""
    names = set()
    for path in folder.glob("arrays-*.npz"):
        with np.load(path) as npz:
            if "index" in npz.files:
                names.add(path.name)
    return names


def _drawn_map(folder: Path) -> dict[str, np.ndarray]:
    (name,) = _map_files(folder)
    with np.load(folder / name) as npz:
        return {k: npz[k] for k in npz.files}


def test_a_unit_shows_its_class_colour_where_it_lies(hue, hue_gaps, catalogue, tmp_path):
    """The index image puts each unit where its shape is, and a layer colours the unit's own
    pixels with its class's colour (not hidden by an edge, an outline or the hatching)."""
    cache_dir = tmp_path / "cache"
    pngs = render_layer_pngs(
        hue, hue_gaps, catalogue, tmp_path / "png", period=PERIOD, cache=GeometryCache(cache_dir)
    )
    drawn = _drawn_map(cache_dir)
    index, (left, top) = drawn["index"], drawn["index_at"]
    *limits, aspect = drawn["frame"].tolist()
    fig = Figure(figsize=PNG_SIZE_IN, dpi=PNG_DPI)
    ax = _map_axes(fig, limits, aspect)
    ax.apply_aspect()
    height = round(PNG_SIZE_IN[1] * PNG_DPI)
    codes = hue["unit_code"].tolist()
    inside = shapely.point_on_surface(shapely.buffer(hue.geometry.values, -0.002))
    placed = 0
    for u, point in enumerate(inside):
        if shapely.is_empty(point):
            continue  # a unit too thin to have an inside 200 m from its edges
        x, y = ax.transData.transform((point.x, point.y))
        row, col = int(height - y) - top, int(x) - left
        assert index[row, col] == u, codes[u]
        placed += 1
    assert placed > 30

    # Pixels wholly one unit's, with nothing laid over them: its class colour, layer by layer.
    clear = np.ones(index.shape, bool)
    for name in ("edges", "lines"):
        over, (ol, ot) = drawn[name], drawn[f"{name}_at"]
        full = np.zeros((height, round(PNG_SIZE_IN[0] * PNG_DPI)), bool)
        full[ot : ot + over.shape[0], ol : ol + over.shape[1]] = over[..., 3] > 0
        clear &= ~full[top : top + index.shape[0], left : left + index.shape[1]]
    classes = {(r["unit_code"], r["indicator_id"]): r["gap_class"] for r in hue_gaps.to_dicts()}
    for k, ind in enumerate(catalogue):
        rgb = np.rint(mpimg.imread(pngs[k])[..., :3] * 255).astype(int)
        window = rgb[top : top + index.shape[0], left : left + index.shape[1]]
        for u, code in enumerate(codes):
            cls = classes.get((code, ind.id), "no_data")
            if cls == "not_reported":
                continue  # grey under its hatching
            mine = (index == u) & clear
            assert mine.sum() > 20, code
            want = mpl.colors.to_rgb(CLASS_COLOURS[cls])
            assert (window[mine] == np.rint(np.array(want) * 255)).all(), (ind.id, code, cls)


def test_the_map_pixels_are_kept_until_a_shape_moves(
    pngs, hue, hue_gaps, catalogue, tmp_path, monkeypatch
):
    """The index image (with the lines and hatching) is drawn once per geometry, the layers'
    headings once: read back from the cache by a later run (the same PNGs as with no cache),
    the map drawn again when a unit's shape changes."""
    cache_dir = tmp_path / "cache"
    first = render_layer_pngs(
        hue, hue_gaps, catalogue, tmp_path / "a", period=PERIOD, cache=GeometryCache(cache_dir)
    )
    kept = _map_files(cache_dir)
    assert len(kept) == 1
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in pngs]  # as with no cache

    def not_again(*args, **kwargs):
        raise AssertionError("the map's pixels drawn again")

    with monkeypatch.context() as m:
        m.setattr(previews, "_map_pixels", not_again)
        m.setattr(previews._Headings, "__call__", not_again)
        again = render_layer_pngs(
            hue, hue_gaps, catalogue, tmp_path / "b", period=PERIOD, cache=GeometryCache(cache_dir)
        )
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in first]

    moved = hue.copy()
    moved.loc[0, "geometry"] = shapely.affinity.translate(moved.geometry.iloc[0], 0.003, 0.0)
    render_layer_pngs(
        moved, hue_gaps, catalogue, tmp_path / "c", period=PERIOD, cache=GeometryCache(cache_dir)
    )
    now = _map_files(cache_dir)
    assert len(now) == 2 and kept < now
    (new,) = now - kept
    with np.load(cache_dir / new) as a, np.load(cache_dir / kept.pop()) as b:
        assert not np.array_equal(a["index"], b["index"])
