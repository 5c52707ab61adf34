"""The words a risk officer reads: alert titles and summaries as message codes with named
parameters, rendered in English and Simplified Chinese. Pure: no I/O.

An alert stores its `message_code` and `message_params` beside the text rendered when it was
raised, so any front end (and notify, in each recipient's locale) renders it again in its own
language. A template names parameters in braces, `{customer}`; only the names in
`PARAMETERS` exist, each with a kind that says how its value is written (money with its
currency, a multiple as `8.2`, a ratio as a percentage, a level as a word).
"""

# Full-width Chinese punctuation is intended here, not a look-alike typo.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal

Locale = Literal["en", "zh-CN"]
LOCALES: tuple[Locale, ...] = ("en", "zh-CN")
DEFAULT_LOCALE: Locale = "en"


def resolve_locale(locale: str | None) -> Locale:
    """The supported locale for `locale` ("zh", "zh_CN", "zh-Hans" -> "zh-CN"), else "en"."""
    normalized = (locale or "").replace("_", "-").lower()
    if normalized.startswith("zh") and "tw" not in normalized and "hk" not in normalized:
        return "zh-CN"
    return DEFAULT_LOCALE


class ParamKind(StrEnum):
    TEXT = "text"
    MONEY = "money"  # an amount; written with the `currency` parameter
    MULTIPLE = "multiple"  # 8.2 (the template writes the x)
    PERCENT = "percent"  # a ratio 0.62 written 62%
    LEVEL = "level"  # low / medium / high / critical, as a word of the locale
    COUNT = "count"
    NUMBER = "number"
    SCORE = "score"  # 0.93
    TIME = "time"


@dataclass(frozen=True, slots=True)
class Parameter:
    kind: ParamKind
    description: str


PARAMETERS: Mapping[str, Parameter] = {
    "customer": Parameter(ParamKind.TEXT, "the customer's name"),
    "rule": Parameter(ParamKind.TEXT, "the rule's name"),
    "amount": Parameter(ParamKind.MONEY, "the transaction's amount, with its currency"),
    "currency": Parameter(ParamKind.TEXT, "the transaction's currency (ISO 4217)"),
    "counterparty": Parameter(ParamKind.TEXT, "the counterparty's name"),
    "country": Parameter(ParamKind.TEXT, "the country the transaction came from"),
    "counterparty_country": Parameter(ParamKind.TEXT, "the counterparty's country"),
    "channel": Parameter(ParamKind.TEXT, "the transaction's channel"),
    "amount_to_avg_30d": Parameter(ParamKind.MULTIPLE, "amount / the 30-day average amount"),
    "anomaly_score": Parameter(ParamKind.SCORE, "the transaction's anomaly score"),
    "anomaly_level": Parameter(ParamKind.LEVEL, "the transaction's anomaly level"),
    "credit_level": Parameter(ParamKind.LEVEL, "the credit risk level"),
    "previous_credit_level": Parameter(ParamKind.LEVEL, "the credit risk level before"),
    "credit_pd": Parameter(ParamKind.PERCENT, "the probability of default"),
    "churn_level": Parameter(ParamKind.LEVEL, "the churn risk level"),
    "churn_probability": Parameter(ParamKind.PERCENT, "the churn probability"),
    "debt_to_income": Parameter(ParamKind.MULTIPLE, "total liabilities / annual income"),
    "utilisation": Parameter(ParamKind.PERCENT, "credit drawn / credit limit"),
    "missed_payments": Parameter(ParamKind.COUNT, "missed payments on record"),
    "delinquencies_30": Parameter(ParamKind.COUNT, "payments 30+ days late"),
    "delinquencies_60": Parameter(ParamKind.COUNT, "payments 60+ days late"),
    "delinquencies_90": Parameter(ParamKind.COUNT, "payments 90+ days late"),
    "bureau_score": Parameter(ParamKind.NUMBER, "the credit bureau score"),
    "bureau_score_drop": Parameter(ParamKind.NUMBER, "points the bureau score fell by"),
    "days_since_last_activity": Parameter(ParamKind.COUNT, "days without activity"),
    "outflow_ratio_30d": Parameter(ParamKind.PERCENT, "outflows' share of the 30-day turnover"),
    "complaints_90d": Parameter(ParamKind.COUNT, "complaints in 90 days"),
    "happened_at": Parameter(ParamKind.TIME, "when the thing happened"),
    "indicator": Parameter(ParamKind.TEXT, "the early-warning indicator"),
    "warning_level": Parameter(ParamKind.TEXT, "the indicator's level: amber or red"),
    "since": Parameter(ParamKind.TIME, "since when the indicator is at its level"),
    "evidence": Parameter(ParamKind.TEXT, "the triggers that held: value, threshold, kind"),
}

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")

