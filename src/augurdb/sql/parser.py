"""Parse augurdb SQL: sqlglot's MySQL dialect, extended with MindsDB's ML statements.

The extension follows sqlglot's own dialects: new SHOW forms are merged into
SHOW_PARSERS, new statements hook the statement dispatch, and plain SQL is left to
sqlglot untouched.
"""

from __future__ import annotations

import ast as pyast
import json
from typing import Any

from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import ErrorLevel, TokenError
from sqlglot.errors import ParseError as SqlglotParseError
from sqlglot.generators.duckdb import DuckDBGenerator
from sqlglot.parsers.mysql import MySQLParser, _show_parser
from sqlglot.tokens import Token, TokenType
from sqlglot.trie import new_trie

from augurdb.errors import ParseError
from augurdb.sql import ast
from augurdb.sql.casts import quoted_as_double
from augurdb.sql.nesting import check_text_nesting, check_token_nesting
from augurdb.sql.value_lists import put_value_lists, take_value_lists

_CLOSERS = {TokenType.L_PAREN: TokenType.R_PAREN, TokenType.L_BRACE: TokenType.R_BRACE,
            TokenType.L_BRACKET: TokenType.R_BRACKET}


class AugurParser(MySQLParser):
    """MySQL's parser plus CREATE MODEL, RETRAIN, DROP MODEL, SET active, projects and predict-time USING."""

    SHOW_PARSERS = {
        **MySQLParser.SHOW_PARSERS,
        "MODELS": _show_parser("MODELS"),
        "PREDICTORS": _show_parser("MODELS"),
        "PROJECTS": _show_parser("PROJECTS"),
        "FULL DATABASES": _show_parser("DATABASES", full=True),
        "ML_ENGINES": _show_parser("ML_ENGINES"),
        "HANDLERS": _show_parser("HANDLERS"),
        "KEYS": _show_parser("INDEX", target="FROM"),
        "INDEXES": _show_parser("INDEX", target="FROM"),
        "FULL FIELDS": _show_parser("COLUMNS", target="FROM", full=True),
        "FIELDS": _show_parser("COLUMNS", target="FROM"),
        # SHOW [FULL] TABLES FROM db.schema: a linked database's schema
        "TABLES": lambda self: self._parse_show_dotted("TABLES"),
        "FULL TABLES": lambda self: self._parse_show_dotted("TABLES", full=True),
    }
    SHOW_TRIE = new_trie(key.split(" ") for key in SHOW_PARSERS)

    _dotted_names = False

    def _parse_show_dotted(self, this: str, full: bool | None = None) -> exp.Show:
        self._dotted_names = True
        try:
            return self._parse_show_mysql(this, full=full)
        finally:
            self._dotted_names = False

    def _parse_id_var(self, any_token: bool = True, tokens: Any = None) -> exp.Expr | None:
        identifier = super()._parse_id_var(any_token=any_token, tokens=tokens)
        while self._dotted_names and identifier is not None and self._match(TokenType.DOT):
            part = super()._parse_id_var(any_token=any_token, tokens=tokens)
            if part is None:
                self.raise_error("Expected a name after '.'")
                break
            identifier = exp.Identifier(this=f"{identifier.name}.{part.name}", quoted=identifier.args.get("quoted"))
        return identifier

    # --- statement dispatch -------------------------------------------------

    def _parse_statement(self) -> exp.Expr | None:
        word = self._curr.text.upper() if self._curr else ""
        if word in ("RETRAIN", "FINETUNE") and self._curr.token_type == TokenType.VAR:
            self._advance()
            return self._parse_retrain()
        if word == "EXPORT" and self._next and self._next.text.upper() in ("MODEL", "PREDICTOR"):
            self._advance(2)
            name = self._parse_model_name()
            if not self._match_text_seq("TO") or not self._curr or self._curr.token_type != TokenType.STRING:
                self.raise_error("Expected TO '<directory>' in EXPORT MODEL")
            path = self._curr.text
            self._advance()
            return ast.ExportModel(this=name, path=path)
        if self._curr and self._curr.token_type in (TokenType.DESCRIBE,) or word == "EXPLAIN":
            if self._next and self._next.text.upper() in ("MODEL", "PREDICTOR"):
                self._advance(2)
                return self._parse_describe_model()
        cut = self._predict_using_index()
        if cut is None:
            return super()._parse_statement()
        # Parse the query without its trailing USING, so JOIN m USING k = v is not read as JOIN ... USING (cols).
        tokens = self._tokens
        self._tokens, self._tokens_size = tokens[:cut], cut
        statement = super()._parse_statement()
        if self._index < cut:
            self.raise_error("Invalid expression / Unexpected token")
        self._tokens, self._tokens_size = tokens, len(tokens)
        self._index = cut
        self._advance(0)
        self._match(TokenType.USING)
        if statement is not None:
            statement.set("predict_using", self._parse_using_pairs())
        return statement

    def _predict_using_index(self) -> int | None:
        """Where `USING key = value` begins after a SELECT (predict-time options), if it does."""
        tokens = self._tokens[self._index:]
        if not tokens or tokens[0].token_type not in (TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN):
            return None
        depth = 0
        for offset, token in enumerate(tokens):
            if token.token_type == TokenType.L_PAREN:
                depth += 1
            elif token.token_type == TokenType.R_PAREN:
                depth -= 1
            elif (depth == 0 and token.token_type == TokenType.USING and offset + 2 < len(tokens)
                  and tokens[offset + 1].token_type != TokenType.L_PAREN
                  and tokens[offset + 2].token_type in (TokenType.EQ, TokenType.DOT)):
                return self._index + offset
        return None

    def _parse_create(self) -> exp.Expr:  # type: ignore[override]  # also ML nodes
        start = self._index
        replace = self._match_pair(TokenType.OR, TokenType.REPLACE)
        word = self._curr.text.upper() if self._curr else ""
        if word in ("MODEL", "PREDICTOR"):
            self._advance()
            return self._parse_create_model(bool(replace))
        if word in ("PROJECT", "DATABASE", "SCHEMA"):
            self._advance()
            return self._parse_create_database(word, bool(replace))
        if word == "ML_ENGINE":
            self._advance()
            exists = self._parse_exists(not_=True)
            name = self._name(any_token=False)
            if not self._match(TokenType.FROM):
                self.raise_error("Expected FROM <handler> in CREATE ML_ENGINE")
            node = ast.CreateMLEngine(this=name, handler=self._name(), exists=exists, replace=bool(replace),
                                      using={})
            if self._match(TokenType.USING):
                node.set("using", self._parse_using_pairs())
            return node
        self._retreat(start)
        return super()._parse_create()

    def _parse_table(self, *args: Any, **kwargs: Any) -> exp.Expr | None:  # type: ignore[override]
        native = self._parse_native_query()
        return native if native is not None else super()._parse_table(*args, **kwargs)

    def _parse_native_query(self) -> ast.NativeQuery | None:
        """`db (SELECT ...)`: the text between the brackets is kept as written, for the source to parse."""
        if not (self._curr and self._next and self._curr.token_type in (TokenType.VAR, TokenType.IDENTIFIER)
                and self._next.token_type == TokenType.L_PAREN):
            return None
        inner = self._tokens[self._index + 2] if self._index + 2 < len(self._tokens) else None
        if inner is None or inner.token_type not in (TokenType.SELECT, TokenType.WITH):
            return None
        database = exp.to_identifier(self._curr.text, quoted=self._curr.token_type == TokenType.IDENTIFIER)
        self._advance()
        text = self._consume_balanced_text()[1:-1].strip()
        return ast.NativeQuery(this=database, query=text, alias=self._parse_table_alias())

    def _parse_alter(self) -> exp.Expr:  # type: ignore[override]
        start = self._index
        word = self._curr.text.upper() if self._curr else ""
        if word in ("DATABASE", "SCHEMA"):
            self._advance()
            node = ast.AlterDatabase(this=self._name(any_token=False))
            self._parse_engine_and_parameters(node, f"ALTER {word}")
            return node
        self._retreat(start)
        return super()._parse_alter()

    def _parse_drop(self, exists: bool = False, kind: str | None = None) -> exp.Expr:  # type: ignore[override]
        word = self._curr.text.upper() if self._curr else ""
        if word in ("MODEL", "PREDICTOR"):
            self._advance()
            return ast.DropModel(exists=self._parse_exists(), this=self._parse_model_name())
        if word in ("PROJECT", "DATABASE", "SCHEMA"):
            self._advance()
            if_exists = self._parse_exists()
            return ast.DropDatabase(this=self._name(any_token=False), kind=word, exists=if_exists)
        if word == "ML_ENGINE":
            self._advance()
            if_exists = self._parse_exists()
            return ast.DropMLEngine(this=self._name(any_token=False), exists=if_exists)
        return super()._parse_drop(exists=exists, kind=kind)

    def _parse_set(self, unset: bool = False, tag: bool = False) -> exp.Expr:  # type: ignore[override]
        if self._curr and self._curr.text.upper() == "ACTIVE" and self._next and self._next.token_type != TokenType.EQ:
            self._advance()
            return ast.SetActive(this=self._parse_model_name())
        return super()._parse_set(unset=unset, tag=tag)

    def _name(self, any_token: bool = True) -> str:
        """The next identifier's name; a syntax error when there is none."""
        identifier = self._parse_id_var(any_token=any_token)
        if identifier is None:
            self.raise_error("Expected a name")
            return ""
        return identifier.name

    def _integer(self) -> int:
        number = self._parse_number()
        if number is None or not number.name.isdigit():
            self.raise_error("Expected a whole number")
            return 0
        return int(number.name)

    # --- the ML statements --------------------------------------------------

    def _parse_create_model(self, replace: bool) -> ast.CreateModel:
        exists = self._parse_exists(not_=True)
        name = self._parse_model_name()
        source, query = self._parse_training_source()
        if not self._match_text_seq("PREDICT"):
            self.raise_error("Expected PREDICT <column>")
        targets = self._parse_csv(self._parse_target)
        node = ast.CreateModel(this=name, replace=replace, exists=exists, source=source, query=query,
                               targets=targets, using={})
        self._parse_model_suffixes(node)
        return node

    def _parse_retrain(self) -> ast.Retrain:
        self._match_text_seq("MODEL")
        name = self._parse_model_name()
        source, query = self._parse_training_source()
        targets = self._parse_csv(self._parse_target) if self._match_text_seq("PREDICT") else []
        node = ast.Retrain(this=name, source=source, query=query, targets=targets, using={})
        if self._match(TokenType.USING):
            node.set("using", self._parse_using_pairs())
        return node

    def _parse_model_suffixes(self, node: ast.CreateModel) -> None:
        """ORDER BY, GROUP BY, WINDOW, HORIZON and USING, in any order (as MindsDB accepts them)."""
        while self._curr:
            if self._match(TokenType.ORDER_BY):
                node.set("order_by", [self._name()])
            elif self._match(TokenType.GROUP_BY):
                node.set("group_by", self._parse_csv(self._name))
            elif self._match_text_seq("WINDOW"):
                node.set("window", self._integer())
            elif self._match_text_seq("HORIZON"):
                node.set("horizon", self._integer())
            elif self._match(TokenType.USING):
                node.set("using", self._parse_using_pairs())
            else:
                return

    def _parse_training_source(self) -> tuple[str | None, str | None]:
        if not self._match(TokenType.FROM):
            return None, None
        source = None
        if not (self._curr and self._curr.token_type == TokenType.L_PAREN):
            source = self._name()
        if not (self._curr and self._curr.token_type == TokenType.L_PAREN):
            self.raise_error("Expected a parenthesised query after FROM")
        return source, self._consume_balanced_text()[1:-1].strip()

    def _parse_target(self) -> str:
        column = self._parse_column()
        if self._match(TokenType.ALIAS):
            self._parse_id_var()
        if not isinstance(column, exp.Column):
            self.raise_error("Expected a column name after PREDICT")
            return ""
        return column.name

    def _parse_create_database(self, kind: str, replace: bool) -> ast.CreateDatabase:
        exists = self._parse_exists(not_=True)
        node = ast.CreateDatabase(this=self._name(any_token=False), kind=kind, exists=exists, replace=replace)
        self._parse_engine_and_parameters(node, f"CREATE {kind}")
        return node

    def _parse_engine_and_parameters(self, node: exp.Expr, statement: str) -> None:
        """[WITH|USING] ENGINE = '...' [,] PARAMETERS = {...}, in either order."""
        self._match(TokenType.WITH)
        self._match(TokenType.USING)
        while self._curr and self._curr.token_type != TokenType.SEMICOLON:
            key = self._curr.text.upper()
            self._advance()
            self._match(TokenType.EQ)
            if key == "ENGINE":
                node.set("engine", str(self._parse_using_value()))
            elif key == "PARAMETERS":
                parameters = self._parse_using_value()
                if not isinstance(parameters, dict):
                    self.raise_error(f"PARAMETERS in {statement} must be a JSON object {{\"key\": value, ...}}")
                node.set("parameters", parameters)
            else:
                self.raise_error(f"Unexpected '{key}' in {statement}: expected ENGINE or PARAMETERS")
            self._match(TokenType.COMMA)

    def _parse_describe_model(self) -> ast.DescribeModel:
        parts = [self._name()]
        while self._match(TokenType.DOT):
            parts.append(self._advance_any().text if self._curr else "")  # type: ignore[union-attr]
        return ast.DescribeModel(this=".".join(parts), parts=parts)

    def _parse_model_name(self) -> exp.Table:
        """[project.]name[.version], where a version is a bare integer."""
        parts = [self._name()]
        while self._match(TokenType.DOT):
            token = self._advance_any()
            parts.append(token.text if token else "")
        if len(parts) > 3:
            self.raise_error("A model name is [project.]name[.version]")
        return exp.to_table(".".join(exp.to_identifier(p).sql("mysql") for p in parts), dialect="mysql")

    # --- USING k = v, ... ---------------------------------------------------

    def _parse_using_pairs(self) -> dict[str, Any]:
        pairs: dict[str, Any] = {}
        while True:
            key_parts = [self._name()]
            while self._match(TokenType.DOT):
                key_parts.append(self._name())
            if not self._match(TokenType.EQ):
                self.raise_error("Expected '=' in USING key = value")
            pairs[".".join(key_parts).lower()] = self._parse_using_value()
            if not self._match(TokenType.COMMA):
                return pairs

    def _parse_using_value(self) -> Any:
        if self._curr and self._curr.token_type in (TokenType.L_BRACE, TokenType.L_BRACKET):
            text = self._consume_balanced_text()
            try:
                return json.loads(text)
            except json.JSONDecodeError as error:
                try:  # ['a', 'b'] and {'k': 1}: SQL's single quotes, as MindsDB users write them
                    return pyast.literal_eval(text)
                except (ValueError, SyntaxError):
                    self.raise_error(f"Invalid JSON value {text!r}: {error}")
        value = self._parse_bitwise()
        return literal_value(value)

    def _consume_balanced_text(self) -> str:
        """The raw SQL text from the current opening bracket to its match, inclusive."""
        opener = self._curr
        closer = _CLOSERS[opener.token_type]
        depth = 0
        while self._curr:
            if self._curr.token_type == opener.token_type:
                depth += 1
            elif self._curr.token_type == closer:
                depth -= 1
                if depth == 0:
                    end = self._curr
                    self._advance()
                    return self.sql[opener.start:end.end + 1]
            self._advance()
        self.raise_error("Unbalanced brackets")
        return ""


