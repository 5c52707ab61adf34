"""The console's pure parts: desk filters, SLA badges, languages and formats, the session
cookie, redirect targets, the catalogues (every message translated) and the security headers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from hypothesis import given
from hypothesis import strategies as st

from riskwatch_console.actions import action_body, offered_actions
from riskwatch_console.config import Settings
from riskwatch_console.desk import InvalidFilter, parse_desk_query, sla_badge
from riskwatch_console.i18n import LOCALES, formatter, negotiate, translations
from riskwatch_console.sessions import Session, SessionCodec
from riskwatch_console.web import local_path

CONSOLE_SRC = Path(__file__).parents[2] / "console" / "src" / "riskwatch_console"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_the_desk_query_becomes_the_api_query() -> None:
    query = parse_desk_query(
        {"queue": "mine", "severity": "high", "status": "new", "raised_from": "2026-03-01",
         "raised_to": "2026-03-02", "sort": "happened_at"}
    )  # fmt: skip
    params = query.api_params()
    assert params["assignee"] == "me"  # the API knows who I am
    assert (params["severity"], params["status"], params["sort"]) == ("high", "new", "happened_at")
    assert params["raised_from"] == "2026-03-01T00:00:00+00:00"
    assert params["raised_to"] == "2026-03-03T00:00:00+00:00"  # the whole last day
    assert parse_desk_query({}).api_params().get("assignee") is None
    assert parse_desk_query({"queue": "unassigned"}).api_params()["assignee"] == "none"
    team = parse_desk_query({"queue": "team", "team": "Risk department", "sla_state": "red"})
    assert team.stream_params() == {"team": "Risk department", "sla_state": "red"}


@pytest.mark.parametrize(
    ("name", "value"),
    [("severity", "urgent"), ("status", "' or 1=1 --"), ("customer_id", "not-a-uuid"),
     ("raised_from", "yesterday"), ("sort", "amount"), ("queue", "everyone"),
     ("assignee", "a\x00b"), ("assignee", "x" * 201)],
)  # fmt: skip
def test_a_filter_the_desk_does_not_know_is_refused(name: str, value: str) -> None:
    with pytest.raises(InvalidFilter) as refused:
        parse_desk_query({name: value})
    assert refused.value.field == name


@given(
    st.dictionaries(
        st.sampled_from(
            ["type", "severity", "status", "customer_id", "sort", "raised_to", "assignee", "cursor"]
        ),
        st.text(),
    )
)
def test_any_query_string_is_a_view_or_a_refusal(args: dict[str, str]) -> None:
    try:
        query = parse_desk_query(args)
    except InvalidFilter:
        return
    assert set(query.api_params()) <= {
        "type", "severity", "status", "customer_id", "sort", "limit", "raised_to", "assignee",
        "cursor",
    }  # fmt: skip


def test_sla_badges_turn_amber_then_red() -> None:
    raised, due = NOW - timedelta(hours=3), NOW + timedelta(hours=1)

    def badge(now: datetime, status: str = "new", resolved: datetime | None = None) -> str:
        return sla_badge(status=status, raised_at=raised, sla_due_at=due, resolved_at=resolved,
                         now=now)  # fmt: skip

    assert badge(NOW - timedelta(hours=2)) == "ok"
    assert badge(NOW) == "ok"  # a quarter of the window left
    assert badge(NOW + timedelta(minutes=5)) == "amber"  # less than a quarter
    assert badge(NOW + timedelta(minutes=40)) == "amber"
    assert badge(NOW + timedelta(hours=1, seconds=1)) == "red"
    assert badge(NOW, "resolved", resolved=NOW) == "met"
    assert badge(NOW, "resolved", resolved=due + timedelta(minutes=1)) == "red"
    assert sla_badge(status="new", raised_at=None, sla_due_at=None, resolved_at=None,
                     now=NOW) == "none"  # fmt: skip


@pytest.mark.parametrize(
    ("header", "locale"),
    [("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"), ("en-GB,en;q=0.9", "en"), ("zh-TW", "zh_CN"),
     ("fr-FR, en;q=0.5", "en"), ("fr, de", "en"), ("en;q=0.2, zh;q=0.8", "zh_CN"),
     ("zh;q=0, en", "en"), (None, "en"), ("", "en"), ("zh;q=abc", "en")],
)  # fmt: skip
def test_the_language_follows_the_browser(header: str | None, locale: str) -> None:
    assert negotiate(header) == locale


def test_money_dates_and_numbers_per_locale() -> None:
    en, zh = formatter("en"), formatter("zh_CN")
    assert en.money(Decimal("12500.5"), "EUR") == "€12,500.50"
    assert en.money("1234.5", "CNY") == "CN¥1,234.50"
    assert zh.money("1234.5", "CNY") == "¥1,234.50"
    assert en.when("2026-03-02T09:14:05Z") == "Mar 2, 2026, 9:14:05\u202fAM UTC"
    assert zh.when("2026-03-02T09:14:05+00:00") == "2026年3月2日 09:14:05 UTC"
    assert zh.day(datetime(2026, 3, 2, tzinfo=UTC)) == "2026年3月2日"
    assert en.number(1234567) == "1,234,567"
    assert en.money("not money", "EUR") == "not money"
    assert en.when(None) == ""


def test_every_message_is_translated_into_chinese() -> None:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    messages = {
        message
        for _, _, message, _, _ in extract_from_dir(
            str(CONSOLE_SRC),
            method_map,
            options_map=options,
            keywords={"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)},
        )
    }
    assert len(messages) > 50
    chinese = translations("zh_CN")
    untranslated = [m for m in messages if isinstance(m, str) and chinese.gettext(m) == m]
    assert untranslated == []
    plurals = [m for m in messages if isinstance(m, tuple)]
    assert len(plurals) >= 3  # counted messages go through ngettext
    assert [p for p in plurals if chinese.ngettext(p[0], p[1], 2) == p[1]] == []
    english = translations("en")
    assert [p for p in plurals if english.ngettext(p[0], p[1], 1) != p[0]] == []
    assert translations("en").gettext("Alert desk") == "Alert desk"
    assert set(LOCALES) == {"en", "zh_CN"}


def test_the_session_cookie_cannot_be_read_changed_or_kept_too_long() -> None:
    codec = SessionCodec(SessionCodec.generate_key(), max_age_seconds=3600)
    session = Session(token="api-token-secret", token_expires_at=2e9, subject="u-1",
                      roles=("analyst",), locale="zh_CN")  # fmt: skip
    cookie = codec.encode(session)
    assert "api-token-secret" not in cookie
    assert "analyst" not in cookie
    assert codec.decode(cookie) == session
    altered = cookie[:-6] + ("A" if cookie[-6] != "A" else "B") + cookie[-5:]
    assert codec.decode(altered) is None
    assert codec.decode(cookie, now=datetime.now(UTC).timestamp() + 3700) is None
    other = SessionCodec(SessionCodec.generate_key(), max_age_seconds=3600)
    assert other.decode(cookie) is None
    assert codec.decode("garbage") is None
    assert codec.decode(None) is None
    signed_out = session.signed_out()
    assert signed_out == Session(csrf=signed_out.csrf, locale="zh_CN")
    assert signed_out.csrf != session.csrf
    assert not session.csrf_matches(None)
    assert not session.csrf_matches("x")


def test_the_session_key_has_no_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONSOLE_SESSION_KEY", raising=False)
    assert Settings().secret_problems() == ["CONSOLE_SESSION_KEY is not set"]
    monkeypatch.setenv("CONSOLE_SESSION_KEY", "short")
    assert "not a Fernet key" in Settings().secret_problems()[0]
    monkeypatch.setenv("CONSOLE_SESSION_KEY", SessionCodec.generate_key())
    assert Settings().secret_problems() == []
    with pytest.raises(ValueError, match="CONSOLE_GATEWAY_URL"):
        Settings(gateway_url="file:///etc/passwd")


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/desk?severity=high", "/desk?severity=high"), ("//evil.example/x", "/"),
     ("https://evil.example/", "/"), ("/\\evil.example", "/"), ("", "/"), (None, "/"),
     ("desk", "/"), ("/alerts/1#resolve", "/alerts/1#resolve")],
)  # fmt: skip
def test_redirects_stay_on_the_console(target: str | None, expected: str) -> None:
    assert local_path(target) == expected


def test_action_forms_become_api_bodies() -> None:
    assert action_body("contact", {"channel": "call", "note": " called ", "x": "y"}) == {
        "channel": "call", "note": "called"}  # fmt: skip
    assert action_body(
        "measures",
        {"kind": "reduce_limit", "new_limit": "500", "currency": "GBP", "account_id": "ignored"},
    ) == {"kind": "reduce_limit", "new_limit": "500", "currency": "GBP"}
    assert action_body("resolve", {"outcome": "", "comment": ""}) == {}


def test_actions_offered_follow_the_state_and_the_roles() -> None:
    state = ["acknowledge", "assign", "comment", "measure", "resolve"]
    worker = offered_actions("a-1", state, ["analyst"])
    assert worker == ["acknowledge", "assign", "comments", "measures", "resolve"]
    assert offered_actions("a-1", state, ["viewer"]) == []
    assert offered_actions("a-1", ["reopen"], ["analyst"]) == ["reopen"]


def test_an_amount_in_the_past_is_still_a_date() -> None:
    assert formatter("en").day(date(2026, 1, 5).isoformat()) == "Jan 5, 2026"


def test_codes_are_shown_in_human_words_in_both_languages() -> None:
    from riskwatch_console.labels import LABELS, label_for
    from riskwatch_console.words import detail_rows, field_rows, humanised

    en, zh = label_for("en"), label_for("zh_CN")
    for code in ("occurrence_added", "customer_contacted", "measure_taken", "raised"):
        assert en(code) != code
        assert zh(code) != en(code)
    # A code nobody named yet is humanised, never shown raw.
    assert en("customer.days_overdue") == "Days overdue"
    assert humanised("txn.is_new_device") == "Is new device"
    assert all(zh(code) != message for code, message in LABELS.items())
    evidence = {"customer.missed_payments": 3, "txn.amount": "9000.00", "currency": "EUR",
                "amount": "9000.00", "customer.made_up": True}  # fmt: skip
    english = dict(field_rows(evidence, locale="en", label=en, fmt=formatter("en")))
    assert english["Missed payments"] == "3"
    assert english["Amount"] == "€9,000.00"
    assert english["Made up"] == "yes"
    chinese = dict(field_rows(evidence, locale="zh_CN", label=zh, fmt=formatter("zh_CN")))
    assert chinese["未按时还款次数"] == "3"
    assert chinese["Made up"] == "是"
    scores = dict(field_rows({"credit_pd": "0.019608", "credit_level": "low"}, locale="zh_CN",
                             label=zh, fmt=formatter("zh_CN")))  # fmt: skip
    assert scores == {"违约概率": "2%", "信用风险等级": "低"}
    detail = {"event_id": "x", "event_type": "scoring.customer_assessed.v1", "occurrences": 4,
              "channel": "call"}  # fmt: skip
    assert detail_rows(detail, label=zh, fmt=formatter("zh_CN")) == [
        ("触发事件", "客户已重新评估"),
        ("次数", "4"),
        ("渠道", "电话"),
    ]


def test_an_alert_and_its_reasons_in_the_readers_language() -> None:
    from riskwatch_console.words import alert_words, reason_words

    params = {"customer": "Ana", "missed_payments": 3, "delinquencies_30": 2}
    code = "alert.missed_payment_or_delinquency"
    alert = {"title": "stored", "summary": "stored summary", "message_code": code,
             "message_params": params}  # fmt: skip
    assert alert_words(alert, "en") == (
        "Missed payments or delinquency",
        "Ana has 3 missed payments and 2 payments 30+ days late on record.",
    )
    assert alert_words(alert, "zh_CN")[0] == "逾期或未按时还款"
    assert alert_words({**alert, "message_code": "alert.custom_text"}, "zh_CN") == (
        "stored",
        "stored summary",
    )
    assert alert_words({**alert, "message_code": None}, "zh_CN")[0] == "stored"
    reason = {"code": "delinquent_90", "message": "1 payment 90+ days late",
              "advice": "Refer to collections", "params": {"value": 1}}  # fmt: skip
    english = reason_words(reason, "en")
    assert (english.message, english.advice) == ("1 payment 90+ days late", "Refer to collections")
    chinese = reason_words(reason, "zh_CN")
    assert (chinese.message, chinese.advice) == ("1次逾期90天以上", "移交催收；考虑债务重组")  # noqa: RUF001
    assert reason_words("plain words", "zh_CN").message == "plain words"


def test_the_360s_transaction_filters_and_charts() -> None:
    from riskwatch_console.customer360 import (
        credit_series,
        financial_series,
        parse_transaction_query,
        watchlist_status,
    )

    asked = {"direction": "outbound", "channel": "card", "min_amount": "1,000",
             "max_amount": "5000", "occurred_from": "2026-03-01",
             "occurred_to": "2026-03-02"}  # fmt: skip
    query = parse_transaction_query(asked)
    assert query.api_params() == {
        "limit": "25", "direction": "outbound", "channel": "card", "min_amount": "1000",
        "max_amount": "5000", "occurred_from": "2026-03-01T00:00:00+00:00",
        "occurred_to": "2026-03-03T00:00:00+00:00",
    }  # fmt: skip
    assert parse_transaction_query({}).filtered is False
    for name, value in (("direction", "sideways"), ("channel", "pigeon"), ("min_amount", "-1"),
                        ("max_amount", "NaN"), ("occurred_from", "yesterday"),
                        ("min_amount", "9" * 30)):  # fmt: skip
        with pytest.raises(InvalidFilter) as refused:
            parse_transaction_query({name: value})
        assert refused.value.field == name
    with pytest.raises(InvalidFilter):
        parse_transaction_query({"min_amount": "10", "max_amount": "5"})
    one = credit_series([{"as_of": "2026-01-05", "credit_score": 455, "utilisation": "0.99"}],
                        ("Score", "Utilisation"))  # fmt: skip
    assert one["x"] == [1767571200]
    assert one["series"] == [[455.0], [99.0]]
    assert one["units"] == ["", "%"]  # utilisation on its own axis
    money = financial_series(
        {"points": [{"as_of": "2026-01-01", "currency": "GBP", "annual_income": "1000",
                     "total_assets": "5", "total_liabilities": "2", "net_worth": "3"},
                    {"as_of": "2025-01-01", "currency": "EUR", "annual_income": "9",
                     "total_assets": "9", "total_liabilities": "9", "net_worth": "0"}]},
        ("Income", "Assets", "Liabilities", "Net worth"),
    )  # fmt: skip
    assert (money["currency"], money["skipped"], money["series"][0]) == ("GBP", 1, [1000.0])
    entries = [{"status": "exited", "entered_at": "2026-01-01"},
               {"status": "active", "entered_at": "2025-01-01"}]  # fmt: skip
    assert watchlist_status(entries) == entries[1]
    assert watchlist_status(entries[:1]) == entries[0]
    assert watchlist_status([]) is None


def test_the_rules_studio_reads_the_rules_health() -> None:
    """GET /v1/rules/health's numbers (docs/detection-health.md) as the studio shows them."""
    from riskwatch_console.rule_words import rule_figures

    health = [
        {"rule_id": "r1", "dispositioned": 5, "precision": 0.6, "alerts_last_24h": 15,
         "fire_rate": 0.02, "matches": 20, "events_evaluated": 1000, "baseline_per_day": 3.0,
         "spiking": True, "window_days": 28},
        {"rule_id": "r2", "dispositioned": 0, "precision": None, "alerts_last_24h": 0},
    ]  # fmt: skip
    figures = rule_figures(health)
    assert (figures["r1"].dispositioned, figures["r1"].precision) == (5, 0.6)
    assert (figures["r1"].alerts_last_24h, figures["r1"].fire_rate) == (15, 0.02)
    assert figures["r1"].spiking
    assert (figures["r2"].dispositioned, figures["r2"].precision) == (0, None)
    assert figures["r2"].fire_rate is None
