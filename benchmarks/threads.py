"""Threads: training-step time with pintac's threads, on one thread and with BLAS's own
threads, idle and next to two CPU-bound processes, NumPy or pintac imported first; and the GEMM
sizes from which a second thread pays.

    python benchmarks/threads.py                  # the step-time table (a few minutes)
    python benchmarks/threads.py --examples poisson2d_small --json out.json
    python benchmarks/threads.py gemm             # one thread, two BLAS threads, two blocks
    python benchmarks/threads.py --examples poisson2d --pipeline smx-diff --pairs 128 \
        --modes pintac --rounds 2                 # the import order of a quantized step

Step times. Each configuration runs in a fresh Python process, so the import order is real:
`numpy-first` imports NumPy before pintac (OpenBLAS then keeps its default spin time of about
0.1 s), `pintac-first` the other way round (as the `pintac` command does). Threads:

- `pintac`: the default: BLAS on one thread, large GEMMs in row blocks and large elementwise
  work in chunks on the runtime's pool (`pintac.runtime.threads`);
- `one`: `OPENBLAS_NUM_THREADS=1` in the environment: everything on one thread;
- `blas`: every GEMM whole on all of BLAS's threads (pintac before its own GEMM blocks).

"loaded" runs the same with two `python -c 'while True: pass'` processes beside it, started
before and killed after each run. Each process compiles the example's step (`--pipeline`,
default `fp32`; `--pairs K` sets its Stein pairs; `--modes` picks configurations), runs the
warm-up steps, then times steps one by one; the table gives the median ms/step idle, the
median CPU time per step idle (of all the process's threads: spinning shows here), the median
ms/step loaded, and loaded / idle. `--rounds R` alternates R idle and R loaded runs of each
configuration, for a machine whose other load drifts. The load average before and after tells
how idle "idle" was.

GEMM sizes (`gemm`). float32 and float64 GEMMs of the runtime's shapes — rows x k by k x n for
tall activations times square, first-layer and last-layer weights, and k x rows by rows x n
for weight gradients — whole on one BLAS thread, whole on two BLAS threads (set with
threadpoolctl), and cut into two row blocks run on two pool workers with BLAS on one thread;
idle (the fastest of repeated runs: noise only adds) and next to two busy-looping processes
(the median: stalls are what is measured). The table gives the speed-up of each over one
thread and its CPU time (of every thread) over one thread's: where two blocks cost little
more CPU time than one call, they run about twice as fast on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

# No NumPy or pintac at module level: a child process imports them in the order it is told.

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {"poisson2d_small": (3, 100), "poisson2d": (1, 3)}  # (warm-up steps, timed steps)
ORDERS = ("numpy-first", "pintac-first")
MODES = ("pintac", "one", "blas")
BUSY_LOOP = "while True: pass"


@contextmanager
def busy_processes(count: int):
    """`count` CPU-bound processes running for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(count)]
    try:
        time.sleep(0.5)  # let them reach the scheduler's steady state
        yield
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


# ---------------------------------------------------------------------------------------------
# Step times
# ---------------------------------------------------------------------------------------------


def child(
    example: str, order: str, mode: str, warmup: int, steps: int, pipeline: str, pairs: int
) -> None:
    """One configuration, in this (fresh) process: print its step times as JSON."""
    if order == "numpy-first":
        import numpy  # noqa: F401  (loads OpenBLAS before pintac is imported)
    import pintac.api as pt
    from pintac.run import _tune_malloc
    from pintac.runtime import parallel, threads

    np = sys.modules["numpy"]

    _tune_malloc()
    if mode == "blas":

        def whole_on_blas_threads(a, b, out=None):
            threads.use_blas_threads(threads.available())
            return np.matmul(a, b, out=out)

        parallel.matmul = whole_on_blas_threads
    text = (ROOT / "examples" / f"{example}.mlir").read_text()
    if pairs:
        text = re.sub(r"pairs = \d+", f"pairs = {pairs}", text)
    program = pt.loads(text, f"{example}.mlir").compile(pipeline)
    trainer = pt.Trainer(program, seed=0)
    trainer.train(warmup)
    wall, cpu = [], []
    for _ in range(steps):
        start, start_cpu = time.perf_counter(), time.process_time()
        trainer.train(1)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    print(json.dumps({"step_s": wall, "cpu_s": cpu}))


