"""Uploaded BYOM code on disk: engine versions, their requirements and their virtualenvs.

    <data_dir>/byom/<engine>/<version>/code.py, requirements.txt, version.json, status.json
                                       venv/, install.log (type venv)

An engine is made by its first upload (PUT /api/handlers/byom/<name>) and gets a version per
upload (POST); its ML_ENGINE row (handler byom) describes the versions. The uploaded code never
runs in the server: a runner process (byom_runner.py) imports it to check it.

A venv version's virtualenv is built once, by whoever needs it first (the server right after the
upload, or a training worker), under a file lock the others wait on: `python -m venv`, a .pth
file that puts the server's own site-packages after the virtualenv's (so pandas and pyarrow need
no download, and a version pinned in requirements.txt is installed into the virtualenv and wins),
then `pip install -r requirements.txt`, then the code is checked again with the virtualenv's Python.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from augurdb.catalog.records import MLEngineRecord
from augurdb.errors import AlreadyExists, AugurError, ModelCodeError, UnknownTable, WrongArguments
from augurdb.integrations.ml.byom_process import RunnerProcess
from augurdb.integrations.ml.registry import engine_names

if TYPE_CHECKING:
    from augurdb.catalog.store import Catalog

log = logging.getLogger(__name__)

HANDLER = "byom"
KINDS = ("venv", "inhouse")
CHECK_TIMEOUT_S = 120.0
INSTALL_TIMEOUT_S = 1800.0
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_SPECIFIER = r"(?:~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+"
_PACKAGE = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
# name, optional [extras], optional comma-separated version specifiers; nothing else reaches pip.
_REQUIREMENT = re.compile(rf"^{_PACKAGE}\s*(?:\[\s*{_PACKAGE}(?:\s*,\s*{_PACKAGE})*\s*\])?"
                          rf"\s*(?:{_SPECIFIER}(?:\s*,\s*{_SPECIFIER})*)?$")
_UPLOADS = threading.Lock()  # version numbers are taken one upload at a time


class VenvFailed(AugurError):
    """Building an engine version's virtualenv failed; the message ends with pip's last lines."""


@dataclass(frozen=True)
class Upload:
    """One uploaded engine version: the code, requirements.txt's text, and venv or inhouse."""

    code: bytes
    requirements: str = ""
    kind: str | None = None


@dataclass(frozen=True)
class EngineVersion:
    """One stored version of an engine."""

    engine: str
    number: int
    directory: Path
    kind: str
    requirements: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"engine {self.engine} version {self.number}"

    @property
    def code(self) -> Path:
        return self.directory / "code.py"

    @property
    def venv(self) -> Path:
        return self.directory / "venv"

    @property
    def python(self) -> str:
        """The Python that runs this version's code."""
        return str(self.venv / "bin" / "python") if self.kind == "venv" else sys.executable


def parse_requirements(text: str) -> list[str]:
    """requirements.txt's requirements; WrongArguments naming the first line that is not one."""
    requirements = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not content:
            continue
        if not _REQUIREMENT.match(content):
            raise WrongArguments(
                f"[byom] requirements.txt line {number}: {line.strip()!r} is not a requirement. Give a package "
                "name, optional [extras] and version specifiers (pandas>=2.0, scikit-learn==1.5.2); URLs, "
                "paths and pip options (-e, -r, --index-url) are refused")
        requirements.append(re.sub(r"\s+", "", content))
    return requirements


def check_source(code: bytes) -> str:
    """The code's text if it compiles (nothing runs); WrongArguments with the line that does not."""
    try:
        text = code.decode("utf-8")
    except UnicodeDecodeError:
        raise WrongArguments("[byom] the code is not UTF-8 text") from None
    try:
        compile(text, "code.py", "exec")
    except SyntaxError as error:
        line = f"\n    {error.text.strip()}" if error.text else ""
        raise WrongArguments(f"[byom] the code does not compile: {error.msg} (code.py, line {error.lineno}){line}") \
            from None
    return text


def create_engine(catalog: Catalog, data_dir: Path, name: str, upload: Upload) -> dict[str, Any]:
    """A new byom ML engine from its first upload (version 1)."""
    if not _NAME.match(name):
        raise WrongArguments(f"Invalid ML engine name {name!r}: use letters, digits and _ (max 64)")
    if name.lower() in engine_names():
        raise WrongArguments(f"'{name}' is a built-in engine; give the byom engine another name")
    kind = _kind(upload.kind or "venv")
    with _UPLOADS:
        if _record(catalog, name) is not None:
            raise AlreadyExists(f"ML engine '{name}' already exists: POST /api/handlers/byom/{name} "
                                "uploads a new version of a byom engine")
        shutil.rmtree(engine_dir(data_dir, name), ignore_errors=True)  # left by an engine the catalog lost
        facts = _store_version(data_dir, name, 1, upload, kind)
        parameters = {"byom_engine": name, "last_version": 1, "versions": {"1": facts}}
        catalog.add_ml_engine(MLEngineRecord(name, HANDLER, parameters))
    return _uploaded(data_dir, name, 1, parameters)


