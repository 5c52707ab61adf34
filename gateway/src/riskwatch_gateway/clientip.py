"""The caller's address (pure): X-Forwarded-For is believed only when the direct peer is one of
the configured trusted proxies (the ingress), and only as far as the hops are trusted too."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (or single addresses); raises ValueError on a malformed one."""
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str | None:
    """The direct peer, unless it is a trusted proxy: then the right-most X-Forwarded-For hop
    that is not itself a trusted proxy (the left-most hops are the caller's to forge)."""
    if peer is None or not trusted or not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed chain: trust nothing in it
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer
