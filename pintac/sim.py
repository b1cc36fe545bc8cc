"""`pintac sim DIR`: train with a compiled PINTA program on the bundled simulator.

The host does what it does around the accelerator: before each step it samples the points of
every loss term (as `pintac run` does) and writes them into their DRAM homes; the parameters
and the optimizer state stay in the simulated DRAM from step to step; after each step it reads
the losses. At the end it reads the parameters back, measures the error of the network on
held-out points (on the CPU), keeps them in a checkpoint of `pintac run`'s format if asked
(`pintac predict` and `pintac plot` read it), and reports the simulated step: cycles, stalls,
utilization, traffic and energy, and the step's bounds beside them (`runtime/pinta/bounds.py`).

`--hw FILE` simulates other hardware than the program was compiled for (`DIR/hardware.toml`),
`--hw-set KEY=VALUE` changes keys on top. Only the capacity keys (`CAPACITY_KEYS`) decide
whether the program fits; every other key changes the timing and energy in the report, not
what the step computes.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pintac.cli_util import ArgumentParser, check_output, int_option
from pintac.core.errors import UserError
from pintac.core.limits import MAX_SEED, MAX_STEPS
from pintac.progress import Progress
from pintac.run import CHECKPOINT_NAME, describe_checkpoint
from pintac.runtime.files import (
    atomic_write_all,
    check_directory,
    refuse_clashing_outputs,
    refuse_overwriting_inputs,
)

# The keys that size what a program can address; the simulator refuses a program that
# addresses beyond them before its first step.
CAPACITY_KEYS = (
    "memory.spm_bytes",
    "memory.acc_bytes",
    "memory.acc_word_bytes",
    "memory.dram_bytes",
    "memory.const_entries",
)

_HARDWARE_HELP = """\
hardware: the program runs on the hardware it was compiled for (DIR/hardware.toml), or on
--hw FILE: a whole configuration whose omitted keys take the bundled defaults
(docs/pinta-hardware.md); --hw-set changes keys on top of either.
The capacity keys decide whether the program fits: memory.spm_bytes, memory.acc_bytes and
memory.acc_word_bytes (the number of accumulators), memory.dram_bytes and
memory.const_entries. A program that addresses beyond them is refused before the first
step, naming the instruction or the key.
Every other key (clock.*, gemm.*, dram.*, vector.*, sfu.*, quant.*, rng.*, energy.*,
memory.acc_words_per_cycle, memory.acc_latency) changes only the report: cycles, time and
energy (memory.acc_word_bytes also the ACC traffic); the losses and parameters stay the
same.
"""


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac sim",
        description="Train with a PINTA program (a directory from pintac compile) on the "
        "bundled\ncycle/energy simulator.",
        epilog=_HARDWARE_HELP
        + "\nexample: pintac compile examples/poisson2d_small.mlir --pipeline smx-diff\n"
        "         pintac sim poisson2d_small.pinta --steps 20 --report sim.json "
        "--checkpoint runs/sim",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("directory", help="the program directory (pintac compile --target pinta)")
    ap.add_argument(
        "--steps",
        type=int_option(1, MAX_STEPS),
        default=10,
        metavar="N",
        help="training steps from the initial state (default 10)",
    )
    ap.add_argument(
        "--seed",
        type=int_option(0, MAX_SEED),
        metavar="S",
        help="random seed of the points and perturbations (default: the program's)",
    )
    ap.add_argument(
        "--hw",
        metavar="FILE",
        help="simulate this hardware configuration (TOML) instead of the one the program was "
        "compiled for (see 'hardware' below)",
    )
    ap.add_argument(
        "--hw-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change one key of the hardware, e.g. dram.bytes_per_cycle=32 (repeatable; see "
        "'hardware' below)",
    )
    ap.add_argument("--report", metavar="FILE", help="write a JSON report here")
    ap.add_argument("--trace", metavar="FILE", help="write a trace of one step (Perfetto JSON)")
    ap.add_argument(
        "--checkpoint",
        metavar="DIR",
        help=f"write the trained parameters and optimizer state to DIR/{CHECKPOINT_NAME}, "
        "the checkpoint of pintac run (pintac predict and pintac plot read it)",
    )
    ap.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the checkpoint --checkpoint DIR already holds",
    )
    ap.add_argument("--no-eval", action="store_true", help="do not measure the error")
    ap.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    return ap


def run(argv: Sequence[str]) -> int:
    import pintac.api as pt
    from pintac.runtime.pinta.simulator import Simulator
    from pintac.runtime.pinta.target import FILES

    args = build_parser().parse_args(argv)
    checkpoint = _check_outputs(args)
    d, config = _read_program(args)
    step = d.step
    problem = pt.loads(d.problem_text, str(d.path / FILES["problem"]))
    pipeline = d.manifest["pipeline"]
    manifest = d.path / FILES["manifest"]
    try:
        program = problem.compile(pipeline)  # the host's sampling and evaluation
    except UserError as e:
        raise UserError(
            f"{manifest}: error: the program's pipeline {pipeline!r} does not compile its "
            f"problem ({FILES['problem']}):\n{e}"
        ) from None
    if (program.arg_roles, program.result_roles) != (step.arg_roles, step.result_roles):
        raise UserError(
            f"{d.path}: error: the program's arguments and results do not match its problem "
            f"compiled with pipeline {pipeline}"
        )
    mismatch = _tensor_mismatch(program, step)
    if mismatch:
        raise UserError(
            f"{manifest}: error: the program's tensors do not match its problem compiled with "
            f"pipeline {pipeline}: {mismatch}"
        )
    if program.schedule == "linear_decay" and args.steps > program.steps:
        raise UserError(
            f"pintac sim: error: the program decays its learning rate over {program.steps} "
            f"steps; --steps {args.steps} would train past the end of the schedule"
        )
    seed = args.seed if args.seed is not None else int(d.manifest.get("seed") or 0)
    try:
        sim = Simulator(
            step.instructions,
            config,
            d.image,
            const_base=step.const_base,
            const_entries=len(step.constants),
        )
    except UserError as e:
        note = _capacity_note(args, d, config)
        raise UserError(f"{e}\n{note}" if note else str(e)) from None
    tensors = {(t.kind, t.key): t for t in step.tensors}

    def view(t):
        return sim.dram[t.address : t.address + t.size].reshape(t.shape)

    history: list[dict[str, float]] = []
    seconds: list[float] = []
    progress = Progress(args.steps, stream=sys.stderr, enabled=not args.quiet)
    report = sim.report(seed, 0)
    try:
        for k in range(args.steps):
            for term, points in program.batch(seed, k).items():
                view(tensors["points", term])[...] = points
            start = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # as `run`
                report = sim.run_step(seed, k)
            seconds.append(time.perf_counter() - start)
            losses = {
                ("loss" if t.key == "loss" else f"loss_{t.key}"): float(view(t))
                for t in step.tensors
                if t.kind == "loss"
            }
            if not all(math.isfinite(v) for v in losses.values()):
                raise UserError(
                    f"pintac sim: error: the loss became {losses.get('loss')} at step {k + 1}; "
                    "try a smaller learning rate"
                )
            history.append({"step": k + 1, **losses})
            progress.update(k + 1, losses.get("loss", float("nan")))
    finally:
        progress.close()

    state = pt.TrainState(
        args.steps,
        {t.key: view(t).copy() for t in step.tensors if t.kind == "param"},
        {f"state:{t.key}": view(t).copy() for t in step.tensors if t.kind == "state"},
    )
    if checkpoint is not None:
        pt.Trainer(program, seed=seed, state=state, history=history).save(checkpoint)
    evaluation = None
    if not args.no_eval and program.exact is not None:
        with np.errstate(all="ignore"):
            evaluation = program.evaluate(state, pt.default_eval_points(program), seed)
    report = report.with_bounds(step, config)
    summary = {
        "directory": str(d.path),
        "problem": program.name,
        "pipeline": d.manifest["pipeline"],
        "hardware": args.hw or str(d.path / FILES["hardware"]),
        "hardware_overrides": list(args.hw_set),
        "seed": seed,
        "steps": args.steps,
        "loss": history[-1].get("loss"),
        "term_weights": program.term_weights,
        "rel_l2": None if evaluation is None else evaluation.rel_l2,
        "eval_points": None if evaluation is None else evaluation.points,
        "checkpoint": None if checkpoint is None else str(checkpoint),
        "simulation_seconds_per_step_median": statistics.median(seconds),
        "history": history,
        "pinta": report.to_dict(),
    }
    _print_summary(summary, report.to_text())
    _write_outputs(args, summary, report)
    return 0


def _write_outputs(args: argparse.Namespace, summary: dict, report) -> None:
    """The report and the trace, all or none (`-`: standard output)."""
    texts = {
        "report": (args.report, lambda: json.dumps(summary, indent=2) + "\n"),
        "trace": (args.trace, report.trace_json),
    }
    files = []
    for what, (path, text) in texts.items():
        if path == "-":
            sys.stdout.write(text())
        elif path is not None:
            files.append((path, lambda stream, text=text: stream.write(text().encode()), what))
    atomic_write_all(files)


def _check_outputs(args: argparse.Namespace) -> Path | None:
    """Before any work: the outputs can be written and none of them is an input (a file of
    the program directory or --hw). Returns the checkpoint's path, if one is asked for."""
    from pintac.runtime.pinta.target import FILES

    if args.checkpoint == "":
        raise UserError("pintac sim: error: --checkpoint: the directory is empty")
    if args.overwrite and not args.checkpoint:
        raise UserError("pintac sim: error: --overwrite needs --checkpoint DIR")
    checkpoint = Path(args.checkpoint) / CHECKPOINT_NAME if args.checkpoint else None
    inputs = [Path(args.directory) / name for name in FILES.values()]
    outputs = [(args.report, "report"), (args.trace, "trace"), (checkpoint, "checkpoint")]
    refuse_overwriting_inputs(outputs, [*inputs, args.hw], "pintac sim")
    refuse_clashing_outputs(outputs, "pintac sim")
    check_output(args.report, "report")
    check_output(args.trace, "trace")
    if checkpoint is not None:
        if checkpoint.is_dir():
            raise UserError(f"{checkpoint}: error: cannot write the checkpoint: it is a directory")
        check_directory(checkpoint.parent, "checkpoint")
        if checkpoint.exists() and not args.overwrite:
            raise UserError(
                f"{checkpoint}: error: a checkpoint is already there"
                f"{describe_checkpoint(checkpoint)}; replace it with --overwrite, or give "
                "another --checkpoint DIR"
            )
    return checkpoint


