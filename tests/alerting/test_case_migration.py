"""alerting_0008: alerts still open when cases arrive are grouped into cases as the event path
would have grouped them; resolved ones stay without."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from riskwatch_shared.db.migrate import downgrade, run_migrations
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
RULE = (
    "INSERT INTO rules (id, version, name, rule_type, severity, status, trigger_event_types,"
    " condition, dedup_key, cooldown_seconds, suggested_actions, created_by, updated_by)"
    " VALUES (:id, 1, 'r', :type, 'high', 'active', '[]', 'true', 'customer_id', 0, '[]', 't', 't')"
)
ALERT = (
    "INSERT INTO alerts (id, rule_id, rule_version, rule_name, rule_type, severity, status,"
    " customer_id, customer_name, title, summary, evidence, scores, reasons, suggested_actions,"
    " dedup_value, dedup_open, occurrence_count, first_seen_at, last_seen_at, raised_at,"
    " happened_at, sla_due_at) VALUES (:id, :rule, 1, 'r', :type, :severity, :status, :customer,"
    " 'Jane', 't', 's', '\\x7b7d', '\\x7b7d', '\\x5b5d', '\\x5b5d', :dedup, false, 1, :at, :at,"
    " :at, :at, :sla)"
)


async def test_open_alerts_are_grouped_into_cases_on_upgrade(infra: Infra) -> None:
    async for url in migrated_database(infra, ALEMBIC_INI, "alertcases"):
        await asyncio.to_thread(downgrade, ALEMBIC_INI, url, "alerting_0007_words")
        engine = create_async_engine(url)
        credit, custom, customer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        alerts = {name: uuid.uuid4() for name in ("medium", "critical", "custom", "resolved")}
        try:
            async with engine.begin() as conn:
                for rule, rule_type in ((credit, "credit_risk"), (custom, "custom")):
                    await conn.execute(text(RULE), {"id": rule, "type": rule_type})
                for name, severity, status, rule, rule_type, hours in (
                    ("medium", "medium", "new", credit, "credit_risk", 24),
                    ("critical", "critical", "acknowledged", credit, "credit_risk", 1),
                    ("custom", "low", "new", custom, "custom", 72),
                    ("resolved", "high", "resolved", credit, "credit_risk", 4),
                ):
                    await conn.execute(
                        text(ALERT),
                        {
                            "id": alerts[name],
                            "dedup": str(alerts[name]),
                            "rule": rule,
                            "type": rule_type,
                            "severity": severity,
                            "status": status,
                            "customer": customer,
                            "at": NOW,
                            "sla": NOW + timedelta(hours=hours),
                        },
                    )
            await asyncio.to_thread(run_migrations, ALEMBIC_INI, url)
            async with engine.connect() as conn:
                cases = (
                    await conn.execute(
                        text(
                            "SELECT group_key, status, priority, alert_count, sla_due_at "
                            "FROM cases ORDER BY alert_count DESC"
                        )
                    )
                ).all()
                rows = (await conn.execute(text("SELECT id, case_id FROM alerts"))).all()
                links = {row[0]: row[1] for row in rows}
        finally:
            await engine.dispose()
        assert [tuple(row) for row in cases] == [
            (f"customer:{customer}", "investigating", "critical", 2, NOW + timedelta(hours=1)),
            (f"alert:{alerts['custom']}", "open", "low", 1, NOW + timedelta(hours=72)),
        ]
        assert links[alerts["medium"]] == links[alerts["critical"]] is not None
        assert links[alerts["custom"]] not in (None, links[alerts["medium"]])
        assert links[alerts["resolved"]] is None
