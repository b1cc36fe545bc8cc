"""The PINTA assembler and disassembler: `.pasm` text <-> 128-bit instruction words.

Syntax (a lark grammar, `GRAMMAR`): one instruction per line, `MNEMONIC operand ...`, the
operands `name=value` or positional (in the order of the class's fields, before any named
one), separated by spaces or commas; `;` or `#` starts a comment; blank lines are ignored;
`.word 0x...` emits a raw 128-bit word. Numbers are decimal, `0x` hex or `0b` binary (with
optional `_` separators); enumerated values are names (`prec_a=int8`, `rounding=rne`). Omitted
fields take their defaults. Every error is a `UserError` naming the source, line and column:

    prog.pasm:3:6: error: GEMM has no field 'q' (fields: acc, a, b, ...)

Speed: the grammar reads some thousands of lines a second, so lines in the form the
disassembler writes (a mnemonic, then `name=value` operands with decimal numbers or names,
separated by blanks; `.word 0x...`) take a fast path that encodes them directly, remembering
each operand it has converted. The fast path accepts a line only if it is a valid
instruction, and then gives the words the grammar gives; every other line (another
spelling, or a mistake) goes through the grammar on its own, so messages are the grammar's.
As with the grammar over the whole text, a syntax error anywhere is reported before any
invalid value.

Messages quote what they point at escaped and truncated (`'\x1b'`, `'9999...'`), never the
raw characters of the text.

The disassembler writes the canonical text of `pintac.runtime.pinta.isa.text`, which the
assembler reads back to the same words.
"""

from __future__ import annotations

import difflib
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from pintac.core.errors import UserError
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

# The longest number the assembler converts: longer than any field or word needs (a word
# is 128 binary digits), far shorter than a number whose conversion takes long.
_MAX_NUMBER = 160

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
    """An error at a token or tree (its line is the statement's line within what the grammar
    parsed; `_item` sets the line of the text)."""

    def __init__(self, token_or_tree, message: str):
        self.line, self.column = _position(token_or_tree)
        self.message = message

    @classmethod
    def at(cls, line: int, column: int, message: str) -> _Error:
        error = cls.__new__(cls)
        error.line, error.column, error.message = line, column, message
        return error


def _position(node) -> tuple[int, int]:
    if isinstance(node, Token):
        return node.line, node.column
    return node.meta.line, node.meta.column


def _parse_number(token: Token) -> int:
    if len(token.value) > _MAX_NUMBER:
        raise _Error(
            token,
            f"{_shown(token.value)} is a number of {len(token.value)} characters, longer than "
            "any field or word takes",
        )
    text = token.value.replace("_", "")
    try:
        return int(text, 0) if text[:2].lower() in ("0x", "0b") else int(text, 10)
    except ValueError:
        raise _Error(token, f"{_shown(token.value)} is not a number") from None


def _convert(spec: isa.InstrClass, name: str, token: Token):
    f = spec.by_name[name]
    if f.kind == "enum":
        if token.type != "NAME":
            raise _Error(
                token, f"field '{name}' takes a name ({f.values_doc()}), got {_shown(token)}"
            )
        value = token.value
    else:
        if token.type != "NUMBER":
            raise _Error(token, f"field '{name}' takes a number, got {_shown(token)}")
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
            f"unknown mnemonic {_shown(mnemonic_token)}{hint}; known: "
            f"{', '.join(isa.INSTRUCTIONS)}",
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
                    name_token, f"{mnemonic} has no field {_shown(name)}{hint} (fields: {known})"
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
    return [item for item, _ in _statements(text, source, instructions=True)]


def _statements(
    text: str, source: str, instructions: bool
) -> Iterator[tuple[isa.Instruction | int | None, int | None]]:
    """Each statement of a text: its instruction (or raw int) and its word. The word is None
    where the grammar read the line (encode the item); the item is None where the fast path
    did not need it and `instructions` is false. Raises the first syntax error, else the
    first invalid value (see the module doc), as a `UserError` located in `source`."""
    lines = text.split("\n")
    last = len(lines)
    seen: dict = {}  # per class: operand text -> its conversion (None: not for the fast path)
    invalid: UserError | None = None  # the first invalid value, raised after the syntax check
    for number, line in enumerate(lines, 1):
        fast = _fast_statement(line, seen, instructions)
        if fast is not None:
            if invalid is None:
                yield fast
            continue
        if _BLANK.fullmatch(line):
            continue
        try:
            nodes = _grammar_line(line, number, number == last)
        except _Error as e:
            raise UserError(f"{source}:{e.line}:{e.column}: error: {e.message}") from None
        if invalid is not None:
            continue  # only a syntax error can still come first
        try:
            for node in nodes:
                yield _item(node, number), None
        except _Error as e:
            invalid = UserError(f"{source}:{e.line}:{e.column}: error: {e.message}")
    if invalid is not None:
        raise invalid