def add_version(catalog: Catalog, data_dir: Path, name: str, upload: Upload) -> dict[str, Any]:
    """The next version of a byom engine; its type is the previous version's unless given."""
    with _UPLOADS:
        record = _record(catalog, name)
        if record is None:
            raise UnknownTable(f"ML engine '{name}' doesn't exist: PUT /api/handlers/byom/{name} makes it")
        if record.handler != HANDLER:
            raise WrongArguments(f"ML engine '{record.name}' is a {record.handler} engine: only byom engines "
                                 "take uploaded code")
        parameters = record.parameters
        number = int(parameters["last_version"]) + 1
        kind = _kind(upload.kind or parameters["versions"][str(number - 1)]["type"])
        facts = _store_version(data_dir, record.name, number, upload, kind)
        parameters = {**parameters, "last_version": number, "versions": {**parameters["versions"], str(number): facts}}
        catalog.add_ml_engine(MLEngineRecord(record.name, HANDLER, parameters), replace=True)
    return _uploaded(data_dir, record.name, number, parameters)


def engine_dir(data_dir: Path, name: str) -> Path:
    return data_dir / "byom" / name


def remove_engine(data_dir: Path, name: str) -> None:
    """DROP ML_ENGINE: the engine's versions, code and virtualenvs go."""
    shutil.rmtree(engine_dir(data_dir, name), ignore_errors=True)


def version_of(data_dir: Path, engine: str, number: int) -> EngineVersion:
    """A stored version; WrongArguments listing the versions there are when it is not one."""
    directory = engine_dir(data_dir, engine) / str(number)
    try:
        facts = json.loads((directory / "version.json").read_text())
    except FileNotFoundError:
        root = engine_dir(data_dir, engine)
        known = sorted(int(p.name) for p in root.iterdir() if p.name.isdigit()) if root.is_dir() else []
        listing = f"its versions are {', '.join(map(str, known))}" if known else "it has no code (was it dropped?)"
        raise WrongArguments(f"[byom] engine '{engine}' has no version {number}: {listing}") from None
    return EngineVersion(engine, number, directory, facts["type"], tuple(facts["requirements"]))


def ensure_environment(version: EngineVersion) -> str:
    """The Python that runs the version's code; a venv version's virtualenv is built first if it
    is not yet (once: whoever comes second waits for the first)."""
    if version.kind != "venv":
        return version.python
    with _locked(version.directory):
        if _read_status(version.directory).get("status") == "ready":
            return version.python
        _write_status(version.directory, "installing")
        try:
            _build_venv(version)
        except AugurError as error:
            _write_status(version.directory, "failed", error.message)
            raise
        except Exception as error:
            _write_status(version.directory, "failed", f"{type(error).__name__}: {error}")
            raise VenvFailed(f"[byom] building the virtualenv of {version.label} failed: {error}") from error
        _write_status(version.directory, "ready")
    return version.python


