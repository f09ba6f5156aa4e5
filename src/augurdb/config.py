"""One settings object: command-line flags > environment (AUGURDB_*) > defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def check_niceness(value: int) -> int:
    """A training worker's niceness: 0 (the server's priority) to 19 (the lowest)."""
    if not 0 <= value <= 19:
        raise ValueError(f"a training niceness is 0-19, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything a server or an embedded instance needs to start."""

    data_dir: Path = field(default_factory=lambda: Path("./augurdb_data"))
    host: str = "127.0.0.1"
    mysql_port: int = 47335
    http_port: int = 47334
    user: str | None = None
    password: str | None = None
    training_workers: int = 1
    # Local training workers run at this niceness (0-19): under load the scheduler serves
    # predictions first, and training takes every core the moment serving leaves it idle.
    training_nice: int = 10
    # Server processes sharing the two ports (server/process_group.py): about one core each.
    processes: int = 1
    # The catalog: a SQLite file (default <data_dir>/catalog.sqlite) or a postgresql:// URL that
    # several servers share (they must then share artifact_dir and secret_key too).
    catalog: str | None = None
    # Model files, training rows, uploaded files and code; default the data directory.
    artifact_dir: Path | None = None
    # Training runs as Ray tasks on this cluster (`ray start --head` prints it) instead of local processes.
    ray_address: str | None = None
    # On Ray, a model JOIN over an uploaded file of at least this many rows runs on Ray Data.
    ray_batch_min_rows: int = 1_000_000
    # A training run's lease: a run whose worker has not renewed it for this long is requeued.
    job_lease_seconds: float = 10.0
    secret_key: str | None = None  # a Fernet key for linked databases' parameters at rest
    # Where EXPORT MODEL may write (MySQL's secure_file_priv); default <data_dir>/exports.
    export_dir: Path | None = None
    # TLS on the MySQL protocol (server/tls.py): on by default with a self-signed pair.
    ssl: bool = True
    ssl_cert: Path | None = None
    ssl_key: Path | None = None
    http_tls: bool = False  # HTTPS with the same pair (off: http:// clients keep working)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then AUGURDB_<NAME> variables, then the overrides that are not None."""
        values: dict[str, object] = {}
        for f in fields(cls):
            env = os.environ.get(f"AUGURDB_{f.name.upper()}")
            if env is not None:
                values[f.name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("data_dir", "export_dir", "ssl_cert", "ssl_key", "artifact_dir"):
            if name in values:
                values[name] = Path(str(values[name]))
        for name in ("ssl", "http_tls"):
            if isinstance(values.get(name), str):
                values[name] = str(values[name]).strip().lower() not in ("0", "false", "no", "off")
        for name in ("mysql_port", "http_port", "training_workers", "training_nice", "ray_batch_min_rows",
                     "processes"):
            if name in values:
                values[name] = int(str(values[name]))
        if "job_lease_seconds" in values:
            values["job_lease_seconds"] = float(str(values["job_lease_seconds"]))
        return cls(**values)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        check_niceness(self.training_nice)  # AUGURDB_TRAINING_NICE as well as --training-nice

    @property
    def auth_required(self) -> bool:
        return self.password is not None

    def check_safe_to_serve(self) -> None:
        """A server reachable from other machines must not run without credentials."""
        if self.host not in LOOPBACK_HOSTS and not self.auth_required:
            raise SystemExit(
                f"refusing to listen on {self.host} without authentication: "
                "pass --user and --password (or AUGURDB_USER / AUGURDB_PASSWORD)"
            )
