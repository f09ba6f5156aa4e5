"""The docs name every statement, SHOW form, setting and flag the code accepts."""

from __future__ import annotations

import re
from pathlib import Path

from augurdb.config import Settings
from augurdb.executor.client_statements import SHOW_ANSWERS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_show_form_is_documented() -> None:
    text = (DOCS / "sql.md").read_text().upper()
    aliases = {"CHARACTER SET": "CHARSET", "INDEX": "SHOW INDEX"}
    for kind in SHOW_ANSWERS:
        assert aliases.get(kind, kind) in text, f"SHOW {kind} is not in docs/sql.md"


def test_every_statement_is_documented() -> None:
    from augurdb.executor.dispatch import run_statement

    text = (DOCS / "sql.md").read_text()
    headings = {"CreateModel": "CREATE MODEL", "Retrain": "RETRAIN", "DropModel": "DROP MODEL",
                "SetActive": "SET active", "CreateDatabase": "CREATE PROJECT", "DropDatabase": "DROP PROJECT",
                "DescribeModel": "DESCRIBE", "Describe": "DESCRIBE", "Use": "USE", "Drop": "DROP TABLE",
                "Set": "SET", "Show": "SHOW", "Transaction": "Transactions", "Commit": "Transactions",
                "Rollback": "Transactions", "Query": "Predictions", "AlterDatabase": "ALTER DATABASE",
                "Create": "CREATE TABLE / INSERT", "Insert": "CREATE TABLE / INSERT",
                "CreateMLEngine": "CREATE ML_ENGINE", "DropMLEngine": "CREATE ML_ENGINE",
                "ExportModel": "EXPORT MODEL", "Kill": "SHOW PROCESSLIST / KILL"}
    for statement_type in run_statement.registry:
        if statement_type is object:
            continue
        name = headings[statement_type.__name__]
        assert re.search(rf"^#+ {re.escape(name)}", text, re.MULTILINE), f"{statement_type.__name__} is not documented"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    for name in Settings.__dataclass_fields__:
        assert f"AUGURDB_{name.upper()}" in text, f"setting {name} is not in docs/cli.md"


def test_every_cli_command_is_documented() -> None:
    from augurdb import cli

    text = (DOCS / "cli.md").read_text()
    source = Path(cli.__file__).read_text()
    for command in re.findall(r'commands\.add_parser\("(\w+)"', source):
        assert f"## augurdb {command}" in text, f"augurdb {command} is not in docs/cli.md"
