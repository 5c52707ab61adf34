"""CSV import of customers with a per-row report."""

from __future__ import annotations

from riskwatch_shared.security import Identity

from ..conftest import CreateCustomer, CustomerApp, published, unique

HEADER = "kind,name,document_type,document_number,phone,email,country,segment,tags,status\n"
RM = Identity(subject="rm-1", roles=("relationship_manager",), staff_id="rm-1")


async def test_import_creates_updates_and_rejects_per_row(
    app: CustomerApp, create_customer: CreateCustomer
) -> None:
    known = await create_customer(segment="retail")
    unchanged = await create_customer(segment="retail", phone=None, email=None, tags=[])
    new_doc = unique("N")
    text = (
        HEADER
        + f"individual,New Person,passport,{new_doc},,new@example.com,DE,retail,a;b,active\n"
        + f"individual,{known['name']},passport,{known['document_number']},,,,private,,\n"
        + "robot,Bad Kind,passport,X1,,,XX,,,\n"
        + f"individual,{unchanged['name']},passport,{unchanged['document_number']},,,,,,\n"
        + "\n"
        + "corporate,,passport,X2,,,,,,\n"
    )
    response = await app.client.post(
        "/v1/customers/import", content=text.encode(), headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert [(r["row"], r["status"]) for r in report["rows"]] == [
        (2, "created"),
        (3, "updated"),
        (4, "rejected"),
        (5, "unchanged"),
        (7, "rejected"),
    ]
    assert (report["created"], report["updated"], report["unchanged"], report["rejected"]) == (
        1,
        1,
        1,
        2,
    )
    assert {tuple(e["loc"])[2:] for e in report["rows"][2]["errors"]} == {("kind",), ("country",)}
    assert report["rows"][1]["customer_id"] == known["id"]
    updated = (await app.client.get(f"/v1/customers/{known['id']}")).json()
    assert updated["segment"] == "private"
    created_id = report["rows"][0]["customer_id"]
    created = (await app.client.get(f"/v1/customers/{created_id}")).json()
    assert created["tags"] == ["a", "b"]
    assert created["country"] == "DE"
    await published(app, "customer.created.v1", lambda p: p["customer_id"] == created_id)
    audit = (await app.client.get(f"/v1/customers/{known['id']}/audit")).json()["items"]
    assert audit[0]["changes"] == {"segment": {"before": "retail", "after": "private"}}


async def test_import_refuses_a_file_without_required_columns(app: CustomerApp) -> None:
    response = await app.client.post(
        "/v1/customers/import",
        content=b"name,phone\nAda,123\n",
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 422
    assert "document_type" in response.json()["detail"]


async def test_import_is_for_managers(app: CustomerApp) -> None:
    response = await app.client.post(
        "/v1/customers/import",
        content=HEADER.encode(),
        headers={"content-type": "text/csv", **app.as_(RM)},
    )
    assert response.status_code == 403


async def test_import_in_bulk_and_repeated_documents(app: CustomerApp) -> None:
    prefix = unique("BULK")
    lines = [f"corporate,Firm {n},registry,{prefix}-{n},,,GB,sme,,active\n" for n in range(300)]
    lines.append(f"corporate,Firm again,registry,{prefix}-7,,,GB,sme,,active\n")
    response = await app.client.post(
        "/v1/customers/import",
        content=(HEADER + "".join(lines)).encode(),
        headers={"content-type": "text/csv"},
    )
    report = response.json()
    assert (report["created"], report["rejected"]) == (300, 1)
    assert report["rows"][-1]["errors"][0]["type"] == "document.repeated"
    assert report["rows"][-1]["row"] == 302
    stored = await app.scalar(
        "SELECT count(*) FROM customers WHERE document_number LIKE :p", p=f"{prefix}-%"
    )
    audited = await app.scalar(
        "SELECT count(*) FROM audit_log a JOIN customers c ON c.id = a.customer_id "
        "WHERE c.document_number LIKE :p",
        p=f"{prefix}-%",
    )
    assert (stored, audited) == (300, 300)