_LEVEL_WORDS: Mapping[Locale, Mapping[str, str]] = {
    "en": {"low": "low", "medium": "medium", "high": "high", "critical": "critical"},
    "zh-CN": {"low": "低", "medium": "中", "high": "高", "critical": "严重"},
}
_UNKNOWN: Mapping[Locale, str] = {"en": "unknown", "zh-CN": "未知"}
_SOME_CUSTOMER: Mapping[Locale, str] = {"en": "the customer", "zh-CN": "该客户"}


class TemplateError(ValueError):
    """A message template with an unknown parameter or a stray brace."""


def template_parameters(template: str) -> list[str]:
    """The parameter names `template` uses, in order; TemplateError for an unknown name or
    an unbalanced brace."""
    names = []
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        if not _NAME.match(name) or name not in PARAMETERS:
            known = ", ".join(sorted(PARAMETERS))
            raise TemplateError(f"unknown parameter {{{name}}}; known parameters: {known}")
        names.append(name)
    if "{" in _PLACEHOLDER.sub("", template) or "}" in _PLACEHOLDER.sub("", template):
        raise TemplateError("a brace without its pair; parameters are written {name}")
    return names


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _format_time(value: Any, locale: Locale) -> str | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        if locale == "zh-CN":
            return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}（UTC）"
        return f"{moment:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, date):
        return value.isoformat()
    return None


def format_param(name: str, params: Mapping[str, Any], locale: Locale) -> str:
    """One parameter's value as the locale writes it; a missing one as "unknown"."""
    value = params.get(name)
    kind = PARAMETERS[name].kind if name in PARAMETERS else ParamKind.TEXT
    if value is None or value == "":
        return _SOME_CUSTOMER[locale] if name == "customer" else _UNKNOWN[locale]
    return written(kind, value, params, locale)


def written(kind: ParamKind, value: Any, params: Mapping[str, Any], locale: Locale) -> str:
    """`value` written as its kind is in `locale` (money takes `params["currency"]`)."""
    number = _decimal(value)
    text: str | None
    match kind:
        case ParamKind.MONEY if number is not None:
            currency = params.get("currency")
            text = f"{number:,.2f}" + (f" {currency}" if currency else "")
        case ParamKind.MULTIPLE if number is not None:
            text = f"{number:.1f}"
        case ParamKind.PERCENT if number is not None:
            text = f"{(number * 100).quantize(Decimal('1'))}%"
        case ParamKind.SCORE if number is not None:
            text = f"{number:.2f}"
        case ParamKind.COUNT if number is not None:
            text = f"{number.to_integral_value():,}"
        case ParamKind.NUMBER if number is not None:
            text = f"{number.quantize(Decimal('0.1')).normalize():f}"
        case ParamKind.LEVEL:
            text = _LEVEL_WORDS[locale].get(str(value), str(value))
        case ParamKind.TIME:
            text = _format_time(value, locale)
        case _:
            text = None
    return str(value) if text is None else text


def render(template: str, params: Mapping[str, Any], locale: str = DEFAULT_LOCALE) -> str:
    """`template` with its parameters written for `locale`."""
    resolved = resolve_locale(locale)
    return _PLACEHOLDER.sub(lambda m: format_param(m.group(1), params, resolved), template)


@dataclass(frozen=True, slots=True)
class Message:
    """A title and a summary template per locale."""

    title: Mapping[Locale, str]
    summary: Mapping[Locale, str]

    def render_title(self, params: Mapping[str, Any], locale: str = DEFAULT_LOCALE) -> str:
        return render(self.title[resolve_locale(locale)], params, locale)

    def render_summary(self, params: Mapping[str, Any], locale: str = DEFAULT_LOCALE) -> str:
        return render(self.summary[resolve_locale(locale)], params, locale)


