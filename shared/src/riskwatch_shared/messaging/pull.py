"""Pull-consumer fetching without a task per message.

nats-py's `PullSubscription.fetch` awaits `next_msg()` for every message, and each call creates
a task, a timer and a uuid4: a good part of a consumer's CPU. `PullFetcher` speaks the same
JetStream pull protocol (`$JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>` with a reply inbox) over
a plain subscription whose callback appends deliveries to a list; the caller wakes once per
batch. The messages are ordinary nats-py `Msg`s: `ack()`, `nak()`, `term()`, `in_progress()`
and `metadata` work as with `fetch`.

At most one pull request is open at a time, so every status reply belongs to it:
- When messages are stored, a `no_wait` request takes up to a batch at once; the server ends it
  with a 404/408 status (or by delivering the whole batch).
- When none are, a lingering request (`expires`) waits for them. `fetch` returns as soon as the
  first ones arrive and the request stays open: what it delivers later is kept for the next
  `fetch`, so a trickle of events is handled at once instead of after `expires`.
- With a `linger`, a `fetch` whose first messages do not fill the batch goes on collecting
  (through the open request, or a new one once that is over) until the batch is full or
  `linger` has passed since the first of them arrived: under a steady load a consumer then
  pays its per-batch costs (transaction, round trips, commit) once per fuller batch, for at
  most `linger` more latency. A full first delivery returns at once; an idle stream never
  lingers (there is no first arrival to linger after).

The waiting `fetch` is woken only when what it waits for may have happened (its batch is
full, the first message arrived, the request is over), not once per delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import DEFAULT_PREFIX

from riskwatch_shared.aio import wait_event

# 409 replies that end a request without anything being wrong with the consumer.
_TRANSIENT_CONFLICTS = ("Exceeded MaxWaiting", "Leadership Change", "Server Shutdown")


class PullConsumerGone(Exception):
    """The durable or its stream is gone (deleted, or no server answers for it)."""


class PullFetcher:
    def __init__(
        self, nc: Client, *, stream: str, durable: str, api_prefix: str = DEFAULT_PREFIX
    ) -> None:
        self._nc = nc
        self._request_subject = f"{api_prefix}.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._inbox = nc.new_inbox()
        self._sub: Subscription | None = None
        self._delivered: list[Msg] = []
        # The open request: how many messages it may still deliver, and until when (monotonic).
        self._open_for = 0
        self._open_until = 0.0
        self._error: Exception | None = None
        # When the oldest message in `_delivered` arrived (monotonic): lingering counts from it.
        self._first_arrival = 0.0
        # The delivery count at which the waiting `fetch` wants waking.
        self._wake_at = 1
        self._arrived = asyncio.Event()

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(self._inbox, cb=self._on_message)

    async def stop(self) -> None:
        """Unsubscribe; what was delivered but not yet fetched is nak'd for redelivery now."""
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        undelivered, self._delivered = self._delivered, []
        for msg in undelivered:
            with contextlib.suppress(Exception):
                await msg.nak()

    async def fetch(self, batch: int, timeout: float, linger: float = 0.0) -> list[Msg]:
        """Up to `batch` messages; raises TimeoutError when none came within `timeout`.

        With `linger` > 0, a batch its first messages do not fill waits up to `linger` after
        the first arrival for more (never past `timeout`).
        """
        deadline = time.monotonic() + timeout
        if len(self._delivered) < batch and not self._request_open():
            await self._request(batch - len(self._delivered), timeout=timeout, no_wait=True)
            await self._wait(deadline, wake_at=batch, until_closed=True)
        if not self._delivered:
            if not self._request_open():
                await self._request(batch, timeout=timeout, no_wait=False)
            await self._wait(deadline, wake_at=1, until_closed=False)
        if not self._delivered:
            raise TimeoutError(f"no message within {timeout}s")
        if linger > 0 and len(self._delivered) < batch:
            await self._linger(batch, min(deadline, self._first_arrival + linger), timeout)
        msgs = self._delivered[:batch]
        del self._delivered[:batch]
        # What is left (only when `batch` shrank between fetches) has had its linger already.
        return msgs

    async def _linger(self, batch: int, until: float, timeout: float) -> None:
        """Collect until `batch` messages are here or `until` (monotonic) has passed."""
        while len(self._delivered) < batch and self._error is None:
            remaining = until - time.monotonic()
            if remaining <= 0:
                break
            if not self._request_open():
                # The stored messages are all taken: wait for new ones with a request that
                # stays open past the linger, like the one `fetch` opens on an empty stream.
                await self._request(batch - len(self._delivered), timeout=timeout, no_wait=False)
            self._wake_at = batch
            self._arrived.clear()
            await wait_event(self._arrived, remaining)
        self._raise_error()

    def _request_open(self) -> bool:
        return self._open_for > 0 and time.monotonic() < self._open_until

    async def _request(self, batch: int, *, timeout: float, no_wait: bool) -> None:
        if no_wait:
            body = {"batch": batch, "no_wait": True}
        else:
            # The server expires the request a little before the caller gives up on it.
            body = {"batch": batch, "expires": max(1_000_000, int(timeout * 1e9) - 50_000_000)}
        self._open_for = batch
        self._open_until = time.monotonic() + timeout + 1.0
        await self._nc.publish(self._request_subject, json.dumps(body).encode(), self._inbox)

    async def _wait(self, deadline: float, *, wake_at: int, until_closed: bool) -> None:
        """Until the open request is over (`until_closed`), or has delivered something."""
        while self._error is None:
            if until_closed:
                if not self._request_open():
                    break
            elif self._delivered or not self._open_for:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wake_at = wake_at
            self._arrived.clear()
            await wait_event(self._arrived, remaining)
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    async def _on_message(self, msg: Msg) -> None:
        headers = msg.headers
        if headers is None or "Status" not in headers:
            if not self._delivered:
                self._first_arrival = time.monotonic()
            self._delivered.append(msg)
            self._open_for = max(0, self._open_for - 1)
            # One wake-up per batch, not per message: the request is over or the batch full.
            if not self._open_for or len(self._delivered) >= self._wake_at:
                self._arrived.set()
        else:
            self._on_status(headers["Status"], headers.get("Description", ""))
            self._arrived.set()

    def _on_status(self, status: str, description: str) -> None:
        if status == "100":
            return  # idle heartbeat or flow control: never asked for
        self._open_for = 0
        if status in ("404", "408") or (
            status == "409" and description.startswith(_TRANSIENT_CONFLICTS)
        ):
            return  # the request is over (no messages / expired / retry)
        if status == "503" or description == "Consumer Deleted":
            self._error = PullConsumerGone(f"pull request refused: {status} {description}")
        else:
            self._error = RuntimeError(f"pull request refused: {status} {description}")
