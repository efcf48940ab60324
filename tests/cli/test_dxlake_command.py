"""The `dxlake` command as a data engineer runs it: a real process, real DAGSTER_HOME, the real
boundary file; exit code, summary, progress, lake paths and contracts checked, and the runs as
`dxlake dev`'s UI sees them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import geopandas as gpd
import polars as pl
import pytest

from schemas.contracts import QUARANTINED_ROWS, VALIDATED_OBSERVATIONS
from tests.conftest import REPO

JOBS = ("reference_job", "snapshot_job", "ingest_job", "coverage_job")
JOBS += tuple(f"publish_job ({part})" for part in ("gaps", "pages"))
# What the UI's timeline asks (ui-core useRunsForTimeline): a run is drawn only under a job of a
# loaded code location, matched by the run's repository origin.
UI_QUERY = """{
  runsOrError { ... on Runs { results {
    runId pipelineName tags { key value }
    repositoryOrigin { repositoryName repositoryLocationName } } } }
  workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
    ... on RepositoryLocation { name repositories { name pipelines { name } } }
    ... on PythonError { message } } } } }
}"""


def _dxlake(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _beside_children() -> list[str]:
    """Command lines of orchestration.beside children alive on this machine."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        if "orchestration.beside import _child" in text:
            found.append(text)
    return found


def _as_the_ui_sees(instance) -> dict:
    """The UI's answer to UI_QUERY on the workspace `dxlake dev` loads (a code server started
    from workspace.yaml, as `dagster dev` starts it)."""
    from dagster._core.workspace.load import load_workspace_process_context_from_yaml_paths
    from dagster_graphql.test.utils import execute_dagster_graphql

    workspace = str(REPO / "workspace.yaml")

    def ask():  # in a thread of its own: the browser tests' Playwright holds this one's loop
        with load_workspace_process_context_from_yaml_paths(instance, [workspace]) as context:
            return execute_dagster_graphql(context.create_request_context(), UI_QUERY)

    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(ask).result()
    assert not result.errors, result.errors
    return result.data


def _progress_order(err: str, *needles: str) -> list[int]:
    """The line number of the first line holding each needle, in turn after the previous one."""
    lines, at, found = err.splitlines(), 0, []
    for needle in needles:
        at = next(i for i in range(at, len(lines)) if needle in lines[i])
        found.append(at)
    return found


