"""`pintac run FILE`: compile a problem and train it on the CPU with the NumPy runtime."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pintac.cli_util import (
    ArgumentParser,
    add_hardware_arguments,
    check_output,
    format_bytes,
    hardware_options,
    int_option,
)
from pintac.core.errors import UserError
from pintac.core.limits import MAX_EVAL_POINTS, MAX_SEED, MAX_STEPS
from pintac.pipelines import add_pipeline_argument
from pintac.runtime.files import (
    atomic_write_all,
    check_directory,
    refuse_clashing_outputs,
    refuse_overwriting_inputs,
)

CHECKPOINT_NAME = "checkpoint.npz"
EVAL_EVERY_POINTS = 1000  # held-out points of the evaluations during training (at most)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with the message saying where the run stopped and how to continue it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac run",
        description="Train a PINN problem with the NumPy runtime and report its error.",
        epilog="example: pintac run examples/poisson2d.mlir --steps 1000 --report run.json",
    )
    ap.add_argument("input", help="problem file (.mlir)")
    ap.add_argument(
        "--steps",
        type=int_option(1, MAX_STEPS),
        metavar="N",
        help="training steps (default: the problem's; with --resume: the checkpoint's run). "
        "With --resume, more steps than the checkpoint's run extend it",
    )
    ap.add_argument(
        "--seed",
        type=int_option(0, MAX_SEED),
        metavar="S",
        help="random seed, 0 to 2^64-1 (default: the problem's, else 0)",
    )
    add_pipeline_argument(ap)
    ap.add_argument("--report", metavar="FILE", help="write a JSON report here")
    ap.add_argument(
        "--checkpoint",
        metavar="DIR",
        help=f"keep a checkpoint ({CHECKPOINT_NAME}) in this directory",
    )
    ap.add_argument(
        "--checkpoint-every",
        type=int_option(1, MAX_STEPS),
        default=100,
        metavar="N",
        help="with --checkpoint: write one every N steps (default 100) and at the end",
    )
    ap.add_argument(
        "--resume", action="store_true", help="continue from the checkpoint in --checkpoint DIR"
    )
    ap.add_argument(
        "--overwrite",
        action="store_true",
        help="start over even though --checkpoint DIR holds a checkpoint (it is replaced)",
    )
    ap.add_argument(
        "--init-from",
        metavar="CKPT",
        help="start from the parameters of this checkpoint (a checkpoint.npz, or its "
        "directory) instead of their inits; with tt-compress{init=svd} a dense model's TT "
        "layers start from the TT-SVD of its weights",
    )
    ap.add_argument(
        "--eval-points",
        type=int_option(1, MAX_EVAL_POINTS),
        metavar="N",
        help="held-out points for the final error (default: the problem's, else 10000)",
    )
    ap.add_argument(
        "--eval-every",
        type=int_option(0, MAX_STEPS),
        metavar="N",
        help="also measure the error every N steps, on at most "
        f"{EVAL_EVERY_POINTS} points, into the report's history (default: every 10%% of the "
        "steps; 0: only at the end)",
    )
    ap.add_argument(
        "--smoothed",
        action="store_true",
        help="measure the error of the Gaussian-smoothed network, not the raw one",
    )
    ap.add_argument("--no-eval", action="store_true", help="do not measure the error")
    ap.add_argument(
        "--plot",
        metavar="DIR",
        help="draw the losses, the error and the solution into DIR (needs matplotlib)",
    )
    ap.add_argument(
        "--target",
        choices=("numpy", "numpy-exact", "numpy-fast", "pinta-sim"),
        default="numpy",
        help="where the training step runs: the NumPy runtime (numpy-exact: every GEMM "
        "exact, the arithmetic contract; numpy-fast: every GEMM a float32 BLAS product of "
        "the quantized values, faster, not bit for bit the contract), or PINTA's simulator "
        "(pinta-sim)",
    )
    add_hardware_arguments(ap)
    ap.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    return ap


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    session = _Session(args, list(argv))
    try:
        return session.run()
    except KeyboardInterrupt:
        raise Interrupted(session.interrupted()) from None


class _Session:
    """One `pintac run`: what it has done so far, for the message when Ctrl-C stops it."""

    def __init__(self, args: argparse.Namespace, argv: list[str]):
        self.args = args
        self.argv = argv
        self.checkpoint = Path(args.checkpoint) / CHECKPOINT_NAME if args.checkpoint else None
        self.trainer = None
        self.total: int | None = None

    # -- before any work: options, outputs, an existing checkpoint
    def check(self) -> None:
        args = self.args
        for option, value in (("--checkpoint", args.checkpoint), ("--plot", args.plot)):
            if value == "":
                raise UserError(f"pintac run: error: {option}: the directory is empty")
        if args.resume and not args.checkpoint:
            raise UserError("pintac run: error: --resume needs --checkpoint DIR")
        if args.overwrite and not args.checkpoint:
            raise UserError("pintac run: error: --overwrite needs --checkpoint DIR")
        if args.resume and args.overwrite:
            raise UserError(
                "pintac run: error: --resume and --overwrite exclude each other: --resume "
                "continues the checkpoint, --overwrite replaces it"
            )
        if args.resume and args.init_from:
            raise UserError(
                "pintac run: error: --resume and --init-from exclude each other: --resume "
                "continues a run, --init-from starts a new one from a checkpoint's parameters"
            )
        self.refuse_overwriting()
        check_output(args.report, "report")
        if self.checkpoint is not None:
            if self.checkpoint.is_dir():
                raise UserError(
                    f"{self.checkpoint}: error: cannot write the checkpoint: it is a directory"
                )
            check_directory(self.checkpoint.parent, "checkpoint")
            if self.checkpoint.exists() and not args.resume and not args.overwrite:
                raise UserError(
                    f"{self.checkpoint}: error: a checkpoint is already there"
                    f"{describe_checkpoint(self.checkpoint)}; continue it with --resume, or "
                    "start over with --overwrite (which replaces it)"
                )
            if args.resume and not self.checkpoint.exists():
                raise UserError(f"{self.checkpoint}: error: no checkpoint to resume from")
        if args.plot:
            check_directory(Path(args.plot), "plots")
            from pintac.plot import require_matplotlib

            require_matplotlib()

    def refuse_overwriting(self) -> None:
        """No output is an input, nor another output (the checkpoint resumed from is both)."""
        args = self.args
        checkpoint = [(self.checkpoint, "checkpoint")]
        others = [(args.report, "report")]
        if args.plot:
            from pintac.plot import plot_files

            others += [(path, "plot") for path in plot_files(Path(args.plot))]
        inputs = [args.input, args.hw, _checkpoint_file(args.init_from) if args.init_from else None]
        command = "pintac run"
        refuse_overwriting_inputs(checkpoint, inputs, command)
        resumed = [self.checkpoint] if args.resume else []
        refuse_overwriting_inputs(others, inputs + resumed, command)
        refuse_clashing_outputs(checkpoint + others, command)

    def run(self) -> int:
        args = self.args
        self.check()
        _tune_malloc()

        import pintac.api as pt
        from pintac.progress import Progress

        resumed = None
        steps = args.steps
        if args.resume:
            resumed = pt.read_checkpoint(self.checkpoint)
            if steps is None:
                steps = resumed.steps
            if steps < resumed.step:
                raise UserError(
                    f"{self.checkpoint}: error: the checkpoint is at step {resumed.step}, past "
                    f"--steps {steps}; give --steps {resumed.step} or more to continue it"
                )
        problem = pt.load(args.input)
        started = time.perf_counter()
        if (args.hw or args.hw_set) and args.target != "pinta-sim":
            raise UserError("pintac run: error: --hw and --hw-set configure --target pinta-sim")
        hw = hardware_options(args) if args.target == "pinta-sim" else None
        program = problem.compile(args.pipeline, steps=steps, target=args.target, hw=hw)
        compile_seconds = time.perf_counter() - started
        self.total = total = program.steps
        evaluate = not args.no_eval
        if evaluate and program.exact is None:
            raise UserError(
                f"{args.input}: error: the problem has no pinn.exact solution, so pintac run "
                "cannot report its error; add one, or pass --no-eval"
            )
        eval_points = pt.default_eval_points(program, args.eval_points) if evaluate else None

        if resumed is not None:
            resumed.check(program)
            if args.seed is not None and args.seed != resumed.seed:
                raise UserError(
                    f"{self.checkpoint}: error: the checkpoint was trained with seed "
                    f"{resumed.seed}, not {args.seed}"
                )
            self.trainer = trainer = pt.Trainer.resume(program, self.checkpoint)
        elif args.init_from:
            self.trainer = trainer = _start_from(program, args.init_from, args.seed)
        else:
            self.trainer = trainer = pt.Trainer(program, seed=args.seed)
        start_step = trainer.step

        eval_every = 0
        if evaluate:
            eval_every = max(1, total // 10) if args.eval_every is None else args.eval_every
        every_points = min(EVAL_EVERY_POINTS, eval_points) if evaluate else 0
        remaining = max(0, total - trainer.step)
        log = sys.stderr
        if not args.quiet:
            log.write(
                f"pintac: {program.name}: pipeline {args.pipeline}, {total} steps, "
                f"seed {trainer.seed}"
                + (f", resuming at step {trainer.step}" if resumed is not None else "")
                + f" (compiled in {compile_seconds:.2f} s)\n"
            )
        progress = Progress(total, start_step=trainer.step, stream=log, enabled=not args.quiet)
        last_error: dict[str, float] = {}

        def report_progress(step: int, metrics: dict[str, float]) -> None:
            if "rel_l2" in metrics:
                last_error["err"] = metrics["rel_l2"]
            progress.update(step, metrics["loss"], last_error or None)

        train_start = time.perf_counter()
        try:
            trainer.train(
                remaining,
                callback=report_progress,
                checkpoint=self.checkpoint,
                checkpoint_every=args.checkpoint_every,
                eval_every=eval_every,
                eval_points=every_points or 1,
                smoothed=args.smoothed,
            )
        finally:
            progress.close()
        train_seconds = time.perf_counter() - train_start
        if self.checkpoint is not None and trainer.last_checkpoint_step != trainer.step:
            trainer.save(self.checkpoint)

        evaluation = None
        if evaluate:
            evaluation = trainer.evaluate(eval_points, smoothed=args.smoothed)
        summary = _summary(
            program,
            trainer,
            evaluation,
            train_seconds,
            compile_seconds,
            args,
            start_step=start_step,
            eval_every=eval_every,
            eval_every_points=every_points,
            checkpoint=self.checkpoint,
        )
        _print_summary(summary)
        _write_outputs(summary, program, trainer, args)
        return 0

    # -- Ctrl-C
    def interrupted(self) -> str:
        trainer = self.trainer
        if trainer is None:
            where = "pintac run: interrupted before training started"
            if self.args.resume and self.checkpoint is not None:
                where += f"; the checkpoint {self.checkpoint} is unchanged"
            return where
        message = f"pintac run: interrupted at step {trainer.step} of {self.total}"
        if trainer.last_checkpoint is None:
            hint = (
                " (run with --checkpoint DIR to be able to resume)" if not self.checkpoint else ""
            )
            return message + f"; no checkpoint was written{hint}"
        message += (
            f"; the last checkpoint is {trainer.last_checkpoint} "
            f"(step {trainer.last_checkpoint_step})"
        )
        argv = [a for a in self.argv if a != "--overwrite"]
        if "--resume" not in argv:
            argv.append("--resume")
        return message + "\nresume with: " + shlex.join(["pintac", "run", *argv])


def _write_outputs(summary: dict, program, trainer, args: argparse.Namespace) -> None:
    """The report and the plots, all or none (a report `-` goes to standard output)."""
    report = json.dumps(summary, indent=2) + "\n"
    if args.report == "-":
        sys.stdout.write(report)
    files = []
    if args.report not in (None, "-"):
        files.append((args.report, lambda stream: stream.write(report.encode("utf-8")), "report"))
    if not args.plot:
        atomic_write_all(files)
        return
    from pintac.plot import draw_run, write_drawings

    drawings = draw_run(summary, Path(args.plot), program, trainer.state.params)
    for path in write_drawings(drawings, before=files):
        sys.stdout.write(f"wrote {path}\n")


def describe_checkpoint(path: Path) -> str:
    """` (step 200 of 200, problem poisson2d)`, or nothing if the file cannot be read."""
    try:
        import pintac.api as pt

        ck = pt.read_checkpoint(path)
    except UserError:
        return ""
    return f" (step {ck.step} of {ck.steps}, problem {ck.problem_name})"


def _summary(
    program,
    trainer,
    evaluation,
    train_seconds,
    compile_seconds,
    args,
    *,
    start_step: int,
    eval_every: int,
    eval_every_points: int,
    checkpoint: Path | None,
) -> dict:
    steps_run = len(trainer.step_seconds)
    last = trainer.history[-1] if trainer.history else {}
    terms = [t.name for t in program.terms]
    return {
        "problem": program.name,
        "file": args.input,
        "pipeline": args.pipeline,
        "pipeline_spec": program.pipeline_id,
        "seed": trainer.seed,
        "steps": trainer.step,
        "steps_this_run": steps_run,
        "resumed_at": start_step if args.resume else None,
        "initialized_from": args.init_from,
        "loss": last.get("loss"),
        "term_losses": {t: last[f"loss_{t}"] for t in terms if f"loss_{t}" in last},
        "term_weights": program.term_weights,
        "loss_is": "sum over terms of weight x mean squared residual",
        "rel_l2": None if evaluation is None else evaluation.rel_l2,
        "eval_points": None if evaluation is None else evaluation.points,
        "eval_every": eval_every,
        "eval_every_points": eval_every_points if eval_every else None,
        "smoothed": args.smoothed,
        "checkpoint": None if checkpoint is None else str(checkpoint),
        "train_seconds": train_seconds,
        "compile_seconds": compile_seconds,
        "seconds_per_step_median": statistics.median(trainer.step_seconds) if steps_run else None,
        "history": trainer.history,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "target": args.target,
        "quantization": _quantization(program, trainer),
        "pinta": _pinta_report(program),
    }


def _quantization(program, trainer) -> dict | None:
    """Per kind of quantized tensor: bytes in quantized copies, copies, SQNR, measured on one
    step at the final parameters (None for an f32 pipeline)."""
    from pintac.dialects import smx
    from pintac.runtime.quantization_report import measure

    f = program.functions["train_step"]
    if not any(isinstance(op, smx.QuantizeOp) for op in f.walk()):
        return None
    state, seed = trainer.state, trainer.seed
    args = program.step_arguments(state, seed, program.batch(seed, state.step))
    with np.errstate(all="ignore"):
        return measure(f, args).as_json()


def _pinta_report(program) -> dict | None:
    """The simulated step's cycles, queues, traffic and energy (pinta-sim only)."""
    if program.target != "pinta-sim":
        return None
    executable = program.executable
    return executable.report.with_bounds(executable.step, executable.config).to_dict()


