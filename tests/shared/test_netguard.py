"""The outbound URL guard: pure checks, and real requests to local servers through a resolver
the test controls (a name that resolves to one address when checked and another later)."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from riskwatch_shared.netguard import (
    DestinationRefused,
    IPAddress,
    OutboundPolicy,
    address_refusal,
    check_outbound_url,
    check_url,
    guarded_client,
    parse_networks,
)
from riskwatch_shared.settings import ServiceSettings

SAFE = OutboundPolicy()
LOCAL_HTTP = OutboundPolicy(allow_http=True, allowed_networks=parse_networks(["127.0.0.1/32"]))


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("::ffff:169.254.169.254", "metadata"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "metadata"),
        ("100.100.100.200", "metadata"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a publicly routable"),
    ],
)
def test_non_public_and_metadata_addresses_are_refused(address: str, reason: str) -> None:
    refusal = address_refusal(ipaddress.ip_address(address), SAFE)
    assert refusal is not None
    assert reason in refusal


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), SAFE) is None


def test_allowed_networks_and_dev_mode_never_open_metadata() -> None:
    internal = OutboundPolicy(allowed_networks=parse_networks(["10.20.0.0/16", "169.254.0.0/16"]))
    assert address_refusal(ipaddress.ip_address("10.20.1.1"), internal) is None
    assert address_refusal(ipaddress.ip_address("10.21.1.1"), internal) is not None
    metadata = ipaddress.ip_address("169.254.169.254")
    assert address_refusal(metadata, internal) is not None
    dev = OutboundPolicy.from_settings(ServiceSettings(RISKWATCH_DEV_MODE=True))
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), dev) is None
    assert address_refusal(metadata, dev) is not None


def test_the_default_settings_give_the_safe_policy() -> None:
    policy = OutboundPolicy.from_settings(ServiceSettings())
    assert policy == SAFE
    configured = OutboundPolicy.from_settings(
        ServiceSettings(
            RISKWATCH_OUTBOUND_ALLOWED_DOMAINS="Hooks.Bank.example., partner.example",
            RISKWATCH_OUTBOUND_ALLOWED_NETWORKS="10.20.0.0/16",
        )
    )
    assert configured.allowed_domains == {"hooks.bank.example", "partner.example"}
    assert configured.allowed_networks == parse_networks(["10.20.0.0/16"])
    assert not configured.allow_http


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "only https"),
        ("ftp://hooks.example.com/x", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("https:///nohost", "no host"),
        ("https://user:secret@hooks.example.com/", "credentials"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("https://METADATA.google.internal./", "metadata"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[::ffff:169.254.169.254]/", "metadata"),
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://127.0.0.1:8443/", "loopback"),
        ("https://10.0.0.8/hook", "private"),
        ("https://not a url:99999/", "valid URL"),
    ],
)
def test_urls_refused_without_resolving(url: str, reason: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        check_url(url, SAFE)
    assert reason in refused.value.reason


def test_allow_list_of_domains() -> None:
    policy = OutboundPolicy(allowed_domains=frozenset({"bank.example"}))
    assert check_url("https://hooks.bank.example/x", policy).host == "hooks.bank.example"
    assert check_url("https://bank.example./x", policy).port == 443
    for url in ("https://evilbank.example/", "https://bank.example.evil.com/", "https://8.8.8.8/"):
        with pytest.raises(DestinationRefused, match="allowed domains"):
            check_url(url, policy)


# ---------------------------------------------------------------- resolution and requests


@dataclass
class FakeDns:
    """Answers from a table; `answers[name]` is a list consumed one per lookup (the last
    answer repeats), so a name can resolve to one address first and another later."""

    answers: dict[str, list[str]]
    lookups: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        queue = self.answers.get(host)
        if not queue:
            raise OSError(f"NXDOMAIN {host}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return [ipaddress.ip_address(a) for a in answer.split(",")]


@dataclass
class LocalServer:
    port: int
    heads: list[str]


async def _serve(ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[LocalServer]:
    heads: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            writer.close()
            return
        heads.append(head)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield LocalServer(port, heads)
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def local_server() -> AsyncIterator[LocalServer]:
    async for server in _serve():
        yield server


async def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    local_server: LocalServer,
) -> None:
    dns = FakeDns({"hooks.test": ["127.0.0.1"]})
    async with guarded_client(LOCAL_HTTP, resolver=dns) as client:
        response = await client.post(f"http://hooks.test:{local_server.port}/in", content=b"{}")
    assert response.status_code == 200
    [head] = local_server.heads
    assert head.startswith("POST /in HTTP/1.1")
    assert f"host: hooks.test:{local_server.port}" in head.lower()
    assert dns.lookups == ["hooks.test"]


async def test_a_name_rebound_to_loopback_after_the_check_is_refused_at_connect(
    local_server: LocalServer,
) -> None:
    # Public when the URL is configured, loopback when the request is made.
    dns = FakeDns({"rebind.test": ["93.184.215.14", "127.0.0.1"]})
    policy = OutboundPolicy(allow_http=True)
    url = f"http://rebind.test:{local_server.port}/in"
    assert await check_outbound_url(url, policy, resolver=dns) == [
        ipaddress.ip_address("93.184.215.14")
    ]
    async with guarded_client(policy, resolver=dns) as client:
        with pytest.raises(DestinationRefused) as refused:
            await client.post(url, content=b"{}")
    assert "resolves to 127.0.0.1, a loopback address" in refused.value.reason
    assert isinstance(refused.value, httpx.RequestError)
    assert local_server.heads == []


async def test_one_refused_address_among_several_refuses_the_host(
    local_server: LocalServer,
) -> None:
    dns = FakeDns({"mixed.test": ["93.184.215.14,169.254.169.254"]})
    with pytest.raises(DestinationRefused, match="metadata"):
        await check_outbound_url("https://mixed.test/", SAFE, resolver=dns)
    with pytest.raises(DestinationRefused, match="does not resolve"):
        await check_outbound_url("https://missing.test/", SAFE, resolver=dns)


async def test_requests_are_checked_too_and_dns_failure_is_a_connect_error(
    local_server: LocalServer,
) -> None:
    dns = FakeDns({})
    async with guarded_client(SAFE, resolver=dns) as client:
        with pytest.raises(DestinationRefused, match="only https"):
            await client.get(f"http://127.0.0.1:{local_server.port}/")
        with pytest.raises(DestinationRefused, match="loopback"):
            await client.get(f"https://127.0.0.1:{local_server.port}/")
        with pytest.raises(httpx.ConnectError):
            await client.get("https://gone.test/")
    assert local_server.heads == []


def _certificate_for(name: str, directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(str(cert_path), str(key_path))
    return server, ssl.create_default_context(cafile=str(cert_path))


async def test_tls_is_verified_for_the_name_while_connecting_to_the_pinned_address(
    tmp_path: Path,
) -> None:
    server_context, client_context = _certificate_for("hooks.test", tmp_path)
    policy = OutboundPolicy(allowed_networks=parse_networks(["127.0.0.1/32"]))
    dns = FakeDns({"hooks.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    async for server in _serve(server_context):
        async with guarded_client(policy, resolver=dns, ssl_context=client_context) as client:
            response = await client.get(f"https://hooks.test:{server.port}/jwks")
            assert response.text == "ok"
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get(f"https://other.test:{server.port}/jwks")
        assert len(server.heads) == 1


async def test_a_lookup_that_hangs_is_a_refusal_not_a_wait() -> None:
    async def hanging(host: str, port: int) -> list[IPAddress]:
        await asyncio.Event().wait()
        return []

    with pytest.raises(DestinationRefused, match="does not resolve"):
        await check_outbound_url("https://slow.test/", SAFE, resolver=hanging, timeout=0.05)
