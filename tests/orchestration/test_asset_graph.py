"""The asset graph as the UI shows it, pinned: keys, partitions, dependencies (with their
partition mappings), code versions and checks. A change to the graph must be made on purpose:
regenerate asset_graph.json with DXLAKE_UPDATE_GRAPH=1 and read the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from orchestration.definitions import build_definitions
from schemas.settings import Settings

PINNED = Path(__file__).with_name("asset_graph.json")


def _partitions(partitions_def) -> str | None:
    if partitions_def is None:
        return None
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        return " × ".join(d.name for d in partitions_def.partitions_defs)
    if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
        return partitions_def.name
    return type(partitions_def).__name__


def graph_of(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    out = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        spec = {
            "group": node.group_name,
            "partitions": _partitions(node.partitions_def),
            "code_version": bool(node.code_version),
            "backfill": node.backfill_policy.policy_type.value if node.backfill_policy else None,
            "deps": {
                parent.to_user_string(): type(graph.get_partition_mapping(key, parent)).__name__
                for parent in sorted(node.parent_keys, key=lambda k: k.to_user_string())
            },
            "checks": sorted(
                f"{c.name}{' (blocking)' if graph.get_check_spec(c).blocking else ''}"
                for c in node.check_keys
            ),
        }
        out[key.to_user_string()] = spec
    return out


def test_the_asset_graph_is_the_pinned_one(tmp_path):
    graph = graph_of(build_definitions(Settings(home=tmp_path)))
    if os.environ.get("DXLAKE_UPDATE_GRAPH"):
        PINNED.write_text(json.dumps(graph, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert graph == json.loads(PINNED.read_text(encoding="utf-8"))


def test_the_snapshot_is_in_the_graph_and_feeds_the_provinces(tmp_path):
    graph = json.loads(PINNED.read_text(encoding="utf-8"))
    snapshot = graph["landing_snapshot"]
    assert snapshot["partitions"] == "period" and snapshot["code_version"]
    for fed in ("raw_reports", "file_status"):
        assert graph[fed]["partitions"] == "period × province"
        assert graph[fed]["deps"] == {"landing_snapshot": "MultiToSingleDimensionPartitionMapping"}
        assert graph[fed]["backfill"] == "SINGLE_RUN"  # a period's provinces in one run
    assert "landing_snapshot" in graph["cell_sites"]["deps"]
