"""Churn from ingestion to notification: activity fades, complaints, a drained balance."""

from __future__ import annotations

from typing import Any

import pytest

from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import RunningSystem

from .conftest import RiskDepartment
from .helpers import push_generated_customer, wait_for_alert, wait_for_inbox, wait_for_mail

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]


async def test_a_fading_customer_raises_a_churn_alert_and_notifies(
    system: RunningSystem,
    admin: RiskWatchClient,
    scenario_rules: dict[str, dict[str, Any]],
    risk_department: RiskDepartment,
) -> None:
    customer_id, bank, _, _ = await push_generated_customer(admin, "churn", days=200, index=2)
    customer = bank.customers[0]
    label = bank.labels[0]
    assert label.pattern == "churn"

    alert = await wait_for_alert(admin, customer_id, "churn")
    assert alert["reasons"]

    mail = await wait_for_mail(system, customer.name, risk_department.email)
    assert risk_department.email in str(mail["To"])
    await wait_for_inbox(admin, alert["id"])
    risk = await admin.get_json(f"/v1/customers/{customer_id}/risk")
    assert risk["levels"]["churn"] in ("medium", "high", "critical")
