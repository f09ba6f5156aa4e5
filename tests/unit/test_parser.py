"""The ML statements parse into typed nodes; bad SQL is error 1064 with a position."""

from __future__ import annotations

import pytest
from sqlglot import exp

from augurdb.errors import ParseError
from augurdb.sql import ast
from augurdb.sql.parser import parse


def test_create_model_with_everything() -> None:
    (node,) = parse("CREATE OR REPLACE PREDICTOR IF NOT EXISTS p.m FROM files (SELECT * FROM t WHERE (a) > 1) "
                    "PREDICT y USING engine = 'automl', time_budget = 10, dtype_dict = {\"a\": \"integer\"}, "
                    "mixers = ['Linear'], encoders.a.module = 'X', flag = true")
    assert isinstance(node, ast.CreateModel)
    assert (node.this.db, node.this.name) == ("p", "m")
    assert node.args["source"] == "files" and node.args["query"] == "SELECT * FROM t WHERE (a) > 1"
    assert node.args["targets"] == ["y"] and node.args["replace"] and node.args["exists"]
    assert node.args["using"] == {"engine": "automl", "time_budget": 10, "dtype_dict": {"a": "integer"},
                                  "mixers": ["Linear"], "encoders.a.module": "X", "flag": True}


def test_model_versions_and_management_statements() -> None:
    drop, active, retrain, select = parse("DROP MODEL IF EXISTS mindsdb.m.2; SET active m.3; "
                                          "RETRAIN m USING time_budget = 5; SELECT * FROM mindsdb.m.2 WHERE a = 1 "
                                          "USING confidence_level = 0.8")
    assert isinstance(drop, ast.DropModel) and drop.this.name == "2" and drop.args["exists"]
    assert isinstance(active, ast.SetActive) and (active.this.db, active.this.name) == ("m", "3")
    assert isinstance(retrain, ast.Retrain) and retrain.args["using"] == {"time_budget": 5}
    assert isinstance(select, exp.Select) and select.args["predict_using"] == {"confidence_level": 0.8}


def test_projects_and_databases() -> None:
    project, database, drop = parse("CREATE PROJECT p; CREATE DATABASE pg WITH ENGINE = 'postgres', "
                                    "PARAMETERS = {\"host\": \"h\"}; DROP PROJECT IF EXISTS p")
    assert isinstance(project, ast.CreateDatabase) and project.args["kind"] == "PROJECT"
    assert database.args["engine"] == "postgres" and database.args["parameters"] == {"host": "h"}
    assert isinstance(drop, ast.DropDatabase) and drop.args["exists"]


def test_syntax_errors_name_the_position() -> None:
    with pytest.raises(ParseError) as error:
        parse("SELECT * FORM t")
    assert error.value.code == 1064 and "line 1" in error.value.message
    with pytest.raises(ParseError):
        parse("CREATE MODEL m FROM files (SELECT 1")
    with pytest.raises(ParseError):
        parse("'\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\\")


@pytest.mark.parametrize("sql", ["SHOW FULL", "SHOW FULL "])
def test_a_cut_short_show_is_a_syntax_error(sql: str) -> None:
    """sqlglot reads past the last token here (an IndexError): the user gets 1064, not an internal error."""
    with pytest.raises(ParseError) as error:
        parse(sql)
    assert error.value.code == 1064 and "stops too soon" in error.value.message
