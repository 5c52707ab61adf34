"""The case report: one JSON document (pure, from what the service loaded), a printable
HTML page of it in zh-CN or en (Jinja2, autoescaped), and the CSV export of many cases."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

from jinja2 import Environment, FileSystemLoader, select_autoescape

from riskwatch_alerting.cases.schemas import CaseOut, SuppressionOut
from riskwatch_alerting.domain.cases import TimelineItem, display_name
from riskwatch_alerting.domain.evaluation_input import to_json
from riskwatch_alerting.follow_up import UTF8_BOM, spreadsheet_safe
from riskwatch_alerting.schemas import AlertOut
from riskwatch_shared.events.alerting import AlertChange, CaseChange
from riskwatch_shared.messages import message_for, render_reason

Language = Literal["en", "zh-CN"]
LANGUAGES: tuple[str, ...] = ("en", "zh-CN")

# What a person does on a case or its alerts, as opposed to what the system records: every
# change the alert and case events name but the two the system makes, and the action names
# (`contact`, `measure`) an entry may carry instead of its change.
SYSTEM_CHANGES = frozenset({"occurrence_added", "alert_added"})
ACTION_CHANGES = (
    frozenset(get_args(AlertChange)) | frozenset(get_args(CaseChange))
) - SYSTEM_CHANGES | frozenset({"contact", "contacted", "measure"})

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "report": "Case report",
        "case": "Case",
        "status": "Status",
        "priority": "Priority",
        "assignee": "Owner",
        "opened_at": "Opened",
        "closed_at": "Closed",
        "sla_due_at": "SLA due",
        "customer": "Customer",
        "alerts": "Alerts",
        "time": "Time",
        "happened_at": "Happened",
        "type": "Type",
        "severity": "Severity",
        "title": "Title",
        "summary": "Summary",
        "evidence": "Evidence",
        "reasons": "Reasons",
        "advice": "Advice",
        "timeline": "Timeline",
        "actions": "Actions",
        "who": "Who",
        "what": "What",
        "detail": "Detail",
        "outcome": "Outcome",
        "suppressions": "Suppressions",
        "until": "Until",
        "reason": "Reason",
        "target": "Target",
        "none": "none",
        "generated_at": "Generated",
    },
    "zh-CN": {
        "report": "案件报告",
        "case": "案件",
        "status": "状态",
        "priority": "优先级",
        "assignee": "负责人",
        "opened_at": "立案时间",
        "closed_at": "结案时间",
        "sla_due_at": "处理时限",
        "customer": "客户",
        "alerts": "预警",
        "time": "时间",
        "happened_at": "发生时间",
        "type": "类型",
        "severity": "严重程度",
        "title": "标题",
        "summary": "摘要",
        "evidence": "证据",
        "reasons": "原因",
        "advice": "建议",
        "timeline": "时间线",
        "actions": "处置措施",
        "who": "操作人",
        "what": "事项",
        "detail": "详情",
        "outcome": "处理结果",
        "suppressions": "抑制规则",
        "until": "截止",
        "reason": "理由",
        "target": "对象",
        "none": "无",
        "generated_at": "生成时间",
    },
}

# Values (statuses, severities, types, outcomes, timeline changes) in Chinese; English shows
# them humanised.
VALUES_ZH: dict[str, str] = {
    "open": "待处理",
    "investigating": "调查中",
    "closed": "已结案",
    "new": "新建",
    "acknowledged": "已确认",
    "escalated": "已升级",
    "resolved": "已解决",
    "low": "低",
    "medium": "中",
    "high": "高",
    "critical": "严重",
    "transaction_anomaly": "交易异常",
    "credit_risk": "信用风险",
    "churn": "客户流失",
    "custom": "自定义",
    "confirmed_risk": "确认风险",
    "false_positive": "误报",
    "mitigated_customer_contacted": "已联系客户",
    "mitigated_limit_reduced": "已降低额度",
    "mitigated_account_frozen": "已冻结账户",
    "opened": "立案",
    "alert_added": "新增预警",
    "raised": "触发预警",
    "occurrence_added": "重复发生",
    "assigned": "已分派",
    "commented": "评论",
    "reopened": "重新打开",
    "customer_contacted": "联系客户",
    "contact": "联系客户",
    "measure": "风控措施",
    "notification_sent": "通知已发送",
    "delivery_failed": "通知发送失败",
    "escalation_sent": "升级通知已发送",
    "escalation_failed": "升级通知失败",
    "escalation_cancelled": "升级已取消",
    "suppression_added": "设置抑制",
    "suppression_lifted": "解除抑制",
    "customer": "客户",
    "account": "账户",
    "counterparty": "交易对手",
    "System": "系统",
    "Notify": "通知服务",
}


def translate(value: object, lang: str) -> str:
    text = "" if value is None else str(value)
    if lang == "zh-CN":
        return VALUES_ZH.get(text, text)
    return text.replace("_", " ")


def build_report(
    case: CaseOut,
    alerts: Sequence[AlertOut],
    timeline: Sequence[TimelineItem],
    suppressions: Sequence[SuppressionOut],
    generated_at: datetime,
    lang: str = "en",
) -> dict[str, Any]:
    """The report as JSON values (pure), its alerts' words in `lang` where their message code
    is known. Alerts and timeline come already masked for the caller."""
    entries = [
        {
            "at": item.at,
            "source": item.source,
            "change": item.change,
            "actor": item.actor,
            "actor_name": display_name(item.actor, item.actor_name),
            "actor_roles": item.actor_roles,
            "alert_id": item.alert_id,
            "detail": item.detail,
        }
        for item in timeline
    ]
    report: dict[str, Any] = to_json(
        {
            "case": case.model_dump(),
            "customer": {"id": case.customer_id, "name": case.customer_name},
            "alerts": [
                {
                    "id": a.id,
                    "raised_at": a.raised_at,
                    "happened_at": a.happened_at,
                    "type": a.rule_type,
                    "rule_name": a.rule_name,
                    "severity": a.severity,
                    "status": a.status,
                    **_words(a, lang),
                    "evidence": a.evidence,
                    "advice": a.suggested_actions,
                    "outcome": a.outcome,
                }
                for a in alerts
            ],
            "timeline": entries,
            "actions": [
                e
                for e in entries
                if e["change"] in ACTION_CHANGES and e["source"] != "notification"
            ],
            "suppressions": [s.model_dump() for s in suppressions],
            "outcome": case.outcome,
            "generated_at": generated_at,
        }
    )
    return report


def _words(alert: AlertOut, lang: str) -> dict[str, Any]:
    """Title, summary and reasons in `lang` from the alert's message code and coded reasons;
    the stored (English) text where the alert predates them."""
    message = message_for(alert.message_code)
    if message is None:
        title, summary = alert.title, alert.summary
    else:
        title = message.render_title(alert.message_params, lang)
        summary = message.render_summary(alert.message_params, lang)
    reasons = [render_reason(reason, lang) for reason in alert.coded_reasons] or alert.reasons
    return {"title": title, "summary": summary, "reasons": reasons}


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["tr"] = translate
    return environment


def render_html(report: dict[str, Any], lang: str) -> str:
    template = _environment().get_template("case_report.html.j2")
    return template.render(r=report, t=LABELS[lang], lang=lang)


EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "opened_at",
    "status",
    "priority",
    "customer_id",
    "customer_name",
    "assignee",
    "alert_count",
    "sla_due_at",
    "closed_at",
    "outcome",
    "updated_at",
)


def export_row(case: CaseOut) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column in EXPORT_COLUMNS:
        value = getattr(case, column)
        row[column] = value.isoformat() if isinstance(value, datetime) else value
    return row


def to_csv(cases: Sequence[CaseOut]) -> str:
    """UTF-8 BOM first, formula cells escaped, as the alert export."""
    buffer = io.StringIO()
    buffer.write(UTF8_BOM)
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for case in cases:
        writer.writerow(
            {k: ("" if v is None else spreadsheet_safe(v)) for k, v in export_row(case).items()}
        )
    return buffer.getvalue()