def number_value(text: str) -> int | float:
    """A numeric literal's value. An integer past BIGINT, which no column type holds (MySQL reads it
    as DECIMAL), is a double, as Arrow and the models take it."""
    if any(c in text for c in ".eE"):
        return float(text)
    number = int(text)
    return number if -(2**63) <= number < 2**64 else float(number)


def literal_value(value: exp.Expr | None) -> Any:
    """A Python value for a literal-ish SQL expression (USING values, WHERE constants)."""
    if value is None or isinstance(value, exp.Null):
        return None
    if isinstance(value, exp.Boolean):
        return bool(value.this)
    if isinstance(value, exp.Literal):
        if value.is_string:
            return value.this
        return number_value(value.this)
    if isinstance(value, exp.Neg):
        inner = literal_value(value.this)
        if isinstance(inner, int) and inner > 2**63:
            return -float(inner)  # past BIGINT, as number_value reads it
        if isinstance(inner, int | float):
            return -inner
    if isinstance(value, exp.Column | exp.Identifier | exp.Var):
        return value.sql("mysql").replace("`", "")
    if isinstance(value, exp.Paren):
        return literal_value(value.this)
    raise ParseError(f"Expected a constant value, got {value.sql('mysql')!r}")


class AugurDialect(MySQL):
    """The dialect of augurdb's SQL surface."""

    class Parser(AugurParser):
        pass


