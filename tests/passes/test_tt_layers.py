"""TT-matrix layers (`tt.linear`) lowered to `train.permute` and `train.gemm`.

- The layer computes x · reconstruct(cores) + b for every grouping and both orders.
- Its GEMMs are those of `pintac.runtime.tt` (same shapes) and their MACs are the cost
  model's, forward and backward.
- Gradients w.r.t. the cores match central finite differences (float64), also on DiffQuant's
  streams; merges are built once per function.
- Under SMX every operand computed from parameters alone is quantized as a weight.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_pinn_autodiff import lowered

from pintac.dialects import smx, train
from pintac.passes.smx_quantize import parameter_values
from pintac.runtime import tt
from pintac.runtime.kernels import run_op
from pintac.runtime.numpy_target import interpret
from pintac.runtime.plan import build_plan

# (in_factors, out_factors, ranks): d = 1..4, factors of 1, non-uniform ranks and factors
LAYERS = {
    "d1": ((6,), (5,), (1, 1)),
    "d2": ((3, 4), (5, 2), (1, 3, 1)),
    "d3": ((2, 3, 4), (3, 1, 2), (1, 2, 5, 1)),
    "d4": ((2, 3, 2, 2), (2, 2, 3, 2), (1, 3, 2, 4, 1)),
}
CASES = [
    (name, groups, order)
    for name, (nf, _, _) in LAYERS.items()
    for groups in tt.groupings(len(nf))
    for order in tt.ORDERS
]


def _shape(t) -> str:
    return "x".join("?" if d < 0 else str(d) for d in t)


def tt_problem(
    layer,
    groups=None,
    order="ltr",
    batch="?",
    hidden=False,
    stein=False,
) -> str:
    """A problem whose network is one TT layer with a bias (or, `hidden`, a dense layer,
    tanh, the TT layer, tanh, a dense layer), evaluated by a boundary term (and, `stein`, by
    a residual through its Laplacian)."""
    nf, mf, ranks = layer
    n, m = math.prod(nf), math.prod(mf)
    shapes = tt.core_shapes(nf, mf, ranks)
    params = [
        f"pinn.param @G{k} : tensor<{_shape(s)}xf32> init normal(0.5)" for k, s in enumerate(shapes)
    ]
    params.append(f"pinn.param @b : tensor<{m}xf32> init zeros")
    attrs = ""
    if groups is not None:
        attrs += f" groups [{', '.join(map(str, groups))}]"
    if order != "ltr":
        attrs += f" order {order}"
    cores = ", ".join(f"@G{k}" for k in range(len(shapes)))
    if hidden:
        params += [
            f"pinn.param @W0 : tensor<2x{n}xf32> init xavier_normal",
            f"pinn.param @W2 : tensor<{m}x1xf32> init xavier_normal",
        ]
        width, out = 2, 1
        body = f"""
    %z0 = pinn.dense %x, @W0 : tensor<{batch}x2xf32> -> tensor<{batch}x{n}xf32>
    %h0 = math.tanh %z0 : tensor<{batch}x{n}xf32>
    %z1 = tt.linear %h0, [{cores}], @b{attrs} : tensor<{batch}x{n}xf32> -> tensor<{batch}x{m}xf32>
    %h1 = math.sin %z1 : tensor<{batch}x{m}xf32>
    %y = pinn.dense %h1, @W2 : tensor<{batch}x{m}xf32> -> tensor<{batch}x1xf32>"""
    else:
        width, out = n, m
        body = f"""
    %y = tt.linear %x, [{cores}], @b{attrs} : tensor<{batch}x{n}xf32> -> tensor<{batch}x{m}xf32>"""
    residual = ""
    if stein:
        residual = f"""
  pinn.residual @pde on @d weight 1.0 (%x : tensor<?x{width}xf32>) {{
    %lap = pinn.laplacian @u(%x) : tensor<?x{width}xf32> -> tensor<?x1xf32>
    pinn.yield %lap : tensor<?x1xf32>
  }}"""
    nl = "\n  "
    return f"""
