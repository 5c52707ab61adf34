"""Structured JSON logs carrying the request id and trace id of the current context, with
personal data (emails, phone numbers, document and account numbers, IP addresses) masked."""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

import structlog
import structlog.tracebacks

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
trace_id_var: ContextVar[str | None] = ContextVar("trace_id", default=None)


def _add_context_ids(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    if (request_id := request_id_var.get()) is not None:
        event_dict.setdefault("request_id", request_id)
    if (trace_id := trace_id_var.get()) is not None:
        event_dict.setdefault("trace_id", trace_id)
    return event_dict


_HEX = "[0-9A-Fa-f]"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_PERSONAL_DATA = re.compile(
    # Ids are not personal data and must stay readable: UUIDs and 32-hex request ids pass.
    rf"(?P<keep>\b{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\b|\b{_HEX}{{32}}\b)"
    r"|(?P<email>[\w.%+-]+@[\w-]+(?:\.[\w-]+)+)"
    rf"|(?P<ip>(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w.])"
    rf"|(?<![\w:])(?=[0-9A-Fa-f:]*::|(?:{_HEX}{{1,4}}:){{7}}){_HEX}{{0,4}}(?::{_HEX}{{0,4}}){{2,7}}(?![\w:]))"
    # Nine digits or more, maybe spaced or dashed (a phone, an account); not a time of day.
    r"|(?P<phone>(?<![\w:.-])\+?\d(?:[ ()./-]{0,2}\d){8,}(?![\w:-]))"
    # A word of 6-34 letters and digits holding five digits or more (a document, an IBAN).
    r"|(?P<number>\b(?=(?:[A-Za-z]*\d){5})[A-Za-z0-9]{6,34}\b)"
)
_PLACEHOLDERS = {"email": "<email>", "ip": "<ip>", "phone": "<number>", "number": "<number>"}
# Keys the logging machinery fills in itself: never personal data, kept verbatim.
_VERBATIM_KEYS = frozenset({"timestamp", "level", "logger", "request_id", "trace_id", "service"})


# Addresses a service binds or talks to itself on: no one's personal data.
_OWN_ADDRESSES = frozenset({"0.0.0.0", "127.0.0.1", "::", "::1"})


def _placeholder(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "keep" or kind is None or (kind == "ip" and match.group() in _OWN_ADDRESSES):
        return match.group()
    return _PLACEHOLDERS[kind]


def scrub_text(text: str) -> str:
    """`text` with emails, phone numbers, document/account numbers and IPs replaced. Pure."""
    return _PERSONAL_DATA.sub(_placeholder, text)


def scrub_value(value: Any) -> Any:
    """Strings scrubbed, containers walked; numbers and other values as they are."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: scrub_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(item) for item in value]
    return value


def scrub_personal_data(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """A structlog processor: every value of the event, tracebacks included, scrubbed."""
    return {
        key: value if key in _VERBATIM_KEYS else scrub_value(value)
        for key, value in event_dict.items()
    }


class ScrubbingFilter(logging.Filter):
    """The same masking for standard-library records (uvicorn, SQLAlchemy, asyncpg)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub_text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub_text(logging.Formatter().formatException(record.exc_info))
        return True


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_context_ids,
            # Tracebacks without frame locals: a local may hold a customer's record.
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            scrub_personal_data,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, ScrubbingFilter) for f in handler.filters):
            handler.addFilter(ScrubbingFilter())


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
