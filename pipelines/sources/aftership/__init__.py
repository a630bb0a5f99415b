"""AfterShip Tracking API source: trackings with their checkpoints (child table `trackings__checkpoints`).

Config (`.dlt/config.toml`)::

    [sources.aftership]
    base_url = "https://api.aftership.com"
    api_version = "2026-07"

Secrets (`.dlt/secrets.toml` or `SOURCES__AFTERSHIP__API_KEY`)::

    [sources.aftership]
    api_key = "asat_…"

Incremental on `updated_at`: each run asks for `updated_at_min` = the last `updated_at` seen minus a look-back
and merges on `id` (a tracking's checkpoints are replaced with it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.common.typing import TDataItem

from pipelines.sources.aftership.helpers import api_client
from pipelines.sources.aftership.settings import (
    API_VERSION,
    DEFAULT_START,
    LOOKBACK_SECONDS,
    PAGE_SIZE,
    TRACKING_COLUMNS,
)

TABLES = ("trackings", "trackings__checkpoints")


@dlt.source(name="aftership", max_table_nesting=1)
def aftership_source(
    base_url: str = dlt.config.value,
    api_key: str = dlt.secrets.value,
    api_version: str = API_VERSION,
    lookback_seconds: int = LOOKBACK_SECONDS,
    page_size: int = PAGE_SIZE,
) -> Any:
    """Every tracking of the account, incremental on `updated_at`."""
    client = api_client(base_url, api_version, api_key)

    @dlt.resource(name="trackings", primary_key="id", write_disposition="merge", columns=TRACKING_COLUMNS)
    def trackings(
        updated_at: dlt.sources.incremental[str] = dlt.sources.incremental(
            "updated_at", initial_value=DEFAULT_START, lag=lookback_seconds),
    ) -> Iterator[TDataItem]:
        """Trackings updated since the cursor (look-back applied by the incremental's `lag`)."""
        params = {"limit": page_size, "updated_at_min": updated_at.start_value}
        yield from client.paginate("/trackings", params=params)

    return trackings
