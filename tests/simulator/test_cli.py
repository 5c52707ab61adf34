"""`riskwatch simulate`'s command line."""

from __future__ import annotations

import argparse

import pytest

from riskwatch_simulator.cli import _simulate_parser, main, simulation_config


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    _simulate_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["simulate", *argv])


def test_simulate_options_become_a_config() -> None:
    args = parse(
        "--gateway", "http://gw:8000", "--customers", "50", "--days", "90", "--seed", "9",
        "--rate", "0", "--admin-password", "pw", "--no-labels",
        "--now", "2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    config = simulation_config(args)
    assert (config.gateway, config.customers, config.days, config.seed) == (
        "http://gw:8000", 50, 90, 9,
    )  # fmt: skip
    assert config.rate is None
    assert config.post_labels is False
    assert config.setup_rules is True
    assert config.now is not None
    assert config.now.isoformat() == "2026-01-01T00:00:00+00:00"


def test_simulate_finds_the_gateway_on_gateway_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "18000")
    assert simulation_config(parse()).gateway == "http://127.0.0.1:18000"
    monkeypatch.delenv("GATEWAY_PORT")
    assert simulation_config(parse()).gateway == "http://127.0.0.1:8000"


def test_simulate_defaults() -> None:
    config = simulation_config(parse())
    assert config.rate == 2_000.0
    assert config.customers == 200
    assert config.days == 365
    assert config.attempts == 8


def test_an_unreachable_gateway_is_a_clean_failure(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--gateway", "http://127.0.0.1:9", "--customers", "6", "--days",
                 "30", "--admin-password", "x", "--attempts", "2"])  # fmt: skip
    assert code == 1
    assert "riskwatch simulate: POST /v1/auth/token" in capsys.readouterr().err
