"""Great Expectations suites built from the catalogue and the rules, and running them.

GX decides what fails: each expectation carries its rule id in `meta`, and the rows it rejects
come back as GX's unexpected indices on `row_id`. The columns the suite looks at are prepared by
`assets.validate.checks.prepare` (plain polars) so every rule reads one column.
One suite, `observations`, and one checkpoint run per `failures()` call whatever the frame holds:
each indicator's valid range is an expectation of that suite with a `row_condition` on
`indicator_id`. GX is given only the columns its expectations read, indexed by `row_id` (so its
unexpected indices are the index itself, not a look-up per failing row).
GX is imported lazily: its import costs seconds and only validation needs it.
The Data Docs site is rebuilt whole on each validation, bounded in size (each expectation with
its counts and a sample of its unexpected values, never the full lists), showing text from files
as text and readable offline (schemas.data_docs), with the provinces it covers beside it.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from schemas.catalogue import Catalogue
from schemas.data_docs import (
    SAMPLE,
    Finding,
    bound_for_docs,
    for_docs,
    make_offline,
    write_site_provinces,
)
from schemas.rules import STATED_TOLERANCE_PP
from schemas.settings import GX_ENVIRONMENT  # noqa: F401  (sets GX's analytics off first)

SUITE = "observations"
INDEX = "row_id"
RESULT_FORMAT = {
    "result_format": "COMPLETE",  # every failing row: the failures must be exact
    "unexpected_index_column_names": [INDEX],
    "partial_unexpected_count": SAMPLE,
    # GX lists the failing rows' ids only, in one list: no per-row dict of values to build,
    # copy and serialize (seconds on a national frame); the pages' sample is drawn from them
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,  # a query naming every failing row: not for pages
}


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
    from great_expectations.expectations.row_conditions import Column

    low, high = indicator.valid_range
    return gx.expectations.ExpectColumnValuesToBeBetween(
        column="value",
        min_value=low,
        max_value=high,
        row_condition=Column("indicator_id") == indicator.id,
        meta={"rule_id": "value_out_of_range", "indicator_id": indicator.id},
    )


def _columns(config) -> list[str]:
    """The columns one expectation reads (its domain and its row condition)."""
    kw = config.kwargs
    cols = [kw[k] for k in ("column", "column_A", "column_B") if kw.get(k)]
    return cols + (["indicator_id"] if kw.get("row_condition") else [])


def _condition(config) -> str:
    """An expectation's row condition as text ("" when it has none)."""
    from great_expectations.expectations.row_conditions import deserialize_row_condition

    condition = deserialize_row_condition(config.kwargs.get("row_condition"))
    return "" if condition is None else condition if isinstance(condition, str) else repr(condition)


def _unexpected_ids(result: dict) -> list[int]:
    """The row ids of an expectation's result, whichever shape GX gave its index list in."""
    ids: list[int] = []
    for hit in result.get("unexpected_index_list") or []:
        found = hit[INDEX] if isinstance(hit, dict) else hit
        ids.extend(int(i) for i in (found if isinstance(found, list) else [found]))
    return ids


def _raised(info) -> str | None:
    """The message of an exception GX caught while evaluating an expectation, if it caught one
    (its `exception_info` is flat, or keyed by metric)."""
    if not info:
        return None
    infos = [info] if "raised_exception" in info else list(info.values())
    for i in infos:
        if isinstance(i, dict) and i.get("raised_exception"):
            return str(i.get("exception_message") or "an error")
    return None


def _unexpected_values(batch: pd.DataFrame, validation_result) -> pd.Series | None:
    """The values GX found unexpected (pairs for a column pair), indexed by row id."""
    ids = _unexpected_ids(validation_result.result)
    if not ids:
        return None
    kw = validation_result.expectation_config.kwargs
    if kw.get("column"):
        return batch.loc[ids, kw["column"]]
    pairs = batch.loc[ids, [kw["column_A"], kw["column_B"]]]
    return pd.Series(list(pairs.itertuples(index=False, name=None)), index=pairs.index)


