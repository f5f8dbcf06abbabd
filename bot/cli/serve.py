"""``wxocr serve`` and ``wxocr simulate``: the bot, and a simulated WeChat user talking to it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import ConfigOption, app, cli_config, err_console, open_database
from bot.config import Config

# ---------------------------------------------------------------- the bot (issue 5)
# serve / simulate: the webhook behind waitress, and WeChat's side of a conversation.


@app.command()
def serve(
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Worker processes (gunicorn, Linux); 0 = one waitress process. "
            "Default: server.workers.",
        ),
    ] = None,
    config_path: ConfigOption = None,
) -> None:
    """Serve the WeChat webhook (and the sandbox in sandbox mode) until Ctrl-C."""
    config = cli_config(config_path)
    processes = config.server.workers if workers is None else workers
    if processes:
        # Imported first: the metrics directory must be set before prometheus-client loads.
        from bot.serving.workers import WorkersError, check_workers_config, serve_workers

        try:
            check_workers_config(config, processes)
            _require_migrated(config)
            serve_workers(config, processes)
        except WorkersError as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        return
    from bot.serving.server import serve as serve_forever

    _require_migrated(config)
    serve_forever(config)


def _require_migrated(config: Config) -> None:
    """An unmigrated database would fail every request and job: refuse to start instead."""
    from bot.store.db import current_revision, head_revision

    with open_database(config) as engine:
        current = current_revision(engine)
    head = head_revision()
    if current != head:
        err_console.print(
            f"[red]the database is at revision {current or '(none)'}, the code needs {head}: "
            "run `wxocr db upgrade` first[/red]"
        )
        raise typer.Exit(2)


@app.command()
def simulate(
    image: Annotated[Path, typer.Argument(help="The photo to send, as a WeChat user would.")],
    command: Annotated[
        str | None, typer.Option(help="A text to send first, e.g. 身份证 or 银行卡.")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="The webhook. Default: from server.host/port/path.")
    ] = None,
    openid: Annotated[str, typer.Option(help="The simulated user.")] = "o_simulated_user",
    safe: Annotated[
        bool, typer.Option("--safe", help="Encrypt like WeChat's safe mode (needs the AES key).")
    ] = False,
    config_path: ConfigOption = None,
) -> None:
    """Send a photo like WeChat does (via the sandbox) and print the bot's answer."""
    import httpx

    from bot.tools.simulate import SimulationError, run_simulation
    from bot.wxapi.client import WechatError

    config = cli_config(config_path)
    host = "127.0.0.1" if config.server.host in ("0.0.0.0", "::") else config.server.host  # noqa: S104
    webhook = url or f"http://{host}:{config.server.port}{config.server.path}"
    try:
        data = image.read_bytes()
        answered = run_simulation(
            config, data, url=webhook, openid=openid, command=command, safe=safe, out=print
        )
    except OSError as exc:
        err_console.print(f"[red]cannot read {image}: {exc.strerror}[/red]")
        raise typer.Exit(2) from exc
    except SimulationError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    except (httpx.HTTPError, WechatError) as exc:
        err_console.print(f"[red]cannot reach {webhook} or the sandbox: {type(exc).__name__}[/red]")
        raise typer.Exit(1) from exc
    raise typer.Exit(0 if answered else 1)
