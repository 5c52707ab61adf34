"""Every reason, once and codified: the risk API returns them all (or the `top` N), and the
scoring events carry the same codes with their advice and when the record happened."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from riskwatch_shared.events.scoring import CustomerAssessed
from riskwatch_shared.testing import wait_until

from .builders import created, credit_record
from .builders import wait_for_version as wait_version
from .conftest import ScoringHarness

# The reference story's record: missed payments, 30-day delinquency, a low bureau score.
STORY_CODES = {"missed_payments", "delinquent_30", "low_bureau_score"}


async def test_all_reasons_once_with_codes_advice_and_top(scoring: ScoringHarness) -> None:
    customer_id = uuid.uuid4()
    await scoring.publish(
        created(customer_id),
        credit_record(
            customer_id,
            date(2026, 10, 1),
            score=540,
            debt="9600",
            limit="10000",
            delinquencies_30=2,
            missed_payments=3,
        ),
    )
    await wait_version(scoring.runtime.engine, customer_id, 2)
    url = f"/v1/customers/{customer_id}/risk"
    risk = (await scoring.client.get(url)).json()
    credit = risk["assessments"]["credit"]["reasons"]
    codes = [reason["code"] for reason in credit]
    assert set(codes) >= STORY_CODES
    assert len(codes) == len(set(codes))  # each once
    for reason in credit:
        assert reason["advice"]
        assert reason["message"] not in reason["advice"]  # the advice alone, not repeated
    missed = next(reason for reason in credit if reason["code"] == "missed_payments")
    assert missed["params"] == {"value": 3}
    contributions = [reason["contribution"] for reason in credit]
    assert contributions == sorted(contributions, reverse=True)

    top = (await scoring.client.get(url, params={"top": 2})).json()
    assert [r["code"] for r in top["assessments"]["credit"]["reasons"]] == codes[:2]
    refused = await scoring.client.get(url, params={"top": 0})
    assert refused.status_code == 422

    async def of_the_record() -> CustomerAssessed | None:
        events = scoring.published.of("scoring.customer_assessed.v1", customer_id)
        found = [
            e
            for e in events
            if isinstance(e, CustomerAssessed)
            and e.trigger_event_type == "customer.credit_record_added.v1"
        ]
        return found[-1] if found else None

    event = await wait_until(of_the_record, timeout=10, message="the record's assessment")
    assert [reason.code for reason in event.reasons["credit"]] == codes
    assert all(reason.advice for reason in event.reasons["credit"])
    # When the record happened: its as-of date, not when it was assessed.
    assert event.happened_at == datetime(2026, 10, 1, tzinfo=UTC)
