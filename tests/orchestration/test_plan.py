"""Which parts of publishing a period needs: planned from the runs the instance recorded."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration import plan
from orchestration.plan import PUBLISH_PARTS
from schemas.settings import Settings

PERIOD = "2026-H1"
PIPELINE = "p1"


@pytest.fixture
def instance(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def _plan(instance, forced: bool = False) -> list[plan.Run]:
    settings = Settings(home=Path(instance.root_directory))
    return plan.plan_publish(settings, instance, PERIOD, PIPELINE, forced=forced)


def _inputs(instance) -> str:
    """What a publish run's inputs tag says today: taken from a plan of everything."""
    return _plan(instance, forced=True)[0].tags[plan.INPUTS_TAG]


def _record(instance, part: str, inputs: str, status=dg.DagsterRunStatus.SUCCESS) -> None:
    tags = {plan.PERIOD_TAG: PERIOD, plan.INPUTS_TAG: inputs, plan.PART_TAG: part}
    instance.add_run(dg.DagsterRun(job_name="publish_job", tags=tags, status=status))


def _parts(instance, forced: bool = False) -> list[str]:
    return [r.tags[plan.PART_TAG] for r in _plan(instance, forced)]


def test_nothing_published_yet_plans_every_part_on_its_assets(instance):
    runs = _plan(instance)
    assert [(r.job, r.partition, r.tags[plan.PART_TAG], r.assets) for r in runs] == [
        ("publish_job", PERIOD, part, assets) for part, assets in PUBLISH_PARTS.items()
    ]
    assert [[r.tags[plan.PART_TAG] for r in w] for w in plan.waves(runs)] == [
        ["gaps"],
        ["pages"],
    ]


def test_a_failed_part_runs_again_alone(instance):
    inputs = _inputs(instance)
    _record(instance, "gaps", inputs)
    _record(instance, "pages", inputs, dg.DagsterRunStatus.FAILURE)
    assert _parts(instance) == ["pages"]
    assert [[r.tags[plan.PART_TAG] for r in w] for w in plan.waves(_plan(instance))] == [["pages"]]
    _record(instance, "pages", inputs)
    assert _parts(instance) == []
    assert _parts(instance, forced=True) == list(PUBLISH_PARTS)  # a province was re-ingested


def test_gaps_on_other_inputs_mean_every_part_again(instance):
    """The pages read the first part's gaps: newer gaps, newer pages."""
    inputs = _inputs(instance)
    _record(instance, "gaps", "older")
    _record(instance, "pages", inputs)
    assert _parts(instance) == list(PUBLISH_PARTS)
