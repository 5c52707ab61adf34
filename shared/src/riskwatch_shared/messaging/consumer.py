"""The consumer runner: durable pull consumers with effectively-once handling.

Per fetched batch (a fetch its first messages do not fill lingers briefly for more, see
`ConsumerSpec.batch_linger`): parse (what cannot parse is dead-lettered and terminated), claim
every event in the inbox table and run the handlers in ONE transaction, commit, then ack. If the
batch fails, each message is retried alone in its own transaction so one bad event cannot hold
back the rest.

Transient is not poison (`riskwatch_shared.messaging.faults`): a batch that fails because
PostgreSQL or NATS is unavailable (connection refused or reset, serialisation failure, lock or
statement timeout...) is HELD, not nak'd: the runner pauses fetching, waits with a capped
backoff until the database answers and NATS is connected, and runs the same batch again (its
messages kept in progress meanwhile). No redelivery, so an outage of any length costs no
delivery budget and dead-letters nothing. Only poison (a payload that cannot parse, a handler
that fails on a healthy database) is counted: nak'd with exponential backoff and
dead-lettered, with its reason in a header, after `max_deliver` poison failures. The count is
the runner's own (JetStream's `MaxDeliver` is unlimited on the durable): deliveries that came
back because a process died or NATS restarted are not the event's fault.
Replicas bind the same durable and share its messages (competing consumers); with
`serialize_by` a batch locks its events' keys first, so two replicas never handle one key at once.

With `pipeline_depth` > 1 a process keeps that many batches in flight: while one waits on
PostgreSQL (its last statements, its commit) the next is fetched, claimed and handled. A batch's
events whose `pipeline_by` key an earlier, unfinished batch holds are handled only after that
batch has finished, so each key's events still go through the handler one batch after another.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import inspect
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_shared.aio import wait_event
from riskwatch_shared.events.base import EVENT_TYPES, Event, parse_event
from riskwatch_shared.events.streams import dead_letter_subject
from riskwatch_shared.logging import get_logger, trace_id_var
from riskwatch_shared.messaging.acks import ack_all
from riskwatch_shared.messaging.bus import TRACEPARENT, MessageBus
from riskwatch_shared.messaging.faults import describe, is_transient
from riskwatch_shared.messaging.pull import PullFetcher
from riskwatch_shared.metrics import (
    CONSUMER_DEAD_LETTERED,
    CONSUMER_DUPLICATES,
    CONSUMER_FAILED,
    CONSUMER_HANDLED,
    CONSUMER_LAG,
    CONSUMER_PAUSED,
    CONSUMER_TRANSIENT,
    CONSUMER_UP,
    DEAD_LETTERS,
)
from riskwatch_shared.settings import DEFAULT_BATCH_LINGER
from riskwatch_shared.tracing import (
    consumer_spans,
    current_span_traceparent,
    parse_traceparent,
    traceparent_for,
    traceparent_var,
    tracing_enabled,
)

log = get_logger(__name__)

EventT = TypeVar("EventT", bound=Event)
# A handler gets its events already decoded into their classes, and the batch's session.
EventHandler = Callable[[EventT, AsyncSession], Awaitable[None]]
BatchHandler = Callable[[Sequence[EventT], AsyncSession], Awaitable[None]]


class PerEvent:
    """The per-event form: each claimed event goes to the handler of its class,
    `PerEvent().on(AlertRaised, take_in_alert).on(AlertUpdated, record_update)`; mypy checks
    that each handler takes the class it is registered for."""

    def __init__(self) -> None:
        self.by_class: dict[type[Event], EventHandler[Any]] = {}

    def on(self, event_class: type[EventT], handler: EventHandler[EventT]) -> PerEvent:
        if event_class in self.by_class:
            raise ValueError(f"{event_class.__name__} has two handlers")
        self.by_class[event_class] = handler
        return self

    @property
    def event_classes(self) -> frozenset[type[Event]]:
        return frozenset(self.by_class)


class Batched(Generic[EventT]):
    """The batch form: a batch's claimed events of these classes go to ONE call, in stream
    order, so a consumer can load and write its state once per batch. The handler takes a
    sequence of the classes' nearest common base (`Sequence[CustomerEvent]`), or of their union
    when the type is written out: `Batched[AlertRaised | AlertUpdated](...)`."""

    def __init__(self, event_classes: Sequence[type[EventT]], handler: BatchHandler[EventT]):
        if not event_classes:
            raise ValueError("a batch handler needs the event classes it handles")
        self.event_classes: frozenset[type[Event]] = frozenset(event_classes)
        self.handler = handler


Handling = PerEvent | Batched[Any]

# One row back, the claimed ids as one array (decoded by asyncpg in C), not a row per event.
_CLAIM = text(
    "WITH claimed AS (INSERT INTO inbox (consumer, event_id) "
    "SELECT :consumer, unnest(CAST(:ids AS uuid[])) ON CONFLICT DO NOTHING RETURNING event_id) "
    "SELECT array_agg(event_id) FROM claimed"
)
# Sorted keys, locked in array order: two replicas never wait on each other in a cycle.
_LOCK_KEYS = text(
    "SELECT count(pg_advisory_xact_lock(key)) FROM unnest(CAST(:keys AS bigint[])) AS key"
)


# Capped backoff while waiting for a dependency: a recovered one is noticed within this.
RECOVERY_PROBE_CAP = 1.0
# A "transient" failure that repeats this many times in a row while PostgreSQL and NATS both
# answer (a statement timeout the event itself causes...) is not transient: it counts as poison.
TRANSIENT_RETRIES_WHILE_UP = 20
# How many events' poison counts a runner remembers (the oldest are forgotten first).
_POISON_MEMORY = 100_000
# Liveness: a loop that has not cycled for this long (and is not waiting on a dependency) is
# stuck, and the process should be restarted.
LIVENESS_BOUND = 60.0

DEAD_LETTER_REASON = "RiskWatch-Dead-Letter-Reason"
DEAD_LETTER_CONSUMER = "RiskWatch-Dead-Letter-Consumer"
# On a re-driven dead letter (see `riskwatch_shared.messaging.deadletters`): only this durable
# handles it.
REDRIVE_FOR = "RiskWatch-Redrive-For"


def _traceparent(msg: Msg) -> str | None:
    return msg.headers.get(TRACEPARENT) if msg.headers else None


@contextlib.contextmanager
def _message_context(event: Event, msg: Msg) -> Iterator[None]:
    """The event's trace id and the message's trace context for the logs and the events
    published while it is handled. Tracing off, the message's `traceparent` is passed on as it
    came (no span of this hop exists to be the parent): two context variables, no parsing."""
    trace_id = event.trace_id
    header = _traceparent(msg)
    if header is not None and trace_id is None and (incoming := parse_traceparent(header)):
        trace_id = incoming.trace_id
    span = current_span_traceparent()  # the consumer span, when tracing is on
    if span is not None and span.trace_id == trace_id:
        traceparent: str | None = span.header()
    elif header is not None and trace_id is not None and header[3:35] == trace_id:
        traceparent = header
    else:
        traceparent = traceparent_for(trace_id)
    trace_token = trace_id_var.set(trace_id)
    parent_token = traceparent_var.set(traceparent)
    try:
        yield
    finally:
        traceparent_var.reset(parent_token)
        trace_id_var.reset(trace_token)


def _check_linger(linger: float, ack_wait: float) -> None:
    # Lingering messages are delivered but not yet in progress: keep well inside ack_wait.
    if not 0 <= linger < ack_wait / 3:
        raise ValueError(f"batch linger {linger}s must be >= 0 and < ack_wait / 3")


def customer_key(event: Event) -> str | None:
    """The default serialisation key: the customer an event is about, if any."""
    customer_id = getattr(event, "customer_id", None)
    return None if customer_id is None else str(customer_id)


def lock_keys(events: list[Event], key_of: Callable[[Event], str | None]) -> list[int]:
    """Signed 64-bit advisory-lock keys for the events' serialisation keys, sorted."""
    keys = {key for key in map(key_of, events) if key is not None}
    digests = (hashlib.blake2b(key.encode(), digest_size=8).digest() for key in keys)
    return sorted(int.from_bytes(digest, "big", signed=True) for digest in digests)


