"""A connection switched to TLS part way, as MySQL does it: after the client's SSLRequest packet.

asyncio's own start_tls cannot be used here: a MySQL client sends its TLS ClientHello right
behind the SSLRequest, without waiting, so those bytes are often already in the StreamReader's
buffer, where start_tls never sees them. This channel runs TLS over the existing reader and writer
with memory BIOs instead, so whatever the reader holds is read as TLS. It offers what PacketStream
uses of a reader and a writer.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

_READ_SIZE = 65536


class TLSChannel:
    """Decrypted reads and encrypted writes over a plain StreamReader/StreamWriter pair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, context: ssl.SSLContext):
        self._reader, self._writer = reader, writer
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._plain = bytearray()

    async def handshake(self) -> None:
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._send_pending()
                await self._receive()
        await self._send_pending()

    async def readexactly(self, n: int) -> bytes:
        while len(self._plain) < n:
            try:
                chunk = self._tls.read(_READ_SIZE)
            except ssl.SSLWantReadError:
                await self._send_pending()
                await self._receive()
                continue
            except ssl.SSLZeroReturnError:  # the client closed TLS
                chunk = b""
            if not chunk:
                raise asyncio.IncompleteReadError(bytes(self._plain), n)
            self._plain += chunk
        data = bytes(self._plain[:n])
        del self._plain[:n]
        return data

    def write(self, data: bytes | memoryview) -> None:
        self._tls.write(data)
        self._writer.write(self._outgoing.read())

    def writelines(self, parts: Iterable[bytes | memoryview]) -> None:
        for part in parts:
            self._tls.write(part)
        self._writer.write(self._outgoing.read())

    async def drain(self) -> None:
        await self._writer.drain()

    def close(self) -> None:
        self._writer.close()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "ssl_object":
            return self._tls
        return self._writer.get_extra_info(name, default)

    async def _receive(self) -> None:
        data = await self._reader.read(_READ_SIZE)
        if not data:
            raise asyncio.IncompleteReadError(b"", None)
        self._incoming.write(data)

    async def _send_pending(self) -> None:
        pending = self._outgoing.read()
        if pending:
            self._writer.write(pending)
            await self._writer.drain()
