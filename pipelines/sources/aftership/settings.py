"""Constants of the AfterShip Tracking source."""

API_VERSION = "2026-07"
PAGE_SIZE = 200  # the API's maximum `limit`
DEFAULT_START = "2000-01-01T00:00:00+00:00"
# Re-read this many seconds before the last `updated_at` seen: late-indexed updates are never missed.
LOOKBACK_SECONDS = 3600
MAX_ATTEMPTS = 6

# Declared columns of the raw tables: typed, and present even when every value of a load is null.
TRACKING_COLUMNS: dict[str, dict] = {
    "id": {"data_type": "text", "nullable": False},
    "tracking_number": {"data_type": "text"},
    "slug": {"data_type": "text"},
    "shipment_type": {"data_type": "text"},
    "order_id": {"data_type": "text"},
    "order_number": {"data_type": "text"},
    "location_id": {"data_type": "text"},
    "created_at": {"data_type": "timestamp"},
    "updated_at": {"data_type": "timestamp"},
    "shipment_pickup_date": {"data_type": "timestamp"},
    "shipment_delivery_date": {"data_type": "timestamp"},
    "tag": {"data_type": "text"},
    "subtag": {"data_type": "text"},
    "subtag_message": {"data_type": "text"},
    "first_estimated_delivery__datetime": {"data_type": "text"},
    "origin_country_region": {"data_type": "text"},
    "destination_country_region": {"data_type": "text"},
}
