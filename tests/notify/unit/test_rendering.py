# ruff: noqa: RUF001
import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from riskwatch_notify.domain.locales import resolve_locale
from riskwatch_notify.domain.models import Recipient, Severity
from riskwatch_notify.domain.rendering import (
    WEBHOOK_EVENT_TYPE,
    render_alert_email,
    render_alert_sms,
    render_digest_email,
    render_digest_sms,
    render_in_app,
    render_webhook_payload,
    sms_segments,
)

from .factories import make_alert, make_recipient

ENGLISH = make_recipient(locale="en", time_zone="Europe/Berlin")
CHINESE = make_recipient(locale="zh-CN", time_zone="Asia/Shanghai")


def test_english_email_carries_the_report_essentials_in_local_time() -> None:
    rendered = render_alert_email(make_alert(), ENGLISH)
    # The customer once, by name; the type is in the body.
    assert rendered.subject == "[High] Outbound wire 6x above usual — Acme Trading Ltd"
    for expected in (
        "Severity: High",
        "Raised: 2024-03-05 14:30 CET (UTC+01:00)",
        "Rule: Large outbound wire (rule-large-wire)",
        "amount: 150,000.00 EUR",
        "z_score: 6.2",
        "Amount is 6.2 standard deviations",
        "Call the customer to confirm the payment",
        "https://riskwatch.example/alerts/42",
    ):
        assert expected in rendered.text
    assert '<a href="https://riskwatch.example/alerts/42">' in rendered.html


def test_chinese_email_uses_chinese_labels_and_beijing_time() -> None:
    rendered = render_alert_email(make_alert(), CHINESE)
    assert rendered.subject.startswith("【高】 ")
    assert "预警类型：交易异常" in rendered.text
    assert "触发时间：2024年3月5日 21:30（UTC+08:00）" in rendered.text
    assert "建议措施：" in rendered.text
    assert 'lang="zh-CN"' in rendered.html


def test_html_is_escaped_but_text_is_not() -> None:
    alert = make_alert(customer_name="<script>alert(1)</script>", summary="A & B")
    rendered = render_alert_email(alert, ENGLISH)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "A &amp; B" in rendered.html
    assert "<script>alert(1)</script>" in rendered.text


@pytest.mark.parametrize(
    ("locale", "resolved"),
    [("zh-CN", "zh-CN"), ("zh_CN", "zh-CN"), ("zh", "zh-CN"), ("fr-FR", "en"), (None, "en")],
)
def test_locale_fallback(locale: str | None, resolved: str) -> None:
    assert resolve_locale(locale) == resolved


def test_evidence_is_capped_to_the_top_items() -> None:
    evidence = {f"signal_{n}": n for n in range(10)}
    rendered = render_alert_email(make_alert(evidence=evidence), ENGLISH)
    assert "signal_4" in rendered.text
    assert "signal_5" not in rendered.text


@pytest.mark.parametrize("recipient", [ENGLISH, CHINESE])
def test_sms_fits_two_parts_and_keeps_the_link(recipient: Recipient) -> None:
    alert = make_alert(title="Very long title " * 20)
    text = render_alert_sms(alert, recipient)
    assert sms_segments(text) <= 2
    assert text.endswith(" https://riskwatch.example/alerts/42")


def test_digest_lists_every_alert_most_severe_first() -> None:
    alerts = [
        make_alert(title="Medium one", severity=Severity.MEDIUM),
        make_alert(title="Critical one", severity=Severity.CRITICAL),
        make_alert(title="Low one", severity=Severity.LOW),
    ]
    rendered = render_digest_email(alerts, ENGLISH)
    assert rendered.subject == "[RiskWatch] 3 new alerts, highest severity: Critical"
    positions = [rendered.text.index(title) for title in ("Critical one", "Medium one", "Low one")]
    assert positions == sorted(positions)
    assert rendered.html.count('<a href="https://riskwatch.example/alerts/42">') == 3
    chinese = render_digest_email(alerts, CHINESE)
    assert chinese.subject == "【RiskWatch】 3 条新预警，最高严重程度：严重"
    sms = render_digest_sms(alerts, CHINESE, "https://riskwatch.example/inbox")
    assert sms.endswith("https://riskwatch.example/inbox")
    assert sms_segments(sms) <= 2
    with pytest.raises(ValueError, match="at least one"):
        render_digest_email([], ENGLISH)


def test_in_app_message() -> None:
    alert = make_alert(severity=Severity.CRITICAL)
    message = render_in_app(alert, ENGLISH)
    assert message.title == "[Critical] Outbound wire 6x above usual"
    assert message.severity is Severity.CRITICAL
    assert message.link == alert.url
    assert "Customer: Acme Trading Ltd (CUST-0042)" in message.body


def test_webhook_payload_is_plain_json_with_money_as_strings() -> None:
    alert = make_alert()
    event_id = uuid4()
    payload = render_webhook_payload(
        alert, event_id=event_id, created_at=datetime(2024, 3, 5, 13, 31, tzinfo=UTC)
    )
    assert json.loads(json.dumps(payload)) == payload
    assert payload["id"] == str(event_id)
    assert payload["type"] == WEBHOOK_EVENT_TYPE
    data = payload["data"]
    assert data["alert_id"] == str(alert.alert_id)
    assert data["severity"] == "high"
    assert data["evidence"]["z_score"] == "6.2"
    assert data["raised_at"] == "2024-03-05T13:30:00+00:00"