def _grammar_line(line: str, number: int, last: bool) -> list[Tree]:
    """The statement trees of line `number` of a text, parsed by the grammar as in the whole
    text: after a line break unless it is the first line, followed by one unless it is the
    last, so that errors read the same. Raises a syntax error as `_Error`."""
    before = "\n" if number > 1 else ""
    try:
        tree = _PARSER.parse(before + line + ("" if last else "\n"))
    except UnexpectedInput as e:
        raise _Error.at(e.line + number - 1 - len(before), e.column, _syntax_message(e)) from None
    return [node for node in tree.children if isinstance(node, Tree)]  # not the comment


def _item(node: Tree, number: int) -> isa.Instruction | int:
    """The instruction or raw word of a statement tree of line `number` of the text; an
    invalid value is an `_Error` on that line."""
    try:
        if node.data == "raw":
            word = _parse_number(node.children[0])
            if word >> isa.WORD_BITS:
                raise _Error(node.children[0], f"a word has {isa.WORD_BITS} bits")
            return word
        return _instruction(node)
    except _Error as e:
        e.line = number
        raise


def _syntax_message(e: UnexpectedInput) -> str:
    if isinstance(e, UnexpectedCharacters):
        return f"unexpected character {_shown(e.char)}"
    if isinstance(e, UnexpectedToken):
        got = {"_NL": "end of line", "$END": "end of input", "COMMENT": "comment"}.get(
            e.token.type, _shown(e.token)
        )
        return f"unexpected {got}; expected {_describe(e.expected)}"
    if isinstance(e, UnexpectedEOF):
        return f"unexpected end of input; expected {_describe(e.expected)}"
    return str(e)


def _shown(text: str, limit: int = 40) -> str:
    """`text` quoted for a message: anything but printable ASCII escaped, truncated."""
    escaped = ascii(str(text))[1:-1].replace("'", "\\'")
    if len(escaped) > limit:
        escaped = escaped[: limit - 3] + "..."
    return f"'{escaped}'"


# ------------------------------------------------------------------------------ fast path

# A blank or comment-only line; the form of a line the fast path reads (a mnemonic, then
# `name=value` operands separated by blanks, a comment); a raw word in hex.
_BLANK = re.compile(r"[ \t]*(?:[;#][^\n]*)?\r?")
_FAST_LINE = re.compile(
    r"[ \t]*([A-Za-z][A-Za-z0-9_]*)((?:[ \t]+[A-Za-z_][A-Za-z0-9_]*=[A-Za-z0-9_]+)*)"
    r"[ \t]*(?:[;#][^\n]*)?\r?"
)
_FAST_WORD = re.compile(r"[ \t]*\.word[ \t]+0[xX]([0-9a-fA-F]+)[ \t]*(?:[;#][^\n]*)?\r?")


def _fast_statement(
    line: str, seen: dict, instructions: bool = True
) -> tuple[isa.Instruction | int | None, int] | None:
    """The instruction (or raw word) of a line and its word, if the line is in the fast
    path's form and valid; else None (the grammar reads it). Without `instructions`, the
    instruction is None where checking the line does not need it. `seen` keeps, per class,
    the operands converted so far."""
    match = _FAST_LINE.fullmatch(line)
    if match is None:
        match = _FAST_WORD.fullmatch(line)
        if match is None:
            return None
        if len(match[1]) + 2 > _MAX_NUMBER:
            return None
        word = int(match[1], 16)
        return None if word >> isa.WORD_BITS else (word, word)
    mnemonic = match[1]
    encoding = _ENCODINGS.get(mnemonic) or _ENCODINGS.get(mnemonic.upper())
    if encoding is None:
        return None
    known = seen.get(encoding)
    if known is None:
        known = seen[encoding] = {}
    operands = match[2].split()
    converted = [known.get(o) or _convert_operand(encoding, known, o) for o in operands]
    if not converted:
        return encoding.check(list(encoding.defaults), encoding.default_word)
    if None in converted:
        return None
    positions, values, deltas = zip(*converted, strict=True)
    if len(set(positions)) != len(positions):
        return None  # a field given twice
    # the fields' bits are disjoint: each operand adds its code less the default's
    word = encoding.default_word + sum(deltas)
    if not instructions and encoding.operands_suffice:
        return None, word
    instruction = list(encoding.defaults)
    deque(map(instruction.__setitem__, positions, values), maxlen=0)  # the loop, in C
    return encoding.check(instruction, word)


def _convert_operand(encoding: _Encoding, known: dict, operand: str):
    """`encoding.operand(operand)`, remembered in `known`."""
    converted = known[operand] = encoding.operand(operand)
    return converted


@dataclass(frozen=True)
class _Slot:
    """An operand name of a class: where its value goes, and the values it takes."""

    position: int  # in the instruction
    offset: int  # of its code in the word
    named: bool  # takes a name (an enumeration), else a decimal number
    codes: Mapping[object, int] | range  # the values it takes -> code (a range: the value)
    coded: bool  # a value's code is not the value (a name, a power of two)
    default_code: int

    @classmethod
    def of(cls, f: isa.Field, position: int, offset: int, refused: bool = False) -> _Slot:
        """The slot of field `f`: the values `Field.problem` accepts, with `Field.encode`'s
        codes (`refused`: a flag its class's queue does not have: only 0)."""
        if f.kind == "enum":
            codes: Mapping[object, int] | range = dict(f.codes)
        elif f.kind == "pow2":
            codes = {value: f.encode(value) for value in f.codes}
        else:
            codes = range(f.minimum, 1 if refused else f.top + 1)
        coded = not isinstance(codes, range)
        return cls(position, offset, f.kind == "enum", codes, coded, f.encode(f.default))