def _m(title_en: str, title_zh: str, summary_en: str, summary_zh: str) -> Message:
    return Message({"en": title_en, "zh-CN": title_zh}, {"en": summary_en, "zh-CN": summary_zh})


CUSTOM_RULE_CODE = "alert.custom"

# One message per shipped rule template (code `alert.<template key>`), and the default of a
# rule written by a user without its own words.
MESSAGES: Mapping[str, Message] = {
    "alert.large_amount_vs_average": _m(
        "Large payment to a new payee",
        "向新收款方的大额付款",
        "Payment of {amount} to {counterparty} is {amount_to_avg_30d}× {customer}'s "
        "30-day average.",
        "{customer}向{counterparty}付款{amount}，是其30日平均金额的{amount_to_avg_30d}倍。",
    ),
    "alert.velocity_burst": _m(
        "Burst of payments",
        "短时间内交易激增",
        "{customer} made many payments within minutes, several times the usual amount; "
        "the latest is {amount}.",
        "{customer}在数分钟内多次交易，金额为平时的数倍；最近一笔{amount}。",
    ),
    "alert.new_country_or_device_large_transfer": _m(
        "Large transfer from a new country or device",
        "新国家或新设备的大额转账",
        "{customer} transferred {amount} from a country or device not seen before ({country}).",
        "{customer}在此前未出现过的国家或设备上转出{amount}（{country}）。",
    ),
    "alert.structuring": _m(
        "Payments just under the reporting threshold",
        "疑似拆分交易规避申报",
        "{customer} made several payments just under the reporting threshold within a day; "
        "the latest is {amount}.",
        "{customer}一天内多笔交易金额略低于申报门槛；最近一笔{amount}。",
    ),
    "alert.card_burst_new_device": _m(
        "Card payments in a burst from a new device",
        "新设备上短时间内多笔卡支付",
        "{customer} made several card payments within minutes from a device not seen before; "
        "the latest is {amount}.",
        "{customer}在此前未出现过的设备上数分钟内多笔卡支付；最近一笔{amount}。",
    ),
    "alert.structuring_across_days": _m(
        "Cash deposits just under the threshold over several days",
        "多日内多笔略低于申报门槛的现金存款",
        "{customer} deposited cash just under the reporting threshold several times over "
        "days; the latest is {amount}.",
        "{customer}数日内多次存入略低于申报门槛的现金；最近一笔{amount}。",
    ),
    "alert.pass_through_new_payers": _m(
        "Money from new payers passed on",
        "新付款方资金被转出",
        "{customer} received money from several new payers within days and sent {amount} on "
        "to {counterparty}.",
        "{customer}数日内收到多个新付款方的资金，并向{counterparty}转出{amount}。",
    ),
    "alert.night_transfers": _m(
        "Repeated night-time transfers",
        "夜间多次转账",
        "{customer} made repeated transfers at night; the latest is {amount} at {happened_at}.",
        "{customer}夜间多次转账；最近一笔{amount}，时间{happened_at}。",
    ),
    "alert.high_risk_destination": _m(
        "Payment touching a high-risk country or watch-listed account",
        "涉及高风险国家或监控名单账户的交易",
        "A payment of {amount} by {customer} involves a high-risk country or a watch-listed "
        "account (counterparty country {counterparty_country}).",
        "{customer}的一笔{amount}交易涉及高风险国家或监控名单账户（对方国家"
        "{counterparty_country}）。",
    ),
    "alert.anomaly_score_high": _m(
        "Highly unusual payment",
        "高度异常的交易",
        "The anomaly model rates {customer}'s payment of {amount} as {anomaly_level} "
        "(score {anomaly_score}).",
        "异常检测模型将{customer}的一笔{amount}交易评为{anomaly_level}风险（评分{anomaly_score}）。",
    ),
    "alert.credit_level_rose": _m(
        "Credit risk rose to {credit_level}",
        "信用风险升至{credit_level}",
        "{customer}'s credit risk rose from {previous_credit_level} to {credit_level} "
        "(probability of default {credit_pd}).",
        "{customer}的信用风险由{previous_credit_level}升至{credit_level}（违约概率{credit_pd}）。",
    ),
    "alert.debt_to_income_high": _m(
        "Debt-to-income above the limit",
        "负债收入比超限",
        "{customer}'s liabilities are {debt_to_income}× their annual income, above the limit.",
        "{customer}的负债为其年收入的{debt_to_income}倍，超过上限。",
    ),
    "alert.missed_payment_or_delinquency": _m(
        "Missed payments or delinquency",
        "逾期或未按时还款",
        "{customer} has {missed_payments} missed payments and {delinquencies_30} payments "
        "30+ days late on record.",
        "{customer}有{missed_payments}次未按时还款、{delinquencies_30}次逾期30天以上记录。",
    ),
    "alert.utilisation_high": _m(
        "Credit lines almost fully drawn",
        "授信额度接近用满",
        "{customer} has drawn {utilisation} of their credit lines.",
        "{customer}已使用授信额度的{utilisation}。",
    ),
    "alert.bureau_score_drop": _m(
        "Bureau score dropped sharply",
        "征信评分大幅下降",
        "{customer}'s bureau score fell by {bureau_score_drop} points to {bureau_score}.",
        "{customer}的征信评分下降{bureau_score_drop}分，降至{bureau_score}。",
    ),
    "alert.churn_early_warning": _m(
        "Early churn warning",
        "早期流失预警",
        "{customer} is still active but fading, with a complaint, falling inflows or a "
        "balance drain: time to talk before they go quiet.",
        "{customer}仍在活跃但活跃度下降，并伴有投诉、流入减少或余额流出：应在客户沉寂前主动沟通。",
    ),
    # The credit early-warning catalogue's amber (not a template: alerting's system rule).
    "alert.credit_early_warning": _m(
        "Credit early warning: {indicator}",
        "信用早期预警：{indicator}",
        "{customer}: {indicator} at {warning_level} since {since}. {evidence}",
        "{customer}：{indicator}自{since}起处于{warning_level}级。{evidence}",
    ),
    "alert.inactivity_churn": _m(
        "Inactive customer with falling activity",
        "客户不活跃且活跃度下降",
        "{customer} has been inactive for {days_since_last_activity} days after a declining "
        "quarter.",
        "{customer}在活跃度下降的一个季度后已{days_since_last_activity}天无任何活动。",
    ),
    "alert.balance_drain": _m(
        "Balances draining away",
        "余额快速流出",
        "{customer}'s balances are falling fast; outflows are {outflow_ratio_30d} of the "
        "30-day turnover.",
        "{customer}的余额快速下降，流出占30日交易额的{outflow_ratio_30d}。",
    ),
    "alert.complaint_churn": _m(
        "Complaints with churn risk",
        "投诉且有流失风险",
        "{customer} complained {complaints_90d} times in 90 days; churn probability "
        "{churn_probability}.",
        "{customer}在90天内投诉{complaints_90d}次；流失概率{churn_probability}。",
    ),
    CUSTOM_RULE_CODE: _m(
        "{rule}",
        "{rule}",
        "The rule “{rule}” matched for {customer} at {happened_at}.",
        "{customer}于{happened_at}触发规则“{rule}”。",
    ),
}


