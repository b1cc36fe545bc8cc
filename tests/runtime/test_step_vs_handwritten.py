"""The compiled fp32 training step agrees with an independent, hand-written NumPy step.

`benchmarks/handwritten.py` implements the same Stein's-estimator PINN step by hand (forward,
estimator, hand-derived backward pass, Adam) from the same random streams; the compiled step
must follow it loss by loss and parameter by parameter (up to float32 summation order).
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import pintac.api as pt

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def handwritten():
    path = ROOT / "benchmarks" / "handwritten.py"
    spec = importlib.util.spec_from_file_location("pintac_bench_handwritten_cmp", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_compiled_step_follows_the_handwritten_one(handwritten):
    program = pt.load(ROOT / "examples" / "poisson2d_small.mlir").compile("fp32")
    trainer = pt.Trainer(program, seed=3)
    hw = handwritten.HandwrittenPoisson(
        widths=(2, 16, 16, 1),
        pairs=64,
        sigma=0.01,
        lr=1e-3,
        steps=200,
        schedule="linear_decay",
        w_pde=1.0,
        w_bc=300.0,
    )
    hw.init(3)
    for i, (w, b) in enumerate(hw.params):  # the same initialization, independently computed
        np.testing.assert_array_equal(w, trainer.state.params[f"W{i}"])
        np.testing.assert_array_equal(b, trainer.state.params[f"b{i}"])

    for step in range(25):
        points = program.batch(trainer.seed, step)
        hw_loss = hw.step(points["pde"], points["bc"], step, trainer.seed)
        metrics = trainer.train(1)
        assert metrics["loss"] == pytest.approx(hw_loss, rel=1e-4), step

    for i, (w, b) in enumerate(hw.params):
        np.testing.assert_allclose(trainer.state.params[f"W{i}"], w, rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(trainer.state.params[f"b{i}"], b, rtol=1e-3, atol=1e-5)
