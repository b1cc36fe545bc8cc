"""Parsing pipeline strings and running passes with the instrumentation users debug with.

`pintac opt`, `pintac compile` and the Python API all run passes through `run_pipeline`:
verification after each pass, IR dumps before/after chosen passes, per-pass timing, and a
reproducer file holding the IR as it was before a pass that failed.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tempfile
import time
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.printer import Printer
from xdsl.utils.arg_spec import ArgSpec, parse_pipeline
from xdsl.utils.exceptions import ArgSpecParseError

from pintac.core.errors import PassError, UserError
from pintac.diagnostics import ParsedModule, verify
from pintac.runtime.files import write_text

PassFactory = Callable[[], type[ModulePass]]


def pass_options(cls: type[ModulePass]) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init and f.name != "name"]


def option_type_name(cls: type[ModulePass], f: dataclasses.Field) -> str:
    hint = typing.get_type_hints(cls).get(f.name, f.type)
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def option_default(f: dataclasses.Field) -> str | None:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return "none" if value is None else str(value)


def describe_pass(cls: type[ModulePass]) -> str:
    """The pass's one-line description: the first line of its docstring."""
    from pintac.registry import UPSTREAM_PASSES

    if cls.name in UPSTREAM_PASSES:
        return UPSTREAM_PASSES[cls.name]
    doc = (cls.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def parse_pipeline_spec(spec: str, available: dict[str, PassFactory]) -> list[ModulePass]:
    """`a,b{x=1 y=2}` -> pass instances; every mistake is a UserError naming the valid choices.

    Option values are checked here, before any pass runs: a value of the wrong type, or one a
    pass's own checks refuse (`pairs=-3`), is an error naming the pass and the option. A float
    option also takes integers and exponents without a leading digit's fraction (`1e-3`).
    """
    try:
        specs = list(parse_pipeline(spec))
    except ArgSpecParseError as e:
        raise UserError(f"error: invalid pass pipeline {spec!r}:\n{e}") from None
    except RecursionError:
        raise UserError(f"error: invalid pass pipeline {_cut(spec)}: nested too deeply") from None
    except ValueError as e:  # e.g. an integer with more digits than Python converts
        raise UserError(f"error: invalid pass pipeline {_cut(spec)}: {e}") from None
    passes: list[ModulePass] = []
    for s in specs:
        if s.name not in available:
            close = difflib.get_close_matches(s.name, available, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise UserError(
                f"error: unknown pass '{s.name}'{hint}\n"
                f"available passes: {', '.join(sorted(available))}"
            )
        cls = available[s.name]()
        fields = {f.name: f for f in pass_options(cls)}
        hints = typing.get_type_hints(cls)
        parameters = {}
        for key, values in s.normalize_parameter_names().parameters.items():
            if key not in fields:
                options = ", ".join(f.replace("_", "-") for f in fields)
                raise UserError(
                    f"error: pass '{s.name}' has no option '{key.replace('_', '-')}'; "
                    f"its options are: {options or '(none)'}"
                )
            parameters[key] = _coerce_option(s.name, key, values, hints.get(key))
        try:
            passes.append(cls.from_spec(ArgSpec(s.name, parameters)))
        except (UserError, ValueError, TypeError, OverflowError) as e:
            raise UserError(f"error: bad options for pass '{s.name}': {e}") from None
    return passes


def _cut(text: str, width: int = 80) -> str:
    return repr(text if len(text) <= width else text[:width] + "...")


_KINDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _coerce_option(name: str, key: str, values: tuple, hint) -> tuple:
    """The option's values converted to the field's scalar type, or a UserError naming both."""
    if hint is None:
        return values
    args = typing.get_args(hint)
    kinds = [a for a in (args or (hint,)) if a in _KINDS]
    if len(kinds) != 1 or (args and not set(args) <= {kinds[0], type(None)}):
        return values  # tuples and other types: xDSL checks them
    kind = kinds[0]
    if len(values) > 1:
        raise UserError(
            f"error: option {key.replace('_', '-')} of pass '{name}' takes one value, "
            f"got {len(values)}"
        )
    out = []
    for v in values:
        converted = _convert(v, kind)
        if converted is None:
            shown = repr(v) if isinstance(v, str) else str(v).lower()
            raise UserError(
                f"error: pass '{name}': option {key.replace('_', '-')} takes {_KINDS[kind]}, "
                f"got {shown}"
            )
        out.append(converted)
    return tuple(out)


def _convert(value, kind):
    if kind is bool:
        return value if isinstance(value, bool) else None
    if isinstance(value, bool):
        return None
    if kind is int:
        return value if isinstance(value, int) else None
    if kind is float:
        if isinstance(value, int | float):
            return float(value) if abs(value) < 2**1024 else None
        try:
            return float(value)  # `1e-3` reaches us as a string
        except ValueError:
            return None
    return value if isinstance(value, str) else None


@dataclass
class Instrumentation:
    """What to do around each pass. `print_before`/`print_after` hold pass names or "*" (all)."""

    verify_each: bool = True
    print_before: set[str] = field(default_factory=set)
    print_after: set[str] = field(default_factory=set)
    timing: bool = False
    dump_stream: IO[str] | None = None  # where IR dumps and timing go (stderr by default)
    generic: bool = False
    reproducer: str | None = None  # path for the reproducer file
    # Without `reproducer`: write the reproducer to a temporary file (the command-line tools),
    # or write none and name the command that reproduces the failure (the Python API).
    reproducer_to_temp: bool = False


@dataclass
class PassTiming:
    name: str
    seconds: float
    verify_seconds: float


def _wants(names: set[str], p: ModulePass) -> bool:
    return "*" in names or p.name in names


def print_module(module: ModuleOp, stream: IO[str], generic: bool = False) -> None:
    Printer(stream=stream, print_generic_format=generic).print_op(module)
    stream.write("\n")


def run_pipeline(
    ctx: Context,
    parsed: ParsedModule,
    passes: Sequence[ModulePass],
    instr: Instrumentation | None = None,
) -> list[PassTiming]:
    """Apply `passes` in order to `parsed.module`; raise a UserError if one fails."""
    import sys

    instr = instr or Instrumentation()
    out = instr.dump_stream or sys.stderr
    module = parsed.module
    timings: list[PassTiming] = []
    done: list[str] = []
    for p in passes:
        spec = str(p)
        if _wants(instr.print_before, p):
            out.write(f"// -----// IR Dump Before {spec} //----- //\n")
            print_module(module, out, instr.generic)
        before = module.clone()  # printed only if the pass fails
        start = time.perf_counter()
        try:
            p.apply(ctx, module)
        except UserError as e:
            op = e.op if isinstance(e, PassError) else None
            raise _failure(parsed, spec, str(e), _generic_text(before), instr, op, done) from None
        except Exception as e:  # a crash inside a pass: report it, keep the input IR
            message = f"internal error: {type(e).__name__}: {e}"
            raise _failure(parsed, spec, message, _generic_text(before), instr, None, done) from e
        elapsed = time.perf_counter() - start
        vstart = time.perf_counter()
        if instr.verify_each:
            try:
                verify(ParsedModule(module, parsed.source, parsed.op_offsets, parsed.line_offset))
            except UserError as e:
                msg = f"produced IR that does not verify:\n{e}"
                raise _failure(
                    parsed, spec, msg, _generic_text(before), instr, None, done
                ) from None
        timings.append(PassTiming(spec, elapsed, time.perf_counter() - vstart))
        done.append(spec)
        if _wants(instr.print_after, p):
            out.write(f"// -----// IR Dump After {spec} //----- //\n")
            print_module(module, out, instr.generic)
    if instr.timing:
        out.write(format_timing(timings))
    return timings


def _generic_text(module: ModuleOp) -> str:
    text = StringIO()
    print_module(module, text, generic=True)  # generic form: re-parseable whatever happened
    return text.getvalue()


def format_timing(timings: Sequence[PassTiming]) -> str:
    """The timing table: each pass's own time, the verification after it, their sum, and
    that sum's share of the total; the last row sums every column."""
    rows = [(t.seconds, t.verify_seconds, t.seconds + t.verify_seconds, t.name) for t in timings]
    total = sum(r[2] for r in rows)
    lines = [
        "===-------------------------------------------------------------------------===",
        "                          pintac pass execution timing",
        "===-------------------------------------------------------------------------===",
        f"  {'pass (s)':>10}  {'verify (s)':>10}  {'total (s)':>10}  {'%':>6}  name",
    ]
    for seconds, checking, both, name in rows:
        pct = 100 * both / total if total > 0 else 100 / max(1, len(rows))
        lines.append(f"  {seconds:10.4f}  {checking:10.4f}  {both:10.4f}  {pct:5.1f}%  {name}")
    pass_total = sum(r[0] for r in rows)
    verify_total = sum(r[1] for r in rows)
    lines.append(f"  {pass_total:10.4f}  {verify_total:10.4f}  {total:10.4f}  100.0%  total")
    return "\n".join(lines) + "\n"


def _failure(
    parsed: ParsedModule,
    spec: str,
    message: str,
    ir_before: str,
    instr: Instrumentation,
    op: Operation | None = None,
    done: Sequence[str] = (),
) -> UserError:
    """The error of a failed pass: located at `op` when it came from the input file."""
    text = f"pass '{spec}' failed: {message}"
    located = (
        str(parsed.error_at(op, text)) if op is not None else f"{parsed.source.name}: error: {text}"
    )
    return UserError(f"{located}\n{_reproducer_note(parsed, spec, ir_before, instr, done)}")


def _reproducer_note(
    parsed: ParsedModule, spec: str, ir: str, instr: Instrumentation, done: Sequence[str]
) -> str:
    """Write the reproducer if asked to, and say how to reproduce the failure."""
    source = parsed.source.name
    if instr.reproducer is None and not instr.reproducer_to_temp:
        if Path(source).is_file() and parsed.line_offset == 0:
            pipeline = ",".join([*done, spec])
            return f"note: reproduce with: pintac opt {source} -p '{pipeline}'"
        return "note: keep the IR before this pass with Instrumentation(reproducer=PATH)"
    try:
        path = _write_reproducer(source, spec, ir, instr.reproducer)
    except UserError as e:
        return f"note: the IR before this pass could not be written: {e}"
    return (
        f"note: the IR before this pass was written to {path}\n"
        f"note: reproduce with: pintac opt {path} -p '{spec}'"
    )


def _write_reproducer(source_name: str, spec: str, ir: str, path: str | None) -> str:
    header = f"// pintac reproducer: the input of pass '{spec}' (from {source_name})\n"
    if path is None:
        stem = Path(source_name).stem if source_name != "<stdin>" else "stdin"
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:40] or "input"
        try:
            fd, path = tempfile.mkstemp(prefix=f"pintac-{stem}-", suffix=".reproducer.mlir")
        except OSError as e:
            raise UserError(
                f"{tempfile.gettempdir()}: error: cannot create the reproducer: {e.strerror or e}"
            ) from None
        os.close(fd)
    write_text(Path(path), header + ir, "reproducer")
    return path
