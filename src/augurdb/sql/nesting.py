"""Refusing expressions nested past DuckDB's limit before they cost seconds to parse.

DuckDB refuses expressions nested deeper than 1,000; sqlglot would first spend seconds (and hold
other connections) building, copying and rendering such a tree. Chains of arithmetic and bit
operators (1+1+...+1) and parentheses deeper than this are refused before parsing. AND/OR chains
are not: DuckDB flattens them, and generated WHERE clauses of thousands of ORs run.

Two checks: on the tokens (exact, what every statement goes through) and, for long statements,
on the text itself before tokenizing, since sqlglot's tokenizer alone takes 4 s on a 700 KB
`SELECT 1+1+...` and holds the interpreter from other connections meanwhile. The text check is
built from C-speed passes (regular expressions, numpy) and only refuses what the token check
would refuse: it counts a chain only where no parenthesis interrupts it.
"""

from __future__ import annotations

import re

import numpy as np
from sqlglot.tokens import Token, TokenType

from augurdb.errors import ParseError

MAX_NESTING = 1000
# Shorter statements tokenize in milliseconds: the token check alone is quicker than both.
TEXT_CHECK_FROM = 20_000  # characters

_OPERATORS = frozenset({TokenType.PLUS, TokenType.DASH, TokenType.STAR, TokenType.SLASH, TokenType.MOD,
                        TokenType.AMP, TokenType.PIPE, TokenType.CARET, TokenType.DIV})
_CHAIN_BREAKS = frozenset({TokenType.COMMA, TokenType.SELECT, TokenType.FROM, TokenType.WHERE, TokenType.THEN,
                           TokenType.WHEN, TokenType.ELSE, TokenType.END, TokenType.SEMICOLON})

# Text that holds operator characters without being operators: strings, quoted names, comments,
# two-character operators outside the chain set (||, &&, ->, ->>) and an exponent's sign (1e-5).
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|--[^\n]*|#[^\n]*|/\*.*?\*/", re.S)
_NOT_OPERATORS = re.compile(r"(?=[|&\-eE])(?:\|\||&&|->>?|(?<=[0-9.])[eE][-+](?=[0-9]))")
# The chain breaks of the token check, as text (lower-cased first); each becomes a comma. The
# lookahead lets the engine skip most positions at once: 19 ms on 700 KB instead of 142.
_BREAK_WORDS = re.compile(r"(?=[sfwte;])(?:\b(?:select|from|where|then|when|else|end)\b|;)")
_OPERATOR_CHARS = "+-*/%&|^"
_OPERATOR_BYTES = np.frombuffer(_OPERATOR_CHARS.encode(), dtype=np.uint8)


def _refuse(where: str) -> ParseError:
    return ParseError(f"This statement nests an expression deeper than {MAX_NESTING:,} levels (operators in a row "
                      f"or parentheses{where}); split it, or give long lists of values as an IN list")


def check_token_nesting(tokens: list[Token]) -> None:
    """ParseError for an expression nested deeper than MAX_NESTING (operators or parentheses)."""
    chains = [0]  # operators chained so far, per open parenthesis
    for token in tokens:
        kind = token.token_type
        if kind in _OPERATORS:
            chains[-1] += 1
            if chains[-1] > MAX_NESTING:
                break
        elif kind == TokenType.L_PAREN:
            chains.append(0)
            if len(chains) > MAX_NESTING:
                break
        elif kind == TokenType.R_PAREN:
            if len(chains) > 1:
                chains.pop()
        elif kind in _CHAIN_BREAKS:
            chains[-1] = 0
    else:
        return
    raise _refuse(f", near line {token.line}")


def check_text_nesting(sql: str) -> None:
    """ParseError for a long statement that the token check would refuse, found without
    tokenizing: parentheses open deeper than MAX_NESTING, or more operators than that in a run
    of text with no comma, clause keyword or parenthesis in it. Anything else is left to the
    token check."""
    if len(sql) < TEXT_CHECK_FROM or (sum(sql.count(c) for c in _OPERATOR_CHARS) <= MAX_NESTING
                                      and sql.count("(") <= MAX_NESTING):
        return  # nothing can be too deep: long VALUES and IN lists end here (str.count: ~1 ms a MB)
    # Each pass below holds the interpreter (C code); together ~0.1 s a MB, against the seconds
    # tokenizing takes.
    text = _BREAK_WORDS.sub(",", _NOT_OPERATORS.sub(" ", _QUOTED.sub(" ", sql)).lower())
    chars = np.frombuffer(text.encode("utf-8", "replace"), dtype=np.uint8)
    opens, closes = chars == ord("("), chars == ord(")")
    # The token check never lets a stray ")" take the depth below the outermost level, so a
    # running sum that dips below zero only undercounts: never a refusal the token check would not make.
    if np.cumsum(opens.astype(np.int32) - closes).max(initial=0) > MAX_NESTING:
        raise _refuse("")
    segment = np.cumsum(chars == ord(","))
    operators = np.bincount(segment, weights=np.isin(chars, _OPERATOR_BYTES))
    parentheses = np.bincount(segment, weights=opens | closes, minlength=len(operators))
    if np.any((operators > MAX_NESTING) & (parentheses == 0)):
        raise _refuse("")
