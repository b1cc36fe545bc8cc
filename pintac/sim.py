"""`pintac sim DIR`: train with a compiled PINTA program on the bundled simulator.

The host does what it does around the accelerator: before each step it samples the points of
every loss term (as `pintac run` does) and writes them into their DRAM homes; the parameters
and the optimizer state stay in the simulated DRAM from step to step; after each step it reads
the losses. At the end it reads the parameters back and measures the error of the network on
held-out points (on the CPU), and reports the simulated step: cycles, stalls, utilization,
traffic and energy.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np

from pintac.cli_util import ArgumentParser, check_output, int_option, write_output
from pintac.limits import MAX_SEED, MAX_STEPS
from pintac.progress import Progress
from pintac.runtime.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac sim",
        description="Train with a PINTA program (a directory from pintac compile) on the "
        "bundled cycle/energy simulator.",
        epilog="example: pintac compile examples/poisson2d_small.mlir --pipeline smx-diff && "
        "pintac sim poisson2d_small.pinta --steps 20 --report sim.json",
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
        "--hw-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a key of the hardware the program was compiled for, for its timing "
        "(e.g. dram.bytes_per_cycle=32); repeatable",
    )
    ap.add_argument("--report", metavar="FILE", help="write a JSON report here")
    ap.add_argument("--trace", metavar="FILE", help="write a trace of one step (Perfetto JSON)")
    ap.add_argument("--no-eval", action="store_true", help="do not measure the error")
    ap.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    return ap


def run(argv: Sequence[str]) -> int:
    import pintac.api as pt
    from pintac.runtime.pinta.simulator import Simulator
    from pintac.runtime.pinta.target import FILES, ProgramDirectory

    args = build_parser().parse_args(argv)
    check_output(args.report, "report")
    check_output(args.trace, "trace")
    d = ProgramDirectory.read(args.directory, tuple(args.hw_set))
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
    sim = Simulator(
        step.instructions,
        d.config,
        d.image,
        const_base=step.const_base,
        const_entries=len(step.constants),
    )
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
                    f"pintac sim: error: the loss became {losses.get('loss')} at step {k}; "
                    "try a smaller learning rate"
                )
            history.append({"step": k + 1, **losses})
            progress.update(k + 1, losses.get("loss", float("nan")))
    finally:
        progress.close()

    evaluation = None
    if not args.no_eval and program.exact is not None:
        params = {t.key: view(t).copy() for t in step.tensors if t.kind == "param"}
        state = pt.TrainState(args.steps, params, {})
        with np.errstate(all="ignore"):
            evaluation = program.evaluate(state, pt.default_eval_points(program), seed)
    summary = {
        "directory": str(d.path),
        "problem": program.name,
        "pipeline": d.manifest["pipeline"],
        "seed": seed,
        "steps": args.steps,
        "loss": history[-1].get("loss"),
        "rel_l2": None if evaluation is None else evaluation.rel_l2,
        "eval_points": None if evaluation is None else evaluation.points,
        "simulation_seconds_per_step_median": statistics.median(seconds),
        "history": history,
        "pinta": report.to_dict(),
    }
    _print_summary(summary, report.to_text())
    if args.report:
        write_output(json.dumps(summary, indent=2) + "\n", args.report, "report")
    if args.trace:
        report.write_trace(args.trace)
    return 0


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
        f"steps        {s['steps']}, loss {s['loss']:.4e}",
    ]
    if s["rel_l2"] is not None:
        lines.append(
            f"rel. L2 err  {s['rel_l2']:.4e} ({s['eval_points']} held-out points, raw network)"
        )
    lines.append(f"simulation   {s['simulation_seconds_per_step_median']:.3f} s per step (median)")
    sys.stdout.write("\n".join(lines) + "\n\n" + report_text)
