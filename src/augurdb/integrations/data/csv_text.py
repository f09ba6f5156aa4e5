"""Uploaded CSV and TSV text: read in its own encoding, checked for a layout DuckDB guessed wrong,
and DuckDB's errors told in one line.

Spreadsheets on Windows save CSV as Windows-1252 (cp1252, a superset of Latin-1 for text) and
"Unicode text" as UTF-16; DuckDB reads UTF-8 only, so such a file is copied as UTF-8 first.
"""

from __future__ import annotations

import codecs
import csv
import re
import tempfile
from pathlib import Path

import duckdb

_CHUNK = 1 << 20
_DELIMITERS = (",", ";", "\t", "|")


class BadText(ValueError):
    """The upload cannot be read as text; the message names the line."""


def utf8_copy(source: Path, directory: Path) -> Path | None:
    """A UTF-8 copy of `source` in `directory`, or None when it is UTF-8 already.

    Raises BadText when it is neither UTF-8, UTF-16 (with a byte-order mark) nor cp1252.
    """
    encoding = _encoding(source)
    if encoding == "utf-8":
        return None
    fd, name = tempfile.mkstemp(dir=directory, suffix=".csv.tmp")
    copy = Path(name)
    try:
        with source.open(encoding=encoding, newline="") as text, open(fd, "w", encoding="utf-8", newline="") as out:
            while chunk := text.read(_CHUNK):
                out.write(chunk)
    except UnicodeDecodeError as error:  # only UTF-16 can fail here: cp1252 was checked whole
        copy.unlink(missing_ok=True)
        raise BadText(f"it starts as UTF-16 text but is not UTF-16 ({error.reason}): save it as UTF-8") from None
    except BaseException:
        copy.unlink(missing_ok=True)
        raise
    return copy


def _encoding(path: Path) -> str:
    with path.open("rb") as f:
        if f.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return "utf-16"
    failure = _first_undecodable(path, "utf-8")
    if failure is None:
        return "utf-8"
    line, byte, after_utf8 = failure
    if after_utf8:  # earlier lines hold UTF-8 letters: read as cp1252 they would come out garbled
        raise BadText(f"line {line} is not UTF-8 (byte 0x{byte:02x}) though the lines before it are: "
                      "save the whole file as UTF-8")
    failure = _first_undecodable(path, "cp1252")
    if failure is None:
        return "cp1252"
    line, byte, _ = failure
    raise BadText(f"line {line} has byte 0x{byte:02x}, which is text neither in UTF-8 nor in Windows-1252 "
                  "(cp1252): save the file as UTF-8")


def _first_undecodable(path: Path, encoding: str) -> tuple[int, int, bool] | None:
    """(line, byte, whether non-ASCII text came before) of the first byte `encoding` cannot decode."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    lines, non_ascii = 1, False
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            if chunk.isascii() and not decoder.getstate()[0]:
                lines += chunk.count(b"\n")
                continue
            data = decoder.getstate()[0] + chunk  # bytes of a character cut by the last chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                before = data[:error.start]
                return lines + before.count(b"\n"), data[error.start], non_ascii or not before.isascii()
            lines += chunk.count(b"\n")
            non_ascii = True
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:  # the file ends inside a character
        return lines, error.object[error.start], non_ascii
    return None


def layout_problem(source: Path, columns: list[str]) -> str | None:
    """Why DuckDB's columns for `source` do not match its header line, or None when they match.

    Finding no layout that fits every line, DuckDB silently skips lines or reads each whole line
    as one column; the reason is the first line whose field count differs, or a quote never closed.
    """
    with source.open(encoding="utf-8-sig", newline="") as f:
        header = f.readline()
        widths = {d: len(next(csv.reader([header], delimiter=d), [])) for d in _DELIMITERS}
        delimiter, width = max(widths.items(), key=lambda item: item[1])
        if width < 2 or (len(columns) > 1 and len(columns) in widths.values()):
            return None
        reader, line = csv.reader(f, delimiter=delimiter, strict=True), 2
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return None
            except csv.Error as error:
                return (f"line {line}: a quoted field starting there is never closed"
                        if "end of data" in str(error) else f"line {line}: {error}")
            if row and len(row) != width:
                return f"line {line} has {len(row)} fields where the header has {width}: " \
                       "every line needs the same number of fields"
            line = reader.line_num + 2


def duckdb_reason(error: duckdb.Error) -> str:
    """DuckDB's error in one short line: the line it names and why, without its list of settings."""
    text = str(error)
    if isinstance(error, duckdb.OutOfMemoryException):
        return "the server ran out of memory converting it: " + _short(text.split("\n", 1)[0])
    line = re.search(r"CSV Error on Line: (\d+)", text)
    if line:
        details = [x.strip() for x in text.splitlines()[1:] if x.strip() and not x.startswith("Original Line")]
        return f"line {line.group(1)}: {_short(details[0]) if details else 'cannot be read'}"
    if "Error when sniffing file" in text:
        return "its layout (delimiter, quotes, header) could not be worked out"
    return _short(text.strip().split("\n", 1)[0])


def _short(text: str, size: int = 160) -> str:
    text = re.sub(r"^[A-Za-z ]+ Error: ", "", text).strip()
    return text if len(text) <= size else text[: size - 3] + "..."
