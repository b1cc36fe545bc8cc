"""The stein dialect: building ops from Python, result-type inference, round trips, and the
documented semantics.

The semantics are checked through the runtime's kernels in float64: they are correct Stein
estimators on a function with known derivatives, and the difference form equals the value form.
"""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from xdsl.builder import Builder
from xdsl.dialects import func
from xdsl.dialects.builtin import DYNAMIC_INDEX, ModuleOp, TensorType, f32, i32, i64
from xdsl.ir import Block, Operation, Region
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.test_value import create_ssa_value

from pintac.dialects.stein import (
    CenterOp,
    DiffActivationOp,
    DifferenceStreamsOp,
    GradOp,
    LaplacianOp,
    PerturbOp,
    SampleOp,
    SmoothedOp,
    difference_streams_type,
    estimate_type,
    perturb_type,
    sample_type,
)
from pintac.registry import make_context
from pintac.runtime import kernels_stein as ks

N = DYNAMIC_INDEX


def t(*shape: int) -> TensorType:
    return TensorType(f32, shape)


# ---------------------------------------------------------------------------------------------
# Result-type inference
# ---------------------------------------------------------------------------------------------


def test_type_helpers():
    x, delta = t(N, 3), t(N, 4, 3)
    assert sample_type(x, 4) == delta
    assert perturb_type(x, delta) == t(N, 9, 3)
    assert difference_streams_type(delta) == t(N, 8, 3)
    assert estimate_type(t(N, 9, 1), delta, 2) == t(N, 2)
    assert estimate_type(t(N, 9, 1)) == t(N, 1)
    assert GradOp.infer_result_type(t(N, 9, 1), delta, (2, 3), False) == t(N, 1)
    assert LaplacianOp.infer_result_type(t(N, 9, 1), delta, (0, 2), False) == t(N, 1)


