"""`pintac compile FILE`: run a named pipeline and write the result for a target."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from collections.abc import Sequence
from io import StringIO
from pathlib import Path

from pintac.cli_util import (
    ArgumentParser,
    add_hardware_arguments,
    check_output,
    format_bytes,
    hardware_options,
    write_output,
)
from pintac.core.errors import UserError
from pintac.pass_manager import Instrumentation, print_module
from pintac.pipelines import add_pipeline_argument
from pintac.runtime.files import check_directory, refuse_overwriting_inputs
from pintac.runtime.targets import TARGETS


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac compile",
        description="Compile a PINN problem's training step with a named pipeline, for PINTA "
        "(microcode for the bundled simulator), the NumPy runtime or as IR.",
        epilog="examples: pintac compile examples/poisson2d.mlir --pipeline smx-diff; "
        "pintac compile examples/poisson2d.mlir --target numpy -o step.py",
    )
    ap.add_argument("input", help="problem file (.mlir), or - for stdin")
    add_pipeline_argument(ap)
    ap.add_argument(
        "--target",
        choices=("pinta", "mlir", *(t for t in TARGETS if t not in ("pinta", "pinta-sim"))),
        default="pinta",
        help="pinta: a program directory for the PINTA accelerator (program.bin, its "
        "assembly program.pasm, the DRAM image dram.img, manifest.json, the problem.mlir and "
        "hardware.toml it was compiled for) and a summary; mlir: the IR "
        "after the pipeline; numpy: the training step as an importable Python module "
        "calling pintac's NumPy kernels (numpy-exact: every GEMM exact; numpy-fast: every "
        "GEMM a float32 BLAS product of the quantized values)",
    )
    ap.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="write here (pinta: a directory, default NAME.pinta for NAME.mlir; others: a "
        "file, default stdout)",
    )
    add_hardware_arguments(ap)
    ap.add_argument(
        "--report",
        action="store_true",
        help="also print what the pipeline made of the step: with tensor-train layers, each "
        "layer's parameters, compression and MACs; the quantized copies (tensor, use, format, "
        "copies); for PINTA, the step's MACs by precision, its compute and compulsory-DRAM "
        "bounds beside the achieved cycles and traffic, and its roofline",
    )
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
    if args.target == "pinta":
        if args.output == "-":
            raise UserError(
                "pintac compile: error: -o -: --target pinta writes a program directory, not "
                "standard output; give -o DIR (default: NAME.pinta for NAME.mlir)"
            )
        if args.output == "":
            raise UserError("pintac compile: error: -o: the path of the program directory is empty")
        if args.output is None:
            stem = "stdin" if args.input == "-" else Path(args.input).stem
            args.output = f"{stem}.pinta"
        check_directory(args.output, "program directory")
    else:
        check_output(args.output)
        if args.hw or args.hw_set:
            raise UserError("pintac compile: error: --hw and --hw-set configure --target pinta")
    check_output(args.reproducer, "reproducer")
    refuse_overwriting_inputs(
        [*_outputs(args), (args.reproducer, "reproducer")], [args.input, args.hw], "pintac compile"
    )
    hw = hardware_options(args) if args.target == "pinta" else None
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
        program = problem.compile(args.pipeline, instrumentation=instr, target=args.target, hw=hw)
        program.write(args.output)
        if args.target == "pinta":
            sys.stdout.write(pinta_summary(program, args.output))
    if args.report:
        # the tiles of the step as written: the pipeline's IR for mlir, else the target's
        written = program.module if args.target == "mlir" else program.lowered or program.module
        sys.stdout.write(_report(problem, program, written))
    return 0


def _outputs(args: argparse.Namespace) -> list[tuple[str | None, str]]:
    """The files a successful compile writes, and what each is."""
    if args.target != "pinta":
        return [(args.output, "output")]
    from pintac.runtime.pinta.target import FILES

    return [(os.path.join(args.output, name), "program directory file") for name in FILES.values()]


def _report(problem, program, written) -> str:
    from pintac.runtime.quantization_report import format_plan, quantization_plan

    plan = quantization_plan(program.functions["train_step"])
    return (
        _tt_layers(problem, program.pipeline_id)
        + _tiles(written)
        + ("quantized copies of @train_step:\n" + format_plan(plan))
        + _pinta_bounds(program)
    )


def _tiles(module) -> str:
    """The points per tile of each loss term's loop, when the step is tiled by points, and
    the streams per tile of the loops over streams in them (in the step as written, or in
    the PINTA program made from it)."""
    from pintac.dialects import pinta, tile

    tiles: dict[str, int] = {}
    streams: dict[str, int] = {}
    for op in module.walk():
        if isinstance(op, pinta.ProgramOp):
            for key, found in (("tiles", tiles), ("stream_tiles", streams)):
                if key in op.attributes:
                    found |= {k: v.value.data for k, v in op.attributes[key].data.items()}
        elif op.name == "func.func":
            tiles |= tile.tiles_by_term(op)
            streams |= tile.stream_tiles_by_term(op)
    if not tiles:
        return ""
    shown = ", ".join(f"{term} {points}" for term, points in tiles.items())
    if streams:
        shown += "; streams a tile: " + ", ".join(f"{t} {n}" for t, n in streams.items())
    return f"tiles        points a tile, by loss term: {shown}\n"


def _pinta_bounds(program) -> str:
    """For PINTA, the step's MACs by precision and its bounds beside what it achieves
    (`pintac.runtime.pinta.bounds`); empty for other targets."""
    from pintac.runtime.pinta.target import PintaExecutable

    executable = program.executable
    if not isinstance(executable, PintaExecutable):
        return ""
    report = executable.report.with_bounds(executable.step, executable.config)
    return "\n" + report.bounds.to_text()


def _tt_layers(problem, pipeline: str) -> str:
    """The layer table of `tt_report` when the pipeline makes tensor-train layers: the
    problem after the pipeline's passes up to its last `tt-` pass."""
    from pintac.pass_manager import parse_pipeline_spec
    from pintac.passes.tt_partial_reconstruct import tt_report
    from pintac.registry import available_passes

    passes = parse_pipeline_spec(pipeline, available_passes())
    last = max((i for i, p in enumerate(passes) if p.name.startswith("tt-")), default=None)
    if last is None:
        return ""
    module = problem.transformed(",".join(str(p) for p in passes[: last + 1]))
    return "layers (MACs per batch row):\n" + tt_report(module) + "\n"