def _version_numbers_as_names(tokens: list[Token]) -> list[Token]:
    """`project.model.2` names version 2 of a model: let the table parser see `2` as a name."""
    for i in range(2, len(tokens)):
        token = tokens[i]
        if (token.token_type == TokenType.NUMBER and token.text.isdigit()
                and tokens[i - 1].token_type == TokenType.DOT
                and tokens[i - 2].token_type in (TokenType.VAR, TokenType.IDENTIFIER)):
            token.token_type = TokenType.VAR
    return tokens


def parse(sql: str, value_lists: bool = True) -> list[exp.Expr]:
    """Parse one or more statements; raises ParseError (1064) with the position on failure.
    Long IN lists of literals become one node each (value_lists.py)."""
    dialect = AugurDialect()
    text, lists = take_value_lists(sql) if value_lists else (sql, {})
    if lists:
        try:
            return [put_value_lists(s, lists) for s in parse(text, value_lists=False)]
        except ParseError:
            return parse(sql, value_lists=False)  # the error, placed in the statement as written
    try:
        check_text_nesting(sql)  # before tokenizing: that alone takes seconds on a huge expression
        tokens = _version_numbers_as_names(dialect.tokenize(sql))
        check_token_nesting(tokens)
        parser = AugurParser(error_level=ErrorLevel.IMMEDIATE, dialect=dialect)
        statements = [s for s in parser.parse(tokens, sql) if s is not None]
    except SqlglotParseError as error:
        raise ParseError(_syntax_message(sql, error)) from None
    except TokenError as error:
        raise ParseError(f"You have an error in your SQL syntax: {error}") from None
    except IndexError:  # sqlglot reads past the last token of a cut-short statement ("SHOW FULL")
        raise ParseError(f"You have an error in your SQL syntax near '{_snippet(sql.strip()[-40:])}' at the "
                         "end of the statement: it stops too soon") from None
    for statement in statements:
        if isinstance(statement, exp.Command):
            raise ParseError(f"You have an error in your SQL syntax near '{_snippet(statement.sql('mysql'))}' "
                             "at line 1: this statement is not supported")
    return statements


