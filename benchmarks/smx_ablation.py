"""Quantized training ablations: error and step time of fp32, smx-naive, smx-diff and mx-diff.

    python benchmarks/smx_ablation.py accuracy      # the training runs (hours: resumable)
    python benchmarks/smx_ablation.py laplacian     # naive vs difference quantization of Δu
    python benchmarks/smx_ablation.py step-time     # s/step of each pipeline, same process
    python benchmarks/smx_ablation.py step-time --pipelines fp32,smx-diff,full
    python benchmarks/smx_ablation.py step-time --pipelines fp32,smx-diff@numpy-fast  # a target
    python benchmarks/smx_ablation.py gemm-cost     # exact quantized GEMM vs float32 BLAS
    python benchmarks/smx_ablation.py table         # the tables of docs/benchmarks.md

`accuracy` trains, at the examples' settings (width 256, 3 hidden layers, Adam 1e-3 with
linear decay, 1000 steps, seed 0):
  poisson2d (100 + 100 points) at K = 128 and K = 512 under fp32, smx-naive, smx-diff, mx-diff;
  hjb20d and heat100d (K = 1024) under fp32 and smx-diff;
  a sweep of the activation width (INT4, 6, 8, 12) for smx-diff on poisson2d at K = 128.
Each finished run is appended to `benchmarks/results/smx.json` and skipped when the script is
run again, so an interrupted campaign continues where it stopped. `--only` picks runs by a
substring of their label.

`laplacian` fixes one network (poisson2d, width 256, the parameters after 200 f32 steps) and
points, and compares the Laplacian estimate (K = 512) under INT8 and INT12 quantization,
naive and by differences, with the f32 estimate of the same network and samples.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import records  # benchmarks/records.py

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "smx.json"


def _train_paper():
    spec = importlib.util.spec_from_file_location(
        "train_paper", ROOT / "benchmarks" / "train_paper.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def runs() -> list[dict]:
    """Every training run of the campaign: label, example, pipeline, pairs."""

    def poisson(pairs: int) -> list[dict]:
        return [
            {
                "label": f"poisson2d K={pairs} {pipeline}",
                "example": "poisson2d",
                "pipeline": pipeline,
                "pairs": pairs,
            }
            for pipeline in ("fp32", "smx-naive", "smx-diff", "mx-diff")
        ]

    # the cheap runs first, so that an interrupted campaign has the main comparisons
    out = poisson(128)
    for example in ("hjb20d", "heat100d"):
        for pipeline in ("fp32", "smx-diff"):
            out.append(
                {
                    "label": f"{example} {pipeline}",
                    "example": example,
                    "pipeline": pipeline,
                    "pairs": None,
                }
            )
    for bits in (4, 6, 12):  # INT8 is the K = 128 smx-diff run above
        spec = SMX_DIFF.replace("smx-quantize", f"smx-quantize{{act={bits}}}")
        out.append(
            {
                "label": f"poisson2d K=128 smx-diff act=int{bits}",
                "example": "poisson2d",
                "pipeline": spec,
                "pairs": 128,
                "act_bits": bits,
            }
        )
    return out + poisson(512)


SMX_DIFF = (
    "stein-expand,stein-difference,pinn-build-loss,pinn-autodiff,smx-quantize,"
    "optimizer-lower,cse,dce"
)


def load_results() -> list[dict]:
    return records.load(RESULTS)


def save(record: dict) -> None:
    records.append(RESULTS, record)


def accuracy(only: str | None) -> None:
    tp = _train_paper()
    done = {r["label"] for r in load_results() if "label" in r}
    for run in runs():
        if run["label"] in done or (only and only not in run["label"]):
            continue
        print(f"== {run['label']}", file=sys.stderr, flush=True)
        record = tp.train(run["example"], None, run["pairs"], None, 0, run["pipeline"])
        record["label"] = run["label"]
        record["act_bits"] = run.get("act_bits", 8)
        save(record)
        print(
            f"{run['label']}: rel. L2 {record['rel_l2']:.3e}, "
            f"{record['seconds_per_step_median']:.2f} s/step",
            flush=True,
        )


def _laplacian_estimates(program, params, x, seed):
    """The values of the residual's stein.laplacian op when @train_step runs on `x`."""
    from xdsl.dialects import func

    from pintac.dialects import stein
    from pintac.runtime.kernels import run_op

    f = program.functions["train_step"]
    state = program.initial_state(seed)
    state.params.update(params)
    points = program.batch(seed, 0)
    points["pde"] = x
    env = dict(zip(f.args, program.step_arguments(state, seed, points), strict=True))
    for op in f.body.block.ops:
        if isinstance(op, func.ReturnOp):
            break
        for r, v in zip(op.results, run_op(op, *(env[o] for o in op.operands)), strict=True):
            env[r] = v
        if isinstance(op, stein.LaplacianOp):
            return env[op.result]
    raise ValueError("no stein.laplacian in the step")