pinn.problem @p {{
  pinn.domain @d box [0.0] to [1.0] dim {width}
  {nl.join(params)}
  pinn.network @u(%x : tensor<{batch}x{width}xf32>) -> tensor<{batch}x{out}xf32> {{{body}
    pinn.return %y : tensor<{batch}x{out}xf32>
  }}{residual}
  pinn.boundary @bc on boundary(@d) weight 1.0 (%x : tensor<?x{width}xf32>) {{
    %u = pinn.eval @u(%x) : tensor<?x{width}xf32> -> tensor<?x{out}xf32>
    pinn.yield %u : tensor<?x{out}xf32>
  }}
  pinn.train {{pairs = 2, sigma = 0.1}}
}}
"""


def arguments(f, rng, rows=7, dtype=np.float64):
    args = []
    for a, role in zip(f.args, train.arg_roles(f), strict=True):
        if role in ("seed", "step"):
            args.append(1)
        else:
            shape = [rows if d < 0 else d for d in a.type.get_shape()]
            args.append(rng.uniform(-0.8, 0.8, shape).astype(dtype))
    return args


def by_role(f, args) -> dict[str, np.ndarray]:
    return dict(zip(train.arg_roles(f), args, strict=True))


def gemm_shapes(f, args) -> list[tuple[int, int, int]]:
    """Run `f` op by op; the (rows, reduction, columns) of every train.gemm it executes."""
    env = dict(zip(f.args, args, strict=True))
    shapes = []
    for op in f.body.block.ops:
        if op.name == "func.return":
            break
        values = [env[v] for v in op.operands]
        if isinstance(op, train.GemmOp):
            a, b = values
            rows, red = a.shape[::-1] if op.is_transposed_a else a.shape
            cols = b.shape[0] if op.is_transposed_b else b.shape[1]
            shapes.append((rows, red, cols))
        for r, v in zip(op.results, run_op(op, *values), strict=True):
            env[r] = v
    return shapes


@pytest.mark.parametrize("name,groups,order", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layer_is_x_times_the_reconstructed_matrix(name, groups, order, dtype):
    layer = LAYERS[name]
    predict = lowered(tt_problem(layer, groups, order), "pinn-build-loss")["predict"]
    args = arguments(predict, np.random.default_rng(1), dtype=dtype)
    roles = by_role(predict, args)
    cores = [roles[f"param:G{k}"] for k in range(len(layer[0]))]
    expected = args[-1].astype(np.float64) @ tt.reconstruct(
        [c.astype(np.float64) for c in cores]
    ) + roles["param:b"].astype(np.float64)
    (y,) = interpret(predict, args)
    assert y.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(y, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("name,groups,order", CASES)
def test_gemms_are_the_runtime_gemms_and_cost_the_model_macs(name, groups, order):
    """With a static batch, the plan's GEMMs have the shapes of `pintac.runtime.tt`'s merge
    and contraction GEMMs, and their MACs add up to the cost model's."""
    layer, batch = LAYERS[name], 5
    predict = lowered(tt_problem(layer, groups, order, batch=batch), "pinn-build-loss")["predict"]
    plan = build_plan(predict)
    shapes = []
    for step in plan.steps:
        if step.name == "train.gemm":
            a, b = (plan.values[i].type.get_shape() for i in step.inputs)
            assert not step.params["transpose_a"] and not step.params["transpose_b"]
            assert a[1] == b[0]
            shapes.append((a[0], a[1], b[1]))

    calls = []

    def record(kind, lhs, rhs):
        calls.append((lhs.shape[0], lhs.shape[1], rhs.shape[1]))
        return lhs @ rhs

    rng = np.random.default_rng(0)
    cores = [rng.standard_normal(s) for s in tt.core_shapes(*layer)]
    tt.tt_matmul(rng.standard_normal((batch, math.prod(layer[0]))), cores, groups, order, record)
    assert shapes == calls
    cost = tt.contraction_cost(layer[:2], layer[2], batch, groups, order)
    assert sum(math.prod(s) for s in shapes) == cost.total_macs


@pytest.mark.parametrize("name,groups,order", [c for c in CASES if c[0] in ("d3", "d4")])
def test_training_gemm_macs_are_forward_plus_backward_of_the_model(name, groups, order):
    """@loss_grad of one TT layer on points executes the cost model's forward MACs plus
    `backward_macs` (no gradient w.r.t. the points)."""
    layer, rows = LAYERS[name], 6
    g = lowered(tt_problem(layer, groups, order), "pinn-build-loss,pinn-autodiff,cse")
    f = g["loss_grad"]
    shapes = gemm_shapes(f, arguments(f, np.random.default_rng(2), rows=rows))
    cost = tt.contraction_cost(layer[:2], layer[2], rows, groups, order)
    expected = cost.total_macs + tt.backward_macs(cost, input_grad=False)
    assert sum(math.prod(s) for s in shapes) == expected


def _check_gradients(f, rng, directions=2, eps=1e-6):
    """Directional central differences of the loss against the gradient, per parameter."""
    args = arguments(f, rng, rows=4)
    out = interpret(f, args)
    grads = {
        r.removeprefix("grad:"): v
        for v, r in zip(out, train.result_roles(f), strict=True)
        if r.startswith("grad:")
    }
    for i, role in enumerate(train.arg_roles(f)):
        if not role.startswith("param:"):
            continue
        name = role.removeprefix("param:")
        for _ in range(directions):
            v = rng.standard_normal(args[i].shape)
            plus = interpret(f, [*args[:i], args[i] + eps * v, *args[i + 1 :]])[0]
            minus = interpret(f, [*args[:i], args[i] - eps * v, *args[i + 1 :]])[0]
            numeric = (plus - minus) / (2 * eps)
            analytic = float(np.sum(grads[name] * v))
            assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-9), name
    return grads


