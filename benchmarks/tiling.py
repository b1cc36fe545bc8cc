"""The training step tiled by points (`tile-points`) against the untiled step on the CPU.

For each pipeline: the peak memory of one step (tracemalloc, which sees NumPy's buffers)
and the median seconds per step, tiled and untiled, the two programs alternating step by
step in one process on the same arguments. Rows are appended to
`benchmarks/results/tiling.json` (`benchmarks/records.py`).

    python benchmarks/tiling.py                               # poisson2d, fp32 and smx-diff
    python benchmarks/tiling.py --pipelines full --steps 3 --points 32
    python benchmarks/tiling.py --pairs 128
    python benchmarks/tiling.py --accuracy --example poisson2d_small --steps 2000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import records  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "tiling.json"


def _peak_and_seconds(program, args) -> tuple[int, float]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    program.train_step(*args)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, seconds


def _timed(program, args) -> float:
    start = time.perf_counter()
    program.train_step(*args)
    return time.perf_counter() - start


def _problem(example: str, pairs: int | None):
    """The example, with `pairs` Stein pairs if given."""
    import re

    import pintac.api as pt

    path = ROOT / "examples" / f"{example}.mlir"
    text = path.read_text()
    if pairs is not None:
        text = re.sub(r"pairs = \d+", f"pairs = {pairs}", text)
    return pt.loads(text, str(path))


def compare(example: str, pipeline: str, steps: int, points: int | None, pairs=None) -> dict:
    import pintac.api as pt
    from pintac.pipelines import pipeline_spec

    problem = _problem(example, pairs)
    tiling = "tile-points" if points is None else f"tile-points{{points={points}}}"
    compiled = problem.compile(pipeline)
    # the step as the pipeline leaves it, without the NumPy target's own tiling
    untiled = pt.Program(
        compiled.module, pipeline, compiled.spec, compiled.source_name, "numpy", problem=problem
    )
    tiled = problem.compile(f"{pipeline_spec(pipeline)},{tiling}")
    state = untiled.initial_state(0)
    args = untiled.step_arguments(state, 0, untiled.batch(0, 0))
    peak_untiled, _ = _peak_and_seconds(untiled, args)
    peak_tiled, _ = _peak_and_seconds(tiled, args)
    seconds = {"untiled": [], "tiled": []}
    for _ in range(steps):
        seconds["untiled"].append(_timed(untiled, args))
        seconds["tiled"].append(_timed(tiled, args))
    median = {k: statistics.median(v) for k, v in seconds.items()}
    tile_sizes = [op.tile_points for op in tiled.module.walk() if op.name == "tile.loop"]
    return {
        "example": example,
        "pairs": pairs,
        "pipeline": pipeline,
        "tile_points": tile_sizes,
        "peak_mb_untiled": peak_untiled / 1e6,
        "peak_mb_tiled": peak_tiled / 1e6,
        "peak_ratio": peak_tiled / peak_untiled,
        "s_per_step_untiled": median["untiled"],
        "s_per_step_tiled": median["tiled"],
        "time_ratio": median["tiled"] / median["untiled"],
        "steps": steps,
    }


def accuracy(example: str, steps: int, seeds: int, points: int) -> list[dict]:
    """The f32 BLAS step (`numpy`), untiled and tiled by `points`: rel. L2 after `steps`
    steps for each seed (tiling reorders the weight gradients' sums, nothing else)."""
    import pintac.api as pt
    from pintac.pipelines import pipeline_spec

    problem = pt.load(ROOT / "examples" / f"{example}.mlir")
    compiled = problem.compile("fp32", steps=steps)
    untiled = pt.Program(
        compiled.module, "fp32", compiled.spec, compiled.source_name, "numpy", problem=problem
    )
    tiled = problem.compile(f"{pipeline_spec('fp32')},tile-points{{points={points}}}", steps=steps)
    rows = []
    for seed in range(seeds):
        row = {"example": example, "seed": seed, "steps": steps, "tile_points": points}
        for label, program in (("untiled", untiled), ("tiled", tiled)):
            trainer = pt.Trainer(program, seed=seed)
            trainer.train(steps)
            row[f"rel_l2_{label}"] = trainer.evaluate(10000).rel_l2
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="poisson2d")
    parser.add_argument("--pipelines", nargs="+", default=["fp32", "smx-diff"])
    parser.add_argument("--steps", type=int, default=5, help="timed steps of each program")
    parser.add_argument(
        "--pairs", type=int, default=None, help="Stein pairs (default: the example's)"
    )
    parser.add_argument(
        "--points", type=int, default=None, help="points per tile (default: the pass's budget)"
    )
    parser.add_argument(
        "--accuracy",
        action="store_true",
        help="instead: train fp32 (BLAS) untiled and tiled to the same steps, 3 seeds",
    )
    options = parser.parse_args(argv)
    if options.accuracy:
        for row in accuracy(options.example, options.steps, 3, options.points or 8):
            records.append(RESULTS, row)
            print(
                f"{row['example']} fp32 seed {row['seed']}, {row['steps']} steps: rel. L2 "
                f"{row['rel_l2_untiled']:.6e} untiled, {row['rel_l2_tiled']:.6e} tiled by "
                f"{row['tile_points']} points",
                flush=True,
            )
        return 0
    for pipeline in options.pipelines:
        row = compare(options.example, pipeline, options.steps, options.points, options.pairs)
        records.append(RESULTS, row)
        print(
            f"{options.example} (pairs {options.pairs or 'as written'}) {pipeline}: tiles {row['tile_points']} points; peak "
            f"{row['peak_mb_untiled']:.0f} MB untiled, {row['peak_mb_tiled']:.0f} MB tiled "
            f"({row['peak_ratio']:.3f}x); {row['s_per_step_untiled']:.2f} s/step untiled, "
            f"{row['s_per_step_tiled']:.2f} tiled ({row['time_ratio']:.2f}x)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
