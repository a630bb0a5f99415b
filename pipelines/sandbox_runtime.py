"""Start the sandbox emulators for a run when the sandbox config is in force and they are not up yet."""

from __future__ import annotations

import logging
import socket
import tomllib
from urllib.parse import urlparse

from pipelines import settings

log = logging.getLogger(__name__)
_started: list = []  # handles of emulators this process started: they live as long as the process


def _shopify_address() -> tuple[str, int] | None:
    path = settings.config_dir() / ".dlt" / "config.toml"
    if not path.exists():
        return None
    with path.open("rb") as fh:
        shops = tomllib.load(fh).get("sources", {}).get("shopify", {}).get("shops", [])
    if not shops:
        return None
    url = urlparse(shops[0]["base_url"])
    return url.hostname or "127.0.0.1", url.port or 80


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def ensure_emulators() -> None:
    """In sandbox mode, start the emulators in this process (background thread) unless already listening."""
    config = settings.run_config()
    address = _shopify_address()
    if not config.is_sandbox or address is None or config.sandbox_world is None:
        return
    host, port = address
    if _listening(host, port):
        return
    from sandbox.emulators.server import start_background_thread

    log.info("starting sandbox emulators on %s:%s for %s", host, port, config.sandbox_world)
    _started.append(start_background_thread(config.sandbox_world, host=host, shopify_port=port))


def configured_shopify_port() -> int | None:
    address = _shopify_address()
    return address[1] if address else None
