"""Transaction anomaly from ingestion to notification: an account takeover."""

from __future__ import annotations

from typing import Any

import pytest

from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.harness import RunningSystem
from riskwatch_simulator.payloads import transaction_body

from .conftest import RiskDepartment
from .helpers import push_generated_customer, wait_for_alert, wait_for_inbox, wait_for_mail

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]


async def test_account_takeover_raises_an_anomaly_alert_and_notifies(
    system: RunningSystem,
    admin: RiskWatchClient,
    scenario_rules: dict[str, dict[str, Any]],
    risk_department: RiskDepartment,
) -> None:
    customer_id, bank, ids, takeover = await push_generated_customer(
        admin, "account_takeover", days=45, index=1, hold_back_pattern=True
    )
    customer = bank.customers[0]
    assert takeover[0].device_id not in customer.usual_devices

    # The takeover arrives live, in one batch, as the core system would send it.
    result = await admin.post_batch([transaction_body(t, ids) for t in takeover])
    assert result.accepted == len(takeover)
    large = [t for t in takeover if t.amount >= 5_000]
    large_ids = {result.transaction_ids[t.external_id] for t in large}

    alert = await wait_for_alert(admin, customer_id, "transaction_anomaly")
    assert alert["transaction_id"] in large_ids
    assert alert["severity"] in ("high", "critical")

    mail = await wait_for_mail(system, customer.name, risk_department.email)
    assert risk_department.email in str(mail["To"])
    message = await wait_for_inbox(admin, alert["id"])
    assert message["alert_id"] == alert["id"]