def _syntax_message(sql: str, error: SqlglotParseError) -> str:
    detail = error.errors[0] if error.errors else {}
    line, col = detail.get("line", 1), detail.get("col", 1)
    description = detail.get("description") or str(error)
    description = description.split(". Line ")[0]
    highlight = detail.get("highlight") or ""
    # col points at the last character of the offending token
    offset = _offset_of(sql, line, col) - len(highlight) + 1
    near = _snippet(sql[max(offset, 0):])
    return (f"You have an error in your SQL syntax; {description} near '{near}' "
            f"at line {line}, column {col}")


def _offset_of(sql: str, line: int, col: int) -> int:
    lines = sql.split("\n")
    return sum(len(x) + 1 for x in lines[: max(line - 1, 0)]) + max(col - 1, 0)


def _snippet(text: str, size: int = 80) -> str:
    return text[:size].replace("\n", " ")


def _text_argument(name: str) -> Any:
    return lambda generator, node: generator.func(name, exp.cast(node.this, exp.DataType.Type.TEXT))


# DIV is left out: DuckDB's integer division of a DOUBLE is not integral, and `7 DIV '2'` is 3 as it is.
_ARITHMETIC: dict[type[exp.Expr], str] = {exp.Add: "add_sql", exp.Sub: "sub_sql", exp.Mul: "mul_sql",
                                           exp.Div: "div_sql", exp.Mod: "mod_sql"}