def _read_program(args: argparse.Namespace):
    """The program directory and the hardware to simulate: the one the program was compiled
    for with --hw-set's changes, or --hw's with them."""
    from pintac.runtime.pinta.config import load_config
    from pintac.runtime.pinta.target import ProgramDirectory

    if args.hw is None:
        d = ProgramDirectory.read(args.directory, tuple(args.hw_set))
        return d, d.config
    d = ProgramDirectory.read(args.directory, ())
    return d, load_config(args.hw, list(args.hw_set))


def _capacity_note(args: argparse.Namespace, d, config) -> str:
    """Which capacity keys the simulated hardware changes from the compiled one, and where the
    change comes from (--hw FILE or --hw-set); empty if none."""
    from pintac.runtime.pinta.config import load_config
    from pintac.runtime.pinta.target import FILES

    compiled_path = d.path / FILES["hardware"]
    compiled = load_config(compiled_path) if args.hw is None else d.config
    set_keys = {item.split("=", 1)[0].strip() for item in args.hw_set}
    notes = []
    for key in CAPACITY_KEYS:
        section, name = key.split(".")
        now, then = (
            getattr(getattr(config, section), name),
            getattr(getattr(compiled, section), name),
        )
        if now != then:
            source = "--hw-set" if key in set_keys else args.hw
            notes.append(
                f"note: {source} gives {key} = {now}; the program was compiled for {then} "
                f"({compiled_path})"
            )
    return "\n".join(notes)


