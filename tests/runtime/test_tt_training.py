"""TT pipelines train: `fp32-tt` reduces the error of the small Poisson problem, and the fully
quantized `full` (TT, DiffQuant, SMX, PRS) runs with every GEMM that reads data quantized, the
weight-side merges of PRS in f32, exact like the quantized GEMMs."""

from __future__ import annotations

import math
from pathlib import Path

import pintac.api as pt
from pintac.dialects import train, tt
from pintac.passes.smx_quantize import parameter_values
from pintac.runtime import ops

SMALL = Path(__file__).resolve().parents[2] / "examples" / "poisson2d_small.mlir"


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
