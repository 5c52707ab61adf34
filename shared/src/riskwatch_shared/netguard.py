"""Outbound requests to URLs someone configured (webhooks, SMS providers, OIDC/JWKS): no
server-side request forgery.

Pure checks first (`check_url`, `address_refusal`, `check_addresses`): outside dev mode only
`https`; a host on the optional allow-list of domains; every address the host resolves to
refused when loopback, private, link-local, multicast, unspecified, reserved or otherwise not
publicly routable, and a cloud metadata address always (IPv4-mapped and NAT64 IPv6 forms are
read as the IPv4 address they carry). `allowed_networks` lets an operator reach a deliberate
internal receiver (e.g. `10.20.0.0/16`); metadata addresses stay refused even there.

Then the I/O: `check_outbound_url` resolves and checks (for a 422 when a URL is configured),
and `GuardedTransport` / `guarded_client` make requests whose connection goes to the address
that was checked, resolved at connect time: no DNS rebinding between check and use. The URL
keeps its host name, so the Host header, TLS SNI and certificate verification are for the
name; only the TCP connect is pinned.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]

__all__ = [
    "METADATA_ADDRESSES",
    "METADATA_HOSTS",
    "DestinationRefused",
    "GuardedTransport",
    "IPAddress",
    "OutboundPolicy",
    "OutboundTarget",
    "Resolver",
    "address_refusal",
    "check_addresses",
    "check_outbound_url",
    "check_url",
    "guarded_client",
    "parse_networks",
    "system_resolver",
]

# Instance metadata services (AWS, GCP, Azure, OpenStack, Oracle: 169.254.169.254; AWS IPv6;
# AWS ECS task metadata; Alibaba; Azure's wire server, which is a public address).
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "168.63.129.16",
    )
)
METADATA_HOSTS: frozenset[str] = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class DestinationRefused(httpx.RequestError):
    """An outbound URL or address the policy refuses; `reason` says why, for a person.

    An `httpx.RequestError`, so code that already handles failed requests handles this too
    (never worth a retry: the same URL is refused again).
    """

    def __init__(self, reason: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(f"outbound destination refused: {reason}", request=request)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """What outbound URLs may point at. The default is the safe one (https, public only)."""

    allow_http: bool = False
    allow_private: bool = False  # dev mode: loopback and private networks too (never metadata)
    allowed_domains: frozenset[str] = frozenset()  # empty: any public host
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> OutboundPolicy:
        """From `ServiceSettings`: `dev_mode`, `outbound_allowed_domains`,
        `outbound_allowed_networks` (comma-separated)."""
        dev = bool(getattr(settings, "dev_mode", False))
        domains = str(getattr(settings, "outbound_allowed_domains", "") or "")
        networks = str(getattr(settings, "outbound_allowed_networks", "") or "")
        return cls(
            allow_http=dev,
            allow_private=dev,
            allowed_domains=frozenset(_normal_host(d) for d in domains.split(",") if d.strip(" .")),
            allowed_networks=parse_networks(networks.split(",")),
        )


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (`10.20.0.0/16`, `127.0.0.1/32`); a bad one raises ValueError."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


@dataclass(frozen=True, slots=True)
class OutboundTarget:
    scheme: str
    host: str  # lower case, no trailing dot, no IPv6 brackets
    port: int


def _normal_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def check_url(url: str, policy: OutboundPolicy) -> OutboundTarget:
    """The URL's scheme, host and port when the policy allows them (no resolution here)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise DestinationRefused(f"not a valid URL ({exc})") from exc
    scheme = parts.scheme.lower()
    allowed_schemes = ("https", "http") if policy.allow_http else ("https",)
    if scheme not in allowed_schemes:
        raise DestinationRefused(
            "only https URLs are allowed"
            if scheme == "http"
            else f"scheme {scheme or '(none)'!r} is not allowed"
        )
    host = _normal_host(parts.hostname or "")
    if not host:
        raise DestinationRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("credentials in the URL are not allowed")
    if host in METADATA_HOSTS:
        raise DestinationRefused(f"{host} is a cloud metadata host")
    literal = _literal_ip(host)
    if policy.allowed_domains and (
        literal is not None
        or not any(host == d or host.endswith(f".{d}") for d in policy.allowed_domains)
    ):
        raise DestinationRefused(f"{host} is not in the allowed domains")
    if literal is not None:
        reason = address_refusal(literal, policy)
        if reason is not None:
            raise DestinationRefused(f"{host} is {reason}")
    return OutboundTarget(scheme, host, port or (443 if scheme == "https" else 80))


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_refusal(address: IPAddress, policy: OutboundPolicy) -> str | None:
    """Why a connection to `address` is refused, or None when it is allowed."""
    ip = _embedded_ipv4(address)
    if ip in METADATA_ADDRESSES or address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if policy.allow_private or any(ip in net for net in policy.allowed_networks):
        return None
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a publicly routable address"
    return None