def _quoted_operands_as_in_mysql(kind: type[exp.Expr]) -> Any:
    """MySQL computes arithmetic on a quoted number as DOUBLE (`2 - '1.5'` is 0.5); DuckDB casts the
    text to the other side's type (`2 - '1.5'` is 0, as '1.5' becomes the integer 2) or cannot
    choose (`1 + '2'`). A quoted operand becomes the DOUBLE MySQL reads from it, its leading
    number (`'abc' + 1` is 1, `'2x' * 2` is 4; casts.truncation_warnings warns). Beside an
    INTERVAL a quoted value is a date or time (`'2024-01-01' + INTERVAL 1 DAY`, as DATE_ADD reads
    it; NULL when it is none, as in MySQL)."""
    original = getattr(DuckDBGenerator, _ARITHMETIC[kind])

    def generate(generator: Any, node: exp.Expr) -> str:
        for side, other in (("this", "expression"), ("expression", "this")):
            operand = _interval_first_date(node.args.get(side), node.args.get(other))
            if isinstance(operand, exp.Literal) and operand.is_string:
                if isinstance(node.args.get(other), exp.Interval):
                    node.set(side, exp.TryCast(this=operand, to=exp.DataType.build("TIMESTAMP")))
                else:
                    node.set(side, quoted_as_double(operand))
        return original(generator, node)

    return generate


