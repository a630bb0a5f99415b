"""Run a completeness check with GX and turn its validation result into a CheckOutcome."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from expectations.suites import CHECKS, Check, CheckOutcome


@cache
def _context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def validate_frame(check: Check, frame: pd.DataFrame) -> CheckOutcome:
    """Validate `frame` against the check's suite; failing rows are named by the check's key column."""
    import great_expectations as gx

    context = _context()
    source = context.data_sources.add_or_update_pandas(name=f"leakwatch_{check.name}")
    asset = source.add_dataframe_asset(name=check.name)
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": frame})
    suite = gx.ExpectationSuite(name=check.name, expectations=check.expectations())
    result = batch.validate(
        suite,
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [check.key_column]},
    )
    failing: list[str] = []
    expected: list[str] = []
    for item in result.results:
        config = item.expectation_config
        expected.append(f"{config.type}({', '.join(f'{k}={v}' for k, v in config.kwargs.items() if k != 'batch_id')})")
        if not item.success:
            for row in item.result.get("unexpected_index_list") or []:
                key = str(row[check.key_column])
                if key not in failing:
                    failing.append(key)
    observed = f"{len(failing)} of {len(frame)} rows failing" if len(frame) else "no rows"
    return CheckOutcome(check=check, passed=bool(result.success), observed=observed,
                        expected="; ".join(expected), failing_keys=failing)


def run_check(check: Check, warehouse: Path, as_of: datetime) -> CheckOutcome:
    return validate_frame(check, check.frame(warehouse, as_of))


def run_all(warehouse: Path, as_of: datetime) -> list[CheckOutcome]:
    return [run_check(check, warehouse, as_of) for check in CHECKS]
