"""`python -m riskwatch_<service> serve|migrate|healthcheck`: the one entry point every
deployment uses."""

from __future__ import annotations

import argparse
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import uvicorn

from riskwatch_shared.db.migrate import run_migrations
from riskwatch_shared.settings import ServiceSettings, refuse_unsafe_start


def service_main(
    *,
    app_factory: str,
    get_settings: Callable[[], ServiceSettings],
    alembic_ini: Path | None,
    argv: list[str] | None = None,
) -> None:
    parser = argparse.ArgumentParser(prog=app_factory.split(".")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service and its consumers")
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--host", help="the interface to listen on (default: the settings')")
    if alembic_ini is not None:
        sub.add_parser("migrate", help="create the database if missing and upgrade it")
    sub.add_parser("healthcheck", help="exit 0 when this application's /healthz answers 200")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "migrate":
        assert alembic_ini is not None
        run_migrations(alembic_ini, settings.sqlalchemy_url)
        return
    if args.command == "healthcheck":
        sys.exit(0 if is_alive(settings.port) else 1)
    refuse_unsafe_start(settings)
    uvicorn.run(
        app_factory,
        factory=True,
        host=args.host or settings.host,
        port=settings.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )


def is_alive(port: int, *, timeout: float = 4.0) -> bool:
    """The container's health check: the application on this machine answers /healthz."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False
