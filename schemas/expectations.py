"""Great Expectations suites built from the catalogue and the rules, and running them.

GX decides what fails: each expectation carries its rule id in `meta`, and the rows it rejects
come back as GX's unexpected indices on `row_id`. The columns the suites look at are prepared by
`assets.validate.checks.prepare` (plain polars) so every rule reads one column.
GX is imported lazily: its import costs seconds and only validation needs it.
The Data Docs site is rebuilt whole on each validation, showing text from files as text and
readable offline (schemas.data_docs).
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from pathlib import Path

import pandas as pd

from schemas.catalogue import Catalogue
from schemas.data_docs import for_docs, make_offline
from schemas.rules import STATED_TOLERANCE_PP

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["row_id"]}


def _observation_expectations(gx, period: str) -> list:
    E = gx.expectations
    return [
        E.ExpectColumnValuesToNotBeNull(column="unit_code", meta={"rule_id": "unit_unresolved"}),
        E.ExpectColumnValuesToBeInSet(
            column="indicator_known", value_set=[True], meta={"rule_id": "unknown_indicator"}
        ),
        E.ExpectColumnValuesToBeInSet(
            column="reported_period", value_set=[period], meta={"rule_id": "period_mismatch"}
        ),
        E.ExpectColumnValuesToBeNull(column="parse_error", meta={"rule_id": "not_a_number"}),
        E.ExpectColumnValuesToBeInSet(
            column="figure_complete", value_set=[True], meta={"rule_id": "missing_figure"}
        ),
        E.ExpectColumnValuesToBeBetween(
            column="min_figure", min_value=0, meta={"rule_id": "negative_value"}
        ),
        E.ExpectColumnValuesToBeBetween(
            column="denominator",
            min_value=0,
            strict_min=True,
            meta={"rule_id": "denominator_not_positive"},
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="denominator",
            column_B="numerator",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta={"rule_id": "numerator_exceeds_denominator"},
        ),
        E.ExpectColumnValuesToBeInSet(
            column="whole_ok", value_set=[True], meta={"rule_id": "count_not_whole"}
        ),
        E.ExpectColumnValuesToBeInSet(
            column="share_suspect", value_set=[False], meta={"rule_id": "percent_as_share"}
        ),
        E.ExpectColumnValuesToBeBetween(
            column="stated_diff_pp",
            max_value=STATED_TOLERANCE_PP,
            meta={"rule_id": "stated_value_mismatch"},
        ),
        E.ExpectColumnValuesToBeInSet(
            column="conflict", value_set=[False], meta={"rule_id": "conflicting_duplicate"}
        ),
    ]


def _range_expectation(gx, indicator) -> object:
    low, high = indicator.valid_range
    return gx.expectations.ExpectColumnValuesToBeBetween(
        column="value", min_value=low, max_value=high, meta={"rule_id": "value_out_of_range"}
    )


class ObservationValidator:
    """An ephemeral GX context with the period's suites: `observations` and one per indicator."""

    def __init__(self, catalogue: Catalogue, period: str, docs_dir: Path | None = None):
        import great_expectations as gx
        from great_expectations.checkpoint import UpdateDataDocsAction

        self._gx = gx
        self.catalogue = catalogue
        self.docs_dir = docs_dir
        ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = {"globally": False}
        actions = []
        if docs_dir is not None:
            shutil.rmtree(docs_dir, ignore_errors=True)  # the pages of this validation only
            ctx.add_data_docs_site(
                "dxlake",
                {
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(docs_dir),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
            actions = [UpdateDataDocsAction(name="data_docs", site_names=["dxlake"])]
        source = ctx.data_sources.add_pandas("landing")
        definitions = []
        suites = {"observations": _observation_expectations(gx, period)}
        for ind in catalogue:
            suites[f"observations.{ind.id}"] = [_range_expectation(gx, ind)]
        for name, expectations in suites.items():
            batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
            suite = ctx.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
            definitions.append(
                ctx.validation_definitions.add(
                    gx.ValidationDefinition(name=name, data=batch, suite=suite)
                )
            )
        self._checkpoints = {
            d.name: ctx.checkpoints.add(
                gx.Checkpoint(
                    name=d.name,
                    validation_definitions=[d],
                    actions=actions,
                    result_format=RESULT_FORMAT,
                )
            )
            for d in definitions
        }

    def failures(self, frame: pd.DataFrame) -> dict[int, list[str]]:
        """row_id → the rule ids GX found it breaking."""
        failed: dict[int, list[str]] = defaultdict(list)
        outcomes = {}
        runs = [("observations", frame)]
        for ind in self.catalogue:
            subset = frame[frame["indicator_id"] == ind.id]
            if len(subset):
                runs.append((f"observations.{ind.id}", subset))
        for name, batch in runs:
            result = self._checkpoints[name].run(batch_parameters={"dataframe": for_docs(batch)})
            for run in result.run_results.values():
                stats = run.statistics
                outcomes[name] = (
                    run.success,
                    stats["evaluated_expectations"],
                    stats["unsuccessful_expectations"],
                )
                for r in run.results:
                    rule_id = r.expectation_config.meta["rule_id"]
                    for hit in r.result.get("unexpected_index_list") or []:
                        failed[int(hit["row_id"])].append(rule_id)
        if self.docs_dir is not None:
            make_offline(self.docs_dir, outcomes)
        return dict(failed)
