"""The GX validator on its own: one suite and one checkpoint run per call whatever the frame, each
indicator's range an expectation with a row condition, failures exact on a big frame, Data Docs
bounded in size and offline, and one site per validation run of which each province's newest
is kept (schemas.expectations, schemas.data_docs)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import polars as pl
import pytest

from schemas.data_docs import SAMPLE, current_sites, write_site_provinces

PERIOD = "2026-H1"
VILLAGES = "villages_without_mobile_signal"  # the one count indicator: range 0–500


def _clean(catalogue, rows: int) -> pl.DataFrame:
    """`rows` prepared rows (the columns `assets.validate.checks.prepare` gives) breaking no rule,
    the catalogue's indicators in turn."""
    ids = catalogue.ids
    indicator = [ids[i % len(ids)] for i in range(rows)]
    count = [i == VILLAGES for i in indicator]
    return pl.DataFrame(
        {
            "row_id": pl.Series(range(rows), dtype=pl.UInt32),
            "unit_code": [f"{i % 3321:05d}" for i in range(rows)],
            "indicator_id": indicator,
            "indicator_known": True,
            "reported_period": PERIOD,
            "parse_error": pl.Series([None] * rows, dtype=pl.String),
            "figure_complete": True,
            "numerator": [None if c else 5.0 for c in count],
            "denominator": [None if c else 10.0 for c in count],
            "min_figure": 5.0,
            "whole_ok": True,
            "share_suspect": False,
            "stated_diff_pp": pl.Series([None] * rows, dtype=pl.Float64),
            "conflict": False,
            "value": [12.0 if c else 50.0 for c in count],
        }
    )


def _plant(df: pl.DataFrame, rows: list[int], **columns) -> pl.DataFrame:
    at = pl.col("row_id").is_in(rows)
    return df.with_columns(
        **{c: pl.when(at).then(pl.lit(v)).otherwise(pl.col(c)) for c, v in columns.items()}
    )


@pytest.fixture
def validator_class():
    from schemas.expectations import ObservationValidator

    return ObservationValidator


@pytest.fixture
def checkpoint_runs(monkeypatch):
    """The names of the GX checkpoints run while the test runs."""
    from great_expectations.checkpoint import Checkpoint

    runs: list[str] = []
    original = Checkpoint.run

    def counted(self, *args, **kwargs):
        runs.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Checkpoint, "run", counted)
    return runs


def test_one_suite_with_a_range_per_indicator_by_row_condition(catalogue, validator_class):
    v = validator_class(catalogue, PERIOD)
    suite = v._suite
    assert suite.name == "observations"
    ranges = [e for e in suite.expectations if e.meta["rule_id"] == "value_out_of_range"]
    assert len(ranges) == len(catalogue.ids)
    by_indicator = {e.meta["indicator_id"]: e for e in ranges}
    assert set(by_indicator) == set(catalogue.ids)
    for ind in catalogue:
        e = by_indicator[ind.id]
        assert e.column == "value"
        assert (e.min_value, e.max_value) == ind.valid_range
        assert repr(e.row_condition) == f"indicator_id == {ind.id}"
    others = [e for e in suite.expectations if e.meta["rule_id"] != "value_out_of_range"]
    assert all(e.row_condition is None for e in others)
    assert len(others) == 12


def test_one_checkpoint_run_per_call_and_each_range_its_indicator_s(
    catalogue, validator_class, checkpoint_runs
):
    df = _clean(catalogue, 900)
    ids = df["row_id"].to_list()
    ind = dict(zip(ids, df["indicator_id"], strict=True))
    percent = [r for r in ids if ind[r] == "pop_5g_coverage"][:3]
    villages = [r for r in ids if ind[r] == VILLAGES][:4]
    df = _plant(df, percent[:2], value=150.0)  # out of 0–100
    df = _plant(df, villages[:2], value=150.0)  # inside 0–500: passes
    df = _plant(df, villages[2:3], value=600.0)  # out of 0–500
    df = _plant(df, percent[2:3], value=None)  # nothing to judge: not out of range
    df = _plant(df, [villages[3]], indicator_id="?khong co", indicator_known=False, value=9999.0)
    failures = validator_class(catalogue, PERIOD).failures(df.to_pandas())
    assert checkpoint_runs == ["observations"]
    assert failures == {
        percent[0]: ["value_out_of_range"],
        percent[1]: ["value_out_of_range"],
        villages[2]: ["value_out_of_range"],
        villages[3]: ["unknown_indicator"],  # no indicator's range applies to it
    }


