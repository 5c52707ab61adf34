"""The customer service's OpenAPI examples are taken as they are shown (issue 18): the
customer example creates a customer, the CSV import example imports every row."""

from __future__ import annotations

from ..conftest import CustomerApp


async def test_the_documented_examples_are_accepted(app: CustomerApp) -> None:
    doc = (await app.client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    created = await app.client.post("/v1/customers", json=schemas["CustomerCreate"]["examples"][0])
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Ana Pereira"
    csv = doc["paths"]["/v1/customers/import"]["post"]["requestBody"]["content"]["text/csv"]
    imported = await app.client.post(
        "/v1/customers/import",
        content=csv["example"].encode(),
        headers={"content-type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    # Row 1 is the example customer created above (matched on its passport), row 2 is new.
    assert [row["status"] for row in imported.json()["rows"]] == ["unchanged", "created"]
