"""The inbox: in-app messages, marking them read, and the live unread badge on every page (a
relay of the gateway's `/v1/inbox/stream` as the console's own Server-Sent Events)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.responses import Response, StreamingResponse

from riskwatch_console.gateway import ApiProblem, SignedOut
from riskwatch_console.sse import read_events, write_event
from riskwatch_console.web import Visit, page, redirect

# A relay ends after this long (the browser reconnects at once): each reconnect re-checks the
# session, so a signed-out or disabled person's badge stops.
RELAY_SECONDS = 300.0
NO_INBOX = {"items": [], "unread_count": 0, "total": 0}


async def _inbox(visit: Visit, params: dict[str, str]) -> dict[str, Any]:
    """The person's inbox; an empty one for a person no recipient is linked to (404)."""
    try:
        found: dict[str, Any] = await visit.console.gateway.get(
            "/v1/inbox", token=visit.token, params=params
        )
    except ApiProblem as problem:
        if problem.status == 404:
            return dict(NO_INBOX)
        raise
    return found


def badge_text(count: int) -> str:
    return "" if count <= 0 else ("99+" if count > 99 else str(count))


@page()
async def inbox(visit: Visit) -> Response:
    """The in-app messages, newest first."""
    only_unread = visit.request.query_params.get("unread") == "1"
    params = {"limit": "100", **({"unread": "true"} if only_unread else {})}
    messages = await _inbox(visit, params)
    return visit.render("inbox.html", messages=messages, only_unread=only_unread)


@page()
async def mark_read(visit: Visit) -> Response:
    """Mark one message read (or all of them)."""
    raw = str(visit.request.path_params.get("message_id", "all"))
    if raw == "all":
        path = "/v1/inbox/read-all"
    else:
        try:
            path = f"/v1/inbox/{uuid.UUID(raw)}/read"
        except ValueError:
            return redirect("/inbox")
    try:
        await visit.console.gateway.post(path, token=visit.token, body={})
    except ApiProblem as problem:
        if problem.status != 404:
            raise
    return redirect("/inbox")


@page()
async def live_badge(visit: Visit) -> Response:
    """`event: unread` with the unread count now, then again whenever a message arrives."""

    async def events() -> AsyncIterator[str]:
        messages = await _inbox(visit, {"limit": "1", "unread": "true"})
        yield write_event("unread", badge_text(int(messages.get("unread_count", 0))))
        deadline = time.monotonic() + RELAY_SECONDS
        try:
            async with visit.console.gateway.stream("/v1/inbox/stream", token=visit.token) as up:
                async for event in read_events(up.aiter_lines()):
                    if event.name == "message":
                        messages = await _inbox(visit, {"limit": "1", "unread": "true"})
                        count = int(messages.get("unread_count", 0))
                        yield write_event("unread", badge_text(count))
                    if time.monotonic() > deadline:
                        break
        except (ApiProblem, SignedOut, httpx.HTTPError):
            # No inbox, or the session ended: the badge stays as it is, and the stream stays
            # open (quiet) so the browser does not reconnect every few seconds.
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )
