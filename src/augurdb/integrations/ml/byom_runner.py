"""The process that runs a BYOM engine's uploaded code, never the server.

    python -P byom_runner.py

A standalone script: any Python with pandas and pyarrow runs it (an engine version's virtualenv
has no augurdb). Requests come on stdin and answers go on stdout, each frame an 8-byte
little-endian length and its bytes. A request is two frames: a JSON header {"method": ...} and
an Arrow IPC stream of rows (empty when the method takes none). An answer is one frame: a status
byte, then the result (0: an Arrow IPC stream for predict and describe, JSON for the others) or
the error (1: its text, the traceback starting at the user's code). The real stdout is kept for
the protocol; what the user's code prints goes to stderr. The runner ends when stdin closes or
its parent process dies.

Methods: check {code} -> {"class"}; train {code, state, target, args} + rows -> {"class",
"describe"}; load {code, state, target}; predict {args} + rows -> table; describe {attribute}.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import pickle
import struct
import sys
import threading
import time
import traceback
from typing import IO, Any

import pyarrow as pa

OK, FAILED = b"\x00", b"\x01"
# The module name pickled states refer to: the same at train and at predict, so classes of the
# user's module unpickle.
MODULE = "byom_code"
METHODS = {"check", "train", "load", "predict", "describe"}


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(struct.pack("<Q", len(payload)))
    stream.write(payload)
    stream.flush()


def read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame, or None when the stream ended."""
    header = stream.read(8)
    if len(header) < 8:
        return None
    (size,) = struct.unpack("<Q", header)
    payload = stream.read(size)
    return payload if len(payload) == size else None


def table_bytes(table: pa.Table | None) -> bytes:
    if table is None:
        return b""
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def bytes_table(data: bytes) -> pa.Table | None:
    return pa.ipc.open_stream(io.BytesIO(data)).read_all() if data else None


def write_request(stream: IO[bytes], header: dict[str, Any], rows: pa.Table | None = None) -> None:
    """One request: its JSON header, then its rows."""
    write_frame(stream, json.dumps(header, default=str).encode())
    write_frame(stream, table_bytes(rows))


def user_traceback(error: BaseException) -> str:
    """The error with its traceback from the user's code on (the runner's frames left out)."""
    tb = error.__traceback__
    while tb is not None and (tb.tb_frame.f_code.co_filename == __file__
                              or tb.tb_frame.f_code.co_filename.startswith("<frozen importlib")):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb)).strip()


def model_class(path: str) -> type:
    """The first class the module defines that has both train and predict (MindsDB's rule)."""
    spec = importlib.util.spec_from_file_location(MODULE, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    spec.loader.exec_module(module)
    for value in list(vars(module).values()):
        if isinstance(value, type) and value.__module__ == MODULE and \
                callable(getattr(value, "train", None)) and callable(getattr(value, "predict", None)):
            return value
    raise LookupError("the code defines no class with both a train and a predict method")


def as_frame(answer: Any, target: str) -> Any:
    """predict's answer as a DataFrame; a Series or a list of values is the target column."""
    import numpy as np
    import pandas as pd

    if isinstance(answer, pd.DataFrame):
        frame = answer.copy(deep=False)
    elif isinstance(answer, pd.Series):
        frame = answer.to_frame(target if answer.name is None else str(answer.name))
    elif isinstance(answer, list | tuple | np.ndarray):
        frame = pd.DataFrame({target: list(answer)})
    else:
        raise TypeError(f"predict must return a pandas DataFrame, not {type(answer).__name__}")
    frame.columns = [str(c) for c in frame.columns]
    return frame


class Runner:
    """The user's model, kept between requests."""

    def __init__(self) -> None:
        self.model: Any = None
        self.target = ""

    def check(self, request: dict[str, Any], rows: pa.Table | None) -> dict[str, Any]:
        try:
            return {"class": model_class(request["code"]).__name__}
        except ImportError as error:
            # A virtualenv version's imports may be installed only later, by its requirements.
            if request.get("imports_may_fail"):
                return {"class": None, "import_error": user_traceback(error)}
            raise

    def train(self, request: dict[str, Any], rows: pa.Table | None) -> dict[str, Any]:
        cls = model_class(request["code"])
        model = cls()
        model.train(_frame(rows), request["target"], request.get("args"))
        partial = request["state"] + ".partial"
        with open(partial, "wb") as out:
            pickle.dump(model.__dict__, out, protocol=5)
        os.replace(partial, request["state"])
        self.model, self.target = model, request["target"]
        return {"class": cls.__name__, "describe": callable(getattr(model, "describe", None))}

    def load(self, request: dict[str, Any], rows: pa.Table | None) -> dict[str, Any]:
        cls = model_class(request["code"])
        model = cls()
        with open(request["state"], "rb") as state:
            model.__dict__.update(pickle.load(state))
        self.model, self.target = model, request["target"]
        return {"class": cls.__name__}

    def predict(self, request: dict[str, Any], rows: pa.Table | None) -> pa.Table:
        args = request.get("args")
        # As MindsDB calls it: without args when the query gives none.
        answer = self.model.predict(_frame(rows), args) if args else self.model.predict(_frame(rows))
        return pa.Table.from_pandas(as_frame(answer, self.target), preserve_index=False)

    def describe(self, request: dict[str, Any], rows: pa.Table | None) -> pa.Table:
        import pandas as pd

        answer = self.model.describe(request.get("attribute"))
        if not isinstance(answer, pd.DataFrame):
            raise TypeError(f"describe must return a pandas DataFrame, not {type(answer).__name__}")
        return pa.Table.from_pandas(answer, preserve_index=False)


def _frame(rows: pa.Table | None) -> Any:
    import pandas as pd

    return rows.to_pandas() if rows is not None else pd.DataFrame()


def serve(inputs: IO[bytes], outputs: IO[bytes]) -> None:
    """Answer requests until stdin closes."""
    runner = Runner()
    while (header := read_frame(inputs)) is not None:
        rows = read_frame(inputs)
        if rows is None:
            return
        try:
            request = json.loads(header)
            if request.get("method") not in METHODS:
                raise ValueError(f"unknown method {request.get('method')!r}: the runner knows {sorted(METHODS)}")
            result = getattr(runner, request["method"])(request, bytes_table(rows))
            payload = table_bytes(result) if isinstance(result, pa.Table) else json.dumps(result).encode()
            write_frame(outputs, OK + payload)
        except (Exception, SystemExit) as error:  # sys.exit() in user code is its error, not the runner's end
            write_frame(outputs, FAILED + user_traceback(error).encode("utf-8", "replace"))


def _end_with_parent() -> None:
    """A runner whose training worker was stopped must not train on alone."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    protocol_in = os.fdopen(os.dup(0), "rb")
    protocol_out = os.fdopen(os.dup(1), "wb")
    # The user's code reads nothing from the protocol and prints to stderr.
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    _end_with_parent()
    serve(protocol_in, protocol_out)


if __name__ == "__main__":
    main()
