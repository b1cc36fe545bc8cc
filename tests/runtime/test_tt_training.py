"""TT pipelines train: the gradients of `fp32-tt` and of `full` without its quantization
match central finite differences (float64), `full`'s quantized gradients are close to those,
`fp32-tt` reduces the error of the small Poisson problem, and the fully quantized `full` (TT,
DiffQuant, SMX, PRS) runs with every GEMM that reads data quantized, the weight-side merges
of PRS in f32, exact like the quantized GEMMs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func

import pintac.api as pt
from pintac.dialects import train, tt
from pintac.passes.smx_quantize import parameter_values
from pintac.pipelines import pipeline_spec
from pintac.runtime import ops
from pintac.runtime.numpy_target import interpret

SMALL = Path(__file__).resolve().parents[2] / "examples" / "poisson2d_small.mlir"


class LossGrad:
    """@loss_grad of poisson2d_small under the passes of a named pipeline up to the optimizer
    (optionally without `smx-quantize`), at the pipeline's step-0 parameters and points."""

    def __init__(self, pipeline: str, quantized: bool = True, dtype=np.float32):
        spec = pipeline_spec(pipeline).removesuffix(",optimizer-lower,cse,dce")
        assert spec.endswith("pinn-autodiff") or spec.endswith("smx-quantize"), spec
        if not quantized:
            spec = spec.removesuffix(",smx-quantize")
        module = pt.load(SMALL).transformed(spec)
        self.f = next(
            op
            for op in module.walk()
            if isinstance(op, func.FuncOp) and op.sym_name.data == "loss_grad"
        )
        program = pt.load(SMALL).compile(pipeline)
        self.params = {k: v.astype(dtype) for k, v in program.initial_state(0).params.items()}
        self.points = {k: v.astype(dtype) for k, v in program.batch(0, 0).items()}

    def __call__(self, params: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
        args = []
        for role in train.arg_roles(self.f):
            kind, _, name = role.partition(":")
            args.append(params[name] if kind == "param" else self.points.get(name, 0))
        out = interpret(self.f, args)
        roles = train.result_roles(self.f)
        grads = {
            r.removeprefix("grad:"): v
            for r, v in zip(roles, out, strict=True)
            if r.startswith("grad:")
        }
        return float(out[roles.index("loss")]), grads


@pytest.mark.parametrize("pipeline", ["fp32-tt", "full"])
def test_gradients_match_finite_differences(pipeline):
    """In float64, through the Stein estimator, the TT cores (merged or not) and, for `full`,
    DiffQuant's difference streams."""
    loss_grad = LossGrad(pipeline, quantized=False, dtype=np.float64)
    params = loss_grad.params
    _, grads = loss_grad(params)
    assert {"W1_G0", "W1_G1", "W1_G2"} <= set(grads)
    rng, eps = np.random.default_rng(0), 1e-6
    for param, grad in grads.items():
        direction = rng.standard_normal(grad.shape)
        plus = loss_grad({**params, param: params[param] + eps * direction})[0]
        minus = loss_grad({**params, param: params[param] - eps * direction})[0]
        numeric = (plus - minus) / (2 * eps)
        assert float(np.sum(grad * direction)) == pytest.approx(numeric, rel=1e-6), param


def test_full_quantized_gradients_are_close_to_the_exact_ones():
    """INT8/INT12 SMX moves each gradient of `full` by a few percent, no more."""
    quantized, exact = LossGrad("full"), LossGrad("full", quantized=False)
    _, quantized_grads = quantized(quantized.params)
    _, exact_grads = exact(exact.params)
    assert quantized_grads.keys() == exact_grads.keys()
    for param, g in exact_grads.items():
        error = np.linalg.norm(quantized_grads[param] - g) / np.linalg.norm(g)
        assert 0 < error < 0.05, (param, error)


def test_fp32_tt_reduces_the_error():
    program = pt.load(SMALL).compile("fp32-tt", steps=40)
    assert any(isinstance(op, tt.LinearOp) for op in program.problem.walk())
    trainer = pt.Trainer(program, seed=0)
    before = trainer.evaluate().rel_l2
    trainer.train(40)
    after = trainer.evaluate().rel_l2
    assert after < before / 2, (before, after)
    assert trainer.history[-1]["loss"] < trainer.history[0]["loss"] / 4


def test_full_pipeline_runs_quantized_with_partial_reconstruction():
    program = pt.load(SMALL).compile("full", steps=8)
    layers = [op for op in program.problem.walk() if isinstance(op, tt.LinearOp)]
    # 16 = 2·2·4: the cheaper of (1, 2) and (2, 1) at the residual's rows
    assert [op.group_sizes for op in layers] == [(1, 2)]
    step = program.functions["train_step"]
    weights = parameter_values(step)
    gemms = [op for op in step.walk() if isinstance(op, train.GemmOp)]
    f32 = [op for op in gemms if not op.is_quantized]
    # the merge of the group of 2 cores, once per step; every other GEMM reads data
    assert len(f32) == 1 and f32[0].gemm_role == train.GemmRole.FWD
    assert all(value in weights for value in f32[0].operands)
    assert all(
        not all(v.owner.input in weights for v in op.operands) for op in gemms if op.is_quantized
    )
    assert ops.info(f32[0]).params(f32[0])["exact"]  # the contract of a quantized step
    trainer = pt.Trainer(program, seed=0)
    trainer.train(8)
    losses = [h["loss"] for h in trainer.history]
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0]
