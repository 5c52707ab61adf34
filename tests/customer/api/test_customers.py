"""Customers: create, read, update, list with filters and cursors, masking, RM scoping, audit,
events."""

from __future__ import annotations

from riskwatch_shared.security import Identity

from ..conftest import CreateCustomer, CustomerApp, published, unique

ANALYST = Identity(subject="analyst-1", roles=("analyst",))
VIEWER = Identity(subject="viewer-1", roles=("viewer",))
RM_1 = Identity(subject="rm-1", roles=("relationship_manager",), staff_id="rm-1")
RM_2 = Identity(subject="rm-2", roles=("relationship_manager",), staff_id="rm-2")
INGEST = Identity(subject="core-banking", kind="api_key", roles=("ingest",))


async def test_create_then_get_shows_whole_record_to_admin(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    created = await create_customer(name="Grace Hopper", tags=["vip", "founder"])
    assert created["personal_data_masked"] is False
    fetched = (await app.client.get(f"/v1/customers/{created['id']}")).json()
    assert fetched["name"] == "Grace Hopper"
    assert fetched["document_number"] == created["document_number"]
    assert fetched["tags"] == ["vip", "founder"]
    assert fetched["status"] == "active"
    assert fetched["kyc_status"] == "pending"
    assert fetched["risk_levels"] == {
        "credit": None,
        "anomaly": None,
        "churn": None,
        "overall": None,
        "updated_at": None,
    }


async def test_create_publishes_customer_created(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    created = await create_customer()
    [event] = await published(
        app, "customer.created.v1", lambda p: p["customer_id"] == created["id"]
    )
    assert event["customer"]["name"] == created["name"]
    assert event["source"] == "customer"


async def test_personal_data_is_masked_for_roles_that_may_not_see_it(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    created = await create_customer(
        document_number="AB1234567", phone="+44 7400 900123", email="ada@example.com"
    )
    for identity in (VIEWER, RM_1):
        response = await app.client.get(f"/v1/customers/{created['id']}", headers=app.as_(identity))
        shown = response.json()
        assert shown["personal_data_masked"] is True
        assert shown["document_number"] == "****4567"
        assert shown["phone"] == "****0123"
        assert shown["email"] == "a***@example.com"
        assert "James" not in shown["address"]
        assert shown["name"] == created["name"]
    analyst = await app.client.get(f"/v1/customers/{created['id']}", headers=app.as_(ANALYST))
    assert analyst.json()["document_number"] == "AB1234567"


async def test_relationship_manager_sees_only_own_customers(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    segment = unique("seg")
    mine = await create_customer(relationship_manager="rm-1", segment=segment)
    theirs = await create_customer(relationship_manager="rm-2", segment=segment)
    listed = await app.client.get(
        "/v1/customers", params={"segment": segment}, headers=app.as_(RM_1)
    )
    assert [c["id"] for c in listed.json()["items"]] == [mine["id"]]
    hidden = await app.client.get(f"/v1/customers/{theirs['id']}", headers=app.as_(RM_1))
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
    patch = await app.client.patch(
        f"/v1/customers/{theirs['id']}", json={"segment": "x"}, headers=app.as_(RM_1)
    )
    assert patch.status_code == 404


async def test_relationship_manager_creates_for_themself_only(app: CustomerApp) -> None:
    from ..conftest import customer_body

    own = await app.client.post(
        "/v1/customers", json=customer_body(relationship_manager=None), headers=app.as_(RM_2)
    )
    assert own.status_code == 201
    assert own.json()["relationship_manager"] == "rm-2"
    other = await app.client.post(
        "/v1/customers", json=customer_body(relationship_manager="rm-1"), headers=app.as_(RM_2)
    )
    assert other.status_code == 403


async def test_roles_without_crm_rights_are_refused(app: CustomerApp) -> None:
    from ..conftest import customer_body

    viewer = await app.client.post("/v1/customers", json=customer_body(), headers=app.as_(VIEWER))
    assert viewer.status_code == 403
    ingest = await app.client.get("/v1/customers", headers=app.as_(INGEST))
    assert ingest.status_code == 403


async def test_missing_identity_is_unauthorized(app: CustomerApp) -> None:
    response = await app.client.get("/v1/customers", headers={"x-riskwatch-identity": "forged"})
    assert response.status_code == 401


async def test_duplicate_document_is_a_conflict(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    from ..conftest import customer_body

    created = await create_customer()
    again = await app.client.post(
        "/v1/customers", json=customer_body(document_number=created["document_number"])
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("/duplicate-customer")


async def test_invalid_customer_gives_per_field_errors(app: CustomerApp) -> None:
    from ..conftest import customer_body

    response = await app.client.post(
        "/v1/customers", json=customer_body(kind="robot", country="XX", email="nope")
    )
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    locations = {tuple(error["loc"][1:]) for error in problem["errors"]}
    assert {("kind",), ("country",), ("email",)} <= locations


async def test_update_changes_fields_audits_and_publishes(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    created = await create_customer(segment="retail", phone="+44 20 7946 0001")
    response = await app.client.patch(
        f"/v1/customers/{created['id']}",
        json={"segment": "private", "status": "dormant", "phone": "+44 20 7946 0002"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["segment"] == "private"
    assert response.json()["status"] == "dormant"
    [event] = await published(
        app, "customer.updated.v1", lambda p: p["customer_id"] == created["id"]
    )
    assert event["changed_fields"] == ["phone", "segment", "status"]
    audit = (await app.client.get(f"/v1/customers/{created['id']}/audit")).json()["items"]
    update, creation = audit
    assert (update["action"], creation["action"]) == ("updated", "created")
    assert update["actor"] == "admin-1"
    assert update["changes"]["segment"] == {"before": "retail", "after": "private"}
    # Personal data never sits whole in the audit trail.
    assert update["changes"]["phone"] == {"before": "****0001", "after": "****0002"}
    assert creation["changes"]["document_number"]["after"].startswith("****")


async def test_update_without_change_writes_no_audit(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    created = await create_customer(segment="retail")
    response = await app.client.patch(f"/v1/customers/{created['id']}", json={"segment": "retail"})
    assert response.status_code == 200
    audit = (await app.client.get(f"/v1/customers/{created['id']}/audit")).json()["items"]
    assert [entry["action"] for entry in audit] == ["created"]


async def test_list_filters(app: CustomerApp, create_customer: CreateCustomer) -> None:
    segment = unique("seg")
    ada = await create_customer(name="Ada Byron", segment=segment, phone="+1 202 555 0100")
    bob = await create_customer(
        name="Bob Marley", segment=segment, status="dormant", relationship_manager="rm-9"
    )

    async def ids(**params: str) -> list[str]:
        response = await app.client.get("/v1/customers", params={"segment": segment, **params})
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    assert await ids() == [bob["id"], ada["id"]]
    assert await ids(name="byron") == [ada["id"]]
    assert await ids(document_number=bob["document_number"]) == [bob["id"]]
    assert await ids(phone="+1 202 555 0100") == [ada["id"]]
    assert await ids(status="dormant") == [bob["id"]]
    assert await ids(relationship_manager="rm-9") == [bob["id"]]
    bad = await app.client.get("/v1/customers", params={"status": "asleep"})
    assert bad.status_code == 422


async def test_list_pages_with_cursor(app: CustomerApp, create_customer: CreateCustomer) -> None:
    segment = unique("seg")
    made = [(await create_customer(segment=segment))["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"segment": segment, "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await app.client.get("/v1/customers", params=params)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    bad = await app.client.get("/v1/customers", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422


async def test_lists_and_360_mask_for_a_viewer(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    segment = unique("seg")
    created = await create_customer(segment=segment, document_number="ZX9876543")
    listed = await app.client.get(
        "/v1/customers", params={"segment": segment}, headers=app.as_(VIEWER)
    )
    [shown] = listed.json()["items"]
    assert shown["document_number"] == "****6543"
    view = await app.client.get(f"/v1/customers/{created['id']}/360", headers=app.as_(VIEWER))
    assert view.json()["customer"]["document_number"] == "****6543"
    assert view.json()["customer"]["personal_data_masked"] is True


async def test_put_replaces_the_whole_record(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    from ..conftest import customer_body

    created = await create_customer(segment="retail", tags=["vip"])
    body = customer_body(
        document_number=created["document_number"], segment="private", phone=None, tags=[]
    )
    replaced = await app.client.put(f"/v1/customers/{created['id']}", json=body)
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["segment"], replaced.json()["phone"], replaced.json()["tags"]) == (
        "private",
        None,
        [],
    )
    audit = (await app.client.get(f"/v1/customers/{created['id']}/audit")).json()["items"]
    assert set(audit[0]["changes"]) == {"segment", "phone", "tags"}
