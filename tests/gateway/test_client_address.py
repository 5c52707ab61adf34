"""The caller's address and the sign-in back-off, as pure functions."""

from __future__ import annotations

import pytest

from riskwatch_gateway.backoff import Backoff
from riskwatch_gateway.clientip import client_address, parse_networks

INGRESS = parse_networks(["10.1.0.0/16", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.5", "1.2.3.4", "203.0.113.5"),  # not through a trusted proxy: ignored
        ("10.1.2.3", None, "10.1.2.3"),
        ("10.1.2.3", "198.51.100.7", "198.51.100.7"),
        ("10.1.2.3", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the left is forgeable
        ("10.1.2.3", "198.51.100.7, 10.1.9.9", "198.51.100.7"),  # proxies in a chain
        ("10.1.2.3", "not-an-ip, 198.51.100.7", "198.51.100.7"),
        ("10.1.2.3", "198.51.100.7, not-an-ip", "10.1.2.3"),  # a broken chain: the peer
        ("fd00::1", "2001:db8::5", "2001:db8::5"),
        (None, "1.2.3.4", None),
    ],
)
def test_forwarded_for_is_believed_only_from_trusted_proxies(
    peer: str | None, forwarded: str | None, expected: str | None
) -> None:
    assert client_address(peer, forwarded, INGRESS) == expected
    assert client_address(peer, forwarded, ()) == peer  # no trusted proxy configured


def test_a_malformed_network_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_networks(["10.0.0.0/33"])


def test_backoff_grows_exponentially_caps_resets_and_forgets() -> None:
    now = [0.0]
    backoff = Backoff(free_failures=2, base_seconds=1, max_seconds=8, clock=lambda: now[0])
    waits = []
    for _ in range(7):
        backoff.failed("k")
        waits.append(backoff.wait("k"))
    assert waits == [0, 1, 2, 4, 8, 8, 8]
    backoff.succeeded("k")
    assert backoff.wait("k") == 0
    backoff.failed("k")
    backoff.failed("k")
    assert backoff.wait("k") == 1
    now[0] += backoff.forget_after_seconds + 1
    assert backoff.wait("k") == 0  # a quiet spell forgets
