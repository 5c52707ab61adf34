"""The simulated bank through the whole system: `riskwatch simulate` against a fresh system.

    .venv/bin/python bench/simulated_bank.py [--customers 300] [--days 180] [--seed 1]
        [--now 2026-06-01T00:00:00+00:00] [--shift-days 0]

Starts everything with the launcher `riskwatch run` uses (embedded PostgreSQL and NATS in a
fresh folder, no rule active, so the simulator enables every shipped template), runs the
simulation and prints its report: patterns caught, how many days before the outcome churn
was warned, false alerts by rule and per 1,000 customers per day in the go-live month and
after (the figures in docs/models.md). The report is taken once every JetStream consumer has
processed everything (nothing pending, nothing unacknowledged), not after a fixed wait: on a
loaded machine scoring can be minutes behind the intake.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime

from riskwatch_simulator.config import SimulationConfig
from riskwatch_simulator.harness import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    consumers_drained,
    running_system,
)
from riskwatch_simulator.simulate import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--now", type=datetime.fromisoformat, default=None)
    parser.add_argument("--shift-days", type=int, default=0)
    parser.add_argument(
        "--hard",
        action="store_true",
        help="the harder bank: realistic prevalence, subtle forms, everyday noise",
    )
    parser.add_argument("--window-hours", type=float, default=24.0)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=4, help="batches in flight")
    parser.add_argument("--settle-seconds", type=float, default=10.0)
    args = parser.parse_args()
    with running_system() as system:
        config = SimulationConfig(
            gateway=system.gateway,
            customers=args.customers,
            days=args.days,
            seed=args.seed,
            rate=None,
            batch_size=args.batch_size,
            concurrency=args.concurrency,
            admin_email=ADMIN_EMAIL,
            admin_password=ADMIN_PASSWORD,
            settle_seconds=args.settle_seconds,
            now=args.now,
            shift_days=args.shift_days,
            hard=args.hard,
            window_hours=args.window_hours,
        )
        nats_url = system.stack.env["NATS_URL"]
        report = asyncio.run(
            simulate(config, settled=lambda: consumers_drained(nats_url, timeout=5_400.0))
        )
    print(report.render())


if __name__ == "__main__":
    main()
