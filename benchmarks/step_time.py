"""Time of one training step: pintac's compiled fp32 plan vs the hand-written NumPy step.

Both run in this process, on the same points and parameters, at the paper's poisson2d sizes
(tanh MLP 2-256-256-256-1, K = 512 antithetic pairs, 100 + 100 points) unless told otherwise.
Steps alternate between the two implementations so machine noise hits both alike; the report
gives the median of each and their ratio. The compiled step uses pintac's threads (BLAS on
one thread, large GEMMs in row blocks on its pool), the hand-written one NumPy's: BLAS on all
the threads pintac may use, which busy-wait for each other when other processes hold the
cores. `OPENBLAS_NUM_THREADS=1` puts both on one thread and compares the code alone;
`benchmarks/threads.py` compares thread settings.

The GEMM-bound limit: the compiled step's multiply-adds (every GEMM of one step, counted at
`pintac.runtime.parallel.matmul`) at the rate of a tall float32 GEMM, (pde·(2K+1) x width) by
(width x width), timed between the steps in the same loop, the faster of the runtime's GEMM
(row blocks on its pool) and one BLAS call on all threads. The report gives the compiled
step's fraction of it (limit / step time).

    python benchmarks/step_time.py                 # paper sizes, 7 timed steps each
    python benchmarks/step_time.py --pairs 64 --repeats 5 --json out.json
    OPENBLAS_NUM_THREADS=1 python benchmarks/step_time.py   # one thread each
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_handwritten():
    spec = importlib.util.spec_from_file_location(
        "handwritten", ROOT / "benchmarks" / "handwritten.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def count_gemm_macs(run_step) -> int:
    """The multiply-adds of the GEMMs `run_step()` computes through the runtime's GEMM."""
    from pintac.runtime import parallel

    total = 0
    matmul = parallel.matmul

    def counting(a, b, out=None):
        nonlocal total
        total += int(np.prod(a.shape)) * b.shape[-1]
        return matmul(a, b, out)

    parallel.matmul = counting
    try:
        run_step()
    finally:
        parallel.matmul = matmul
    return total


def tall_sgemm_seconds(a: np.ndarray, b: np.ndarray, blas_threads: int) -> float:
    """Seconds of a·b: the faster of the runtime's GEMM and one BLAS call on all threads."""
    from threadpoolctl import threadpool_limits

    from pintac.runtime import parallel

    t0 = time.perf_counter()
    parallel.matmul(a, b)
    t1 = time.perf_counter()
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        t2 = time.perf_counter()
        np.matmul(a, b)
        t3 = time.perf_counter()
    return min(t1 - t0, t3 - t2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=512)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--pde", type=int, default=100)
    ap.add_argument("--bc", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)

    from threadpoolctl import threadpool_limits

    import pintac.api as pt
    from pintac.run import _tune_malloc
    from pintac.runtime import threads

    _tune_malloc()
    text = (ROOT / "examples" / "poisson2d.mlir").read_text()
    text = text.replace("256", str(args.width)).replace("pairs = 512", f"pairs = {args.pairs}")
    text = text.replace(
        "batch = {pde = 100, bc = 100}", f"batch = {{pde = {args.pde}, bc = {args.bc}}}"
    )
    program = pt.loads(text, "poisson2d").compile("fp32")
    trainer = pt.Trainer(program, seed=0)

    hw_module = load_handwritten()
    hw = hw_module.HandwrittenPoisson(
        widths=(2, args.width, args.width, args.width, 1),
        pairs=args.pairs,
        sigma=0.01,
        lr=1e-3,
        steps=program.steps,
        schedule="linear_decay",
        w_pde=1.0,
        w_bc=300.0,
    )
    hw.init(0)

    macs = count_gemm_macs(lambda: trainer.train(1))
    rng = np.random.default_rng(0)
    tall = rng.normal(size=(args.pde * (2 * args.pairs + 1), args.width)).astype(np.float32)
    square = rng.normal(size=(args.width, args.width)).astype(np.float32)

    compiled, handwritten, sgemm = [], [], []
    for step in range(args.repeats + 1):  # step 0 warms up both (buffers, thread pools)
        points = program.batch(0, step)
        with threadpool_limits(limits=threads.available(), user_api="blas"):
            t0 = time.perf_counter()
            hw.step(points["pde"], points["bc"], step, 0)
            t1 = time.perf_counter()
        trainer.train(1)
        t2 = time.perf_counter()
        sgemm_s = tall_sgemm_seconds(tall, square, threads.available())
        if step:
            handwritten.append(t1 - t0)
            compiled.append(t2 - t1)
            sgemm.append(sgemm_s)
    sgemm_rate = tall.size * square.shape[1] / statistics.median(sgemm)  # multiply-adds/s
    gemm_bound_s = macs / sgemm_rate
    result = {
        "sizes": vars(args),
        "compiled_median_s": statistics.median(compiled),
        "handwritten_median_s": statistics.median(handwritten),
        "ratio_compiled_over_handwritten": statistics.median(compiled)
        / statistics.median(handwritten),
        "gemm_macs_per_step": macs,
        "tall_sgemm_gflops": 2 * sgemm_rate / 1e9,
        "gemm_bound_s": gemm_bound_s,
        "compiled_fraction_of_gemm_bound": gemm_bound_s / statistics.median(compiled),
        "compiled_s": compiled,
        "handwritten_s": handwritten,
        "numpy": np.__version__,
    }
    print(
        f"step time, median of {args.repeats}: compiled {result['compiled_median_s'] * 1e3:.1f} ms, "
        f"hand-written {result['handwritten_median_s'] * 1e3:.1f} ms, "
        f"ratio {result['ratio_compiled_over_handwritten']:.3f}\n"
        f"GEMM-bound limit {gemm_bound_s * 1e3:.1f} ms ({macs / 1e9:.2f} G multiply-adds at "
        f"{result['tall_sgemm_gflops']:.1f} GFLOP/s): the compiled step at "
        f"{result['compiled_fraction_of_gemm_bound']:.0%} of it"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
