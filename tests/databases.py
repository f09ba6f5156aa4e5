"""Real PostgreSQL and MariaDB servers for the source tests, started from the Debian packages.

Each server runs from a pytest temporary directory on a free loopback port, never as a
system service, and is stopped when the session ends. Tests import the fixtures by name:

    from tests.databases import mariadb_server, postgres_server  # noqa: F401

`make system-deps` installs the `postgresql` and `mariadb-server` packages; without them
the fixtures skip. start_postgres / start_mariadb are plain functions so bench/ can use
them outside pytest.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tests.conftest import SHARED_DATA, free_port

# A password that breaks naive connection strings (spaces, quotes, URI delimiters).
PASSWORD = "pa ss'w@rd:/%?&="
USER = "augur"
DATABASE = "augur_test"
START_TIMEOUT = 60.0


@dataclass
class DatabaseServer:
    """A running server: where it listens, the test user's credentials, and its process."""

    engine: str  # "postgres" or "mysql"
    host: str
    port: int
    user: str
    password: str
    database: str
    directory: Path
    _launch: Callable[[], subprocess.Popen[bytes]] = field(repr=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def parameters(self, **overrides: Any) -> dict[str, Any]:
        """The `CREATE DATABASE ... PARAMETERS` of a source on this server."""
        return {"host": self.host, "port": self.port, "user": self.user,
                "password": self.password, "database": self.database,
                "connect_timeout": 5, **overrides}

    def connect(self, database: str | None = None) -> Any:
        """A driver connection as the test user (psycopg or pymysql), autocommit on."""
        database = database or self.database
        if self.engine == "postgres":
            import psycopg

            return psycopg.connect(host=self.host, port=self.port, user=self.user,
                                   password=self.password, dbname=database,
                                   connect_timeout=5, autocommit=True)
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user=self.user,
                               password=self.password, database=database, connect_timeout=5,
                               autocommit=True, local_infile=True, charset="utf8mb4")

    def start(self) -> None:
        """Start the server process and wait until the test user can log in."""
        self._process = self._launch()
        _wait_ready(self, self._process)

        def logs_in() -> bool:
            try:
                self.connect().close()
                return True
            except Exception:
                return False
        _wait_for(logs_in, f"{self.engine} to accept the test user")

    def stop(self) -> None:
        """Stop the server, disconnecting clients (PostgreSQL's fast shutdown)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT if self.engine == "postgres" else signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop the server and delete its files."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def log(self) -> Path:
        return self.directory / "server.log"


def _wait_ready(server: DatabaseServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{server.engine} server exited:\n{_tail(server.log)}")
        try:
            with socket.create_connection((server.host, server.port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"{server.engine} server did not start:\n{_tail(server.log)}") from None
            time.sleep(0.1)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"


def _wait_for(ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


# --- PostgreSQL ---------------------------------------------------------------------------

def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _as_postgres_user() -> dict[str, Any]:
    """Popen arguments that drop root to the `postgres` user: PostgreSQL refuses to run as root."""
    if os.geteuid() != 0:
        return {}
    import pwd

    account = pwd.getpwnam("postgres")
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [],
            "env": {**os.environ, "HOME": account.pw_dir}}


def _postgres_directory(directory: Path, owner: dict[str, Any]) -> Path:
    """Where the cluster lives: `directory`, or (as root) a folder the postgres user owns.

    pytest's base temp folder is private to root (mode 0700) and every pytest session that
    starts resets it so, which would cut a running server off its files. As root the
    cluster therefore lives in its own folder under the system temp dir, removed at stop.
    """
    if not owner:
        return directory
    own = Path(tempfile.mkdtemp(prefix="augurdb-postgres-"))
    os.chown(own, owner["user"], owner["group"])
    (directory / "cluster").write_text(f"{own}\n")  # where to look, from the pytest temp dir
    return own


def start_postgres(directory: Path) -> DatabaseServer:
    """initdb a cluster in `directory`, start it on 127.0.0.1, create the test user and db."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL is not installed (`make system-deps` installs it)")
    as_postgres = _as_postgres_user()
    directory.mkdir(parents=True, exist_ok=True)
    directory = _postgres_directory(directory, as_postgres)
    data = directory / "data"
    port = free_port()
    log = directory / "server.log"
    subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
                    "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256"],
                   check=True, capture_output=True, cwd=directory, **as_postgres)

    def launch() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(directory),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=50"],
            stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=directory, **as_postgres)

    server = DatabaseServer("postgres", "127.0.0.1", port, USER, PASSWORD, DATABASE, directory, launch)
    server._process = launch()
    try:
        _wait_ready(server, server._process)
        _create_postgres_user(server, directory)
    except BaseException:
        server.remove()
        raise
    return server


