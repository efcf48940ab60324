"""What a period needs run: the runs `dxlake run` and the sensors launch, and only those.

A period is four kinds of run: admin_units (reference_job), the landing snapshot
(snapshot_job), the provinces whose share changed (ingest_job, one ranged run for each block of
neighbouring provinces: a national period is one run), and publishing (publish_job). Each run
carries in its tags the fingerprint of what it was run on; a run is planned when the newest
successful run of its kind was run on something else. So nothing changed → no run at all; one
commune resubmits → the snapshot, its province and the publishing.

Fingerprints (stat and content digests, never a re-read of the landing files):
- the pipeline: the code that makes the tables and the operator's inputs (targets, remote
  classes, boundaries, population grids, DXLAKE_ settings);
- the landing folder: names, sizes, times, inodes (assets.ingest.snapshot.landing_fingerprint);
- a province's share of the snapshot: its rows and the status of the files touching it, with
  the pipeline and the previous period's share (indicator_values compare with it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets.ingest.snapshot import (
    environment_stamp,
    file_stamp,
    landing_fingerprint,
    provinces_touched,
    share_digests,
    snapshot_exists,
    snapshot_files,
    snapshot_rows,
)
from assets.partitions import provinces as province_partitions
from assets.partitions import range_tags
from schemas.lake import digest, exists, period_parts, table_path
from schemas.periods import previous_period
from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PERIOD_TAG, INPUTS_TAG, SHARES_TAG = "dxlake/period", "dxlake/inputs", "dxlake/shares"
PART_TAG = "dxlake/part"  # which part of publishing a publish_job run is (PUBLISH_PARTS)
# Publishing in two parts, each a run of publish_job on its assets: the gaps with the gap
# tables and the return-to-sender workbooks, and the pages (the coverage comparison, the
# planners' maps, the auditors' quality report), which read the gaps (FEEDS). `dxlake run`
# runs them side by side, a core each, the pages starting once the gaps are written; they are
# split by cost: a resubmission's pages take about what its gap tables take, and a first
# publish's thousands of workbooks go beside its maps. The sensor requests the parts one after
# the other.
# Here, not in jobs.py: planning a period that needs nothing imports no asset module.
PUBLISH_PARTS = {
    "gaps": ("coverage_gaps", "gap_tables", "return_workbooks"),
    "pages": ("coverage_comparison", "coverage_maps", "quality_report"),
}
FEEDS = "coverage_gaps"  # the first part's table the other parts read
_CODE = ("assets", "geo", "schemas", "orchestration")


@dataclass
class Run:
    """One run to launch: a job, its partition (a key, or None with range tags), its tags and
    the assets of the job it materializes (all of them when empty)."""

    job: str
    partition: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    assets: tuple[str, ...] = ()

    @property
    def selection(self) -> list[dg.AssetKey] | None:
        """Its assets as Dagster's asset_selection takes them (None: the whole job, checks
        included either way)."""
        return [dg.AssetKey(a) for a in self.assets] or None


def pipeline_fingerprint(settings: Settings) -> str:
    """The code and the operator's inputs every table depends on."""
    sources = [
        source.read_bytes()
        for package in _CODE
        for pattern in ("*.py", "*.yaml")
        for source in sorted((ROOT / package).rglob(pattern))
    ]
    grids = sorted((settings.home / "grids").glob("*.tif")) if settings.home.exists() else []
    stamps = [
        file_stamp(p)
        for p in [settings.targets, settings.remote_classes, settings.boundaries, *grids]
    ]
    # the settings and the files they name
    return digest(*sources, *stamps, environment_stamp(settings))[:16]


def _last_tags(
    instance: dg.DagsterInstance, job: str, period: str | None, part: str | None = None
) -> list[dict]:
    """Tags of the job's successful runs (for the period, of the part), newest first."""
    tags = {PERIOD_TAG: period} if period else {}
    if part:
        tags[PART_TAG] = part
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=job, tags=tags, statuses=[dg.DagsterRunStatus.SUCCESS]),
        limit=200,
    )
    return [dict(r.tags) for r in runs]


def ingested_shares(instance: dg.DagsterInstance, period: str) -> dict[str, str]:
    """province → the share digest of its newest successful ingest run."""
    out: dict[str, str] = {}
    for tags in _last_tags(instance, "ingest_job", period):
        for province, share in json.loads(tags.get(SHARES_TAG, "{}")).items():
            out.setdefault(province, share)
    return out


def _current(
    instance: dg.DagsterInstance, job: str, period: str | None, inputs: str, part: str | None = None
) -> bool:
    newest = _last_tags(instance, job, period, part)[:1]
    return bool(newest) and newest[0].get(INPUTS_TAG) == inputs