def laplacian() -> None:
    import numpy as np

    import pintac.api as pt

    text = (ROOT / "examples" / "poisson2d.mlir").read_text()
    problem = pt.loads(text, "examples/poisson2d.mlir")
    trainer = pt.Trainer(problem.compile("fp32"), seed=0)
    trainer.train(200)
    params = trainer.state.params
    x = trainer.program.batch(0, 12345)["pde"]
    reference = _laplacian_estimates(problem.compile("fp32"), params, x, 0)
    rows = []
    for bits in (8, 12):
        for name, spec in (
            (
                "naive",
                f"stein-expand,pinn-build-loss,pinn-autodiff,smx-quantize{{act={bits} weight={bits}}},optimizer-lower",
            ),
            (
                "difference",
                f"stein-expand,stein-difference,pinn-build-loss,pinn-autodiff,smx-quantize{{act={bits} weight={bits}}},optimizer-lower",
            ),
        ):
            est = _laplacian_estimates(problem.compile(spec), params, x, 0)
            error = float(np.linalg.norm(est - reference) / np.linalg.norm(reference))
            rows.append({"bits": bits, "quantization": name, "rel_error": error})
            print(f"INT{bits} {name}: relative error of the Laplacian estimate {error:.3e}")
    save({"label": "laplacian error", "date": time.strftime("%Y-%m-%d"), "rows": rows})


STEP_TIME_PIPELINES = "fp32,smx-naive,smx-diff,mx-diff"


def step_time(repeats: int, pairs: int, pipelines: str = STEP_TIME_PIPELINES) -> None:
    """Median s/step (wall clock, and CPU time of the whole process) of each pipeline on
    poisson2d (width 256, 100 + 100 points, K = pairs), the pipelines alternating step by
    step in one process so machine noise hits all alike; with the machine's load average
    (other jobs share its cores) before and after."""
    import os

    import pintac.api as pt
    from pintac.run import _tune_malloc

    _tune_malloc()
    text = (
        (ROOT / "examples" / "poisson2d.mlir")
        .read_text()
        .replace("pairs = 512", f"pairs = {pairs}")
    )
    problem = pt.loads(text, "examples/poisson2d.mlir")
    names = pipelines.split(",")
    trainers = {}
    for name in names:  # PIPELINE or PIPELINE@TARGET
        pipeline, _, target = name.partition("@")
        trainers[name] = pt.Trainer(problem.compile(pipeline, target=target or "numpy"), seed=0)
    for trainer in trainers.values():
        trainer.train(1)  # warm-up: buffers, BLAS threads
    load_before = os.getloadavg()[0]
    cpu = {name: [] for name in names}
    for _ in range(repeats):
        for name, trainer in trainers.items():
            started = time.process_time()
            trainer.train(1)
            cpu[name].append(time.process_time() - started)
    load_after = os.getloadavg()[0]
    medians = {name: statistics.median(t.step_seconds[1:]) for name, t in trainers.items()}
    cpu_medians = {name: statistics.median(seconds) for name, seconds in cpu.items()}
    first = names[0]
    for name, seconds in medians.items():
        print(
            f"{name}: {seconds:.3f} s/step, {seconds / medians[first]:.2f}x {first}; CPU "
            f"{cpu_medians[name]:.3f} s/step, {cpu_medians[name] / cpu_medians[first]:.2f}x"
        )
    print(f"load average (1 min): {load_before:.1f} before, {load_after:.1f} after")
    save(
        {
            "label": f"step time K={pairs}",
            "date": time.strftime("%Y-%m-%d"),
            "repeats": repeats,
            "median_s": medians,
            "ratio_to_first": {n: s / medians[first] for n, s in medians.items()},
            "cpu_median_s": cpu_medians,
            "load_average": [load_before, load_after],
        }
    )


