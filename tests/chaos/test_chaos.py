"""The short chaos run (`make chaos` runs the long one three times): the whole system as
processes, supervised like `riskwatch run`; a process SIGKILLed, nats-server killed and
restarted, PostgreSQL stopped in immediate mode, all during the load. Everything arrives
exactly once, nothing is dead-lettered or left in an outbox, no 500, each fault recovered
within 10 s (20 s in this short run, see quick_config)."""

from __future__ import annotations

import pytest

from riskwatch_simulator.chaos import chaos_run, quick_config
from riskwatch_simulator.harness import running_system

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(240)
async def test_faults_during_the_load_lose_and_duplicate_nothing() -> None:
    config = quick_config()
    with running_system(extra_env={"NOTIFY_DELIVERY_POLL_SECONDS": "0.2"}) as system:
        report = await chaos_run(system, config)
    assert report.problems() == [], report.markdown("chaos (quick)")
    assert [result.fault.kind for result in report.faults] == [f.kind for f in config.faults]
    assert report.restarts == {"scoring": 1}  # by the launcher's supervision, not by hand
