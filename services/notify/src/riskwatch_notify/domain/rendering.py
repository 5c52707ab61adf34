"""Turn an alert into what each channel sends: email, SMS, webhook JSON, in-app, digests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any
from uuid import UUID

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from riskwatch_notify.domain.locales import LABELS, format_moment, resolve_locale
from riskwatch_notify.domain.models import Alert, Recipient, Severity
from riskwatch_notify.domain.sms_text import DEFAULT_MAX_PARTS, fit_sms, sms_segments
from riskwatch_shared.messages import evidence_item, message_for, render_reason

__all__ = [
    "WEBHOOK_EVENT_TYPE",
    "InAppMessage",
    "RenderedEmail",
    "render_alert_email",
    "render_alert_sms",
    "render_digest_email",
    "render_digest_sms",
    "render_in_app",
    "render_webhook_payload",
    "sms_segments",
]

WEBHOOK_EVENT_TYPE = "riskwatch.alert.raised.v1"
TOP_EVIDENCE_ITEMS = 5
MAX_EVIDENCE_VALUE_CHARS = 120


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class InAppMessage:
    alert_id: UUID
    title: str
    body: str
    severity: Severity
    link: str


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("riskwatch_notify", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates ship with the package: no stat() per render
    )


def _render(template_name: str, **context: Any) -> str:
    return _environment().get_template(template_name).render(**context)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _format_evidence_value(value: Any) -> str:
    if isinstance(value, Mapping) and {"amount", "currency"} <= value.keys():
        return f"{Decimal(str(value['amount'])):,} {value['currency']}"
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return ", ".join(_format_evidence_value(item) for item in value)
    text = str(value)
    if len(text) > MAX_EVIDENCE_VALUE_CHARS:
        return text[: MAX_EVIDENCE_VALUE_CHARS - 1] + "…"
    return text


def _customer_label(alert: Alert) -> str:
    if alert.customer_name:
        return f"{alert.customer_name} ({alert.customer_id})"
    return alert.customer_id


def alert_words(alert: Alert, locale: str) -> tuple[str, str]:
    """The alert's title (without the customer: subjects and headings add the name once)
    and summary in `locale`, from its message code; the stored text for a rule with its
    own words (or an alert from before message codes)."""
    message = message_for(alert.message_code)
    if message is None:
        return alert.title, alert.summary
    params = alert.message_params
    return message.render_title(params, locale), message.render_summary(params, locale)


def _alert_view(alert: Alert, recipient: Recipient, locale: str) -> dict[str, Any]:
    labels = LABELS[locale]
    evidence = list(alert.evidence.items())[:TOP_EVIDENCE_ITEMS]
    title, summary = alert_words(alert, locale)
    happened = alert.happened_at
    return {
        "alert": alert,
        "title": title,
        "summary": summary,
        # In a subject or an SMS the customer is named once, by name (the body has the id).
        "headline": f"{title} — {alert.customer_name}"
        if alert.customer_name and alert.customer_name not in title
        else title,
        "severity_label": labels[f"severity.{alert.severity.value}"],
        "type_label": labels[f"rule_type.{alert.rule_type.value}"],
        "customer": _customer_label(alert),
        "customer_name": alert.customer_name or alert.customer_id,
        "when": format_moment(alert.raised_at, recipient.time_zone, locale),
        "happened": None
        if happened is None
        else format_moment(happened, recipient.time_zone, locale),
        "evidence": [
            evidence_item(key, value, locale) or (key, _format_evidence_value(value))
            for key, value in evidence
        ],
        "reasons": [render_reason(reason, locale) for reason in alert.coded_reasons]
        or list(alert.reasons),
    }


def _by_urgency(alerts: Sequence[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: (-a.severity.rank, a.raised_at))


def render_alert_email(alert: Alert, recipient: Recipient) -> RenderedEmail:
    """Subject, plain text and HTML (autoescaped) in the recipient's locale and time zone."""
    locale = resolve_locale(recipient.locale)
    context = {"t": LABELS[locale], "view": _alert_view(alert, recipient, locale)}
    return RenderedEmail(
        subject=_one_line(_render("email/alert_subject.txt", **context)),
        text=_render("email/alert.txt", **context),
        html=_render("email/alert.html", **context),
    )