def message_for(code: str | None) -> Message | None:
    return None if code is None else MESSAGES.get(code)


def alert_code_of(template_key: str | None) -> str:
    """The message code of a rule made from `template_key` (or written by a user)."""
    code = f"alert.{template_key}"
    return code if template_key and code in MESSAGES else CUSTOM_RULE_CODE


# --- reasons ---------------------------------------------------------------------------------
# Scoring writes each reason's English sentence and advice; these are the Chinese words of
# each reason code, `{value}` being the value it read (written as its kind says).


@dataclass(frozen=True, slots=True)
class ReasonWords:
    kind: ParamKind
    zh: str
    advice_zh: str


def _r(kind: ParamKind, zh: str, advice_zh: str) -> ReasonWords:
    return ReasonWords(kind, zh, advice_zh)


_P, _C, _N, _T, _X = (
    ParamKind.PERCENT,
    ParamKind.COUNT,
    ParamKind.NUMBER,
    ParamKind.TEXT,
    ParamKind.MULTIPLE,
)
REASON_WORDS: Mapping[str, ReasonWords] = {
    # credit
    "high_debt_to_income": _r(_P, "负债收入比{value}", "复核授信额度与还款能力"),
    "high_utilisation": _r(_P, "授信使用率{value}", "复核授信额度；提供还款计划"),
    "delinquent_30": _r(_C, "{value}次逾期30天以上", "就逾期还款联系客户"),
    "delinquent_60": _r(_C, "{value}次逾期60天以上", "启动早期催收联系；冻结额度提升"),
    "delinquent_90": _r(_C, "{value}次逾期90天以上", "移交催收；考虑债务重组"),
    "missed_payments": _r(_C, "{value}次未按时还款", "联系客户并商定还款计划"),
    "prior_default": _r(_C, "{value}次历史违约", "新增授信需提供抵押或担保"),
    "low_bureau_score": _r(_N, "征信评分{value}", "收紧授信条件；要求提供最新收入证明"),
    "bureau_score_drop": _r(_N, "征信评分变动{value}分", "核查征信报告中的新增负债或违约"),
    "income_drop": _r(_N, "收入变动{value}%", "重新评估还款能力；要求提供当前收入证明"),
    "liabilities_growth": _r(_N, "负债增加{value}%", "在增加授信前核查其他机构的新增借款"),
    "credit_hungry": _r(_C, "近期{value}次信贷查询", "批准更多授信前复核近期信贷申请"),
    # anomaly
    "amount_vs_average": _r(_X, "金额为30日平均的{value}倍", "放款前与客户确认该笔付款"),
    "amount_zscore": _r(_N, "金额高于客户均值{value}个标准差", "放款前与客户确认该笔付款"),
    "velocity_1h": _r(_C, "过去一小时{value}笔交易", "暂停后续付款并排查账户盗用"),
    "new_country": _r(_T, "首次涉及该国家（{value}）", "核实收款人及转账用途"),
    "high_risk_country": _r(_T, "涉及高风险国家{value}", "执行强化尽职调查；上报合规部门"),
    "new_device": _r(_T, "首次使用该设备交易", "对新设备加强身份验证"),
    "new_counterparty": _r(_T, "首次与该交易对手往来", "核实新收款人（收款人确认）"),
    "unusual_hour": _r(_C, "该客户罕见的交易时段（{value}点，UTC）", "检查会话是否有账户盗用迹象"),
    # churn
    "inactivity": _r(_C, "{value}天无交易", "联系客户并提供挽留方案"),
    "activity_decline": _r(_T, "日均交易笔数较前60天下降", "安排客户经理致电"),
    "value_decline": _r(_T, "日均交易金额较前60天下降", "与客户复核定价与产品匹配度"),
    "balance_decline": _r(_T, "日均净流入较前60天下降", "核查资金是否转往他行"),
    "outflow_excess": _r(_P, "流出占30日流水的{value}", "核查资金是否转往他行"),
    "complaints": _r(_C, "90天内{value}次投诉", "处理未结投诉；指定案件负责人"),
    "dormant_accounts": _r(_C, "{value}个休眠账户", "建议客户注销或激活休眠账户"),
}
_REASON_WORD_DEFAULT_ZH = "复核客户档案"


