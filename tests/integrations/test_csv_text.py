"""CSV text the way spreadsheets save it: its encoding found, DuckDB's errors in one line."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from augurdb.integrations.data.csv_text import BadText, duckdb_reason, layout_problem, utf8_copy


@pytest.mark.parametrize(("raw", "text"), [
    ("id,name\n1,café\n".encode("latin-1"), "id,name\n1,café\n"),
    ("id,name\n1,€5 “q”\n".encode("cp1252"), "id,name\n1,€5 “q”\n"),
    ("id\tname\r\n1\tcafé\r\n".encode("utf-16"), "id\tname\r\n1\tcafé\r\n"),
])
def test_text_in_another_encoding_is_copied_as_utf8(tmp_path: Path, raw: bytes, text: str) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(raw)
    copy = utf8_copy(source, tmp_path)
    assert copy is not None and copy.read_bytes() == text.encode("utf-8")


def test_utf8_is_read_in_place(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    # A multi-byte letter cut by the 1 MiB read boundary is still UTF-8.
    source.write_bytes(b"a\n" + b"x" * (2**20 - 3) + "é\n".encode())
    assert utf8_copy(source, tmp_path) is None


@pytest.mark.parametrize(("raw", "message"), [
    (b"id,name\n1,a\n2,\x81x\n", "line 3 has byte 0x81, which is text neither in UTF-8 nor in Windows-1252"),
    ("id,name\n1,café\n".encode() + b"2,na\xefve\n", "line 3 is not UTF-8 (byte 0xef) though the lines before"),
])
def test_text_in_no_known_encoding_names_the_line(tmp_path: Path, raw: bytes, message: str) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(raw)
    with pytest.raises(BadText, match=re.escape(message)):
        utf8_copy(source, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize(("text", "columns", "problem"), [
    ("a,b\n1,2\n3,4,5\n", ["a,b"],
     "line 3 has 3 fields where the header has 2: every line needs the same number of fields"),
    ("a,b\n1,2\n3,\"4\n5,6\n", ["a,b"], "line 3: a quoted field starting there is never closed"),
    ("a;b\n1;2\n", ["a", "b"], None),
    ("name\n\"Smith, J\"\n", ["name"], None),
])
def test_layout_problem(tmp_path: Path, text: str, columns: list[str], problem: str | None) -> None:
    source = tmp_path / "in.csv"
    source.write_text(text)
    assert layout_problem(source, columns) == problem


def test_duckdb_errors_become_one_short_line(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("a,b\n" + "".join(f"{i},x{i}\n" for i in range(3000)) + "1,2,3\n")
    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as csv_error:
        con.execute(f"SELECT * FROM read_csv('{source}', header=true, sample_size=-1, quote='\"', escape='\"')").fetchall()
    assert duckdb_reason(csv_error.value) == "line 3002: Expected Number of Columns: 2 Found: 3"
    con.execute("SET memory_limit = '1MB'")
    with pytest.raises(duckdb.OutOfMemoryException) as memory_error:
        con.execute("SELECT list(range(1000000))").fetchall()
    reason = duckdb_reason(memory_error.value)
    assert reason.startswith("the server ran out of memory converting it: failed to allocate")
    assert "\n" not in reason and "Possible solutions" not in reason