def gemm_cost(repeats: int, pairs: int) -> None:
    """The exact quantized GEMM against float32 BLAS on the large GEMMs of a poisson2d step
    (100 points x 2K streams rows, width 256): forward (rows x 256 by 256 x 256) and weight
    gradient (256 x rows by rows x 256), INT8 activations and weights, INT12 gradients."""
    import numpy as np

    from pintac.runtime import smx

    rows = 100 * 2 * pairs
    gen = np.random.default_rng(0)
    h = smx.quantize_matrix(np.tanh(gen.standard_normal((rows, 256))).astype(np.float32))
    w = smx.quantize_matrix((gen.standard_normal((256, 256)) / 16).astype(np.float32))
    g = smx.quantize_matrix((gen.standard_normal((rows, 256)) * 1e-4).astype(np.float32), 12)
    cases = {
        "forward": ((h.values, w.values, False), (h, w, False)),
        "weight gradient": ((h.values, g.values, True), (h, g, True)),
    }
    record = {"label": f"gemm cost K={pairs}", "date": time.strftime("%Y-%m-%d"), "ratio": {}}
    for name, ((a32, b32, ta), (qa, qb, tq)) in cases.items():
        f32, exact = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            np.matmul(a32.T if ta else a32, b32)
            f32.append(time.perf_counter() - started)
            started = time.perf_counter()
            smx.gemm_quantized(qa, qb, transpose_a=tq)
            exact.append(time.perf_counter() - started)
        ratio = statistics.median(exact) / statistics.median(f32)
        record["ratio"][name] = ratio
        print(
            f"{name}: float32 {statistics.median(f32) * 1e3:.1f} ms, exact quantized "
            f"{statistics.median(exact) * 1e3:.1f} ms, {ratio:.2f}x"
        )
    save(record)


def table() -> None:
    by_label = {r["label"]: r for r in load_results()}
    print("| run | rel. L2 error | s/step |\n|---|---|---|")
    for run in runs():
        r = by_label.get(run["label"])
        if r is not None:
            print(f"| {run['label']} | {r['rel_l2']:.2e} | {r['seconds_per_step_median']:.2f} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("accuracy", "laplacian", "step-time", "gemm-cost", "table"))
    ap.add_argument("--only", help="accuracy: run only labels containing this")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pairs", type=int, default=128)
    ap.add_argument(
        "--pipelines",
        default=STEP_TIME_PIPELINES,
        help="step-time: comma-separated pipelines (PIPELINE or PIPELINE@TARGET, target numpy "
        "by default), the first the reference for the ratios",
    )
    args = ap.parse_args(argv)
    if args.what == "accuracy":
        accuracy(args.only)
    elif args.what == "laplacian":
        laplacian()
    elif args.what == "step-time":
        step_time(args.repeats, args.pairs, args.pipelines)
    elif args.what == "gemm-cost":
        gemm_cost(args.repeats, args.pairs)
    else:
        table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
