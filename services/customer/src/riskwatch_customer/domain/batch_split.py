"""Splitting a batch document into its items without recursion. Pure.

Python's JSON parser recurses once per nesting level, so one item nested a few thousand levels
deep makes the whole document unparsable (a RecursionError) and would lose the good items with
it. This scanner walks the document's structural tokens with a counter instead of the stack:
it hands back each element of the top-level `items` array as raw JSON to parse on its own, or
None for an element nested deeper than allowed.
"""

from __future__ import annotations

import re

MAX_ITEM_DEPTH = 32
"""How deeply an item may nest arrays and objects (a transaction nests none)."""

_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]', re.DOTALL)
_ITEMS_KEY = b'"items"'


class _Splitter:
    def __init__(self, body: bytes, max_depth: int) -> None:
        self.body = body
        self.max_depth = max_depth
        self.items: list[bytes | None] = []
        self.start = 0
        self.deepest = 0

    def close_item(self, end: int, *, last: bool) -> None:
        raw = self.body[self.start : end]
        if not (last and not raw.strip() and not self.items):  # `[]` holds no item
            self.items.append(raw if self.deepest <= self.max_depth else None)
        self.deepest = 0


def split_items(body: bytes, *, max_depth: int = MAX_ITEM_DEPTH) -> list[bytes | None] | None:
    """The raw JSON of each element of the top-level `items` array (None for one nested deeper
    than `max_depth`), or None when the document has no complete `items` array."""
    splitter = _Splitter(body, max_depth)
    depth, key, last_string, state = 0, b"", b"", "before"
    for token in _TOKENS.finditer(body):
        char = token.group()[:1]
        if char == b'"':
            if depth == 1:
                last_string = token.group()
        elif char == b":":
            if depth == 1:
                key = last_string
        elif char == b",":
            if state == "inside" and depth == 2:
                splitter.close_item(token.start(), last=False)
                splitter.start = token.end()
        elif char in b"[{":
            depth += 1
            if state == "before" and depth == 2 and char == b"[" and key == _ITEMS_KEY:
                state, splitter.start = "inside", token.end()
            elif state == "inside":
                splitter.deepest = max(splitter.deepest, depth - 2)
        else:
            if state == "inside" and depth == 2:
                splitter.close_item(token.start(), last=True)
                state = "after"
            depth -= 1
    return splitter.items if state == "after" else None