def _create_postgres_user(server: DatabaseServer, socket_dir: Path) -> None:
    import psycopg
    from psycopg import sql

    def superuser() -> psycopg.Connection[Any]:
        return psycopg.connect(host=str(socket_dir), port=server.port, user="postgres",
                               dbname="postgres", autocommit=True, connect_timeout=5)

    def accepting() -> bool:
        try:
            superuser().close()
            return True
        except psycopg.OperationalError:
            return False

    _wait_for(accepting, "PostgreSQL to accept connections")
    with superuser() as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(server.user), sql.Literal(server.password)))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(server.database), sql.Identifier(server.user)))


# --- MariaDB ------------------------------------------------------------------------------

def mariadb_bin() -> Path | None:
    for name in ("mariadbd", "mysqld"):
        found = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
        if found:
            return Path(found)
    return None


def start_mariadb(directory: Path) -> DatabaseServer:
    """mariadb-install-db a data folder in `directory`, start mariadbd, create user and db."""
    daemon = mariadb_bin()
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    if daemon is None or install is None:
        raise FileNotFoundError("MariaDB server is not installed (`make system-deps` installs it)")
    directory.mkdir(parents=True, exist_ok=True)
    data, sock, log = directory / "data", directory / "mysqld.sock", directory / "server.log"
    port = free_port()
    as_root = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run([install, "--no-defaults", f"--datadir={data}", *as_root,
                    "--auth-root-authentication-method=normal", "--skip-test-db"],
                   check=True, capture_output=True, cwd=directory)

    def launch() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(daemon), "--no-defaults", f"--datadir={data}", f"--socket={sock}",
             f"--port={port}", "--bind-address=127.0.0.1", *as_root, f"--pid-file={directory}/mysqld.pid",
             f"--log-error={log}", "--skip-name-resolve", "--innodb-buffer-pool-size=128M",
             "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--skip-log-bin",
             "--local-infile=1", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin",
             "--max-connections=50"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=directory)

    server = DatabaseServer("mysql", "127.0.0.1", port, USER, PASSWORD, DATABASE, directory, launch)
    server._process = launch()
    try:
        _wait_ready(server, server._process)
        _create_mariadb_user(server, sock)
    except BaseException:
        server.stop()
        raise
    return server