def run_child(
    example: str, order: str, mode: str, warmup: int, steps: int, pipeline: str, pairs: int
) -> dict:
    env = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT"):
        env.pop(name, None)
    if mode == "one":
        env["OPENBLAS_NUM_THREADS"] = "1"
    argv = [sys.executable, __file__, "child", example, order, mode, str(warmup), str(steps)]
    argv += [pipeline, str(pairs)]
    out = subprocess.run(argv, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"benchmarks/threads.py: error: {example} {order} {mode} failed:\n{out.stderr}")
    return json.loads(out.stdout.splitlines()[-1])


def step_table(
    examples: list[str],
    steps: int | None,
    rounds: int,
    pipeline: str = "fp32",
    pairs: int = 0,
    modes: tuple[str, ...] = MODES,
) -> list[dict]:
    rows = []
    for example in examples:
        warmup, count = EXAMPLES[example]
        count = steps or count
        for order in ORDERS:
            for mode in modes:
                row = {"example": example, "order": order, "mode": mode}
                row |= {"pipeline": pipeline, "pairs": pairs or None}
                for key in ("idle_step_s", "idle_cpu_s", "loaded_step_s", "loaded_cpu_s"):
                    row[key] = []
                for _ in range(rounds):  # idle and loaded alternate: a drifting load hits both
                    for state in ("idle", "loaded"):
                        with busy_processes(2 if state == "loaded" else 0):
                            run = run_child(example, order, mode, warmup, count, pipeline, pairs)
                        row[f"{state}_step_s"] += run["step_s"]
                        row[f"{state}_cpu_s"] += run["cpu_s"]
                for state in ("idle", "loaded"):
                    row[f"{state}_ms"] = statistics.median(row[f"{state}_step_s"]) * 1e3
                    row[f"{state}_cpu_ms"] = statistics.median(row[f"{state}_cpu_s"]) * 1e3
                rows.append(row)
                print_row(row, flush=True)
    return rows


HEADER = (
    f"{'example':16s} {'import order':13s} {'threads':7s} {'idle':>10s} {'(CPU)':>10s} "
    f"{'loaded':>10s} {'loaded/idle':>11s}"
)


def print_row(row: dict, flush: bool = False) -> None:
    print(
        f"{row['example']:16s} {row['order']:13s} {row['mode']:7s} "
        f"{row['idle_ms']:7.1f} ms {row['idle_cpu_ms']:7.1f} ms {row['loaded_ms']:7.1f} ms "
        f"{row['loaded_ms'] / row['idle_ms']:10.2f}x",
        flush=flush,
    )


# ---------------------------------------------------------------------------------------------
# GEMM sizes
# ---------------------------------------------------------------------------------------------

ROWS = (256, 1024, 4096, 16384, 65536)
# (label, shapes of a and b for `rows`): activations times weights, and weight gradients
FAMILIES = (
    ("x(r,16)·W(16,16)", lambda r: ((r, 16), (16, 16))),
    ("x(r,64)·W(64,64)", lambda r: ((r, 64), (64, 64))),
    ("x(r,256)·W(256,256)", lambda r: ((r, 256), (256, 256))),
    ("x(r,2)·W(2,256)", lambda r: ((r, 2), (2, 256))),
    ("x(r,256)·W(256,1)", lambda r: ((r, 256), (256, 1))),
    ("xT(16,r)·dy(r,16)", lambda r: ((16, r), (r, 16))),
    ("xT(256,r)·dy(r,256)", lambda r: ((256, r), (r, 256))),
)