def render_reason(reason: Mapping[str, Any], locale: str = DEFAULT_LOCALE) -> str:
    """One reason as a sentence with its advice, once: "3 missed payments — contact the
    customer..." in English as scoring wrote it, in Chinese from the reason's code."""
    message = str(reason.get("message") or reason.get("code") or "")
    advice = reason.get("advice")
    words = REASON_WORDS.get(str(reason.get("code")))
    if resolve_locale(locale) == "zh-CN" and words is not None:
        params = reason.get("params") or {}
        value = params.get("value", reason.get("value"))
        shown = "" if value is None else written(words.kind, value, {}, "zh-CN")
        message = words.zh.replace("{value}", shown)
        advice = words.advice_zh if advice else None
    return f"{message} — {advice}" if advice else message


# --- evidence ----------------------------------------------------------------------------------
# What a rule read, by field path, as a reader names it (unknown paths are shown as they are).

_PCT, _MUL = ParamKind.PERCENT, ParamKind.MULTIPLE
_EVIDENCE: Mapping[str, tuple[str, str, ParamKind]] = {
    "txn.amount": ("Amount", "金额", ParamKind.NUMBER),
    "txn.currency": ("Currency", "币种", ParamKind.TEXT),
    "txn.direction": ("Direction", "方向", ParamKind.TEXT),
    "txn.channel": ("Channel", "渠道", ParamKind.TEXT),
    "txn.country": ("Country", "国家", ParamKind.TEXT),
    "txn.counterparty_name": ("Counterparty", "交易对手", ParamKind.TEXT),
    "txn.counterparty_account": ("Counterparty account", "对手账户", ParamKind.TEXT),
    "txn.counterparty_country": ("Counterparty country", "对手国家", ParamKind.TEXT),
    "txn.amount_to_avg_30d": ("Amount / 30-day average", "金额/30日均值", ParamKind.MULTIPLE),
    "txn.is_new_counterparty": ("New counterparty", "新交易对手", ParamKind.TEXT),
    "txn.is_new_country": ("New country", "新国家", ParamKind.TEXT),
    "txn.is_new_device": ("New device", "新设备", ParamKind.TEXT),
    "txn.hour": ("Hour (UTC)", "时段（UTC）", ParamKind.COUNT),
    "score.anomaly": ("Anomaly score", "异常评分", ParamKind.SCORE),
    "score.anomaly_level": ("Anomaly level", "异常等级", ParamKind.LEVEL),
    "risk.credit_level": ("Credit risk level", "信用风险等级", ParamKind.LEVEL),
    "risk.previous_credit_level": ("Credit risk level before", "此前信用风险等级", ParamKind.LEVEL),
    "risk.credit_level_changed": ("Credit risk level changed", "信用风险等级变化", ParamKind.TEXT),
    "risk.credit_pd": ("Probability of default", "违约概率", ParamKind.PERCENT),
    "risk.churn_level": ("Churn risk level", "流失风险等级", ParamKind.LEVEL),
    "risk.previous_churn_level": ("Churn risk level before", "此前流失风险等级", ParamKind.LEVEL),
    "risk.churn_level_changed": ("Churn risk level changed", "流失风险等级变化", ParamKind.TEXT),
    "risk.churn_probability": ("Churn probability", "流失概率", ParamKind.PERCENT),
    "customer.debt_to_income": ("Debt-to-income", "负债收入比", ParamKind.PERCENT),
    "customer.utilisation": ("Credit utilisation", "授信使用率", ParamKind.PERCENT),
    "customer.missed_payments": ("Missed payments", "未按时还款次数", ParamKind.COUNT),
    "customer.delinquencies_30": ("Payments 30+ days late", "逾期30天以上次数", ParamKind.COUNT),
    "customer.delinquencies_60": ("Payments 60+ days late", "逾期60天以上次数", ParamKind.COUNT),
    "customer.delinquencies_90": ("Payments 90+ days late", "逾期90天以上次数", ParamKind.COUNT),
    "customer.bureau_score": ("Bureau score", "征信评分", ParamKind.NUMBER),
    "customer.bureau_score_change": ("Bureau score change", "征信评分变动", ParamKind.NUMBER),
    "customer.days_since_last_activity": ("Days without activity", "无活动天数", ParamKind.COUNT),
    "customer.activity_trend_90d": (
        "Activity trend (90 days)",
        "90日活跃度趋势",
        ParamKind.PERCENT,
    ),
    "customer.balance_trend_90d": ("Balance trend (90 days)", "90日余额趋势", ParamKind.PERCENT),
    "customer.outflow_ratio_30d": (
        "Outflows / inflows (30 days)",
        "30日流出/流入",
        ParamKind.MULTIPLE,
    ),
    "customer.complaints_90d": ("Complaints (90 days)", "90日投诉次数", ParamKind.COUNT),
}
_YES_NO: Mapping[Locale, tuple[str, str]] = {"en": ("yes", "no"), "zh-CN": ("是", "否")}


def evidence_item(path: str, value: Any, locale: str = DEFAULT_LOCALE) -> tuple[str, str] | None:
    """(label, value) of one evidence field in `locale`; None for a field without a label."""
    known = _EVIDENCE.get(path)
    if known is None:
        return None
    resolved = resolve_locale(locale)
    label = known[1] if resolved == "zh-CN" else known[0]
    if isinstance(value, bool):
        return label, _YES_NO[resolved][0 if value else 1]
    return label, written(known[2], value, {}, resolved)
