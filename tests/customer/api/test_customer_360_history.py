"""The customer 360's financial history (issue 21, screen 3): points oldest first by as-of
date for charts, a range and a bound; a relationship manager sees only their own customers."""

from __future__ import annotations

from decimal import Decimal

from riskwatch_shared.security import Identity

from ..conftest import CreateCustomer, CustomerApp

OWNER = Identity(subject="u-rm-fh", roles=("relationship_manager",), staff_id="rm-fh")
OTHER_RM = Identity(subject="u-rm-fo", roles=("relationship_manager",), staff_id="rm-fo")
VIEWER = Identity(subject="u-viewer-fh", roles=("viewer",))


async def test_financial_history_is_a_series_oldest_first(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    customer = await create_customer(relationship_manager="rm-fh")
    path = f"/v1/customers/{customer['id']}/financial-profile"
    # Recorded out of order: the series follows the as-of dates, not the recording order.
    for as_of, income, card in (
        ("2026-06-30", "60000", "1000"),
        ("2026-03-31", "62000", "500"),
        ("2026-09-30", "48000", "9000"),
    ):
        body = {
            "annual_income": income,
            "currency": "EUR",
            "assets": {"savings": "10000"},
            "liabilities": {"card": card},
            "as_of": as_of,
        }
        created = await app.client.post(path, json=body)
        assert created.status_code == 201, created.text

    history = await app.client.get(f"{path}/history")
    assert history.status_code == 200, history.text
    points = history.json()["points"]
    assert [p["as_of"] for p in points] == ["2026-03-31", "2026-06-30", "2026-09-30"]
    assert [Decimal(p["net_worth"]) for p in points] == [
        Decimal(9500),
        Decimal(9000),
        Decimal(1000),
    ]
    assert Decimal(points[-1]["debt_to_income"]) == Decimal("0.1875")
    assert history.json()["currencies"] == ["EUR"]

    ranged = (await app.client.get(f"{path}/history", params={"as_of_from": "2026-04-01"})).json()
    assert [p["as_of"] for p in ranged["points"]] == ["2026-06-30", "2026-09-30"]
    latest = (await app.client.get(f"{path}/history", params={"limit": 1})).json()
    assert [p["as_of"] for p in latest["points"]] == ["2026-09-30"]

    owner = await app.client.get(f"{path}/history", headers=app.as_(OWNER))
    assert owner.json()["points"] == points
    viewer = await app.client.get(f"{path}/history", headers=app.as_(VIEWER))
    assert viewer.json()["points"] == points  # figures only: no personal data to mask
    other = await app.client.get(f"{path}/history", headers=app.as_(OTHER_RM))
    assert other.status_code == 404
    for params in ({"as_of_from": "last spring"}, {"limit": 0}, {"limit": 1001}):
        refused = await app.client.get(f"{path}/history", params=params)
        assert refused.status_code == 422, params
        assert refused.headers["content-type"].startswith("application/problem+json")
