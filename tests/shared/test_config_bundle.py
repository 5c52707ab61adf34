"""The configuration bundle's pure parts: one canonical encoding, composing the services'
sections, refusing what is not a bundle of this format, and the per-object diff."""

from __future__ import annotations

import json

import pytest

from riskwatch_shared.config_bundle import (
    FORMAT,
    MAX_NESTING,
    BundleError,
    canonical_bytes,
    compose,
    diff_collection,
    import_report,
    parse,
    section_document,
)


def test_the_encoding_is_canonical_whatever_order_the_keys_come_in() -> None:
    one = canonical_bytes({"b": [2, 1], "a": {"z": "é", "y": None}})
    other = canonical_bytes({"a": {"y": None, "z": "é"}, "b": [2, 1]})
    assert one == other
    assert (
        one.decode()
        == '{\n  "a": {\n    "y": null,\n    "z": "é"\n  },\n  "b": [\n    2,\n    1\n  ]\n}\n'
    )
    with pytest.raises(ValueError):
        canonical_bytes({"x": float("nan")})


def test_sections_compose_into_one_bundle_once_each() -> None:
    bundle = compose(
        [section_document("alerting", {"rules": []}), section_document("notify", {"teams": []})]
    )
    assert bundle == {"format": FORMAT, "alerting": {"rules": []}, "notify": {"teams": []}}
    with pytest.raises(BundleError, match="twice"):
        compose([section_document("notify", {}), section_document("notify", {})])


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{", "not a JSON document"),
        (b"[]", "a JSON object"),
        (b'{"format": "riskwatch-config/v2"}', "format must be"),
        (b'{"format": "riskwatch-config/v1", "customers": {}}', "unknown sections: customers"),
        (b'{"format": "riskwatch-config/v1", "notify": []}', "is an object"),
        (b'{"format": "riskwatch-config/v1", "scoring": {"x": Infinity}}', "not a JSON"),
        (
            b'{"format": "riskwatch-config/v1", "alerting": {"rules": '
            + b"[" * (MAX_NESTING + 1)
            + b"]" * (MAX_NESTING + 1)
            + b"}}",
            "nests at most",
        ),
    ],
)
def test_what_is_not_a_bundle_of_this_format_is_refused(raw: bytes, reason: str) -> None:
    with pytest.raises(BundleError, match=reason):
        parse(raw)


def test_the_diff_says_per_object_create_change_unchanged_or_left_alone() -> None:
    current = {
        "1": {"id": "1", "name": "Large transfer", "severity": "high"},
        "2": {"id": "2", "name": "Same", "severity": "low"},
        "3": {"id": "3", "name": "Only here", "severity": "low"},
    }
    wanted = {
        "1": {"id": "1", "name": "Large transfer", "severity": "critical"},
        "2": {"id": "2", "name": "Same", "severity": "low"},
        "4": {"id": "4", "name": "New", "severity": "medium"},
    }
    diffs = diff_collection("rule", current, wanted)
    assert [(d.key, d.action) for d in diffs] == [
        ("1", "change"),
        ("2", "unchanged"),
        ("4", "create"),
        ("3", "left_alone"),
    ]
    assert [c.to_json() for c in diffs[0].changes] == [
        {"field": "severity", "current": "high", "wanted": "critical"}
    ]
    report = import_report("alerting", "dry-run", diffs)
    assert report["summary"] == {"change": 1, "create": 1, "left_alone": 1, "unchanged": 1}
    assert report["stored"] is False
    assert json.loads(canonical_bytes(report))["objects"][2]["name"] == "New"
