"""The event path reproduces, item for item, what it produced for a fixed history before it
was optimised: every assessment row, every staged event payload and every final state."""

from __future__ import annotations

import uuid

import orjson
import pytest

from riskwatch_scoring.events import new_id

from .event_path_history import GOLDEN, fingerprints, run


@pytest.mark.parametrize("challengers", [False, True], ids=["champions", "with_challengers"])
def test_outputs_equal_the_reference_outputs(challengers: bool) -> None:
    expected = orjson.loads(GOLDEN.read_bytes())["with_challengers" if challengers else "champions"]
    actual = fingerprints(run(challengers=challengers))
    for part in ("assessments", "events", "states"):
        assert len(actual[part]) == len(expected[part]), part
        for index, (got, want) in enumerate(zip(actual[part], expected[part], strict=True)):
            assert got == want, f"{part}[{index}] differs"


def test_new_ids_are_distinct_version_4_uuids() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert {(i.version, i.variant) for i in ids} == {(4, uuid.RFC_4122)}
