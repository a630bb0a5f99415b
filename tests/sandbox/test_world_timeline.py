"""The world's timeline is coherent: nothing is written before the object it belongs to exists."""

from __future__ import annotations

import pandas as pd
import pytest

from sandbox.world import World
from sandbox.world.generate import build_world


@pytest.fixture(scope="module")
def small() -> World:
    """small seed 5: the world where approval notes used to predate their conversation (3 of 112)."""
    return build_world("small", 5)


def test_no_reamaze_message_predates_its_conversation(small: World) -> None:
    conversations = small.areas["support"]["conversations"].set_index("slug")["created_at"]
    messages = pd.concat([small.areas["support"]["messages"].assign(source="support"),
                          small.areas["leaks"]["internal_notes"].assign(source="leaks")], ignore_index=True)
    assert (messages["source"] == "leaks").sum() > 50, "the world must write approval notes to check"
    opened = messages["conversation_slug"].map(conversations)
    assert opened.notna().all(), "every message belongs to a conversation of the world"
    early = messages[messages["created_at"] < opened]
    assert early.empty, (
        f"{len(early)} message(s) written before their conversation existed, e.g. "
        f"{early[['source', 'message_id', 'conversation_slug', 'created_at']].head(3).to_dict('records')}")
