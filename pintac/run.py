"""`pintac run FILE`: compile a problem and train it on the CPU with the NumPy runtime."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pintac.cli_util import ArgumentParser, write_output
from pintac.pipelines import add_pipeline_argument
from pintac.runtime.errors import UserError

CHECKPOINT_NAME = "checkpoint.npz"


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac run",
        description="Train a PINN problem with the NumPy runtime and report its error.",
        epilog="example: pintac run examples/poisson2d.mlir --steps 1000 --report run.json",
    )
    ap.add_argument("input", help="problem file (.mlir)")
    ap.add_argument("--steps", type=int, help="training steps (default: the problem's)")
    ap.add_argument("--seed", type=int, help="random seed (default: the problem's, else 0)")
    add_pipeline_argument(ap)
    ap.add_argument("--report", metavar="FILE", help="write a JSON report here")
    ap.add_argument(
        "--checkpoint",
        metavar="DIR",
        help=f"keep a checkpoint ({CHECKPOINT_NAME}) in this directory",
    )
    ap.add_argument(
        "--checkpoint-every",
        type=int,
        default=100,
        metavar="N",
        help="with --checkpoint: write one every N steps (default 100) and at the end",
    )
    ap.add_argument(
        "--resume", action="store_true", help="continue from the checkpoint in --checkpoint DIR"
    )
    ap.add_argument(
        "--eval-points",
        type=int,
        metavar="N",
        help="held-out points for the error (default: the problem's, else 10000)",
    )
    ap.add_argument(
        "--smoothed",
        action="store_true",
        help="measure the error of the Gaussian-smoothed network, not the raw one",
    )
    ap.add_argument("--no-eval", action="store_true", help="do not measure the error")
    ap.add_argument("--quiet", action="store_true", help="no progress bar, only the summary")
    return ap


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.resume and not args.checkpoint:
        raise UserError("pintac run: error: --resume needs --checkpoint DIR")
    if args.steps is not None and args.steps < 0:
        raise UserError(f"pintac run: error: --steps must be >= 0, got {args.steps}")
    if args.checkpoint_every < 1:
        raise UserError("pintac run: error: --checkpoint-every must be positive")
    _tune_malloc()

    import pintac.api as pt
    from pintac.progress import Progress

    problem = pt.load(args.input)
    started = time.perf_counter()
    program = problem.compile(args.pipeline, steps=args.steps)
    compile_seconds = time.perf_counter() - started
    total = program.steps
    if not args.no_eval and program.exact is None:
        raise UserError(
            f"{args.input}: error: the problem has no pinn.exact solution, so pintac run cannot "
            "report its error; add one, or pass --no-eval"
        )

    checkpoint = Path(args.checkpoint) / CHECKPOINT_NAME if args.checkpoint else None
    if checkpoint is not None:
        _prepare_directory(checkpoint.parent)
    if args.resume:
        if not checkpoint.exists():
            raise UserError(f"{checkpoint}: error: no checkpoint to resume from")
        trainer = pt.Trainer.resume(program, checkpoint)
        if args.seed is not None and args.seed != trainer.seed:
            raise UserError(
                f"{checkpoint}: error: the checkpoint was trained with seed {trainer.seed}, "
                f"not {args.seed}"
            )
    else:
        trainer = pt.Trainer(program, seed=args.seed)

    remaining = max(0, total - trainer.step)
    log = sys.stderr
    if not args.quiet:
        log.write(
            f"pintac: {program.name}: pipeline {args.pipeline}, {total} steps, seed {trainer.seed}"
            + (f", resuming at step {trainer.step}" if trainer.step else "")
            + f" (compiled in {compile_seconds:.2f} s)\n"
        )
    progress = Progress(total, start_step=trainer.step, stream=log, enabled=not args.quiet)
    train_start = time.perf_counter()
    try:
        trainer.train(
            remaining,
            callback=lambda step, m: progress.update(step, m["loss"]),
            checkpoint=checkpoint,
            checkpoint_every=args.checkpoint_every,
        )
    finally:
        progress.close()
    train_seconds = time.perf_counter() - train_start
    if checkpoint is not None:
        trainer.save(checkpoint)

    evaluation = None
    if not args.no_eval:
        evaluation = trainer.evaluate(args.eval_points, smoothed=args.smoothed)
    last = trainer.history[-1] if trainer.history else {}
    summary = _summary(program, trainer, evaluation, last, train_seconds, compile_seconds, args)
    _print_summary(summary)
    if args.report:
        write_output(json.dumps(summary, indent=2) + "\n", args.report, "report")
    return 0


def _summary(program, trainer, evaluation, last, train_seconds, compile_seconds, args) -> dict:
    steps_run = len(trainer.step_seconds)
    return {
        "problem": program.name,
        "file": args.input,
        "pipeline": args.pipeline,
        "pipeline_spec": program.spec,
        "seed": trainer.seed,
        "steps": trainer.step,
        "steps_this_run": steps_run,
        "loss": last.get("loss"),
        "term_losses": {
            k.removeprefix("loss_"): v for k, v in last.items() if k.startswith("loss_")
        },
        "rel_l2": None if evaluation is None else evaluation.rel_l2,
        "eval_points": None if evaluation is None else evaluation.points,
        "smoothed": args.smoothed,
        "train_seconds": train_seconds,
        "compile_seconds": compile_seconds,
        "seconds_per_step_median": statistics.median(trainer.step_seconds) if steps_run else None,
        "history": trainer.history,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }


def _print_summary(s: dict) -> None:
    lines = [
        f"problem      {s['problem']} ({s['pipeline']}, seed {s['seed']})",
        f"steps        {s['steps']}",
    ]
    if s["loss"] is not None:
        terms = ", ".join(f"{k} {v:.3e}" for k, v in s["term_losses"].items())
        lines.append(f"loss         {s['loss']:.4e} ({terms})")
    if s["rel_l2"] is not None:
        kind = "smoothed" if s["smoothed"] else "raw network"
        lines.append(f"rel. L2 err  {s['rel_l2']:.4e} ({s['eval_points']} held-out points, {kind})")
    if s["seconds_per_step_median"] is not None:
        lines.append(
            f"time         {s['train_seconds']:.1f} s training "
            f"({s['seconds_per_step_median'] * 1e3:.1f} ms/step median), "
            f"{s['compile_seconds']:.2f} s compiling"
        )
    sys.stdout.write("\n".join(lines) + "\n")


def _prepare_directory(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(
            f"{path}: error: cannot create the checkpoint directory: {e.strerror}"
        ) from None


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
