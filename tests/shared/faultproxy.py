"""A TCP proxy in front of the real PostgreSQL that a test can take down and bring back.

Down: every open connection is cut (the client sees a reset / closed connection mid-statement)
and new ones are refused, as during a PostgreSQL restart; up: it forwards again.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlalchemy.engine import make_url


class FaultProxy:
    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        host = str(url.query.get("host", url.host or ""))
        self._unix = host.startswith("/")
        self._target_host = host
        self._target_port = url.port or 5432
        self._database_url = url
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """The database URL through the proxy."""
        url = self._database_url.set(host="127.0.0.1", port=self.port, query={})
        return url.render_as_string(hide_password=False)

    async def start(self) -> None:
        await self.up()

    async def up(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port or 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Stop listening (new connections are refused) and cut every open connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def stop(self) -> None:
        await self.down()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self._unix:
                socket = Path(self._target_host) / f".s.PGSQL.{self._target_port}"
                up_reader, up_writer = await asyncio.open_unix_connection(str(socket))
            else:
                up_reader, up_writer = await asyncio.open_connection(
                    self._target_host, self._target_port
                )
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._tasks.update(pipes)
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for task in pipes:
            task.cancel()
        for w in (writer, up_writer):
            w.transport.abort()
            self._writers.discard(w)
        self._tasks.difference_update(pipes)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
