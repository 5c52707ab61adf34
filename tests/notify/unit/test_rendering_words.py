"""Notify renders an alert's words from its message code, in each recipient's locale: the
subject names the customer once, the body reads as sentences (never a rule expression), and
when the thing happened is shown beside when the alert was raised. Pure."""

# ruff: noqa: RUF001

from __future__ import annotations

from datetime import UTC, datetime

from riskwatch_notify.domain.models import Alert, RuleType, Severity
from riskwatch_notify.domain.rendering import (
    render_alert_email,
    render_alert_sms,
    render_in_app,
    render_webhook_payload,
)

from .factories import make_alert, make_recipient

ENGLISH = make_recipient(locale="en", time_zone="UTC")
CHINESE = make_recipient(locale="zh-CN", time_zone="Asia/Shanghai")
STORY_PARAMS = {
    "customer": "Jane Borrower",
    "previous_credit_level": "medium",
    "credit_level": "critical",
    "credit_pd": "0.41",
    "rule": "Credit risk level rose",
    "happened_at": "2026-10-01T00:00:00+00:00",
}


def _story_alert() -> Alert:
    return make_alert(
        rule_name="Credit risk level rose",
        rule_type=RuleType.CREDIT_RISK,
        severity=Severity.CRITICAL,
        customer_name="Jane Borrower",
        title="Credit risk rose to critical: Jane Borrower",
        summary="Jane Borrower's credit risk rose from medium to critical "
        "(probability of default 41%).",
        message_code="alert.credit_level_rose",
        message_params=STORY_PARAMS,
        happened_at=datetime(2026, 10, 1, tzinfo=UTC),
        evidence={"risk.credit_level": "critical", "risk.credit_level_changed": True},
        coded_reasons=(
            {
                "code": "missed_payments",
                "message": "missed payments 3",
                "params": {"value": 3},
                "advice": "contact the customer and agree a repayment schedule",
            },
        ),
        reasons=(
            "missed payments 3 — contact the customer and agree a repayment schedule",
            "payments 30+ days late 2 — contact the customer about the late payments",
            "bureau score 540 — tighten credit terms; request updated income documents",
        ),
    )


def test_the_story_email_reads_as_sentences_in_english() -> None:
    email = render_alert_email(_story_alert(), ENGLISH)
    assert email.subject == "[Critical] Credit risk rose to critical — Jane Borrower"
    assert email.subject.count("Jane Borrower") == 1
    assert email.text.startswith(
        "Credit risk rose to critical — Jane Borrower\n"
        "Jane Borrower's credit risk rose from medium to critical (probability of default 41%)."
    )
    assert "Happened: 2026-10-01 00:00 UTC" in email.text
    assert email.text.count("missed payments 3") == 1
    assert "Credit risk level: critical" in email.text
    assert "Credit risk level changed: yes" in email.text
    assert " held (" not in email.text
    assert "risk.credit_level >" not in email.text


def test_the_story_email_in_chinese() -> None:
    email = render_alert_email(_story_alert(), CHINESE)
    assert email.subject == "【严重】 信用风险升至严重 — Jane Borrower"
    assert "Jane Borrower的信用风险由中升至严重（违约概率41%）。" in email.text
    assert "发生时间：2026年10月1日 08:00（UTC+08:00）" in email.text
    assert "信用风险升至严重" in email.html
    # Reasons and evidence in the recipient's words too.
    assert "3次未按时还款 — 联系客户并商定还款计划" in email.text
    assert "信用风险等级: 严重" in email.text
    assert "信用风险等级变化: 是" in email.text


def test_sms_and_in_app_use_the_recipient_locale() -> None:
    alert = _story_alert()
    sms = render_alert_sms(alert, CHINESE)
    assert sms.startswith(
        "RiskWatch 【严重】 信用风险升至严重. Jane Borrower的信用风险由中升至严重"
    )
    assert sms.count("Jane Borrower") == 1
    in_app = render_in_app(alert, ENGLISH)
    assert in_app.title == "[Critical] Credit risk rose to critical"
    assert in_app.body.startswith("Jane Borrower's credit risk rose from medium to critical")


def test_a_rule_with_its_own_words_and_an_old_alert_keep_their_text() -> None:
    own = make_alert(message_code="alert.custom_text", message_params={"customer": "Acme"})
    assert render_alert_email(own, CHINESE).subject.endswith(
        "Outbound wire 6x above usual — Acme Trading Ltd"
    )
    old = make_alert()
    assert render_in_app(old, CHINESE).title == "【高】 Outbound wire 6x above usual"


def test_webhooks_carry_the_code_and_parameters() -> None:
    alert = _story_alert()
    payload = render_webhook_payload(
        alert,
        event_id=alert.alert_id,
        created_at=datetime(2026, 10, 2, tzinfo=UTC),
    )
    assert payload["data"]["message_code"] == "alert.credit_level_rose"
    assert payload["data"]["message_params"]["credit_level"] == "critical"
    assert payload["data"]["happened_at"] == "2026-10-01T00:00:00+00:00"
