"""A worker process that holds one MLflow pyfunc model and predicts for the server.

    python -m augurdb.integrations.ml.pyfunc_worker MODEL_URI

The user's model code runs here, never in the server. Requests and answers are Arrow IPC
streams on stdin/stdout, each framed by an 8-byte length; an answer starts with one status
byte: 0 for predictions, 1 for an error (its text, with the traceback, follows).
"""

from __future__ import annotations

import io
import os
import sys
import traceback

import pyarrow as pa

# The frame format of both worker processes; byom_runner.py holds it because it must run alone.
from augurdb.integrations.ml.byom_runner import FAILED, OK, read_frame, table_bytes, write_frame

__all__ = ["FAILED", "OK", "bytes_table", "read_frame", "table_bytes", "write_frame"]


def bytes_table(data: bytes) -> pa.Table:
    """An answer's predictions (never empty, unlike byom_runner's bytes_table)."""
    return pa.ipc.open_stream(io.BytesIO(data)).read_all()


def serve(model_uri: str, inputs: io.BufferedReader, outputs: io.BufferedWriter) -> None:
    """Load the model once, then answer requests until stdin closes."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow.pyfunc
    import pandas as pd

    try:
        model = mlflow.pyfunc.load_model(model_uri)
        write_frame(outputs, OK)
    except Exception:
        write_frame(outputs, FAILED + traceback.format_exc().encode())
        return
    while (request := read_frame(inputs)) is not None:
        try:
            answer = model.predict(bytes_table(request).to_pandas())
            frame = answer if isinstance(answer, pd.DataFrame) else pd.DataFrame({"prediction": list(answer)})
            write_frame(outputs, OK + table_bytes(pa.Table.from_pandas(frame, preserve_index=False)))
        except Exception:
            write_frame(outputs, FAILED + traceback.format_exc().encode())


def main() -> None:
    # The protocol keeps the real stdout; anything the model prints goes to stderr instead.
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.argv[1], sys.stdin.buffer, protocol)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
