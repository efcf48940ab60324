"""The landing sensor, the deadline schedules and the period lock, with Dagster's testing APIs."""

from __future__ import annotations

import multiprocessing as mp
import os
import re
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from assets.resources import LakeResource
from orchestration import plan
from orchestration.definitions import build_definitions
from orchestration.schedules import build_schedules
from orchestration.sensors import landing_sensor
from schemas.lake import period_lock
from schemas.settings import Settings


@pytest.fixture
def instance(tmp_path):
    (tmp_path / "dh").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dh")) as instance:
        yield instance


class Ticks:
    """Evaluate the landing sensor tick after tick, carrying the cursor as the daemon does."""

    def __init__(self, home, instance):
        self.home, self.instance, self.cursor = home, instance, None

    def __call__(self) -> dg.SensorResult:
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={"lake": LakeResource(home=str(self.home))},
        )
        result = landing_sensor(context)
        self.cursor = result.cursor
        for request in result.dynamic_partitions_requests:
            self.instance.add_dynamic_partitions(
                request.partitions_def_name, list(request.partition_keys)
            )
        return result

    @staticmethod
    def runs(result) -> list[tuple[str | None, str]]:
        """(period, run key) of the snapshot runs requested."""
        return [
            (r.partition_key, r.run_key)
            for r in result.run_requests
            if r.job_name == "snapshot_job"
        ]


def test_sensor_requests_a_snapshot_once_the_folder_holds_still(tmp_path, instance):
    landing = tmp_path / "landing" / "2026-H1"
    landing.mkdir(parents=True)
    (landing / "a.csv").write_text("Mã xã;Số thôn, bản còn vùng lõm sóng\n19753;1\n")
    (tmp_path / "landing" / "not-a-period").mkdir()
    (tmp_path / "landing" / "2026-H2").mkdir()  # empty: nothing to snapshot
    tick = Ticks(tmp_path, instance)

    first = tick()  # a new file may still be being copied: wait one tick
    assert Ticks.runs(first) == [] and not first.dynamic_partitions_requests
    second = tick()
    runs = Ticks.runs(second)
    assert [p for p, _ in runs] == ["2026-H1"]
    assert second.dynamic_partitions_requests[0].partition_keys == ["2026-H1"]
    assert any(r.job_name == "reference_job" for r in second.run_requests)  # no admin_units yet
    assert instance.has_dynamic_partition("period", "2026-H1")
    key = runs[0][1]
    assert Ticks.runs(tick()) == [("2026-H1", key)]  # same stamps: same run key, no new run

    (landing / "a.csv").write_text("Mã xã;Số thôn, bản còn vùng lõm sóng\n19753;2\n")
    os.utime(landing / "a.csv", (time.time() + 5, time.time() + 5))
    assert Ticks.runs(tick()) == []  # a changed file holds its period back one tick...
    changed = Ticks.runs(tick())
    assert changed[0][0] == "2026-H1" and changed[0][1] != key  # ...then triggers a new run


def test_sensor_leaves_a_growing_file_for_the_next_tick(tmp_path, instance):
    landing = tmp_path / "landing" / "2026-H2"
    landing.mkdir(parents=True)
    big = landing / "big.csv"
    big.write_text("Mã xã;Dân số\n")
    tick = Ticks(tmp_path, instance)
    for i in range(3):  # still being copied: the size changes between ticks
        with big.open("a") as f:
            f.write(f"{('19753', '19774', '19777')[i]};{1000 + i}\n")
        assert Ticks.runs(tick()) == []
    assert [p for p, _ in Ticks.runs(tick())] == ["2026-H2"]


