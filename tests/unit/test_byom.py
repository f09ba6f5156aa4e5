"""The byom engine's parts: the requirement-line checker, the compile check, and the runner
protocol spoken with a real runner process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from augurdb.errors import ModelCodeError, WrongArguments
from augurdb.integrations.ml import byom_runner as wire
from augurdb.integrations.ml.byom_process import RUNNER, RunnerProcess
from augurdb.integrations.ml.byom_store import check_source, parse_requirements

CODE = '''
import os
import sys
import time

import pandas as pd


class Scaler:
    def train(self, df, target_col, args=None):
        print("training happens here")
        self.target = target_col
        self.factor = args["using"]["factor"]

    def predict(self, df, args=None):
        if (df["x"] < 0).any():
            raise ValueError("x must not be negative")
        if (df["x"] == 13).any():
            print("about to die", file=sys.stderr, flush=True)
            os._exit(3)
        if (df["x"] == 42).any():
            time.sleep(60)
        return pd.DataFrame({self.target: df["x"] * self.factor * (args or {}).get("times", 1)})
'''


def test_requirement_lines() -> None:
    text = ("# comment\n\npandas\nscikit-learn==1.5.2  # pinned\nrequests[socks, security] >= 2.31, < 3\n"
            "numpy~=2.0\nzope.interface!=5.*\n")
    assert parse_requirements(text) == ["pandas", "scikit-learn==1.5.2", "requests[socks,security]>=2.31,<3",
                                        "numpy~=2.0", "zope.interface!=5.*"]


@pytest.mark.parametrize("line", ["-e git+https://github.com/x/y.git", "--index-url https://pypi.example",
                                  "https://example.com/pkg.whl", "./local/package", "pkg @ https://x/pkg.whl",
                                  "-r other.txt", "pandas==", "pandas; os.system('x')"])
def test_requirement_lines_that_are_refused(line: str) -> None:
    with pytest.raises(WrongArguments, match="requirements.txt line 2"):
        parse_requirements(f"pandas\n{line}\n")


def test_code_that_does_not_compile_names_its_line() -> None:
    assert check_source(b"x = 1\n") == "x = 1\n"
    with pytest.raises(WrongArguments, match=r"line 2\)\n    def f\(:"):
        check_source(b"x = 1\ndef f(:\n    pass\n")


@pytest.fixture()
def code(tmp_path: Path) -> Path:
    path = tmp_path / "code.py"
    path.write_text(CODE)
    return path


def _answer(process: subprocess.Popen[bytes], header: dict, rows: pa.Table | None = None) -> tuple[bytes, bytes]:
    assert process.stdin is not None and process.stdout is not None
    wire.write_request(process.stdin, header, rows)
    answer = wire.read_frame(process.stdout)
    assert answer is not None
    return answer[:1], answer[1:]


def test_the_runner_protocol(code: Path, tmp_path: Path) -> None:
    state = str(tmp_path / "state.pickle")
    process = subprocess.Popen([sys.executable, "-P", str(RUNNER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    rows = pa.table({"x": [1.0, 2.0], "y": [10.0, 20.0]})
    assert _answer(process, {"method": "check", "code": str(code)}) == (wire.OK, b'{"class": "Scaler"}')
    trained = _answer(process, {"method": "train", "code": str(code), "state": state, "target": "y",
                                "args": {"target": "y", "using": {"factor": 3}}}, rows)
    assert trained == (wire.OK, b'{"class": "Scaler", "describe": false}')  # the print went to stderr
    assert Path(state).is_file()
    assert _answer(process, {"method": "load", "code": str(code), "state": state, "target": "y"})[0] == wire.OK
    status, predicted = _answer(process, {"method": "predict", "args": {"times": 2}}, pa.table({"x": [1.0, 5.0]}))
    assert status == wire.OK and wire.bytes_table(predicted) == pa.table({"y": [6.0, 30.0]})

    status, error = _answer(process, {"method": "predict", "args": {}}, pa.table({"x": [-1.0]}))
    text = error.decode()
    line = CODE.splitlines().index('            raise ValueError("x must not be negative")') + 1
    assert status == wire.FAILED
    assert text.startswith("Traceback (most recent call last):\n  File") and "byom_runner.py" not in text
    assert f'code.py", line {line}, in predict' in text and text.endswith("ValueError: x must not be negative")
    assert process.stdin is not None
    process.stdin.close()
    assert process.wait(timeout=30) == 0  # stdin closed: the runner ends
    assert process.stderr is not None and b"training happens here" in process.stderr.read()


def test_a_runner_that_dies_or_hangs_is_an_error_and_the_next_call_gets_a_new_one(code: Path, tmp_path: Path) -> None:
    state = str(tmp_path / "state.pickle")
    trainer = RunnerProcess(sys.executable, tmp_path, tmp_path / "train.log", "the test model")
    trainer.call({"method": "train", "code": str(code), "state": state, "target": "y",
                  "args": {"using": {"factor": 2}}}, pa.table({"x": [1.0]}))
    trainer.close()
    model = RunnerProcess(sys.executable, tmp_path, tmp_path / "predict.log", "the test model",
                          setup={"method": "load", "code": str(code), "state": state, "target": "y"})
    try:
        with pytest.raises(ModelCodeError, match=r"ended unexpectedly during predict \(exit code 3\); "
                                                 r"its last output:\nabout to die"):
            model.call({"method": "predict"}, pa.table({"x": [13.0]}))
        with pytest.raises(ModelCodeError, match="predict did not answer within 1 s"):
            model.call({"method": "predict"}, pa.table({"x": [42.0]}), timeout=1)
        answer = model.call({"method": "predict"}, pa.table({"x": [4.0]}))
        assert wire.bytes_table(answer) == pa.table({"y": [8.0]})
    finally:
        model.close()
