"""The Re:amaze source against the emulator on `small`: every object equals the world at the clock, before and
after `sandbox advance --days 3`, and the second run fetches only what changed plus the lookback."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pandas as pd
import pytest

from pipelines.sources.reamaze import reamaze_source
from pipelines.sources.reamaze.settings import LOOKBACK_SECONDS
from pipelines.sources.sheets.helpers import SheetError, read_sheet
from pipelines.sources.sheets.settings import SHEETS
from sandbox.emulators.reamaze import PAGE_SIZE, create_app
from sandbox.world import load_world, world_at
from tests.conftest import Leakwatch
from tests.emulators.helpers import serve

SEED = 5


def _ok(result: Any) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


class Extraction:
    """One sandbox, one emulator in this process, one dlt pipeline into a private DuckDB file."""

    def __init__(self, leakwatch: Leakwatch, base_url: str, work: Path) -> None:
        self.leakwatch = leakwatch
        self.base_url = base_url
        self.work = work
        self.world_dir = leakwatch.var_dir / "sandbox" / "world"
        self.warehouse = work / "warehouse.duckdb"

    def support(self) -> dict[str, pd.DataFrame]:
        """The support tables at the clock; `messages` with the leaks area's internal notes, served among them."""
        tables = dict(world_at(load_world(self.world_dir)).areas["support"])
        tables["messages"] = pd.concat([tables["messages"], self.internal_notes()], ignore_index=True)
        return tables

    def internal_notes(self) -> pd.DataFrame:
        """Internal notes at the clock on conversations that exist at the clock (the world writes a few notes
        before their conversation is opened: the API cannot list those until the conversation exists)."""
        world = world_at(load_world(self.world_dir))
        notes = world.areas["leaks"]["internal_notes"]
        return notes[notes["conversation_slug"].isin(world.areas["support"]["conversations"]["slug"])]

    def run(self) -> dict[str, Any]:
        """Reset the emulator's counters, run the source once, return the counters."""
        urllib.request.urlopen(urllib.request.Request(f"{self.base_url}/__stats/reset", method="POST")).read()
        staff = self.support()["staff"].groupby("brand").head(1)
        brands = [{"brand": b.lower(), "base_url": f"{self.base_url}/brands/{b.lower()}", "login_email": e}
                  for b, e in zip(staff["brand"], staff["email"], strict=True)]
        tokens = {b.lower(): t for b, t in zip(staff["brand"], staff["api_token"], strict=True)}
        pipeline = dlt.pipeline(pipeline_name="test_reamaze", pipelines_dir=str(self.work / "dlt"),
                                destination=dlt.destinations.duckdb(str(self.warehouse)), dataset_name="raw_reamaze")
        pipeline.run(reamaze_source(brands=brands, api_tokens=tokens), loader_file_format="parquet")
        return json.loads(urllib.request.urlopen(f"{self.base_url}/__stats").read())

    def raw(self, table: str) -> pd.DataFrame:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(f"select * from raw_reamaze.{table}").df()


@pytest.fixture(scope="module")
def extraction(leakwatch: Leakwatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Extraction]:
    _ok(leakwatch("sandbox", "generate", "--preset", "small", "--seed", str(SEED), "--free-ports"))
    world_dir = leakwatch.var_dir / "sandbox" / "world"
    with serve(create_app(world_dir)) as base_url:
        yield Extraction(leakwatch, base_url, tmp_path_factory.mktemp("reamaze"))


def _served(stats: dict[str, Any], resource: str) -> int:
    return sum(s["root_fields"].get(resource, {}).get("objects", 0) for s in stats["stores"].values())


