"""An alert's words from its rule and what the rule read (pure)."""

from __future__ import annotations

from riskwatch_alerting.domain.words import CUSTOM_TEXT_CODE, Words, alert_words
from riskwatch_alerting.rules.templates import TEMPLATES, template_key_of
from riskwatch_shared.messages import CUSTOM_RULE_CODE, alert_code_of

PARAMS = {
    "customer": "Jane Borrower",
    "credit_level": "critical",
    "previous_credit_level": "medium",
    "credit_pd": "0.41",
    "rule": "Credit risk level rose to high or critical",
    "happened_at": "2026-10-01T00:00:00+00:00",
}


def _words(**overrides: object) -> Words:
    fields: dict[str, object] = {
        "template_key": "credit_level_rose",
        "title_template": None,
        "summary_template": None,
        "rule_name": "Credit risk level rose to high or critical",
        "severity": "high",
        "params": PARAMS,
        "customer_name": "Jane Borrower",
    }
    fields.update(overrides)
    return alert_words(**fields)  # type: ignore[arg-type]


def test_title_severity_and_level_agree() -> None:
    words = _words()
    assert words.title == "Credit risk rose to critical: Jane Borrower"
    assert words.severity == "critical"
    assert words.code == "alert.credit_level_rose"
    high = _words(params={**PARAMS, "credit_level": "high"})
    assert (high.title, high.severity) == (
        "Credit risk rose to high: Jane Borrower",
        "high",
    )


def test_a_users_own_words_name_the_customer_once() -> None:
    words = _words(
        template_key=None,
        title_template="{customer}: credit alarm",
        summary_template="{customer} is now {credit_level}.",
    )
    assert words.title == "Jane Borrower: credit alarm"
    assert words.summary == "Jane Borrower is now critical."
    assert words.code == CUSTOM_TEXT_CODE
    default = _words(template_key=None, rule_name="My rule", params={**PARAMS, "rule": "My rule"})
    assert default.code == CUSTOM_RULE_CODE
    assert default.summary == (
        "The rule “My rule” matched for Jane Borrower at 2026-10-01 00:00 UTC."
    )


def test_every_template_has_its_message_and_is_recognised_when_copied() -> None:
    for template in TEMPLATES:
        assert alert_code_of(template.key) == f"alert.{template.key}"
        spaced = "  " + template.condition.replace(" and ", "\n and ")
        assert template_key_of(template.rule_type, spaced) == template.key
    assert template_key_of("custom", TEMPLATES[0].condition) is None