@dataclass
class ConsumerSpec:
    """What a service consumes: a durable on one stream, and how its events are handled:
    `PerEvent().on(EventClass, handler)...` or `Batched((EventClass, ...), batch_handler)`.
    Events of other classes on the subjects are acked without being handled.

    `serialize_by` (for example `customer_key`) gives each event's serialisation key: the
    batch's transaction first takes a transaction-scoped advisory lock per key, so replicas
    sharing the durable never work on one key at the same time. For consumers that keep
    per-key state and do not lock it themselves (scoring locks its state rows FOR UPDATE,
    alerting its own keys); each key takes a slot in PostgreSQL's shared lock table.

    `batch_linger` (seconds): when a fetch's first messages do not fill `batch_size`, wait up
    to this long after the first of them arrived for more, so a consumer under a steady load
    handles fuller batches (its per-batch costs shared by more events) for at most this much
    more latency. A full first delivery is handled at once, an idle stream never lingers, 0
    turns it off. None: the runner's default (the service's `consumer_batch_linger` setting
    where the runtime passes it, else `DEFAULT_BATCH_LINGER`).
    """

    durable: str
    stream: str
    subjects: list[str]
    handling: Handling
    batch_size: int = 200
    fetch_timeout: float = 1.0
    ack_wait: float = 30.0
    max_deliver: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_ack_pending: int = 20_000
    serialize_by: Callable[[Event], str | None] | None = None
    batch_linger: float | None = None
    # Batches one process handles at once (see the module docstring); > 1 needs `pipeline_by`,
    # the key whose events must not be handled by two in-flight batches at the same time.
    pipeline_depth: int = 1
    pipeline_by: Callable[[Event], str | None] | None = None
    # Liveness (see `ConsumerRunner.live`); None: max(LIVENESS_BOUND, 2 * ack_wait).
    liveness_bound: float | None = None

    def __post_init__(self) -> None:
        if self.batch_linger is not None:
            _check_linger(self.batch_linger, self.ack_wait)
        if self.pipeline_depth < 1:
            raise ValueError("pipeline_depth must be at least 1")
        if self.pipeline_depth > 1 and self.pipeline_by is None:
            raise ValueError("a pipelined consumer needs pipeline_by")


