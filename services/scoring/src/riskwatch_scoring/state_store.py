"""Customer state in PostgreSQL with a per-process LRU cache of the decoded objects.

The database row's `version` is the truth: a cached object is used only while its version
equals the row's, so a replica that missed another replica's writes reloads the blob. A
batch that fails evicts what it touched, because its in-memory changes were rolled back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_scoring import repository
from riskwatch_scoring.domain.customer import ScoredCustomer
from riskwatch_scoring.read_pool import ReadPool

NOT_CACHED = -1
# Customers encoded between two yields to the event loop (~2 ms of CPU).
ENCODE_CHUNK = 32


def decode(blob: bytes) -> ScoredCustomer:
    return ScoredCustomer.from_state(orjson.loads(blob))


def encode(customer: ScoredCustomer) -> bytes:
    return orjson.dumps(customer.to_state())


@dataclass(frozen=True, slots=True)
class StateWrites:
    """Encoded states to write: rows of customers not stored yet, and of locked rows."""

    inserted: list[repository.StateRow]
    updated: list[repository.StateRow]


@dataclass(frozen=True, slots=True)
class LoadedStates:
    """A batch's customers, and the version each had when loaded (0: not stored yet)."""

    customers: dict[uuid.UUID, ScoredCustomer]
    versions: dict[uuid.UUID, int]


class StateStore:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._cache: OrderedDict[uuid.UUID, ScoredCustomer] = OrderedDict()

    def _cached_version(self, customer_id: uuid.UUID) -> int:
        cached = self._cache.get(customer_id)
        return NOT_CACHED if cached is None else cached.version

    def _remember(self, customer_id: uuid.UUID, customer: ScoredCustomer) -> None:
        self._cache[customer_id] = customer
        self._cache.move_to_end(customer_id)
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)

    def evict(self, customer_ids: Iterable[uuid.UUID]) -> None:
        for customer_id in customer_ids:
            self._cache.pop(customer_id, None)

    async def load_for_update(
        self, session: AsyncSession, customer_ids: Iterable[uuid.UUID]
    ) -> LoadedStates:
        """The batch's customers, existing rows locked; a new customer starts empty."""
        wanted = {customer_id: self._cached_version(customer_id) for customer_id in customer_ids}
        found: dict[uuid.UUID, ScoredCustomer] = {}
        for row in await repository.lock_states(session, wanted):
            customer_id, blob = row["customer_id"], row["state"]
            customer = self._cache.get(customer_id) if blob is None else None
            if customer is None:  # stale, or evicted while the query ran
                customer = await self._fetch(session, customer_id, blob)
            found[customer_id] = customer
            self._remember(customer_id, customer)
        for customer_id in wanted:
            if customer_id not in found:
                found[customer_id] = ScoredCustomer(str(customer_id))
        versions = {customer_id: customer.version for customer_id, customer in found.items()}
        return LoadedStates(found, versions)

    @staticmethod
    async def _fetch(
        session: AsyncSession, customer_id: uuid.UUID, blob: bytes | None
    ) -> ScoredCustomer:
        if blob is None:
            row = await repository.read_state(session, customer_id, NOT_CACHED)
            assert row is not None, "a locked row cannot disappear"
            blob = row.state
        return decode(blob)

    async def encode_changes(self, loaded: LoadedStates) -> StateWrites:
        """The blobs of every customer whose version moved since `load_for_update`.

        Yields to the event loop every `ENCODE_CHUNK` customers, so that statements the batch
        sent meanwhile (its assessments, its outbox rows) are followed up while it encodes:
        PostgreSQL executes them on another core instead of after the encoding.
        """
        writes = StateWrites([], [])
        for customer_id, customer in loaded.customers.items():
            loaded_version = loaded.versions.get(customer_id, 0)
            if customer.version == loaded_version:
                continue
            row = repository.StateRow(customer_id, customer.version, encode(customer))
            (writes.updated if loaded_version > 0 else writes.inserted).append(row)
            if self._cache.get(customer_id) is not customer:  # new, or evicted since the load
                self._remember(customer_id, customer)
            if (len(writes.updated) + len(writes.inserted)) % ENCODE_CHUNK == 0:
                await asyncio.sleep(0)
        return writes

    @staticmethod
    async def write(session: AsyncSession, writes: StateWrites) -> None:
        """One statement for the batch's states (see `repository.write_states`)."""
        await repository.write_states(session, inserted=writes.inserted, updated=writes.updated)

    async def read(self, session: AsyncSession, customer_id: uuid.UUID) -> ScoredCustomer | None:
        """The customer's current state for reading only (callers must not mutate it)."""
        row = await repository.read_state(session, customer_id, self._cached_version(customer_id))
        return self._resolve(customer_id, None if row is None else {"state": row.state})

    async def read_fast(self, pool: ReadPool, customer_id: uuid.UUID) -> ScoredCustomer | None:
        """`read` in one round trip outside any transaction (pre-authorisation)."""
        row = await pool.read_state(customer_id, self._cached_version(customer_id))
        return self._resolve(customer_id, row)

    def _resolve(self, customer_id: uuid.UUID, row: Any) -> ScoredCustomer | None:
        if row is None:
            return None
        cached = self._cache.get(customer_id)
        if row["state"] is None and cached is not None:
            return cached
        if row["state"] is None:  # evicted between the query and now: read it again later
            return None
        customer = decode(row["state"])
        self._remember(customer_id, customer)
        return customer