def with_status(data_dir: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    """An engine's parameters as SHOW ML_ENGINES shows them: each version with its environment's status."""
    root = engine_dir(data_dir, str(parameters.get("byom_engine", "")))
    versions = {number: {**facts, **_shown_status(root / number)}
                for number, facts in (parameters.get("versions") or {}).items()}
    return {**parameters, "versions": versions}


def server_site_packages() -> list[str]:
    """Where this Python's installed packages are (the virtualenvs see them after their own)."""
    return [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise WrongArguments(f"[byom] type must be 'venv' or 'inhouse', got {kind!r}")
    return kind


def _record(catalog: Catalog, name: str) -> MLEngineRecord | None:
    return next((r for r in catalog.ml_engines() if r.name.lower() == name.lower()), None)


def _store_version(data_dir: Path, name: str, number: int, upload: Upload, kind: str) -> dict[str, Any]:
    """Write the version's files, once its code compiles and loads; the facts the catalog shows."""
    requirements = parse_requirements(upload.requirements)
    if kind == "inhouse" and requirements:
        raise WrongArguments("[byom] type 'inhouse' runs the code with the server's own Python and installs "
                             "nothing: leave out the requirements, or use type 'venv'")
    check_source(upload.code)
    root = engine_dir(data_dir, name)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=root))
    try:
        (staging / "code.py").write_bytes(upload.code)
        (staging / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements))
        version = EngineVersion(name, number, staging, kind, tuple(requirements))
        # The server's Python cannot import what a venv version will install: that check waits for its venv.
        checked = check_code(version, sys.executable, imports_may_fail=kind == "venv")
        facts = {"type": kind, "requirements": requirements, "class": checked.get("class"),
                 "uploaded_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
        (staging / "version.json").write_text(json.dumps(facts))
        _write_status(staging, "ready" if kind == "inhouse" else "pending")
        shutil.rmtree(root / str(number), ignore_errors=True)  # left by an upload the catalog never recorded
        staging.rename(root / str(number))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return facts


def check_code(version: EngineVersion, python: str, *, imports_may_fail: bool) -> dict[str, Any]:
    """Import the version's code in a runner and find its model class; WrongArguments with the
    traceback when it does not load."""
    runner = RunnerProcess(python, version.directory, version.directory / "check.log", version.label)
    try:
        return dict(json.loads(runner.call({"method": "check", "code": str(version.code),
                                            "imports_may_fail": imports_may_fail}, timeout=CHECK_TIMEOUT_S)))
    except ModelCodeError as error:
        raise WrongArguments(error.message) from None
    finally:
        runner.close()


def _uploaded(data_dir: Path, name: str, number: int, parameters: dict[str, Any]) -> dict[str, Any]:
    """The upload's answer; a venv version's virtualenv starts building now, in the background."""
    version = version_of(data_dir, name, number)
    if version.kind == "venv":
        threading.Thread(target=_build_quietly, args=(version,), name=f"byom-venv-{name}-{number}",
                         daemon=True).start()
    return {"name": name, "last_engine_version": number,
            "engine_versions": sorted(int(v) for v in parameters["versions"]),
            "type": version.kind, "status": "installing" if version.kind == "venv" else "ready"}


def _build_quietly(version: EngineVersion) -> None:
    try:
        ensure_environment(version)
    except AugurError:  # its status shows what failed; the next training tries again
        log.info("the virtualenv of %s could not be built", version.label, exc_info=True)


def _build_venv(version: EngineVersion) -> None:
    shutil.rmtree(version.venv, ignore_errors=True)
    install_log = version.directory / "install.log"
    install_log.write_text("")
    # The server's own pip installs into the virtualenv (`pip --python`): much faster than
    # bootstrapping a pip into every virtualenv.
    own_pip = importlib.util.find_spec("pip") is not None
    _run([sys.executable, "-m", "venv", *(["--without-pip"] if own_pip else []), str(version.venv)],
         install_log, "python -m venv", version)
    site_packages = Path(sysconfig.get_path("purelib", scheme="venv",
                                            vars={"base": str(version.venv), "platbase": str(version.venv)}))
    (site_packages / "augurdb-server.pth").write_text("".join(f"{p}\n" for p in server_site_packages()))
    if version.requirements:
        pip = [sys.executable, "-m", "pip", "--python", version.python] if own_pip else [version.python, "-m", "pip"]
        _run([*pip, "install", "--disable-pip-version-check", "--no-input", "-r",
              str(version.directory / "requirements.txt")], install_log, "pip install", version)
    try:
        check_code(version, version.python, imports_may_fail=False)
    except WrongArguments as error:
        raise VenvFailed(f"[byom] the code of {version.label} does not load in its virtualenv: "
                         f"{error.message}") from None


def _run(command: list[str], install_log: Path, what: str, version: EngineVersion) -> None:
    with install_log.open("ab") as out:
        out.write(f"$ {' '.join(command)}\n".encode())
        out.flush()
        try:
            code = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=INSTALL_TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            code = None
    if code != 0:
        tail = "\n".join(install_log.read_text(errors="replace").strip().splitlines()[-12:])
        ended = f"exit code {code}" if code is not None else f"stopped after {INSTALL_TIMEOUT_S:.0f} s"
        raise VenvFailed(f"[byom] {what} failed for {version.label} ({ended}):\n{tail}")


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with (directory / "venv.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_status(directory: Path, status: str, error: str | None = None) -> None:
    partial = directory / "status.json.partial"
    partial.write_text(json.dumps({"status": status, **({"error": error} if error else {})}))
    os.replace(partial, directory / "status.json")


def _read_status(directory: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((directory / "status.json").read_text()))
    except FileNotFoundError:
        return {"status": "missing"}


def _shown_status(directory: Path) -> dict[str, Any]:
    status = _read_status(directory)
    if status["status"] == "installing" and not _lock_held(directory):
        return {"status": "interrupted", "error": "the build stopped with its process; the next CREATE MODEL "
                                                  "builds it again"}
    return status


def _lock_held(directory: Path) -> bool:
    with (directory / "venv.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False