def test_failures_are_exact_on_a_big_frame(catalogue, validator_class, checkpoint_runs):
    rows = 60_000
    df = _clean(catalogue, rows)
    ind = df["indicator_id"].to_list()
    expected: dict[int, list[str]] = {}
    planted = {
        "unit_unresolved": ({"unit_code": None}, range(0, rows, 50)),
        "period_mismatch": ({"reported_period": "2025-H2"}, range(7, rows, 70)),
        "not_a_number": ({"parse_error": "một"}, range(11, rows, 90)),
        "negative_value": ({"min_figure": -1.0}, range(13, rows, 110)),
        "numerator_exceeds_denominator": ({"numerator": 20.0}, range(17, rows, 130)),
        "conflicting_duplicate": ({"conflict": True}, range(19, rows, 170)),
    }
    for rule, (cells, at) in planted.items():
        if rule == "numerator_exceeds_denominator":
            at = [r for r in at if ind[r] != VILLAGES]
        df = _plant(df, list(at), **cells)
        for r in at:
            expected.setdefault(r, []).append(rule)
    out = [r for r in range(5, rows, 40) if ind[r] != VILLAGES]
    df = _plant(df, out, value=100.5)
    for r in out:
        expected.setdefault(r, []).append("value_out_of_range")
    failures = validator_class(catalogue, PERIOD).failures(df.to_pandas())
    assert checkpoint_runs == ["observations"]
    assert {r: sorted(v) for r, v in failures.items()} == {
        r: sorted(v) for r, v in expected.items()
    }


def test_a_rule_gx_cannot_evaluate_stops_the_validation(catalogue, validator_class):
    df = _clean(catalogue, 30).with_columns(value=pl.lit("năm mươi"))  # text where numbers go
    with pytest.raises(RuntimeError, match="value_out_of_range"):
        validator_class(catalogue, PERIOD).failures(df.to_pandas())


def test_data_docs_are_bounded_offline_and_say_what_they_cover(
    catalogue, validator_class, tmp_path
):
    rows = 20_000
    df = _clean(catalogue, rows)
    bad = list(range(0, rows, 4))  # 5,000 rows, each a different text
    texts = [f"sai-{r:05d}" for r in bad]
    hostile = "<script>alert(1)</script>"
    df = df.with_columns(
        parse_error=pl.when(pl.col("row_id") % 4 == 0)
        .then(pl.format("sai-{}", pl.col("row_id").cast(pl.String).str.zfill(5)))
        .otherwise(None)
    )
    df = _plant(df, [1], parse_error=hostile)
    villages = [r for r in range(rows) if df["indicator_id"][r] == VILLAGES and r % 4 == 2]
    df = _plant(df, villages, value=501.0)
    site = tmp_path / "gx" / "run-1"
    v = validator_class(catalogue, PERIOD, docs_dir=site, provinces=["46", "01", "46"])
    failures = v.failures(df.to_pandas())
    assert len(failures) == len(bad) + 1 + len(villages)

    files = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert [f for f in files if f.startswith("static/")] == ["static/styles/dxlake_offline.css"]
    size = sum((site / f).stat().st_size for f in files)
    assert size < 400_000, size  # 5,000 failing rows change nothing: counts and a sample
    pages = {f: (site / f).read_text(encoding="utf-8") for f in files if f.endswith(".html")}
    for name, html in pages.items():
        shown = sum(t in html for t in texts)
        assert shown <= SAMPLE, (name, shown)
        assert "<script" not in html.lower(), name
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html), name
    assert json.loads((site / "provinces.json").read_text())["provinces"] == ["01", "46"]

    index = pages["index.html"]
    for e in v._suite.expectations:
        assert f"<code>{e.meta['rule_id']}</code>" in index
    row = re.search(r"<tr class='bad'>(<td>✗</td><td><code>not_a_number</code>.*?)</tr>", index)
    assert row, "not_a_number listed as failed"
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    percent = f"{(len(bad) + 1) / rows * 100:.4g} %"
    assert cells[5:9] == [str(rows), "0", str(len(bad) + 1), percent]  # evaluated, …, percent
    assert cells[9].count("<code>") == SAMPLE
    assert f"indicator_id == {VILLAGES}" in index
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in index  # sampled, as text
    assert "Tỉnh, thành phố <span class='en'>/ provinces</span>: 01, 46" in index

    (validation,) = [f for f in pages if f.startswith("validations/")]
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", pages[validation]))
    assert f"If indicator_id == {VILLAGES} , then values must be" in text
    assert f"{len(bad) + 1} unexpected values found" in text
    suite_page = pages["expectations/observations.html"]
    assert "Quy tắc / rule: <code>value_out_of_range</code>" in suite_page


