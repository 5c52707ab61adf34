"""Train a credit model from a CSV: `python -m riskwatch_scoring.train --csv FILE --target default`.

Prints the held-out report (AUC, Gini, KS, Brier, calibration) as JSON; `--out` writes the
model document; `--register` stores it in the service's database as a candidate version
(the same path as `POST /v1/models/{kind}/train`), to activate through the API.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from riskwatch_scoring.config import get_settings
from riskwatch_scoring.domain.training import (
    TrainingConfig,
    TrainingDataError,
    load_csv,
    train_credit_model,
)
from riskwatch_scoring.errors import InvalidTrainingData
from riskwatch_scoring.training_service import train_from_csv
from riskwatch_shared.db.session import create_engine, create_session_factory


def _columns(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="riskwatch_scoring.train", description=__doc__)
    parser.add_argument("--csv", type=Path, required=True, help="CSV with a header row")
    parser.add_argument("--target", default="default", help="the 0/1 outcome column")
    parser.add_argument("--bad-value", help="the target value that means bad (else 0/1)")
    parser.add_argument("--kind", choices=("credit", "churn"), default="credit")
    parser.add_argument(
        "--algorithm", choices=("linear", "binned", "woe", "lightgbm", "auto"), default=None
    )
    parser.add_argument("--encoding", choices=("linear", "binned"), default="linear")
    parser.add_argument("--categorical", help="comma-separated categorical columns")
    parser.add_argument("--features", help="comma-separated feature columns (default: all)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--repeats", type=int, help="cross-validation repeats (default 3 below 5,000 rows, else 1)"
    )
    parser.add_argument("--out", type=Path, help="write the model JSON here")
    parser.add_argument("--register", action="store_true", help="store as a candidate version")
    return parser.parse_args(argv)


def train_offline(args: argparse.Namespace) -> dict[str, Any]:
    table = load_csv(args.csv, categorical=_columns(args.categorical))
    config = TrainingConfig(
        algorithm=args.algorithm or args.encoding, folds=args.folds, repeats=args.repeats
    )
    result = train_credit_model(
        table,
        args.target,
        features=_columns(args.features),
        config=config,
        bad_value=args.bad_value,
    )
    if args.out:
        args.out.write_text(result.model.to_json())
    return result.report.to_state()


async def register(args: argparse.Namespace) -> dict[str, Any]:
    engine = create_engine(get_settings().sqlalchemy_url, pool_size=1)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            row, report = await train_from_csv(
                session,
                kind=args.kind,
                csv_text=args.csv.read_text(encoding="utf-8-sig"),
                target=args.target,
                categorical=_columns(args.categorical),
                features=_columns(args.features),
                algorithm=args.algorithm or args.encoding,
                folds=args.folds,
                bad_value=args.bad_value,
            )
            if args.out:
                args.out.write_text(json.dumps(row.model_json, sort_keys=True))
            return {**report, "model_id": str(row.id), "status": row.status}
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = asyncio.run(register(args)) if args.register else train_offline(args)
    except (TrainingDataError, InvalidTrainingData) as exc:
        sys.stderr.write(f"refused: {exc}\n")
        return 2
    json.dump(report, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
