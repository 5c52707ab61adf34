"""Percentage rollouts (pure): an approved rule version evaluated for a deterministic share of
customers while the old version keeps evaluating for the rest.

A customer's bucket (0-99) is a stable hash of their id, the same in every process and for
every rule: a rollout at 10% covers buckets 0-9, so raising it to 50% keeps those customers on
the new version and adds buckets 10-49. Events without a customer stay on the old version.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass


def customer_bucket(customer_id: uuid.UUID) -> int:
    """0-99, stable across processes and releases (not Python's randomised `hash`)."""
    digest = hashlib.blake2b(customer_id.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100


@dataclass(frozen=True, slots=True)
class Cohort:
    """Which customers one version of a rule in rollout evaluates for."""

    percent: int
    new_version: bool

    def includes(self, bucket: int | None) -> bool:
        if bucket is None:
            return not self.new_version
        return (bucket < self.percent) == self.new_version