def _print_summary(s: dict) -> None:
    steps = f"steps        {s['steps']}"
    if s["resumed_at"] is not None:
        steps += f" (resumed at step {s['resumed_at']})"
    lines = [f"problem      {s['problem']} ({s['pipeline']}, seed {s['seed']})", steps]
    if s["loss"] is not None:
        weights = s["term_weights"]
        terms = " + ".join(
            f"{weights.get(k, 1.0):g} × {k} {v:.3e}" for k, v in s["term_losses"].items()
        )
        lines.append(f"loss         {s['loss']:.4e} = {terms} (weighted mean squared residuals)")
    if s["rel_l2"] is not None:
        kind = "smoothed" if s["smoothed"] else "raw network"
        lines.append(f"rel. L2 err  {s['rel_l2']:.4e} ({s['eval_points']} held-out points, {kind})")
    for use, q in (s["quantization"] or {}).items():
        lines.append(
            f"quantized    {use}: {format_bytes(q['bytes'])} per step in {q['copies']} "
            f"copies, SQNR {q['sqnr_db']:.1f} dB"
        )
    if s["pinta"] is not None:
        from pintac.runtime.pinta.report import format_energy, format_time

        p = s["pinta"]
        lines.append(
            f"PINTA        {p['cycles']} cycles per step ({format_time(p['time_us'])} at "
            f"{p['clock_mhz']:g} MHz), PE utilization {p['pe_utilization']:.1%}, "
            f"{format_energy(p['energy_pj']['total'])}"
        )
    if s["seconds_per_step_median"] is not None:
        lines.append(
            f"time         {s['train_seconds']:.1f} s training "
            f"({s['seconds_per_step_median'] * 1e3:.1f} ms/step median), "
            f"{s['compile_seconds']:.2f} s compiling"
        )
    sys.stdout.write("\n".join(lines) + "\n")


