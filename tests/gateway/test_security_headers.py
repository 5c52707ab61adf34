"""Security headers on every answer of the gateway: proxied, its own, and refusals."""

from __future__ import annotations

from .conftest import Gateway


async def test_every_gateway_response_carries_security_headers(gateway: Gateway) -> None:
    async with gateway.client(**gateway.bearer("analyst")) as client:
        proxied = await client.get("/v1/alerts")
        refused = await client.get("/v1/customers", headers={"Authorization": "Bearer nope"})
        own = await client.get("/healthz")
    for response in (proxied, refused, own):
        assert response.headers["x-content-type-options"] == "nosniff", response.url
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers.get_list("x-frame-options") == ["DENY"]  # never twice
    assert refused.status_code == 401
    assert refused.headers["cache-control"] == "no-store"
