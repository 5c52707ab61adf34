"""The `riskwatch` command: `run` (the whole system) and `simulate` (a synthetic bank)."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from riskwatch_shared import cli as devstack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="riskwatch", description="RiskWatch command line")
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="run the whole system (embedded servers by default)")
    default_data_dir = os.environ.get("RISKWATCH_DATA_DIR", ".riskwatch")
    run_parser.add_argument("--data-dir", default=default_data_dir)
    args = parser.parse_args(argv)
    # `kill` (SIGTERM) stops the stack as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if args.command == "run":
        return devstack.run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
