"""/metrics, /docs and /openapi.json are not public outside dev mode: the ops token opens all
three, a signed-in caller the two documents; the Ingress routes only what the public needs."""

from __future__ import annotations

from pathlib import Path

import yaml
from starlette.datastructures import Headers

from riskwatch_gateway.main import ops_allowed
from riskwatch_shared.testing import wait_until

from .conftest import OPS, Gateway

OPS_PATHS = ("/metrics", "/docs", "/openapi.json")
REPO_ROOT = Path(__file__).resolve().parents[2]


async def test_ops_endpoints_need_the_ops_token_or_credentials(gateway: Gateway) -> None:
    async with gateway.client() as client:
        for path in OPS_PATHS:
            anonymous = await client.get(path)
            assert anonymous.status_code == 401, path
            assert anonymous.headers["content-type"] == "application/problem+json"
            wrong = await client.get(path, headers={"Authorization": "Bearer not-the-token"})
            assert wrong.status_code == 401, path
            assert (await client.get(path, headers=OPS)).status_code == 200, path
        viewer = gateway.bearer("viewer")
        assert (await client.get("/metrics", headers=viewer)).status_code == 401
        assert (await client.get("/openapi.json", headers=viewer)).status_code == 200
        metrics = await client.get("/metrics", headers=OPS)
    assert "riskwatch_http_requests_total" in metrics.text
    async with gateway.client() as client:  # what stays public: health and the JWKS

        async def public() -> bool:
            paths = ("/healthz", "/readyz", "/.well-known/jwks.json")
            return all([(await client.get(p)).status_code == 200 for p in paths])

        await wait_until(public, message="health and JWKS public")


async def test_the_docs_pages_load_their_files_from_the_gateway_only(gateway: Gateway) -> None:
    async with gateway.client() as client:
        pages = {path: await client.get(path, headers=OPS) for path in ("/docs", "/redoc")}
        anonymous_redoc = await client.get("/redoc")
        # Swagger UI's and ReDoc's own files: public (a browser fetches them without the
        # credentials), from the fastapi-offline package; nothing else under that path.
        script = await client.get("/docs/assets/swagger-ui-bundle.js")
        redoc = await client.get("/docs/assets/redoc.standalone.js")
        style = await client.get("/docs/assets/swagger-ui.css")
        other = await client.get("/docs/assets/core.py")
        climbing = await client.get("/docs/assets/..%2F__init__.py")
    assert anonymous_redoc.status_code == 401
    for path, page in pages.items():
        assert page.status_code == 200, path
        assert "/docs/assets/" in page.text, path
        assert "http://" not in page.text, page.text
        assert "https://" not in page.text, page.text
        policy = page.headers["content-security-policy"]
        assert "http" not in policy, policy
        assert "script-src 'self' 'unsafe-inline';" in policy, policy
    assert script.status_code == redoc.status_code == style.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")
    assert len(script.content) > 500_000
    assert len(redoc.content) > 500_000
    assert other.status_code == climbing.status_code == 404


async def test_dev_mode_leaves_them_open(gateway: Gateway) -> None:

    dev = gateway.settings.model_copy(update={"dev_mode": True, "ops_token": None})
    assert ops_allowed(dev, Headers())
    assert not ops_allowed(gateway.settings.model_copy(update={"ops_token": None}), Headers(OPS))


def test_the_ingress_routes_only_the_api_and_the_jwks() -> None:
    # The gateway's host exposes the API and the keys only; the console has a host of its own
    # and nothing else is exposed (no service behind the gateway, no ops endpoint).
    for manifest in ("k8s/base/ingress.yaml", "k8s/overlays/prod/ingress.yaml"):
        ingress = yaml.safe_load((REPO_ROOT / manifest).read_text())
        routes: dict[str, set[tuple[str, str]]] = {}
        for rule in ingress["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                backend = p["backend"]["service"]["name"]
                routes.setdefault(backend, set()).add((p["path"], p["pathType"]))
        assert set(routes) <= {"gateway", "console"}, manifest
        assert routes["gateway"] == {("/v1/", "Prefix"), ("/.well-known/jwks.json", "Exact")}, (
            manifest
        )


def test_a_short_ops_token_is_refused_at_start(gateway: Gateway) -> None:
    weak = gateway.settings.model_copy(update={"ops_token": "short"})
    assert weak.secret_problems() == ["GATEWAY_OPS_TOKEN is shorter than 32 characters"]
    assert gateway.settings.secret_problems() == []


async def test_public_docs_open_the_documents_to_anyone_but_never_the_metrics(
    gateway: Gateway,
) -> None:
    settings = gateway.app.state.settings
    settings.public_docs = True  # what `riskwatch run` sets on a developer's machine
    try:
        async with gateway.client() as client:
            opened = {p: (await client.get(p)).status_code for p in ("/docs", "/openapi.json")}
            metrics = await client.get("/metrics")
    finally:
        settings.public_docs = False
    assert opened == {"/docs": 200, "/openapi.json": 200}
    assert metrics.status_code == 401
