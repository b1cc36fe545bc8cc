"""The PINTA assembler and disassembler: `.pasm` text <-> 128-bit instruction words.

Syntax (a lark grammar, `GRAMMAR`): one instruction per line, `MNEMONIC operand ...`, the
operands `name=value` or positional (in the order of the class's fields, before any named
one), separated by spaces or commas; `;` or `#` starts a comment; blank lines are ignored;
`.word 0x...` emits a raw 128-bit word. Numbers are decimal, `0x` hex or `0b` binary (with
optional `_` separators); enumerated values are names (`prec_a=int8`, `rounding=rne`). Omitted
fields take their defaults. Every error is a `UserError` naming the source, line and column:

    prog.pasm:3:6: error: GEMM has no field 'q' (fields: acc, a, b, ...)

The disassembler writes the canonical text of `pintac.runtime.pinta.isa.text`, which the
assembler reads back to the same words.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from pintac.runtime.errors import UserError
from pintac.runtime.pinta import isa
from pintac.runtime.pinta.errors import PintaTrap

GRAMMAR = r"""
start: _line (_NL _line)*
_line: statement? COMMENT?
?statement: instruction | raw
raw: ".word" NUMBER
instruction: MNEMONIC (_SEP? operand)*
?operand: NAME "=" value -> named
        | value -> positional
?value: NUMBER | NAME

MNEMONIC.2: /[A-Za-z][A-Za-z0-9_]*/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /0[xX][0-9a-fA-F_]+|0[bB][01_]+|[0-9][0-9_]*/
COMMENT: /[;#][^\n]*/
_SEP: ","
_NL: /\r?\n/
%ignore /[ \t\f\r]+/
"""

_PARSER = Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)

_TERMINALS = {
    "NUMBER": "a number",
    "NAME": "a name",
    "MNEMONIC": "a mnemonic",
    "EQUAL": "'='",
    "_SEP": "','",
    "_NL": "end of line",
    "COMMENT": "a comment",
    "$END": "end of input",
    "__ANON_0": "'.word'",
}


def _describe(expected: Iterable[str]) -> str:
    names = sorted({_TERMINALS.get(e, e) for e in expected})
    return " or ".join(names) if names else "nothing"


class _Error(Exception):
    def __init__(self, token_or_tree, message: str):
        self.line, self.column = _position(token_or_tree)
        self.message = message


def _position(node) -> tuple[int, int]:
    if isinstance(node, Token):
        return node.line, node.column
    return node.meta.line, node.meta.column


def _parse_number(token: Token) -> int:
    text = token.value.replace("_", "")
    try:
        return int(text, 0) if text[:2].lower() in ("0x", "0b") else int(text, 10)
    except ValueError:
        raise _Error(token, f"'{token.value}' is not a number") from None


def _convert(spec: isa.InstrClass, name: str, token: Token):
    f = spec.by_name[name]
    if f.kind == "enum":
        if token.type != "NAME":
            raise _Error(token, f"field '{name}' takes a name ({f.values_doc()}), got {token}")
        value = token.value
    else:
        if token.type != "NUMBER":
            raise _Error(token, f"field '{name}' takes a number, got '{token}'")
        value = _parse_number(token)
    problem = f.problem(value)
    if problem:
        raise _Error(token, f"field '{name}': {problem}")
    return value


def _instruction(tree: Tree) -> isa.Instruction:
    mnemonic_token, *operands = tree.children
    mnemonic = mnemonic_token.value.upper()
    spec = isa.INSTRUCTIONS.get(mnemonic)
    if spec is None:
        close = difflib.get_close_matches(mnemonic, list(isa.INSTRUCTIONS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise _Error(
            mnemonic_token,
            f"unknown mnemonic '{mnemonic_token}'{hint}; known: {', '.join(isa.INSTRUCTIONS)}",
        )
    order = [f.name for f in spec.fields]
    values: dict = {}
    where: dict = {}
    seen_named = False
    for i, op in enumerate(operands):
        if op.data == "positional":
            if seen_named:
                raise _Error(op, "a positional operand cannot follow a named one")
            if i >= len(order):
                raise _Error(
                    op,
                    f"{mnemonic} takes at most {len(order)} positional operands "
                    f"({', '.join(order) or 'none'})",
                )
            name, token = order[i], op.children[0]
        else:
            seen_named = True
            name_token, token = op.children
            name = name_token.value
            if name not in spec.by_name:
                close = difflib.get_close_matches(name, list(spec.by_name), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                known = ", ".join(spec.by_name)
                raise _Error(
                    name_token, f"{mnemonic} has no field '{name}'{hint} (fields: {known})"
                )
        if name in values:
            raise _Error(op, f"field '{name}' is given twice")
        values[name] = _convert(spec, name, token)
        where[name] = token
    ins = spec.type(**values)
    bad = isa.problems(ins)
    if bad:
        name, message = bad[0]
        raise _Error(where.get(name, mnemonic_token), f"field '{name}': {message}")
    return ins


def parse(text: str, source: str = "<pasm>") -> list[isa.Instruction | int]:
    """The instructions of a `.pasm` text; `.word` lines give their raw int."""
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as e:
        raise UserError(f"{source}:{e.line}:{e.column}: error: {_syntax_message(e)}") from None
    out: list[isa.Instruction | int] = []
    for node in tree.children:
        if not isinstance(node, Tree):
            continue  # a comment
        try:
            if node.data == "raw":
                word = _parse_number(node.children[0])
                if word >> isa.WORD_BITS:
                    raise _Error(node.children[0], f"a word has {isa.WORD_BITS} bits")
                out.append(word)
            else:
                out.append(_instruction(node))
        except _Error as e:
            raise UserError(f"{source}:{e.line}:{e.column}: error: {e.message}") from None
    return out


def _syntax_message(e: UnexpectedInput) -> str:
    if isinstance(e, UnexpectedCharacters):
        return f"unexpected character {e.char!r}"
    if isinstance(e, UnexpectedToken):
        got = {"_NL": "end of line", "$END": "end of input"}.get(e.token.type, f"'{e.token}'")
        return f"unexpected {got}; expected {_describe(e.expected)}"
    if isinstance(e, UnexpectedEOF):
        return f"unexpected end of input; expected {_describe(e.expected)}"
    return str(e)


def assemble(text: str, source: str = "<pasm>") -> list[int]:
    """The 128-bit words of a `.pasm` text (ints; see `program.write_program` for a file)."""
    return [item if isinstance(item, int) else isa.encode(item) for item in parse(text, source)]


def assemble_instructions(text: str, source: str = "<pasm>") -> list[isa.Instruction]:
    """The decoded instructions of a `.pasm` text (`.word` lines must decode)."""
    out = []
    for i, item in enumerate(parse(text, source)):
        out.append(isa.decode(item, i) if isinstance(item, int) else item)
    return out


def disassemble_word(word: int) -> str:
    """The canonical text of one word (`.word 0x...` for one that does not decode)."""
    try:
        return isa.text(isa.decode(word))
    except PintaTrap:
        return isa.raw_text(word)


def disassemble(program: Iterable[int | isa.Instruction]) -> str:
    """The canonical `.pasm` text of words or instructions, one line each."""
    lines = [
        isa.text(item) if isinstance(item, isa.Instruction) else disassemble_word(item)
        for item in program
    ]
    return "".join(line + "\n" for line in lines)