def _tune_malloc() -> None:
    """Keep glibc from returning freed memory to the OS after every large temporary.

    A training step allocates and frees many ~100 MB arrays; with glibc's defaults each one is
    mmap'ed and unmapped again, which made step times erratic. Harmless elsewhere.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_max = -1, -4
        libc.mallopt(m_mmap_max, 0)
        libc.mallopt(m_trim_threshold, 1 << 30)
    except (OSError, AttributeError):
        pass


def _checkpoint_file(path: str) -> Path:
    """The checkpoint `--init-from` names: the file, or the checkpoint in the directory."""
    checkpoint = Path(path)
    return checkpoint / CHECKPOINT_NAME if checkpoint.is_dir() else checkpoint


def _start_from(program, path: str, seed: int | None):
    """A trainer at step 0 whose parameters are those of the checkpoint at `path`."""
    import pintac.api as pt

    checkpoint = _checkpoint_file(path)
    params = pt.read_checkpoint(checkpoint).params
    try:
        return pt.Trainer(program, seed=seed, initial_values=params)
    except UserError as e:
        hint = ""
        if "tt-compress" in program.pipeline_id and "init=svd" not in program.pipeline_id:
            hint = (
                "\nnote: tt-compress removes the dense weights it compresses; to start its TT "
                "layers from them, give tt-compress{init=svd} in the pipeline"
            )
        message = str(e).removeprefix("error: ")
        raise UserError(
            f"{checkpoint}: error: cannot start from this checkpoint: {message}{hint}"
        ) from None
