"""The delivery lanes: one claim per wake-up, a backlog spreads, one lane polls."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from riskwatch_notify.lanes import Lanes
from riskwatch_shared.testing import wait_until

NEVER = 3600.0  # a poll interval no test lives to see: only wake-ups start a claim


class Claims:
    """A stand-in for `deliver_due`: counts calls per lane, can hold them at a gate."""

    def __init__(self) -> None:
        self.by_lane: Counter[str] = Counter()
        self.in_flight = 0
        self.gated = False
        self.gates: list[asyncio.Event] = []
        self.results: list[int] = []  # what the next calls return, in order (then 0)

    @property
    def calls(self) -> int:
        return sum(self.by_lane.values())

    async def __call__(self) -> int:
        task = asyncio.current_task()
        assert task is not None
        self.by_lane[task.get_name()] += 1
        result = self.results.pop(0) if self.results else 0
        if self.gated:
            gate = asyncio.Event()
            self.gates.append(gate)
            self.in_flight += 1
            try:
                await gate.wait()
            finally:
                self.in_flight -= 1
        return result


async def until(condition: Callable[[], bool], message: str) -> None:
    async def check() -> bool:
        return condition()

    await wait_until(check, timeout=5.0, interval=0.001, message=message)


def idle(lanes: Lanes) -> int:
    return len(lanes._idle)


Start = Callable[..., Awaitable[tuple[Lanes, Claims]]]


@pytest.fixture
async def started() -> AsyncIterator[Start]:
    """Start lanes on a `Claims` and wait for the start-up claims to settle; stop at the end."""
    running: list[Lanes] = []

    async def start(
        count: int = 4, *, poll_seconds: float = NEVER, full: int = 32, settle: bool = True
    ) -> tuple[Lanes, Claims]:
        lanes, claims = Lanes("test.lanes", count, poll_seconds), Claims()
        running.append(lanes)
        lanes.start(claims, full)
        if settle:  # every lane claims once at start-up, then waits
            await until(lambda: idle(lanes) == count, "every lane idle")
            claims.by_lane.clear()
        return lanes, claims

    yield start
    for lanes in running:
        await lanes.stop()


async def test_one_wake_with_every_lane_idle_runs_one_claim(started: Start) -> None:
    lanes, claims = await started(4)

    lanes.wake()
    await until(lambda: claims.calls == 1 and idle(lanes) == 4, "one claim, then idle")

    assert claims.calls == 1  # not one per lane
    assert not lanes._rerun


async def test_a_burst_of_wakes_before_the_lane_starts_is_one_claim(started: Start) -> None:
    lanes, claims = await started(4)

    for _ in range(5):  # NOTIFYs arriving together: the woken lane's claim sees all the work
        lanes.wake()
    await until(lambda: claims.calls >= 1 and idle(lanes) == 4, "claimed, then idle")

    assert claims.calls == 1


async def test_a_wake_during_a_busy_claim_is_not_lost(started: Start) -> None:
    lanes, claims = await started(1)
    claims.gated = True
    lanes.wake()
    await until(lambda: claims.in_flight == 1, "the claim is running")

    lanes.wake()  # new work committed after that claim began: it may not have seen it
    claims.gated = False
    claims.gates[0].set()

    await until(lambda: claims.calls == 2 and idle(lanes) == 1, "a second claim, then idle")
    assert claims.calls == 2


async def test_a_wake_with_every_lane_busy_goes_to_the_first_lane_to_finish(started: Start) -> None:
    lanes, claims = await started(2)
    claims.gated = True
    claims.results = [32]  # the first claim is a full batch: the second lane joins in
    lanes.wake()
    await until(lambda: claims.in_flight == 1, "the first claim is running")
    claims.gates[0].set()
    await until(lambda: claims.in_flight == 2, "both lanes are claiming")
    second = claims.gates[2]

    lanes.wake()
    second.set()  # the other lane is still busy: this one must claim again, not wait

    await until(lambda: claims.calls == 4, "a claim after the wake-up")
    assert claims.in_flight == 2  # while the first lane's claim is still running
    for gate in claims.gates:
        gate.set()
    claims.gated = False
    await until(lambda: idle(lanes) == 2, "both lanes idle")
    assert claims.calls == 4


async def test_a_full_batch_brings_in_a_second_lane(started: Start) -> None:
    lanes, claims = await started(4, full=2)
    claims.gated = True
    claims.results = [2]  # the first claim after the wake-up is full: a backlog
    lanes.wake()
    await until(lambda: claims.in_flight == 1, "the first claim is running")
    claims.gates[0].set()

    await until(lambda: claims.in_flight == 2, "two claims at once")
    assert len(claims.by_lane) == 2  # on two lanes
    assert idle(lanes) == 2  # the backlog brought in one lane, not all of them
    claims.gated = False
    for gate in claims.gates:
        gate.set()
    await until(lambda: idle(lanes) == 4, "every lane idle")
    assert claims.calls == 3


async def test_only_one_lane_polls_on_the_timer(started: Start) -> None:
    _, claims = await started(4, poll_seconds=0.01)

    await until(lambda: claims.calls >= 10, "ten polls")

    assert list(claims.by_lane) == ["test.lanes-0"]


async def test_the_polling_lane_keeps_the_lanes_healthy(started: Start) -> None:
    lanes, _ = await started(4, poll_seconds=0.01)
    lanes.last_cycle = time.monotonic() - 3600  # as if no lane had cycled for an hour
    assert not lanes.healthy

    await until(lambda: lanes.healthy, "healthy again")  # the other three are still idle


async def test_stop_ends_every_lane_busy_or_idle(started: Start) -> None:
    lanes, claims = await started(4)
    claims.gated = True
    lanes.wake()  # one lane stuck in a claim, three waiting without a timeout
    await until(lambda: claims.in_flight == 1, "a claim is running")
    tasks = list(lanes._tasks)

    async with asyncio.timeout(5):
        await lanes.stop()

    assert all(task.done() for task in tasks)
    assert not lanes.healthy


async def test_a_single_lane_claims_on_wake_and_on_the_timer(started: Start) -> None:
    lanes, claims = await started(1, poll_seconds=0.01, full=1_000_000)  # the scheduler's shape

    await until(lambda: claims.calls >= 3, "polls")
    lanes.wake()
    await until(lambda: claims.calls >= 4, "a claim after the wake-up")
    assert lanes.healthy