def _tensor_mismatch(program, step) -> str | None:
    """How the DRAM homes of a program differ from the tensors the host reads and writes for
    its problem (parameters and optimizer state, each term's points, the losses); None if
    they do not."""
    expected = {tuple(spec.name.split(":", 1)): spec.shape for spec in program.tensor_specs()}
    for term, points in program.batch(0, 0).items():
        expected["points", term] = points.shape
    expected["loss", "loss"] = ()
    for term in program.terms:
        expected["loss", term.name] = ()
    found = {(t.kind, t.key): t.shape for t in step.tensors}
    for (kind, key), shape in expected.items():
        if (kind, key) not in found:
            return f"no {kind} tensor {key}"
        if found[kind, key] != shape:
            return f"{kind} tensor {key} has shape {list(found[kind, key])}, not {list(shape)}"
    for kind, key in found:
        if (kind, key) not in expected:
            return f"the problem has no {kind} tensor {key}"
    return None


def _print_summary(s: dict, report_text: str) -> None:
    lines = [
        f"program      {s['directory']} ({s['problem']}, {s['pipeline']}, seed {s['seed']})",
        f"hardware     {s['hardware']}" + "".join(f", {item}" for item in s["hardware_overrides"]),
        f"steps        {s['steps']}, loss {s['loss']:.4e}",
    ]
    if s["rel_l2"] is not None:
        lines.append(
            f"rel. L2 err  {s['rel_l2']:.4e} ({s['eval_points']} held-out points, raw network)"
        )
    if s["checkpoint"] is not None:
        lines.append(f"checkpoint   {s['checkpoint']}")
    lines.append(f"simulation   {s['simulation_seconds_per_step_median']:.3f} s per step (median)")
    sys.stdout.write("\n".join(lines) + "\n\n" + report_text)
