"""The `taylor` and `stde` derivative strategies: derivatives by Taylor-mode jets.

The jets are checked where they are built, in `@loss` run op by op in float64 (the kernels
keep their operands' dtype): every activation of the table and TT layers against float64
central differences of `@predict` and against closed-form derivatives of a one-layer network;
the gradients of the loss through the jets against finite differences of the loss; STDE's
Laplacian as an unbiased estimate of the exact one.
"""

import re
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func, math

from pintac import api
from pintac.core.errors import UserError
from pintac.diagnostics import Source, parse_source, verify
from pintac.dialects import train
from pintac.dialects.activations import ACTIVATIONS, Activation, register, unregister
from pintac.pass_manager import parse_pipeline_spec, run_pipeline
from pintac.passes.derivative_strategies import DERIVATIVE_STRATEGIES, smoothed_values
from pintac.pipelines import pipeline_spec
from pintac.registry import available_passes, make_context
from pintac.runtime.kernels_taylor import sample_coordinates
from pintac.runtime.numpy_target import interpret

ROOT = Path(__file__).resolve().parents[2]
TAYLOR = "pinn-build-loss{derivatives=taylor}"

# Closed forms, written independently of the activation table: (φ', φ'').
ANALYTIC = {
    "tanh": (lambda z: 1 / np.cosh(z) ** 2, lambda z: -2 * np.tanh(z) / np.cosh(z) ** 2),
    "sin": (np.cos, lambda z: -np.sin(z)),
    "cos": (lambda z: -np.sin(z), lambda z: -np.cos(z)),
    "exp": (np.exp, np.exp),
    "log": (lambda z: 1 / z, lambda z: -1 / z**2),
    "sqrt": (lambda z: 0.5 * z**-0.5, lambda z: -0.25 * z**-1.5),
}

# Points x in [0.1, 1]³, weights and biases of the first layer positive: the first hidden
# layer's inputs lie in [0.5, 2.5], inside every activation's domain (log, sqrt).
HEAD = """
pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0] time [0.0, 1.0]
"""
TERMS = """
  pinn.residual @lap on @d weight 1.0 (%x : tensor<?x3xf32>) {
    %l = pinn.laplacian @u(%x) dims 0 to 2 : tensor<?x3xf32> -> tensor<?x1xf32>
    pinn.yield %l : tensor<?x1xf32>
  }
  pinn.residual @grad on @d weight 1.0 (%x : tensor<?x3xf32>) {
    %g = pinn.grad @u(%x) : tensor<?x3xf32> -> tensor<?x3xf32>
    pinn.yield %g : tensor<?x3xf32>
  }
  pinn.residual @heat on @d weight 1.0 (%x : tensor<?x3xf32>) {
    %ut = pinn.partial @u(%x) dim 2 : tensor<?x3xf32> -> tensor<?x1xf32>
    %uxx = pinn.laplacian @u(%x) dims 1 to 2 : tensor<?x3xf32> -> tensor<?x1xf32>
    %r = arith.subf %ut, %uxx : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
}
"""


def one_layer(act: str) -> str:
    """u = φ(x W0 + b0) W1 + b1."""
    return (
        HEAD
        + f"""
  pinn.param @W0 : tensor<3x5xf32>
  pinn.param @b0 : tensor<5xf32>
  pinn.param @W1 : tensor<5x1xf32>
  pinn.param @b1 : tensor<1xf32>
  pinn.network @u(%x : tensor<?x3xf32>) -> tensor<?x1xf32> {{
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x3xf32> -> tensor<?x5xf32>
    %h0 = math.{act} %z0 : tensor<?x5xf32>
    %y = pinn.dense %h0, @W1, @b1 : tensor<?x5xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }}"""
        + TERMS
    )


