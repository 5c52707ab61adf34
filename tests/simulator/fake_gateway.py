"""A small in-memory stand-in for the gateway, served in process through httpx.ASGITransport.

It keeps what it is sent, can fail the first batches (503 / 429 with Retry-After), replays
an answer for a repeated Idempotency-Key, and raises a few alerts so the report has data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

FOREIGN = {"RO", "NG", "VN", "BR", "TH"}
PASSWORD = "correct horse battery staple"


@dataclass
class FakeState:
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    batch_keys: list[str | None] = field(default_factory=list)
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    ingest_key: str = "rw_0123abcd_sekrit"
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    arrivals: list[str] = field(default_factory=list)  # "batch" / "record", in order


def _alert(state: FakeState, customer_id: str, rule_type: str, txn: str | None) -> None:
    raised = datetime.now(UTC)
    state.alerts.append(
        {
            "id": str(uuid.uuid4()),
            "customer_id": customer_id,
            "rule_type": rule_type,
            "rule_name": f"fake {rule_type}",
            "raised_at": raised.isoformat(),
            "transaction_id": txn,
            "sent_at": (raised + timedelta(milliseconds=40)).isoformat(),
        }
    )


def fake_gateway(state: FakeState) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        auth = request.headers.get("authorization")
        state.calls.append((request.method, request.url.path, auth))
        return await call_next(request)

    @app.post("/v1/auth/token")
    async def token(body: dict[str, Any]) -> Any:
        if body.get("password") != PASSWORD:
            return JSONResponse({"title": "Unauthorized"}, status_code=401)
        return {"access_token": "user-token", "token_type": "bearer", "expires_in": 900}

    @app.post("/v1/api-keys", status_code=201)
    async def api_key(body: dict[str, Any]) -> dict[str, Any]:
        assert body["roles"] == ["ingest"]
        return {"id": "0123abcd", "name": body["name"], "secret": state.ingest_key}

    @app.get("/v1/rules")
    async def rules(status: str | None = None) -> dict[str, Any]:
        return {"items": [r for r in state.rules if status in (None, r["status"])]}

    @app.get("/v1/rule-templates")
    async def templates() -> list[dict[str, Any]]:
        return [
            {"key": "big", "name": "Big", "rule_type": "transaction_anomaly", "severity": "high",
             "trigger_event_types": ["scoring.transaction_scored.v1"], "condition": "x > 1",
             "dedup_key": "customer_id", "cooldown_seconds": 60, "description": "d",
             "parameters": {}},
        ]  # fmt: skip

    @app.post("/v1/rules", status_code=201)
    async def create_rule(body: dict[str, Any]) -> dict[str, Any]:
        assert "parameters" not in body
        rule = {**body, "id": str(uuid.uuid4()), "status": "draft"}
        state.rules.append(rule)
        return rule

    @app.post("/v1/rules/{rule_id}/activate")
    async def activate(rule_id: str) -> dict[str, Any]:
        rule = next(r for r in state.rules if r["id"] == rule_id)
        rule["status"] = "active"
        return rule

    @app.post("/v1/customers", status_code=201)
    async def create_customer(body: dict[str, Any]) -> Any:
        if any(c["document_number"] == body["document_number"] for c in state.customers.values()):
            return JSONResponse({"title": "Conflict"}, status_code=409)
        customer = {**body, "id": str(uuid.uuid4())}
        state.customers[customer["id"]] = customer
        return customer

    @app.get("/v1/customers")
    async def customers(document_number: str | None = None) -> dict[str, Any]:
        found = [c for c in state.customers.values() if c["document_number"] == document_number]
        return {"items": found, "next_cursor": None}

    @app.post("/v1/customers/{customer_id}/accounts", status_code=201)
    async def account(customer_id: str, body: dict[str, Any]) -> dict[str, Any]:
        made = {**body, "id": str(uuid.uuid4())}
        state.accounts.setdefault(customer_id, []).append(made)
        return made

    @app.post("/v1/customers/{customer_id}/{kind}", status_code=201)
    async def customer_record(customer_id: str, kind: str, body: dict[str, Any]) -> Any:
        state.records.append((customer_id, kind, body))
        state.arrivals.append("record")
        if kind == "credit-records" and body["missed_payments"] >= 2:
            _alert(state, customer_id, "credit_risk", None)
        return {"id": str(uuid.uuid4())}

    @app.post("/v1/transactions/batch")
    async def batch(
        body: dict[str, Any], idempotency_key: str | None = Header(default=None)
    ) -> Any:
        state.batch_keys.append(idempotency_key)
        if state.failures:
            status, headers = state.failures.pop(0)
            return JSONResponse({"title": "busy"}, status_code=status, headers=headers)
        if idempotency_key in state.replies:
            return state.replies[idempotency_key]
        state.arrivals.append("batch")
        items = []
        for index, item in enumerate(body["items"]):
            existing = state.transactions.get(item["external_id"])
            outcome = "duplicate" if existing else "accepted"
            txn = existing or {**item, "transaction_id": str(uuid.uuid4())}
            state.transactions[item["external_id"]] = txn
            items.append({"index": index, "external_id": item["external_id"], "status": outcome,
                          "transaction_id": txn["transaction_id"]})  # fmt: skip
            big = Decimal(item["amount"]) >= 5_000 and item["direction"] == "outbound"
            if outcome == "accepted" and big and item.get("country") in FOREIGN:
                _alert(state, item["customer_id"], "transaction_anomaly", txn["transaction_id"])
        reply = {
            "accepted": sum(1 for i in items if i["status"] == "accepted"),
            "duplicates": sum(1 for i in items if i["status"] == "duplicate"),
            "rejected": 0,
            "items": items,
        }
        if idempotency_key:
            state.replies[idempotency_key] = reply
        return reply

    @app.get("/v1/subscriptions")
    async def subscriptions() -> dict[str, Any]:
        return {"items": state.subscriptions, "next_cursor": None}

    @app.post("/v1/teams", status_code=201)
    @app.post("/v1/recipients", status_code=201)
    async def notify_record(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "id": str(uuid.uuid4())}

    @app.post("/v1/subscriptions", status_code=201)
    async def subscribe(body: dict[str, Any]) -> dict[str, Any]:
        state.subscriptions.append({**body, "id": str(uuid.uuid4())})
        return state.subscriptions[-1]

    @app.post("/v1/labels", status_code=201)
    async def labels(body: dict[str, Any]) -> dict[str, int]:
        state.labels.extend(body["labels"])
        return {"created": len(body["labels"])}

    @app.get("/v1/alerts")
    async def alerts(customer_id: str | None = None) -> dict[str, Any]:
        found = [a for a in state.alerts if customer_id in (None, a["customer_id"])]
        return {"items": found, "next_cursor": None}

    @app.get("/v1/alerts/{alert_id}/notifications")
    async def notifications(alert_id: str) -> dict[str, Any]:
        alert = next(a for a in state.alerts if a["id"] == alert_id)
        return {"alert_id": alert_id, "notifications": [{"sent_at": alert["sent_at"]}]}

    @app.get("/v1/warnings/catalogue")
    async def warning_catalogue() -> dict[str, Any]:
        return {"indicators": [{"key": "early_arrears", "name": "Early arrears"}]}

    @app.get("/v1/warnings")
    async def warnings(customer_id: str) -> dict[str, Any]:
        """A customer the fake raised a credit alert on was warned on their first credit
        record's date."""
        credit = [
            a
            for a in state.alerts
            if a["customer_id"] == customer_id and a["rule_type"] == "credit_risk"
        ]
        dates = sorted(
            body["as_of"]
            for c, kind, body in state.records
            if c == customer_id and kind == "credit-records"
        )
        if not credit or not dates:
            return {"items": []}
        first = f"{dates[0]}T00:00:00+00:00"
        return {
            "items": [{"indicator": "early_arrears", "first_amber_at": first, "first_red_at": None}]
        }

    @app.get("/v1/customers/{customer_id}/risk")
    async def risk(customer_id: str) -> dict[str, Any]:
        flagged = {a["rule_type"] for a in state.alerts if a["customer_id"] == customer_id}
        score = {
            kind: 0.9 if rule in flagged else 0.1
            for kind, rule in (
                ("credit", "credit_risk"),
                ("anomaly", "transaction_anomaly"),
                ("churn", "churn"),
            )
        }
        return {"customer_id": customer_id, "assessments": {
            kind: {"kind": kind, "score": value} for kind, value in score.items()}}  # fmt: skip

    return app
