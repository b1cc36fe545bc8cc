"""Cost of simulating PINTA: wall time of a simulated step against the NumPy runtime's step.

    python benchmarks/pinta_sim.py                       # poisson2d_small and poisson2d
    python benchmarks/pinta_sim.py --example poisson2d --pipeline smx-diff --repeats 5

For each (example, pipeline): compile, lower to PINTA (timed), then alternate steps of the
NumPy runtime and of the simulator on the same arguments, checking that their results are
equal bit for bit, and report the median wall time of each and their ratio, with the
simulated cycles of a step and the load average at the end (on a shared machine other jobs
slow both). fp32 is compared with the runtime in its contract mode (`numpy-exact`, exact f32
GEMMs), the quantized pipelines with the default `numpy` target (they are the same there).
Results are appended to benchmarks/results/pinta.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import records  # benchmarks/records.py

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "pinta.json"


def measure(example: str, pipeline: str, repeats: int) -> dict:
    import pintac.api as pt
    from pintac.dialects import pinta
    from pintac.passes.lower_to_pinta import LowerToPintaPass
    from pintac.registry import make_context
    from pintac.runtime.pinta.lowered import LoweredStep, PintaStep

    target = "numpy-exact" if pipeline == "fp32" else "numpy"
    program = pt.load(ROOT / "examples" / f"{example}.mlir").compile(pipeline, target=target)
    module = program.module.clone()
    start = time.perf_counter()
    LowerToPintaPass().apply(make_context(), module)
    lowering = time.perf_counter() - start
    op = next(o for o in module.ops if isinstance(o, pinta.ProgramOp))
    step = LoweredStep.of(op)
    sim = PintaStep(step)
    state = program.initial_state(0)
    runtime, simulated = [], []
    for _ in range(repeats + 1):  # the first pair warms caches and BLAS threads up
        args = program.step_arguments(state, 0, program.batch(0, state.step))
        t0 = time.perf_counter()
        expected = program.train_step(*args)
        t1 = time.perf_counter()
        got = sim(*args)
        t2 = time.perf_counter()
        for a, b in zip(expected, got, strict=True):
            a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
            if not np.array_equal(a.view(np.uint32), b.view(np.uint32)):
                raise SystemExit(
                    f"{example} {pipeline}: the simulator differs at step {state.step}"
                )
        runtime.append(t1 - t0)
        simulated.append(t2 - t1)
        state, _ = program.step(state, 0)
    report = sim.last_report
    record = {
        "example": example,
        "pipeline": pipeline,
        "runtime_target": target,
        "instructions": len(step.instructions),
        "lowering_s": lowering,
        "runtime_step_s": statistics.median(runtime[1:]),
        "simulated_step_s": statistics.median(simulated[1:]),
        "cycles": report.cycles,
        "repeats": repeats,
        "bit_identical": True,
        "load_average": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d"),
    }
    record["ratio"] = record["simulated_step_s"] / record["runtime_step_s"]
    return record


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--example", action="append", help="default: poisson2d_small, poisson2d")
    ap.add_argument("--pipeline", action="append", help="default: fp32 (small only), smx-diff")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    runs = []
    for example in args.example or ["poisson2d_small", "poisson2d"]:
        default = ["fp32", "smx-diff"] if example.endswith("small") else ["smx-diff"]
        runs += [(example, p) for p in args.pipeline or default]
    for example, pipeline in runs:
        r = measure(example, pipeline, args.repeats)
        print(
            f"{example} {pipeline}: {r['instructions']} instructions, lowering "
            f"{r['lowering_s']:.1f} s; step: runtime {r['runtime_step_s']:.3f} s, simulator "
            f"{r['simulated_step_s']:.3f} s, ratio {r['ratio']:.2f}; {r['cycles']} cycles; "
            f"load average {r['load_average'][0]:.1f}",
            flush=True,
        )
        records.append(RESULTS, r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