def deep(act: str, hidden: str) -> str:
    """Two hidden layers, the second `hidden` (a dense or a TT layer), plus an output offset."""
    return (
        HEAD
        + f"""
  pinn.param @W0 : tensor<3x8xf32>
  pinn.param @b0 : tensor<8xf32>
  pinn.param @W1 : tensor<8x4xf32>
  pinn.param @G0 : tensor<1x2x2x2xf32> init normal(0.5)
  pinn.param @G1 : tensor<2x4x2x1xf32> init normal(0.5)
  pinn.param @b1 : tensor<4xf32>
  pinn.param @W2 : tensor<4x1xf32>
  pinn.network @u(%x : tensor<?x3xf32>) -> tensor<?x1xf32> {{
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x3xf32> -> tensor<?x8xf32>
    %h0 = math.{act} %z0 : tensor<?x8xf32>
    %z1 = {hidden} : tensor<?x8xf32> -> tensor<?x4xf32>
    %h1 = math.tanh %z1 : tensor<?x4xf32>
    %y = pinn.dense %h1, @W2 : tensor<?x4xf32> -> tensor<?x1xf32>
    %c = pinn.constant 0.25 : tensor<?x1xf32>
    %n = arith.negf %y : tensor<?x1xf32>
    %u = arith.subf %c, %n : tensor<?x1xf32>
    pinn.return %u : tensor<?x1xf32>
  }}"""
        + TERMS
    )


DENSE = "pinn.dense %h0, @W1, @b1"
TT = "tt.linear %h0, [@G0, @G1], @b1"
TT_MERGED_RTL = "tt.linear %h0, [@G0, @G1], @b1 groups [2] order rtl"


def functions(text: str, pipeline: str = TAYLOR) -> dict[str, func.FuncOp]:
    ctx = make_context()
    parsed = parse_source(ctx, Source("test.mlir", text))
    verify(parsed)
    run_pipeline(ctx, parsed, parse_pipeline_spec(pipeline, available_passes()))
    return {f.sym_name.data: f for f in parsed.module.ops if isinstance(f, func.FuncOp)}


def parameters(f: func.FuncOp, rng) -> dict[str, np.ndarray]:
    """float64 values, positive for the first layer (see HEAD)."""
    out = {}
    for a, role in zip(f.args, train.arg_roles(f), strict=True):
        if role.startswith("param:"):
            name = role.removeprefix("param:")
            shape = a.type.get_shape()
            low = 0.1 if name in ("W0", "b0") else -0.8
            out[name] = rng.uniform(low, 0.8, shape) + (0.5 if name == "b0" else 0.0)
    return out


def loss_arguments(f: func.FuncOp, params, points) -> list:
    args = []
    for role in train.arg_roles(f):
        kind, _, name = role.partition(":")
        args.append(params[name] if kind == "param" else points if kind == "points" else 0)
    return args


def residuals(f: func.FuncOp, params, points) -> list[np.ndarray]:
    """Each term's residual (the operand of its `train.mean_square`), in term order."""
    seen = []

    def observe(op, operands, results):
        if isinstance(op, train.MeanSquareOp):
            seen.append(operands[0])

    interpret(f, loss_arguments(f, params, points), observe)
    return seen


def network(fs, params):
    predict = fs["predict"]
    ordered = [params[r.removeprefix("param:")] for r in train.arg_roles(predict)[:-1]]
    return lambda x: interpret(predict, [*ordered, x])[0]


