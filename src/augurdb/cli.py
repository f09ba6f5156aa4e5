"""The `augurdb` command: serve, load, sql, export, byom."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from augurdb.config import Settings, check_niceness


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="augurdb", description="augurdb: an AI SQL server")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the MySQL and HTTP servers")
    _data_dir_flag(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1; env AUGURDB_HOST)")
    serve.add_argument("--mysql-port", type=int, help="MySQL protocol port (default 47335; AUGURDB_MYSQL_PORT)")
    serve.add_argument("--http-port", type=int, help="HTTP port (default 47334; AUGURDB_HTTP_PORT)")
    serve.add_argument("--user", help="user name clients must log in with (AUGURDB_USER)")
    serve.add_argument("--password", help="password clients must log in with (AUGURDB_PASSWORD)")
    serve.add_argument("--ssl-cert", help="TLS certificate (PEM) for the MySQL protocol (AUGURDB_SSL_CERT; "
                                          "default: a self-signed pair made in the data directory)")
    serve.add_argument("--ssl-key", help="its private key (PEM) (AUGURDB_SSL_KEY)")
    serve.add_argument("--ray-address", help="train on this Ray cluster, e.g. 127.0.0.1:6379 (AUGURDB_RAY_ADDRESS; "
                                             "default: local worker processes)")
    serve.add_argument("--processes", type=int, help="server processes sharing the ports, about one core each "
                                                     "(default 1; AUGURDB_PROCESSES)")
    serve.add_argument("--training-workers", type=int, help="training runs at once from this server "
                                                            "(default 1; AUGURDB_TRAINING_WORKERS)")
    serve.add_argument("--training-nice", type=_niceness,
                       help="niceness of local training workers, 0-19: predictions get the CPU first "
                            "(default 10; 0 trains at the server's priority; AUGURDB_TRAINING_NICE)")

    load = commands.add_parser("load", help="upload a CSV, TSV, Parquet or JSON file as files.<name>")
    _data_dir_flag(load)
    load.add_argument("file", type=Path)
    load.add_argument("--name", help="table name (default: the file name without extension)")
    load.add_argument("--format", help="csv, tsv, parquet, json (default: from the file)")
    load.add_argument("--replace", action="store_true", help="replace files.<name> if it exists (default: an error)")
    load.add_argument("--types", help="column types of a CSV, e.g. zip=text,price=float (default: inferred "
                                      "where no value changes)")

    sql = commands.add_parser("sql", help="run SQL statements in-process and print the result "
                                          "(a CREATE MODEL waits until training ends)")
    _data_dir_flag(sql)
    sql.add_argument("statement")

    export = commands.add_parser("export", help="write a model as an MLflow model (`mlflow models serve` serves it)")
    _data_dir_flag(export)
    export.add_argument("model", help="[project.]model[.version]")
    export.add_argument("directory", type=Path, help="a new directory for the MLflow model")

    byom = commands.add_parser("byom", help="Python code as an ML engine, uploaded to a running server")
    actions = byom.add_subparsers(dest="action", required=True)
    upload = actions.add_parser("upload", help="make the engine NAME from code (or upload its next version)")
    upload.add_argument("name")
    upload.add_argument("code", type=Path, help="the .py file defining a class with train and predict")
    upload.add_argument("--requirements", type=Path, help="a requirements.txt installed into its virtualenv")
    upload.add_argument("--type", choices=("venv", "inhouse"),
                        help="venv (default for a new engine) or inhouse (the server's own Python)")
    upload.add_argument("--url", help="the server's HTTP address (default http://127.0.0.1:<AUGURDB_HTTP_PORT>)")

    args = parser.parse_args(argv)
    if args.command == "byom":
        return _byom_upload(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        settings = Settings.from_env(host=args.host, mysql_port=args.mysql_port,
                                     http_port=args.http_port, user=args.user, password=args.password,
                                     ssl_cert=args.ssl_cert, ssl_key=args.ssl_key, ray_address=args.ray_address,
                                     training_workers=args.training_workers, processes=args.processes,
                                     training_nice=args.training_nice, **_store_flags(args))
        from augurdb.server.runner import serve as run_server

        _mask_password_in_process_title()
        asyncio.run(run_server(settings))
        return 0
    return _run_local(args)


def _mask_password_in_process_title() -> None:
    """`ps` shows every process's arguments to every user: a password given as `--password`
    is replaced by ****** there (AUGURDB_PASSWORD is not shown at all)."""
    args, masked, hide_next = sys.argv, [], False
    for arg in args:
        if hide_next:
            arg, hide_next = "******", False
        elif arg == "--password":
            hide_next = True
        elif arg.startswith("--password="):
            arg = "--password=******"
        masked.append(arg)
    if masked != args:
        import setproctitle

        setproctitle.setproctitle(" ".join(["augurdb", *masked[1:]]))


def _niceness(text: str) -> int:
    try:
        return check_niceness(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a training niceness is 0-19, not {text!r}") from None


def _data_dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="data directory (default ./augurdb_data; env AUGURDB_DATA_DIR)")
    parser.add_argument("--catalog", help="the catalog: a SQLite file or a postgresql:// URL shared by several "
                                          "servers (default <data-dir>/catalog.sqlite; AUGURDB_CATALOG)")
    parser.add_argument("--artifact-dir", help="model files, training rows, uploads; a directory servers on one "
                                               "catalog share (default the data directory; AUGURDB_ARTIFACT_DIR)")


def _store_flags(args: argparse.Namespace) -> dict[str, Any]:
    return {"data_dir": args.data_dir, "catalog": args.catalog, "artifact_dir": args.artifact_dir}


def _run_local(args: argparse.Namespace) -> int:
    from augurdb.errors import AugurError
    from augurdb.instance import Instance

    try:
        instance = Instance(Settings.from_env(**_store_flags(args)))
    except AugurError as error:  # the catalog cannot be opened
        print(f"ERROR {error.code} ({error.sqlstate}): {error.message}", file=sys.stderr)
        return 1
    try:
        if args.command == "load":
            if not args.file.is_file():
                print(f"ERROR: no such file: {args.file}", file=sys.stderr)
                return 1
            from augurdb.integrations.data.csv_types import parse_types

            record = instance.session().load_file(args.name or args.file.stem, args.file, args.format,
                                                  replace=args.replace, types=parse_types(args.types))
            print(f"loaded files.{record.name}: {record.row_count} rows, {len(record.columns)} columns")
            return 0
        if args.command == "export":
            return _export(instance, args.model, args.directory)
        result = instance.session().execute(args.statement)
        print(result.table.to_pandas().to_string(index=False) if result.table is not None
              else f"OK, {result.affected_rows} row(s) affected")
        return _wait_for_training(instance)
    except AugurError as error:
        print(f"ERROR {error.code} ({error.sqlstate}): {error.message}", file=sys.stderr)
        return 1
    finally:
        instance.close()


def _wait_for_training(instance: Any) -> int:
    """Wait for the trainings the statement started: the process that runs them ends with this
    command, and a model left half-trained would be an error. 1 if one of them failed."""
    model_ids = instance.jobs.pending()
    if not model_ids:
        return 0
    names = ", ".join(f"{m.qualified_name} (version {m.version})" for m in map(instance.catalog.model, model_ids) if m)
    print(f"waiting for {names} to train (Ctrl-C stops waiting; an unfinished run goes back to the queue)...", file=sys.stderr, flush=True)
    shown: dict[int, str] = {}
    while instance.jobs.pending():
        for model in filter(None, map(instance.catalog.model, model_ids)):
            line = f"{model.qualified_name} (version {model.version}): {model.status}"
            if model.current_phase:
                line += f", phase {model.current_phase}/{model.total_phases} {model.phase_name}"
            if shown.get(model.id) != line and model.status != "complete":
                print(line, file=sys.stderr, flush=True)
                shown[model.id] = line
        time.sleep(1.0)
    finished = [m for m in map(instance.catalog.model, model_ids) if m is not None]
    for model in finished:
        print(f"{model.qualified_name} (version {model.version}): {model.status}"
              + (f": {model.error}" if model.error else ""), file=sys.stderr)
    return 0 if all(m.status == "complete" for m in finished) else 1


def _export(instance: Any, name: str, directory: Path) -> int:
    from augurdb.executor.export import export_model
    from augurdb.instance import DEFAULT_PROJECT

    parts = name.split(".")
    project, parts = (parts[0], parts[1:]) if len(parts) > 1 and not parts[1].isdigit() else (DEFAULT_PROJECT, parts)
    session = instance.session()
    record = session.model_version(project, parts[0], parts[1]) if len(parts) > 1 \
        else session.active_model(project, parts[0])
    export_model(session, record, directory)
    print(f"exported {record.qualified_name}.{record.version} to {directory}: "
          f"mlflow models serve -m {directory} --env-manager local")
    return 0


def _byom_upload(args: argparse.Namespace) -> int:
    """PUT the code as a new engine; when the name is taken, POST it as the engine's next version.
    Over HTTP: the server owns the data directory and its running jobs."""
    import base64
    import json
    import urllib.error
    import urllib.request

    settings = Settings.from_env()
    base = (args.url or f"http://127.0.0.1:{settings.http_port}").rstrip("/")
    url = f"{base}/api/handlers/byom/{args.name}"
    fields: dict[str, tuple[str | None, bytes]] = {"code": (args.code.name, args.code.read_bytes())}
    if args.requirements:
        fields["modules"] = ("requirements.txt", args.requirements.read_bytes())
    if args.type:
        fields["type"] = (None, args.type.encode())
    body, content_type = _multipart(fields)
    headers = {"Content-Type": content_type}
    if settings.password is not None:
        credentials = f"{settings.user or ''}:{settings.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
    for method in ("PUT", "POST"):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, body, headers, method=method),
                                        timeout=600) as response:
                answer = json.loads(response.read())
            break
        except urllib.error.HTTPError as error:
            if error.code == 409 and method == "PUT":
                continue
            text = error.read().decode("utf-8", "replace")
            try:
                detail = json.loads(text)
                text = f"{detail['error_code']}: {detail['error_message']}"
            except (ValueError, KeyError, TypeError):
                text = f"HTTP {error.code}: {text}"
            print(f"ERROR {text}", file=sys.stderr)
            return 1
        except urllib.error.URLError as error:
            print(f"ERROR: no augurdb server answers at {base} ({error.reason}): start it with `augurdb serve`",
                  file=sys.stderr)
            return 1
    print(f"ML engine {answer['name']} version {answer['last_engine_version']} ({answer['type']}): "
          f"{answer['status']}; versions {answer['engine_versions']}")
    return 0


def _multipart(fields: dict[str, tuple[str | None, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body: name -> (file name or None for a plain field, bytes)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, (filename, data) in fields.items():
        disposition = f'form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename.replace(chr(34), "")}"'
        parts.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


if __name__ == "__main__":
    sys.exit(main())
