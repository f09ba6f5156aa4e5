"""Protocol edge cases with a raw socket client: bad packets, odd commands, limits, concurrency."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pymysql
import pytest

from augurdb.server.mysql import MySQLServer
from augurdb.server.mysql.constants import Capability, Command, FieldType
from augurdb.server.mysql.packets import PayloadReader, frame, lenenc_bytes

from .conftest import FakeSession, running_server

CLIENT_CAPS = Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH | Capability.LONG_PASSWORD


class RawClient:
    """Just enough of a MySQL client to send arbitrary packets (no DEPRECATE_EOF: classic EOF packets)."""

    def __init__(self, port: int, caps: int = CLIENT_CAPS):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")
        self.greeting = self.read()
        response = struct.pack("<IIB23x", caps, 1 << 24, 45) + b"root\x00" + b"\x00" + b"mysql_native_password\x00"
        self.send(response, seq=1)

    def send(self, payload: bytes, seq: int = 0) -> None:
        self.sock.sendall(frame(payload, seq)[0])

    def read(self) -> bytes:
        header = self.file.read(4)
        if len(header) < 4:
            raise ConnectionError("closed")
        return self.file.read(int.from_bytes(header[:3], "little"))

    def command(self, command: int, body: bytes = b"") -> bytes:
        self.send(bytes((command,)) + body)
        return self.read()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def error_code(payload: bytes) -> int:
    assert payload[0] == 0xFF, payload
    return struct.unpack("<H", payload[1:3])[0]


@pytest.fixture
def raw(mysql_server: MySQLServer) -> Iterator[RawClient]:
    client = RawClient(mysql_server.port)
    assert client.read()[0] == 0x00  # OK after the handshake
    yield client
    client.close()


def test_unknown_and_empty_commands_get_errors(raw: RawClient) -> None:
    assert error_code(raw.command(0x30)) == 1047
    raw.send(b"")
    assert error_code(raw.read()) == 1835
    assert raw.command(Command.PING)[0] == 0x00


def test_malformed_execute_and_unknown_statement(raw: RawClient) -> None:
    prepared = raw.command(Command.STMT_PREPARE, b"SELECT ? + 1")
    assert prepared[0] == 0x00
    stmt_id, _columns, params = struct.unpack("<IHH", prepared[1:9])
    assert params == 1
    raw.read()  # the parameter's definition
    raw.read()  # EOF
    assert error_code(raw.command(Command.STMT_EXECUTE, struct.pack("<IBI", stmt_id, 0, 1))) == 1835
    assert error_code(raw.command(Command.STMT_EXECUTE, struct.pack("<IBI", 999, 0, 1))) == 1243
    assert error_code(raw.command(Command.STMT_RESET, struct.pack("<I", 999))) == 1243
    assert raw.command(Command.PING)[0] == 0x00


def test_field_list_statistics_set_option_reset(raw: RawClient) -> None:
    assert raw.command(Command.QUERY, b"CREATE TABLE raw_fields (id INTEGER, name VARCHAR)")[0] == 0x00
    first = raw.command(Command.FIELD_LIST, b"raw_fields\x00")
    second = raw.read()
    assert raw.read()[0] == 0xFE
    names = []
    for definition in (first, second):
        r = PayloadReader(definition)
        catalog, _schema, table, _org_table, name = (r.lenenc_bytes() for _ in range(5))
        assert catalog == b"def" and table == b"raw_fields"
        names.append(name)
    assert names == [b"id", b"name"]
    assert error_code(raw.command(Command.FIELD_LIST, b"missing_table\x00")) == 1146
    assert raw.command(Command.STATISTICS).startswith(b"Uptime: ")
    assert raw.command(Command.SET_OPTION, b"\x00\x00")[0] == 0xFE
    assert raw.command(Command.RESET_CONNECTION)[0] == 0x00


def test_classic_eof_result_set(raw: RawClient) -> None:
    assert raw.command(Command.QUERY, b"SELECT 1 AS a") == b"\x01"
    raw.read()  # column definition
    assert raw.read()[0] == 0xFE  # EOF after the columns
    assert raw.read() == b"\x011"
    assert raw.read()[0] == 0xFE


def test_payload_of_exactly_16mb_minus_one(raw: RawClient) -> None:
    # 0xFFFFFF payload bytes must be followed by an empty packet; both sides must agree on that.
    prefix, suffix = b"SELECT LENGTH('", b"') AS n"
    sql = prefix + b"y" * (0xFFFFFF - 1 - len(prefix) - len(suffix)) + suffix
    answer = raw.command(Command.QUERY, sql)
    assert answer == b"\x01"
    raw.read()
    raw.read()
    assert raw.read() == lenenc_bytes(str(0xFFFFFF - 1 - len(prefix) - len(suffix)).encode())


def test_bad_handshake_and_garbage_do_not_kill_the_server(mysql_server: MySQLServer) -> None:
    sock = socket.create_connection(("127.0.0.1", mysql_server.port), timeout=10)
    sock.recv(1024)
    sock.sendall(b"\x03\x00\x00\x01abc")
    reply = sock.recv(1024)
    assert reply[4] == 0xFF
    sock.close()
    sock = socket.create_connection(("127.0.0.1", mysql_server.port), timeout=10)
    sock.sendall(b"\xff" * 100)
    sock.close()
    with pymysql.connect(host="127.0.0.1", port=mysql_server.port, user="root") as conn, conn.cursor() as cur:
        cur.execute("SELECT 'alive'")
        assert cur.fetchone() == ("alive",)


def test_packet_over_max_allowed_packet() -> None:
    with running_server(max_allowed_packet=1 << 20) as srv:
        client = RawClient(srv.port)
        client.read()
        assert error_code(client.command(Command.QUERY, b"SELECT '" + b"z" * (2 << 20) + b"'")) == 1153
        with pytest.raises(ConnectionError):
            client.read()
        client.close()


def test_slow_query_does_not_block_others(mysql_server: MySQLServer) -> None:
    """The quick query is answered while the slow one still runs (an order, not a time limit)."""
    slow_done = threading.Event()

    def slow() -> None:
        with pymysql.connect(host="127.0.0.1", port=mysql_server.port, user="root") as conn, conn.cursor() as cur:
            cur.execute("SELECT SLEEP(5)")
        slow_done.set()

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.3)
    with pymysql.connect(host="127.0.0.1", port=mysql_server.port, user="root") as conn, conn.cursor() as cur:
        cur.execute("SELECT 'quick'")
        assert cur.fetchone() == ("quick",)
    assert not slow_done.is_set()
    thread.join()


def test_deprecate_eof_result_sets(mysql_server: MySQLServer) -> None:
    # MySQL 8's libmysqlclient and JDBC end result sets with an OK packet (header 0xFE) instead of EOF.
    client = RawClient(mysql_server.port, CLIENT_CAPS | Capability.DEPRECATE_EOF)
    try:
        assert client.read()[0] == 0x00
        assert client.command(Command.QUERY, b"SELECT 1 AS a, NULL AS b") == b"\x02"
        client.read()
        client.read()
        assert client.read() == b"\x011\xfb"  # no EOF between the definitions and the row
        end = client.read()
        assert end[0] == 0xFE and len(end) >= 7
        prepared = client.command(Command.STMT_PREPARE, b"SELECT ? AS v")
        stmt_id = struct.unpack("<I", prepared[1:5])[0]
        client.read()  # parameter definition, and no EOF after it
        execute = struct.pack("<IBIBBBB", stmt_id, 0, 1, 0, 1, 0x08, 0) + struct.pack("<q", -3)
        assert client.command(Command.STMT_EXECUTE, execute) == b"\x01"
        definition = client.read()
        width = {FieldType.LONG: 4, FieldType.LONGLONG: 8}[definition[-6]]  # type byte of ColumnDefinition41
        assert client.read() == b"\x00\x00" + (-3).to_bytes(width, "little", signed=True)
        assert client.read()[0] == 0xFE
    finally:
        client.close()


def test_ok_and_eof_carry_warnings_and_info(raw: RawClient) -> None:
    ok = PayloadReader(raw.command(Command.QUERY, b"UPDATE t SET a = 1 -- warn_me"))
    assert ok.uint(1) == 0x00 and ok.lenenc_int() == 1 and ok.lenenc_int() == 0
    status, warnings = ok.uint(2), ok.uint(2)
    assert status & 0x0002 and warnings == 1 and ok.rest() == b"Rows matched: 1"
    assert raw.command(Command.QUERY, b"SELECT 'warn_me'") == b"\x01"
    raw.read()
    raw.read()
    raw.read()
    eof = raw.read()
    assert eof[0] == 0xFE and struct.unpack("<H", eof[1:3])[0] == 1


def test_session_is_closed_when_the_client_leaves(mysql_server: MySQLServer) -> None:
    conn = pymysql.connect(host="127.0.0.1", port=mysql_server.port, user="carol")
    session = FakeSession.opened[-1]
    assert session.user == "carol" and not session.closed
    conn.close()
    deadline = time.monotonic() + 5
    while not session.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert session.closed


def test_serve_forever_and_close() -> None:
    async def main() -> None:
        srv = MySQLServer(FakeSession, port=0)
        await srv.start()
        serving = asyncio.create_task(srv.serve_forever())

        def query() -> tuple:
            with pymysql.connect(host="127.0.0.1", port=srv.port, user="root") as conn, conn.cursor() as cur:
                cur.execute("SELECT 'served'")
                return cur.fetchone()

        assert await asyncio.to_thread(query) == ("served",)
        idle = await asyncio.to_thread(pymysql.connect, host="127.0.0.1", port=srv.port, user="root")
        await srv.close()
        await asyncio.wait_for(serving, 5)
        idle.close()

    asyncio.run(main())
