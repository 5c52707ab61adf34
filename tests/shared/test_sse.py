"""Where a reconnecting Server-Sent Events stream resumes (`riskwatch_shared.sse`), shared by
alerting's live desk and notify's inbox stream."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskwatch_shared.sse import InvalidLastEventId, resume_after
from riskwatch_shared.text import INT64_MAX


@given(st.integers(min_value=0, max_value=INT64_MAX))
def test_an_id_the_stream_sent_comes_back_as_its_sequence(seq: int) -> None:
    assert resume_after(str(seq), sent="a message seq") == seq
    assert resume_after(f"  {seq} ", sent="a message seq") == seq


@pytest.mark.parametrize("absent", [None, "", "   "])
def test_no_id_is_a_fresh_stream(absent: str | None) -> None:
    assert resume_after(absent, sent="a message seq") is None


@pytest.mark.parametrize(
    "hostile",
    ["-1", "1; DROP", "\uff11\uff12", "0x10", "1e3", str(INT64_MAX + 1), "9" * 10_000, "1 2"],
)
def test_anything_else_is_a_422_naming_what_the_stream_sends(hostile: str) -> None:
    with pytest.raises(InvalidLastEventId) as refused:
        resume_after(hostile, sent="an alert change id")
    assert refused.value.status_code == 422
    assert "an alert change id this stream sent" in str(refused.value)
