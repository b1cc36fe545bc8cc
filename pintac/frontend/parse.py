"""`.pde` text -> syntax tree (`pintac.frontend.syntax`), every node with its position.

The grammar is `grammar.lark` beside this file, parsed LALR(1) with the tree built during
parsing (an inline transformer), so nothing recurses on the input's nesting; expressions
nested more than `MAX_DEPTH` deep are refused with a located error. lark's exceptions become
`FILE:LINE:COL: error: ...` messages that say in words what was expected.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

from pintac.core.errors import UserError
from pintac.diagnostics import Source
from pintac.frontend import syntax as ast

GRAMMAR_FILE = Path(__file__).with_name("grammar.lark")

#: The deepest expression accepted (far beyond anything written by hand).
MAX_DEPTH = 100

# Terminals described in words in "expected ..." messages; the others are shown as 'text'.
_WORDS = {"NAME": "a name", "NUMBER": "a number", "$END": "the end of the file"}


class PdeSyntaxError(Exception):
    """Raised by the tree builder at a node; turned into a located UserError by `parse`."""

    def __init__(self, pos: int, length: int, message: str):
        super().__init__(message)
        self.pos, self.length, self.message = pos, length, message


@cache
def _parser() -> Lark:
    return Lark(
        GRAMMAR_FILE.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        transformer=_TreeBuilder(),
        maybe_placeholders=False,
    )


def parse(src: Source) -> list[ast.Statement]:
    """The statements of a `.pde` source, or a located UserError."""
    try:
        return _parser().parse(src.text)
    except PdeSyntaxError as e:
        raise UserError(src.diagnostic(e.pos, e.message, e.length)) from None
    except UnexpectedCharacters as e:
        raise UserError(src.diagnostic(e.pos_in_stream, _unexpected_character(src, e))) from None
    except UnexpectedEOF as e:
        raise UserError(_ends_early(src, e.expected)) from None
    except UnexpectedToken as e:
        raise UserError(_unexpected_token(src, e)) from None


def _unexpected_character(src: Source, e: UnexpectedCharacters) -> str:
    char = src.text[e.pos_in_stream]
    shown = f"'{char}'" if char.isprintable() and char != "'" else f"U+{ord(char):04X}"
    # The lexer's `allowed` names NAME for every keyword; the parser knows which.
    return f"unexpected character {shown}; expected {_expected(_acceptable(e, e.allowed))}"


def _acceptable(e: UnexpectedCharacters | UnexpectedToken, fallback) -> set[str]:
    """The terminals the parser can take where it stopped. LALR's own `expected` set is too
    wide after a default reduction (it offers ')' after `u = 2`), so ask the parser."""
    parser = getattr(e, "interactive_parser", None)
    return parser.accepts() if parser is not None else set(fallback)


def _unexpected_token(src: Source, e: UnexpectedToken) -> str:
    token: Token = e.token
    if token.type == "$END":
        return _ends_early(src, _acceptable(e, e.expected))
    return src.diagnostic(
        token.start_pos,
        f"unexpected {_describe_token(token)}; expected {_expected(_acceptable(e, e.expected))}",
        max(1, len(token.value)),
    )


def _ends_early(src: Source, expected) -> str:
    """Pointing just after the last thing in the file (not at an empty last line)."""
    end = len(src.text.rstrip())
    return src.diagnostic(end, f"the file ends too early; expected {_expected(expected)}")


def _describe_token(token: Token) -> str:
    if token.type == "NAME":
        return f"name '{token.value}'"
    if token.type == "NUMBER":
        return f"number {token.value}"
    return f"'{token.value}'"


def _expected(names) -> str:
    words = sorted({_word(n) for n in names})
    if not words:
        return "nothing more"
    if len(words) == 1:
        return words[0]
    return "one of: " + ", ".join(words)


@cache
def _terminal_texts() -> dict[str, str]:
    """Terminal name -> its text for the terminals that are fixed strings."""
    texts = {}
    for t in _parser().terminals:
        pattern = t.pattern
        if pattern.type == "str":
            texts[t.name] = pattern.value
        elif t.name == "CARET":
            texts[t.name] = "^"
    return texts


def _word(name: str) -> str:
    if name in _WORDS:
        return _WORDS[name]
    text = _terminal_texts().get(name)
    return f"'{text}'" if text is not None else name.lower()


# ---------------------------------------------------------------- the tree builder


def _number(token: Token) -> float:
    value = float(token.value)
    if not math.isfinite(value):
        raise PdeSyntaxError(token.start_pos, len(token.value), f"{token.value} is out of range")
    return value


def _integer(token: Token, what: str) -> int:
    value = _number(token)
    if not value.is_integer():
        raise PdeSyntaxError(
            token.start_pos, len(token.value), f"{what} must be an integer, got {token.value}"
        )
    return int(value)


def _token_expr(token: Token) -> dict:
    return {
        "pos": token.start_pos,
        "length": len(token.value),
        "start": token.start_pos,
        "end": token.end_pos,
        "depth": 1,
    }


def _deeper(pos: int, length: int, *children: ast.Expr) -> int:
    depth = 1 + max((c.depth for c in children), default=0)
    if depth > MAX_DEPTH:
        raise PdeSyntaxError(pos, length, f"expression nested more than {MAX_DEPTH} levels deep")
    return depth


def _settings_of(items) -> tuple[ast.Setting, ...]:
    return tuple(i for i in items if isinstance(i, ast.Setting))


class _TreeBuilder(Transformer):
    """Callbacks run by the LALR parser as it reduces each rule (children in order;
    anonymous punctuation is already filtered out)."""

    # -- statements
    def start(self, statements):
        return list(statements)

    def problem(self, children):
        keyword, name = children
        return ast.Problem(name.start_pos, len(name), name.value)

    def space(self, children):
        keyword, *coordinates = children
        return ast.Space(keyword.start_pos, len(keyword), tuple(coordinates))

    def scalar_coordinate(self, children):
        (name,) = children
        return ast.CoordinateDecl(name.start_pos, len(name), name.value)

    def vector_coordinate(self, children):
        name, first, last = children
        return ast.CoordinateDecl(
            name.start_pos,
            len(name),
            name.value,
            _integer(first, "a component number"),
            _integer(last, "a component number"),
        )

    def time(self, children):
        keyword, name = children
        return ast.Time(name.start_pos, len(name), name.value)

    def domain(self, children):
        keyword, name, *clauses = children
        return ast.Domain(name.start_pos, len(name), name.value, tuple(clauses))

    def clause(self, children):
        names, keyword, factors = children
        return ast.Clause(names[0].pos, names[0].length, names, factors)

    def coordinates(self, children):
        return tuple(ast.Name(**_token_expr(t), name=t.value) for t in children)

    def set(self, children):
        return tuple(c for c in children if not isinstance(c, Token))

    def interval(self, children):
        lo, hi = children
        return ast.Interval(lo.pos, lo.length, lo, hi)

    def interval_power(self, children):
        lo, hi, caret, power = children
        return ast.Interval(lo.pos, lo.length, lo, hi, _integer(power, "the power of an interval"))

    def let(self, children):
        keyword, name, expr = children
        return ast.Let(name.start_pos, len(name), name.value, expr)

    def network(self, children):
        keyword, name, expr = children
        return ast.Network(name.start_pos, len(name), name.value, expr)

    def term(self, children):
        name, lhs, equals, rhs, placement, *options = children
        given: dict[str, ast.Expr] = {}
        for keyword, value in options:
            if keyword.value in given:
                raise PdeSyntaxError(
                    keyword.start_pos, len(keyword), f"'{keyword.value}' is given twice"
                )
            given[keyword.value] = value
        return ast.Term(
            name.start_pos,
            len(name),
            name.value,
            lhs,
            rhs,
            equals.start_pos,
            placement,
            given.get("weight"),
            given.get("batch"),
        )

    def interior(self, children):
        keyword, domain = children
        return ast.Placement(keyword.start_pos, len(keyword), domain.value, domain.start_pos)

    def part(self, children):
        keyword, part, domain = children
        return ast.Placement(part.start_pos, len(part), domain.value, domain.start_pos, part.value)

    def term_option(self, children):
        return tuple(children)

    def exact(self, children):
        keyword, name, expr = children
        return ast.Exact(keyword.start_pos, len(keyword), name.value, name.start_pos, expr)

    def train(self, children):
        keyword, *settings = children
        return ast.Train(keyword.start_pos, len(keyword), tuple(settings))

    def derivatives(self, children):
        keyword, strategy, *settings = children
        return ast.Derivatives(
            strategy.start_pos, len(strategy), strategy.value, _settings_of(settings)
        )

    # -- settings
    def setting(self, children):
        key, value = children
        if isinstance(value, Token):
            value = self._value(value)
        return ast.Setting(key.start_pos, len(key), key.value, value)

    @staticmethod
    def _value(token: Token) -> ast.Value:
        if token.type == "NUMBER":
            exact = int(token.value) if token.value.isdigit() else None
            return ast.Value(token.start_pos, len(token), number=_number(token), integer=exact)
        return ast.Value(token.start_pos, len(token), name=token.value)

    def value_call(self, children):
        name, *args = children
        numbers = tuple(a if isinstance(a, float) else _number(a) for a in args)
        return ast.Value(name.start_pos, len(name), name=name.value, args=numbers)

    def negative(self, children):
        minus, number = children
        return -_number(number)

    # -- expressions
    def number(self, children):
        (token,) = children
        return ast.Number(**_token_expr(token), value=_number(token))

    def name(self, children):
        (token,) = children
        return ast.Name(**_token_expr(token), name=token.value)

    def binary(self, children):
        left, op, right = children
        symbol = "^" if op.type == "CARET" else op.value
        depth = _deeper(op.start_pos, len(op), left, right)
        return ast.Binary(op.start_pos, len(op), left.start, right.end, depth, symbol, left, right)

    def negate(self, children):
        minus, operand = children
        depth = _deeper(minus.start_pos, 1, operand)
        return ast.Negate(minus.start_pos, 1, minus.start_pos, operand.end, depth, operand)

    def vector(self, children):
        first, last = children[0], children[-1]
        depth = _deeper(first.pos, first.length, *children)
        return ast.Tuple(first.pos, first.length, first.start - 1, last.end + 1, depth, children)

    def call(self, children):
        name, *args = children
        exprs = [a for a in args if isinstance(a, ast.Expr)]
        depth = _deeper(name.start_pos, len(name), *exprs)
        end = (
            max(
                (a.end if isinstance(a, ast.Expr) else a.pos + a.length for a in args),
                default=name.end_pos,
            )
            + 1
        )
        return ast.Call(
            name.start_pos, len(name), name.start_pos, end, depth, name.value, tuple(args)
        )
