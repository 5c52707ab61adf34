"""The kit's one keyset cursor (issue 19): what it encodes comes back; a cursor of one sort is
refused by another; garbage is an InvalidCursor, never a crash."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskwatch_shared.pagination import (
    InvalidCursor,
    cursor_after,
    decode_cursor,
    decode_seq_cursor,
    encode_cursor,
    encode_keyed_cursor,
    encode_seq_cursor,
    keyed_cursor_after,
)
from riskwatch_shared.text import INT64_MAX

ROW_IDS = st.one_of(st.uuids(), st.integers(min_value=0, max_value=INT64_MAX))


@given(st.datetimes(timezones=st.just(UTC)), ROW_IDS, st.sampled_from(["", "h"]))
def test_a_cursor_round_trips(at: datetime, row_id: uuid.UUID | int, sort: str) -> None:
    assert decode_cursor(encode_cursor(at, row_id, sort=sort), sort=sort) == (at, str(row_id))


@given(st.datetimes(timezones=st.just(UTC)), st.uuids())
def test_the_id_comes_back_as_the_lists_type(at: datetime, row_id: uuid.UUID) -> None:
    assert cursor_after(encode_cursor(at, row_id), uuid.UUID) == (at, row_id)


def test_a_cursor_of_one_sort_is_refused_by_another() -> None:
    at, row_id = datetime.now(UTC), uuid.uuid4()
    with pytest.raises(InvalidCursor):
        decode_cursor(encode_cursor(at, row_id, sort="h"))
    with pytest.raises(InvalidCursor, match="another sort"):
        decode_cursor(encode_cursor(at, row_id), sort="h")


def test_an_id_of_another_type_is_refused() -> None:
    with pytest.raises(InvalidCursor, match="this list"):
        cursor_after(encode_cursor(datetime.now(UTC), 42), uuid.UUID)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(encode_cursor(datetime(2026, 1, 1), uuid.uuid4()))


@given(st.text(max_size=30))
def test_garbage_is_refused_or_decoded_never_crashes(text: str) -> None:
    try:
        at, row_id = decode_cursor(text)
    except InvalidCursor:
        return
    assert at.tzinfo is not None
    assert row_id


@given(st.integers(min_value=0, max_value=INT64_MAX))
def test_a_sequence_cursor_round_trips(seq: int) -> None:
    assert decode_seq_cursor(encode_seq_cursor(seq)) == seq


@given(st.text(max_size=30))
def test_any_other_sequence_cursor_is_refused_or_a_sequence(cursor: str) -> None:
    try:
        decoded = decode_seq_cursor(cursor)
    except InvalidCursor:
        return
    assert 0 <= decoded <= INT64_MAX


@given(
    st.datetimes(timezones=st.just(UTC)),
    st.uuids(),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=60),
)
def test_a_keyed_cursor_round_trips(at: datetime, row_id: uuid.UUID, key: str) -> None:
    cursor = encode_keyed_cursor(at, row_id, key)
    assert keyed_cursor_after(cursor, uuid.UUID) == (at, row_id, key)


def test_keyed_and_plain_cursors_do_not_cross() -> None:
    at, row_id = datetime.now(UTC), uuid.uuid4()
    with pytest.raises(InvalidCursor):
        keyed_cursor_after(encode_cursor(at, row_id), uuid.UUID)
    with pytest.raises(InvalidCursor):
        decode_cursor(encode_keyed_cursor(at, row_id, "early_arrears"))
    with pytest.raises(ValueError, match="cursor key"):
        encode_keyed_cursor(at, row_id, "a|b")


@given(st.text(max_size=40))
def test_keyed_garbage_is_refused_or_decoded_never_crashes(text: str) -> None:
    try:
        at, _, key = keyed_cursor_after(text, uuid.UUID)
    except InvalidCursor:
        return
    assert at.tzinfo is not None
    assert key
