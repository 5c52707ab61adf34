"""Telling failures that will pass from failures that will not.

A *transient* failure is one of a dependency, not of the work: PostgreSQL or NATS unavailable
or restarting, a connection reset, a serialisation failure or deadlock, a lock or statement
timeout, too many connections. Retrying the same work later succeeds, so it must never count
toward dead-lettering. Anything else (a payload that cannot parse or validate, a handler bug) is
*poison*: retrying will fail the same way.

Pure: looks only at the exception, its `orig` (SQLAlchemy's wrapped DBAPI error) and its
`__cause__`/`__context__` chain.
"""

from __future__ import annotations

import asyncpg
import nats.errors
import nats.js.errors
import sqlalchemy.exc

# SQLSTATE classes and codes that name a condition of the server, not of the statement:
# 08 connection exception, 40 transaction rollback (serialization failure, deadlock),
# 53 insufficient resources (too many connections...), 57 operator intervention (admin/crash
# shutdown, cannot connect now, statement timeout / query cancelled), 58 system error,
# 55P03 lock not available (lock_timeout), 55006 object in use, 25P03 idle-in-transaction timeout.
_TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")
_TRANSIENT_SQLSTATES = ("55P03", "55006", "25P03")

_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionError, ConnectionRefusedError, TimeoutError, socket errors
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,  # "connection is closed", "another operation in progress"
    asyncpg.exceptions.InternalClientError,
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,  # the connection pool is exhausted
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.ConnectionDrainingError,
    nats.errors.NoServersError,
    nats.errors.NoRespondersError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.FlushTimeoutError,
    # JetStream not (yet) answering: a restarting server, a stream leader being elected.
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.ServerError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.FetchTimeoutError,
)


# What an HTTP app registers its 503 handler for (the handler then asks `is_transient`).
TRANSIENT_HANDLER_TYPES: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.exceptions.PostgresError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    sqlalchemy.exc.DBAPIError,
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,
    nats.errors.Error,
)


class DependencyUnavailable(Exception):
    """Raised by code that finds a dependency down itself (a probe, a closed bus)."""


TRANSIENT_HANDLER_TYPES += (DependencyUnavailable,)


def _sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return state if isinstance(state, str) else None


def _one_is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (DependencyUnavailable, *_TRANSIENT_TYPES)):
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    state = _sqlstate(exc)
    if state is not None:
        return state.startswith(_TRANSIENT_SQLSTATE_CLASSES) or state in _TRANSIENT_SQLSTATES
    # The message bus's own failures (JetStream did not acknowledge in time, no stream
    # answered) are the server's, not the payload's.
    return type(exc).__name__ in ("PublishFailed", "PullConsumerGone")


def is_transient(exc: BaseException) -> bool:
    """True when `exc`, or what it wraps or was raised from, is a dependency failure."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if _one_is_transient(current):
            return True
        for nested in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(nested, BaseException):
                todo.append(nested)
    return False


def describe(exc: BaseException) -> str:
    """A short reason for a log line or a dead letter's header."""
    return f"{type(exc).__name__}: {exc}"[:500]
