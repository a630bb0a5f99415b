"""Run the loopback API emulators: blocking (`serve`) or in a background thread for tests.

Each emulator is a Starlette app factory `(world_dir) -> app` with a default port, registered in `EMULATORS`;
all of them run in one asyncio loop, one uvicorn server per port. Adding an emulator means one entry in
`EMULATORS`; `serve`/`start_background_thread` take `<name>_port=` for each.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from sandbox.emulators import aftership, reamaze, shopify
from sandbox.emulators import stripe as stripe_emulator

AppFactory = Callable[[Path], Starlette]


@dataclass(frozen=True)
class EmulatorSpec:
    """How to build one emulator and where it listens by default."""

    factory: AppFactory
    default_port: int


EMULATORS: dict[str, EmulatorSpec] = {
    "shopify": EmulatorSpec(shopify.create_app, 8701),
    "stripe": EmulatorSpec(stripe_emulator.create_app, 8702),
    "reamaze": EmulatorSpec(reamaze.create_app, 8703),
    "aftership": EmulatorSpec(aftership.create_app, 8704),
}


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free port."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted sockets inherit this: no 40 ms Nagle/delayed-ACK stall between uvicorn's header and body writes
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@dataclass
class _Running:
    name: str
    server: uvicorn.Server
    sock: socket.socket

    @property
    def base_url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"


def _prepare(world_dir: Path, host: str, ports: dict[str, int]) -> list[_Running]:
    running = []
    for name, port in ports.items():
        app = EMULATORS[name].factory(Path(world_dir))
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        running.append(_Running(name, uvicorn.Server(config), _bind(host, port)))
    return running


async def _serve_all(running: list[_Running]) -> None:
    """Serve until one server stops (Ctrl-C reaches only one of them), then stop the others."""
    tasks = [asyncio.create_task(r.server.serve(sockets=[r.sock])) for r in running]
    _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for r in running:
        r.server.should_exit = True
    await asyncio.gather(*pending)


def _ports(overrides: dict[str, int | None], default: int | None = None) -> dict[str, int]:
    """Port per registered emulator: the override, else `default` (0 = free port), else its own default."""
    ports = {}
    for name, spec in EMULATORS.items():
        port = overrides.get(name)
        ports[name] = port if port is not None else (default if default is not None else spec.default_port)
    return ports


def serve(world_dir: Path, host: str = "127.0.0.1", shopify_port: int | None = None, **ports: int | None) -> None:
    """Serve every emulator until interrupted (Ctrl-C); `<name>_port=` overrides an emulator's default port."""
    overrides = {"shopify": shopify_port, **{k.removesuffix("_port"): v for k, v in ports.items()}}
    running = _prepare(Path(world_dir), host, _ports(overrides))
    for r in running:
        print(f"{r.name} emulator on {r.base_url}", flush=True)
    try:
        asyncio.run(_serve_all(running))
    finally:
        for r in running:
            r.sock.close()


@dataclass
class EmulatorHandle:
    """Emulators running in a background thread; `stop()` (or leaving the `with` block) shuts them down."""

    base_urls: dict[str, str]
    _running: list[_Running] = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def base_url(self) -> str:
        """The Shopify emulator's base URL, e.g. `http://127.0.0.1:8701`."""
        return self.base_urls["shopify"]

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the servers to exit and wait for the thread."""
        for r in self._running:
            r.server.should_exit = True
        self._thread.join(timeout)
        for r in self._running:
            r.sock.close()

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_background_thread(
    world_dir: Path, host: str = "127.0.0.1", shopify_port: int = 0, startup_timeout: float = 30.0,
    **ports: int,
) -> EmulatorHandle:
    """Start every emulator in a daemon thread (port 0, the default, → a free port) and return once they
    accept requests; `<name>_port=` picks an emulator's port."""
    overrides = {"shopify": shopify_port, **{k.removesuffix("_port"): v for k, v in ports.items()}}
    running = _prepare(Path(world_dir), host, _ports(overrides, default=0))
    thread = threading.Thread(target=asyncio.run, args=(_serve_all(running),), name="emulators", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not all(r.server.started for r in running):
        if not thread.is_alive() or time.monotonic() > deadline:
            for r in running:
                r.server.should_exit = True
                r.sock.close()
            raise RuntimeError("emulators failed to start")
        time.sleep(0.01)
    return EmulatorHandle({r.name: r.base_url for r in running}, running, thread)
