"""The `augurdb` command: serve, load, sql."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from augurdb.config import Settings


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

    load = commands.add_parser("load", help="upload a CSV, TSV, Parquet or JSON file as files.<name>")
    _data_dir_flag(load)
    load.add_argument("file", type=Path)
    load.add_argument("--name", help="table name (default: the file name without extension)")
    load.add_argument("--format", help="csv, tsv, parquet, json (default: from the file)")

    sql = commands.add_parser("sql", help="run SQL statements in-process and print the result")
    _data_dir_flag(sql)
    sql.add_argument("statement")

    export = commands.add_parser("export", help="write a model as an MLflow model (`mlflow models serve` serves it)")
    _data_dir_flag(export)
    export.add_argument("model", help="[project.]model[.version]")
    export.add_argument("directory", type=Path, help="a new directory for the MLflow model")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        settings = Settings.from_env(data_dir=args.data_dir, host=args.host, mysql_port=args.mysql_port,
                                     http_port=args.http_port, user=args.user, password=args.password)
        from augurdb.server.runner import serve as run_server

        asyncio.run(run_server(settings))
        return 0
    return _run_local(args)


def _data_dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="data directory (default ./augurdb_data; env AUGURDB_DATA_DIR)")


def _run_local(args: argparse.Namespace) -> int:
    from augurdb.errors import AugurError
    from augurdb.instance import Instance

    instance = Instance(Settings.from_env(data_dir=args.data_dir))
    try:
        if args.command == "load":
            record = instance.session().load_file(args.name or args.file.stem, args.file, args.format)
            print(f"loaded files.{record.name}: {record.row_count} rows, {len(record.columns)} columns")
            return 0
        if args.command == "export":
            return _export(instance, args.model, args.directory)
        result = instance.session().execute(args.statement)
        print(result.table.to_pandas().to_string(index=False) if result.table is not None
              else f"OK, {result.affected_rows} row(s) affected")
        return 0
    except AugurError as error:
        print(f"ERROR {error.code} ({error.sqlstate}): {error.message}", file=sys.stderr)
        return 1
    finally:
        instance.close()


def _export(instance: Any, name: str, directory: Path) -> int:
    from augurdb.instance import DEFAULT_PROJECT
    from augurdb.integrations.ml.mlflow_export import export
    from augurdb.jobs.training import model_dir

    parts = name.split(".")
    project, parts = (parts[0], parts[1:]) if len(parts) > 1 and not parts[1].isdigit() else (DEFAULT_PROJECT, parts)
    session = instance.session()
    record = session.model_version(project, parts[0], parts[1]) if len(parts) > 1 \
        else session.active_model(project, parts[0])
    export(record, model_dir(instance.data_dir, record.id or 0), directory)
    print(f"exported {record.qualified_name}.{record.version} to {directory}: "
          f"mlflow models serve -m {directory} --env-manager local")
    return 0


if __name__ == "__main__":
    sys.exit(main())
