"""smx-quantize and the quantized pipelines: what is quantized, how often, and that it trains."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import pintac.api as pt
from pintac.core.errors import UserError
from pintac.dialects import smx, train
from pintac.runtime.kernels import run_op

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "examples" / "poisson2d_small.mlir"


def ops(program, name):
    return list(program.functions[name].walk())


@pytest.mark.parametrize("pipeline", ["smx-naive", "smx-diff", "mx-diff"])
def test_every_training_gemm_is_quantized_and_predict_is_not(pipeline):
    program = pt.load(SMALL).compile(pipeline)
    gemms = [op for op in ops(program, "train_step") if isinstance(op, train.GemmOp)]
    assert gemms and all(op.is_quantized for op in gemms)
    roles = Counter(op.gemm_role for op in gemms)
    assert roles[train.GemmRole.DGRAD] and roles[train.GemmRole.WGRAD]
    assert not any(isinstance(op, smx.QuantizeOp) for op in ops(program, "predict"))
    # bit widths by use: activations and weights INT8, gradients INT12
    for q in (op for op in ops(program, "train_step") if isinstance(op, smx.QuantizeOp)):
        expected = {"activation": 8, "weight": 8, "gradient": 12}[q.attributes["smx.use"].data]
        assert q.format.bits == expected


def copies_per_tensor(program) -> Counter:
    return Counter(op.input for op in ops(program, "train_step") if isinstance(op, smx.QuantizeOp))


def test_smx_quantizes_each_tensor_once_and_mx_twice_when_read_both_ways():
    problem = pt.load(SMALL)
    smx_copies = copies_per_tensor(problem.compile("smx-diff"))
    mx_copies = copies_per_tensor(problem.compile("mx-diff"))
    assert set(smx_copies.values()) == {1}
    assert 2 in mx_copies.values()
    assert sum(mx_copies.values()) > sum(smx_copies.values())


def test_quantized_pipelines_train_and_difference_quantization_matters():
    """At the small example's settings, DiffQuant keeps the f32 accuracy and the naive
    quantization of the perturbed batch does not (σ-sized perturbations are rounded away)."""
    problem = pt.load(SMALL)
    errors = {}
    for name in ("fp32", "smx-naive", "smx-diff"):
        trainer = pt.Trainer(problem.compile(name, steps=100), seed=0)
        trainer.train(100)
        errors[name] = trainer.evaluate(points=4000).rel_l2
    assert errors["smx-diff"] < 1.1 * errors["fp32"], errors
    assert errors["smx-naive"] > 1.3 * errors["fp32"], errors


def test_naive_quantization_destroys_the_laplacian_and_differences_keep_it():
    """The residual loss (Δu + f)² at the same parameters and points: DiffQuant's INT8
    estimate stays near the f32 one; quantizing x ± δ directly masks the perturbations."""
    problem = pt.load(SMALL)
    losses = {}
    for name in ("fp32", "smx-naive", "smx-diff"):
        program = problem.compile(name)
        _, metrics = program.step(program.initial_state(0), seed=0)
        losses[name] = metrics["loss_pde"]
    assert abs(losses["smx-diff"] / losses["fp32"] - 1) < 0.05, losses
    assert losses["smx-naive"] > 20 * losses["fp32"], losses  # ~100x here


def test_a_non_finite_value_reaching_a_quantizer_is_an_error_naming_the_tensor():
    program = pt.load(SMALL).compile("smx-diff")
    quantize = next(op for op in ops(program, "train_step") if isinstance(op, smx.QuantizeOp))
    x = np.ones((8, 16), np.float32)
    x[2, 3] = np.nan
    with pytest.raises(UserError, match=rf"%{quantize.input.name_hint} holds a non-finite value"):
        run_op(quantize, x)


def test_training_stops_at_a_non_finite_weight_and_keeps_the_last_checkpoint(tmp_path):
    """The quantizer's error names the tensor and the step; the trainer adds where the last
    good checkpoint is, and writes nothing over it."""
    trainer = pt.Trainer(pt.load(SMALL).compile("smx-diff"), seed=0)
    checkpoint = tmp_path / "ck"
    trainer.train(2, checkpoint=checkpoint, checkpoint_every=1)
    saved = checkpoint.read_bytes()
    trainer.state.params["W1"][3, 4] = np.inf
    with pytest.raises(pt.TrainingDiverged) as failure:
        trainer.train(3, checkpoint=checkpoint, checkpoint_every=1)
    message = str(failure.value)
    assert "%W1 holds a non-finite value" in message and "step 2" in message
    assert f"the last good checkpoint is {checkpoint}" in message
    assert checkpoint.read_bytes() == saved
