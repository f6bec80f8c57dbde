"""The ``pm4ml`` command line: run the servers, the demo, the database and the connectors.

Sub-commands from other distributions (the ledger connector's ``pm4ml ledger ...``) are
mounted from the ``pm4ml.cli`` entry-point group, so every connector can bring its own tools.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Coroutine
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from pm4ml import __version__
from pm4ml.certs.cli import certs_app
from pm4ml.config import ConfigError, Settings, load_settings, redacted
from pm4ml.ops.cli import users_app

T = TypeVar("T")

app = typer.Typer(
    name="pm4ml",
    help="Payment manager for Mojaloop: connect a DFSP to a Mojaloop scheme.",
    no_args_is_help=True,
    add_completion=False,
)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database.", no_args_is_help=True)
connectors_app = typer.Typer(help="Core-banking connectors.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(connectors_app, name="connectors")
app.add_typer(users_app, name="users")
app.add_typer(certs_app, name="certs")

console = Console()
errors = Console(stderr=True)


class State:
    """Options given before the sub-command, shared by every command."""

    config_file: Path | None = None


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run the servers on uvloop (DESIGN.md section 5: a cheaper event loop per request)."""
    import uvloop

    return uvloop.run(main)


def settings_or_exit(**overrides: Any) -> Settings:
    """Load the settings; on a configuration error print it and exit with status 2."""
    try:
        return load_settings(State.config_file, **overrides)
    except ConfigError as exc:
        errors.print(f"[red]configuration error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _version(value: bool) -> None:
    if value:
        console.print(f"pm4ml {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="YAML settings file (environment variables PM4ML_* take precedence).",
            envvar="PM4ML_CONFIG_FILE",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """pm4ml: a payment manager for Mojaloop."""
    State.config_file = config


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the effective settings, secrets redacted."""
    shown = redacted(settings_or_exit())
    if as_json:
        console.print_json(json.dumps(shown, default=str))
        return
    table = Table("setting", "environment variable", "value")
    for name, value in shown.items():
        table.add_row(name, f"PM4ML_{name.upper()}", "" if value is None else str(value))
    console.print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate pm4ml's tables and the active connector's tables."""
    from pm4ml.ops.schema import upgrade_ops
    from pm4ml.store.schema import upgrade_all

    settings = settings_or_exit()
    try:
        upgrade_all(settings)
        upgrade_ops(settings.effective_database_url)
    except (LookupError, TypeError) as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    console.print("database is up to date")


@connectors_app.command("list")
def connectors_list() -> None:
    """List the installed connectors: name, distribution, version and origin."""
    from pm4ml.connectors import available

    settings = settings_or_exit()
    table = Table("name", "distribution", "version", "origin", "active")
    for info in available():
        active = "yes" if info.name == settings.connector else ""
        table.add_row(info.name, info.distribution, info.version, info.origin, active)
    console.print(table)


@app.command()
def serve() -> None:
    """Run the inbound FSPIOP server, the outbound API, the portal and the metrics/health
    server until stopped."""
    from pm4ml.observability.logs import configure_logging
    from pm4ml.ops.app import create_ops_app
    from pm4ml.ops.schema import upgrade_ops
    from pm4ml.runtime import Runtime
    from pm4ml.server import Listener, serve_forever
    from pm4ml.store.schema import upgrade_all
    from pm4ml.tls.settings import server_tls

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    try:
        if settings.database_migrate_on_start:
            upgrade_all(settings)
            upgrade_ops(settings.effective_database_url)
        runtime = Runtime.create(settings)
        inbound_tls = server_tls(settings)
    except (ConfigError, LookupError, TypeError) as exc:
        errors.print(f"[red]configuration error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    listeners = [
        Listener(
            "inbound",
            runtime.inbound_app(),
            settings.inbound_host,
            settings.inbound_port,
            ssl_context=inbound_tls.context if inbound_tls else None,
        ),
        Listener(
            "outbound", runtime.outbound_app(), settings.outbound_host, settings.outbound_port
        ),
        Listener(
            "ops",
            create_ops_app(
                settings, runtime.store, runtime.payer.refresh, runtime.ctx.jobs.cbs_operation
            ),
            settings.ops_host,
            settings.ops_port,
        ),
        Listener("metrics", runtime.metrics_app(), settings.metrics_host, settings.metrics_port),
    ]
    run_loop(serve_forever(runtime, listeners, log_level=settings.log_level))


@app.command()
def demo(
    data_dir: Annotated[
        Path, typer.Option(help="Where the demo keeps its keys and databases.")
    ] = Path("demo-data"),
    send: Annotated[
        str | None,
        typer.Option(
            "--send",
            "--transfer",
            metavar="AMOUNT",
            help="Send one transfer of this amount (USD) after start-up.",
        ),
    ] = None,
    exit_after: Annotated[
        bool, typer.Option("--exit", help="Stop after the demo transfer (exit 0 if completed).")
    ] = False,
    payer_port: Annotated[int, typer.Option(help="payerfsp FSPIOP port.")] = 4000,
    payer_outbound_port: Annotated[int, typer.Option(help="payerfsp outbound API port.")] = 4001,
    payee_port: Annotated[int, typer.Option(help="payeefsp FSPIOP port.")] = 4100,
    payee_outbound_port: Annotated[int, typer.Option(help="payeefsp outbound API port.")] = 4101,
    ops_port: Annotated[int, typer.Option(help="payerfsp operations portal port.")] = 4002,
    mtls: Annotated[
        bool, typer.Option("--mtls", help="FSPIOP over mutual TLS, with a dev CA made on the fly.")
    ] = False,
) -> None:
    """Run two DFSPs (payerfsp, payeefsp) on loopback and show money moving between them."""
    from pm4ml.demo import DemoPorts, main

    ports = DemoPorts(payer_port, payer_outbound_port, payee_port, payee_outbound_port, ops_port)
    raise typer.Exit(main(console, data_dir, ports, send, exit_after, run_loop, mtls=mtls))


def _mount_plugins() -> None:
    mounted = {group.name for group in app.registered_groups}
    for ep in entry_points(group="pm4ml.cli"):
        if ep.name in mounted:
            continue
        try:
            sub = ep.load()
        except Exception as exc:  # a broken plugin must not break the whole CLI
            print(f"pm4ml: cannot load command {ep.name!r}: {exc}", file=sys.stderr)
            continue
        if isinstance(sub, typer.Typer):
            app.add_typer(sub, name=ep.name)


def run() -> None:
    """Console-script entry point: mount plugin commands, then run."""
    _mount_plugins()
    app()
