"""``wxocr token`` and ``wxocr sandbox``: the shared access token and the WeChat API emulator."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import ConfigOption, app, cli_config, console, err_console, open_database
from bot.config import Config

if TYPE_CHECKING:
    from bot.wxapi.tokens import StoredToken


token_app = typer.Typer(help="The shared WeChat access token.", no_args_is_help=True)
app.add_typer(token_app, name="token")


def _print_token(stored: StoredToken, config: Config) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC)
    local = stored.expires_at.astimezone(ZoneInfo(config.log.timezone))
    console.print(f"app_id:     {stored.app_id}")
    console.print(f"token:      {stored.short}")
    console.print(f"expires_at: {stored.expires_at:%Y-%m-%d %H:%M:%S} UTC ({local:%H:%M:%S %Z})")
    console.print(f"expires_in: {max(0, int(stored.seconds_left(now)))} s")


def _with_token_store(config_path: Path | None, action: str) -> None:
    import httpx

    from bot.store.db import session_factory
    from bot.wxapi.client import WechatError
    from bot.wxapi.tokens import build_token_store

    config = cli_config(config_path)
    with open_database(
        config, "(check database.url; is it migrated? `wxocr db upgrade`)"
    ) as engine:
        try:
            with httpx.Client(timeout=config.wechat.timeout_s) as http:
                store = build_token_store(config, http, session_factory(engine))
                stored = store.force_refresh() if action == "refresh" else store.ensure_valid()
        except WechatError as exc:
            err_console.print(f"[red]WeChat API call failed:[/red] {exc}")
            raise typer.Exit(1) from None
    _print_token(stored, config)


@token_app.command("show")
def token_show(config_path: ConfigOption = None) -> None:
    """Print the token's expiry (fetching one first if none valid is stored); never the secret."""
    _with_token_store(config_path, "show")


@token_app.command("refresh")
def token_refresh(config_path: ConfigOption = None) -> None:
    """Fetch a new access token now and store it for every process."""
    _with_token_store(config_path, "refresh")


@app.command("sandbox")
def sandbox_command(
    host: Annotated[str | None, typer.Option(help="Default: server.host.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: server.port.")] = None,
    config_path: ConfigOption = None,
) -> None:
    """Serve the WeChat API emulator alone (under /sandbox), with waitress."""
    import waitress

    from bot.sandbox.emulator import SandboxApp, mounted

    config = cli_config(config_path)
    host = host or config.server.host
    port = config.server.port if port is None else port
    app_ = mounted("/sandbox", SandboxApp.from_config(config))
    err_console.print(
        f"WeChat API sandbox: api_base = http://{host}:{port}/sandbox "
        f"(app_id {config.sandbox.app_id}); control endpoints under /sandbox/_control/"
    )
    waitress.serve(app_, host=host, port=port, threads=config.server.threads)
