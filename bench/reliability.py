"""Reliability under bad input, against one real `augurdb serve` on loopback.

    .venv/bin/python bench/reliability.py [--statements 100000] [--packets 10000] [--out docs/benchmarks.md]

1. Generated SQL: valid statements over an uploaded table and a trained model, mutated at random
   (a token dropped, doubled or swapped, a literal replaced by an odd value, a stray quote or
   bracket, the text cut short, two statements joined), sent by 4 client threads. Each answer must
   be a result or a MySQL error; a lost connection or a server that exits is counted and shown.
   Meanwhile a separate process sends `SELECT 1` every 20 ms: its latencies show whether any
   statement held the others.
2. Malformed packets: raw sockets that send random bytes, a cut-short handshake, a packet whose
   length header lies, unknown commands, commands with missing arguments; the server must answer
   with an error (or close that connection) and stay up for the next client.
3. kill -9 during training: a model starts training while clients read, the server gets SIGKILL
   a few seconds later and is started again on the same data directory. Every model trained
   before must still answer, the killed run must end (resumed, or failed with a reason), and the
   uploaded table must hold every row.

Statements that train or drop things are not generated (a mutation only reuses the words of its
seed), so the run is bounded in time as well as in count. A fixed seed makes runs repeatable.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pymysql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.server import percentile, write_section  # noqa: E402
from tests.conftest import SHARED_DATA, start_server  # noqa: E402
from tests.e2e.helpers import upload, wait_for_model  # noqa: E402

COMMAND = "Command: `.venv/bin/python bench/reliability.py --out docs/benchmarks.md` (2-core machine, shared)."
SEEDS = [
    "SELECT * FROM files.rentals LIMIT 5",
    "SELECT location, count(*), avg(rental_price) FROM files.rentals GROUP BY location ORDER BY 2 DESC",
    "SELECT rental_price, rental_price_confidence FROM mindsdb.m WHERE sqft = 900 AND location = 'good'",
    "SELECT t.sqft, m.rental_price FROM files.rentals AS t JOIN mindsdb.m AS m WHERE t.sqft > 800 LIMIT 20",
    "SELECT m.rental_price_explain FROM files.rentals AS t JOIN mindsdb.m AS m LIMIT 3 USING explain = true",
    "SELECT * FROM mindsdb.models WHERE name = 'm'",
    "SELECT name, status FROM information_schema.models",
    "SHOW DATABASES", "SHOW TABLES FROM files", "SHOW FULL PROCESSLIST", "SHOW VARIABLES LIKE 'max%'",
    "DESCRIBE mindsdb.m", "DESCRIBE mindsdb.m.features", "DESCRIBE files.rentals",
    "EXPLAIN SELECT t.sqft, m.rental_price FROM files.rentals AS t JOIN mindsdb.m AS m",
    "SELECT @@version, @@port, DATABASE(), USER(), CONNECTION_ID()",
    "SELECT CAST('12.5' AS DECIMAL(10, 2)), CONCAT('a', NULL), COALESCE(NULL, 'x'), 1 / 0",
    "SELECT sqft FROM files.rentals WHERE neighborhood IN ('downtown', 'berkeley_hills') AND sqft BETWEEN 100 AND 900",
    "SELECT * FROM (SELECT sqft, rental_price FROM files.rentals WHERE sqft > 500) AS s ORDER BY sqft LIMIT 3",
    "WITH s AS (SELECT sqft FROM files.rentals) SELECT max(sqft) FROM s",
    "SET @x = 5", "SELECT @x + 1", "SET max_execution_time = 2000", "USE mindsdb", "USE files",
    "CREATE TABLE files.fuzz_copy AS SELECT * FROM files.rentals LIMIT 10",
    "INSERT INTO files.fuzz_copy SELECT * FROM files.rentals LIMIT 2",
    "SELECT 'it''s', \"dq\", `sqft` FROM files.rentals LIMIT 1",
    "SELECT sqft FROM files.rentals WHERE location LIKE 'g%' ORDER BY sqft DESC LIMIT 2 OFFSET 1",
    "SELECT CASE WHEN sqft > 900 THEN 'big' ELSE 'small' END AS size, count(*) FROM files.rentals GROUP BY 1",
]
ODD_VALUES = ["NULL", "''", "'\\''", "'\u00e9\u00e8\U0001f600'", "-9223372036854775809", "1e309", "0x", "'\\0'",
              "99999999999999999999999999999999", "'" + "x" * 5000 + "'", "-0", ".5e-3", "TRUE", "@@nope", "?"]
JUNK = ["'", '"', "`", "(", ")", ";", ",", "\\", "--", "/*", "*/", "#", "\x00", "\u2028", "%s", "{", "}"]
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|`[^`]*`|\w+|[^\w\s]")


def mutate(rng: random.Random, sql: str) -> str:
    tokens = _TOKEN.findall(sql)
    for _ in range(rng.choice((1, 1, 2, 3))):
        i = rng.randrange(len(tokens))
        kind = rng.randrange(7)
        if kind == 0 and len(tokens) > 1:
            del tokens[i]
        elif kind == 1:
            tokens.insert(i, tokens[i])
        elif kind == 2:
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif kind == 3:
            tokens[i] = rng.choice(ODD_VALUES)
        elif kind == 4:
            tokens.insert(i, rng.choice(JUNK))
        elif kind == 5:
            tokens = tokens[: max(1, i)]
        else:
            tokens += [";"] + _TOKEN.findall(rng.choice(SEEDS))
    return " ".join(tokens)


def _probe(port: int, stop, out) -> None:
    """SELECT 1 every 20 ms until ``stop``; a lost connection counts as a 20 s answer and is reopened."""
    latencies: list[float] = []
    con = None
    while not stop.is_set():
        started = time.perf_counter()
        try:
            if con is None:
                con = pymysql.connect(host="127.0.0.1", port=port, user="augur", autocommit=True,
                                      ssl_disabled=True, read_timeout=20, connect_timeout=20)
            with con.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchall()
        except pymysql.MySQLError:
            con = None
        latencies.append(time.perf_counter() - started)
        time.sleep(0.02)
    out.put(latencies)


def run_statements(port: int, count: int, threads: int, seed: int) -> dict:
    outcomes: Counter[str] = Counter()
    dropped: list[str] = []
    unknown: list[str] = []  # statements answered with error 1105 (an error without its own code)
    lock = threading.Lock()
    per_thread = count // threads

    def client(index: int) -> None:
        rng = random.Random(seed + index)
        con = None
        for _ in range(per_thread):
            if con is None:
                con = pymysql.connect(host="127.0.0.1", port=port, user="augur", autocommit=True,
                                      ssl_disabled=True, read_timeout=20, database="mindsdb")
                con.cursor().execute("SET max_execution_time = 5000")
            statement = mutate(rng, rng.choice(SEEDS)) if rng.random() < 0.9 else rng.choice(SEEDS)
            message = ""
            try:
                with con.cursor() as cur:
                    cur.execute(statement)
                    cur.fetchall()
                    while cur.nextset():
                        cur.fetchall()
                kind = "answered"
            except pymysql.err.OperationalError as error:
                code, message = error.args[0], str(error.args[-1])
                if code in (2006, 2013, 2014):  # gone away, lost, out of sync: the connection is lost
                    kind = "connection lost"
                    with lock:
                        dropped.append(statement[:300])
                        print(time.strftime('%H:%M:%S'), f'thread {index} lost on: {statement[:300]!r}', flush=True)
                    con = None
                else:
                    kind = f"error {code}"
            except pymysql.MySQLError as error:
                kind = f"error {error.args[0] if error.args else type(error).__name__}"
                message = str(error.args[-1]) if error.args else ""
            except (UnicodeError, ValueError, TypeError) as error:  # the client library itself refused
                kind = f"client refused ({type(error).__name__})"
            with lock:
                if kind == "error 1105":
                    unknown.append(f"{statement[:200]} -> {message[:160]}")
                outcomes[kind] += 1
        if con is not None:
            con.close()

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"outcomes": outcomes, "dropped": dropped, "unknown": unknown, "seconds": time.perf_counter() - started}


def _handshake(port: int, rng: random.Random) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    sock.recv(65536)  # greeting
    caps = 0x0200 | 0x8000 | 0x80000 | 0x0001  # PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH, LONG_PASSWORD
    body = struct.pack("<IIB23x", caps, 1 << 24, 45) + b"augur\x00" + b"\x00" + b"mysql_native_password\x00"
    sock.sendall(len(body).to_bytes(3, "little") + b"\x01" + body)
    sock.recv(65536)  # OK
    return sock


def _malformed(port: int, rng: random.Random) -> str:
    """One bad conversation: how the server answered it (an error packet, another packet, or
    closing that connection), or 'hung' when it did none of these within 15 s."""
    kind = rng.randrange(6)
    try:
        if kind == 0:  # random bytes instead of a handshake response
            sock = socket.create_connection(("127.0.0.1", port), timeout=15)
            sock.recv(65536)
            sock.sendall(rng.randbytes(rng.randrange(1, 300)))
            sock.shutdown(socket.SHUT_WR)  # (a client that sends half a packet and waits is cut at 10 s)
        elif kind == 1:  # a cut-short handshake response
            sock = socket.create_connection(("127.0.0.1", port), timeout=15)
            sock.recv(65536)
            sock.sendall(b"\x20\x00\x00\x01" + rng.randbytes(rng.randrange(0, 20)))
            sock.shutdown(socket.SHUT_WR)
        else:
            sock = _handshake(port, rng)
            if kind == 2:  # a length header that lies (longer than what follows), then EOF
                sock.sendall(b"\xff\xff\x00\x00\x03SELECT 1")
                sock.shutdown(socket.SHUT_WR)
            elif kind == 3:  # unknown command bytes
                payload = bytes([rng.randrange(0x20, 0xFF)]) + rng.randbytes(rng.randrange(0, 40))
                sock.sendall(len(payload).to_bytes(3, "little") + b"\x00" + payload)
            elif kind == 4:  # known commands without their arguments
                payload = bytes([rng.choice([0x02, 0x04, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1C])])
                sock.sendall(len(payload).to_bytes(3, "little") + b"\x00" + payload)
            else:  # a query packet with invalid UTF-8 and a NUL
                payload = b"\x03SELECT '" + rng.randbytes(30) + b"\x00'"
                sock.sendall(len(payload).to_bytes(3, "little") + b"\x00" + payload)
        reply = sock.recv(65536)
        sock.close()
        if not reply:
            return "connection closed"
        return "error packet" if reply[4:5] == b"\xff" else "other packet"
    except TimeoutError:
        return "hung"
    except (ConnectionResetError, BrokenPipeError):
        return "connection closed"


def run_packets(port: int, count: int, seed: int) -> Counter[str]:
    rng = random.Random(seed)
    return Counter(_malformed(port, rng) for _ in range(count))


def _rows(port: int, sql: str) -> list[tuple]:
    con = pymysql.connect(host="127.0.0.1", port=port, user="augur", autocommit=True, ssl_disabled=True,
                          database="mindsdb", connect_timeout=10, read_timeout=60)
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        con.close()


PREDICTION = "SELECT t.sqft, p.rental_price FROM files.rentals AS t JOIN mindsdb.{model} AS p LIMIT 5"


def _read_until(port: int, stop: threading.Event) -> None:
    """A client reading (a prediction, a scan) until `stop`; the server going away ends it."""
    while not stop.is_set():
        try:
            _rows(port, PREDICTION.format(model="m"))
            _rows(port, "SELECT location, avg(rental_price) FROM files.rentals GROUP BY location")
        except pymysql.MySQLError:
            return


def run_kills(data_dir: Path, rounds: int, seed: int) -> dict:
    """`rounds` times: start a training, SIGKILL the server mid-way, restart it, check what is kept."""
    rng = random.Random(seed)
    outcome: Counter[str] = Counter()
    problems: list[str] = []
    trained = ["m"]
    server = start_server(data_dir, timeout=60)
    try:
        rows_before = _rows(server.mysql_port, "SELECT count(*) FROM files.rentals")[0][0]
        for round_ in range(rounds):
            name = f"killed_{round_}"
            _rows(server.mysql_port, f"CREATE MODEL {name} FROM files (SELECT * FROM rentals) "
                                     "PREDICT rental_price USING time_budget = 15")
            stop = threading.Event()
            reader = threading.Thread(target=_read_until, args=(server.mysql_port, stop))
            reader.start()
            time.sleep(rng.uniform(2, 8))
            server.process.kill()  # kill -9 of the server; its training worker is orphaned
            server.process.wait()
            stop.set()
            reader.join()
            restarted = time.perf_counter()
            server = start_server(data_dir, timeout=60)
            outcome["restart seconds x100"] += round(100 * (time.perf_counter() - restarted))
            status = wait_for_model(server, name, timeout=300)
            outcome[f"killed run {status['STATUS']}"] += 1
            if status["STATUS"] != "complete" and not status.get("ERROR"):
                problems.append(f"{name} ended {status['STATUS']} without a reason")
            if status["STATUS"] == "complete":
                trained.append(name)
            for model in trained[:-1] if trained and trained[-1] == name else trained:
                outcome["earlier models asked"] += 1
                try:
                    _rows(server.mysql_port, PREDICTION.format(model=model))
                    outcome["earlier models answering"] += 1
                except pymysql.MySQLError as error:
                    problems.append(f"{model} after kill {round_}: {error}")
            rows_after = _rows(server.mysql_port, "SELECT count(*) FROM files.rentals")[0][0]
            if rows_after != rows_before:
                problems.append(f"files.rentals had {rows_before} rows, {rows_after} after kill {round_}")
    finally:
        server.stop()
    return {"outcome": outcome, "problems": problems, "rounds": rounds}


def _alive(port: int) -> bool:
    try:
        con = pymysql.connect(host="127.0.0.1", port=port, user="augur", ssl_disabled=True, connect_timeout=5)
        with con.cursor() as cur:
            cur.execute("SELECT 1")
            ok = cur.fetchone() == (1,)
        con.close()
        return ok
    except pymysql.MySQLError:
        return False


def _ms(values: list[float]) -> str:
    return (f"p50 {1000 * statistics.median(values):.1f} ms, p99 {1000 * percentile(values, .99):.1f} ms, "
            f"max {1000 * max(values):.1f} ms, {sum(v > 0.1 for v in values)} of {len(values)} over 100 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--packets", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--kills", type=int, default=3, help="rounds of kill -9 during training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(Path(folder) / "data", timeout=60)
        print(f"server log: {server.log}", flush=True)
        try:
            upload(server, "rentals", SHARED_DATA / "home_rentals" / "home_rentals.csv")
            con = pymysql.connect(host="127.0.0.1", port=server.mysql_port, user="augur", autocommit=True,
                                  ssl_disabled=True, database="mindsdb")
            con.cursor().execute("CREATE MODEL m FROM files (SELECT * FROM rentals) PREDICT rental_price "
                                 "USING time_budget = 5")
            assert wait_for_model(server, "m")["STATUS"] == "complete"
            con.close()
            stop, out = multiprocessing.Event(), multiprocessing.Queue()
            probe = multiprocessing.Process(target=_probe, args=(server.mysql_port, stop, out))
            probe.start()
            statements = run_statements(server.mysql_port, args.statements, args.threads, args.seed)
            stop.set()
            latencies = out.get(timeout=120)
            probe.join()
            crashed_after_statements = server.process.poll() is not None
            packets = run_packets(server.mysql_port, args.packets, args.seed)
            alive = server.process.poll() is None and _alive(server.mysql_port)
        finally:
            server.stop()
        kills = run_kills(Path(folder) / "data", args.kills, args.seed)
    outcomes = statements["outcomes"]
    errors = Counter({k: v for k, v in outcomes.items() if k.startswith("error")})
    lines = [
        f"- {sum(outcomes.values()):,} generated statements over {args.threads} connections in "
        f"{statements['seconds']:.0f} s: {outcomes['answered']:,} answered with rows or OK, "
        f"{sum(errors.values()):,} with a MySQL error ({', '.join(f'{k}: {v:,}' for k, v in errors.most_common(6))}), "
        f"**{outcomes['connection lost']} connections lost**, server "
        f"{'**exited**' if crashed_after_statements else 'up throughout'}"
        + (f"; refused by the client library before sending: {sum(v for k, v in outcomes.items() if k.startswith('client'))}"
           if any(k.startswith("client") for k in outcomes) else ""),
        f"- another connection's `SELECT 1` meanwhile (its own process, every 20 ms): {_ms(latencies)}",
        f"- {sum(packets.values()):,} malformed packets and handshakes: "
        + ", ".join(f"{k}: {v:,}" for k, v in packets.most_common())
        + f"; server {'up and answering afterwards' if alive else '**not answering afterwards**'}",
    ]
    kill_outcome = kills["outcome"]
    lines.append(
        f"- {kills['rounds']} rounds of kill -9 during training, clients reading meanwhile: restart to "
        f"ports open in {kill_outcome['restart seconds x100'] / 100 / max(1, kills['rounds']):.1f} s on average; "
        + ", ".join(f"{k}: {v}" for k, v in sorted(kill_outcome.items()) if k.startswith("killed run"))
        + f"; earlier models answering afterwards: {kill_outcome['earlier models answering']} times of "
        f"{kill_outcome['earlier models asked']} asked; "
        + (f"**problems: {'; '.join(kills['problems'][:5])}**" if kills["problems"] else "no row or model lost"))
    for statement in statements["dropped"][:5]:
        lines.append(f"  - lost on: `{statement[:160]}`")
    examples = {}  # each distinct 1105 message, with the first statement that got it
    for entry in statements["unknown"]:
        statement, _, message = entry.partition(" -> ")
        examples.setdefault(message, statement)
    lines.append(f"- error 1105 (an error without a code of its own): {len(statements['unknown']):,} statements, "
                 f"{len(examples)} distinct messages" + (":" if examples else ""))
    for message in sorted(examples)[:8]:
        lines.append(f"  - {message} (for `{examples[message][:100]}`)")
    report = "\n".join(lines)
    print(report)
    if args.out:
        write_section(args.out, report, heading="## Reliability: generated statements and malformed packets",
                      command=COMMAND)


if __name__ == "__main__":
    main()
