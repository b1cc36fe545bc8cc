"""User-facing diagnostics: reading sources, parsing and verifying with `file:line:col` errors.

Every mistake in user input becomes a `UserError` whose text is ready to print; the command
line prints it and exits 1. A Python traceback for user input is a bug.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import DiagnosticException, ParseError, VerifyException

from pintac.core.errors import UserError
from pintac.runtime.inputs import MAX_SOURCE_BYTES, read_bytes

# Deeper nesting than this is rejected before parsing: the recursive-descent parser would
# otherwise exhaust Python's stack. Real pintac IR nests a handful of levels.
MAX_NESTING = 64


@dataclass(frozen=True)
class Source:
    """One input file: its display name and its text."""

    name: str
    text: str

    def location(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        col = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return line, col

    def diagnostic(self, offset: int, message: str, length: int = 1, line_offset: int = 0) -> str:
        """`name:line:col: error: message`, then the offending line with a caret under it."""
        line, col = self.location(offset)
        start = self.text.rfind("\n", 0, offset) + 1
        end = self.text.find("\n", offset)
        end = len(self.text) if end == -1 else end
        text = self.text[start:end].rstrip("\r").expandtabs(1)
        # the line as the terminal shows it (control characters escaped), the caret under the
        # same character
        shown, indent = printable(text), len(printable(text[: col - 1]))
        carets = "^" * max(
            1, min(len(printable(text[col - 1 : col - 1 + length])), len(shown) - indent)
        )
        return (
            f"{self.name}:{line + line_offset}:{col}: error: {message}\n"
            f"{shown}\n{' ' * indent}{carets}"
        )


# C0 and C1 control characters but newline and tab, the undecodable bytes of a file name or an
# argument (surrogate escapes), and the invisible characters that reorder or hide text
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


def printable(text: str) -> str:
    """`text` with what a terminal would act on or garble escaped (`\\x1b`, `\\u202e`); an
    undecodable byte is shown as the byte (`\\xff`)."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's escape of an undecodable byte
            code -= 0xDC00
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNPRINTABLE.sub(escape, text)


