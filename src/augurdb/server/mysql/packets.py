"""The packet layer: framing, sequence ids, length-encoded values, OK/ERR/EOF.

Every MySQL packet is `3-byte length + 1-byte sequence id + payload`. A payload of
0xFFFFFF bytes or more is split into 0xFFFFFF-byte pieces followed by a shorter one
(possibly empty), each with the next sequence id; `PacketStream.read` puts them back
together, so a statement of any size reaches the handler in one piece.
"""

from __future__ import annotations

import asyncio
import struct

from augurdb.server.mysql.constants import MAX_PACKET_PAYLOAD, ErrorCode, ServerStatus

_HEADER = struct.Struct("<I")


class MalformedPacket(Exception):
    """A payload that ends early or holds impossible values; answered with ERR 1835."""


class PacketTooLarge(Exception):
    """The client sent more than max_allowed_packet; the connection is closed after ERR 1153."""


def lenenc_int(value: int) -> bytes:
    """A length-encoded integer (1, 3, 4 or 9 bytes)."""
    if value < 251:
        return bytes((value,))
    if value < 1 << 16:
        return b"\xfc" + value.to_bytes(2, "little")
    if value < 1 << 24:
        return b"\xfd" + value.to_bytes(3, "little")
    return b"\xfe" + value.to_bytes(8, "little")


def lenenc_bytes(value: bytes) -> bytes:
    """A length-encoded string: its length as `lenenc_int`, then the bytes."""
    return lenenc_int(len(value)) + value


def frame(payload: bytes | bytearray | memoryview, seq: int) -> tuple[bytes, int]:
    """Wrap `payload` in packet headers starting at sequence id `seq`; return the bytes and next seq."""
    if len(payload) < MAX_PACKET_PAYLOAD:
        return _HEADER.pack(len(payload) | (seq << 24)) + bytes(payload), (seq + 1) & 0xFF
    parts = []
    view = memoryview(payload)
    start = 0
    # A payload of exactly k * 0xFFFFFF bytes ends with an empty packet so the reader knows it is over.
    while True:
        piece = view[start : start + MAX_PACKET_PAYLOAD]
        parts.append(_HEADER.pack(len(piece) | (seq << 24)))
        parts.append(bytes(piece))
        seq = (seq + 1) & 0xFF
        start += len(piece)
        if len(piece) < MAX_PACKET_PAYLOAD:
            return b"".join(parts), seq


class PayloadReader:
    """Reads protocol values from one payload; running off its end raises `MalformedPacket`."""

    def __init__(self, payload: bytes, pos: int = 0):
        self.payload = payload
        self.pos = pos

    def remaining(self) -> int:
        """Bytes left to read."""
        return len(self.payload) - self.pos

    def take(self, n: int) -> bytes:
        """The next `n` bytes."""
        if n < 0 or self.pos + n > len(self.payload):
            raise MalformedPacket(f"packet ends after {len(self.payload)} bytes, needed {self.pos + n}")
        out = self.payload[self.pos : self.pos + n]
        self.pos += n
        return out

    def uint(self, n: int) -> int:
        """An unsigned little-endian integer of `n` bytes."""
        return int.from_bytes(self.take(n), "little")

    def lenenc_int(self) -> int | None:
        """A length-encoded integer; None for the 0xFB (NULL) marker."""
        first = self.uint(1)
        if first < 251:
            return first
        if first == 0xFB:
            return None
        if first == 0xFF:
            raise MalformedPacket("0xFF is not a length-encoded integer")
        return self.uint({0xFC: 2, 0xFD: 3, 0xFE: 8}[first])

    def lenenc_bytes(self) -> bytes:
        """A length-encoded string."""
        return self.take(self.lenenc_int() or 0)

    def nul_bytes(self) -> bytes:
        """Bytes up to a NUL terminator (consumed); the rest of the payload if there is none."""
        end = self.payload.find(b"\x00", self.pos)
        if end < 0:
            return self.rest()
        out = self.payload[self.pos : end]
        self.pos = end + 1
        return out

    def rest(self) -> bytes:
        """Everything left."""
        out = self.payload[self.pos :]
        self.pos = len(self.payload)
        return out


class PacketStream:
    """Packets over an asyncio stream pair, keeping track of the sequence id.

    Writes are buffered until `flush`, so a whole response goes out in as few
    system calls as possible.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_packet: int):
        self.reader = reader
        self.writer = writer
        self.max_packet = max_packet
        self.seq = 0
        self._buffer: list[bytes | memoryview] = []

    async def read(self) -> bytes:
        """The next logical payload (pieces of a >16 MB payload joined); raises on EOF or oversize."""
        parts: list[bytes] = []
        total = 0
        while True:
            header = await self.reader.readexactly(4)
            (word,) = _HEADER.unpack(header)
            length = word & 0xFFFFFF
            self.seq = ((word >> 24) + 1) & 0xFF
            total += length
            if total > self.max_packet:
                raise PacketTooLarge(total)
            parts.append(await self.reader.readexactly(length))
            if length < MAX_PACKET_PAYLOAD:
                return parts[0] if len(parts) == 1 else b"".join(parts)

    def write(self, payload: bytes) -> None:
        """Queue one logical payload with the next sequence id(s)."""
        data, self.seq = frame(payload, self.seq)
        self._buffer.append(data)

    def write_raw(self, data: bytes | memoryview, next_seq: int) -> None:
        """Queue bytes that are already framed (encoded rows), ending at sequence id `next_seq`."""
        self._buffer.append(data)
        self.seq = next_seq

    async def flush(self) -> None:
        """Send what is queued and wait until the transport can take more."""
        if self._buffer:
            self.writer.writelines(self._buffer)
            self._buffer = []
        await self.writer.drain()


def ok_packet(
    affected_rows: int = 0,
    *,
    status: int = ServerStatus.AUTOCOMMIT,
    warnings: int = 0,
    info: str = "",
    header: int = 0x00,
) -> bytes:
    """An OK packet; `header=0xFE` makes the OK that ends a result set under DEPRECATE_EOF."""
    return (
        bytes((header,))
        + lenenc_int(affected_rows)
        + lenenc_int(0)  # last insert id: the engine has no auto-increment
        + struct.pack("<HH", status, min(warnings, 0xFFFF))
        + info.encode()
    )


def eof_packet(*, status: int = ServerStatus.AUTOCOMMIT, warnings: int = 0) -> bytes:
    """The pre-DEPRECATE_EOF end-of-rows (or end-of-columns) marker."""
    return b"\xfe" + struct.pack("<HH", min(warnings, 0xFFFF), status)


def err_packet(code: int, sqlstate: str, message: str) -> bytes:
    """An ERR packet in the PROTOCOL_41 form (with `#` and SQLSTATE)."""
    state = (sqlstate or "HY000").encode()[:5].ljust(5, b"0")
    return b"\xff" + struct.pack("<H", code) + b"#" + state + message.encode("utf-8", "replace")


def malformed_packet_error() -> bytes:
    """ERR 1835, for a payload that cannot be decoded."""
    return err_packet(ErrorCode.MALFORMED_PACKET, "HY000", "Malformed communication packet.")
