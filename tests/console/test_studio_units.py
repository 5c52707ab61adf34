"""The rules studio's and the list upload's pure parts: a CSV read into rows with a reason per
invalid one, the outcome per row after the load, a rule's form into its body and its PATCH,
the diff of two versions, the message preview in both languages, the health figures."""

from __future__ import annotations

import pytest

from riskwatch_console.list_upload import (
    MAX_UPLOAD_BYTES,
    UnreadableUpload,
    loaded,
    proposed,
    read_upload,
)
from riskwatch_console.managed_lists import is_proposal
from riskwatch_console.rule_words import (
    hits_chart,
    message_preview,
    rule_body,
    rule_changes,
    rule_figures,
    shadow_chart,
    version_diff,
)


def test_a_country_upload_reads_every_line_with_its_outcome() -> None:
    data = "\ufeffvalue,note\nGB,known\npt\n\nPT,again\nFRA\nR\u202eU\nDE,x,extra\n".encode()
    plan = read_upload(data, kind="countries")
    assert plan.header
    shown = [(row.line, row.value, row.status, row.reason) for row in plan.rows]
    assert shown == [
        (2, "GB", "pending", None),
        (3, "PT", "pending", None),  # upper-cased: country codes are
        (5, "PT", "duplicate", None),
        (6, "FRA", "invalid", "Not a two-letter country code (ISO 3166-1)"),
        (7, "R\u202eU", "invalid", "The value holds a control or bidi-override character"),
        (8, "DE", "invalid", "More than two columns (value, note)"),
    ]
    assert plan.rows[2].first_line == 3
    assert plan.to_load == [("GB", "known"), ("PT", None)]
    after = loaded(plan, ["GB"])
    assert [row.status for row in after.rows[:2]] == ["already_present", "added"]
    assert after.counts == {"pending": 0, "added": 1, "already_present": 1, "proposed": 0,
                            "duplicate": 1, "invalid": 3}  # fmt: skip
    assert proposed(plan).counts["proposed"] == 2


def test_an_upload_that_is_not_a_lists_csv_is_refused_whole() -> None:
    for data, reason in (
        (b"", "The file is empty."),
        (b"\xff\xfe\x00a", "The file is not UTF-8 text."),
        (b"value,note\n", "The file has no entries."),
        (b"x" * (MAX_UPLOAD_BYTES + 1), "The file is larger than 5 MB."),
    ):
        with pytest.raises(UnreadableUpload, match=reason.replace(".", r"\.")):
            read_upload(data, kind="devices")
    devices = read_upload(b"dev-1,\n" + b"d" * 201 + b"\n", kind="devices")
    assert [row.status for row in devices.rows] == ["pending", "invalid"]


def test_a_rules_form_becomes_its_body_and_only_changes_are_patched() -> None:
    form = {"name": " Big ", "rule_type": "custom", "severity": "high",
            "condition": "txn.amount > 1", "cooldown_seconds": "600",
            "suggested_actions": "Call\n\n Check  \n", "owner_team": ""}  # fmt: skip
    body = rule_body(form, ["scoring.transaction_scored.v1"])
    assert body == {"name": "Big", "rule_type": "custom", "severity": "high",
                    "condition": "txn.amount > 1", "cooldown_seconds": 600,
                    "trigger_event_types": ["scoring.transaction_scored.v1"],
                    "suggested_actions": ["Call", "Check"]}  # fmt: skip
    assert rule_body({"cooldown_seconds": "soon"}, [])["cooldown_seconds"] == -1
    rule = {**body, "owner_team": "Fraud", "description": None}
    assert rule_changes(rule, body) == {"owner_team": None}  # emptied: cleared
    assert rule_changes(rule, {**body, "owner_team": "Fraud", "severity": "low"}) == {
        "severity": "low"
    }


def test_the_diff_of_two_versions_is_by_field_and_line() -> None:
    older = {"condition": "txn.amount > 5\nand x", "severity": "high", "name": "A"}
    newer = {"condition": "txn.amount > 7\nand x", "severity": "high", "name": "A",
             "title_template": "Hi"}  # fmt: skip
    diffs = {diff.field: [(line.kind, line.text) for line in diff.lines]
             for diff in version_diff(older, newer)}  # fmt: skip
    assert diffs == {
        "condition": [("removed", "txn.amount > 5"), ("added", "txn.amount > 7"),
                      ("same", "and x")],
        "title_template": [("added", "Hi")],
    }  # fmt: skip


def test_the_message_preview_in_english_and_chinese() -> None:
    preview = message_preview("{customer}: {credit_level} risk", "{amount} on {happened_at}")
    assert preview.title == {"en": "Jane Doe: high risk", "zh-CN": "Jane Doe: 高 risk"}
    assert preview.summary["en"] == "12,500.00 EUR on 2026-03-02 09:14 UTC"
    assert preview.summary["zh-CN"] == "12,500.00 EUR on 2026年3月2日 09:14\uff08UTC\uff09"
    assert message_preview("{nope}", "").error is not None
    assert message_preview("a } b", "").error is not None


def test_health_figures_and_the_shadow_chart() -> None:
    figures = rule_figures([{"rule_id": "r1", "window_days": 28, "events_evaluated": 200,
                             "matches": 5, "fire_rate": 0.025, "alerts_last_24h": 2,
                             "baseline_per_day": None, "spiking": False, "dispositioned": 4,
                             "precision": 0.75}])  # fmt: skip
    assert figures["r1"].fire_rate == 0.025
    assert figures["r1"].precision == 0.75
    assert rule_figures(None) == {}
    chart = shadow_chart(
        {"days": [{"day": "2026-03-02", "active": {"hits": 3}, "shadow": {"hits": 5}}]},
        "Live", "Shadow", "Day",
    )  # fmt: skip
    assert chart is not None
    assert (chart["x"], chart["series"]) == ([1772409600], [[3], [5]])
    assert shadow_chart(None, "Live", "Shadow", "Day") is None
    points = [{"day": "2026-02-02", "alerts": 1}, {"day": "2026-02-04", "alerts": 2}]
    hits = hits_chart(points, "Alerts", "2026-02-01T00:00:00+00:00", "2026-02-05T00:00:00Z")
    assert hits["series"] == [[0, 1, 0, 2, 0]]  # every day of the range, quiet ones at 0
    assert hits["x"][1] - hits["x"][0] == 86_400
    assert is_proposal({"id": "p", "list_id": "l", "change": {}, "status": "pending"})
    assert not is_proposal({"list": {}, "loaded": 1})