def _assert_equals_world(ext: Extraction) -> None:
    """Ids, counts and states of every Re:amaze object in the raw tables equal the world at the clock."""
    support = ext.support()
    conv, raw_conv = support["conversations"], ext.raw("conversations")
    assert len(raw_conv) == len(conv)
    assert dict(zip(raw_conv["slug"], raw_conv["status"], strict=True)) == dict(
        zip(conv["slug"], conv["status"], strict=True))
    assert dict(zip(raw_conv["slug"], raw_conv["brand"], strict=True)) == {
        s: b.lower() for s, b in zip(conv["slug"], conv["brand"], strict=True)}

    msgs, raw_msgs = support["messages"], ext.raw("messages")
    assert len(raw_msgs) == len(msgs) and raw_msgs["message_key"].is_unique

    def identity(frame: pd.DataFrame) -> list[tuple]:
        stamps = pd.to_datetime(frame["created_at"], utc=True).dt.floor("ms")
        return sorted(zip(frame["conversation_slug"], stamps, frame["visibility"].astype(int),
                          frame["user_is_staff"].astype(bool), frame["origin_id"].isna(), strict=True))

    assert identity(raw_msgs) == identity(msgs)
    notes = ext.internal_notes()
    assert len(notes) > 0, "no internal note at the clock: the check would prove nothing"
    raw_notes = raw_msgs[raw_msgs["visibility"] == 1]
    assert set(zip(notes["conversation_slug"], notes["body"], strict=True)) <= set(
        zip(raw_notes["conversation_slug"], raw_notes["body"], strict=True))
    assert raw_notes.loc[raw_notes["body"].isin(notes["body"]), "user_is_staff"].all()
    for table, key in [("contacts", "contact_id"), ("staff", "staff_id"), ("response_templates", "template_id")]:
        raw = ext.raw(table)
        assert sorted(raw["id"].astype(int)) == sorted(support[table][key].astype(int)), table


def test_first_and_incremental_runs_equal_the_world(extraction: Extraction) -> None:
    first = extraction.run()
    _assert_equals_world(extraction)
    support_1 = extraction.support()
    assert _served(first, "conversations") == len(support_1["conversations"])

    _ok(extraction.leakwatch("sandbox", "advance", "--days", "3"))
    support_2 = extraction.support()
    second = extraction.run()
    _assert_equals_world(extraction)

    # messages: per brand, exactly those created since that brand's newest message of the first run minus the
    # lookback
    lookback = pd.Timedelta(seconds=LOOKBACK_SECONDS)
    window = support_1["messages"].groupby("brand")["created_at"].max().dt.floor("ms") - lookback
    msgs = support_2["messages"]
    in_message_window = msgs["created_at"] >= msgs["brand"].map(window)
    assert _served(second, "messages") == int(in_message_window.sum())
    assert _served(second, "messages") < len(msgs)

    # conversations: every one that changed since the first run, at most those changed in the window plus the
    # rest of the last page of each brand, never the whole list
    conv = support_2["conversations"]
    changed = int((conv["updated_at"] > support_1["conversations"]["updated_at"].max()).sum())
    in_window = int((conv["updated_at"] >= conv["brand"].map(window)).sum())
    served = _served(second, "conversations")
    brands = conv["brand"].nunique()
    assert changed > 0
    assert changed <= served <= in_window + PAGE_SIZE * brands
    assert served < len(conv)

    # contacts: the new ones plus at most one page of overlap per brand
    new_contacts = len(support_2["contacts"]) - len(support_1["contacts"])
    assert new_contacts <= _served(second, "contacts") <= new_contacts + PAGE_SIZE * brands
    assert _served(second, "contacts") < len(support_2["contacts"])


GOOD_TARGETS = ("brand,timezone,support_hours_start,support_hours_end,frt_target_hours,template_required_categories\n"
                "Lumen,Australia/Sydney,08:00,18:00,8.0,refund;return\n")


@pytest.mark.parametrize(
    ("text", "row", "column", "problem"),
    [
        (GOOD_TARGETS + "Hearth,Canada/Nowhere,09:00,17:00,16,refund\n", 3, "timezone", "unknown IANA"),
        (GOOD_TARGETS + "Hearth,America/Toronto,9am,17:00,16,refund\n", 3, "support_hours_start", "HH:MM"),
        (GOOD_TARGETS + "Hearth,America/Toronto,09:00,17:00,soon,refund\n", 3, "frt_target_hours", "bad value"),
        (GOOD_TARGETS + "Lumen,Australia/Sydney,08:00,18:00,8,refund\n", 3, "brand", "duplicate key"),
    ],
)
def test_bad_support_targets_row_names_file_row_and_column(tmp_path: Path, text: str, row: int, column: str,
                                                           problem: str) -> None:
    good = tmp_path / "good" / "support_targets.csv"
    good.parent.mkdir()
    good.write_text(GOOD_TARGETS)
    assert [r["brand"] for r in read_sheet(good, SHEETS["support_targets"])] == ["Lumen"]
    path = tmp_path / "support_targets.csv"
    path.write_text(text)
    with pytest.raises(SheetError) as excinfo:
        read_sheet(path, SHEETS["support_targets"])
    message = str(excinfo.value)
    assert (excinfo.value.row, excinfo.value.column) == (row, column)
    assert str(path) in message and f"row {row}" in message and repr(column) in message and problem in message
