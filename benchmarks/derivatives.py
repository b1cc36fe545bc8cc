"""Derivative strategies compared: Stein's estimator, exact Taylor-mode jets and STDE.

For each paper example (poisson2d, hjb20d, heat100d) and each strategy at fp32 (pipelines
`fp32` for stein, `fp32-taylor`, `fp32-stde`), on the CPU (NumPy runtime): the rel. L2 error
after the steps run (10 000 held-out points), the median seconds per step, and the time to
reach 1e-2 (the error measured on 1 000 points every `--eval-every` steps, so the time is at
that resolution); on PINTA (compile only): MACs, cycles and energy of one step, from the
executable's report. Each row is appended to `benchmarks/results/derivatives.json`
(`benchmarks/records.py`) with the steps, the machine's load average and the settings.

    python benchmarks/derivatives.py                          # every example, its own steps
    python benchmarks/derivatives.py --steps 200 --examples poisson2d hjb20d
    python benchmarks/derivatives.py --no-pinta               # the CPU columns only
    python benchmarks/derivatives.py --examples hjb20d --strategies taylor --lr 1e-3 --batch 200
    python benchmarks/derivatives.py --examples heat100d --strategies taylor stde --alternate 10
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import records  # noqa: E402

PIPELINES = {"stein": "fp32", "taylor": "fp32-taylor", "stde": "fp32-stde"}
EXAMPLES = ("poisson2d", "hjb20d", "heat100d")
TARGET_ERROR = 1e-2
RESULTS = ROOT / "benchmarks" / "results" / "derivatives.json"


def train_on_cpu(problem, pipeline: str, steps: int | None, eval_every: int) -> dict:
    """Train on the NumPy runtime; the error, s/step and time to TARGET_ERROR."""
    import pintac.api as pt

    start = time.perf_counter()
    program = problem.compile(pipeline, steps=steps)
    compile_s = time.perf_counter() - start
    trainer = pt.Trainer(program)
    steps = steps or program.steps
    trainer.train(steps, eval_every=eval_every, eval_points=1000)
    reached = next(
        (i for i, h in enumerate(trainer.history) if h.get("rel_l2", 1.0) <= TARGET_ERROR), None
    )
    return {
        "steps": steps,
        "rel_l2": trainer.evaluate(10000).rel_l2,
        "s_per_step": statistics.median(trainer.step_seconds),
        "compile_s": compile_s,
        "time_to_1e-2_s": None if reached is None else sum(trainer.step_seconds[: reached + 1]),
    }


def pinta_step(problem, pipeline: str) -> dict:
    """MACs, cycles and energy of one step of the program compiled for PINTA."""
    report = problem.compile(pipeline, target="pinta").executable.report
    return {
        "macs": sum(report.macs.values()),
        "cycles": report.cycles,
        "energy_mj": report.total_energy_pj * 1e-9,
    }


def alternate(problem, strategies: list[str], steps: int, samples: int | None) -> dict:
    """Median s/step of each strategy's step, the programs alternating step by step in one
    process (machine noise hits all alike), and each one's ratio to `taylor`'s."""
    import pintac.api as pt

    trainers = {s: pt.Trainer(problem.compile(_pipeline(s, samples)), seed=0) for s in strategies}
    for trainer in trainers.values():
        trainer.train(2)  # warm-up
    for _ in range(steps):
        for trainer in trainers.values():
            trainer.train(1)
    median = {s: statistics.median(t.step_seconds[2:]) for s, t in trainers.items()}
    base = median.get("taylor")
    return {s: (m, None if base is None else m / base) for s, m in median.items()}


def _pipeline(strategy: str, samples: int | None) -> str:
    if strategy == "stde" and samples:
        return (
            f"pinn-build-loss{{derivatives=stde samples={samples}}},pinn-autodiff,"
            "optimizer-lower,cse,dce"
        )
    return PIPELINES[strategy]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", nargs="+", default=list(EXAMPLES), choices=EXAMPLES)
    ap.add_argument("--strategies", nargs="+", default=list(PIPELINES), choices=PIPELINES)
    ap.add_argument("--steps", type=int, help="steps per run (default: the example's)")
    ap.add_argument("--eval-every", type=int, default=50, metavar="N")
    ap.add_argument("--no-pinta", action="store_true", help="skip the PINTA columns")
    ap.add_argument("--no-cpu", action="store_true", help="skip training on the CPU")
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--lr", type=float, help="the learning rate (default: the example's)")
    ap.add_argument("--batch", type=int, help="points of every loss term (default: the example's)")
    ap.add_argument("--samples", type=int, help="stde: sampled coordinates a point (default 16)")
    ap.add_argument(
        "--alternate",
        type=int,
        metavar="N",
        help="instead: N steps of each strategy alternating in one process; s/step and the "
        "ratio to taylor",
    )
    args = ap.parse_args(argv)
    if args.alternate:
        for example in args.examples:
            problem = _with_settings(ROOT / "examples" / f"{example}.mlir", args.lr, args.batch)
            for strategy, (seconds, ratio) in alternate(
                problem, args.strategies, args.alternate, args.samples
            ).items():
                shown = "" if ratio is None else f", {ratio:.3f} of taylor's"
                print(f"{example} {strategy}: {seconds:.4f} s/step{shown}", flush=True)
        return 0

    print("example    strategy  steps  rel_l2     s/step  to_1e-2_s  MACs/step  cycles  mJ")
    for example in args.examples:
        problem = _with_settings(ROOT / "examples" / f"{example}.mlir", args.lr, args.batch)
        for strategy in args.strategies:
            pipeline = _pipeline(strategy, args.samples)
            row = {
                "example": example,
                "strategy": strategy,
                "pipeline": pipeline,
                "load_average": os.getloadavg(),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "lr": args.lr,
                "batch": args.batch,
                "samples": args.samples,
            }
            if not args.no_cpu:
                row |= train_on_cpu(problem, pipeline, args.steps, args.eval_every)
            if not args.no_pinta:
                row |= pinta_step(problem, pipeline)
            records.append(args.results, row)
            print(_line(row), flush=True)
    return 0


def _with_settings(path: Path, lr: float | None, batch: int | None):
    """The example with its pinn.train's learning rate and every term's batch replaced."""
    import re

    import pintac.api as pt

    text = path.read_text()
    if lr is not None:
        text, count = re.subn(r"lr = [0-9.eE+-]+", f"lr = {lr!r}", text)
        assert count == 1, "the example's pinn.train sets lr once"
    if batch is not None:

        def batches(match: re.Match) -> str:
            terms = [item.partition("=")[0].strip() for item in match.group(1).split(",")]
            return "batch = {" + ", ".join(f"{t} = {batch}" for t in terms) + "}"

        text, count = re.subn(r"batch = \{([^}]*)\}", batches, text)
        assert count == 1, "the example's pinn.train sets batch once"
    return pt.loads(text, str(path))


def _line(row: dict) -> str:
    def fmt(key: str, spec: str) -> str:
        value = row.get(key)
        return "-" if value is None else format(value, spec)

    return (
        f"{row['example']:<10} {row['strategy']:<8} {fmt('steps', 'd'):>6} "
        f"{fmt('rel_l2', '.2e'):>9} {fmt('s_per_step', '.4f'):>8} "
        f"{fmt('time_to_1e-2_s', '.1f'):>9} {fmt('macs', '.3g'):>10} "
        f"{fmt('cycles', '.3g'):>8} {fmt('energy_mj', '.3g'):>6}"
    )


if __name__ == "__main__":
    sys.exit(main())
