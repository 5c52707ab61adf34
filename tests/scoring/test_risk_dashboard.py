"""Customers by risk level and segment, and this week's top risers (issue 24, screen 3): the
rollup the assessment trigger keeps (the newest wins, a late older one changes nothing; the
last score before this UTC week kept beside it), the
customer directory from customer events, an RM's own customers only, names masked for
viewers, who may ask, hostile parameters refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from riskwatch_scoring.api.dashboards import masked_name
from riskwatch_scoring.models import AssessmentRow
from riskwatch_shared.events.common import CustomerSnapshot
from riskwatch_shared.events.customer import CustomerCreated
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import identity_headers, wait_until

from .builders import scalar
from .conftest import ScoringHarness

NOW = datetime.now(UTC)
VIEWER = Identity(subject="u-vic", roles=("viewer",))
ANALYST = Identity(subject="u-ann", roles=("analyst",))
INGEST = Identity(subject="u-core", roles=("ingest",))
PATH = "/v1/customers/risk-distribution"


async def _assess(scoring: ScoringHarness, rows: list[dict[str, Any]]) -> None:
    """One INSERT statement of these rows: one batch for the rollup's trigger, as the event
    path's COPY of a batch is."""
    model_id = await scalar(scoring.runtime.engine, "SELECT id FROM scoring_model LIMIT 1")
    values = [{"id": uuid.uuid4(), "kind": "credit", "model_id": model_id, "is_shadow": False,
               "model_version": "v", "inputs_hash": "h", "reasons": [],
               "trigger_event_type": "test", **row} for row in rows]  # fmt: skip
    async with scoring.runtime.engine.begin() as conn:
        await conn.execute(insert(AssessmentRow).values(values))


async def _customer(scoring: ScoringHarness, rm: str, name: str, segment: str) -> uuid.UUID:
    customer_id = uuid.uuid4()
    snapshot = CustomerSnapshot(kind="individual", name=name, status="active", segment=segment,
                                relationship_manager=rm)  # fmt: skip
    await scoring.publish(CustomerCreated(customer_id=customer_id, customer=snapshot))
    sql = "SELECT count(*) FROM customer_directory WHERE customer_id = :id"

    async def known() -> bool:
        return bool(await scalar(scoring.runtime.engine, sql, id=customer_id))

    await wait_until(known, timeout=20, interval=0.05, message="the directory has the customer")
    return customer_id


async def test_levels_by_segment_and_top_risers_of_an_rms_book(scoring: ScoringHarness) -> None:
    rm = Identity(subject="u-rm", roles=("relationship_manager",),
                  staff_id=f"rm-dash-{uuid.uuid4().hex[:6]}")  # fmt: skip
    riser = await _customer(scoring, str(rm.staff_id), "Ana Li", "sme")
    faller = await _customer(scoring, str(rm.staff_id), "Bo Wu", "retail")
    # After the assessments the creation made (at its event time, now): the newest.
    week_ago, latest = NOW - timedelta(days=10), datetime.now(UTC) + timedelta(minutes=1)
    await _assess(scoring, [
        {"customer_id": riser, "score": 0.2, "level": "low", "assessed_at": week_ago},
        {"customer_id": riser, "score": 0.7, "level": "high", "assessed_at": latest},
        {"customer_id": faller, "score": 0.5, "level": "medium", "assessed_at": week_ago},
        {"customer_id": faller, "score": 0.4, "level": "medium", "assessed_at": latest},
    ])  # fmt: skip
    # A late, older assessment (a replay) does not change the current level.
    await _assess(scoring, [{"customer_id": riser, "score": 0.9, "level": "critical",
                             "assessed_at": NOW - timedelta(days=20)}])  # fmt: skip

    response = await scoring.client.get(PATH, headers=identity_headers(rm))
    assert response.status_code == 200, response.text
    body = response.json()
    credit = {(c["level"], c["segment"]): c["customers"] for c in body["levels"]
              if c["kind"] == "credit"}  # fmt: skip
    assert credit == {("high", "sme"): 1, ("medium", "retail"): 1}
    assert [r["customer_id"] for r in body["top_risers"]] == [str(riser)]
    top = body["top_risers"][0]
    assert (top["score_before"], top["level_before"], top["score"], top["level"]) == (
        0.2, "low", 0.7, "high")  # fmt: skip
    assert top["rise"] == 0.5
    assert top["name"] == "A** L*"  # masked: an RM is not a role that unmasks
    assert top["segment"] == "sme"

    everyone = (await scoring.client.get(PATH, headers=identity_headers(VIEWER))).json()
    mine = next(r for r in everyone["top_risers"] if r["customer_id"] == str(riser))
    assert mine["name"] == "A** L*"  # a viewer sees it masked
    analyst = (await scoring.client.get(PATH, headers=identity_headers(ANALYST))).json()
    assert next(r for r in analyst["top_risers"] if r["customer_id"] == str(riser))["name"] == (
        "Ana Li"
    )


async def test_who_may_ask_and_hostile_parameters(scoring: ScoringHarness) -> None:
    refused = await scoring.client.get(PATH, headers=identity_headers(INGEST))
    assert refused.status_code == 403
    for params in ({"kind": "nonsense"}, {"risers": "500"}, {"risers": "-1"}):
        bad = await scoring.client.get(PATH, params=params, headers=identity_headers(VIEWER))
        assert bad.status_code == 422, params
        assert bad.headers["content-type"].startswith("application/problem+json")


def test_masked_names_keep_initials_only() -> None:
    assert masked_name("Zhang Wei") == "Z**** W**"
    assert masked_name("王芳") == "王*"
    assert masked_name(None) is None
