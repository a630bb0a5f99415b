"""The `leakwatch` command line. Errors are one line on stderr; the traceback goes to var/leakwatch.log."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

import click

from pipelines import settings

log = logging.getLogger("leakwatch")


def _fail(message: str, code: int = 2) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


class LeakwatchGroup(click.Group):
    """Turns any uncaught exception into one line naming what is wrong; details go to the log file."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - the one place that turns errors into a message
            logfile = settings.var_dir() / "leakwatch.log"
            logfile.parent.mkdir(parents=True, exist_ok=True)
            with logfile.open("a") as fh:
                fh.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(sys.argv)}\n")
                traceback.print_exc(file=fh)
            _fail(f"{exc} (details in {logfile})")


@click.group(cls=LeakwatchGroup)
def main() -> None:
    """Leakwatch: where the margin leaks, why, and which fixes move the number."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@main.group()
def sandbox() -> None:
    """The simulated portfolio and its API emulators."""


@sandbox.command("generate")
@click.option("--preset", default="tiny", show_default=True, help="tiny | small | demo | large")
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--defect", "defects", multiple=True, help="Plant a data defect (repeatable): unmapped_sku")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Folder (default var/sandbox)")
@click.option("--shopify-port", default=None, type=int, help="Shopify emulator port (default 8701)")
@click.option("--free-ports", is_flag=True,
              help="Point the config at free ports for every emulator (tests; several sandboxes side by side)")
def sandbox_generate(preset: str, seed: int, defects: tuple[str, ...], out: Path | None, shopify_port: int | None,
                     free_ports: bool) -> None:
    """Write the world, the ops sheets, ground_truth.duckdb and the sandbox connection config."""
    from sandbox.build import generate, write_config
    from sandbox.emulators.server import EMULATORS
    from sandbox.world import load_world

    out = out or settings.sandbox_dir()
    click.echo(f"generating preset {preset!r} (seed {seed}) into {out} …")
    started = time.monotonic()
    summary = generate(preset, seed, out, defects)
    ports = {name: _free_port() for name in EMULATORS} if free_ports else {}
    if shopify_port is not None:
        ports["shopify"] = shopify_port
    if ports:
        write_config(load_world(out / "world"), out, ports=ports)
    click.echo(
        f"done in {time.monotonic() - started:.1f}s: {summary['stores']} stores, {summary['orders']} orders, "
        f"{summary['refunds']} refunds, clock {summary['as_of']}"
        + (f", defects {summary['defects']}" if summary["defects"] else "")
    )


@sandbox.command("advance")
@click.option("--days", default=1.0, show_default=True, type=float)
def sandbox_advance(days: float) -> None:
    """Move the simulated clock: new orders, late refunds on old orders; ground truth follows."""
    from sandbox.build import advance

    summary = advance(settings.sandbox_dir(), days)
    click.echo(
        f"clock now {summary['as_of']}: {summary['new_orders']} new orders, {summary['updated_orders']} old orders "
        f"changed, {summary['new_refunds']} new refunds"
    )


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--shopify-port", default=None, type=int, help="Default: the port in the sandbox config (8701)")
@click.option("--background", is_flag=True, help="Detach; write var/sandbox/emulators.pid")
def sandbox_serve(host: str, shopify_port: int | None, background: bool) -> None:
    """Serve the sandbox world over loopback HTTP on the config's ports (Shopify 8701, Stripe 8702, Re:amaze 8703,
    AfterShip 8704 unless generated with --free-ports)."""
    from pipelines.sandbox_runtime import configured_addresses

    world = settings.sandbox_dir() / "world"
    if not (world / "meta.json").exists():
        _fail(f"no sandbox world in {world}: run `leakwatch sandbox generate` first")
    ports = {name: address[1] for name, address in configured_addresses().items()}
    if shopify_port is not None:
        ports["shopify"] = shopify_port
    port = ports.get("shopify", 8701)
    if background:
        pidfile = settings.sandbox_dir() / "emulators.pid"
        logfile = settings.sandbox_dir() / "emulators.log"
        cmd = [sys.executable, "-m", "pipelines.cli", "sandbox", "serve", "--host", host, "--shopify-port", str(port)]
        with logfile.open("ab") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=fh, start_new_session=True)
        problem = _wait_until_serving(proc, world, host, ports, logfile)
        if problem:
            _fail(problem)
        pidfile.write_text(f"{proc.pid}\n")
        click.echo(f"emulators started (pid {proc.pid}); Shopify on http://{host}:{port}; ports and log in {logfile}")
        return
    from sandbox.emulators.server import serve

    click.echo(f"serving {world} (Shopify: http://{host}:{port}/shops/<shop>/admin/api/2026-07/graphql.json)")
    serve(world, host=host, **{f"{name}_port": p for name, p in ports.items()})



def _wait_until_serving(proc: subprocess.Popen, world: Path, host: str, ports: dict[str, int], logfile: Path,
                        timeout: float = 120.0) -> str | None:
    """Wait until the detached emulators answer on every port with this world; the reason when they do not (the
    child died, e.g. a port was taken, or another world answers there)."""
    from pipelines.sandbox_runtime import served_world

    expected, deadline = str(world.resolve()), time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = logfile.read_text(errors="replace").strip().splitlines()[-1:] if logfile.exists() else []
            return (f"the emulators exited with code {proc.returncode} before serving: {' '.join(tail)} "
                    f"(log: {logfile}); a port of {ports} may be held by another process")
        served = {name: served_world(host, port, timeout=1.0) for name, port in ports.items()}
        if all(w == expected for w in served.values()):
            return None
        foreign = {name: w for name, w in served.items() if w is not None and w != expected}
        if foreign:
            proc.kill()
            return f"another sandbox is served on these ports: {foreign}; stop it or generate with --free-ports"
        time.sleep(0.3)
    proc.kill()
    return f"the emulators did not answer on {ports} within {timeout:.0f} s (log: {logfile})"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@main.command("run")
@click.option("--log-level", default="INFO", show_default=True)
def run(log_level: str) -> None:
    """Extract, build, check and publish (the nightly job, headless)."""
    from pipelines.run import run_nightly

    folder = settings.activate_config()
    click.echo(f"config: {folder / '.dlt'}; warehouse: {settings.warehouse_path()}")
    outcome = run_nightly(log_level=log_level)
    for check in outcome.failed_checks:
        click.secho(f"check failed: {check}", fg="red", err=True)
    if outcome.published:
        click.secho(f"published {settings.serving_path()} (run {outcome.run_id})", fg="green")
    else:
        click.secho(f"NOT published: serving.duckdb left as it was (run {outcome.run_id})", fg="red", err=True)
    if not outcome.success:
        from pipelines.alerts import alert_run_failure

        alert_run_failure(outcome.run_id, "nightly", outcome.failed_steps)  # once per run id, also by the sensor
    if not outcome.success or not outcome.published:
        if outcome.failed_steps:
            click.secho(f"failed steps: {', '.join(outcome.failed_steps)}", fg="red", err=True)
        sys.exit(1)


@main.command("publish")
@click.option("--rollback", "roll_back", is_flag=True, help="Swap serving.duckdb back to serving.prev.duckdb")
def publish_command(roll_back: bool) -> None:
    """Publish the warehouse's current marts to serving.duckdb (no pipeline run), or roll back one publish."""
    from pipelines.publish import prev_path, publish, rollback

    serving = settings.serving_path()
    if roll_back:
        if not prev_path(serving).exists():
            _fail(f"nothing to roll back to: {prev_path(serving)} does not exist")
        rollback(serving)
        click.secho(f"rolled back: {serving} is the previous publish again (the replaced one is now "
                    f"{prev_path(serving).name})", fg="green")
        return
    warehouse = settings.warehouse_path()
    if not warehouse.exists():
        _fail(f"no warehouse at {warehouse}: run `leakwatch run` first")
    counts = publish(warehouse, serving)
    click.secho(f"published {serving} ({len(counts)} tables, {sum(counts.values())} rows)", fg="green")


