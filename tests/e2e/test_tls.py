"""TLS on the MySQL protocol through the real server, with real clients: pymysql verifying the
server's certificate, mysql-connector (which uses TLS whenever a server offers it) and the
mariadb CLI with --ssl; a pair given with --ssl-cert/--ssl-key; TLS turned off."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import mysql.connector
import pymysql
import pytest
from tests.conftest import RunningServer, start_server

from augurdb.server.tls import self_signed_pair


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("tls") / "data")
    yield running
    running.stop()


def _verified(server: RunningServer, ca: Path) -> pymysql.connections.Connection:
    return pymysql.connect(host="127.0.0.1", port=server.mysql_port, user=server.user,
                           ssl={"ca": str(ca), "check_hostname": False})


def test_clients_connect_over_tls_with_the_self_signed_pair(server: RunningServer) -> None:
    ca = server.data_dir / "tls" / "server-cert.pem"
    assert (server.data_dir / "tls" / "server-key.pem").stat().st_mode & 0o077 == 0  # the key is the owner's
    con = _verified(server, ca)
    assert isinstance(con._sock, ssl.SSLSocket) and con._sock.version() in ("TLSv1.2", "TLSv1.3")
    with con.cursor() as cur:
        cur.execute("SELECT REPEAT('x', 200000) AS big")  # several TLS records
        assert len(cur.fetchone()[0]) == 200000
        cur.execute("SHOW STATUS LIKE 'Ssl_%'")  # how a client checks it is encrypted
        status = dict(cur.fetchall())
        assert status == {"Ssl_version": con._sock.version(), "Ssl_cipher": con._sock.cipher()[0]}
    con.close()

    connector = mysql.connector.connect(host="127.0.0.1", port=server.mysql_port, user=server.user, use_pure=True)
    assert isinstance(connector._socket.sock, ssl.SSLSocket)
    cursor = connector.cursor()
    cursor.execute("SELECT 2 AS two")
    assert cursor.fetchall() == [(2,)]
    connector.close()

    cli = subprocess.run(["mariadb", "-h", "127.0.0.1", "-P", str(server.mysql_port), "-u", server.user,
                          "--ssl", f"--ssl-ca={ca}", "--batch", "--skip-column-names", "-e", "SELECT 3"],
                         capture_output=True, text=True, timeout=60)
    assert cli.stdout.strip() == "3", cli.stderr

    # TLS stays optional (pymysql would use it unasked: it prefers TLS when the server offers it)
    plain = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user=server.user, ssl_disabled=True)
    with plain.cursor() as cur:
        cur.execute("SELECT 4")
        assert cur.fetchone() == (4,)
        cur.execute("SHOW STATUS LIKE 'Ssl_cipher'")
        assert cur.fetchall() == (("Ssl_cipher", ""),)
    plain.close()


def test_a_given_pair_is_used_and_tls_can_be_turned_off(tmp_path: Path) -> None:
    cert, key = self_signed_pair(tmp_path / "mine")
    server = start_server(tmp_path / "data", env={"AUGURDB_SSL_CERT": str(cert), "AUGURDB_SSL_KEY": str(key)})
    try:
        con = _verified(server, cert)
        assert isinstance(con._sock, ssl.SSLSocket)
        con.close()
        with pytest.raises(pymysql.err.OperationalError):  # a client trusting another pair refuses it
            _verified(server, self_signed_pair(tmp_path / "other")[0])
    finally:
        server.stop()
    off = start_server(tmp_path / "off", env={"AUGURDB_SSL": "false"})
    try:
        connector = mysql.connector.connect(host="127.0.0.1", port=off.mysql_port, user=off.user, use_pure=True)
        assert not isinstance(connector._socket.sock, ssl.SSLSocket)
        connector.close()
    finally:
        off.stop()



def test_https_with_the_same_pair_when_asked(tmp_path: Path) -> None:
    import httpx

    server = start_server(tmp_path / "data", env={"AUGURDB_HTTP_TLS": "true"})
    try:
        ca = tmp_path / "data" / "tls" / "server-cert.pem"
        context = ssl.create_default_context(cafile=str(ca))
        context.check_hostname = False
        answer = httpx.post(f"https://127.0.0.1:{server.http_port}/api/sql/query", json={"query": "SELECT 1 AS one"},
                            verify=context, timeout=30)
        assert answer.status_code == 200 and answer.json()["data"] == [[1]]
        with pytest.raises(httpx.HTTPError):  # plain HTTP is not answered on an HTTPS port
            httpx.get(f"{server.http}/api/status", timeout=10)
    finally:
        server.stop()
