"""Every SQL source engine against a real server or file: listing, scans, types, writes, names.

PostgreSQL and MariaDB are real servers started by tests/databases.py; SQLite and DuckDB
are real files in a temporary folder. Each test runs once per engine.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.conftest import SHARED_DATA
from tests.databases import load_csv
from tests.integrations.sources import ENGINES, Source, make_source, unique

from augurdb.errors import AlreadyExists, UnknownTable, WrongArguments
from augurdb.integrations.data.base import SourceError, TableInfo, TableName
from augurdb.integrations.data.registry import get_data_engine


@pytest.fixture(params=ENGINES)
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Source]:
    yield from make_source(request.param, request, tmp_path)


def rows_of(source: Source, sql: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = source.integration.scan(sql).read_all().to_pylist()
    return rows


def failing_after_first(table: pa.Table) -> pa.RecordBatchReader:
    """A stream whose producer fails after its first batch (a broken upstream scan)."""
    def batches() -> Iterator[pa.RecordBatch]:
        yield table.to_batches()[0]
        raise ValueError("upstream broke after one batch")
    return pa.RecordBatchReader.from_batches(table.schema, batches())


# --- parameters and the registry ----------------------------------------------------------

@pytest.mark.parametrize(("alias", "engine"), [("postgresql", "postgres"), ("mariadb", "mysql"),
                                               ("sqlite3", "sqlite"), ("duckdb", "duckdb")])
def test_engines_are_registered_under_their_names(alias: str, engine: str) -> None:
    assert get_data_engine(alias).name == engine


@pytest.mark.parametrize("engine", ENGINES)
def test_unknown_parameter_lists_the_valid_ones(engine: str) -> None:
    data_engine = get_data_engine(engine)
    with pytest.raises(WrongArguments) as error:
        data_engine.connect("x", {"hostname": "h", "host": "h", "user": "u", "database": "d", "db_file": "f"})
    assert "'hostname'" in error.value.message
    for name in data_engine.parameters:
        assert name in error.value.message


@pytest.mark.parametrize(("engine", "missing"), [("postgres", "'database', 'host'"), ("mysql", "'database', 'host'"),
                                                 ("sqlite", "'db_file'"), ("duckdb", "'database'")])
def test_missing_parameters_are_named(engine: str, missing: str) -> None:
    with pytest.raises(WrongArguments) as error:
        get_data_engine(engine).connect("x", {"user": "u"} if engine in ("postgres", "mysql") else {})
    assert missing in error.value.message


def test_secrets_are_declared() -> None:
    assert "password" in get_data_engine("postgres").secret_parameters
    assert "password" in get_data_engine("mysql").secret_parameters


def test_connect_does_not_connect() -> None:
    integration = get_data_engine("postgres").connect("x", {"host": "127.0.0.1", "port": 1, "user": "u",
                                                            "database": "d", "connect_timeout": 2})
    with pytest.raises(SourceError):
        integration.check()


# --- listing and schemas ------------------------------------------------------------------

def test_tables_across_schemas(source: Source) -> None:
    mine, theirs = unique("listed"), unique("elsewhere")
    source.native(f"CREATE TABLE {mine} (a INTEGER)")
    source.native(f"CREATE VIEW {mine}_v AS SELECT a FROM {mine}")
    if source.other_schema:
        source.native(f"CREATE TABLE {source.other_schema}.{theirs} (b INTEGER)")
    listed = source.integration.tables()
    default = source.integration.default_schema
    assert TableInfo(mine, default, "BASE TABLE") in listed
    assert TableInfo(f"{mine}_v", default, "VIEW") in listed
    names = {t.name for t in listed}
    assert not any(name.startswith(("pg_", "sqlite_")) for name in names)
    if source.engine in ("postgres", "duckdb"):
        assert TableInfo(theirs, source.other_schema, "BASE TABLE") in listed
        assert source.integration.tables(source.other_schema) == [TableInfo(theirs, source.other_schema)]
        # System schemas (pg_catalog, information_schema, pg_toast) are left out.
        assert {t.schema for t in listed} == {default, source.other_schema}
    if source.engine == "mysql":
        # The configured database's tables only, as `db.table`.
        assert theirs not in names
        assert {t.schema for t in listed} == {None}


def test_schema_and_unknown_table(source: Source) -> None:
    name = unique("described")
    source.native(f"CREATE TABLE {name} (id INTEGER, label VARCHAR(20))")
    schema = source.integration.schema(TableName(name))
    assert schema.names == ["id", "label"]
    assert pa.types.is_integer(schema.field("id").type)
    assert schema.field("label").type == pa.string()
    with pytest.raises(UnknownTable) as error:
        source.integration.schema(TableName("no_such_table"))
    assert "no_such_table" in error.value.message and "src" in error.value.message
    assert "doesn't exist" in error.value.message


# --- scans --------------------------------------------------------------------------------

FLIGHT_ROWS = 50_000


def load_flights(source: Source, name: str) -> pa.Table:
    flights = pq.read_table(SHARED_DATA / "flights_3m" / "flights_3m.parquet").slice(0, FLIGHT_ROWS)
    if source.server is not None:
        load_csv(source.server, name, "flights_3m/flights_3m.parquet", limit=FLIGHT_ROWS)
    else:
        source.integration.write(TableName(name), flights.to_reader(max_chunksize=10_000), "create")
    return flights


def test_scan_streams_in_batches(source: Source) -> None:
    name = unique("flights")
    flights = load_flights(source, name)
    reader = source.integration.scan(f"SELECT delay, distance, origin FROM {name}", batch_rows=4_096)
    assert isinstance(reader, pa.RecordBatchReader)
    sizes, delay_sum, origins = [], 0, set()
    for batch in reader:
        sizes.append(batch.num_rows)
        delay_sum += sum(v for v in batch.column("delay").to_pylist())
        origins |= set(batch.column("origin").to_pylist())
    assert sum(sizes) == FLIGHT_ROWS
    assert max(sizes) <= 4_096 and len(sizes) >= FLIGHT_ROWS // 4_096
    assert delay_sum == sum(flights.column("delay").to_pylist())
    assert origins == set(flights.column("origin").to_pylist())


def test_scan_runs_the_sql_as_given(source: Source) -> None:
    name = unique("given")
    source.native(f"CREATE TABLE {name} (n INTEGER)")
    source.native(f"INSERT INTO {name} VALUES (1), (2), (3)")
    assert rows_of(source, f"SELECT n * 10 AS tens FROM {name} WHERE n > 1 ORDER BY n") == [
        {"tens": 20}, {"tens": 30}]


def test_a_bad_query_is_a_source_error_and_the_source_still_works(source: Source) -> None:
    with pytest.raises(SourceError) as error:
        source.integration.scan("SELECT * FROM missing_table_xyz")
    assert "missing_table_xyz" in error.value.message
    assert rows_of(source, "SELECT 1 AS one") == [{"one": 1}]


def test_scans_from_several_threads(source: Source) -> None:
    name = unique("threads")
    source.native(f"CREATE TABLE {name} (n INTEGER)")
    source.native(f"INSERT INTO {name} VALUES " + ", ".join(f"({i})" for i in range(100)))
    results: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(rows_of(source, f"SELECT sum(n) AS s FROM {name}")[0]["s"])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [4950] * 20


# --- types --------------------------------------------------------------------------------

HOSTILE_TEXT = ["it's", 'say "hi"', "back\\slash", "tab\tnew\nline", "ünïcödé ✓ 😀", "", "`tick`; -- x"]


def sample_table() -> pa.Table:
    n = len(HOSTILE_TEXT)
    return pa.table({
        "i8": pa.array([-128, 127, 0, None, 1, 2, 3], pa.int8()),
        "i16": pa.array([-32768, 32767, 0, None, 1, 2, 3], pa.int16()),
        "i32": pa.array([-2**31, 2**31 - 1, 0, None, 1, 2, 3], pa.int32()),
        "i64": pa.array([-2**63, 2**63 - 1, 0, None, 1, 2, 3], pa.int64()),
        "f64": pa.array([1.5, -2.25, 1e300, None, 0.0, 3.0, 0.1], pa.float64()),
        "money": pa.array([Decimal("12345678901.25"), Decimal("-0.01"), Decimal("0.00"), None,
                           Decimal("1.10"), Decimal("2.00"), Decimal("99.99")], pa.decimal128(13, 2)),
        "txt": pa.array(HOSTILE_TEXT, pa.string()),
        "day": pa.array([dt.date(2024, 2, 29), dt.date(1970, 1, 1), dt.date(9999, 12, 31), None,
                         dt.date(2000, 1, 1), dt.date(2001, 1, 1), dt.date(2002, 1, 1)], pa.date32()),
        "moment": pa.array([dt.datetime(2024, 2, 29, 23, 59, 59, 123456), dt.datetime(1970, 1, 1), None,
                            dt.datetime(2001, 1, 1, 0, 1), None, dt.datetime(2030, 6, 1, 12),
                            dt.datetime(1999, 12, 31, 23, 59, 59)], pa.timestamp("us")),
        "flag": pa.array([True, False, None, True, False, True, None], pa.bool_()),
        "nothing": pa.array([None] * n, pa.string()),
    })


def expected_rows(engine: str) -> list[dict[str, Any]]:
    rows = sample_table().to_pylist()
    if engine == "mysql":
        for row in rows:  # MySQL has no boolean type: BOOLEAN is TINYINT(1)
            row["flag"] = None if row["flag"] is None else int(row["flag"])
    return rows


def test_types_round_trip_through_write_and_scan(source: Source) -> None:
    name = unique("types")
    table = sample_table()
    assert source.integration.write(TableName(name), table.to_reader(), "create") == table.num_rows
    got = source.integration.scan(f"SELECT * FROM {source.quote(name)}")
    schema = got.schema
    assert rows_of(source, f"SELECT * FROM {source.quote(name)}") == expected_rows(source.engine)
    assert schema.field("money").type == pa.decimal128(13, 2)
    assert schema.field("day").type == pa.date32()
    assert pa.types.is_timestamp(schema.field("moment").type)
    assert schema.field("txt").type == pa.string()
    assert schema.field("flag").type == (pa.int8() if source.engine == "mysql" else pa.bool_())
    widths = {"sqlite": [64, 64, 64, 64], "postgres": [16, 16, 32, 64]}.get(source.engine, [8, 16, 32, 64])
    assert [schema.field(f"i{w}").type.bit_width for w in (8, 16, 32, 64)] == widths
    assert source.integration.schema(TableName(name)).names == table.schema.names


NATIVE = {
    "postgres": ("CREATE TABLE {t} (i2 smallint, i4 integer, i8 bigint, r real, d double precision, "
                 "n numeric(12, 3), nn numeric, big numeric(50, 10), b boolean, day date, ts timestamp, "
                 "tstz timestamptz, t text, v varchar(10))",
                 "INSERT INTO {t} VALUES (1, 2, 3, 1.5, 2.25, 123456789.123, 1.000000000000000000001, "
                 "1234567890123456789012345678901234567890.0123456789, true, '2024-02-29', "
                 "'2024-02-29 12:34:56.789012', '2024-02-29 12:00:00+02', 'x', 'y'), "
                 "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"),
    "mysql": ("CREATE TABLE {t} (i1 TINYINT, u1 TINYINT UNSIGNED, i2 SMALLINT, i4 INT, u8 BIGINT UNSIGNED, "
              "r FLOAT, d DOUBLE, n DECIMAL(12, 3), big DECIMAL(50, 10), b BOOLEAN, day DATE, "
              "ts DATETIME(6), tstz TIMESTAMP(0) NULL, t TEXT, v VARCHAR(10), bin VARBINARY(4))",
              "INSERT INTO {t} VALUES (-1, 255, 2, 4, 18446744073709551615, 1.5, 2.25, 123456789.123, "
              "1234567890123456789012345678901234567890.0123456789, TRUE, '2024-02-29', "
              "'2024-02-29 12:34:56.789012', '2024-02-29 10:00:00', 'x', 'y', x'00ff'), "
              "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"),
    "sqlite": ("CREATE TABLE {t} (i INTEGER, r REAL, n DECIMAL(12, 3), b BOOLEAN, day DATE, ts TIMESTAMP, "
               "t TEXT, v VARCHAR(10), bin BLOB)",
               "INSERT INTO {t} VALUES (3, 2.25, 123456789.123, 1, '2024-02-29', '2024-02-29 12:34:56.789012', "
               "'x', 'y', x'00ff'), (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"),
    "duckdb": ("CREATE TABLE {t} (i2 SMALLINT, i4 INTEGER, i8 BIGINT, r REAL, d DOUBLE, n DECIMAL(12, 3), "
               "b BOOLEAN, day DATE, ts TIMESTAMP, t VARCHAR)",
               "INSERT INTO {t} VALUES (1, 2, 3, 1.5, 2.25, 123456789.123, true, '2024-02-29', "
               "'2024-02-29 12:34:56.789012', 'x'), (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"),
}

NATIVE_TYPES: dict[str, dict[str, pa.DataType]] = {
    "postgres": {"i2": pa.int16(), "i4": pa.int32(), "i8": pa.int64(), "r": pa.float32(), "d": pa.float64(),
                 "n": pa.decimal128(12, 3), "nn": pa.float64(), "big": pa.string(), "b": pa.bool_(),
                 "day": pa.date32(), "ts": pa.timestamp("us"), "tstz": pa.timestamp("us", tz="UTC"),
                 "t": pa.string(), "v": pa.string()},
    "mysql": {"i1": pa.int8(), "u1": pa.uint8(), "i2": pa.int16(), "i4": pa.int32(), "u8": pa.uint64(),
              "r": pa.float32(), "d": pa.float64(), "n": pa.decimal128(12, 3), "big": pa.string(),
              "b": pa.int8(), "day": pa.date32(), "ts": pa.timestamp("us"), "tstz": pa.timestamp("us", tz="UTC"),
              "t": pa.string(), "v": pa.string(), "bin": pa.binary()},
    "sqlite": {"i": pa.int64(), "r": pa.float64(), "n": pa.decimal128(12, 3), "b": pa.bool_(),
               "day": pa.date32(), "ts": pa.timestamp("us"), "t": pa.string(), "v": pa.string(),
               "bin": pa.binary()},
    "duckdb": {"i2": pa.int16(), "i4": pa.int32(), "i8": pa.int64(), "r": pa.float32(), "d": pa.float64(),
               "n": pa.decimal128(12, 3), "b": pa.bool_(), "day": pa.date32(), "ts": pa.timestamp("us"),
               "t": pa.string()},
}


def test_native_types_map_to_exact_arrow_types(source: Source) -> None:
    name = unique("native")
    create, insert = NATIVE[source.engine]
    source.native(create.format(t=name))
    source.native(insert.format(t=name))
    table = source.integration.scan(f"SELECT * FROM {name}").read_all()
    assert dict(zip(table.schema.names, table.schema.types, strict=True)) == NATIVE_TYPES[source.engine]
    first, second = table.to_pylist()
    assert set(second.values()) == {None}
    assert first["n"] == Decimal("123456789.123")
    assert first["day"] == dt.date(2024, 2, 29)
    assert first["ts"] == dt.datetime(2024, 2, 29, 12, 34, 56, 789012)
    if source.engine == "postgres":
        assert first["nn"] == 1.0  # unconstrained numeric reads as float64
        assert first["big"] == "1234567890123456789012345678901234567890.0123456789"
        assert first["tstz"] == dt.datetime(2024, 2, 29, 10, 0, tzinfo=dt.UTC)
    if source.engine == "mysql":
        assert first["u8"] == 2**64 - 1 and first["i1"] == -1 and first["b"] == 1
        assert first["big"] == "1234567890123456789012345678901234567890.0123456789"
        assert first["tstz"] == dt.datetime(2024, 2, 29, 10, 0, tzinfo=dt.UTC)
        assert first["bin"] == b"\x00\xff"


# --- writes -------------------------------------------------------------------------------

def numbers(start: int, stop: int) -> pa.Table:
    return pa.table({"n": pa.array(range(start, stop), pa.int64()),
                     "word": pa.array([f"w{i}" for i in range(start, stop)])})


def test_write_create_append_replace_drop(source: Source) -> None:
    table = TableName(unique("written"))
    integration = source.integration
    assert integration.write(table, numbers(0, 3).to_reader(), "create") == 3
    with pytest.raises(AlreadyExists):
        integration.write(table, numbers(0, 3).to_reader(), "create")
    assert integration.write(table, numbers(3, 5).to_reader(), "append") == 2
    assert [r["n"] for r in rows_of(source, f"SELECT n FROM {table.name} ORDER BY n")] == [0, 1, 2, 3, 4]
    assert integration.write(table, numbers(10, 12).to_reader(), "replace") == 2
    assert rows_of(source, f"SELECT n, word FROM {table.name} ORDER BY n") == [
        {"n": 10, "word": "w10"}, {"n": 11, "word": "w11"}]
    fresh = TableName(unique("appended"))
    assert integration.write(fresh, numbers(0, 2).to_reader(), "append") == 2
    integration.drop_table(table)
    with pytest.raises(UnknownTable):
        integration.drop_table(table)
    assert table.name not in {t.name for t in integration.tables()}


def test_write_streams_many_batches(source: Source) -> None:
    table = TableName(unique("many"))
    data = numbers(0, 30_000)
    assert source.integration.write(table, data.to_reader(max_chunksize=1_000), "create") == 30_000
    assert source.native(f"SELECT count(*), sum(n) FROM {table.name}") == [(30_000, sum(range(30_000)))]


@pytest.mark.parametrize("mode", ["create", "append", "replace"])
def test_a_failure_mid_stream_leaves_the_target_as_it_was(source: Source, mode: str) -> None:
    table = TableName(unique("atomic"))
    if mode != "create":
        source.integration.write(table, numbers(0, 3).to_reader(), "create")
    before = {t.name for t in source.integration.tables()}
    with pytest.raises(ValueError, match="upstream broke"):
        source.integration.write(table, failing_after_first(numbers(100, 200)), mode)
    assert {t.name for t in source.integration.tables()} == before  # no half table, no staging table
    if mode != "create":
        assert source.native(f"SELECT n FROM {table.name} ORDER BY n") == [(0,), (1,), (2,)]
    assert source.integration.write(table, numbers(7, 8).to_reader(), "append") == 1


# --- names that try to escape -------------------------------------------------------------

HOSTILE_NAMES = ['we"ird', "back`tick", "semi;colon", "dash -- comment", "Robert'); DROP TABLE victims;--",
                 "50% off", "ünï ✓"]


def test_hostile_identifiers_and_values_round_trip(source: Source) -> None:
    victims = unique("victims")
    source.native(f"CREATE TABLE {victims} (a INTEGER)")
    source.native(f"INSERT INTO {victims} VALUES (1)")
    table_name = f'{victims}"; DROP TABLE {victims}; -- `x`'
    data = pa.table({name: pa.array([name, f"'); DROP TABLE {victims}; --", None]) for name in HOSTILE_NAMES})
    table = TableName(table_name)
    assert source.integration.write(table, data.to_reader(), "create") == 3
    assert table_name in {t.name for t in source.integration.tables()}
    assert source.integration.schema(table).names == HOSTILE_NAMES
    got = rows_of(source, f"SELECT * FROM {source.quote(table_name)}")
    assert got == data.to_pylist()
    assert source.integration.write(table, data.to_reader(), "append") == 3
    assert source.integration.write(table, data.to_reader(), "replace") == 3
    assert source.native(f"SELECT a FROM {victims}") == [(1,)]
    source.integration.drop_table(table)
    assert source.native(f"SELECT a FROM {victims}") == [(1,)]
