"""The codes the rules studio and the managed lists show (list kinds, rule and proposal
states, governance steps, a rule version's fields), as the messages shown for them. Pure;
merged into `labels.LABELS`."""

from __future__ import annotations


def N_(message: str) -> str:
    return message


STUDIO_LABELS: dict[str, str] = {
    # List kinds.
    "countries": N_("Countries"),
    "counterparties": N_("Counterparties"),
    "accounts": N_("Accounts"),
    "devices": N_("Devices"),
    # Rules and proposals.
    "draft": N_("Draft"),
    "disabled": N_("Disabled"),
    "create": N_("New rule"),
    "change": N_("Change"),
    "approved": N_("Approved"),
    "superseded": N_("Superseded"),
    "proposed": N_("Proposed"),
    # Backtest jobs.
    "queued": N_("Queued"),
    "running": N_("Running"),
    "succeeded": N_("Finished"),
    "cancelled": N_("Cancelled"),
    "timed_out": N_("Timed out"),
    "cancel_requested": N_("Cancelling"),
    "stopped": N_("Stopped"),
    # List proposals.
    "load": N_("Add entries"),
    "remove": N_("Remove entries"),
    "update": N_("Change the list"),
    "delete": N_("Delete the list"),
    "merge": N_("merge"),
    "replace": N_("replace"),
    "progress": N_("Progress"),
    "events_replayed": N_("Events replayed"),
    "hits": N_("Hits so far"),
    "replayed_until": N_("Replayed up to"),
    # A rule version's fields (the diff).
    "name": N_("Name"),
    "condition": N_("Condition"),
    "severity": N_("Severity"),
    "rule_type": N_("Type"),
    "trigger_event_types": N_("Evaluated on"),
    "dedup_key": N_("One alert per (dedup key)"),
    "cooldown_seconds": N_("Cool-down (seconds)"),
    "owner_team": N_("Owner team"),
    "description": N_("Description"),
    "suggested_actions": N_("Suggested actions"),
    "template_key": N_("Template"),
    "title_template": N_("Message title"),
    "summary_template": N_("Message summary"),
}