def test_the_site_of_a_province_s_own_folder_covers_that_province(
    catalogue, validator_class, tmp_path
):
    site = tmp_path / "gx" / "46"
    validator_class(catalogue, PERIOD, docs_dir=site).failures(_clean(catalogue, 20).to_pandas())
    assert json.loads((site / "provinces.json").read_text())["provinces"] == ["46"]
    assert current_sites(tmp_path / "gx") == {"46": site / "index.html"}


# --- one site per validation run ---------------------------------------------------------------


def _site(gx: Path, label: str, provinces: list[str] | None, at: int) -> Path:
    site = gx / label
    site.mkdir(parents=True)
    (site / "index.html").write_text("<html></html>")
    if provinces is None:  # a site from before provinces.json: its folder names its province
        os.utime(site / "index.html", ns=(at, at))
    else:
        write_site_provinces(site, provinces, validated_ns=at)
    return site


def test_each_province_keeps_its_newest_site(tmp_path):
    gx = tmp_path / "gx"
    _site(gx, "national-1", ["01", "46", "79"], at=1_000)
    assert current_sites(gx) == {"national-1": gx / "national-1" / "index.html"}

    _site(gx, "46", ["46"], at=2_000)  # Huế revalidated alone: the national site stays for the rest
    assert set(current_sites(gx)) == {"national-1", "46"}

    _site(gx, "run-3", ["01", "79"], at=3_000)  # the rest revalidated: the national site goes
    assert current_sites(gx) == {
        "46": gx / "46" / "index.html",
        "run-3": gx / "run-3" / "index.html",
    }
    assert not (gx / "national-1").exists()

    _site(gx, "national-4", ["01", "46", "79"], at=4_000)
    assert set(current_sites(gx)) == {"national-4"}
    assert sorted(p.name for p in gx.iterdir()) == ["national-4"]


def test_old_sites_unfinished_ones_and_other_folders(tmp_path):
    gx = tmp_path / "gx"
    _site(gx, "92", None, at=1_000)  # per-province site from before, older than the next run
    _site(gx, "93", None, at=10**19)  # … and one newer than it
    _site(gx, "run-2", ["92", "93"], at=5_000)
    (gx / "run-3").mkdir()  # being written: no index yet
    (gx / "run-3" / "validations").mkdir()
    odd = _site(gx, "odd", ["92"], at=9_000)
    (odd / "provinces.json").write_text("{not json")  # not ours to judge: left alone
    (gx / "notes.txt").write_text("a file, not a site")
    assert set(current_sites(gx)) == {"93", "run-2"}
    assert sorted(p.name for p in gx.iterdir()) == ["93", "notes.txt", "odd", "run-2", "run-3"]
    assert current_sites(tmp_path / "nothing") == {}


def test_a_national_run_then_a_province_alone(catalogue, validator_class, tmp_path):
    gx = tmp_path / "gx"
    frame = _clean(catalogue, 40).to_pandas()
    validator_class(catalogue, PERIOD, docs_dir=gx / "run-a", provinces=["01", "46"]).failures(
        frame
    )
    validator_class(catalogue, PERIOD, docs_dir=gx / "46", provinces=["46"]).failures(frame)
    assert current_sites(gx) == {
        "46": gx / "46" / "index.html",
        "run-a": gx / "run-a" / "index.html",
    }
    validator_class(catalogue, PERIOD, docs_dir=gx / "01").failures(frame)
    assert set(current_sites(gx)) == {"01", "46"}
    assert not (gx / "run-a").exists()
