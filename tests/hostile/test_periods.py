"""Periods are isolated: two periods run together (the same file bytes landed in both) give each
period exactly what a run of it alone gives, and `--period` takes ASCII YYYY-H1|H2 only, refused
before anything is written."""

from __future__ import annotations

import subprocess

import polars as pl
import pytest

from orchestration.cli import main
from schemas.lake import read_period
from tests.hostile.conftest import FIGURES, copy_good, dxlake_run, lake_tables

H1, H2 = "2026-H1", "2026-H2"
OUTCOMES = ("validated_observations", "quarantined_rows", "superseded_observations")


def _finish(procs: list[subprocess.Popen]) -> list[tuple[int, str]]:
    done = []
    for proc in procs:
        _, err = proc.communicate(timeout=400)
        done.append((proc.returncode, err))
    FIGURES["runs"] += len(done)
    FIGURES["runs crashed"] += sum(rc != 0 for rc, _ in done)
    return done


def _period_tables(lake, period: str) -> dict[str, list[str]]:
    return {k: v for k, v in lake_tables(lake).items() if f"/period={period}/" in f"/{k}"}


@pytest.fixture(scope="module")
def two_periods(tmp_path_factory, good_landing):
    """(home with 2026-H1 run alone, home with 2026-H1 and 2026-H2 run together), where 2026-H2's
    landing holds the very same bytes as 2026-H1's."""
    alone = tmp_path_factory.mktemp("h1_alone")
    copy_good(good_landing, alone / "landing" / H1)
    together = tmp_path_factory.mktemp("h1_h2_together")
    copy_good(good_landing, together / "landing" / H1)
    copy_good(good_landing, together / "landing" / H2)
    ran_alone = _finish([dxlake_run(alone, H1)])
    ran_together = _finish([dxlake_run(together, H1), dxlake_run(together, H2)])
    return alone, together, ran_alone + ran_together


def test_two_periods_started_together_both_finish(two_periods):
    _, _, done = two_periods
    assert [rc for rc, _ in done] == [0, 0, 0], [err[-2000:] for _, err in done]


def test_a_period_run_beside_another_gives_what_it_gives_alone(two_periods):
    alone, together, _ = two_periods
    got = _period_tables(together / "lake", H1)
    assert got and got == _period_tables(alone / "lake", H1)


def test_the_same_bytes_in_two_periods_are_two_sets_of_observations(two_periods):
    _, together, _ = two_periods
    lake = together / "lake"
    raw = {p: read_period(lake, "raw_reports", p) for p in (H1, H2)}
    assert raw[H1].height == raw[H2].height > 0
    assert set(raw[H1]["obs_id"]).isdisjoint(raw[H2]["obs_id"])
    for period in (H1, H2):
        ends = pl.concat(
            [read_period(lake, t, period).select("obs_id", "period") for t in OUTCOMES]
        )
        assert ends["period"].unique().to_list() == [period]
        assert sorted(ends["obs_id"]) == sorted(raw[period]["obs_id"])  # each once, none lost
    # 2026-H1's files in 2026-H2's folder: their figures are never taken for 2026-H2
    assert read_period(lake, "validated_observations", H2).is_empty()
    quarantined = read_period(lake, "quarantined_rows", H2)
    assert "period_mismatch" in set(quarantined["rule_id"])


@pytest.mark.parametrize(
    "period", ["2026-H1\n", " 2026-H1", "٢٠٢٦-H1", "２０２６-H1", "2026-H3", "2026-h1", "26-H1", ""]
)
@pytest.mark.parametrize("command", ["run", "demo", "template"])
def test_period_is_ascii_yyyy_h1_or_h2_and_refused_before_anything_is_written(
    command, period, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("DXLAKE_HOME", str(tmp_path / "home"))
    extra = ["--province", "46", "-o", str(tmp_path / "t.xlsx")] if command == "template" else []
    with pytest.raises(SystemExit) as exc:
        main([command, "--period", period, *extra])
    assert exc.value.code == 2
    assert "invalid period" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no landing, no template, no lake


def test_a_valid_period_is_accepted(tmp_path):
    out = tmp_path / "t.xlsx"
    assert main(["template", "--province", "46", "--period", "2026-H2", "-o", str(out)]) == 0
    assert out.exists()
