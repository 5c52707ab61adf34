"""`riskwatch config export|import`: one configuration bundle through the gateway.

Each service exports and imports its own section (`/v1/config/<service>/...`, admins only);
this composes the sections into one canonical file and sends a file to every service, a dry
run first everywhere, and only when every service accepted it, the apply.
"""

from __future__ import annotations

from typing import Any

from riskwatch_shared.config_bundle import (
    SECTIONS,
    BundleError,
    canonical_bytes,
    compose,
    parse,
)
from riskwatch_simulator.client import GatewayError, RiskWatchClient


async def export_bundle(client: RiskWatchClient) -> bytes:
    """Every service's section, composed into one bundle in its canonical encoding."""
    parts = [
        (await client.request("GET", f"/v1/config/{service}/export")).json() for service in SECTIONS
    ]
    return canonical_bytes(compose(parts))


async def import_bundle(
    client: RiskWatchClient, raw: bytes, *, apply: bool
) -> dict[str, dict[str, Any]]:
    """The dry-run reports of every service; with `apply`, once every service accepted the
    bundle in a dry run, the apply reports (a refused bundle applies nowhere)."""
    try:
        document = parse(raw)
    except BundleError as exc:
        raise GatewayError("POST", "/v1/config/*/import", None, f"not a bundle: {exc}") from None
    modes = ("dry-run", "apply") if apply else ("dry-run",)
    reports: dict[str, dict[str, Any]] = {}
    for mode in modes:
        for service in SECTIONS:
            response = await client.request(
                "POST",
                f"/v1/config/{service}/import",
                json=document,
                params={"mode": mode},
                expect=(200,),
            )
            reports[service] = response.json()
    return reports


def render(reports: dict[str, dict[str, Any]]) -> str:
    """What an operator reviews: per service its summary, then each object that is created
    or changed (with its fields), how it was applied, and what awaits a second person."""
    lines: list[str] = []
    for service, report in reports.items():
        summary = report["summary"]
        counts = ", ".join(f"{summary[action]} {action}" for action in sorted(summary))
        lines.append(f"{service} ({report['mode']}): {counts}")
        for item in report["objects"]:
            if item["action"] in ("unchanged", "left_alone") and not item.get("note"):
                continue
            how = f" -> {item['applied']}" if item.get("applied") else ""
            proposal = f" (proposal {item['proposal_id']})" if item.get("proposal_id") else ""
            lines.append(f"  {item['action']:<10} {item['kind']} {item['name']}{how}{proposal}")
            if item["action"] == "change":
                lines.extend(
                    f"      {change['field']}: {change['current']!r} -> {change['wanted']!r}"
                    for change in item["changes"]
                )
            if item.get("note"):
                lines.append(f"      note: {item['note']}")
    return "\n".join(lines) + "\n"
