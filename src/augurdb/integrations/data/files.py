"""Uploaded files: CSV, TSV, Parquet and JSON, stored as Parquet and read in place by DuckDB."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from augurdb.catalog.records import FileRecord
from augurdb.catalog.store import Catalog
from augurdb.errors import AlreadyExists, UnknownTable, WrongArguments
from augurdb.integrations.data.base import DataCapabilities, WriteMode
from augurdb.integrations.data.csv_text import BadText, duckdb_reason, layout_problem, utf8_copy
from augurdb.integrations.data.csv_types import typed_select

FORMATS = {"csv", "tsv", "parquet", "json", "jsonl", "ndjson"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class FilesIntegration:
    """The `files` database: one table per uploaded file."""

    name = "files"
    engine = "files"
    capabilities = DataCapabilities(local_scan=True, writable=True)

    def __init__(self, catalog: Catalog, directory: Path):
        self.catalog = catalog
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def tables(self) -> list[str]:
        return [f.name for f in self.catalog.files()]

    def record(self, table: str) -> FileRecord:
        record = self.catalog.file(table) or self.catalog.file(table.lower())
        if record is None:
            raise UnknownTable(f"Table 'files.{table}' doesn't exist")
        return record

    def schema(self, table: str) -> pa.Schema:
        return pq.read_schema(self.record(table).path)

    def drop_table(self, table: str) -> None:
        record = self.record(table)
        self.catalog.drop_file(record.name)
        record.path.unlink(missing_ok=True)

    def write(self, name: str, data: pa.RecordBatchReader, mode: WriteMode) -> int:
        """Write a stream as files.<name> (create, replace, or append to its rows).

        The new Parquet file is written under a temporary name and renamed into place, so a
        failure at any batch leaves the old table as it was.
        """
        if not _NAME.match(name):
            raise WrongArguments(f"Invalid table name {name!r}: use letters, digits and _ (max 64)")
        existing = self.catalog.file(name) or self.catalog.file(name.lower())
        if existing is not None and mode == "create":
            raise AlreadyExists(f"Table 'files.{name}' already exists")
        name = existing.name if existing is not None else name
        schema = pq.read_schema(existing.path) if existing is not None and mode == "append" else data.schema
        fd, tmp_name = tempfile.mkstemp(dir=self.directory, suffix=".parquet.tmp")
        os.close(fd)
        tmp, written = Path(tmp_name), 0
        try:
            with pq.ParquetWriter(tmp, schema) as writer:
                if existing is not None and mode == "append":
                    for batch in pq.ParquetFile(existing.path).iter_batches():
                        writer.write_batch(batch)
                for batch in data:
                    writer.write_batch(_conform(batch, schema, name))
                    written += batch.num_rows
            rows = pq.ParquetFile(tmp).metadata.num_rows
            target = self.directory / f"{name}.parquet"
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        columns = [{"name": f.name, "type": str(f.type)} for f in schema]
        self.catalog.put_file(FileRecord(name, target, "parquet", rows, columns))
        return written

    def load(self, name: str, source: Path, source_format: str | None = None, *,
             replace: bool = False, types: dict[str, str] | None = None) -> FileRecord:
        """Convert `source` to Parquet and register it as files.<name>; a name in use is refused
        (error 1050) unless `replace`. Models trained on the old file keep their own copy of its rows.
        A CSV's column types never change a written value (csv_types.py); `types` sets some.

        The Parquet file is written under a temporary name and renamed into place, and
        the catalog row is written last, so a failed load leaves nothing behind.
        """
        if not _NAME.match(name):
            raise WrongArguments(f"Invalid file name {name!r}: use letters, digits and _ (max 64)")
        existing = self.catalog.file(name) or self.catalog.file(name.lower())
        if existing is not None and not replace:
            raise AlreadyExists(f"Table 'files.{existing.name}' already exists: to overwrite it, upload with "
                                "replace (`augurdb load --replace`, or replace=true over HTTP)")
        name = existing.name if existing is not None else name
        fmt = (source_format or detect_format(source)).lower()
        if fmt not in FORMATS:
            raise WrongArguments(f"Unsupported file format {fmt!r}: expected one of {sorted(FORMATS)}")
        if types and fmt not in ("csv", "tsv"):
            raise WrongArguments(f"Column types are set for CSV and TSV files; a {fmt} file carries its own")
        target = self.directory / f"{name}.parquet"
        fd, tmp_name = tempfile.mkstemp(dir=self.directory, suffix=".parquet.tmp")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _convert_to_parquet(source, fmt, tmp, types or {})
            schema = pq.read_schema(tmp)
            rows = pq.ParquetFile(tmp).metadata.num_rows
            if rows == 0:
                raise BadText(f"it has no rows below its header ({', '.join(schema.names)})"
                              if fmt in ("csv", "tsv") else "it has no rows")
            os.replace(tmp, target)
        except (BadText, duckdb.Error) as error:
            # The server's own paths (an upload's temporary folder) say nothing to the user.
            reason = duckdb_reason(error).replace(f"{source.parent}{os.sep}", "") \
                if isinstance(error, duckdb.Error) else str(error)
            raise WrongArguments(f"Could not load {source.name} as files.{name}: {reason}") from None
        finally:
            tmp.unlink(missing_ok=True)
        record = FileRecord(name, target, fmt, rows, [{"name": f.name, "type": str(f.type)} for f in schema])
        self.catalog.put_file(record)
        return record


def _conform(batch: pa.RecordBatch, schema: pa.Schema, name: str) -> pa.RecordBatch:
    """A batch in the table's own column order and types; error 1136 when it does not fit."""
    if batch.schema.equals(schema):
        return batch
    if batch.num_columns != len(schema):
        raise WrongArguments(f"Column count doesn't match: files.{name} has {len(schema)} columns, "
                             f"the query gives {batch.num_columns}", code=1136)
    try:
        return pa.RecordBatch.from_arrays([batch.column(i).cast(f.type) for i, f in enumerate(schema)],
                                          schema=schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise WrongArguments(f"The rows do not fit the columns of files.{name}: {error}") from None


def detect_format(path: Path) -> str:
    """The format from the file name, or from the first bytes when the name says nothing."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    with path.open("rb") as f:
        head = f.read(4096)
    if head.startswith(b"PAR1"):
        return "parquet"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"[", b"{"):
        return "json"
    first_line = stripped.split(b"\n", 1)[0]
    return "tsv" if first_line.count(b"\t") > first_line.count(b",") else "csv"


def _convert_to_parquet(source: Path, fmt: str, target: Path, types: dict[str, str]) -> None:
    """Write `source` as Parquet; BadText or duckdb.Error when it cannot be read."""
    if source.stat().st_size == 0:
        raise BadText("the file is empty (0 bytes)")
    text = fmt in ("csv", "tsv")
    utf8 = utf8_copy(source, target.parent) if text else None
    try:
        _duckdb_copy(utf8 or source, fmt, target, types)
        reason = layout_problem(utf8 or source, pq.read_schema(target).names) if text else None
        if reason:
            raise BadText(reason)
    finally:
        if utf8 is not None:
            utf8.unlink(missing_ok=True)


def _duckdb_copy(source: Path, fmt: str, target: Path, types: dict[str, str]) -> None:
    path = str(source).replace("'", "''")
    readers = {
        # Read as text, the whole file sniffed for its layout; csv_types picks each column's type.
        "csv": f"read_csv('{path}', header=true, sample_size=-1, quote='\"', escape='\"', all_varchar=true)",
        "tsv": f"read_csv('{path}', header=true, delim='\\t', sample_size=-1, all_varchar=true)",
        "parquet": f"read_parquet('{path}')",
        "json": f"read_json_auto('{path}')",
        "jsonl": f"read_json_auto('{path}', format='newline_delimited')",
        "ndjson": f"read_json_auto('{path}', format='newline_delimited')",
    }
    out = str(target).replace("'", "''")
    con = duckdb.connect()
    try:
        select = typed_select(con, readers[fmt], types) if fmt in ("csv", "tsv") else f"SELECT * FROM {readers[fmt]}"
        con.execute(f"COPY ({select}) TO '{out}' (FORMAT parquet)")
    finally:
        con.close()
