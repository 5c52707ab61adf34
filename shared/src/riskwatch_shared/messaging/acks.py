"""Acking a fetched batch's messages with one write instead of one `publish` per message.

Each message still gets its own ack (an empty PUB to its own reply subject), so acking one
message never acks another: replicas share durable consumers, and `AckPolicy.ALL` would let
one replica's ack of a later message ack an earlier one another replica still holds. What is
saved is nats-py's per-call work (`Msg.ack` -> `Client.publish`: subject checks, a command
string formatted and encoded, the pending buffer and the flusher kicked once per message);
here the acks are formatted together and handed to the client's pending buffer once, where
its flusher writes them like any other command.
"""

from __future__ import annotations

from collections.abc import Sequence

from nats.aio.msg import Msg

# Below this, `Msg.ack` one by one costs about the same.
_BATCHED_FROM = 2


async def ack_all(msgs: Sequence[Msg]) -> None:
    """Ack every message (each its own ack), written to the connection as one buffer.

    Falls back to `Msg.ack` per message when the client is not connected (nats-py then
    applies its reconnect buffering rules) or for a single message. A message already
    acked or without a reply subject raises as `Msg.ack` does, before anything is sent.
    """
    if len(msgs) < _BATCHED_FROM:
        for msg in msgs:
            await msg.ack()
        return
    # nats-py has no public call for several commands at once: its `_send_command` and
    # `_flush_pending` are what `publish` itself ends with (nats-py 2.x).
    client = msgs[0]._client
    if not client.is_connected or any(msg._client is not client for msg in msgs):
        for msg in msgs:
            await msg.ack()
        return
    for msg in msgs:
        msg._check_reply()
    buffer = b"".join([b"PUB %s 0\r\n\r\n" % msg.reply.encode() for msg in msgs])
    client.stats["out_msgs"] += len(msgs)
    await client._send_command(buffer)
    for msg in msgs:
        msg._ackd = True
    if client._flush_queue is not None and client._flush_queue.empty():
        await client._flush_pending()
