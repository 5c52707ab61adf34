"""Notify recipients: phone numbers normalised to E.164, e-mail addresses checked."""

from __future__ import annotations

from .conftest import Notify


async def test_recipient_contacts_are_normalised_and_checked(service: Notify) -> None:
    created = await service.client.post(
        "/v1/recipients",
        json={"name": "Risk desk", "email": "Risk@Bank.EXAMPLE", "phone": "+49 151 1234 5678"},
    )
    assert created.status_code == 201, created.text
    assert (created.json()["email"], created.json()["phone"]) == (
        "Risk@bank.example",
        "+4915112345678",
    )
    for bad in ({"phone": "((((("}, {"phone": "+1 555 0100"}, {"email": "risk@@bank.example"}):
        refused = await service.client.post("/v1/recipients", json={"name": "x", **bad})
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"] == "application/problem+json"
