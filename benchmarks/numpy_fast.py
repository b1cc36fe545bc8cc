"""How far `numpy-fast` (float32 BLAS GEMMs on the quantized values) is from the arithmetic
contract (`numpy`: exact GEMMs rounded once), and what it saves.

`gemms`: every GEMM of one `smx-diff` step of poisson2d (K = --pairs), computed both ways on
the same quantized operands: the largest relative difference of each (max |fast - exact| /
max |exact|). `train`: `numpy` and `numpy-fast` trained side by side (alternating steps, one
process) for --steps steps and --seeds seeds: the rel. L2 error of each, and s/step.
Records go to `benchmarks/results/numpy_fast.json`.

    python benchmarks/numpy_fast.py gemms
    python benchmarks/numpy_fast.py train --steps 1000 --seeds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import records  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "numpy_fast.json"


def _problem(pairs: int):
    import pintac.api as pt

    text = (ROOT / "examples" / "poisson2d.mlir").read_text()
    return pt.loads(text.replace("pairs = 512", f"pairs = {pairs}"), "examples/poisson2d.mlir")


def gemms(pairs: int) -> dict:
    """The relative difference of every GEMM of one step, BLAS against exact."""
    from pintac.dialects import train
    from pintac.runtime import parallel
    from pintac.runtime.kernels_core import values_of
    from pintac.runtime.numpy_target import interpret

    program = _problem(pairs).compile("smx-diff")
    state = program.initial_state(0)
    args = program.step_arguments(state, 0, program.batch(0, 0))
    differences = []

    def observe(op, operands, results):
        if isinstance(op, train.GemmOp):
            a, b = (values_of(x) for x in operands)
            fast = parallel.matmul(
                a.T if op.is_transposed_a else a, b.T if op.is_transposed_b else b
            )
            exact = np.asarray(results[0], np.float64)
            scale = np.abs(exact).max()
            if scale > 0:
                differences.append(float(np.abs(fast - exact).max() / scale))

    interpret(program.functions["train_step"], args, observe)
    return {
        "what": "gemms",
        "pairs": pairs,
        "gemms": len(differences),
        "median_relative": statistics.median(differences),
        "max_relative": max(differences),
    }


def train(pairs: int, steps: int, seeds: int) -> Iterator[dict]:
    """One record per seed, yielded as soon as that seed's runs finish."""
    import pintac.api as pt

    problem = _problem(pairs)
    for seed in range(seeds):
        trainers = {
            target: pt.Trainer(problem.compile("smx-diff", steps=steps, target=target), seed=seed)
            for target in ("numpy", "numpy-fast")
        }
        for _ in range(steps):
            for trainer in trainers.values():
                trainer.train(1)
        row = {"what": "train", "pairs": pairs, "steps": steps, "seed": seed}
        for target, trainer in trainers.items():
            row[f"rel_l2_{target}"] = trainer.evaluate(10000).rel_l2
            row[f"s_per_step_{target}"] = statistics.median(trainer.step_seconds)
        print(
            f"seed {seed}: rel. L2 {row['rel_l2_numpy']:.4e} numpy, "
            f"{row['rel_l2_numpy-fast']:.4e} numpy-fast; s/step {row['s_per_step_numpy']:.3f}, "
            f"{row['s_per_step_numpy-fast']:.3f}",
            flush=True,
        )
        yield row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("gemms", "train"))
    parser.add_argument("--pairs", type=int, default=128)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=3)
    options = parser.parse_args(argv)
    start = time.perf_counter()
    if options.what == "gemms":
        row = gemms(options.pairs)
        records.append(RESULTS, row)
        print(
            f"{row['gemms']} GEMMs of a K = {row['pairs']} smx-diff step: relative difference "
            f"median {row['median_relative']:.2e}, max {row['max_relative']:.2e}"
        )
    else:
        for row in train(options.pairs, options.steps, options.seeds):
            records.append(RESULTS, row)
    print(f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