def render_digest_email(alerts: Sequence[Alert], recipient: Recipient) -> RenderedEmail:
    """One email bundling several alerts held for `recipient`, most urgent first."""
    if not alerts:
        raise ValueError("a digest needs at least one alert")
    locale = resolve_locale(recipient.locale)
    labels = LABELS[locale]
    ordered = _by_urgency(alerts)
    top = labels[f"severity.{ordered[0].severity.value}"]
    context = {
        "t": labels,
        "title": labels["digest_title"].format(count=len(ordered), severity=top),
        "views": [_alert_view(alert, recipient, locale) for alert in ordered],
    }
    return RenderedEmail(
        subject=_one_line(_render("email/digest_subject.txt", **context)),
        text=_render("email/digest.txt", **context),
        html=_render("email/digest.html", **context),
    )


def render_alert_sms(
    alert: Alert, recipient: Recipient, *, max_parts: int = DEFAULT_MAX_PARTS
) -> str:
    """A short SMS, within `max_parts` parts, ending with the alert's link kept whole."""
    locale = resolve_locale(recipient.locale)
    context = {"t": LABELS[locale], "view": _alert_view(alert, recipient, locale)}
    body = _one_line(_render("sms/alert.txt", **context))
    return fit_sms(body, max_parts, suffix=" " + alert.url)


def render_digest_sms(
    alerts: Sequence[Alert],
    recipient: Recipient,
    inbox_url: str,
    *,
    max_parts: int = DEFAULT_MAX_PARTS,
) -> str:
    if not alerts:
        raise ValueError("a digest needs at least one alert")
    locale = resolve_locale(recipient.locale)
    labels = LABELS[locale]
    ordered = _by_urgency(alerts)
    top = labels[f"severity.{ordered[0].severity.value}"]
    title = labels["digest_title"].format(count=len(ordered), severity=top)
    context = {
        "t": labels,
        "title": title,
        "headlines": [_alert_view(alert, recipient, locale)["headline"] for alert in ordered],
    }
    body = _one_line(_render("sms/digest.txt", **context))
    return fit_sms(body, max_parts, suffix=" " + inbox_url)


def render_in_app(alert: Alert, recipient: Recipient) -> InAppMessage:
    locale = resolve_locale(recipient.locale)
    context = {"t": LABELS[locale], "view": _alert_view(alert, recipient, locale)}
    return InAppMessage(
        alert_id=alert.alert_id,
        title=_one_line(_render("in_app/title.txt", **context)),
        body=_render("in_app/body.txt", **context).strip(),
        severity=alert.severity,
        link=alert.url,
    )


def _jsonable(value: Any) -> Any:
    """Plain JSON types; Decimal becomes a string so money never turns into a float."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return _jsonable(value.value)
    return value


def render_webhook_payload(alert: Alert, *, event_id: UUID, created_at: datetime) -> dict[str, Any]:
    """The JSON body posted to webhook subscribers (stable, versioned by `type`)."""
    data = {
        "alert_id": alert.alert_id,
        "rule_id": alert.rule_id,
        "rule_name": alert.rule_name,
        "rule_type": alert.rule_type,
        "severity": alert.severity,
        "customer_id": alert.customer_id,
        "customer_name": alert.customer_name,
        "relationship_manager": alert.relationship_manager,
        "title": alert.title,
        "summary": alert.summary,
        "message_code": alert.message_code,
        "message_params": alert.message_params,
        "happened_at": alert.happened_at,
        "evidence": alert.evidence,
        "reasons": alert.reasons,
        "suggested_actions": alert.suggested_actions,
        "raised_at": alert.raised_at,
        "url": alert.url,
    }
    envelope = {"id": event_id, "type": WEBHOOK_EVENT_TYPE, "created_at": created_at, "data": data}
    result: dict[str, Any] = _jsonable(envelope)
    return result
