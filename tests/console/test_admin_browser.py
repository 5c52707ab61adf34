"""Administration in a real browser (Debian's chromium): an admin creates an API key, sees its
secret once (gone on reload), and revokes it after confirming; the users, audit log,
notification and model screens render. Screenshots into RISKWATCH_SCREENSHOT_DIR
(docs/console/ holds the ones in the repository)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Dialog, expect

from riskwatch_simulator.client import RiskWatchClient

from .conftest import People
from .test_console_browser import Watched, chromium, shoot, shots, sign_in, watched

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]
__all__ = ["chromium", "shots", "watched"]  # the browser fixtures, shared


async def test_an_admin_creates_an_api_key_sees_it_once_and_revokes_it(
    watched: Watched, console_url: str, people: People, admin: RiskWatchClient, system: object,
    shots: Path,
) -> None:  # fmt: skip
    page = await watched.page()
    await sign_in(page, console_url, people.admin)
    await page.get_by_role("link", name="Administration").click()
    await page.wait_for_url(re.compile("/admin/users"))
    await shoot(page, shots / "admin-users.png")
    await page.get_by_role("link", name="API keys").click()
    await page.wait_for_url(re.compile("/admin/api-keys"))
    name = f"Core banking intake {uuid.uuid4().hex[:4]}"
    form = page.locator("#new-key")
    await form.get_by_label("Name (what uses it)").fill(name)
    await form.get_by_label("Scopes").fill("transactions:write")
    await form.locator("button[type=submit]").click()
    await page.wait_for_url(re.compile("/admin/api-keys"))
    secret = page.locator("#secret-value")
    await expect(secret).to_be_visible()
    key = await secret.input_value()
    assert key.startswith("rw_")
    key_id = key.split("_")[1]
    await expect(page.locator(f"#key-{key_id} .key-status")).to_have_text("active")
    await shoot(page, shots / "admin-api-key-created.png")
    # The secret is shown once: a reload shows the key, never its secret again.
    await page.reload()
    await expect(page.locator(f"#key-{key_id}")).to_be_visible()
    await expect(page.locator("#secret-value")).to_have_count(0)
    assert key not in await page.content()
    asked: list[str] = []

    async def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    await page.get_by_role("button", name=f"Revoke {name}").click()
    await expect(page.locator(f"#key-{key_id} .key-status")).to_have_text("revoked")
    assert asked
    assert name in asked[0]
    await shoot(page, shots / "admin-api-key-revoked.png")
    stored = await admin.get_json(f"/v1/api-keys/{key_id}")
    assert stored["revoked_at"] is not None
    gateway_url = system.gateway  # type: ignore[attr-defined]
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as machine:
        refused = await machine.get("/v1/auth/me", headers={"x-api-key": key})
    assert refused.status_code == 401
    await page.get_by_role("link", name="Audit log").click()
    await page.wait_for_url(re.compile("/admin/audit"))
    await page.get_by_label("Action").fill("api_key.*")
    await page.locator("#audit-filters button[type=submit]").click()
    await page.wait_for_url(re.compile("action=api_key"))
    await expect(page.locator("#audit tbody tr").first).to_contain_text("api_key.revoked")
    await shoot(page, shots / "admin-audit.png")
    await page.get_by_role("link", name="Configuration").click()
    await page.wait_for_url(re.compile("/admin/config"))
    await expect(page.locator("#config-import")).to_be_visible()
    await shoot(page, shots / "admin-configuration.png")


async def test_the_notification_and_model_screens_render_with_their_charts(
    watched: Watched, console_url: str, people: People, admin: RiskWatchClient, system: object,
    shots: Path,
) -> None:  # fmt: skip
    team = await admin.post_json("/v1/teams", {"name": f"Risk desk {uuid.uuid4().hex[:4]}"})
    await admin.post_json(
        "/v1/recipients",
        {"name": "Wang Fang", "email": f"wang.{uuid.uuid4().hex[:4]}@bank.example",
         "time_zone": "Asia/Shanghai", "locale": "zh", "quiet_start": "22:00:00",
         "quiet_end": "07:00:00", "team_ids": [team["id"]]},
    )  # fmt: skip
    lines = ["amount,segment,bad"] + [
        f"{900 + i if i % 3 == 0 else 100 + (i * 7) % 900},{'sme' if i % 2 else 'retail'},"
        f"{int(i % 3 == 0)}"
        for i in range(120)
    ]
    async with httpx.AsyncClient(base_url=system.gateway, timeout=120) as client:  # type: ignore[attr-defined]
        trained = await client.post(
            "/v1/models/credit/train",
            params={"target": "bad", "algorithm": "linear"},
            content="\n".join(lines).encode(),
            headers={"content-type": "text/csv", "authorization": f"Bearer {admin.user_token}"},
        )
    assert trained.status_code == 201, trained.text
    model_id = trained.json()["model"]["id"]
    page = await watched.page()
    await sign_in(page, console_url, people.admin)
    await page.get_by_role("link", name="Notifications").click()
    await page.wait_for_url(re.compile("/notifications/people"))
    await expect(page.locator("#recipients")).to_contain_text("22:00")
    await shoot(page, shots / "notifications-people.png")
    await page.get_by_role("link", name="Escalation policies").click()
    await page.wait_for_url(re.compile("/notifications/escalation"))
    await shoot(page, shots / "notifications-escalation.png")
    await page.get_by_role("link", name="Delivery log").click()
    await page.wait_for_url(re.compile("/notifications/deliveries"))
    await shoot(page, shots / "notifications-deliveries.png")
    await page.get_by_role("link", name="Models").click()
    await page.wait_for_url(re.compile("/models"))
    await expect(page.locator(f"#model-{model_id}")).to_be_visible()
    await shoot(page, shots / "models-registry.png")
    await page.locator(f"#model-{model_id} a").first.click()
    await page.wait_for_url(re.compile(f"/models/{model_id}"))
    # uPlot draws each chart into a canvas: the curves are on the page, not only in JSON.
    await expect(page.locator("#roc-chart canvas")).to_have_count(1)
    await expect(page.locator("#calibration-chart canvas")).to_have_count(1)
    await shoot(page, shots / "models-report.png")
    await admin.post_json(f"/v1/models/{model_id}/retire", {})
