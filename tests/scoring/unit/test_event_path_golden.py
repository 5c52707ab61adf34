"""The event path reproduces, item for item, what it produced for a fixed history before it
was optimised: every assessment row, every staged event payload and every final state."""

from __future__ import annotations

import uuid

import orjson
import pytest

from riskwatch_scoring.payloads import new_id
from riskwatch_shared.events.base import parse_event

from .event_path_history import GOLDEN, fingerprints, run


@pytest.mark.parametrize("challengers", [False, True], ids=["champions", "with_challengers"])
def test_outputs_equal_the_reference_outputs(challengers: bool) -> None:
    expected = orjson.loads(GOLDEN.read_bytes())["with_challengers" if challengers else "champions"]
    actual = fingerprints(run(challengers=challengers))
    for part in ("assessments", "events", "states"):
        assert len(actual[part]) == len(expected[part]), part
        for index, (got, want) in enumerate(zip(actual[part], expected[part], strict=True)):
            assert got == want, f"{part}[{index}] differs"


@pytest.mark.parametrize("challengers", [False, True], ids=["champions", "with_challengers"])
def test_staged_payloads_are_exactly_what_their_event_models_write(challengers: bool) -> None:
    """Built as dicts, each payload still parses as its v1 model and dumps back unchanged."""
    staged = run(challengers=challengers)["staged"]
    assert {subject for subject, _ in staged} == {
        "scoring.transaction_scored.v1",
        "scoring.customer_assessed.v1",
        "scoring.customer_risk_level_changed.v1",
    }
    for subject, payload in staged:
        event = parse_event(subject, payload)
        assert event.type == subject
        assert orjson.loads(event.to_json_bytes()) == orjson.loads(payload)


def test_new_ids_are_distinct_version_4_uuids() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert {(i.version, i.variant) for i in ids} == {(4, uuid.RFC_4122)}