class ObservationValidator:
    """An ephemeral GX context with the period's suite `observations` and its one checkpoint.

    `docs_dir`: where this validation's Data Docs site goes (rebuilt whole by each `failures`
    call), one per validation run; `provinces`: the province codes the run covers, written beside
    the site (schemas.data_docs.current_sites keeps each province's newest site); by default the
    site's folder name, as when each province had its own site."""

    def __init__(
        self,
        catalogue: Catalogue,
        period: str,
        docs_dir: Path | None = None,
        provinces: Iterable[str] | None = None,
    ):
        import great_expectations as gx

        self._gx = gx
        self.catalogue = catalogue
        self.period = period
        self.docs_dir = None if docs_dir is None else Path(docs_dir)
        self.provinces = (
            sorted(set(provinces))
            if provinces is not None
            else [self.docs_dir.name]
            if self.docs_dir is not None
            else []
        )
        ctx = gx.get_context(mode="ephemeral")
        ctx.variables.progress_bars = {"globally": False}
        if self.docs_dir is not None:
            ctx.add_data_docs_site(
                "dxlake",
                {
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(self.docs_dir),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        self._ctx = ctx
        expectations = _observation_expectations(gx, period)
        expectations += [_range_expectation(gx, ind) for ind in catalogue]
        for e in expectations:  # shown under each expectation on the suite's page
            e.notes = f"Quy tắc / rule: `{e.meta['rule_id']}`"
        batch = (
            ctx.data_sources.add_pandas("landing")
            .add_dataframe_asset(SUITE)
            .add_batch_definition_whole_dataframe(SUITE)
        )
        self._suite = ctx.suites.add(gx.ExpectationSuite(name=SUITE, expectations=expectations))
        definition = ctx.validation_definitions.add(
            gx.ValidationDefinition(name=SUITE, data=batch, suite=self._suite)
        )
        self._checkpoint = ctx.checkpoints.add(
            gx.Checkpoint(
                name=SUITE,
                validation_definitions=[definition],
                actions=[],  # the Data Docs are built from a bounded copy of the results
                result_format=RESULT_FORMAT,
            )
        )
        read = {c for e in self._suite.expectations for c in _columns(e.configuration)}
        self._read = sorted(read - {INDEX})

    def failures(self, frame: pd.DataFrame) -> dict[int, list[str]]:
        """row_id → the rule ids GX found it breaking (one checkpoint run)."""
        batch = for_docs(frame[[INDEX, *self._read]]).set_index(INDEX)
        result = self._checkpoint.run(batch_parameters={"dataframe": batch})
        failed: dict[int, list[str]] = defaultdict(list)
        for identifier, run in result.run_results.items():
            for r in run.results:
                rule_id = r.expectation_config.meta["rule_id"]
                if error := _raised(r.exception_info):  # no rows listed: none may pass unjudged
                    raise RuntimeError(f"GX could not evaluate {rule_id}: {error}")
                for row_id in _unexpected_ids(r.result):
                    failed[row_id].append(rule_id)
            if self.docs_dir is not None:
                self._write_docs(identifier, run, batch)
        return dict(failed)

    def _write_docs(self, identifier, run, batch: pd.DataFrame) -> None:
        """The site for this run: GX's pages from a bounded copy of its results, made offline."""
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
        )

        findings = []
        for r in run.results:
            r.result = bound_for_docs(r.result, _unexpected_values(batch, r))
            findings.append(Finding.of(r, _condition(r.expectation_config)))
        shutil.rmtree(self.docs_dir, ignore_errors=True)  # the pages of this validation only
        self._ctx.validation_results_store.set(identifier, run)
        self._ctx.build_data_docs(
            site_names=["dxlake"],
            resource_identifiers=[identifier, ExpectationSuiteIdentifier(name=run.suite_name)],
        )
        stats = run.statistics
        outcomes = {
            run.suite_name: (
                run.success,
                stats["evaluated_expectations"],
                stats["unsuccessful_expectations"],
            )
        }
        make_offline(self.docs_dir, outcomes, findings=findings, provinces=self.provinces)
        write_site_provinces(self.docs_dir, self.provinces)
