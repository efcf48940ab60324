"""The landing sensor: new or changed report files request a run for their period.

A period's run key is the set of its files' content hashes, so the same content never triggers
twice (a file landed again under another name changes nothing), and a changed file does.
A file whose size or modification time moved since the previous tick is still being copied and
is left for the next tick. Periods appear as dynamic partitions when their folder first holds
a stable file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets.indicators.gaps import PeriodError, check_period
from assets.ingest.landing import IGNORED_PREFIXES
from orchestration.lake import table_path
from orchestration.partitions import periods
from orchestration.resources import LakeResource


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
    runs: list[tuple[str, str]] = field(default_factory=list)  # (period, run_key)
    cursor: dict = field(default_factory=dict)


def evaluate_landing(landing: Path, cursor: dict, known_periods: set[str]) -> LandingScan:
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
        hashes = []
        for rel, (size, mtime) in _scan(folder).items():
            key = f"{period}/{rel}"
            before = seen.get(key)
            if before is None or before[:2] != [size, mtime]:
                scan.cursor["seen"][key] = [size, mtime, None]  # new or still being copied
                continue
            digest = before[2] or _sha256(folder / rel)
            scan.cursor["seen"][key] = [size, mtime, digest]
            hashes.append(digest)
        if not hashes:
            continue
        if period not in known_periods:
            scan.new_periods.append(period)
        fingerprint = hashlib.sha256("\n".join(sorted(set(hashes))).encode()).hexdigest()[:16]
        scan.runs.append((period, f"{period}:{fingerprint}"))
    return scan


@dg.sensor(
    job_name="period_job",
    minimum_interval_seconds=30,
    description="Watches $DXLAKE_HOME/landing/<period>/: new or changed files (by content hash) "
    "request a run of the period; files still being copied wait for the next tick.",
)
def landing_sensor(context: dg.SensorEvaluationContext, lake: LakeResource):
    settings = lake.settings
    known = set(context.instance.get_dynamic_partitions(periods.name))
    scan = evaluate_landing(
        settings.landing, json.loads(context.cursor) if context.cursor else {}, known
    )
    requests = []
    if scan.runs and not table_path(settings.lake, "admin_units").exists():
        requests.append(dg.RunRequest(run_key="admin_units", job_name="reference_job"))
    requests += [dg.RunRequest(run_key=key, partition_key=period) for period, key in scan.runs]
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=(
            [periods.build_add_request(scan.new_periods)] if scan.new_periods else []
        ),
        cursor=json.dumps(scan.cursor, sort_keys=True),
    )