def test_type_helpers_join_static_batch():
    # A static point count on either operand makes the result static.
    assert perturb_type(t(N, 2), t(8, 4, 2)) == t(8, 9, 2)
    assert perturb_type(t(8, 2), t(N, 4, 2)) == t(8, 9, 2)
    assert estimate_type(t(N, 9, 1), t(8, 4, 2), 2) == t(8, 2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: perturb_type(t(N, 2), t(N, 4, 3)), "the points have 2 coordinates but"),
        (
            lambda: perturb_type(t(8, 2), t(4, 4, 2)),
            "point counts differ: the points have 8 rows, the perturbations have 4",
        ),
        (lambda: sample_type(t(N, N), 4), "(dimension 1 of the points) must be static"),
        (
            lambda: difference_streams_type(t(N, 2)),
            "the perturbations must be a tensor<N x K x D x f32>",
        ),
        (lambda: estimate_type(t(N, 9, 2)), "must have 1 output, got 2"),
    ],
)
def test_type_helpers_reject_bad_shapes(call, message):
    with pytest.raises(VerifyException, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


# ---------------------------------------------------------------------------------------------
# Building every op from Python (as stein-expand and stein-difference do)
# ---------------------------------------------------------------------------------------------


def build_module() -> tuple[ModuleOp, dict[str, Operation]]:
    """One function using every op, built with the Python builders and inferred types."""
    arg_types = [t(N, 3), i64, i64, t(N, 9, 1), t(N, 8, 1), t(N, 5), t(N, 8, 5)]
    block = Block(arg_types=arg_types)
    x, seed, step, g, d, zb, zd = block.args
    for arg, name in zip(block.args, ["x", "seed", "step", "g", "d", "zb", "zd"], strict=True):
        arg.name_hint = name
    b = Builder(InsertPoint.at_end(block))
    ops: dict[str, Operation] = {}
    ops["delta"] = delta = b.insert(SampleOp(x, seed, step, pairs=4, sigma=0.01, sigma_t=0.02))
    ops["batch"] = b.insert(PerturbOp(x, delta))
    ops["du"] = b.insert(GradOp(g, delta, 0.01, dims=(0, 2)))
    ops["ut"] = b.insert(GradOp(g, delta, 0.02, dims=(2, 3)))
    ops["lap"] = b.insert(LaplacianOp(g, delta, 0.01, dims=(0, 2)))
    ops["u"] = u = b.insert(CenterOp(g))
    ops["us"] = b.insert(SmoothedOp(g))
    ops["d0"] = b.insert(DifferenceStreamsOp(delta))
    ops["act"] = b.insert(DiffActivationOp("sin", zb, zd))
    ops["du_d"] = b.insert(GradOp(d, delta, 0.01, dims=(0, 2), differences=True))
    ops["lap_d"] = b.insert(LaplacianOp(d, delta, 0.01, dims=(0, 2), differences=True))
    ops["us_d"] = b.insert(SmoothedOp(d, base=u))
    for name, op in ops.items():
        op.results[0].name_hint = name
    b.insert(func.ReturnOp())
    module = ModuleOp([func.FuncOp("f", (arg_types, []), Region(block))])
    return module, ops


def test_builders_infer_result_types():
    module, ops = build_module()
    module.verify()
    expected = {
        "delta": t(N, 4, 3),
        "batch": t(N, 9, 3),
        "du": t(N, 2),
        "ut": t(N, 1),
        "lap": t(N, 1),
        "u": t(N, 1),
        "us": t(N, 1),
        "d0": t(N, 8, 3),
        "act": t(N, 8, 5),
        "du_d": t(N, 2),
        "lap_d": t(N, 1),
        "us_d": t(N, 1),
    }
    assert {name: op.results[0].type for name, op in ops.items()} == expected


def test_builder_properties():
    _, ops = build_module()
    sample = ops["delta"]
    assert isinstance(sample, SampleOp)
    assert sample.pairs.value.data == 4 and sample.stream.value.data == 0
    assert sample.sigma_of_dim(0) == ("sigma", 0.01)
    assert sample.sigma_of_dim(2) == ("sigma_t", 0.02)
    grad, grad_d = ops["du"], ops["du_d"]
    assert isinstance(grad, GradOp) and isinstance(grad_d, GradOp)
    assert grad.dims == (0, 2) and not grad.is_difference_form
    assert grad_d.is_difference_form
    smoothed = ops["us_d"]
    assert isinstance(smoothed, SmoothedOp) and smoothed.is_difference_form
    assert smoothed.base is ops["u"].results[0]
    act = ops["act"]
    assert isinstance(act, DiffActivationOp) and act.activation.data == "sin"


def test_estimator_default_dims_cover_every_coordinate():
    g, delta = create_ssa_value(t(N, 9, 1)), create_ssa_value(t(N, 4, 3))
    grad = GradOp(g, delta, 0.01)
    assert grad.dims == (0, 3)
    assert grad.result.type == t(N, 3)
    assert LaplacianOp(g, delta, 0.01).dims == (0, 3)


def test_sample_without_sigma_t():
    x, seed = create_ssa_value(t(16, 2)), create_ssa_value(i64)
    op = SampleOp(x, seed, seed, pairs=512, sigma=0.01, stream=7)
    op.verify()
    assert op.sigma_t is None
    assert op.delta.type == t(16, 512, 2)
    assert op.sigma_of_dim(1) == ("sigma", 0.01)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda x, s, g, dl: SampleOp(x, s, s, pairs=0, sigma=0.01),
            "pairs must be at least 1, got 0",
        ),
        (
            lambda x, s, g, dl: SampleOp(x, s, s, pairs=4, sigma=float("nan")),
            "sigma must be a positive number, got nan",
        ),
        (
            lambda x, s, g, dl: SampleOp(x, s, s, pairs=4, sigma=0.01, stream=2**32),
            r"stream must be in \[0, 2\^32\), got 4294967296",
        ),
        (
            lambda x, s, g, dl: SampleOp(x, create_ssa_value(i32), s, pairs=4, sigma=0.01),
            "the seed must be an i64 scalar, got i32",
        ),
        (
            lambda x, s, g, dl: GradOp(g, dl, 0.01, differences=True),
            "the difference form expects 2K = 8 differences per point for 4 pairs, got 9",
        ),
        (
            lambda x, s, g, dl: GradOp(g, dl, 0.01, dims=(3, 4)),
            "dims 3 to 4 is not a non-empty range within the 3 coordinates",
        ),
        (
            lambda x, s, g, dl: SmoothedOp(create_ssa_value(t(N, 8, 1))),
            "got 8 \\(2K differences need the 'differences' form\\)",
        ),
        (
            lambda x, s, g, dl: DiffActivationOp("relu", x, dl),
            "unknown activation 'relu'; expected one of: tanh, sin",
        ),
    ],
)
def test_verifier_rejects_built_ops(make, message):
    x, seed = create_ssa_value(t(N, 3)), create_ssa_value(i64)
    g, delta = create_ssa_value(t(N, 9, 1)), create_ssa_value(t(N, 4, 3))
    with pytest.raises(VerifyException, match=message):
        make(x, seed, g, delta).verify()