def finite_differences(u, x: np.ndarray, h: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Fourth-order central differences in float64, ∂u/∂x_d and ∂²u/∂x_d²: truncation
    error O(h⁴) ≈ 1e-12, rounding ≈ 1e-16/h² ≈ 1e-10, far below the 1e-6 checked."""
    first, second = [], []
    for d in range(x.shape[1]):
        e = np.zeros(x.shape[1])
        e[d] = h
        u2m, um, u0, up, u2p = (u(x + k * e) for k in (-2, -1, 0, 1, 2))
        first.append((u2m - 8 * um + 8 * up - u2p) / (12 * h))
        second.append((-u2m + 16 * um - 30 * u0 + 16 * up - u2p) / (12 * h * h))
    return np.hstack(first), np.hstack(second)


def expected(first: np.ndarray, second: np.ndarray) -> list[np.ndarray]:
    """The three terms' residuals from the derivatives: Δ over x0, x1; ∇; ∂t − ∂²/∂x1²."""
    return [
        second[:, 0:2].sum(axis=1, keepdims=True),
        first,
        first[:, 2:3] - second[:, 1:2],
    ]


def assert_close(got: list[np.ndarray], want: list[np.ndarray], rtol: float) -> None:
    for term, g, w in zip(("lap", "grad", "heat"), got, want, strict=True):
        error = np.linalg.norm(g - w) / np.linalg.norm(w)
        assert error <= rtol, f"{term}: relative error {error:.2e}"


POINTS = np.random.default_rng(1).uniform(0.1, 1.0, (6, 3))


def test_the_table_has_a_jet_rule_for_every_activation():
    assert set(ACTIVATIONS) == set(ANALYTIC)
    assert all(a.jet is not None for a in ACTIVATIONS.values())


@pytest.mark.parametrize("act", sorted(ANALYTIC))
def test_jets_of_one_layer_are_the_closed_form_derivatives(act):
    fs = functions(one_layer(act))
    p = parameters(fs["loss"], np.random.default_rng(0))
    z = POINTS @ p["W0"] + p["b0"]
    d1, d2 = (f(z) for f in ANALYTIC[act])
    w1 = p["W1"][:, 0]
    first = (d1 * w1) @ p["W0"].T  # Σ_h W1_h φ'(z_h) W0_dh
    second = (d2 * w1) @ (p["W0"] ** 2).T  # Σ_h W1_h φ''(z_h) W0_dh²
    assert_close(residuals(fs["loss"], p, POINTS), expected(first, second), rtol=1e-10)


@pytest.mark.parametrize("act", sorted(ANALYTIC))
@pytest.mark.parametrize("hidden", [DENSE, TT, TT_MERGED_RTL], ids=["dense", "tt", "tt-prs-rtl"])
def test_jets_match_finite_differences(act, hidden):
    fs = functions(deep(act, hidden))
    p = parameters(fs["loss"], np.random.default_rng(0))
    first, second = finite_differences(network(fs, p), POINTS)
    assert_close(residuals(fs["loss"], p, POINTS), expected(first, second), rtol=1e-6)


def test_one_jet_set_serves_every_derivative_of_a_term():
    """∂t and ∂²/∂x1² of @heat share one set of directions (their hull, dims 1 to 3) and one
    evaluation; the other terms get their own."""
    fs = functions(deep("tanh", DENSE))
    directions = [o for o in fs["loss"].walk() if isinstance(o, train.UnitDirectionsOp)]
    assert [o.dim_range() for o in directions] == [(0, 2), (0, 3), (1, 3)]


@pytest.mark.parametrize("strategy", ["taylor", "stde samples=1"])
def test_parameter_gradients_through_the_jets_match_finite_differences(strategy):
    fs = functions(deep("sin", TT), f"pinn-build-loss{{derivatives={strategy}}},pinn-autodiff")
    g = fs["loss_grad"]
    p = parameters(g, np.random.default_rng(2))
    points = POINTS[:3]
    out = interpret(g, loss_arguments(g, p, points))
    grads = {
        r.removeprefix("grad:"): v
        for v, r in zip(out, train.result_roles(g), strict=True)
        if r.startswith("grad:")
    }
    assert set(grads) == {"W0", "b0", "G0", "G1", "b1", "W2"}

    def loss(name, value):
        return interpret(g, loss_arguments(g, {**p, name: value}, points))[0]

    # Each parameter's gradient along a random direction v: ∇L·v against the central
    # difference (L(p + εv) − L(p − εv)) / 2ε, whose error is O(ε²) ≈ 1e-12.
    eps = 1e-6
    rng = np.random.default_rng(3)
    for name, value in p.items():
        for v in rng.normal(size=(1, *value.shape)):
            numeric = (loss(name, value + eps * v) - loss(name, value - eps * v)) / (2 * eps)
            np.testing.assert_allclose(np.sum(grads[name] * v), numeric, rtol=1e-7, err_msg=name)


def test_an_unknown_strategy_is_an_error_naming_the_known_ones():
    with pytest.raises(
        UserError, match="unknown derivative strategy 'ad'; known: stein, taylor, stde"
    ):
        functions(one_layer("tanh"), "pinn-build-loss{derivatives=ad}")


def test_an_op_without_a_jet_lowering_is_an_error_naming_it():
    text = one_layer("tanh").replace("math.tanh", "math.atan")
    with pytest.raises(UserError, match="'math.atan' on a network's Taylor-mode jets"):
        functions(text)


def test_an_activation_without_a_jet_formula_is_an_error_naming_it():
    atan = register(Activation("atan", math.AtanOp, np.arctan, "input", lambda z: 1 / (1 + z * z)))
    try:
        with pytest.raises(UserError, match="activation 'atan' has no Taylor-mode rule"):
            functions(one_layer("tanh").replace("math.tanh", "math.atan"))
    finally:
        unregister(atan.name)


def test_a_network_affine_in_its_input_has_a_zero_laplacian():
    text = re.sub(r"    %h0 = math.tanh %z0 : tensor<\?x5xf32>\n", "", one_layer("tanh"))
    fs = functions(text.replace("pinn.dense %h0", "pinn.dense %z0"))
    p = parameters(fs["loss"], np.random.default_rng(0))
    lap, grad, _ = residuals(fs["loss"], p, POINTS)
    assert not lap.any()
    np.testing.assert_allclose(grad, np.tile((p["W0"] @ p["W1"]).T, (len(POINTS), 1)))


def test_stein_in_pinn_build_loss_is_stein_expand_then_pinn_build_loss():
    """The `stein` entry evaluated by pinn-build-loss builds what stein-expand does."""
    text = (ROOT / "examples/heat1d.mlir").read_text()
    inline = functions(text, "pinn-build-loss{derivatives=stein}")["loss"]
    expanded = functions(text, "stein-expand,pinn-build-loss")["loss"]
    rng = np.random.default_rng(0)
    p = parameters(inline, rng)
    args = [
        v.astype(np.float32) if isinstance(v, np.ndarray) else v
        for v in loss_arguments(inline, p, rng.uniform(0, 1, (5, 2)))
    ]
    np.testing.assert_array_equal(interpret(inline, args), interpret(expanded, args))


def test_stein_smooths_with_the_pairs_and_sigma_the_step_was_compiled_with():
    """Not pinn.train's (pairs 64, σ 0.01): the sample the step draws (K = 3, σ = 0.5)."""
    text = (ROOT / "examples/poisson2d_small.mlir").read_text()
    step = functions(text, "stein-expand{pairs=3 sigma=0.5},pinn-build-loss")["loss"]
    x = POINTS[:, :2].astype(np.float32)
    seen = []

    def predict(rows):
        seen.append(rows)
        return rows[:, :1] + rows[:, 1:]  # linear: the antithetic mean is exact

    u = smoothed_values(step, predict, x, 0, has_time=False)
    (rows,) = seen
    offsets = rows.reshape(len(x), 6, 2) - x[:, None, :]
    assert 0.2 < np.sqrt(np.mean(offsets**2)) < 1.0
    np.testing.assert_allclose(u, x.sum(axis=1, keepdims=True), rtol=1e-5)


def test_each_strategy_knows_the_steps_it_built():
    text = (ROOT / "examples/poisson2d_small.mlir").read_text()
    for name in DERIVATIVE_STRATEGIES:
        option = " samples=1" if name == "stde" else ""  # fewer than the 2 coordinates
        step = functions(text, f"pinn-build-loss{{derivatives={name}{option}}}")["loss"]
        assert [s.name for s in DERIVATIVE_STRATEGIES.values() if s.built(step)] == [name]
    step = functions(text, "pinn-build-loss{derivatives=taylor}")["loss"]
    with pytest.raises(UserError, match=r"differentiates the network itself"):
        smoothed_values(step, lambda x: x, POINTS, 0, False)


@pytest.mark.parametrize(("example", "steps"), [("poisson2d_small", 200), ("heat1d", 300)])
def test_fp32_taylor_trains_the_examples_as_well_as_stein(example, steps):
    """Both pipelines from the same initial state; the errors after `steps` are within 1% of
    each other (at these few steps both are limited by the optimizer, not the derivatives)."""
    problem = api.load(ROOT / f"examples/{example}.mlir")
    errors = {}
    for pipeline in ("fp32-taylor", "fp32"):
        trainer = api.Trainer(problem.compile(pipeline, steps=steps), seed=0)
        start = trainer.evaluate(1000).rel_l2
        trainer.train(steps)
        errors[pipeline] = trainer.evaluate(1000).rel_l2
    assert errors["fp32-taylor"] < 0.5 * start
    assert errors["fp32-taylor"] <= 1.01 * errors["fp32"]


@pytest.mark.parametrize(
    ("dims", "result", "message"),
    [
        ("1 to 3", "tensor<?x2x2xf32>", "the coordinate range 1 to 3 is not within the 2"),
        ("0 to 2", "tensor<?x3x2xf32>", "2 directions at ? points of 2 coordinates are ?x2x2"),
    ],
)
def test_unit_directions_are_checked(dims, result, message):
    text = f"""
    func.func @f(%x : tensor<?x2xf32>) -> {result} {{
      %e = train.unit_directions %x dims {dims} : tensor<?x2xf32> -> {result}
      func.return %e : {result}
    }}"""
    with pytest.raises(UserError, match=re.escape(message)):
        verify(parse_source(make_context(), Source("test.mlir", text)))


# ---------------------------------------------------------------- stde


def test_sampled_coordinates_are_uniform_and_depend_on_the_row_only():
    x = np.zeros((20000, 7))
    e = sample_coordinates(x, 3, 5, lo=2, hi=6, samples=3, stream=1)
    assert e.shape == (20000, 3, 7) and e.dtype == x.dtype
    assert (e.sum(axis=2) == 1).all()
    counts = e.sum(axis=(0, 1))
    assert not counts[:2].any() and not counts[6:].any()
    assert np.all(np.abs(counts[2:6] - 15000) < 5 * np.sqrt(15000))  # 60000 draws over 4
    np.testing.assert_array_equal(
        sample_coordinates(x[:5], 3, 5, lo=2, hi=6, samples=3, stream=1), e[:5]
    )
    other_stream = sample_coordinates(x[:50], 3, 5, lo=2, hi=6, samples=3, stream=2)
    assert not np.array_equal(other_stream, e[:50])


@pytest.mark.parametrize("samples", [1, 2])
def test_the_stde_laplacian_is_an_unbiased_estimate(samples):
    """One point repeated: every row draws its own coordinates, so the rows are independent
    estimates of the same Laplacian, over all 3 coordinates; ∂t stays exact."""
    text = deep("tanh", DENSE).replace(" dims 0 to 2 : tensor<?x3xf32>", " : tensor<?x3xf32>")
    stde = functions(text, f"pinn-build-loss{{derivatives=stde samples={samples}}}")["loss"]
    p = parameters(stde, np.random.default_rng(0))
    exact = residuals(functions(text)["loss"], p, POINTS[:1])
    points = np.repeat(POINTS[:1], 20000, axis=0)
    lap, grad, heat = residuals(stde, p, points)
    assert lap.std() > 0.01 * abs(exact[0][0, 0])  # an estimate, not the exact value
    assert abs(lap.mean() - exact[0][0, 0]) < 4 * lap.std() / np.sqrt(len(lap))
    # ∇ and, over 1 coordinate (fewer than the samples), ∂t − ∂²/∂x1² are exact
    np.testing.assert_allclose(grad, np.repeat(exact[1], len(points), axis=0), rtol=1e-12)
    np.testing.assert_allclose(heat, np.repeat(exact[2], len(points), axis=0), rtol=1e-12)


def test_samples_is_an_option_of_stde_only():
    with pytest.raises(UserError, match="samples is an option of derivatives=stde"):
        functions(one_layer("tanh"), "pinn-build-loss{derivatives=taylor samples=4}")


def test_fp32_stde_trains_heat10d_small():
    """4 of 10 coordinates a point: the error after 200 steps within 1.5x of exact jets'."""
    problem = api.load(ROOT / "examples/heat10d_small.mlir")
    stde = "pinn-build-loss{derivatives=stde samples=4},pinn-autodiff,optimizer-lower,cse,dce"
    errors = {}
    for pipeline in ("fp32-taylor", stde):
        trainer = api.Trainer(problem.compile(pipeline, steps=200), seed=0)
        start = trainer.evaluate(1000).rel_l2
        trainer.train(200)
        errors[pipeline] = trainer.evaluate(1000).rel_l2
    assert errors[stde] < 0.5 * start
    assert errors[stde] <= 1.5 * errors["fp32-taylor"]


# ---------------------------------------------------------------- the problem's choice

SMALL_POISSON = (ROOT / "examples/poisson2d_small.mlir").read_text()


def choosing(strategy: str, extra: str = "") -> str:
    """poisson2d_small with `derivatives = strategy` (and `extra` options) in its pinn.train."""
    text = SMALL_POISSON.replace("seed = 0", f'derivatives = "{strategy}",{extra} seed = 0', 1)
    assert text != SMALL_POISSON
    return text


def ops_named(fs: dict[str, func.FuncOp], name: str) -> list:
    return [op for f in fs.values() for op in f.walk() if op.name == name]


def test_stein_expand_leaves_a_problem_choosing_another_strategy():
    ctx = make_context()
    parsed = parse_source(ctx, Source("test.mlir", choosing("taylor")))
    verify(parsed)
    run_pipeline(ctx, parsed, parse_pipeline_spec("stein-expand", available_passes()))
    names = {op.name for op in parsed.module.walk()}
    assert "pinn.laplacian" in names
    assert not any(n.startswith("stein.") for n in names)


@pytest.mark.parametrize("pipeline", ["fp32", "fp32-tt", "smx-naive"])
def test_the_pipelines_evaluate_derivatives_by_the_problems_strategy(pipeline):
    step = functions(choosing("taylor"), pipeline_spec(pipeline))
    assert ops_named(step, "train.unit_directions")
    assert not ops_named(step, "stein.sample")


def test_the_problems_stde_samples_are_used():
    step = functions(choosing("stde", " samples = 1,"), pipeline_spec("fp32"))
    (coordinates,) = ops_named(step, "train.sample_coordinates")
    assert coordinates.samples.value.data == 1


def test_the_pass_option_wins_over_the_problems_choice():
    step = functions(choosing("taylor"), "pinn-build-loss{derivatives=stein}")
    assert ops_named(step, "stein.sample")
    assert not ops_named(step, "train.unit_directions")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            choosing("newton"),
            r"test.mlir:\d+:\d+: error: .*pinn.train of @poisson2d_small: unknown derivative "
            "strategy 'newton'; known: stein, taylor, stde",
        ),
        (
            choosing("taylor", " samples = 4,"),
            r"test.mlir:\d+:\d+: error: .*samples \(random coordinates per point\) is a "
            'setting of derivatives = "stde"',
        ),
    ],
    ids=["unknown name", "samples without stde"],
)
@pytest.mark.parametrize("pipeline", ["fp32", "fp32-taylor"])
def test_a_bad_choice_is_an_error_at_pinn_train(text, message, pipeline):
    with pytest.raises(UserError, match=message):
        api.loads(text, "test.mlir").compile(pipeline)


def test_diffquant_on_a_problem_choosing_jets_is_an_error():
    with pytest.raises(UserError, match="stein-difference"):
        api.loads(choosing("taylor"), "test.mlir").compile("smx-diff")
