"""The words around an alert, in each supported locale (templates hold the layout)."""

# Full-width Chinese punctuation is intended here, not a look-alike typo.
# ruff: noqa: RUF001

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

DEFAULT_LOCALE = "en"
SUPPORTED_LOCALES = ("en", "zh-CN")

LABELS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "lang": "en",
        "bracket_open": "[",
        "bracket_close": "]",
        "separator": ": ",
        "alert_type": "Alert type",
        "severity": "Severity",
        "customer": "Customer",
        "raised_at": "Raised",
        "happened_at": "Happened",
        "rule": "Rule",
        "evidence": "Key evidence",
        "reasons": "Why it was raised",
        "suggested_actions": "Suggested actions",
        "open_alert": "Open the alert",
        "digest_title": "{count} new alerts, highest severity: {severity}",
        "digest_intro": "These alerts were raised while earlier notifications were held back:",
        "footer": "RiskWatch early warning. Acknowledge the alert to stop further notifications.",
        "sms_prefix": "RiskWatch",
        "severity.low": "Low",
        "severity.medium": "Medium",
        "severity.high": "High",
        "severity.critical": "Critical",
        "rule_type.transaction_anomaly": "Transaction anomaly",
        "rule_type.credit_risk": "Credit risk",
        "rule_type.churn": "Churn risk",
        "rule_type.custom": "Custom rule",
    },
    "zh-CN": {
        "lang": "zh-CN",
        "bracket_open": "【",
        "bracket_close": "】",
        "separator": "：",
        "alert_type": "预警类型",
        "severity": "严重程度",
        "customer": "客户",
        "raised_at": "触发时间",
        "happened_at": "发生时间",
        "rule": "规则",
        "evidence": "关键证据",
        "reasons": "触发原因",
        "suggested_actions": "建议措施",
        "open_alert": "查看预警",
        "digest_title": "{count} 条新预警，最高严重程度：{severity}",
        "digest_intro": "以下预警在此前通知暂缓期间触发：",
        "footer": "RiskWatch 风险预警。确认预警后将不再发送后续通知。",
        "sms_prefix": "RiskWatch",
        "severity.low": "低",
        "severity.medium": "中",
        "severity.high": "高",
        "severity.critical": "严重",
        "rule_type.transaction_anomaly": "交易异常",
        "rule_type.credit_risk": "信用风险",
        "rule_type.churn": "客户流失风险",
        "rule_type.custom": "自定义规则",
    },
}


def resolve_locale(locale: str | None) -> str:
    """The supported locale for `locale` ("zh", "zh_CN", "zh-Hans" → "zh-CN"), else "en"."""
    normalized = (locale or "").replace("_", "-").lower()
    if normalized.startswith("zh") and "tw" not in normalized and "hk" not in normalized:
        return "zh-CN"
    return DEFAULT_LOCALE


def _utc_offset(local: datetime) -> str:
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def format_moment(moment: datetime, time_zone: str, locale: str) -> str:
    """`moment` on the recipient's clock, with the offset so it is never ambiguous."""
    local = moment.astimezone(ZoneInfo(time_zone))
    if locale == "zh-CN":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}（{_utc_offset(local)}）"
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({_utc_offset(local)})"
