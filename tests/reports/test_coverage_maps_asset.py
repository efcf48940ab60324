"""The coverage_maps asset materialized through Dagster on the demo files (Huế, 2026-H1): the
map pages and one PNG per indicator layer land under reports/<period>/maps/, each PNG shows the
gap classes the lake holds for its indicator, and the materialization's metadata carries the
paths and an inline preview the Dagster UI can show."""

from __future__ import annotations

import base64
import io
import re
from collections import Counter
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import polars as pl
import pytest

from geo.maps import CLASS_COLOURS
from geo.previews import _MAP_BOX, NOT_REPORTED_FILL, NOT_REPORTED_HATCH, PNG_DPI, PNG_SIZE_IN
from schemas.lake import table_path

PERIOD = "2026-H1"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def materialized(demo_run):
    """(settings, coverage_gaps as in the lake, the coverage_maps materialization's metadata)."""
    settings, _, results, _ = demo_run
    (maps_run,) = [r for r in results if r.dagster_run.tags.get("dxlake/part") == "pages"]
    events = maps_run.asset_materializations_for_node("coverage_maps")
    assert len(events) == 1 and events[0].partition == PERIOD
    gaps = pl.read_parquet(table_path(settings.lake, "coverage_gaps", PERIOD))
    return settings, gaps, events[0].metadata


def map_colours(path: Path) -> Counter:
    """Pixel colours of the map part of a PNG (left of the legend, whose swatches show every
    class whether or not a unit has it)."""
    rgb = np.rint(mpimg.imread(path)[..., :3] * 255).astype(np.uint32)
    rgb = rgb[:, : int((_MAP_BOX[0] + _MAP_BOX[2]) * rgb.shape[1])]
    keys = (rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]).ravel()
    values, counts = np.unique(keys, return_counts=True)
    return Counter({f"#{int(v):06x}": int(n) for v, n in zip(values, counts, strict=True)})


def test_one_valid_png_per_indicator_under_maps(materialized, catalogue):
    settings, gaps, metadata = materialized
    png_dir = settings.reports / PERIOD / "maps" / "png"
    indicators = sorted(gaps["indicator_id"].unique())
    assert indicators == sorted(catalogue.ids)  # the demo reports all nine
    assert sorted(p.name for p in png_dir.iterdir()) == [f"{i}.png" for i in indicators]
    width, height = (round(x * PNG_DPI) for x in PNG_SIZE_IN)
    for ind in indicators:
        path = png_dir / f"{ind}.png"
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        assert mpimg.imread(path).shape[:2] == (height, width)
    # The metadata names the same files.
    assert metadata["layer_pngs"].value == {i: str(png_dir / f"{i}.png") for i in catalogue.ids}


def test_each_png_shows_the_classes_of_its_indicator(materialized):
    settings, gaps, metadata = materialized
    for ind, path in metadata["layer_pngs"].value.items():
        present = set(gaps.filter(pl.col("indicator_id") == ind)["gap_class"])
        seen = map_colours(Path(path))
        for cls in ("meets_target", "small", "medium", "large"):
            if cls in present:
                assert seen[CLASS_COLOURS[cls]] > 200, (ind, cls, seen.most_common(10))
            else:
                assert seen[CLASS_COLOURS[cls]] < 20, (ind, cls, seen.most_common(10))
        # Not reported: grey hatched (one small unit in pop_5g_coverage: ~1,200 px, ~60 of hatch).
        hatched = seen[NOT_REPORTED_FILL] > 500 and seen[NOT_REPORTED_HATCH] > 30
        assert hatched == ("not_reported" in present), (ind, seen.most_common(10))


def test_metadata_carries_the_pages_and_a_preview(materialized, catalogue):
    settings, _, metadata = materialized
    maps = settings.reports / PERIOD / "maps"
    assert metadata["map"].value == str(maps / "index.html")
    assert (maps / "index.html").stat().st_size > 10_000
    province_page = maps / "provinces" / "46-thanh-pho-hue.html"
    assert metadata["province_maps"].value == [str(province_page)]
    assert "Thành phố Huế" in province_page.read_text(encoding="utf-8")

    md = metadata["preview"].value
    assert type(metadata["preview"]).__name__ == "MarkdownMetadataValue"
    assert len(md) <= 100_000
    m = re.fullmatch(r"!\[([^\]]*)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", md)
    assert m and m.group(1) == catalogue.ids[0]
    raw = base64.b64decode(m.group(2))
    assert raw[:8] == PNG_SIGNATURE
    assert 300 <= mpimg.imread(io.BytesIO(raw), format="png").shape[1] <= 640
