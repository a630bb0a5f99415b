"""Run a completeness check with GX and turn its validation result into a CheckOutcome.

With `gx_root` the checks run in a file-backed GX project there (suites, validation definitions and every
validation result are kept, so `leakwatch dq-docs` can build GX's Data Docs from them); without it, in an
ephemeral context (unit tests).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from expectations.suites import CHECKS, Check, CheckOutcome

RESULT_FORMAT = "COMPLETE"


@cache
def _context(gx_root: Path | None) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if gx_root is None:
        context = gx.get_context(mode="ephemeral")
    else:
        gx_root.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(gx_root))
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def _validation_definition(context: Any, check: Check) -> Any:
    import great_expectations as gx

    source = context.data_sources.add_or_update_pandas(name=f"leakwatch_{check.name}")
    asset = source.add_dataframe_asset(name=check.name)
    batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    suite = context.suites.add_or_update(gx.ExpectationSuite(name=check.name, expectations=check.expectations()))
    return context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=check.name, data=batch_definition, suite=suite))


def validate_frame(check: Check, frame: pd.DataFrame, gx_root: Path | None = None,
                   run_name: str | None = None) -> CheckOutcome:
    """Validate `frame` against the check's suite; failing rows are named by the check's key column."""
    from great_expectations.core.run_identifier import RunIdentifier

    definition = _validation_definition(_context(gx_root), check)
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": RESULT_FORMAT, "unexpected_index_column_names": [check.key_column]},
        run_id=RunIdentifier(run_name=run_name, run_time=datetime.now(UTC)),
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
    if check.observe is not None:
        observed = f"{check.observe(frame)}; {observed}"
    return CheckOutcome(check=check, passed=bool(result.success), observed=observed,
                        expected="; ".join(expected), failing_keys=failing)


def run_check(check: Check, warehouse: Path, as_of: datetime, gx_root: Path | None = None,
              run_name: str | None = None) -> CheckOutcome:
    return validate_frame(check, check.frame(warehouse, as_of), gx_root, run_name)


def run_all(warehouse: Path, as_of: datetime, gx_root: Path | None = None,
            run_name: str | None = None) -> list[CheckOutcome]:
    return [run_check(check, warehouse, as_of, gx_root, run_name) for check in CHECKS]


def build_data_docs(gx_root: Path) -> Path:
    """Build GX's Data Docs from the suites and validation results kept under `gx_root`; returns index.html."""
    if not (gx_root / "gx" / "great_expectations.yml").exists():
        raise FileNotFoundError(f"no GX results under {gx_root}: run `leakwatch run` first")
    context = _context(gx_root)
    context.build_data_docs()
    index = next((Path(site["site_url"].removeprefix("file://")) for site in context.get_docs_sites_urls()
                  if site.get("site_url")), None)
    if index is None or not index.exists():
        raise RuntimeError(f"GX did not write Data Docs under {gx_root}")
    return index
