"""Period × province partitions: a period's provinces ingested in ranged runs, in process and on
a Dask cluster, give the same tables; a rerun with nothing changed runs nothing; a
resubmission reruns only its province."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from assets.partitions import UNATTRIBUTED, period_province, provinces
from orchestration.runner import materialize_period
from orchestration.sensors import publish_requests
from schemas.settings import Settings

PERIOD = "2026-H1"
TABLES = ("raw_reports", "validated_observations", "quarantined_rows", "indicator_values")
HEADER = "Mã xã;Số thôn, bản còn vùng lõm sóng;Tổng số cán bộ, công chức cấp xã;Số cán bộ, công chức có máy tính đáp ứng cấu hình tối thiểu"


def _write_landing(home: Path) -> None:
    """Huế (46) and Đà Nẵng (48), one file each, plus an unreadable file (no province)."""
    landing = home / "landing" / PERIOD
    landing.mkdir(parents=True)
    (landing / "hue.csv").write_text(
        f"{HEADER}\n19753;1;20;19\n19774;0;25;25\n19777;2;18;30\n", encoding="utf-8"
    )
    (landing / "da_nang.csv").write_text(
        f"{HEADER}\n20194;0;22;21\n20197;3;19;17\n", encoding="utf-8"
    )
    (landing / "scan.pdf").write_bytes(b"%PDF-1.4 not a report")


def _tables(home: Path) -> dict[str, pl.DataFrame]:
    out = {}
    for table in TABLES:
        parts = sorted((home / "lake" / table / f"period={PERIOD}").glob("province=*.parquet"))
        out[table] = {
            p.stem: pl.read_parquet(p).drop("ingested_at", "file_mtime", strict=False)
            for p in parts
        }
    return out


def _run(home: Path, monkeypatch, executor: str, address: str | None = None):
    monkeypatch.setenv("DXLAKE_HOME", str(home))
    monkeypatch.setenv("DXLAKE_EXECUTOR", executor)
    if address:
        monkeypatch.setenv("DXLAKE_DASK_ADDRESS", address)
    (home / ".dagster").mkdir(parents=True, exist_ok=True)
    with dg.instance_for_test(temp_dir=str(home / ".dagster")) as instance:
        results = materialize_period(Settings.from_env(), PERIOD, instance, log_level="ERROR")
        jobs = [_label(r) for r in results]
        assert all(r.success for r in results), jobs
        processes = {_label(r)[0]: {e.pid for e in r.all_events if e.pid} for r in results}
        return jobs, publish_requests(Settings.from_env(), instance, [PERIOD]), processes


def _label(result) -> tuple[str, str | None]:
    """(job and its part if any, its partition or its range of provinces "first..last")."""
    tags = result.dagster_run.tags
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    job = result.job_def.name + (f" ({tags['dxlake/part']})" if "dxlake/part" in tags else "")
    return job, tags.get("dagster/partition") or (start and f"{start}..{end}")


def test_partition_keys_are_period_by_province():
    assert len(provinces.get_partition_keys()) == 35  # 34 provinces and "00", nothing dropped
    assert {"46", "48", UNATTRIBUTED} <= set(provinces.get_partition_keys())
    assert period_province.get_partition_key_from_str(f"{PERIOD}|46").keys_by_dimension == {
        "period": PERIOD,
        "province": "46",
    }


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    home = tmp_path_factory.mktemp("in_process")
    _write_landing(home)
    with pytest.MonkeyPatch.context() as mp:
        jobs, publish, processes = _run(home, mp, "in_process")
    return home, jobs, publish, processes


def test_each_province_is_its_own_partition(in_process):
    home, jobs, publish, _ = in_process
    assert jobs == [
        ("reference_job", None),
        ("snapshot_job", PERIOD),
        ("ingest_job", f"{PERIOD}|46..{PERIOD}|48"),  # neighbours in partition order: one run
        ("ingest_job", f"{PERIOD}|00..{PERIOD}|00"),  # the PDF: rejected, kept, no province
        ("coverage_job", PERIOD),  # no site list: empty coverage tables
        ("publish_job (gaps)", PERIOD),
        ("publish_job (pages)", PERIOD),
    ]
    tables = _tables(home)
    raw = tables["raw_reports"]
    assert set(raw) == {"province=00", "province=46", "province=48"}
    assert raw["province=46"]["unit_code"].unique().sort().to_list() == ["19753", "19774", "19777"]
    assert raw["province=48"]["unit_code"].unique().sort().to_list() == ["20194", "20197"]
    assert raw["province=00"].is_empty()
    status = pl.read_parquet(home / "lake/file_status" / f"period={PERIOD}" / "province=00.parquet")
    assert status.select("source_file", "status").rows() == [("scan.pdf", "rejected")]
    # 19777 states more officials with a computer than officials: quarantined in Huế's part;
    # the officials column, a denominator shared by two indicators, is no signature figure.
    quarantined = {
        p: f.select("unit_code", "indicator_id", "rule_id").rows()
        for p, f in tables["quarantined_rows"].items()
    }
    assert quarantined == {
        "province=00": [],
        "province=46": [("19777", "officials_with_computer", "numerator_exceeds_denominator")],
        "province=48": [],
    }
    values = tables["indicator_values"]
    assert values["province=48"]["province_code"].unique().to_list() == ["48"]
    assert values["province=00"].is_empty()
    gaps = pl.read_parquet(home / "lake/coverage_gaps" / f"period={PERIOD}" / "part-0.parquet")
    assert set(gaps["province_code"]) == {"46", "48"}  # the period's table: all provinces
    assert publish == []  # published from what was ingested: nothing new to publish


def test_independent_runs_go_beside_each_other_in_a_process_of_their_own(in_process):
    """Independent runs on two cores, results read back like the others: the provinces
    ingested here while the coverage is computed in a child process on the same instance; the
    maps published here while the quality report is written in another."""
    *_, processes = in_process
    here = {os.getpid()}
    assert processes["ingest_job"] == processes["snapshot_job"] == here
    assert processes["publish_job (pages)"] == here
    for beside in ("coverage_job", "publish_job (gaps)"):
        assert processes[beside] and not processes[beside] & here


def test_dask_executor_gives_the_same_tables(in_process, tmp_path, monkeypatch):
    import dask
    from dask.distributed import LocalCluster

    home, jobs, _, _ = in_process
    dask_home = tmp_path / "dask"
    _write_landing(dask_home)
    # Workers rebuild the job from their own environment: they must see the same DXLAKE_HOME.
    monkeypatch.setenv("DXLAKE_HOME", str(dask_home))
    # Workers that may start processes (the landing read's cost bound), as DXLAKE docs say.
    with (
        dask.config.set({"distributed.worker.daemon": False}),
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
    ):
        dask_jobs, _, _ = _run(dask_home, monkeypatch, "dask", cluster.scheduler_address)
    assert dask_jobs == jobs
    ours, theirs = _tables(home), _tables(dask_home)
    for table in TABLES:
        assert ours[table].keys() == theirs[table].keys()
        for part, frame in ours[table].items():
            assert frame.equals(theirs[table][part]), (table, part)


def test_a_dask_run_closes_the_cluster_it_started(in_process, tmp_path, monkeypatch):
    """No DXLAKE_DASK_ADDRESS: each run starts a LocalCluster and closes it when it ends, so
    the workers of one run (their imports, what their steps read) are gone before the next."""
    home, jobs, _, _ = in_process
    dask_home = tmp_path / "dask"
    _write_landing(dask_home)
    monkeypatch.delenv("DXLAKE_DASK_ADDRESS", raising=False)
    dask_jobs, _, processes = _run(dask_home, monkeypatch, "dask")
    assert dask_jobs == jobs
    workers = set().union(*processes.values()) - {os.getpid()}
    assert workers  # the steps ran in the clusters' worker processes
    alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert alive == []
    ours, theirs = _tables(home), _tables(dask_home)
    for table in TABLES:
        assert ours[table].keys() == theirs[table].keys()
        for part, frame in ours[table].items():
            assert frame.equals(theirs[table][part]), (table, part)


def test_a_rerun_runs_only_what_changed(tmp_path, monkeypatch):
    """Nothing changed: no run. One commune resubmits: the snapshot, its province, the
    publishing; the other provinces' tables are not written again."""
    _write_landing(tmp_path)
    monkeypatch.setenv("DXLAKE_HOME", str(tmp_path))
    settings = Settings.from_env()
    (tmp_path / ".dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / ".dagster")) as instance:

        def run() -> list:
            results = materialize_period(settings, PERIOD, instance, log_level="ERROR")
            assert all(r.success for r in results)
            return [_label(r) for r in results]

        assert len(run()) == 7  # as test_each_province_is_its_own_partition lists them
        da_nang = tmp_path / "lake/raw_reports" / f"period={PERIOD}" / "province=48.parquet"
        written = da_nang.stat().st_mtime_ns
        assert run() == []
        hue = tmp_path / "landing" / PERIOD / "hue.csv"
        hue.write_text(f"{HEADER}\n19753;0;20;20\n", encoding="utf-8")
        later = time.time() + 5
        os.utime(hue, (later, later))
        assert run() == [
            ("snapshot_job", PERIOD),
            ("ingest_job", f"{PERIOD}|46..{PERIOD}|46"),
            ("publish_job (gaps)", PERIOD),
            ("publish_job (pages)", PERIOD),
        ]
        assert da_nang.stat().st_mtime_ns == written
        raw = pl.read_parquet(da_nang.parent / "province=46.parquet")
        assert raw["unit_code"].unique().to_list() == ["19753"]


def test_an_fsspec_lake_root_holds_the_same_tables(in_process, tmp_path, monkeypatch):
    """DXLAKE_LAKE=memory://… (as s3://… would): the tables are objects there, none on disk."""
    import fsspec

    from schemas.lake import lake_location, read_period, table_path

    home, jobs, _, _ = in_process
    root = lake_location("memory://dxlake-test/lake")
    monkeypatch.setenv("DXLAKE_LAKE", str(root))
    _write_landing(tmp_path)
    try:
        remote_jobs, _, processes = _run(tmp_path, monkeypatch, "in_process")
        # a lake in this process's memory: the coverage run stays here too
        assert processes["coverage_job"] == {os.getpid()}
        assert remote_jobs == jobs
        assert not list((tmp_path / "lake").glob("*/period=*/*.parquet"))  # nothing local
        fs = fsspec.filesystem("memory")
        assert fs.exists(table_path(root, "admin_units").path)
        for table in TABLES:
            ours = read_period(home / "lake", table, PERIOD).drop(
                "ingested_at", "file_mtime", strict=False
            )
            theirs = read_period(root, table, PERIOD).drop(
                "ingested_at", "file_mtime", strict=False
            )
            assert ours.equals(theirs), table
    finally:
        fsspec.filesystem("memory").rm("/dxlake-test", recursive=True)
