"""The `riskwatch` command: `run` (the whole system), `simulate` (a synthetic bank), the
administration verbs (`users`, `api-keys`, `starter`, `openapi`; `riskwatch_simulator.admin`)
and `dead-letters`."""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from riskwatch_shared import cli as devstack
from riskwatch_shared.messaging import deadletters
from riskwatch_simulator import admin

if TYPE_CHECKING:
    from riskwatch_simulator.config import SimulationConfig


def _simulate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = sub.add_parser(
        "simulate", help="generate a synthetic bank, push it through the gateway, report"
    )
    simulate.add_argument(
        "--gateway",
        default=f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8000')}",
        help="the gateway's URL (default: 127.0.0.1 on $GATEWAY_PORT, else 8000)",
    )
    simulate.add_argument("--customers", type=int, default=200)
    simulate.add_argument("--days", type=int, default=365, help="days of history")
    simulate.add_argument("--seed", type=int, default=1)
    simulate.add_argument("--rate", type=float, default=2_000.0, help="transactions/s; 0 = max")
    simulate.add_argument("--batch-size", type=int, default=500)
    simulate.add_argument("--concurrency", type=int, default=2, help="batches in flight")
    simulate.add_argument(
        "--window-hours",
        type=float,
        default=24.0,
        help="hours of the bank's time sent between waits for the payments in flight",
    )
    simulate.add_argument("--live-seconds", type=float, default=0.0)
    simulate.add_argument("--settle-seconds", type=float, default=20.0)
    simulate.add_argument("--now", type=datetime.fromisoformat, default=None)
    simulate.add_argument(
        "--shift-days",
        type=int,
        default=0,
        help="replay the bank of --now this many days later, under new identities",
    )
    simulate.add_argument(
        "--hard",
        action="store_true",
        help="the harder bank: realistic prevalence, subtle forms, everyday noise",
    )
    simulate.add_argument("--attempts", type=int, default=8, help="tries per request")
    simulate.add_argument("--no-rules", action="store_true", help="leave the rules as they are")
    simulate.add_argument("--no-labels", action="store_true", help="do not post outcomes")
    simulate.add_argument(
        "--admin-email", default=os.environ.get("RISKWATCH_ADMIN_EMAIL", "admin@riskwatch.local")
    )
    simulate.add_argument(
        "--admin-password",
        default=os.environ.get("RISKWATCH_ADMIN_PASSWORD", ""),
        help="defaults to $RISKWATCH_ADMIN_PASSWORD",
    )


def _generated_password() -> str:
    """The admin password the gateway generated on the first `riskwatch run`, if any."""
    data_dir = Path(os.environ.get("RISKWATCH_DATA_DIR", admin.DEFAULT_DATA_DIR))
    generated = admin.generated_admin_password(data_dir)
    return generated[1] if generated else ""


def simulation_config(args: argparse.Namespace) -> SimulationConfig:
    from riskwatch_simulator.config import SimulationConfig

    return SimulationConfig(
        gateway=args.gateway,
        customers=args.customers,
        days=args.days,
        seed=args.seed,
        rate=args.rate or None,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        window_hours=args.window_hours,
        admin_email=args.admin_email,
        admin_password=args.admin_password or _generated_password(),
        setup_rules=not args.no_rules,
        post_labels=not args.no_labels,
        live_seconds=args.live_seconds,
        settle_seconds=args.settle_seconds,
        now=args.now,
        shift_days=args.shift_days,
        attempts=args.attempts,
        hard=args.hard,
    )


def simulate(args: argparse.Namespace) -> int:
    from riskwatch_simulator.client import GatewayError
    from riskwatch_simulator.simulate import simulate as run_simulation

    try:
        report = asyncio.run(run_simulation(simulation_config(args)))
    except GatewayError as exc:
        print(f"riskwatch simulate: {exc}", file=sys.stderr)
        return 1
    print(report.render())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="riskwatch", description="RiskWatch command line")
    parser.add_argument(
        "--version",
        action="version",
        version=f"riskwatch {importlib.metadata.version('riskwatch-simulator')}",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="run the whole system (embedded servers by default)")
    default_data_dir = os.environ.get("RISKWATCH_DATA_DIR", ".riskwatch")
    run_parser.add_argument("--data-dir", default=default_data_dir)
    run_parser.add_argument(
        "--no-starter",
        action="store_true",
        help=f"do not load the starter configuration on a fresh install (or {admin.STARTER_ENV}=0)",
    )
    _simulate_parser(sub)
    admin.add_cli(sub)
    deadletters.add_cli(sub)
    args = parser.parse_args(argv)
    # `kill` (SIGTERM) stops the stack as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if args.command == "run":
        if admin.starter_enabled(args.no_starter):
            admin.start_starter_thread(Path(args.data_dir).resolve(), admin.default_gateway())
        return devstack.run(args)
    if args.command in admin.ADMIN_COMMANDS:
        return admin.run_cli(args)
    if args.command == "simulate":
        return simulate(args)
    if args.command == "dead-letters":
        return deadletters.run_cli(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