@pytest.mark.parametrize(
    ("when", "period"),
    [(datetime(2026, 6, 11, 6, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")), "2026-H1"),
     (datetime(2026, 12, 11, 6, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")), "2026-H2")],
)  # fmt: skip
def test_schedules_compile_the_day_after_each_deadline(instance, when, period):
    defs = build_definitions(Settings(home=Path(instance.root_directory)))
    assert {s.cron_schedule for s in defs.schedules} == {"0 6 11 6 *", "0 6 11 12 *"}
    schedule = defs.get_schedule_def(f"compile_{period[-2:].lower()}_after_{when.month:02d}_10")
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
    )
    skipped = schedule.evaluate_tick(context)
    assert not skipped.run_requests and period in skipped.skip_message
    instance.add_dynamic_partitions("period", [period])
    landing = Path(instance.root_directory) / "landing" / period
    landing.mkdir(parents=True)
    (landing / "hue.csv").write_text("Mã xã;Số thôn, bản còn vùng lõm sóng\n19753;1\n")
    (landing / "da_nang.csv").write_text("Mã xã;Số thôn, bản còn vùng lõm sóng\n20194;0\n")
    ran = schedule.evaluate_tick(context)
    assert [r.partition_key for r in ran.run_requests] == [period]  # a fresh snapshot
    assert schedule.job_name == "snapshot_job"  # the sensors ingest and publish what changed
    # tagged with the landing it reads, as the plan tags it: `dxlake run` after it reads nothing
    settings = Settings(home=Path(instance.root_directory))
    (request,) = ran.run_requests
    assert (
        request.tags[plan.INPUTS_TAG]
        == plan.plan_snapshot(settings, instance, period)[0].tags[plan.INPUTS_TAG]
    )


def test_deadlines_are_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("DXLAKE_DEADLINES", "06-05=H1,12-31=H2")
    schedules = build_schedules(Settings.from_env())
    assert [s.cron_schedule for s in schedules] == ["0 6 6 6 *", "0 6 1 1 *"]
    monkeypatch.setenv("DXLAKE_DEADLINES", "13-01=H1")
    with pytest.raises(ValueError, match="DXLAKE_DEADLINES"):
        Settings.from_env()


def _hold(lake, ready, release):
    with period_lock(lake, "2026-H1"):
        ready.set()
        release.wait(10)


def test_a_second_run_of_a_period_waits_for_the_first(tmp_path):
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(tmp_path, ready, release))
    holder.start()
    assert ready.wait(30)
    waited = []
    with period_lock(tmp_path, "2026-H2"):  # another period is not blocked
        pass

    def on_wait():
        waited.append(time.monotonic())
        release.set()

    with period_lock(tmp_path, "2026-H1", on_wait=on_wait):
        holder.join(10)  # we hold the lock only once the first holder let go
        assert holder.exitcode == 0
    assert len(waited) == 1


def test_the_sensors_take_a_period_through_its_plan(tmp_path, instance):
    """As the daemon does: a snapshot once the folder holds still, then one ranged ingest run
    for the provinces touched, then publishing; each once."""
    from orchestration.sensors import ingest_after_snapshot, publish_after_ingest

    landing = tmp_path / "landing" / "2026-H1"
    landing.mkdir(parents=True)
    header = "Mã xã;Số thôn, bản còn vùng lõm sóng\n"
    (landing / "hue.csv").write_text(header + "19753;1\n", encoding="utf-8")
    (landing / "da_nang.csv").write_text(header + "20194;0\n", encoding="utf-8")
    defs = build_definitions(Settings(home=tmp_path))
    context = dg.build_sensor_context(
        instance=instance, resources={"lake": LakeResource(home=str(tmp_path))}
    )

    def launch(requests) -> None:
        for r in requests:
            result = defs.resolve_job_def(r.job_name).execute_in_process(
                instance=instance,
                partition_key=r.partition_key,
                tags=r.tags,
                asset_selection=r.asset_selection,
            )
            assert result.success, r.job_name

    tick = Ticks(tmp_path, instance)
    tick()
    launch(tick().run_requests)  # admin_units and the snapshot
    assert Ticks.runs(tick()) == []  # the snapshot is current: nothing to take again
    ingest = ingest_after_snapshot(context)
    assert [
        (r.job_name, r.tags.get("dagster/asset_partition_range_start", r.partition_key))
        for r in ingest
    ] == [("ingest_job", "2026-H1|46"), ("coverage_job", "2026-H1")]
    assert ingest[0].tags["dagster/asset_partition_range_end"] == "2026-H1|48"  # one run for
    # Huế and Đà Nẵng, neighbours in partition order
    launch(ingest)
    assert isinstance(ingest_after_snapshot(context), dg.SkipReason)
    # Publishing in two waves: the gaps with their tables and the return workbooks, then the
    # pages that read the gaps.
    waves = []
    for _ in range(2):
        publish = publish_after_ingest(context)
        waves.append(
            [
                (r.job_name, r.partition_key, r.tags[plan.PART_TAG], r.asset_selection)
                for r in publish
            ]
        )
        launch(publish)
    key = dg.AssetKey
    assert waves == [
        [
            (
                "publish_job",
                "2026-H1",
                "gaps",
                [key("coverage_gaps"), key("gap_tables"), key("return_workbooks")],
            )
        ],
        [
            (
                "publish_job",
                "2026-H1",
                "pages",
                [key("coverage_comparison"), key("coverage_maps"), key("quality_report")],
            ),
        ],
    ]
    assert isinstance(publish_after_ingest(context), dg.SkipReason)


def test_sensors_and_schedules_start_running(tmp_path):
    """On as soon as `dxlake dev`'s daemon runs: nobody has to find the switch in the UI."""
    defs = build_definitions(Settings(home=tmp_path))
    sensors = {s.name: s.default_status for s in defs.sensors}
    assert sensors == dict.fromkeys(
        ["landing_sensor", "ingest_after_snapshot", "publish_after_ingest"],
        dg.DefaultSensorStatus.RUNNING,
    )
    schedules = {s.name: s.default_status for s in defs.schedules}
    assert schedules == dict.fromkeys(
        ["compile_h1_after_06_10", "compile_h2_after_12_10"], dg.DefaultScheduleStatus.RUNNING
    )


def test_descriptions_keep_their_placeholders_in_the_ui(tmp_path):
    """The UI renders descriptions as Markdown: a bare <period> is an HTML tag and vanishes
    ("reports//maps"); inside a code span it shows."""
    defs = build_definitions(Settings(home=tmp_path))
    described = {
        **{spec.key.to_user_string(): spec.description for spec in defs.resolve_all_asset_specs()},
        **{s.name: s.description for s in [*defs.sensors, *defs.schedules]},
        **{j.name: j.description for j in defs.resolve_all_job_defs()},
    }
    assert "reports/<period>/maps" in described["coverage_maps"]
    bare = {
        name: tags
        for name, text in described.items()
        if (tags := re.findall(r"<[^>`\s]+>", re.sub(r"`[^`]*`", "", text or "")))
    }
    assert bare == {}
