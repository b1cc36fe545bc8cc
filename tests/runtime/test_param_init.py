"""Parameter initialization: values, moments, determinism, streams, errors."""

import math
from pathlib import Path

import numpy as np
import pytest

from pintac.core.errors import UserError
from pintac.diagnostics import Source, parse_source, verify
from pintac.dialects import pinn
from pintac.registry import make_context
from pintac.runtime import rng
from pintac.runtime.init import init_param, init_params

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    "init, args, value", [("zeros", (), 0.0), ("ones", (), 1.0), ("constant", (2.5,), 2.5)]
)
def test_constant_inits(init, args, value):
    x = init_param(init, args, (3, 4), seed=0, index=0)
    assert x.dtype == np.float32 and x.shape == (3, 4)
    assert np.all(x == np.float32(value))


def test_normal_moments():
    x = init_param("normal", (0.02,), (200, 300), seed=1, index=3)
    assert x.dtype == np.float32 and x.shape == (200, 300)
    n = x.size
    assert abs(x.mean()) < 5 * 0.02 / math.sqrt(n)
    assert abs(x.std() / 0.02 - 1) < 0.01


def test_normal_is_std_times_the_init_stream():
    x = init_param("normal", (0.5,), (4, 5), seed=9, index=2)
    z = rng.normal(9, 0, rng.STREAM_INIT + 2, (4, 5), dtype=np.float64)
    assert np.array_equal(x, (0.5 * z).astype(np.float32))


def test_uniform_moments_and_range():
    x = init_param("uniform", (-1.0, 3.0), (100000,), seed=0, index=0)
    assert x.dtype == np.float32 and x.shape == (100000,)
    assert x.min() >= -1.0 and x.max() <= 3.0
    assert abs(x.mean() - 1.0) < 0.02
    assert abs(x.var() - 16 / 12) < 0.02


@pytest.mark.parametrize("shape", [(256, 256), (2, 256), (256, 1)])
def test_xavier_normal_std(shape):
    x = init_param("xavier_normal", (), shape, seed=0, index=1)
    assert x.shape == shape and x.dtype == np.float32
    std = math.sqrt(2.0 / (shape[0] + shape[-1]))
    tol = 6 / math.sqrt(2 * x.size)  # relative standard error of a sample std, 6 sigmas
    assert abs(x.std() / std - 1) < max(tol, 0.01)
    assert abs(x.mean()) < 6 * std / math.sqrt(x.size)


@pytest.mark.parametrize("shape", [(256, 256), (3, 100)])
def test_xavier_uniform_limit(shape):
    x = init_param("xavier_uniform", (), shape, seed=4, index=0)
    limit = math.sqrt(6.0 / (shape[0] + shape[-1]))
    assert np.all(np.abs(x) <= np.float32(limit))
    assert abs(x.std() / (limit / math.sqrt(3)) - 1) < 6 / math.sqrt(2 * x.size) + 0.01
    assert x.max() > 0.95 * limit and x.min() < -0.95 * limit


def test_determinism_and_independence():
    a = init_param("xavier_normal", (), (16, 8), seed=3, index=5)
    assert np.array_equal(a, init_param("xavier_normal", (), (16, 8), seed=3, index=5))
    assert not np.array_equal(a, init_param("xavier_normal", (), (16, 8), seed=4, index=5))
    assert not np.array_equal(a, init_param("xavier_normal", (), (16, 8), seed=3, index=6))


def test_shape_as_int_and_list():
    assert init_param("ones", (), 5, 0, 0).shape == (5,)
    assert init_param("normal", (1.0,), [2, 3], 0, 0).shape == (2, 3)


def test_errors():
    with pytest.raises(UserError, match="unknown init 'he_normal'; known inits: zeros, ones"):
        init_param("he_normal", (), (2, 2), 0, 0)
    with pytest.raises(UserError, match="init 'normal' takes 1 argument"):
        init_param("normal", (), (2, 2), 0, 0)
    with pytest.raises(UserError, match="needs a weight matrix"):
        init_param("xavier_uniform", (), (4,), 0, 0)
    # a TT core's ranks are not fan-in and fan-out: Glorot needs a matrix
    with pytest.raises(UserError, match=r"init 'xavier_normal' needs a weight matrix \(rank 2\)"):
        init_param("xavier_normal", (), (8, 4, 4, 8), 0, 0)


def test_init_params_of_a_problem():
    text = (EXAMPLES / "poisson2d.mlir").read_text()
    parsed = parse_source(make_context(), Source("poisson2d", text))
    verify(parsed)
    problem = next(op for op in parsed.module.walk() if isinstance(op, pinn.ProblemOp))
    values = init_params(problem)
    assert list(values) == ["W0", "b0", "W1", "b1", "W2", "b2", "W3", "b3"]
    assert values["W1"].shape == (256, 256) and values["W3"].shape == (256, 1)
    assert all(v.dtype == np.float32 for v in values.values())
    assert not values["b2"].any()
    # index = position among the params; the seed comes from pinn.train (0 here)
    assert np.array_equal(values["W1"], init_param("xavier_normal", (), (256, 256), 0, 2))
    other = init_params(problem, seed=1)
    assert not np.array_equal(values["W0"], other["W0"])