@pytest.mark.parametrize(
    "name,groups,order",
    [("d3", g, o) for g in tt.groupings(3) for o in tt.ORDERS] + [("d4", (1, 2, 1), "rtl")],
)
def test_core_gradients_match_finite_differences(name, groups, order):
    """Through the contractions, the merges and the layer's input (dense layers around it)."""
    text = tt_problem(LAYERS[name], groups, order, hidden=True)
    f = lowered(text, "pinn-build-loss,pinn-autodiff")["loss_grad"]
    grads = _check_gradients(f, np.random.default_rng(5))
    assert {"G0", "G1", "G2", "b", "W0", "W2"} <= set(grads)


def test_core_gradients_on_diffquant_streams_match_finite_differences():
    text = tt_problem(LAYERS["d3"], (2, 1), "ltr", hidden=True, stein=True)
    pipeline = "stein-expand,stein-difference,pinn-build-loss,pinn-autodiff"
    f = lowered(text, pipeline)["loss_grad"]
    assert any(op.name == "stein.diff_activation" for op in f.walk())
    _check_gradients(f, np.random.default_rng(6))


def _merge_gemms(f) -> list[train.GemmOp]:
    weights = parameter_values(f)
    return [
        op
        for op in f.walk()
        if isinstance(op, train.GemmOp) and op.lhs in weights and op.rhs in weights
    ]


def test_merges_are_built_once_per_function():
    """The residual's perturbed batch and the boundary points both go through the layer: the
    super-core (one merge of 2 cores, one of 3) is computed once and cse finds nothing to
    merge; its gradient is summed before the merge's VJP."""
    text = tt_problem(LAYERS["d4"], (2, 1, 1), hidden=True, stein=True).replace(
        "groups [2, 1, 1]", "groups [3, 1]"
    )
    fs = lowered(text, "stein-expand,pinn-build-loss")
    loss = fs["loss"]
    assert len(_merge_gemms(loss)) == 2  # ((G0 G1) G2)
    evaluations = [op for op in loss.walk() if isinstance(op, train.GemmOp)]
    deduplicated = lowered(text, "stein-expand,pinn-build-loss,cse")["loss"]
    assert len([op for op in deduplicated.walk() if isinstance(op, train.GemmOp)]) == len(
        evaluations
    )
    g = lowered(text, "stein-expand,pinn-build-loss,pinn-autodiff,cse,dce")["loss_grad"]
    roles = [op.gemm_role for op in _merge_gemms(g)]
    # the forward merges; each merge's VJP: dS Hᵀ (dgrad) and Gᵀ dS (wgrad, G a weight)
    assert roles.count(train.GemmRole.FWD) == 2
    backward = [
        op
        for op in g.walk()
        if isinstance(op, train.GemmOp)
        and op.gemm_role != train.GemmRole.FWD
        and (op.lhs in parameter_values(g) or op.rhs in parameter_values(g))
    ]
    # 2 merges x 2, per contraction (2 of them, 2 evaluations) one dgrad reading the
    # (super-)core, and @W2's dgrad in each evaluation; wgrads of contractions read
    # activations and gradients only
    assert len(backward) == 2 * 2 + 2 * 2 + 2


def test_smx_quantizes_everything_computed_from_parameters_as_weights():
    text = tt_problem(LAYERS["d3"], (2, 1), hidden=True, stein=True)
    pipeline = "stein-expand,stein-difference,pinn-build-loss,pinn-autodiff,smx-quantize"
    f = lowered(text, pipeline)["loss_grad"]
    weights = parameter_values(f)
    quantized = [op for op in f.walk() if isinstance(op, smx.QuantizeOp)]
    uses = {q.input: q.attributes["smx.use"].data for q in quantized}
    assert quantized
    merge_lhs = [
        op
        for op in f.walk()
        if isinstance(op, train.GemmOp)
        and op.gemm_role == train.GemmRole.WGRAD
        and op.lhs.owner.input in weights
    ]
    assert merge_lhs, "the merge's wgrad reads a core"
    for value, use in uses.items():
        assert (use == "weight") == (value in weights), (value, use)
    # weights are 8-bit, activations 8-bit, gradients 12-bit
    for q in quantized:
        assert q.format.bits == (12 if uses[q.input] == "gradient" else 8)