def timed(fn, seconds: float, runs: int = 5) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (of the whole process: every thread) of repeated calls."""
    fn()  # warm up
    wall, cpu = [], []
    deadline = time.perf_counter() + seconds
    while len(wall) < runs or (time.perf_counter() < deadline and len(wall) < 100):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def gemm_variants(a, b):
    """(label, fn): the GEMM whole on one BLAS thread, whole on two, in two row blocks on two
    pool workers with BLAS on one thread."""
    import numpy as np

    from pintac.runtime import parallel, threads

    out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))
    half = -(-a.shape[0] // 2)

    def blas(count):
        def run():
            threads.use_blas_threads(count)
            np.matmul(a, b, out=out)

        return run

    def blocks():
        def rows(start, stop):
            np.matmul(a[start:stop], b, out=out[start:stop])

        parallel.for_row_chunks(a.shape[0], half, rows)

    return (("1 thread", blas(1)), ("2 BLAS", blas(2)), ("2 blocks", blocks))


def gemm_sweep(seconds: float) -> list[dict]:
    import numpy as np

    gen = np.random.default_rng(0)
    cases = []
    for dtype in ("float32", "float64"):
        for label, shapes in FAMILIES:
            for rows in ROWS:
                sa, sb = shapes(rows)
                a = gen.standard_normal(sa).astype(dtype)
                b = gen.standard_normal(sb).astype(dtype)
                cases.append((dtype, label, rows, sa[0] * sa[1] * sb[1], a, b))
    results = {}
    for loaded in (False, True):
        with busy_processes(2 if loaded else 0):
            for dtype, label, rows, macs, a, b in cases:
                record = results.setdefault((dtype, label, rows), {"macs": macs})
                for name, fn in gemm_variants(a, b):
                    wall, cpu = timed(fn, seconds)
                    if loaded:
                        record[name] = {**record[name], "loaded_s": statistics.median(wall)}
                    else:
                        record[name] = {"idle_s": min(wall), "idle_cpu_s": min(cpu)}
    print(
        f"{'dtype':8s} {'GEMM':22s} {'rows':>6s} {'MACs':>8s} {'1 thread':>10s}  "
        f"{'2 BLAS: idle':>12s} {'CPU':>5s} {'loaded':>6s}  "
        f"{'2 blocks: idle':>14s} {'CPU':>5s} {'loaded':>6s}"
    )
    rows_out = []
    for (dtype, label, rows), r in results.items():
        one = r["1 thread"]
        cells = [
            f"{one['idle_s'] / t['idle_s']:11.2f}x {t['idle_cpu_s'] / one['idle_cpu_s']:5.2f} "
            f"{one['loaded_s'] / t['loaded_s']:5.2f}x"
            for t in (r["2 BLAS"], r["2 blocks"])
        ]
        print(
            f"{dtype:8s} {label:22s} {rows:6d} {r['macs']:8.1e} {one['idle_s'] * 1e3:7.3f} ms  "
            f"{cells[0]}  {cells[1]:>27s}"
        )
        rows_out.append({"dtype": dtype, "gemm": label, "rows": rows, **r})
    print(
        "idle, loaded: speed-up over one thread (idle: fastest run; loaded: median); "
        "CPU: CPU time over one thread's (idle)"
    )
    return rows_out


# ---------------------------------------------------------------------------------------------


def machine() -> dict:
    return {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg_1_5_15": os.getloadavg(),
        "python": sys.version.split()[0],
    }


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["child"]:
        example, order, mode, warmup, steps, pipeline, pairs = argv[1:]
        child(example, order, mode, int(warmup), int(steps), pipeline, int(pairs))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="?", choices=("steps", "gemm"), default="steps")
    ap.add_argument("--examples", nargs="+", choices=tuple(EXAMPLES), default=list(EXAMPLES))
    ap.add_argument("--steps", type=int, help="timed steps per configuration and round")
    ap.add_argument("--rounds", type=int, default=1, help="idle/loaded rounds per configuration")
    ap.add_argument("--seconds", type=float, default=0.2, help="gemm: time per measurement")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--pipeline", default="fp32", help="the step's pipeline (default fp32)")
    ap.add_argument("--pairs", type=int, default=0, help="Stein pairs (default: the example's)")
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = ap.parse_args(argv)
    before = machine()
    print(f"load average before: {before['loadavg_1_5_15']}, {before['cpus']} CPUs", flush=True)
    if args.what == "gemm":
        results = gemm_sweep(args.seconds)
    else:
        print(HEADER, flush=True)
        results = step_table(
            args.examples, args.steps, args.rounds, args.pipeline, args.pairs, tuple(args.modes)
        )
    after = machine()
    print(f"load average after: {after['loadavg_1_5_15']}")
    if args.json:
        record = {"what": args.what, "machine_before": before, "machine_after": after}
        record["results"] = results
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