@main.command("verify")
@click.option("--serving", type=click.Path(path_type=Path), default=None)
@click.option("--ground-truth", type=click.Path(path_type=Path), default=None)
def verify(serving: Path | None, ground_truth: Path | None) -> None:
    """Compare marts.kpis of the serving DB with the sandbox ground truth; exit 1 on any mismatch."""
    from pipelines.verify import verify as compare

    serving = serving or settings.serving_path()
    ground_truth = ground_truth or settings.sandbox_dir() / "ground_truth.duckdb"
    compared, mismatches = compare(serving, ground_truth)
    if mismatches.empty:
        click.secho(f"verify: all {compared} ground-truth KPI rows match {serving}", fg="green")
        return
    click.echo(mismatches.head(50).to_string(index=False))
    click.secho(f"verify: {len(mismatches)} mismatching rows (of {compared})", fg="red", err=True)
    sys.exit(1)


@main.command("dashboard")
@click.option("--port", default=8501, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
def dashboard(port: int, host: str) -> None:
    """Start the Streamlit dashboard (reads var/serving.duckdb read-only)."""
    env = {**os.environ, "LEAKWATCH_SERVING_DB": str(settings.serving_path())}
    app = settings.PROJECT_ROOT / "dashboards" / "app.py"
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", host, "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer"]
    click.echo(f"dashboard on http://{host}:{port}")
    sys.exit(subprocess.call(cmd, env=env))


@main.command("dq-docs")
def dq_docs() -> None:
    """Build Great Expectations' Data Docs from the gate's kept validation results (var/gx)."""
    from expectations.runner import build_data_docs

    try:
        index = build_data_docs(settings.gx_dir())
    except (FileNotFoundError, RuntimeError) as exc:
        _fail(str(exc))
    click.echo(f"Data Docs: file://{index}")


@main.command("ui")
@click.option("--port", default=3000, show_default=True, type=int)
def ui(port: int) -> None:
    """Start Dagster (webserver + daemon, so the nightly schedule really runs) on 127.0.0.1."""
    from pipelines.run import ensure_dbt_manifest

    settings.activate_config()
    home = settings.dagster_home()
    ensure_dbt_manifest()
    settings.install_dagster_home()
    cmd = [sys.executable, "-m", "dagster", "dev", "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)]
    click.echo(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={home})")
    # run from DAGSTER_HOME, where its dagster.yaml is (the project copy is the source of it)
    sys.exit(subprocess.call(cmd, env={**os.environ, "DAGSTER_HOME": str(home)}, cwd=home))


if __name__ == "__main__":
    main()