def test_demo_with_official_boundaries(tmp_path, shared_data, monkeypatch):
    env = {
        **os.environ,
        "DXLAKE_HOME": str(tmp_path),
        "DXLAKE_BOUNDARIES": str(shared_data / "vn_communes_2025.parquet"),
    }
    env.pop("DAGSTER_HOME", None)
    done = _dxlake("demo", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "chấp nhận / accepted:   338" in out and "cách ly / quarantined:  7" in out
    assert "tệp / files:            4 (đọc/read 3, từ chối/rejected 0" in out
    assert "trạm/cell sites 1)" in out
    grid = tmp_path / "grids/population_synthetic_46_100m.tif"
    assert f"lưới dân số giả lập / synthetic population grid {grid}" in out and grid.exists()
    for path in (
        tmp_path / "lake/validated_observations/period=2026-H1/province=46.parquet",
        tmp_path / "lake/quarantined_rows/period=2026-H1/province=46.parquet",
        tmp_path / "reports/2026-H1/maps/index.html",
        tmp_path / "reports/2026-H1/quality/index.html",
    ):
        assert path.exists(), path
    assert str(tmp_path / "reports/2026-H1/maps/index.html") in out
    assert str(tmp_path / "reports/2026-H1/quality/index.html") in out

    # Progress on stderr as the runs went: each run and each step, started then done, with
    # seconds; an ingest step says how many of its run's provinces it wrote.
    err = done.stderr
    for job in JOBS:
        assert re.search(rf"dxlake: ✓ {re.escape(job)} xong / done \d+\.\d s", err), job
    assert "dxlake: ▶ ingest_job 2026-H1: 1 tỉnh / provinces (46), " in err
    assert re.search(r"\] raw_reports xong / done \d+\.\d s, 1/1 tỉnh / provinces", err)
    assert _progress_order(
        err,
        "▶ reference_job",
        "] admin_units ...",
        "] admin_units xong / done",
        "✓ reference_job",
        "▶ snapshot_job 2026-H1: 1 bước / steps",
        "[1/1] landing_snapshot ...",
        "[1/1] landing_snapshot xong / done",
        "✓ snapshot_job",
        "▶ ingest_job",
        "] validated_observations xong / done",
        "✓ ingest_job",
        "▶ publish_job (gaps)",
        "] coverage_gaps xong / done",
        "▶ publish_job (pages)",
        "] coverage_maps xong / done",
        "✓ publish_job (pages)",
    )
    assert _progress_order(err, "] coverage_gaps xong / done", "] gap_tables xong / done")
    validated = pl.read_parquet(tmp_path / "lake/validated_observations/period=2026-H1")
    quarantined = pl.read_parquet(tmp_path / "lake/quarantined_rows/period=2026-H1")
    assert validated.schema == pl.Schema(VALIDATED_OBSERVATIONS)
    assert quarantined.schema == pl.Schema(QUARANTINED_ROWS)

    units = gpd.read_parquet(tmp_path / "lake/reference/admin_units.parquet")
    assert len(units) == 3321 and units["unit_code"].is_unique
    assert set(units["geometry_source"]) == {"official"}
    assert units["unit_type"].value_counts().to_dict() == {"xã": 2621, "phường": 687, "đặc khu": 13}
    assert units.crs.to_epsg() == 4326
    page = (tmp_path / "reports/2026-H1/maps/index.html").read_text(encoding="utf-8")
    assert "official" in page or "chính thức" in page

    # 5G coverage computed from the synthetic cell sites and grid, on the official boundaries.
    hue = sorted(units.loc[units["province_code"] == "46", "unit_code"])
    coverage = pl.read_parquet(tmp_path / "lake/computed_coverage/period=2026-H1")
    five = coverage.filter(pl.col("technology") == "5G").sort("unit_code")
    assert len(hue) == 40 and five["unit_code"].to_list() == hue
    assert five["share_covered"].null_count() == 0
    assert five["share_covered"].is_between(0, 100).all()
    assert set(coverage["population_grid"]) == {str(grid)}
    zones = gpd.read_parquet(tmp_path / "lake/dead_zones/period=2026-H1/part-0.parquet")
    assert len(zones) > 0 and zones.crs.to_epsg() == 4326
    assert set(zones["unit_code"]) <= set(hue)
    shown = zones[(zones["technology"] == "5G") & (zones["population"] >= 1)]
    data = json.loads(re.search(r'id="dxlake-map-data">(.*?)</script>', page, re.S).group(1))
    assert data["meta"]["deadZones"]["count"] == len(shown) > 0
    assert len(data["objects"]["deadZones"]["geometries"]) == len(shown)
    # ...and summed up in what the command printed.
    people = five.filter(pl.col("population") > 0)
    share = people["population_covered"].sum() / people["population"].sum() * 100
    dead = zones[zones["technology"] == "5G"]
    assert (
        f"phủ sóng 5G / 5G coverage: {share:.1f} % dân số / of people (tính từ trạm / computed), "
        f"{len(dead)} vùng lõm / dead zones ({dead['population'].sum():.0f} người / people)"
    ) in out

    # Run again with nothing changed: nothing runs, the same summary is printed.
    again = _dxlake("run", "--period", "2026-H1", env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "không có gì thay đổi / nothing changed" in again.stdout
    assert "chấp nhận / accepted:   338" in again.stdout
    assert "▶" not in again.stderr  # no run, no progress
    # The child it started for an ingest (orchestration.beside) was stopped, not left behind.
    assert not _beside_children()

    # The runs are recorded in the instance under the default DAGSTER_HOME: the snapshot, an
    # ingest run for Huế and one for "00" (the cell-site list names no unit: province unknown).
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / ".dagster"))
    with dg.DagsterInstance.get() as inst:
        runs = sorted((r.job_name, r.tags.get("dxlake/shares", "")[:7]) for r in inst.get_runs())
    # The first ingest run went to the child the command started before its own imports
    # (GX imported there while the snapshot was read); the other beside it, in the command.
    with dg.DagsterInstance.get() as inst:
        pids = {
            (r.job_name, r.tags.get("dxlake/shares", "")[:7]): {
                e.dagster_event.pid
                for e in inst.all_logs(r.run_id)
                if e.dagster_event and e.dagster_event.pid
            }
            for r in inst.get_runs()
        }
    (command,) = pids["snapshot_job", ""]
    ingest = [p for (job, _), p in pids.items() if job == "ingest_job"]
    assert {command} in ingest and any(command not in p for p in ingest), pids
    # The gaps and their tables went to a child already done with its run (the ingest's or the coverage's):
    # two children in all, never a third process getting ready beside them.
    with dg.DagsterInstance.get() as inst:
        (reports,) = [r for r in inst.get_runs() if r.tags.get("dxlake/part") == "gaps"]
        (reporter,) = {
            e.dagster_event.pid
            for e in inst.all_logs(reports.run_id)
            if e.dagster_event and e.dagster_event.pid
        }
    children = {p for (job, _), ps in pids.items() for p in ps if job != "publish_job"}
    assert reporter in children - {command}, (reporter, pids)
    assert runs == [
        ("coverage_job", ""),
        ("ingest_job", '{"00": '),
        ("ingest_job", '{"46": '),
        ("publish_job", ""),
        ("publish_job", ""),
        ("reference_job", ""),
        ("snapshot_job", ""),
    ]

    # ...and `dxlake dev` on that instance lists them all and draws them on its timeline: each
    # run's origin is a job of the location it loads from workspace.yaml; tags as the CLI set them.
    with dg.DagsterInstance.get() as inst:
        ui = _as_the_ui_sees(inst)
    entries = ui["workspaceOrError"]["locationEntries"]
    assert entries and all("repositories" in e["locationOrLoadError"] for e in entries), entries
    loaded = {
        (location["name"], repository["name"], job["name"])
        for entry in entries
        for location in [entry["locationOrLoadError"]]
        for repository in location["repositories"]
        for job in repository["pipelines"]
    }
    listed = ui["runsOrError"]["results"]
    assert sorted(r["pipelineName"] for r in listed) == sorted(job for job, _ in runs)
    for run in listed:
        origin = run["repositoryOrigin"]
        assert origin, f"{run['pipelineName']} has no origin: not on the timeline"
        where = (origin["repositoryLocationName"], origin["repositoryName"], run["pipelineName"])
        assert where in loaded
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert tags["dagster/code_location"] == origin["repositoryLocationName"]
        fingerprint = "dxlake/shares" if run["pipelineName"] == "ingest_job" else "dxlake/inputs"
        assert tags[fingerprint]  # what the run ran on: the plan's tags
        if run["pipelineName"] != "reference_job":
            assert tags["dxlake/period"] == "2026-H1"


