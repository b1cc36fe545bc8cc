"""`pintac compile FILE`: run a named pipeline and write the result for a target."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from io import StringIO

from pintac.cli_util import ArgumentParser, check_output, write_output
from pintac.pass_manager import Instrumentation, print_module
from pintac.pipelines import add_pipeline_argument
from pintac.runtime.targets import TARGETS


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac compile",
        description="Compile a PINN problem with a named pipeline.",
        epilog="example: pintac compile examples/poisson2d.mlir --target numpy -o step.py",
    )
    ap.add_argument("input", help="problem file (.mlir), or - for stdin")
    add_pipeline_argument(ap)
    ap.add_argument(
        "--target",
        choices=("mlir", *TARGETS),
        default="mlir",
        help="mlir: the IR after the pipeline; numpy: the training step as an importable "
        "Python module calling pintac's NumPy kernels",
    )
    ap.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    ap.add_argument("--print-op-generic", action="store_true", help="generic MLIR form")
    ap.add_argument(
        "--print-ir-after-all",
        action="store_true",
        help="print the IR after every pass (to stderr)",
    )
    ap.add_argument("--pass-timing", action="store_true", help="report pass times (to stderr)")
    ap.add_argument(
        "--reproducer",
        metavar="FILE",
        help="where to write the IR when a pass fails (default: a temp file)",
    )
    return ap


def run(argv: Sequence[str]) -> int:
    import pintac.api as pt

    args = build_parser().parse_args(argv)
    check_output(args.output)
    check_output(args.reproducer, "reproducer")
    problem = pt.load(args.input)
    instr = Instrumentation(
        print_after={"*"} if args.print_ir_after_all else set(),
        timing=args.pass_timing,
        generic=args.print_op_generic,
        reproducer=args.reproducer,
        reproducer_to_temp=True,
    )
    if args.target == "mlir":
        program = problem.compile(args.pipeline, instrumentation=instr)
        out = StringIO()
        print_module(program.module, out, args.print_op_generic)
        write_output(out.getvalue(), args.output)
    else:
        program = problem.compile(args.pipeline, instrumentation=instr, target=args.target)
        program.write(args.output)
    return 0
