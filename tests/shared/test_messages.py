"""The message catalogue: every alert message in English and Simplified Chinese, parameters
written the locale's way, templates checked against the known parameter names. Pure."""

# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from riskwatch_shared.messages import (
    CUSTOM_RULE_CODE,
    LOCALES,
    MESSAGES,
    TemplateError,
    alert_code_of,
    render,
    resolve_locale,
    template_parameters,
)

STORY = {
    "customer": "Jane Borrower",
    "amount": "12500",
    "currency": "CNY",
    "amount_to_avg_30d": "8.2371",
    "counterparty": "Shenzhen Trading",
    "previous_credit_level": "medium",
    "credit_level": "critical",
    "credit_pd": "0.4123",
    "missed_payments": 3,
    "delinquencies_30": "2",
    "happened_at": "2026-10-01T00:00:00+00:00",
    "rule": "Big payment",
}


def test_the_large_payment_in_english_and_chinese() -> None:
    message = MESSAGES["alert.large_amount_vs_average"]
    assert message.render_summary(STORY, "en") == (
        "Payment of 12,500.00 CNY to Shenzhen Trading is 8.2× Jane Borrower's 30-day average."
    )
    assert message.render_summary(STORY, "zh-CN") == (
        "Jane Borrower向Shenzhen Trading付款12,500.00 CNY，是其30日平均金额的8.2倍。"
    )
    assert message.render_title(STORY, "zh_CN") == "向新收款方的大额付款"


def test_levels_percentages_counts_and_times_are_words_of_the_locale() -> None:
    rose = MESSAGES["alert.credit_level_rose"]
    assert rose.render_title(STORY, "en") == "Credit risk rose to critical"
    assert rose.render_title(STORY, "zh-CN") == "信用风险升至严重"
    assert rose.render_summary(STORY, "en") == (
        "Jane Borrower's credit risk rose from medium to critical (probability of default 41%)."
    )
    missed = MESSAGES["alert.missed_payment_or_delinquency"]
    assert missed.render_summary(STORY, "zh-CN") == (
        "Jane Borrower有3次未按时还款、2次逾期30天以上记录。"
    )
    custom = MESSAGES[CUSTOM_RULE_CODE]
    assert custom.render_summary(STORY, "en") == (
        "The rule “Big payment” matched for Jane Borrower at 2026-10-01 00:00 UTC."
    )
    assert custom.render_summary(STORY, "zh-CN") == (
        "Jane Borrower于2026年10月1日 00:00（UTC）触发规则“Big payment”。"
    )


def test_a_missing_parameter_is_said_not_left_in_braces() -> None:
    assert render("{customer} paid {amount}", {}, "en") == "the customer paid unknown"
    assert render("{customer}付款{amount}", {}, "zh-CN") == "该客户付款未知"


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_message_has_both_locales_with_known_parameters(code: str) -> None:
    message = MESSAGES[code]
    for locale in LOCALES:
        for template in (message.title[locale], message.summary[locale]):
            template_parameters(template)  # raises on an unknown name
            rendered = render(template, STORY, locale)
            assert "{" not in rendered
            assert "txn." not in rendered
            assert "risk." not in rendered


def test_templates_may_use_only_known_parameters() -> None:
    assert template_parameters("{customer} paid {amount}") == ["customer", "amount"]
    for bad in ("{txn.amount}", "{nope}", "{customer", "customer}", "{}"):
        with pytest.raises(TemplateError):
            template_parameters(bad)


def test_codes_and_locales() -> None:
    assert alert_code_of("credit_level_rose") == "alert.credit_level_rose"
    assert alert_code_of(None) == CUSTOM_RULE_CODE
    assert alert_code_of("no_such_template") == CUSTOM_RULE_CODE
    assert [resolve_locale(x) for x in ("zh", "zh_CN", "zh-Hans", "zh-TW", "en-GB", None)] == [
        "zh-CN",
        "zh-CN",
        "zh-CN",
        "en",
        "en",
        "en",
    ]
