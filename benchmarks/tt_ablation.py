"""Tensor-train ablations: dense fp32 against fp32-tt, full-noprs and full, and the quantization
error of a TT layer with and without partial reconstruction (PRS).

    python benchmarks/tt_ablation.py accuracy        # the training runs (hours: resumable)
    python benchmarks/tt_ablation.py accuracy --steps 50 --pairs 64    # a reduced campaign
    python benchmarks/tt_ablation.py quantization    # one TT layer's output under SMX INT8
    python benchmarks/tt_ablation.py step-time       # s/step at paper size, ~10 steps each
    python benchmarks/tt_ablation.py table           # the records as markdown tables

`accuracy` trains every example (poisson2d, hjb20d, heat100d) under the pipelines `fp32`
(dense), `fp32-tt`, `full-noprs` and `full` with the problem's own settings (width 256,
Adam with linear decay, 1000 steps, seed 0) unless `--steps` / `--pairs` override them, and
records the trained parameters, the compression against the dense network, the GEMM MACs of
one training step (counted while running it), the median s/step and its spread (max/median)
and the relative L2 error on held-out points.

`quantization` takes one 256 x 256 TT layer (rank 8; 2, 3 and 4 cores: 16·16, 4·8·8,
4·4·4·4) with variance-matched random cores and tanh activations, and measures the relative
L2 error of its output computed as the `full` pipeline does (cores merged into super-cores in
f32; every contraction on SMX-quantized operands, INT8 activations and weights, 4x4 tiles),
against its exact output, for every number of groups g: g = d is the sequential contraction,
g = 2 the paper's PRS, g = 1 the reconstructed dense matrix.

`step-time` runs poisson2d at paper size (100 + 100 points, K = 512, or `--pairs`) for each
pipeline: 2 warm-up steps, then `--steps` (default 10) timed ones.

Every record is appended to `benchmarks/results/tt.json` (or `--out FILE`) under a label; a
label already there is skipped, so an interrupted campaign continues where it stopped. Runs
with `--steps` / `--pairs` carry them in their labels. `--only` picks labels by a substring.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import records  # benchmarks/records.py

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "tt.json"
EXAMPLES = ("poisson2d", "hjb20d", "heat100d")
PIPELINES = ("fp32", "fp32-tt", "full-noprs", "full")


def _train_paper():
    spec = importlib.util.spec_from_file_location(
        "train_paper", ROOT / "benchmarks" / "train_paper.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_results() -> list[dict]:
    return records.load(RESULTS)


def save(record: dict) -> None:
    records.append(RESULTS, record)


def _use_results(path: str | None) -> None:
    global RESULTS
    if path is not None:
        RESULTS = Path(path)


def _done() -> set[str]:
    return {r["label"] for r in load_results() if "label" in r}


def _machine() -> dict:
    return {"python": platform.python_version(), "processor": platform.machine()}


# ---------------------------------------------------------------- counting


def step_gemm_macs(program, state, seed: int) -> int:
    """The multiply-adds of every `train.gemm` one training step executes (rows x reduction
    x columns of the operands as the GEMM reads them), running the step op by op."""
    from xdsl.dialects import func

    from pintac.dialects import train
    from pintac.runtime.kernels import run_op

    f = program.functions["train_step"]
    args = program.step_arguments(state, seed, program.batch(seed, state.step))
    ops = list(f.body.block.ops)
    last_use = {v: i for i, op in enumerate(ops) for v in op.operands}
    env = dict(zip(f.args, args, strict=True))
    total = 0
    for i, op in enumerate(ops):
        if isinstance(op, func.ReturnOp):
            break
        values = [env[v] for v in op.operands]
        if isinstance(op, train.GemmOp):
            a, b = values
            rows, red = a.shape[::-1] if op.is_transposed_a else a.shape
            cols = b.shape[0] if op.is_transposed_b else b.shape[1]
            total += rows * red * cols
        with np.errstate(all="ignore"):
            results = run_op(op, *values)
        for r, v in zip(op.results, results, strict=True):
            env[r] = v
        for v in op.operands:  # free what is dead (the step is large)
            if last_use[v] == i:
                env.pop(v, None)
    return total


def dense_params(example: str) -> int:
    """Trained parameters of the dense network of an example."""
    import pintac.api as pt
    from pintac.runtime.init import trained_params

    problem = pt.load(ROOT / "examples" / f"{example}.mlir")
    return sum(math.prod(p.shape) for p in trained_params(problem.op))


# ---------------------------------------------------------------- accuracy


def runs(steps: int | None, pairs: int | None) -> list[dict]:
    suffix = ""
    if steps is not None:
        suffix += f" steps={steps}"
    if pairs is not None:
        suffix += f" K={pairs}"
    return [
        {"label": f"{ex} {p}{suffix}", "example": ex, "pipeline": p}
        for ex in EXAMPLES
        for p in PIPELINES
    ]


def train_one(example: str, pipeline: str, steps: int | None, pairs: int | None) -> dict:
    import pintac.api as pt
    from pintac.progress import Progress
    from pintac.run import _tune_malloc

    _tune_malloc()
    text = _train_paper().configure(
        (ROOT / "examples" / f"{example}.mlir").read_text(), pairs, None
    )
    program = pt.loads(text, f"examples/{example}.mlir").compile(pipeline, steps=steps)
    trainer = pt.Trainer(program)
    params = sum(v.size for v in trainer.state.params.values())
    macs = step_gemm_macs(program, trainer.state, trainer.seed)
    progress = Progress(program.steps, stream=sys.stderr)
    start = time.perf_counter()
    trainer.train(program.steps, callback=lambda s, m: progress.update(s, m["loss"]))
    progress.close()
    seconds = time.perf_counter() - start
    median = statistics.median(trainer.step_seconds)
    return {
        "example": example,
        "pipeline": pipeline,
        "steps": program.steps,
        "pairs": program.config("pairs"),
        "batch": program.config("batch"),
        "seed": trainer.seed,
        "params": params,
        "compression": dense_params(example) / params,
        "gemm_macs_per_step": macs,
        "rel_l2": trainer.evaluate().rel_l2,
        "final_loss": trainer.history[-1]["loss"],
        "train_seconds": seconds,
        "seconds_per_step_median": median,
        "seconds_per_step_spread": max(trainer.step_seconds) / median,
        "machine": _machine(),
        "date": time.strftime("%Y-%m-%d"),
    }


def accuracy(steps: int | None, pairs: int | None, only: str | None) -> None:
    done = _done()
    for run in runs(steps, pairs):
        if run["label"] in done or (only and only not in run["label"]):
            continue
        print(f"== {run['label']}", file=sys.stderr, flush=True)
        record = {"label": run["label"], **train_one(run["example"], run["pipeline"], steps, pairs)}
        save(record)
        print(_accuracy_row(record), flush=True)


def _accuracy_row(r: dict) -> str:
    return (
        f"| {r['example']} | {r['pipeline']} | {r['steps']} | {r['pairs']} | {r['params']:,} | "
        f"{r['compression']:.1f}x | {r['gemm_macs_per_step'] / 1e9:.2f} G | "
        f"{r['seconds_per_step_median']:.2f} s ({r['seconds_per_step_spread']:.2f}) | "
        f"{r['rel_l2']:.2e} |"
    )


# ---------------------------------------------------------------- quantization error


LAYERS = {2: ((16, 16), (16, 16)), 3: ((4, 8, 8), (4, 8, 8)), 4: ((4, 4, 4, 4), (4, 4, 4, 4))}


def smx_gemm(bits_act: int = 8, bits_weight: int = 8, block: int = 4):
    """A `pintac.runtime.tt` GEMM callback computing as the `full` pipeline does: a merge of
    cores (weights) in f32, exact and rounded once; a contraction on SMX-quantized operands,
    the left one an activation."""
    from pintac.runtime import smx, tt

    def gemm(kind, lhs, rhs):
        if kind == tt.MERGE:
            return smx.gemm(lhs.astype(np.float32), rhs.astype(np.float32))
        a = smx.quantize_matrix(lhs.astype(np.float32), bits_act, (block, block))
        b = smx.quantize_matrix(rhs.astype(np.float32), bits_weight, (block, block))
        return smx.gemm_quantized(a, b)

    return gemm


def quantization(rows: int, seeds: int, only: str | None) -> None:
    from pintac.core.inits import glorot_std
    from pintac.runtime import tt

    done = _done()
    for d, (nf, mf) in LAYERS.items():
        label = f"quantization d={d} rows={rows}"
        if label in done or (only and only not in label):
            continue
        ranks = tt.tt_ranks(d, 8)
        errors: dict[str, list[float]] = {}
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            cores = tt.init_cores(rng, nf, mf, ranks, glorot_std(256, 256))
            x = np.tanh(rng.standard_normal((rows, 256))).astype(np.float32)
            exact = x.astype(np.float64) @ tt.reconstruct([c.astype(np.float64) for c in cores])
            for g in range(1, d + 1):
                plan = tt.plan_contraction((nf, mf), ranks, rows, num_groups=g)
                y = tt.tt_matmul(x, cores, plan.groups, plan.order, smx_gemm())
                err = np.linalg.norm(y - exact) / np.linalg.norm(exact)
                errors.setdefault(",".join(map(str, plan.groups)), []).append(float(err))
        record = {
            "label": label,
            "cores": d,
            "in_factors": list(nf),
            "out_factors": list(mf),
            "ranks": list(ranks),
            "rows": rows,
            "seeds": seeds,
            "format": "merges f32; contractions SMX INT8 activations and weights, 4x4 tiles, rne",
            "rel_l2_error": {k: statistics.mean(v) for k, v in errors.items()},
            "date": time.strftime("%Y-%m-%d"),
        }
        save(record)
        print(_quantization_row(record), flush=True)


def _quantization_row(r: dict) -> str:
    cells = ", ".join(f"g=({k}): {v:.2e}" for k, v in r["rel_l2_error"].items())
    return f"| {r['cores']} | {'·'.join(map(str, r['in_factors']))} | {cells} |"


# ---------------------------------------------------------------- step time


def step_time(steps: int, only: str | None, pairs: int | None) -> None:
    import pintac.api as pt
    from pintac.run import _tune_malloc

    _tune_malloc()
    done = _done()
    text = (ROOT / "examples" / "poisson2d.mlir").read_text()
    if pairs is not None:
        text = text.replace("pairs = 512", f"pairs = {pairs}")
    for pipeline in PIPELINES:
        label = f"step-time poisson2d {pipeline}" + ("" if pairs is None else f" K={pairs}")
        if label in done or (only and only not in label):
            continue
        program = pt.loads(text, "examples/poisson2d.mlir").compile(pipeline)
        trainer = pt.Trainer(program)
        trainer.train(2)
        trainer.step_seconds.clear()
        trainer.train(steps)
        times = trainer.step_seconds
        median = statistics.median(times)
        record = {
            "label": label,
            "example": "poisson2d",
            "pipeline": pipeline,
            "pairs": program.config("pairs"),
            "batch": program.config("batch"),
            "steps_timed": steps,
            "seconds_per_step": times,
            "seconds_per_step_median": median,
            "seconds_per_step_spread": max(times) / median,
            "machine": _machine(),
            "date": time.strftime("%Y-%m-%d"),
        }
        save(record)
        print(f"| {pipeline} | {median:.2f} s | {max(times) / median:.2f} |", flush=True)


# ---------------------------------------------------------------- tables


def table() -> None:
    found = load_results()
    train = [r for r in found if "rel_l2" in r]
    if train:
        print("| example | pipeline | steps | K | params | compression | GEMM MACs/step "
              "| s/step (max/median) | rel. L2 |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|")
        for r in train:
            print(_accuracy_row(r))
    quant = [r for r in found if "rel_l2_error" in r]
    if quant:
        print("\n| cores | input modes | rel. L2 error of the output per grouping |")
        print("|---|---|---|")
        for r in quant:
            print(_quantization_row(r))
    times = [r for r in found if r.get("label", "").startswith("step-time")]
    if times:
        print("\n| pipeline | s/step (median) | max/median |")
        print("|---|---|---|")
        for r in times:
            print(
                f"| {r['pipeline']} | {r['seconds_per_step_median']:.2f} s | "
                f"{r['seconds_per_step_spread']:.2f} |"
            )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["accuracy", "quantization", "step-time", "table"])
    ap.add_argument("--steps", type=int, help="training steps (accuracy) or timed steps")
    ap.add_argument("--pairs", type=int, help="Stein pairs K (accuracy, step-time)")
    ap.add_argument("--rows", type=int, default=4096, help="activation rows (quantization)")
    ap.add_argument("--seeds", type=int, default=3, help="random layers (quantization)")
    ap.add_argument("--only", help="run only the labels containing this text")
    ap.add_argument("--out", metavar="FILE", help=f"the records (default {RESULTS})")
    args = ap.parse_args(argv)
    _use_results(args.out)
    if args.what == "accuracy":
        accuracy(args.steps, args.pairs, args.only)
    elif args.what == "quantization":
        quantization(args.rows, args.seeds, args.only)
    elif args.what == "step-time":
        step_time(args.steps or 10, args.only, args.pairs)
    else:
        table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
