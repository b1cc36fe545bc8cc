"""`pintac opt`: run a pass pipeline on an .mlir file, with the debugging flags of mlir-opt."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from io import StringIO

from pintac.cli_util import ArgumentParser, check_output, write_output
from pintac.core.errors import UserError
from pintac.diagnostics import Source, parse_source, printable, read_source, verify
from pintac.frontend import build_pde, is_pde
from pintac.pass_manager import (
    Instrumentation,
    describe_pass,
    option_default,
    option_type_name,
    parse_pipeline_spec,
    pass_options,
    print_module,
    run_pipeline,
)
from pintac.registry import available_passes, make_context
from pintac.runtime.files import refuse_overwriting_inputs

SPLIT_MARKER = "// -----"


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac opt",
        description="Parse, verify and transform pintac IR with a pass pipeline.",
        epilog="example: pintac opt examples/poisson2d.mlir -p 'canonicalize,cse' "
        "--print-ir-after-all",
    )
    ap.add_argument("input", nargs="?", default="-", help="input .mlir file, or - for stdin")
    ap.add_argument(
        "-p",
        "--passes",
        default="",
        metavar="PIPELINE",
        help="pass pipeline, e.g. 'a,b{x=1 y=2}' (see --list-passes)",
    )
    ap.add_argument(
        "-o", "--output", metavar="FILE", help="write the result here (default: stdout)"
    )
    ap.add_argument(
        "--print-op-generic",
        action="store_true",
        help="print operations in the generic (unregistered-dialect) form",
    )
    ap.add_argument(
        "--verify-each",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="verify the IR after every pass (default: on)",
    )
    ap.add_argument(
        "--print-ir-after-all",
        action="store_true",
        help="print the IR after every pass (to stderr)",
    )
    ap.add_argument(
        "--print-ir-before-all",
        action="store_true",
        help="print the IR before every pass (to stderr)",
    )
    ap.add_argument(
        "--print-ir-before",
        action="append",
        default=[],
        metavar="PASS",
        help="print the IR before the named pass(es); repeatable or comma-separated",
    )
    ap.add_argument(
        "--print-ir-after",
        action="append",
        default=[],
        metavar="PASS",
        help="print the IR after the named pass(es); repeatable or comma-separated",
    )
    ap.add_argument(
        "--pass-timing", action="store_true", help="report the wall time of each pass (to stderr)"
    )
    ap.add_argument(
        "--list-passes",
        action="store_true",
        help="list the available passes with their options, then exit",
    )
    ap.add_argument(
        "--reproducer",
        metavar="FILE",
        help="where to write the IR when a pass fails (default: a temp file)",
    )
    ap.add_argument(
        "--split-input-file",
        action="store_true",
        help=f"process each '{SPLIT_MARKER}'-separated chunk of the input separately",
    )
    ap.add_argument(
        "--verify-diagnostics",
        action="store_true",
        help="print errors to stdout and exit 0 (for testing invalid IR)",
    )
    ap.add_argument(
        "--allow-unregistered-dialect",
        action="store_true",
        help="accept operations of dialects pintac does not know",
    )
    return ap


def list_passes() -> str:
    out = StringIO()
    out.write("Available passes:\n")
    for name, factory in sorted(available_passes().items()):
        cls = factory()
        out.write(f"  {name:<28} {describe_pass(cls)}\n")
        for f in pass_options(cls):
            default = option_default(f)
            shown = "" if default is None else f" (default: {default})"
            out.write(f"      {f.name.replace('_', '-')}={option_type_name(cls, f)}{shown}\n")
    return out.getvalue()


def _pass_names(values: Sequence[str]) -> set[str]:
    return {n.strip() for v in values for n in v.split(",") if n.strip()}


def _chunks(src: Source, split: bool) -> list[tuple[Source, int]]:
    """(chunk, line offset) pairs; one chunk unless --split-input-file."""
    if not split:
        return [(src, 0)]
    chunks, line = [], 0
    for text in src.text.split(SPLIT_MARKER):
        chunks.append((Source(src.name, text), line))
        line += text.count("\n")
    return chunks


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.list_passes:
        sys.stdout.write(list_passes())
        return 0

    refuse_overwriting_inputs(
        [(args.output, "output"), (args.reproducer, "reproducer")], [args.input], "pintac opt"
    )
    check_output(args.output)
    check_output(args.reproducer, "reproducer")
    available = available_passes()
    passes = parse_pipeline_spec(args.passes, available)
    before = _pass_names(args.print_ir_before) | ({"*"} if args.print_ir_before_all else set())
    after = _pass_names(args.print_ir_after) | ({"*"} if args.print_ir_after_all else set())
    for name in sorted((before | after) - {"*"}):
        if name not in available:
            raise UserError(
                f"error: --print-ir-before/--print-ir-after names unknown pass '{name}'\n"
                f"available passes: {', '.join(sorted(available))}"
            )
    instr = Instrumentation(
        verify_each=args.verify_each,
        print_before=before,
        print_after=after,
        timing=args.pass_timing,
        generic=args.print_op_generic,
        reproducer=args.reproducer,
        reproducer_to_temp=True,
    )

    src = read_source(args.input)
    results: list[str] = []
    for chunk, line_offset in _chunks(src, args.split_input_file):
        try:
            ctx = make_context(args.allow_unregistered_dialect)
            parsed = build_pde(chunk) if is_pde(chunk) else parse_source(ctx, chunk, line_offset)
            verify(parsed)
            run_pipeline(ctx, parsed, passes, instr)
            text = StringIO()
            print_module(parsed.module, text, args.print_op_generic)
            results.append(text.getvalue())
        except UserError as e:
            if not args.verify_diagnostics:
                raise
            results.append(printable(f"{e}\n"))
    write_output("// -----\n".join(results), args.output)
    return 0
