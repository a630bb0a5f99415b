"""Emulators left running by another checkout on our ports: `sandbox serve --background` fails instead of
reporting success, and `leakwatch run` refuses to extract a world it would then verify against another truth.

(Found when a second `make demo` read the first checkout's world from the default ports and verify failed on
3,994 of 4,789 KPI rows.)"""

from __future__ import annotations

import os
import shutil
import signal

import httpx

from tests.conftest import Leakwatch


def _ok(result) -> None:  # noqa: ANN001 - CompletedProcess
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def test_a_second_sandbox_on_taken_ports_fails_loudly(tmp_path) -> None:
    first = Leakwatch(tmp_path / "first")
    _ok(first("sandbox", "generate", "--preset", "tiny", "--seed", "3", "--free-ports"))
    _ok(first("sandbox", "serve", "--background"))
    pid = int((first.var_dir / "sandbox" / "emulators.pid").read_text())
    try:
        config = (first.var_dir / "sandbox" / ".dlt" / "config.toml").read_text()
        port = int(config.split("127.0.0.1:", 1)[1].split("/", 1)[0])
        served = httpx.get(f"http://127.0.0.1:{port}/__stats", timeout=10).json()["world"]
        assert served == str((first.var_dir / "sandbox" / "world").resolve())

        # a second checkout with the same ports: the same files in another folder are another world
        second = Leakwatch(tmp_path / "second")
        shutil.copytree(first.var_dir / "sandbox", second.var_dir / "sandbox",
                        ignore=shutil.ignore_patterns("emulators.*"))
        serve = second("sandbox", "serve", "--background", timeout=300)
        assert serve.returncode == 2, serve.stdout + serve.stderr
        # whichever it sees first: the other world answering on the ports, or its own child dying on a taken port
        assert ("another sandbox is served" in serve.stderr and served in serve.stderr) or (
            "exited" in serve.stderr and "port" in serve.stderr), serve.stderr
        assert not (second.var_dir / "sandbox" / "emulators.pid").exists()

        run = second("run", timeout=300)
        assert run.returncode != 0
        message = run.stderr + run.stdout
        assert f"127.0.0.1:{port} serves {served}" in message, message[-2000:]
        assert "--free-ports" in message
        assert not second.serving.exists(), "nothing may be published from another world"
    finally:
        os.kill(pid, signal.SIGTERM)