def test_run_without_landing_folder_is_a_clear_error(tmp_path):
    env = {**os.environ, "DXLAKE_HOME": str(tmp_path)}
    done = _dxlake("run", "--period", "2026-H2", env=env)
    assert done.returncode == 2
    assert "landing" in done.stderr and "2026-H2" in done.stderr


def test_bad_period_is_a_clear_error(tmp_path):
    done = _dxlake("run", "--period", "2026-Q1", env={**os.environ, "DXLAKE_HOME": str(tmp_path)})
    assert done.returncode == 2
    assert "2026-Q1" in done.stderr and "2026-H1" in done.stderr


@pytest.mark.parametrize(
    "command",
    [("demo",), ("run",), ("template", "--province", "46", "-o", "mau.xlsx")],
)
def test_a_period_other_than_h1_or_h2_writes_nothing(tmp_path, command):
    """2026-H3 is refused, Vietnamese first with English beside, exit 2, before any file is
    written: not in DXLAKE_HOME, not where the command was started."""
    home, here = tmp_path / "home", tmp_path / "here"
    home.mkdir()
    here.mkdir()
    env = {**os.environ, "DXLAKE_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestration.cli",
            command[0],
            "--period",
            "2026-H3",
            *command[1:],
        ],
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert (
        f"dxlake {command[0]}: lỗi / error: --period: kỳ báo cáo không hợp lệ / invalid period "
        "'2026-H3': viết dạng / write as 2026-H1, 2026-H2"
    ) in done.stderr
    assert list(home.iterdir()) == [] and list(here.iterdir()) == []


def test_the_demo_refuses_a_bad_period_before_writing(tmp_path):
    from orchestration.demo import write_demo
    from schemas.periods import PeriodError

    with pytest.raises(PeriodError, match="2026-H3"):
        write_demo(tmp_path, "2026-H3")
    assert list(tmp_path.iterdir()) == []


def test_template_for_a_province(tmp_path):
    out = tmp_path / "mau.xlsx"
    done = _dxlake(
        "template", "--province", "46", "--period", "2026-H1", "-o", str(out), env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr
    import openpyxl

    wb = openpyxl.load_workbook(out)
    ws = wb["Báo cáo"]
    codes = [ws.cell(row=r, column=2).value for r in range(6, 46)]
    assert len(codes) == 40 and all(isinstance(c, str) and len(c) == 5 for c in codes)
    assert ws.data_validations.dataValidation, "number cells are validated"
    assert "Hướng dẫn" in wb.sheetnames


def test_dev_serves_this_lake_from_anywhere(tmp_path, monkeypatch):
    """`dxlake dev` started outside the repository loads its workspace.yaml, and the code server
    (started in the repository) gets the lake the command was started on."""
    from orchestration import cli

    monkeypatch.chdir(tmp_path)
    for name in ("DXLAKE_HOME", "DAGSTER_HOME"):  # unset here, restored as they were after
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    calls = []
    monkeypatch.setattr(cli.os, "execvp", lambda prog, cmd: calls.append(cmd))
    assert cli.main(["dev"]) == 0
    (cmd,) = calls
    assert cmd[cmd.index("-w") + 1] == str(REPO / "workspace.yaml")
    assert os.environ["DXLAKE_HOME"] == str(tmp_path / "data")
    assert os.environ["DAGSTER_HOME"] == str(tmp_path / "data" / ".dagster")
    assert (tmp_path / "data" / ".dagster" / "dagster.yaml").is_file()