def pinta_summary(program, directory: str) -> str:
    """What `pintac compile` made for PINTA: instructions by class, memories, a step."""
    from pintac.runtime.pinta.report import format_energy, format_time

    executable = program.executable
    step = executable.step
    report = executable.report
    usage = executable.usage()
    counts = Counter(i.mnemonic for i in step.instructions)
    classes = ", ".join(f"{m} {n}" for m, n in counts.most_common())
    cfg = executable.config
    lines = [
        f"compiled     {program.name} ({program.pipeline}) for PINTA into {directory}/",
        f"instructions {len(step.instructions)}: {classes}",
        f"memory       SPM {format_bytes(usage['spm'])} of {format_bytes(cfg.memory.spm_bytes)}, "
        f"ACC {format_bytes(usage['acc'])} of {format_bytes(cfg.memory.acc_bytes)}, "
        f"DRAM {format_bytes(4 * step.dram_words)} of {format_bytes(cfg.memory.dram_bytes)}",
        f"step         {report.cycles} cycles ({format_time(report.time_us)} at "
        f"{cfg.clock.mhz:g} MHz), PE utilization {report.pe_utilization:.1%}, "
        f"{format_energy(report.total_energy_pj)}",
        f"run it       pintac sim {directory} --steps 10",
    ]
    return "\n".join(lines) + "\n"
