"""The approvals page's summaries of a proposed change, in words (pure, no system)."""

from __future__ import annotations

from riskwatch_console.approvals import list_changes, model_changes, policy_changes


def same(message: str) -> str:
    return message


def test_a_list_load_names_its_first_values_and_counts_the_rest() -> None:
    entries = [[f"V{n}", None] for n in range(12)]
    proposal = {"kind": "load", "change": {"mode": "merge", "entries": entries, "list_name": "x"}}
    assert list_changes(proposal, same) == [
        "Add 12: V0, V1, V2, V3, V4, V5, V6, V7, V8, V9 … (+2 more)"
    ]
    replace = {"kind": "load", "change": {"mode": "replace", "entries": [["KP", "sanctions"]]}}
    assert list_changes(replace, same) == ["Replace the list with 1: KP"]


def test_a_list_removal_update_and_deletion() -> None:
    assert list_changes({"kind": "remove", "change": {"values": ["RU", "IR"]}}, same) == [
        "Remove 2: RU, IR"
    ]
    update = {"kind": "update", "change": {"description": "Sanctioned", "list_name": "x"}}
    assert list_changes(update, same) == ["description: Sanctioned"]
    assert list_changes({"kind": "delete", "change": {"list_name": "x"}}, same) == [
        "Delete the list and its entries"
    ]


def test_a_model_and_an_escalation_policy_before_and_after() -> None:
    model = {"change": {"status_before": "candidate", "status": "champion", "model_version": "v3"}}
    assert model_changes(model, same) == ["Status: candidate → champion", "Model version: v3"]
    level = {"after_seconds": 900, "channels": ["email", "sms"], "team_ids": ["t"]}
    policy = {
        "kind": "put",
        "change": {"levels": [level], "repeat": 2, "before": None},
    }
    assert policy_changes(policy, same) == [
        "Now: none",
        "Proposed: +15 min: email, sms → 1 teams or recipients; Repeat: 2",
    ]
    deletion = {"kind": "delete", "change": {"before": {"levels": [level], "repeat": 0}}}
    assert policy_changes(deletion, same)[1] == "Proposed: none"
