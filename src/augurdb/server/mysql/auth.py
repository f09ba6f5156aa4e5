"""The connection phase: Handshake v10, the client's response, and the password check.

Two plugins are verified: `mysql_native_password`, which every client speaks, and
`caching_sha2_password`, MySQL 8's default. The server knows the password itself, so a
caching_sha2 token is always checked on its fast path (no RSA key, no cleartext). A client that
starts with any other plugin is asked to switch to mysql_native_password (AuthSwitchRequest).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass, field

from augurdb.server.mysql.constants import CHARSET_UTF8MB4, SERVER_CAPABILITIES, Capability, ServerStatus
from augurdb.server.mysql.packets import MalformedPacket, PayloadReader

NATIVE_PASSWORD = "mysql_native_password"
CACHING_SHA2_PASSWORD = "caching_sha2_password"
FAST_AUTH_SUCCESS = b"\x01\x03"  # AuthMoreData: the caching_sha2 token was right
SCRAMBLE_LENGTH = 20
_PRINTABLE = bytes(range(0x21, 0x7F))


def new_scramble() -> bytes:
    """20 random bytes; printable and NUL-free because part of it travels NUL-terminated."""
    return bytes(secrets.choice(_PRINTABLE) for _ in range(SCRAMBLE_LENGTH))


def native_password_token(password: str, scramble: bytes) -> bytes:
    """What a client sends for `password`: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw)))."""
    if not password:
        return b""
    stage1 = hashlib.sha1(password.encode()).digest()
    stage2 = hashlib.sha1(stage1).digest()
    mask = hashlib.sha1(scramble + stage2).digest()
    return bytes(a ^ b for a, b in zip(stage1, mask, strict=True))


def caching_sha2_token(password: str, scramble: bytes) -> bytes:
    """What a client sends for `password`: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble)."""
    if not password:
        return b""
    stage1 = hashlib.sha256(password.encode()).digest()
    mask = hashlib.sha256(hashlib.sha256(stage1).digest() + scramble).digest()
    return bytes(a ^ b for a, b in zip(stage1, mask, strict=True))


def check_password(plugin: str, password: str, scramble: bytes, token: bytes) -> bool:
    """True when `token` proves knowledge of `password` under `plugin` (constant-time compare)."""
    expected = caching_sha2_token(password, scramble) if plugin == CACHING_SHA2_PASSWORD \
        else native_password_token(password, scramble)
    return hmac.compare_digest(expected, token)


def handshake_packet(server_version: str, connection_id: int, scramble: bytes, tls: bool = False) -> bytes:
    """The server's Handshake v10, advertising mysql_native_password (and TLS when it is on)."""
    caps = int(SERVER_CAPABILITIES) | (Capability.SSL if tls else 0)
    return b"".join(
        (
            b"\x0a",
            server_version.encode() + b"\x00",
            struct.pack("<I", connection_id & 0xFFFFFFFF),
            scramble[:8],
            b"\x00",
            struct.pack("<HBHH", caps & 0xFFFF, CHARSET_UTF8MB4, ServerStatus.AUTOCOMMIT, caps >> 16),
            bytes((SCRAMBLE_LENGTH + 1,)),
            b"\x00" * 10,
            scramble[8:] + b"\x00",
            NATIVE_PASSWORD.encode() + b"\x00",
        )
    )


def auth_switch_packet(scramble: bytes) -> bytes:
    """AuthSwitchRequest asking the client to answer with mysql_native_password."""
    return b"\xfe" + NATIVE_PASSWORD.encode() + b"\x00" + scramble + b"\x00"


@dataclass
class HandshakeResponse:
    """What the client answered to the handshake (HandshakeResponse41)."""

    capabilities: int
    max_packet: int
    charset: int
    user: str
    auth_response: bytes
    database: str | None
    plugin: str
    attributes: dict[str, str] = field(default_factory=dict)


def is_tls_request(payload: bytes) -> bool:
    """The short SSLRequest a client sends before its TLS handshake (capabilities, max packet,
    charset, filler: 32 bytes, no user)."""
    return len(payload) == 32 and bool(int.from_bytes(payload[:4], "little") & Capability.SSL)


def parse_handshake_response(payload: bytes) -> HandshakeResponse:
    """Decode HandshakeResponse41; pre-4.1 clients are refused."""
    r = PayloadReader(payload)
    caps = r.uint(4)
    if not caps & Capability.PROTOCOL_41:
        raise MalformedPacket("clients older than MySQL 4.1 are not supported")
    max_packet, charset = r.uint(4), r.uint(1)
    r.take(23)
    user = r.nul_bytes().decode("utf-8", "replace")
    if caps & Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA:
        auth = r.lenenc_bytes()
    elif caps & Capability.SECURE_CONNECTION:
        auth = r.take(r.uint(1))
    else:
        auth = r.nul_bytes()
    database = None
    if caps & Capability.CONNECT_WITH_DB and r.remaining():
        database = r.nul_bytes().decode("utf-8", "replace") or None
    plugin = ""
    if caps & Capability.PLUGIN_AUTH and r.remaining():
        plugin = r.nul_bytes().decode("ascii", "replace")
    attributes = {}
    if caps & Capability.CONNECT_ATTRS and r.remaining():
        attrs = PayloadReader(r.lenenc_bytes())
        while attrs.remaining():
            key = attrs.lenenc_bytes().decode("utf-8", "replace")
            attributes[key] = attrs.lenenc_bytes().decode("utf-8", "replace")
    return HandshakeResponse(caps, max_packet, charset, user, auth, database, plugin, attributes)
