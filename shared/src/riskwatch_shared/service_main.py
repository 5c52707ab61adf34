"""`python -m riskwatch_<service> serve|migrate`: the one entry point every deployment uses."""

from __future__ import annotations

import argparse
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
    if alembic_ini is not None:
        sub.add_parser("migrate", help="create the database if missing and upgrade it")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.command == "migrate":
        assert alembic_ini is not None
        run_migrations(alembic_ini, settings.sqlalchemy_url)
        return
    refuse_unsafe_start(settings)
    uvicorn.run(
        app_factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
    )