def _create_mariadb_user(server: DatabaseServer, sock: Path) -> None:
    import pymysql

    def accepting() -> bool:
        try:
            pymysql.connect(unix_socket=str(sock), user="root", connect_timeout=5).close()
            return True
        except pymysql.err.OperationalError:
            return False

    _wait_for(accepting, "MariaDB to accept connections")
    admin = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{server.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            for host in ("127.0.0.1", "localhost"):
                cursor.execute(f"CREATE USER '{server.user}'@'{host}' IDENTIFIED BY %s", (server.password,))
                # Global rights: a missing database then reads as 1049, not 1044.
                cursor.execute(f"GRANT ALL ON *.* TO '{server.user}'@'{host}'")
    finally:
        admin.close()


# --- fixtures -----------------------------------------------------------------------------

def _server_fixture(start: Callable[[Path], DatabaseServer], what: str,
                    factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    try:
        server = start(factory.mktemp(what))
    except FileNotFoundError as missing:
        pytest.skip(f"{missing}")
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    """A PostgreSQL server for the session; user/password/database in the yielded object."""
    yield from _server_fixture(start_postgres, "postgres", tmp_path_factory)


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    """A MariaDB server for the session; user/password/database in the yielded object."""
    yield from _server_fixture(start_mariadb, "mariadb", tmp_path_factory)


# --- loading datasets ---------------------------------------------------------------------

_TYPES = {
    "postgres": {"BIGINT": "bigint", "INTEGER": "integer", "DOUBLE": "double precision",
                 "VARCHAR": "text", "DATE": "date", "TIMESTAMP": "timestamp", "BOOLEAN": "boolean"},
    "mysql": {"BIGINT": "BIGINT", "INTEGER": "INT", "DOUBLE": "DOUBLE", "VARCHAR": "TEXT",
              "DATE": "DATE", "TIMESTAMP": "DATETIME", "BOOLEAN": "BOOLEAN"},
}


def load_csv(server: DatabaseServer, table: str, csv_path: str | Path, schema: str | None = None,
             limit: int | None = None) -> int:
    """Load a dataset file (CSV or Parquet, relative to SHARED_DATA) into a new table.

    The file is typed by DuckDB (as an upload is), re-written as CSV and bulk-loaded with
    the server's own loader (COPY / LOAD DATA). `schema` is a PostgreSQL schema or a
    MariaDB database, created when missing. Returns the rows loaded.
    """
    path = Path(csv_path)
    path = path if path.is_absolute() else SHARED_DATA / path
    if not path.exists():
        pytest.skip(f"dataset {path} not found")
    quoted = str(path).replace("'", "''")
    reader = f"read_parquet('{quoted}')" if path.suffix == ".parquet" else f"read_csv('{quoted}', sample_size=-1)"
    select = f"SELECT * FROM {reader}" + (f" LIMIT {int(limit)}" if limit is not None else "")
    con = duckdb.connect()
    try:
        columns = [(name, kind) for name, kind, *_ in con.execute(f"DESCRIBE {select}").fetchall()]
        fd, out_name = tempfile.mkstemp(suffix=".csv", dir=server.directory)
        os.close(fd)
        out = Path(out_name)
        try:
            # MariaDB reads an unquoted NULL as NULL when fields are enclosed (and no escape
            # character is set, so backslashes in values stay literal).
            null = "NULL" if server.engine == "mysql" else ""
            con.execute(f"COPY ({select}) TO '{out}' (HEADER true, NULLSTR '{null}', ESCAPE '\"')")
            return _bulk_load(server, table, schema, columns, out)
        finally:
            out.unlink(missing_ok=True)
    finally:
        con.close()


def _column_type(engine: str, duck_type: str) -> str:
    base = duck_type.split("(")[0].upper()
    if base.startswith("TIMESTAMP"):
        base = "TIMESTAMP"
    return _TYPES[engine].get(base, _TYPES[engine]["VARCHAR"])


def _bulk_load(server: DatabaseServer, table: str, schema: str | None,
               columns: list[tuple[str, str]], csv_file: Path) -> int:
    if server.engine == "postgres":
        from psycopg import sql

        target = sql.Identifier(schema, table) if schema else sql.Identifier(table)
        with server.connect() as con:
            if schema:
                con.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
            con.execute(sql.SQL("CREATE TABLE {} ({})").format(target, sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(_column_type("postgres", kind)))
                for name, kind in columns)))
            with con.cursor() as cursor:
                with cursor.copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv, HEADER true)").format(target)) as copy:
                    with csv_file.open("rb") as f:
                        while chunk := f.read(1 << 20):
                            copy.write(chunk)
                return int(cursor.rowcount)
    def tick(name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    name = f"{tick(schema)}.{tick(table)}" if schema else tick(table)
    con = server.connect()
    try:
        with con.cursor() as cursor:
            if schema:
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {tick(schema)}")
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
            cursor.execute(f"CREATE TABLE {name} (" + ", ".join(
                f"{tick(column)} {_column_type('mysql', kind)}" for column, kind in columns) + ")")
            return int(cursor.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {name} CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
                "LINES TERMINATED BY '\\n' IGNORE 1 LINES", (str(csv_file),)))
    finally:
        con.close()
