"""Train the paper's benchmarks at paper-like settings and record error and time.

    python benchmarks/train_paper.py poisson2d            # one example, its own settings
    python benchmarks/train_paper.py all --out benchmarks/results/fp32.json
    python benchmarks/train_paper.py hjb20d --steps 500 --pairs 256   # override settings

Each run is `pintac run examples/NAME.mlir` through the Python API: the fp32 pipeline (or
`--pipeline`), the problem's own training configuration (width 256, 3 hidden layers, Adam
with linear decay, the batch sizes of He et al., AISTATS 2023, listed in docs/benchmarks.md)
unless overridden, the relative L2 error of the raw network on 10⁴ held-out points. Results
are appended to a JSON file (one record per run) and printed as a table row.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("poisson2d", "hjb20d", "heat100d")


def configure(text: str, pairs: int | None, lr: float | None) -> str:
    if pairs is not None:
        text = re.sub(r"pairs = \d+", f"pairs = {pairs}", text)
    if lr is not None:
        text = re.sub(r"lr = [0-9.e-]+", f"lr = {lr!r}", text)
    return text


def train(
    name: str,
    steps: int | None,
    pairs: int | None,
    lr: float | None,
    seed: int | None,
    pipeline: str = "fp32",
    text: str | None = None,
    quiet: bool = False,
):
    """Train one example (or `text`, a variant of it) and return its record."""
    import pintac.api as pt
    from pintac.progress import Progress
    from pintac.run import _tune_malloc

    _tune_malloc()
    if text is None:
        text = (ROOT / "examples" / f"{name}.mlir").read_text()
    problem = pt.loads(configure(text, pairs, lr), f"examples/{name}.mlir")
    program = problem.compile(pipeline, steps=steps)
    trainer = pt.Trainer(program, seed=seed)
    progress = Progress(program.steps, stream=sys.stderr, enabled=not quiet)
    start = time.perf_counter()
    trainer.train(program.steps, callback=lambda s, m: progress.update(s, m["loss"]))
    progress.close()
    seconds = time.perf_counter() - start
    evaluation = trainer.evaluate()
    return {
        "example": name,
        "pipeline": pipeline,
        "steps": program.steps,
        "pairs": program.config("pairs"),
        "lr": program.config("lr"),
        "batch": program.config("batch"),
        "seed": trainer.seed,
        "rel_l2": evaluation.rel_l2,
        "eval_points": evaluation.points,
        "final_loss": trainer.history[-1]["loss"],
        "train_seconds": seconds,
        "seconds_per_step_median": statistics.median(trainer.step_seconds),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "date": time.strftime("%Y-%m-%d"),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("example", choices=[*EXAMPLES, "all"])
    ap.add_argument("--steps", type=int)
    ap.add_argument("--pairs", type=int)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--pipeline", default="fp32", help="a named pipeline or pipeline string")
    ap.add_argument("--out", metavar="FILE", help="append the records to this JSON list")
    args = ap.parse_args(argv)
    names = EXAMPLES if args.example == "all" else (args.example,)
    records = []
    for name in names:
        rec = train(name, args.steps, args.pairs, args.lr, args.seed, args.pipeline)
        records.append(rec)
        print(
            f"| {rec['example']} | {rec['steps']} | {rec['pairs']} | {rec['lr']} | "
            f"{rec['rel_l2']:.2e} | {rec['train_seconds'] / 60:.1f} min | "
            f"{rec['seconds_per_step_median']:.2f} s |",
            flush=True,
        )
        if args.out:
            path = Path(args.out)
            existing = json.loads(path.read_text()) if path.exists() else []
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(existing + [rec], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