def test_sigma_must_match_the_sample():
    module, ops = build_module()
    delta = ops["delta"].results[0]
    g = ops["du"].operands[0]
    bad = GradOp(g, delta, 0.01, dims=(1, 3))  # coordinate 2 was drawn with sigma_t 0.02
    with pytest.raises(VerifyException, match="differs from the sigma_t 0.02 that coordinate 2"):
        bad.verify()
    # Perturbations from elsewhere (a block argument) carry no sigma to compare with.
    GradOp(g, create_ssa_value(t(N, 4, 3)), 0.5).verify()


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------


def print_op(op: Operation, generic: bool) -> str:
    out = StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(op)
    return out.getvalue()


@pytest.mark.parametrize("generic", [False, True])
def test_round_trip(generic: bool):
    module, _ = build_module()
    text = print_op(module, generic)
    parsed = Parser(make_context(), text).parse_module()
    parsed.verify()
    assert parsed.is_structurally_equivalent(module)
    assert print_op(parsed, False) == print_op(module, False)


def test_custom_syntax():
    module, _ = build_module()
    text = print_op(module, False)
    for line in [
        "%delta = stein.sample %x, %seed, %step pairs 4 sigma 1.000000e-02 sigma_t 2.000000e-02"
        " stream 0 : tensor<?x3xf32> -> tensor<?x4x3xf32>",
        "%batch = stein.perturb %x, %delta : tensor<?x3xf32>, tensor<?x4x3xf32> -> "
        "tensor<?x9x3xf32>",
        "%ut = stein.grad %g, %delta sigma 2.000000e-02 dims 2 to 3 : tensor<?x9x1xf32>, "
        "tensor<?x4x3xf32> -> tensor<?x1xf32>",
        "%lap_d = stein.laplacian differences %d, %delta sigma 1.000000e-02 dims 0 to 2 : "
        "tensor<?x8x1xf32>, tensor<?x4x3xf32> -> tensor<?x1xf32>",
        "%us_d = stein.smoothed differences %d base %u : tensor<?x8x1xf32>, tensor<?x1xf32> -> "
        "tensor<?x1xf32>",
        "%act = stein.diff_activation sin %zb, %zd : tensor<?x5xf32>, tensor<?x8x5xf32> -> "
        "tensor<?x8x5xf32>",
    ]:
        assert line in text


# ---------------------------------------------------------------------------------------------
# The documented semantics, run through the runtime's kernels in float64
# ---------------------------------------------------------------------------------------------


def quadratic(points):
    """g(x) = Σ a_i x_i² + Σ b_i x_i + x_0 x_1: ∇g = 2 a x + b + (x_1, x_0, 0), Δg = 2 Σ a_i."""
    a = np.array([0.5, -1.0, 2.0])
    b = np.array([1.0, 0.25, -0.5])
    cross = points[..., 0] * points[..., 1]
    return (np.sum(a * points**2 + b * points, axis=-1) + cross)[..., None], a, b


