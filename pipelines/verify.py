"""`leakwatch verify`: compare the published marts.kpis with the sandbox's ground truth."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

KEYS = ["metric", "store_id", "period_start", "grain", "dimension", "dimension_value"]
# Counts must match exactly, money to the cent, everything else (rates, hours, days) to 1e-4.
COUNT_METRICS = {"orders_paid", "dispute_count", "eligible_claim_parcels"}
MONEY_METRICS = {"net_revenue", "gross_profit", "compensation_recovered"}
MONEY_TOLERANCE = 0.005  # to the cent
RATE_TOLERANCE = 0.0001


def _kpis(path: Path, table: str) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"select {', '.join(KEYS)}, value from {table}").df()
    finally:
        con.close()


def tolerance(metric: str) -> float:
    if metric in COUNT_METRICS or metric.endswith("_count"):
        return 0.0
    if metric in MONEY_METRICS or metric.endswith("_cost"):
        return MONEY_TOLERANCE
    return RATE_TOLERANCE


def _key(frame: pd.DataFrame) -> pd.Series:
    """One text key per row; NULL keys become '∅' so the portfolio rows (store_id NULL) join too."""
    parts = [frame[c].map(lambda v: "∅" if v is None or pd.isna(v) else str(v)) for c in KEYS]
    return pd.concat(parts, axis=1).agg("|".join, axis=1)


def compare(actual: pd.DataFrame, expected: pd.DataFrame) -> pd.DataFrame:
    """Every row that is missing on one side, NULL on one side only, or beyond the metric's tolerance."""
    left = actual.assign(_key=_key(actual))
    right = expected.assign(_key=_key(expected))
    merged = left[["_key", *KEYS, "value"]].merge(
        right[["_key", "value"]], on="_key", how="outer", suffixes=("_warehouse", "_truth"), indicator=True
    )
    for column in KEYS:
        merged[column] = merged[column].where(merged[column].notna(), right.set_index("_key")[column]
                                              .reindex(merged["_key"]).to_numpy())
    a, b = merged["value_warehouse"], merged["value_truth"]
    tol = merged["metric"].map(tolerance)
    both = a.notna() & b.notna()
    bad = (merged["_merge"] != "both") | (a.isna() != b.isna()) | (both & ((a - b).abs() > tol + 1e-9))
    out = merged.loc[bad, [*KEYS, "value_warehouse", "value_truth", "_merge"]].rename(columns={"_merge": "found_in"})
    out["found_in"] = out["found_in"].map({"left_only": "warehouse only", "right_only": "truth only",
                                           "both": "both"}).astype(str)
    return out.sort_values(KEYS, na_position="first").reset_index(drop=True)


def verify(serving: Path, ground_truth: Path) -> tuple[int, pd.DataFrame]:
    """(rows compared, mismatches)."""
    actual = _kpis(serving, "marts.kpis")
    expected = _kpis(ground_truth, "main.kpis")
    return len(expected), compare(actual, expected)
