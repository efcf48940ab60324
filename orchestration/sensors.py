"""Sensors: new or changed report files request ingest runs for the (period, province)
partitions they touch; when a period's ingest runs are done, its reports are published.

A partition's run key is the set of content hashes of the files that touch it, so the same
content never triggers twice (a file landed again under another name changes nothing), and a
changed file reruns only the provinces it covers. A file whose size or modification time moved
since the previous tick is still being copied: its period waits for the next tick. Periods
appear as dynamic partitions when their folder first holds stable files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets.indicators.gaps import PeriodError, check_period
from assets.ingest.landing import IGNORED_PREFIXES
from assets.ingest.period import read_landing
from orchestration.lake import exists, table_path
from orchestration.partitions import partition_key, periods
from orchestration.resources import LakeResource

# period → {file sha256: provinces its rows belong to}
ProvincesOf = Callable[[str], dict[str, list[str]]]


def _scan(folder: Path) -> dict[str, tuple[int, int]]:
    """rel path → (size, mtime_ns) of the files a run would read."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith(IGNORED_PREFIXES):
            st = path.stat()
            out[path.relative_to(folder).as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class LandingScan:
    """What a tick found: periods to add as partitions, runs to request, the next cursor."""

    new_periods: list[str] = field(default_factory=list)
    runs: list[tuple[str, str, str]] = field(default_factory=list)  # (period, province, run_key)
    cursor: dict = field(default_factory=dict)


def evaluate_landing(
    landing: Path, cursor: dict, known_periods: set[str], provinces_of: ProvincesOf
) -> LandingScan:
    """Scan the landing folder against the previous tick's cursor; plain Python, no Dagster.

    cursor: {"seen": {"<period>/<rel>": [size, mtime_ns, sha256 or None]}}.
    """
    seen: dict[str, list] = cursor.get("seen", {})
    scan = LandingScan(cursor={"seen": {}})
    folders = sorted(p for p in landing.iterdir() if p.is_dir()) if landing.is_dir() else []
    for folder in folders:
        try:
            period = check_period(folder.name)
        except PeriodError:
            continue
        hashes, settled = [], True
        for rel, (size, mtime) in _scan(folder).items():
            key = f"{period}/{rel}"
            before = seen.get(key)
            if before is None or before[:2] != [size, mtime]:
                scan.cursor["seen"][key] = [size, mtime, None]  # new or still being copied
                settled = False
                continue
            digest = before[2] or _sha256(folder / rel)
            scan.cursor["seen"][key] = [size, mtime, digest]
            hashes.append(digest)
        if not hashes or not settled:
            continue
        if period not in known_periods:
            scan.new_periods.append(period)
        by_province: dict[str, set[str]] = {}
        for digest, provinces in provinces_of(period).items():
            if digest in hashes:
                for province in provinces:
                    by_province.setdefault(province, set()).add(digest)
        for province, digests in sorted(by_province.items()):
            fingerprint = hashlib.sha256("\n".join(sorted(digests)).encode()).hexdigest()[:16]
            scan.runs.append((period, province, f"{period}|{province}:{fingerprint}"))
    return scan


@dg.sensor(
    job_name="ingest_job",
    minimum_interval_seconds=30,
    description="Watches $DXLAKE_HOME/landing/<period>/: new or changed files (by content hash) "
    "request an ingest run for each (period, province) they touch; files still being copied "
    "wait for the next tick.",
)
def landing_sensor(context: dg.SensorEvaluationContext, lake: LakeResource):
    settings = lake.settings

    def provinces_of(period: str) -> dict[str, list[str]]:
        _, status = read_landing(settings, period)  # cached while the folder is unchanged
        return {
            row["file_sha256"]: row["provinces"]
            for row in status.select("file_sha256", "provinces").iter_rows(named=True)
        }

    known = set(context.instance.get_dynamic_partitions(periods.name))
    cursor = json.loads(context.cursor) if context.cursor else {}
    scan = evaluate_landing(settings.landing, cursor, known, provinces_of)
    requests = []
    if scan.runs and not exists(table_path(settings.tables, "admin_units")):
        requests.append(dg.RunRequest(run_key="admin_units", job_name="reference_job"))
    requests += [
        dg.RunRequest(run_key=key, partition_key=partition_key(period, province))
        for period, province, key in scan.runs
    ]
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=(
            [periods.build_add_request(scan.new_periods)] if scan.new_periods else []
        ),
        cursor=json.dumps(scan.cursor, sort_keys=True),
    )


IN_FLIGHT = {
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
}


def publish_requests(instance: dg.DagsterInstance, period_keys: list[str]) -> list[dg.RunRequest]:
    """A publish run per period whose ingest runs have all finished, keyed by the newest one, so
    34 provinces landing together give one publish, and a later resubmission another."""
    requests = []
    for period in period_keys:
        runs = instance.get_runs(
            filters=dg.RunsFilter(job_name="ingest_job", tags={"dagster/partition/period": period}),
            limit=100,
        )
        if runs and not any(r.status in IN_FLIGHT for r in runs):
            newest = runs[0]  # newest first
            requests.append(
                dg.RunRequest(run_key=f"publish:{period}:{newest.run_id}", partition_key=period)
            )
    return requests


@dg.sensor(
    job_name="publish_job",
    minimum_interval_seconds=30,
    description="Once a period's ingest runs have all finished, publish the period: the gap "
    "table, the maps and the quality report from all its provinces.",
)
def publish_after_ingest(context: dg.SensorEvaluationContext):
    keys = context.instance.get_dynamic_partitions(periods.name)
    return publish_requests(context.instance, keys) or dg.SkipReason("no finished ingest runs")
