"""The fused elementwise kernels compute the same bits as the unfused operations they replace.

`bias_activation` is `train.bias_add` then the activation, and `activation` / `activation_grad`
are the table's functions, run in row chunks on the thread pool. The arrays are several chunks long (`parallel.CHUNK_ELEMENTS`), with odd
widths, so chunk boundaries fall inside SIMD blocks; the generated step that calls them equals
the reference interpreter, which runs the ops one by one.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import pintac.api as pt
from pintac.dialects.activations import ACTIVATIONS
from pintac.runtime import parallel
from pintac.runtime.kernels_core import activation, activation_grad, bias_activation
from pintac.runtime.numpy_target import interpret

ROOT = Path(__file__).resolve().parents[2]

NAMES = sorted(ACTIVATIONS)


def _inputs(name: str, rows: int, width: int, seed: int = 0) -> np.ndarray:
    z = np.random.default_rng(seed).normal(0, 1.5, (rows, width)).astype(np.float32)
    return np.abs(z) + np.float32(0.1) if name in ("log", "sqrt") else z


def _many_chunks(width: int) -> int:
    """Rows enough for three chunks and a partial one."""
    return 3 * parallel.chunk_rows(width) + 7


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("width", [1, 37, 256])
def test_bias_activation_is_bias_add_then_activation(name, width):
    rows = _many_chunks(width)
    x = _inputs(name, rows, width)
    b = np.random.default_rng(1).uniform(0, 0.1, width).astype(np.float32)
    expected = ACTIVATIONS[name].fn(np.add(x, b))
    fresh = bias_activation(x, b, activation=name)
    inplace = x.copy()
    result = bias_activation(inplace, b, out=inplace, activation=name)
    assert result is inplace
    np.testing.assert_array_equal(fresh.view(np.uint32), expected.view(np.uint32))
    np.testing.assert_array_equal(inplace.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(), (5,), (4099, 3), (2000, 2, 129)])
def test_activation_is_the_table_function(name, shape):
    z = _inputs(name, int(np.prod(shape)), 1).reshape(shape)
    expected = ACTIVATIONS[name].fn(z)
    np.testing.assert_array_equal(activation(z, activation=name), expected)
    inplace = z.copy()
    activation(inplace, out=inplace, activation=name)
    np.testing.assert_array_equal(inplace.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("width", [1, 37, 256])
def test_activation_grad_is_derivative_times_dy(name, width):
    act = ACTIVATIONS[name]
    rows = _many_chunks(width)
    z = _inputs(name, rows, width)
    saved = act.fn(z) if act.saves == "output" else z
    dy = np.random.default_rng(2).normal(0, 1, (rows, width)).astype(np.float32)
    expected = act.derivative(saved) * dy
    fresh = activation_grad(saved, dy, activation=name)
    into_dy = dy.copy()
    activation_grad(saved, into_dy, out=into_dy, activation=name)
    np.testing.assert_array_equal(fresh.view(np.uint32), expected.view(np.uint32))
    np.testing.assert_array_equal(into_dy.view(np.uint32), expected.view(np.uint32))


def test_activation_grad_broadcasts_like_the_unfused_product():
    saved = np.linspace(-0.9, 0.9, 12, dtype=np.float32).reshape(3, 4)
    dy = np.float32(2.5)
    expected = ACTIVATIONS["tanh"].derivative(saved) * dy
    np.testing.assert_array_equal(activation_grad(saved, dy, activation="tanh"), expected)


def test_float64_stays_float64():
    z = np.linspace(-2, 2, 4 * parallel.CHUNK_ELEMENTS // 64, dtype=np.float64).reshape(-1, 64)
    b = np.full(64, 0.25)
    assert bias_activation(z, b, activation="tanh").dtype == np.float64
    assert activation(z, activation="tanh").dtype == np.float64
    assert activation_grad(z, z, activation="tanh").dtype == np.float64


def test_the_generated_step_fuses_and_equals_the_interpreter_bit_for_bit():
    text = (ROOT / "examples" / "poisson2d.mlir").read_text().replace("pairs = 512", "pairs = 16")
    program = pt.loads(text, "poisson2d").compile("fp32")
    source = program.executable.source
    assert source.count("# train.bias_add, math.tanh") >= 6  # both point sets
    state = program.initial_state(seed=3)
    args = program.step_arguments(state, 3, program.batch(3, 0))
    compiled = program.train_step(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    reference = interpret(program.functions["train_step"], args)
    for c, r in zip(compiled, reference, strict=True):
        assert np.asarray(c).tobytes() == np.asarray(r).tobytes()


def test_pool_workers_follow_the_callers_floating_point_error_settings(monkeypatch):
    """The trainer silences NumPy's floating-point warnings around a step: chunks run on the
    pool's threads obey the same settings (NumPy's are per thread)."""
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    z = -np.ones((4 * parallel.chunk_rows(64), 64), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(invalid="ignore"):
            out = activation(z, activation="log")
    assert np.isnan(out).all()
