"""Start the sandbox emulators for a run when the sandbox config is in force and they are not up yet."""

from __future__ import annotations

import logging
import socket
import tomllib
from urllib.parse import urlparse

from pipelines import settings

log = logging.getLogger(__name__)
_started: list = []  # handles of emulators this process started: they live as long as the process


def _first_url(section: dict, key: str) -> str | None:
    """The base URL of a source section: `base_url`, or the first entry of its list `key` (shops, brands)."""
    if section.get("base_url"):
        return section["base_url"]
    entries = section.get(key) or []
    return entries[0].get("base_url") if entries else None


# Where each emulator's address is in the sandbox config: source section and, for per-shop/brand lists, the list.
_SOURCE_URLS = {"shopify": "shops", "stripe": "accounts", "reamaze": "brands", "aftership": ""}


def configured_addresses() -> dict[str, tuple[str, int]]:
    """(host, port) of every emulator the sandbox config points a source at."""
    path = settings.config_dir() / ".dlt" / "config.toml"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        sources = tomllib.load(fh).get("sources", {})
    addresses = {}
    for name, key in _SOURCE_URLS.items():
        base_url = _first_url(sources.get(name, {}), key)
        if base_url:
            url = urlparse(base_url)
            addresses[name] = (url.hostname or "127.0.0.1", url.port or 80)
    return addresses


def _shopify_address() -> tuple[str, int] | None:
    return configured_addresses().get("shopify")


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
        check_served_world(config.sandbox_world)
        return
    from sandbox.emulators.server import start_background_thread

    ports = {f"{name}_port": address[1] for name, address in configured_addresses().items()}
    log.info("starting sandbox emulators on %s (%s) for %s", host, ports, config.sandbox_world)
    _started.append(start_background_thread(config.sandbox_world, host=host, **ports))


class ForeignEmulatorError(RuntimeError):
    """An emulator on a configured port serves another sandbox world than this one."""


def served_world(host: str, port: int, timeout: float = 5.0) -> str | None:
    """The world directory the emulator on (host, port) serves, from its `/__stats` (None when it does not say)."""
    import httpx

    try:
        response = httpx.get(f"http://{host}:{port}/__stats", timeout=timeout)
        return response.json().get("world") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def check_served_world(world_dir) -> None:  # noqa: ANN001 - str or Path
    """Fail when an emulator already listening on a configured port serves another world (e.g. left running by
    another checkout's `make demo`): the run would extract that world and verify against this one's truth."""
    from pathlib import Path

    expected = str(Path(world_dir).resolve())
    for name, (host, port) in configured_addresses().items():
        if not _listening(host, port):
            continue
        world = served_world(host, port)
        if world is not None and world != expected:
            raise ForeignEmulatorError(
                f"the {name} emulator on {host}:{port} serves {world}, not this sandbox ({expected}): stop it "
                f"(`make sandbox-stop` in that checkout) or generate this sandbox with --free-ports")