def check_addresses(host: str, addresses: Sequence[IPAddress], policy: OutboundPolicy) -> None:
    """Refuse the host when it resolves to nothing or to any refused address."""
    if not addresses:
        raise DestinationRefused(f"{host} does not resolve")
    for address in addresses:
        reason = address_refusal(address, policy)
        if reason is not None:
            raise DestinationRefused(f"{host} resolves to {address}, {reason}")


# ---------------------------------------------------------------- I/O


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for `host` (order kept, duplicates dropped).

    A failed lookup raises `socket.gaierror` (an OSError): a DNS outage, not a refusal.
    """
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    found: dict[IPAddress, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        found.setdefault(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]), None)
    return list(found)


async def check_outbound_url(
    url: str,
    policy: OutboundPolicy,
    *,
    resolver: Resolver = system_resolver,
    timeout: float = 5.0,
) -> list[IPAddress]:
    """Check the URL and every address its host resolves to now; the addresses when allowed.

    For refusing a URL when it is configured (a 422). A request made later is checked again
    by `GuardedTransport`: DNS may have changed since.
    """
    target = check_url(url, policy)
    literal = _literal_ip(target.host)
    if literal is not None:
        return [literal]
    try:
        async with asyncio.timeout(timeout):
            addresses = await resolver(target.host, target.port)
    except (OSError, TimeoutError) as exc:
        raise DestinationRefused(f"{target.host} does not resolve") from exc
    check_addresses(target.host, addresses, policy)
    return addresses


PolicySource = OutboundPolicy | Callable[[], OutboundPolicy]


def _current(policy: PolicySource) -> OutboundPolicy:
    return policy if isinstance(policy, OutboundPolicy) else policy()


class _Connector(Protocol):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream: ...


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, checks every address, connects to a checked one."""

    def __init__(self, policy: PolicySource, resolver: Resolver, inner: _Connector) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        policy = _current(self._policy)
        name = _normal_host(host)
        literal = _literal_ip(name)
        if literal is not None:
            addresses: list[IPAddress] = [literal]
        else:
            try:
                addresses = await self._resolver(name, port)
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {name}: {exc}") from exc
        check_addresses(name, addresses, policy)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not outbound destinations")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that refuses what the policy refuses, at request and connect time.

    `policy` may be a callable, read on every request (settings that change at run time).
    `resolver` is the system's unless given (tests give one to play a DNS server).
    """

    def __init__(
        self,
        policy: PolicySource,
        *,
        resolver: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
        limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),
    ) -> None:
        self._policy = policy
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PinnedBackend(policy, resolver, httpcore.AnyIOBackend()),
        )
        # httpx's own transport maps httpcore's exceptions and streams; it drives our pool.
        self._http = httpx.AsyncHTTPTransport()
        self._http._pool = self._pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            check_url(str(request.url), _current(self._policy))
            return await self._http.handle_async_request(request)
        except DestinationRefused as exc:
            raise DestinationRefused(exc.reason, request=request) from None

    async def aclose(self) -> None:
        await self._http.aclose()


def guarded_client(
    policy: PolicySource,
    *,
    timeout: float = 10.0,
    resolver: Resolver = system_resolver,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` for configured URLs: guarded, no redirects followed, and the
    environment's proxy settings ignored (a proxy would connect where nothing was checked)."""
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, resolver=resolver, ssl_context=ssl_context),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