@dataclass(eq=False)
class _Encoding:
    """What the fast path needs of an instruction class: its defaults and word, and a slot
    per operand name."""

    spec: isa.InstrClass
    defaults: tuple
    default_word: int
    slots: dict[str, _Slot]
    allowed_flags: dict[str, frozenset[str]]  # NOP's, by its queue

    def __post_init__(self):
        self.type = self.spec.type
        self.queue_field = self.spec.queue == "field"
        self.rule = self.spec.check
        # valid operands make a valid instruction: no class rule, no flags that hang on a field
        self.operands_suffice = self.rule is None and not self.queue_field

    @classmethod
    def of(cls, spec: isa.InstrClass) -> _Encoding | None:
        """None for a class whose defaults are not valid field values (none today): the
        grammar path reads it."""
        if any(f.problem(f.default) for f in spec.fields):
            return None
        header = spec.opcode | (0 if spec.minor is None else spec.minor << isa.HEADER_BITS)
        slots = {f.name: _Slot.of(f, i, f.offset) for i, f in enumerate(spec.fields)}
        queues = list(spec.by_name["queue"].codes) if spec.queue == "field" else [None]
        allowed = {q: _allowed_flags(spec, q) for q in queues}
        for i, name in enumerate(isa.FLAGS):
            refused = spec.queue != "field" and name not in allowed[None]
            slots[name] = _Slot.of(
                spec.by_name[name], len(spec.fields) + i, isa.OPCODE_BITS + i, refused
            )
        default_word = header
        for f in spec.fields:
            default_word |= f.encode(f.default) << f.offset
        defaults = tuple(f.default for f in spec.fields) + (0,) * len(isa.FLAGS)
        return cls(spec, defaults, default_word, slots, allowed)

    def operand(self, text: str) -> tuple[int, object, int] | None:
        """`name=value` as (position in the instruction, value, what its code adds to the
        default word), or None if it is not a valid operand of the class (the grammar says
        what is wrong)."""
        name, _, shown = text.partition("=")
        slot = self.slots.get(name)
        if slot is None:
            return None
        if slot.named:
            value: object = shown
            if shown[0].isdigit() or shown not in slot.codes:
                return None
            code = slot.codes[shown]
        else:
            if not shown.isdigit() or len(shown) > _MAX_NUMBER:
                return None
            value = code = int(shown)
            if value not in slot.codes:
                return None
            if slot.coded:
                code = slot.codes[value]
        return slot.position, value, (code - slot.default_code) << slot.offset

    def check(self, values: list, word: int) -> tuple[isa.Instruction, int] | None:
        """The instruction of valid field `values` and its word if it passes the class's
        other rules (the flags NOP's queue allows, its cross-field check), else None."""
        ins = self.type._make(values)
        if self.queue_field:
            allowed = self.allowed_flags[ins.queue]
            if any(getattr(ins, name) and name not in allowed for name in isa.FLAGS):
                return None
        return (ins, word) if self.rule is None or self.rule(ins) is None else None


def _allowed_flags(spec: isa.InstrClass, queue: str | None) -> frozenset[str]:
    """The dependency flags an instruction of `spec` (on `queue`, for NOP) may set, by the
    rules of `isa.problems` (the class's defaults being valid)."""
    base = {} if queue is None else {"queue": queue}
    return frozenset(
        name
        for name in isa.FLAGS
        if name not in {bad for bad, _ in isa.problems(spec.type(**base, **{name: 1}))}
    )


_ENCODINGS = {
    mnemonic: encoding
    for mnemonic, spec in isa.INSTRUCTIONS.items()
    if (encoding := _Encoding.of(spec)) is not None
}


def assemble(text: str, source: str = "<pasm>") -> list[int]:
    """The 128-bit words of a `.pasm` text (ints; see `program.write_program` for a file)."""
    return [
        word if word is not None else item if isinstance(item, int) else isa.encode(item)
        for item, word in _statements(text, source, instructions=False)
    ]


def assemble_by_grammar(text: str, source: str = "<pasm>") -> list[int]:
    """The words of `assemble`, read by the grammar alone: the whole text parsed at once, then
    each statement converted in order. Much slower; the reference the fast path is checked
    against (same words, same messages)."""
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as e:
        raise UserError(f"{source}:{e.line}:{e.column}: error: {_syntax_message(e)}") from None
    words = []
    for node in tree.children:
        if isinstance(node, Tree):
            try:
                item = _item(node, node.meta.line)
            except _Error as e:
                raise UserError(f"{source}:{e.line}:{e.column}: error: {e.message}") from None
            words.append(item if isinstance(item, int) else isa.encode(item))
    return words


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