def read_source(path: str) -> Source:
    """Read an input file (`-` is standard input) as UTF-8 text, or raise a UserError. Only a
    regular file of at most `MAX_SOURCE_BYTES` is read (`pintac.runtime.inputs`)."""
    if path == "":  # Path("") is the current directory
        raise UserError("error: the path of the input is empty")
    name = "<stdin>" if path == "-" else path
    if path == "-":
        data = sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1)
        if len(data) > MAX_SOURCE_BYTES:
            raise UserError(f"{name}: error: the input is more than {MAX_SOURCE_BYTES} bytes")
    else:
        data = read_bytes(path, "the input", MAX_SOURCE_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        good = data[: e.start].decode("utf-8")
        src = Source(name, good)
        raise UserError(
            src.diagnostic(len(good), f"input is not valid UTF-8 (byte 0x{data[e.start]:02x})")
        ) from None
    if (nul := text.find("\0")) != -1:
        raise UserError(
            Source(name, text).diagnostic(nul, "input contains a NUL byte: binary data, not MLIR")
        )
    return Source(name, text)


_STRING_ESCAPE = re.compile(r'["nt\\]|[0-9A-Fa-f]{2}')


def _skip_string(src: Source, start: int) -> int:
    """The offset of the closing quote of the string literal opening at `start`."""
    text, n, i = src.text, len(src.text), start + 1
    while i < n and text[i] != '"':
        if text[i] in "\n\v\f":
            break
        if text[i] == "\\":
            if not _STRING_ESCAPE.match(text, i + 1):
                raise UserError(
                    src.diagnostic(
                        i, 'invalid escape in a string literal (use \\n, \\t, \\\\, \\" or \\XX)'
                    )
                )
            i += 2 if text[i + 1] in '"nt\\' else 3
            continue
        i += 1
    if i >= n or text[i] != '"':
        raise UserError(src.diagnostic(start, "string literal not closed on its line"))
    return i


def check_nesting(src: Source, limit: int = MAX_NESTING) -> None:
    """Reject absurdly nested input with a located error instead of a stack overflow, and
    string literals the lexer would choke on (unclosed on their line, or with an invalid
    escape: its pattern backtracks exponentially on them) with a located error instead of a
    hang."""
    depth = 0
    openers, closers = "({[<", ")}]>"
    i, text, n = 0, src.text, len(src.text)
    while i < n:
        c = text[i]
        if c == '"':  # string literal: skip to its closing quote
            i = _skip_string(src, i)
        elif c == "/" and text.startswith("//", i):  # comment: skip to end of line
            i = text.find("\n", i)
            if i == -1:
                return
        elif c == "-" and text.startswith("->", i):
            i += 1  # `->` is an arrow, not a closing angle bracket
        elif c in openers:
            depth += 1
            if depth > limit:
                raise UserError(src.diagnostic(i, f"input nests more than {limit} levels deep"))
        elif c in closers:
            depth = max(0, depth - 1)
        i += 1


class LocatingParser(Parser):
    """An xDSL parser that remembers where each operation starts, for verifier messages."""

    def __init__(self, ctx: Context, src: Source):
        super().__init__(ctx, src.text, src.name)
        self.op_offsets: dict[Operation, int] = {}

    def parse_operation(self) -> Operation:
        start = self._current_token.span.start
        op = super().parse_operation()
        self.op_offsets[op] = start
        return op


@dataclass
class ParsedModule:
    module: ModuleOp
    source: Source
    op_offsets: dict[Operation, int]
    line_offset: int = 0

    def error_at(self, op: Operation, message: str) -> UserError:
        """A located error for `op` (the nearest located ancestor if `op` was created later)."""
        cur: Operation | None = op
        while cur is not None and cur not in self.op_offsets:
            cur = cur.parent_op()
        if cur is None:
            return UserError(f"{self.source.name}: error: {message}")
        start = self.op_offsets[cur]
        # Point at the op name rather than at its results, when it is on the same line.
        name_at = self.source.text.find(cur.name, start)
        line_end = self.source.text.find("\n", start)
        if name_at != -1 and (line_end == -1 or name_at < line_end):
            start = name_at
        return UserError(
            self.source.diagnostic(start, message, len(cur.name), line_offset=self.line_offset)
        )


def parse_source(ctx: Context, src: Source, line_offset: int = 0) -> ParsedModule:
    """Parse `src` into a module, turning every failure into a located UserError."""
    check_nesting(src)
    parser: LocatingParser | None = None
    try:
        parser = LocatingParser(ctx, src)  # lexes the first token: may already fail
        module = parser.parse_module()
    except ParseError as e:
        start, length, msg = e.span.start, e.span.end - e.span.start, _one_line(e.msg)
        if m := _UNREGISTERED.match(msg):
            start, length, msg = _explain_unknown_op(ctx, src, m.group(1), start)
        elif start >= len(src.text.rstrip()):
            msg += " (the input ends here: is the file truncated?)"
        raise UserError(src.diagnostic(start, msg, length, line_offset)) from None
    except (VerifyException, DiagnosticException) as e:
        # An attribute or type whose parameters do not verify, reported while parsing.
        raise UserError(
            src.diagnostic(
                parser.pos if parser else 0, _one_line(_root_message(e)), line_offset=line_offset
            )
        ) from None
    except RecursionError:
        raise UserError(f"{src.name}: error: input nests too deeply to parse") from None
    return ParsedModule(module, src, parser.op_offsets, line_offset)


def verify(parsed: ParsedModule) -> None:
    """Verify every operation, innermost first; raise a located UserError for the first failure."""
    for op in parsed.module.walk(region_first=True):
        try:
            op.verify(verify_nested_ops=False)
        except (VerifyException, DiagnosticException, ValueError) as e:
            message = _one_line(_root_message(e)).removeprefix(f"'{op.name}' ").removeprefix("op ")
            raise parsed.error_at(op, f"'{op.name}' op {message}") from None


_UNREGISTERED = re.compile(r"Operation (\S+) is not registered")


def _explain_unknown_op(ctx: Context, src: Source, name: str, near: int) -> tuple[int, int, str]:
    """Point at the unknown op's name and suggest the closest registered one."""
    at = src.text.rfind(name, 0, near + 1)
    start = at if at != -1 else near
    dialect = name.split(".", 1)[0]
    loaded = ctx.get_optional_dialect(dialect) if dialect in ctx.registered_dialect_names else None
    known = [op.name for op in loaded.operations] if loaded is not None else []
    msg = f"unknown operation '{name}'"
    if close := difflib.get_close_matches(name, known, n=1, cutoff=0.8):
        msg += f"; did you mean '{close[0]}'?"
    elif dialect not in ctx.registered_dialect_names:
        msg += f" (no dialect '{dialect}' is registered)"
    return start, len(name), msg


def _root_message(e: BaseException) -> str:
    """The message of the innermost cause: xDSL wraps verifier errors with the whole printed IR."""
    while e.__cause__ is not None:
        e = e.__cause__
    return str(e)


def _one_line(msg: str) -> str:
    msg = msg.strip()
    return msg.splitlines()[0] if msg else "invalid input"