def blocks(provinces: list[str]) -> list[list[str]]:
    """Provinces in runs of neighbours in partition order: each block is one ranged run."""
    order = province_partitions.get_partition_keys()
    out: list[list[str]] = []
    for p in sorted(provinces, key=order.index):
        if out and order.index(out[-1][-1]) + 1 == order.index(p):
            out[-1].append(p)
        else:
            out.append([p])
    return out


def plan_reference(settings: Settings, instance: dg.DagsterInstance, pipeline: str) -> list[Run]:
    if exists(table_path(settings.tables, "admin_units")) and _current(
        instance, "reference_job", None, pipeline
    ):
        return []
    return [Run("reference_job", tags={INPUTS_TAG: pipeline})]


def plan_snapshot(settings: Settings, instance: dg.DagsterInstance, period: str) -> list[Run]:
    stamp = landing_fingerprint(settings.landing / period, settings)
    if snapshot_exists(settings.tables, period) and _current(
        instance, "snapshot_job", period, stamp
    ):
        return []
    return [Run("snapshot_job", period, {PERIOD_TAG: period, INPUTS_TAG: stamp})]


def plan_coverage(
    settings: Settings, instance: dg.DagsterInstance, period: str, pipeline: str
) -> list[Run]:
    """Coverage when the snapshot's site lists (by content) or the pipeline (the grid) changed."""
    files = snapshot_files(settings.tables, period)
    lists = files.filter(files["status"] == "cell_sites")["file_sha256"].unique().sort()
    inputs = digest(pipeline, *lists.to_list())
    if _current(instance, "coverage_job", period, inputs):
        return []
    return [Run("coverage_job", period, {PERIOD_TAG: period, INPUTS_TAG: inputs})]


def plan_ingest(
    settings: Settings,
    instance: dg.DagsterInstance,
    period: str,
    pipeline: str,
    provinces: list[str] | None = None,
) -> list[Run]:
    """Ranged ingest runs for the provinces whose share changed (or `provinces`, forced).

    Candidates: those the snapshot's files touch, those in scope (DXLAKE_PROVINCES: a province
    that sent nothing shows as not reported), and those the lake holds for the period (a file
    that left a province leaves no row behind there)."""
    files = snapshot_files(settings.tables, period)
    written = [
        str(part).rsplit("province=", 1)[-1].removesuffix(".parquet")
        for part in period_parts(settings.tables, "file_status", period)
    ]
    candidates = sorted({*provinces_touched(files), *settings.provinces, *written})
    shares = share_digests(snapshot_rows(settings.tables, period), files, candidates)
    before = ingested_shares(instance, previous_period(period))
    wanted = {p: digest(pipeline, shares[p], before.get(p, "")) for p in candidates}
    done = ingested_shares(instance, period)
    changed = (
        provinces if provinces is not None else [p for p in candidates if done.get(p) != wanted[p]]
    )
    return [
        Run(
            "ingest_job",
            None,
            {
                **range_tags(period, block[0], block[-1]),
                PERIOD_TAG: period,
                SHARES_TAG: json.dumps({p: wanted.get(p, "") for p in block}, sort_keys=True),
            },
        )
        for block in blocks(changed)
    ]


def plan_publish(
    settings: Settings, instance: dg.DagsterInstance, period: str, pipeline: str, forced: bool
) -> list[Run]:
    """The parts of publishing (PUBLISH_PARTS) to run: all of them when any province was
    (re)ingested or the coverage recomputed; else those whose last success was on other inputs
    (a part that failed, or never ran). The first part's table feeds the others: when it runs,
    everything after it does too."""
    shares = json.dumps(ingested_shares(instance, period), sort_keys=True)
    coverage = _last_tags(instance, "coverage_job", period)[:1]
    inputs = digest(pipeline, shares, coverage[0].get(INPUTS_TAG, "") if coverage else "")
    parts = list(PUBLISH_PARTS)
    stale = [p for p in parts if forced or not _current(instance, "publish_job", period, inputs, p)]
    if stale[:1] == parts[:1]:
        stale = parts
    return [
        Run(
            "publish_job",
            period,
            {PERIOD_TAG: period, INPUTS_TAG: inputs, PART_TAG: part},
            PUBLISH_PARTS[part],
        )
        for part in stale
    ]


def waves(runs: list[Run]) -> list[list[Run]]:
    """Publish runs in the order they can run: the first part alone (the others read its
    FEEDS table), then the rest together."""
    first = [r for r in runs if r.tags.get(PART_TAG) == next(iter(PUBLISH_PARTS))]
    rest = [r for r in runs if r not in first]
    return [w for w in (first, rest) if w]