def test_estimators_on_a_quadratic():
    rng = np.random.default_rng(0)
    n, k, d, sigma = 4, 200_000, 3, 0.1
    x = rng.uniform(-1, 1, size=(n, d))
    delta = sigma * rng.standard_normal((n, k, d))
    batch = ks.stein_perturb(x, delta)
    assert batch.shape == (n, 2 * k + 1, d)
    np.testing.assert_array_equal(batch[:, 0], x)  # row 0 is x, then x + δ_k, then x − δ_k
    np.testing.assert_array_equal(batch[:, 1 : k + 1], x[:, None] + delta)
    np.testing.assert_array_equal(batch[:, k + 1 :], x[:, None] - delta)
    values, a, b = quadratic(batch)
    np.testing.assert_array_equal(ks.stein_center(values), quadratic(x)[0])

    def grad(lo, hi):
        return ks.stein_grad(values, delta, sigma=sigma, lo=lo, hi=hi, differences=False)

    def laplacian(lo, hi):
        return ks.stein_laplacian(values, delta, sigma=sigma, lo=lo, hi=hi, differences=False)

    exact_grad = 2 * a * x + b + np.stack([x[:, 1], x[:, 0], np.zeros(n)], axis=1)
    # Monte-Carlo error per component ≈ ‖∇g‖ / sqrt(K) ≈ 0.2 % of ‖∇g‖ here: allow 1 %.
    scale = 0.01 * np.linalg.norm(exact_grad, axis=1, keepdims=True)
    assert np.all(np.abs(grad(0, d) - exact_grad) <= scale)
    assert np.all(np.abs(grad(1, 3) - exact_grad[:, 1:]) <= scale)
    # Its Monte-Carlo error is ≈ 0.045 here; a wrong D in the weight would be off by ≥ 0.75.
    np.testing.assert_allclose(laplacian(0, d), np.full((n, 1), 2 * a.sum()), atol=0.2)
    # A partial Laplacian over [0, 2): the other coordinate's noise does not bias it.
    np.testing.assert_allclose(laplacian(0, 2), np.full((n, 1), 2 * a[:2].sum()), atol=0.2)
    # Smoothing a quadratic adds σ² Σ a_i exactly (in expectation).
    smoothed = ks.stein_smoothed(values)
    np.testing.assert_allclose(smoothed, quadratic(x)[0] + sigma**2 * a.sum(), atol=2e-3)


def test_difference_form_equals_value_form():
    rng = np.random.default_rng(1)
    n, k, d, sigma = 3, 64, 2, 0.01
    x = rng.uniform(0, 1, size=(n, d))
    delta = sigma * rng.standard_normal((n, k, d))
    batch = ks.stein_perturb(x, delta)
    values = np.sin(batch.sum(axis=-1, keepdims=True))
    center = values[:, 0]
    # What the difference streams carry: the perturbed rows minus the base, in the same order.
    # (x + δ) − x is δ up to rounding: the reason DiffQuant carries δ itself.
    np.testing.assert_allclose(
        ks.stein_difference_streams(delta), batch[:, 1:] - x[:, None], atol=1e-15
    )
    diffs = values[:, 1:] - center[:, None]
    for lo, hi in [(0, 2), (1, 2)]:
        for kernel, rtol in ((ks.stein_grad, 1e-9), (ks.stein_laplacian, 1e-6)):
            np.testing.assert_allclose(
                kernel(diffs, delta, sigma=sigma, lo=lo, hi=hi, differences=True),
                kernel(values, delta, sigma=sigma, lo=lo, hi=hi, differences=False),
                rtol=rtol,
            )
    np.testing.assert_allclose(
        ks.stein_smoothed(diffs, base=center), ks.stein_smoothed(values), rtol=1e-12
    )
