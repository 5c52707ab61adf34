"""A local SMTP server for `riskwatch run` and tests: keeps every message it accepts.

`riskwatch run` starts one when NOTIFY_SMTP_HOST is not set, so a newcomer sees the alert
emails as .eml files under `.riskwatch/mail/` without configuring a mail server.
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from riskwatch_shared.embedded import free_port


class _KeepMessages:
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.messages: list[EmailMessage] = []
        self.accepted_at: list[float] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
            self.accepted_at.append(time.time())
            index = len(self.messages)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{int(time.time() * 1000)}-{index:06d}.eml").write_bytes(raw)
        return "250 Message accepted for delivery"


class MailCatcher:
    def __init__(self, folder: Path | None = None, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self._handler = _KeepMessages(folder)
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        with self._handler.lock:
            return list(self._handler.messages)

    @property
    def accepted_at(self) -> list[float]:
        with self._handler.lock:
            return list(self._handler.accepted_at)