def _interval_first_date(operand: exp.Expr | None, other: exp.Expr | None) -> exp.Expr | None:
    """sqlglot reads `INTERVAL 1 DAY + '2024-01-01'` as a sum of two intervals, the second with
    no unit; MySQL's INTERVAL always has one, so that quoted value is the date being added to."""
    if (isinstance(operand, exp.Interval) and operand.args.get("unit") is None and isinstance(other, exp.Interval)
            and isinstance(operand.this, exp.Literal) and operand.this.is_string
            and not any(c.isalpha() for c in operand.this.name)):  # '2 hours' is an interval's own text
        return operand.this
    return operand


class LocalDuckDB(DuckDB):
    """DuckDB as the local engine runs MySQL's SQL: UPPER and LOWER take any value and answer
    text, as in MySQL (JDBC's getColumns runs UPPER(CASE ... THEN 10 ... END)); arithmetic on
    quoted numbers is in DOUBLE."""

    class Generator(DuckDBGenerator):
        TRANSFORMS = {**DuckDBGenerator.TRANSFORMS, exp.Upper: _text_argument("UPPER"),
                      exp.Lower: _text_argument("LOWER"),
                      **{kind: _quoted_operands_as_in_mysql(kind) for kind in _ARITHMETIC}}


def to_duckdb(expression: exp.Expr, copy: bool = True) -> str:
    """Render a (rewritten) statement for DuckDB, the local query engine. ``copy=False`` for a
    tree nothing reads afterwards: the generator may rewrite it, and copying a large tree (an IN
    list of 100k values) costs more than generating it."""
    return expression.sql(dialect=LocalDuckDB, copy=copy)


__all__ = ["parse", "literal_value", "to_duckdb", "AugurDialect"]
