"""Parsing pipeline strings and running passes with the instrumentation users debug with.

`pintac opt`, `pintac compile` and the Python API all run passes through `run_pipeline`:
verification after each pass, IR dumps before/after chosen passes, per-pass timing, and a
reproducer file holding the IR as it was before a pass that failed.
"""

from __future__ import annotations

import dataclasses
import difflib
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
from xdsl.utils.arg_spec import parse_pipeline
from xdsl.utils.exceptions import ArgSpecParseError

from pintac.diagnostics import ParsedModule, verify
from pintac.runtime.errors import PassError, UserError

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
    """`a,b{x=1 y=2}` -> pass instances; every mistake is a UserError naming the valid choices."""
    try:
        specs = list(parse_pipeline(spec))
    except ArgSpecParseError as e:
        raise UserError(f"error: invalid pass pipeline {spec!r}:\n{e}") from None
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
        known = {f.name for f in pass_options(cls)}
        for key in s.normalize_parameter_names().parameters:
            if key not in known:
                options = ", ".join(f.name.replace("_", "-") for f in pass_options(cls))
                raise UserError(
                    f"error: pass '{s.name}' has no option '{key.replace('_', '-')}'; "
                    f"its options are: {options or '(none)'}"
                )
        try:
            passes.append(cls.from_spec(s))
        except (ValueError, TypeError) as e:
            raise UserError(f"error: bad options for pass '{s.name}': {e}") from None
    return passes


@dataclass
class Instrumentation:
    """What to do around each pass. `print_before`/`print_after` hold pass names or "*" (all)."""

    verify_each: bool = True
    print_before: set[str] = field(default_factory=set)
    print_after: set[str] = field(default_factory=set)
    timing: bool = False
    dump_stream: IO[str] | None = None  # where IR dumps and timing go (stderr by default)
    generic: bool = False
    reproducer: str | None = None  # path for the reproducer file; a temp file if None


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
            raise _failure(parsed, spec, str(e), _generic_text(before), instr, op) from None
        except Exception as e:  # a crash inside a pass: report it, keep the input IR
            message = f"internal error: {type(e).__name__}: {e}"
            raise _failure(parsed, spec, message, _generic_text(before), instr) from e
        elapsed = time.perf_counter() - start
        vstart = time.perf_counter()
        if instr.verify_each:
            try:
                verify(ParsedModule(module, parsed.source, parsed.op_offsets, parsed.line_offset))
            except UserError as e:
                msg = f"produced IR that does not verify:\n{e}"
                raise _failure(parsed, spec, msg, _generic_text(before), instr) from None
        timings.append(PassTiming(spec, elapsed, time.perf_counter() - vstart))
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
    total = sum(t.seconds + t.verify_seconds for t in timings) or 1e-12
    lines = [
        "===-------------------------------------------------------------------------===",
        "                          pintac pass execution timing",
        "===-------------------------------------------------------------------------===",
        f"  {'wall (s)':>10}  {'%':>6}  {'verify (s)':>10}  pass",
    ]
    for t in timings:
        pct = 100 * (t.seconds + t.verify_seconds) / total
        lines.append(f"  {t.seconds:10.4f}  {pct:5.1f}%  {t.verify_seconds:10.4f}  {t.name}")
    lines.append(f"  {total:10.4f}  100.0%  {'':10}  total")
    return "\n".join(lines) + "\n"


def _failure(
    parsed: ParsedModule,
    spec: str,
    message: str,
    ir_before: str,
    instr: Instrumentation,
    op: Operation | None = None,
) -> UserError:
    """The error of a failed pass: located at `op` when it came from the input file."""
    path = _write_reproducer(parsed.source.name, spec, ir_before, instr.reproducer)
    text = f"pass '{spec}' failed: {message}"
    located = (
        str(parsed.error_at(op, text)) if op is not None else f"{parsed.source.name}: error: {text}"
    )
    return UserError(
        f"{located}\n"
        f"note: the IR before this pass was written to {path}\n"
        f"note: reproduce with: pintac opt {path} -p '{spec}'"
    )


def _write_reproducer(source_name: str, spec: str, ir: str, path: str | None) -> str:
    header = f"// pintac reproducer: the input of pass '{spec}' (from {source_name})\n"
    if path is None:
        stem = Path(source_name).stem if source_name != "<stdin>" else "stdin"
        fd, path = tempfile.mkstemp(prefix=f"pintac-{stem}-", suffix=".reproducer.mlir")
        with open(fd, "w") as f:
            f.write(header + ir)
    else:
        Path(path).write_text(header + ir)
    return path
