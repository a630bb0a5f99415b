"""`leakwatch ui` runs the Dagster webserver AND the daemon: the nightly schedule and the failure sensor really run."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import pytest

from tests.conftest import PROJECT_ROOT, Leakwatch, free_port

QUERY = """
{
  instance {
    daemonHealth {
      scheduler: daemonStatus(daemonType: "SCHEDULER") { healthy required }
      sensor: daemonStatus(daemonType: "SENSOR") { healthy required }
    }
  }
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        schedules { name scheduleState { status } }
        sensors { name sensorState { status } }
      }
    }
  }
}
"""


@pytest.mark.timeout(420)
def test_ui_starts_webserver_and_daemon_with_schedule_and_sensor_running(tmp_path) -> None:
    leakwatch = Leakwatch(tmp_path / "var")
    generated = leakwatch("sandbox", "generate", "--preset", "tiny", "--seed", "3", "--free-ports")
    assert generated.returncode == 0, generated.stderr
    port = free_port()
    proc = subprocess.Popen(leakwatch.command("ui", "--port", str(port)), env=leakwatch.env, cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    last: object = None
    try:
        deadline = time.monotonic() + 360
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read()[-4000:]
            try:
                last = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=10).json()
            except (httpx.HTTPError, ValueError):
                time.sleep(2)
                continue
            health = last["data"]["instance"]["daemonHealth"]
            if health["scheduler"]["healthy"] and health["sensor"]["healthy"]:
                break
            time.sleep(2)
        else:
            pytest.fail(f"the daemon never reported healthy: {last}")
        repo = last["data"]["repositoriesOrError"]["nodes"][0]
        schedules = {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}
        sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
        assert schedules.get("nightly_schedule") == "RUNNING", schedules
        assert sensors and set(sensors.values()) == {"RUNNING"}, sensors
        assert (tmp_path / "var" / "dagster" / "dagster.yaml").exists()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