@dataclass
class _Work:
    msg: Msg
    event: Event


@dataclass
class _InFlight:
    """A pipelined batch: the keys it holds until `done`, and the earlier batches it follows."""

    keys: frozenset[str]
    done: asyncio.Event
    # Keys an earlier unfinished batch holds: their events wait for `earlier` to finish.
    deferred: frozenset[str]
    earlier: tuple[asyncio.Event, ...]

    async def wait_for_earlier(self) -> None:
        for done in self.earlier:
            await done.wait()


@dataclass
class ConsumerStats:
    handled: int = 0
    duplicates: int = 0
    failed: int = 0
    dead_lettered: int = 0
    transient: int = 0
    pauses: int = 0
    failed_probes: int = 0
    batches: int = 0
    resubscribes: int = 0
    last_error: str | None = None


class ConsumerRunner:
    def __init__(
        self,
        spec: ConsumerSpec,
        *,
        bus: MessageBus,
        session_factory: async_sessionmaker[AsyncSession],
        default_batch_linger: float = DEFAULT_BATCH_LINGER,
    ) -> None:
        self.spec = spec
        self.batch_linger = default_batch_linger if spec.batch_linger is None else spec.batch_linger
        _check_linger(self.batch_linger, spec.ack_wait)
        self.bus = bus
        self.session_factory = session_factory
        self.stats = ConsumerStats()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_cycle = time.monotonic()
        self._subscribed = False
        self._in_flight: list[_InFlight] = []
        self._batch_tasks: set[asyncio.Task[None]] = set()
        self._batch_msgs: dict[asyncio.Task[None], list[Msg]] = {}
        # Poison failures per stream sequence (the runner's own delivery budget).
        self._poison: OrderedDict[int, int] = OrderedDict()
        # Set while fetching may go on; cleared while some batch waits for a dependency.
        self._resume = asyncio.Event()
        self._resume.set()
        self._waiting = 0

    @property
    def name(self) -> str:
        return self.spec.durable

    @property
    def healthy(self) -> bool:
        alive = self._task is not None and not self._task.done()
        fresh = time.monotonic() - self._last_cycle < self.spec.fetch_timeout * 5 + 10
        return alive and self._subscribed and fresh and not self.paused

    @property
    def paused(self) -> bool:
        """Waiting for PostgreSQL or NATS to answer again."""
        return not self._resume.is_set()

    @property
    def live(self) -> bool:
        """Liveness: the loop runs and has cycled (or probed a dependency) recently.

        A batch stuck forever (waiting on something that never comes) stops the cycling; k8s
        and `riskwatch run` then restart the process.
        """
        if self._task is None:
            return True  # not started (yet): nothing to be stuck
        if self._task.done():
            return self._stopping
        bound = self.spec.liveness_bound or max(LIVENESS_BOUND, 2 * self.spec.ack_wait)
        return time.monotonic() - self._last_cycle < bound

    def consumer_config(self) -> ConsumerConfig:
        subjects = self.spec.subjects
        return ConsumerConfig(
            durable_name=self.spec.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.spec.ack_wait,
            # Unlimited: the runner counts poison failures itself (see the module docstring).
            max_deliver=-1,
            max_ack_pending=self.spec.max_ack_pending,
            filter_subject=subjects[0] if len(subjects) == 1 else None,
            filter_subjects=subjects if len(subjects) > 1 else None,
        )

    async def ensure_consumer(self) -> None:
        js = self.bus.js
        config = self.consumer_config()
        try:
            await js.consumer_info(self.spec.stream, self.spec.durable)
        except NotFoundError:
            await js.add_consumer(self.spec.stream, config)
            return
        await js.add_consumer(self.spec.stream, config)  # create-or-update on the server

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._supervise(), name=f"consumer-{self.name}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        CONSUMER_UP.labels(self.name).set(0)

    async def _supervise(self) -> None:
        """Keep a fetch loop alive; after any failure (a NATS restart...) subscribe again."""
        failures = 0
        while not self._stopping:
            started = time.monotonic()
            try:
                await self._fetch_loop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A loop that ran a good while before failing starts the backoff afresh.
                failures = 1 if time.monotonic() - started > 60 else failures + 1
                self._subscribed = False
                CONSUMER_UP.labels(self.name).set(0)
                self.stats.last_error = repr(exc)
                self.stats.resubscribes += 1
                log.warning("consumer.loop_failed", consumer=self.name, error=repr(exc))
                self._last_cycle = time.monotonic()  # retrying is not being stuck
                await asyncio.sleep(min(2.0, 0.2 * 2 ** min(failures, 5)))

    async def _fetch_loop(self) -> None:
        await self.ensure_consumer()
        if self.bus.nc is None:
            raise RuntimeError("message bus not connected")
        fetcher = PullFetcher(self.bus.nc, stream=self.spec.stream, durable=self.spec.durable)
        await fetcher.start()
        self._subscribed = True
        CONSUMER_UP.labels(self.name).set(1)
        reconnects_seen = self.bus.reconnects
        idle_fetches = 0
        try:
            while not self._stopping:
                self._last_cycle = time.monotonic()
                if self.bus.reconnects != reconnects_seen:
                    # nats.py pull subscriptions can stall after a reconnect: bind afresh.
                    raise ConnectionError("NATS reconnected; re-binding the pull subscription")
                if not self._resume.is_set():
                    # A batch waits for a dependency: fetch nothing more until it answers.
                    await wait_event(self._resume, self.spec.fetch_timeout)
                    continue
                try:
                    msgs = await fetcher.fetch(
                        self.spec.batch_size, self.spec.fetch_timeout, linger=self.batch_linger
                    )
                except TimeoutError:
                    idle_fetches += 1
                    if idle_fetches % 10 == 0:
                        await self._report_lag()
                    continue
                idle_fetches = 0
                if self.spec.pipeline_depth == 1:
                    await self.process_batch(msgs)
                else:
                    await self._start_pipelined(msgs)
        finally:
            self._subscribed = False
            await self._stop_batches()
            await fetcher.stop()

    async def _start_pipelined(self, msgs: list[Msg]) -> None:
        """Hand the batch to a task once fewer than `pipeline_depth` are in flight.

        Runs in fetch order, so each batch sees every earlier one in `_in_flight`.
        """
        while len(self._batch_tasks) >= self.spec.pipeline_depth:
            await asyncio.wait(self._batch_tasks, return_when=asyncio.FIRST_COMPLETED)
        work = await self._parse(msgs)
        if not work:
            return
        key_of = self.spec.pipeline_by
        assert key_of is not None
        keys = frozenset(key for key in (key_of(item.event) for item in work) if key is not None)
        held = set().union(*(earlier.keys for earlier in self._in_flight))
        batch = _InFlight(
            keys=keys,
            done=asyncio.Event(),
            deferred=frozenset(keys & held),
            earlier=tuple(earlier.done for earlier in self._in_flight),
        )
        self._in_flight.append(batch)
        task = asyncio.create_task(self._run_pipelined(work, batch))
        self._batch_tasks.add(task)
        self._batch_msgs[task] = [item.msg for item in work]
        # A done callback, not the coroutine's `finally`: a task cancelled before it first ran
        # never runs its body, and a batch left in `_in_flight` with `done` unset would hold
        # every later batch of its keys forever.
        task.add_done_callback(functools.partial(self._batch_finished, batch=batch))

    def _batch_finished(self, task: asyncio.Task[None], batch: _InFlight) -> None:
        self._batch_tasks.discard(task)
        self._batch_msgs.pop(task, None)
        if batch in self._in_flight:
            self._in_flight.remove(batch)
        batch.done.set()

    async def _run_pipelined(self, work: list[_Work], batch: _InFlight) -> None:
        try:
            await self._handle_work(work, batch)
        except Exception as exc:  # past the retries (NATS gone while naking...): log, go on
            log.error("consumer.pipelined_batch_failed", consumer=self.name, error=repr(exc))

    async def _stop_batches(self) -> None:
        tasks = list(self._batch_tasks)
        never_ran = [msg for task in tasks if not _started(task) for msg in self._batch_msgs[task]]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # A batch cancelled before it ran could not hand its messages back itself.
        await self._hand_back(never_ran)

    async def _report_lag(self) -> None:
        info = await self.bus.js.consumer_info(self.spec.stream, self.spec.durable)
        CONSUMER_LAG.labels(self.name).set(info.num_pending or 0)

    async def process_batch(self, msgs: list[Msg]) -> None:
        work = await self._parse(msgs)
        if work:
            await self._handle_work(work, None)

    async def _parse(self, msgs: list[Msg]) -> list[_Work]:
        """The batch's events to handle; the unparseable are dead-lettered, the unwanted acked."""
        self.stats.batches += 1
        handled = self.spec.handling.event_classes
        work: list[_Work] = []
        skipped: list[Msg] = []  # acked together below
        for msg in msgs:
            target = msg.headers.get(REDRIVE_FOR) if msg.headers else None
            if target is not None and target != self.name:
                skipped.append(msg)  # a re-drive of another consumer's dead letter
                continue
            event_class = EVENT_TYPES.get(msg.subject)
            if event_class is not None and event_class not in handled:
                skipped.append(msg)  # not an event this consumer handles: not even decoded
                continue
            try:
                event = parse_event(msg.subject, msg.data)
            except ValueError as exc:
                await self._dead_letter(msg, reason=f"unparseable: {exc}"[:500])
                continue
            work.append(_Work(msg, event))
        await ack_all(skipped)
        return work

    async def _handle_work(self, work: list[_Work], batch: _InFlight | None) -> None:
        heartbeat = asyncio.create_task(self._keep_in_progress([w.msg for w in work]))
        try:
            attempt = while_up = 0
            while True:
                try:
                    await self._handle_together(work, batch)
                    break
                except Exception as exc:
                    # Held, not nak'd: run again once the dependency answers.
                    if is_transient(exc) and while_up < TRANSIENT_RETRIES_WHILE_UP:
                        attempt += 1
                        waited = await self._wait_for_dependencies(exc, attempt)
                        while_up = 0 if waited else while_up + 1
                        continue
                    log.info(
                        "consumer.batch_failed_retrying_singly",
                        consumer=self.name,
                        error=repr(exc),
                    )
                    if batch is not None:  # one at a time, in order, behind the earlier batches
                        await batch.wait_for_earlier()
                    for item in work:
                        await self._handle_alone(item)
                    break
        except asyncio.CancelledError:
            # Stopping mid-batch (a deploy): its transaction rolls back; hand the messages back
            # rather than leave them for ack_wait (JetStream ignores a nak of one already acked).
            await self._hand_back([w.msg for w in work])
            raise
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _hand_back(self, msgs: list[Msg]) -> None:
        # Redelivered once this process's open pull request (at most fetch_timeout) has
        # expired: delivered at once, they could go back to the request nobody reads now.
        delay = self.spec.fetch_timeout + 0.25
        for msg in msgs:
            with contextlib.suppress(Exception):
                await msg.nak(delay=delay)

    async def _keep_in_progress(self, msgs: list[Msg]) -> None:
        """Tell JetStream slow work is still going so it does not redeliver mid-handling."""
        while True:
            await asyncio.sleep(self.spec.ack_wait / 3)
            for msg in msgs:
                with contextlib.suppress(Exception):
                    await msg.in_progress()

    async def _claim_and_handle(
        self, session: AsyncSession, work: list[_Work], batch: _InFlight | None = None
    ) -> int:
        if self.spec.serialize_by is not None:
            keys = lock_keys([w.event for w in work], self.spec.serialize_by)
            if keys:
                await session.execute(_LOCK_KEYS, {"keys": keys})
        ids = [w.event.id for w in work]
        claimed = set(await session.scalar(_CLAIM, {"consumer": self.name, "ids": ids}) or ())
        todo: list[_Work] = []
        for item in work:
            if item.event.id in claimed:
                claimed.discard(item.event.id)  # a duplicate inside one batch runs once
                todo.append(item)
        if batch is None or not batch.earlier:
            await self._run_handlers(session, todo)
            return len(todo)
        # Events of keys no earlier batch holds go now; the rest once those batches are done.
        key_of = self.spec.pipeline_by
        assert key_of is not None
        now: list[_Work] = []
        later: list[_Work] = []
        for item in todo:
            key = key_of(item.event)
            (now if key is not None and key not in batch.deferred else later).append(item)
        await self._run_handlers(session, now)
        if later:
            await batch.wait_for_earlier()
            await self._run_handlers(session, later)
        return len(todo)

    async def _run_handlers(self, session: AsyncSession, todo: list[_Work]) -> None:
        """The handlers, each event in its message's trace context: the trace id in the logs
        and on the events it publishes, the `traceparent` with their outbox rows (a batch
        handler's events carry their trigger's trace id). Spans only when tracing is on."""
        if not todo:
            return
        if not tracing_enabled():
            await self._call_handlers(session, todo)
            return
        with consumer_spans(self.name, [_traceparent(item.msg) for item in todo]):
            await self._call_handlers(session, todo)

    async def _call_handlers(self, session: AsyncSession, todo: list[_Work]) -> None:
        handling = self.spec.handling
        if isinstance(handling, Batched):
            if len(todo) > 1:
                await handling.handler([item.event for item in todo], session)
                return
            item = todo[0]
            with _message_context(item.event, item.msg):
                await handling.handler([item.event], session)
            return
        for item in todo:
            with _message_context(item.event, item.msg):
                await handling.by_class[type(item.event)](item.event, session)

    async def _handle_together(self, work: list[_Work], batch: _InFlight | None = None) -> None:
        async with self.session_factory() as session, session.begin():
            handled = await self._claim_and_handle(session, work, batch)
        await ack_all([item.msg for item in work])
        self._count(handled, len(work) - handled)

    async def _handle_alone(self, item: _Work) -> None:
        attempt = while_up = 0
        while True:
            try:
                async with self.session_factory() as session, session.begin():
                    handled = await self._claim_and_handle(session, [item])
                break
            except Exception as exc:
                if is_transient(exc) and while_up < TRANSIENT_RETRIES_WHILE_UP:
                    attempt += 1
                    waited = await self._wait_for_dependencies(exc, attempt)
                    while_up = 0 if waited else while_up + 1
                    continue
                await self._failed(item, exc)
                return
        await item.msg.ack()
        self._poison.pop(item.msg.metadata.sequence.stream, None)
        self._count(handled, 1 - handled)

    async def _wait_for_dependencies(self, exc: Exception, attempt: int) -> bool:
        """Pause fetching until PostgreSQL answers and NATS is connected, with a capped
        backoff; a dependency that comes back is noticed within `RECOVERY_PROBE_CAP`.

        True if it had to wait (a dependency was down), False if both answered at once.
        """
        self.stats.transient += 1
        self.stats.last_error = repr(exc)
        CONSUMER_TRANSIENT.labels(self.name).inc()
        if self._waiting == 0:
            self.stats.pauses += 1
            log.warning("consumer.paused", consumer=self.name, error=describe(exc))
        self._waiting += 1
        self._resume.clear()
        CONSUMER_PAUSED.labels(self.name).set(1)
        try:
            delay = min(RECOVERY_PROBE_CAP, 0.05 * 2 ** min(attempt, 10))
            waited = False
            while True:
                self._last_cycle = time.monotonic()  # waiting on a dependency is not stuck
                await asyncio.sleep(delay)
                if await self._dependencies_answer():
                    return waited
                waited = True
                self.stats.failed_probes += 1
                delay = min(RECOVERY_PROBE_CAP, delay * 2)
        finally:
            self._waiting -= 1
            if self._waiting == 0:
                self._resume.set()
                CONSUMER_PAUSED.labels(self.name).set(0)
                log.info("consumer.resumed", consumer=self.name)

    async def _dependencies_answer(self) -> bool:
        if not self.bus.connected:
            return False
        try:
            async with asyncio.timeout(5), self.session_factory() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def _count(self, handled: int, duplicates: int) -> None:
        self.stats.handled += handled
        self.stats.duplicates += duplicates
        CONSUMER_HANDLED.labels(self.name).inc(handled)
        if duplicates:
            CONSUMER_DUPLICATES.labels(self.name).inc(duplicates)

    async def _failed(self, item: _Work, exc: Exception) -> None:
        self.stats.failed += 1
        self.stats.last_error = repr(exc)
        CONSUMER_FAILED.labels(self.name).inc()
        sequence = item.msg.metadata.sequence.stream
        failures = self._poison.pop(sequence, 0) + 1
        self._poison[sequence] = failures
        while len(self._poison) > _POISON_MEMORY:
            self._poison.popitem(last=False)
        log.warning(
            "consumer.handler_failed",
            consumer=self.name,
            event_id=str(item.event.id),
            event_type=item.event.type,
            poison_failures=failures,
            delivered=item.msg.metadata.num_delivered,
            error=repr(exc),
        )
        if failures >= self.spec.max_deliver:
            await self._dead_letter(item.msg, reason=describe(exc), kind="handler-failed")
            self._poison.pop(sequence, None)
            return
        delay = min(self.spec.backoff_cap, self.spec.backoff_base * 2 ** (failures - 1))
        await item.msg.nak(delay=delay)

    async def _dead_letter(self, msg: Msg, *, reason: str, kind: str = "unparseable") -> None:
        meta = msg.metadata
        headers = {
            DEAD_LETTER_REASON: reason[:500],
            DEAD_LETTER_CONSUMER: self.name,
            "RiskWatch-Original-Subject": msg.subject,
            "RiskWatch-Original-Stream": meta.stream,
            "RiskWatch-Original-Sequence": str(meta.sequence.stream),
            "RiskWatch-Deliveries": str(meta.num_delivered),
            "Nats-Msg-Id": f"dlq-{self.name}-{meta.sequence.stream}",
        }
        await self.bus.js.publish(
            dead_letter_subject(self.name, msg.subject), msg.data, headers=headers
        )
        await msg.term()
        self.stats.dead_lettered += 1
        CONSUMER_DEAD_LETTERED.labels(self.name).inc()
        DEAD_LETTERS.labels(self.name, kind).inc()
        log.error("consumer.dead_lettered", consumer=self.name, subject=msg.subject, reason=reason)


def _started(task: asyncio.Task[None]) -> bool:
    """Whether a task's coroutine has begun running (one cancelled before it did never will)."""
    coro = task.get_coro()
    return not inspect.iscoroutine(coro) or inspect.getcoroutinestate(coro) != "CORO_CREATED"
