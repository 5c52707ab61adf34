"""A fresh install tells the story on its own: `riskwatch run` loads the starter configuration
(through the gateway, with the admin password the gateway generated), once; a customer's credit
then deteriorates and the alert e-mail lands in the mail catcher with no other set-up."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskwatch_shared.testing import wait_until
from riskwatch_simulator import admin as admin_cli
from riskwatch_simulator.api import list_all, page_items
from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import RunningSystem, running_system
from riskwatch_simulator.starter import RECIPIENT_EMAIL, TEAM_NAME, load_starter

from .helpers import DEADLINE, create_customer, days_ago, unique, wait_for_alert, wait_for_mail

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]


@pytest.fixture(scope="module")
def fresh_system() -> Iterator[RunningSystem]:
    # No admin password given: the gateway generates one, as on a fresh `make run`.
    with running_system(extra_env={"RISKWATCH_ADMIN_PASSWORD": ""}) as running:
        yield running


async def test_fresh_install_loads_the_starter_once_and_an_alert_is_mailed(
    fresh_system: RunningSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RISKWATCH_ADMIN_PASSWORD", raising=False)
    reported: list[str] = []
    # What `riskwatch run` does once the gateway is ready (in its starter thread).
    await asyncio.to_thread(
        admin_cli.load_starter_when_ready,
        fresh_system.data_dir,
        fresh_system.gateway,
        report=reported.append,
    )
    assert any("starter configuration loaded" in line for line in reported), reported
    marker = fresh_system.data_dir / admin_cli.STARTER_MARKER
    assert marker.exists()
    # A second start sees the marker and does nothing.
    await asyncio.to_thread(
        admin_cli.load_starter_when_ready,
        fresh_system.data_dir,
        fresh_system.gateway,
        report=reported.append,
    )
    assert len(reported) == 1

    credentials = admin_cli.generated_admin_password(Path(fresh_system.data_dir))
    assert credentials is not None
    async with RiskWatchClient(fresh_system.gateway) as admin:
        await admin.sign_in(*credentials)
        templates = page_items(await admin.get_json("/v1/rule-templates"))
        active = await list_all(admin, "/v1/rules", status="active")
        assert {rule["name"] for rule in active} == {t["name"] for t in templates}
        # Maker-checker: the shipped templates went live as system configuration, on record.
        history = await admin.get_json(f"/v1/rules/{active[0]['id']}/history")
        assert [(e["action"], e["comment"]) for e in history] == [
            ("proposed", "create"),
            ("approved", "[system_configuration]"),
        ]
        assert await admin.get_json("/v1/rule-proposals", status="pending") == []
        [team] = [t for t in await list_all(admin, "/v1/teams") if t["name"] == TEAM_NAME]
        [subscription] = await list_all(admin, "/v1/subscriptions")
        assert subscription["team_id"] == team["id"]
        assert sorted(subscription["channels"]) == ["email", "in_app"]

        # Loading it again (`riskwatch starter`) adds nothing.
        again = await load_starter(admin)
        assert again.added == 0, again
        assert len(await list_all(admin, "/v1/rules")) == len(templates)
        assert len(await list_all(admin, "/v1/recipients")) == 1

        # A simulated deterioration: a good borrower whose credit goes wrong.
        name = unique("Starter Story")
        customer = await create_customer(admin, name)
        path = f"/v1/customers/{customer['id']}"
        await admin.post_json(
            f"{path}/credit-records",
            {"source": "bureau", "credit_score": 790, "outstanding_debt": "1500.00",
             "credit_limit": "15000.00", "currency": "GBP", "as_of": days_ago(180).isoformat()},
        )  # fmt: skip

        async def assessed() -> bool:
            risk = await admin.request("GET", f"{path}/risk", expect=(200, 404))
            return risk.status_code == 200 and bool(risk.json().get("levels", {}).get("credit"))

        await wait_until(assessed, timeout=DEADLINE, interval=0.25, message="assessment")
        await admin.post_json(
            f"{path}/credit-records",
            {"source": "bureau", "credit_score": 455, "missed_payments": 3, "delinquencies_30": 2,
             "delinquencies_60": 1, "delinquencies_90": 1, "outstanding_debt": "14800.00",
             "credit_limit": "15000.00", "recent_inquiries": 5, "currency": "GBP",
             "as_of": days_ago(5).isoformat()},
        )  # fmt: skip
        alert = await wait_for_alert(admin, customer["id"], "credit_risk")
        mail = await wait_for_mail(fresh_system, name, RECIPIENT_EMAIL)
        assert RECIPIENT_EMAIL in str(mail["To"])
        # ...and it is on disk where the README says (the catcher's folder).
        assert list((fresh_system.data_dir / "mail").glob("*.eml"))
        acknowledged = await admin.post_json(f"/v1/alerts/{alert['id']}/acknowledge", {})
        assert acknowledged["status"] == "acknowledged"
