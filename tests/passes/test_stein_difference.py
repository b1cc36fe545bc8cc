"""stein-difference (DiffQuant): the same step in f32, exact gradients, and its kernels."""

from pathlib import Path

import numpy as np
import pytest
from test_pinn_autodiff import lowered

import pintac.api as pt
from pintac.core.errors import UserError
from pintac.dialects import train
from pintac.runtime import kernels_stein as ks
from pintac.runtime.numpy_target import interpret

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "examples" / "poisson2d_small.mlir"
PLAIN = "stein-expand,pinn-build-loss,pinn-autodiff,optimizer-lower,cse,dce"
STREAMS = "stein-expand,stein-difference,pinn-build-loss,pinn-autodiff,optimizer-lower,cse,dce"

# Every estimator (∂t, ∇, Δ, g(x), the smoothed value), tanh and sin, an output offset.
PROBLEM = """
pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0] time [0.0, 1.0]
  pinn.param @W0 : tensor<3x5xf32> init xavier_normal
  pinn.param @b0 : tensor<5xf32> init zeros
  pinn.param @W1 : tensor<5x4xf32> init xavier_normal
  pinn.param @W2 : tensor<4x1xf32> init xavier_normal
  pinn.network @u(%x : tensor<?x3xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x3xf32> -> tensor<?x5xf32>
    %h0 = math.tanh %z0 : tensor<?x5xf32>
    %z1 = pinn.dense %h0, @W1 : tensor<?x5xf32> -> tensor<?x4xf32>
    %h1 = math.sin %z1 : tensor<?x4xf32>
    %y = pinn.dense %h1, @W2 : tensor<?x4xf32> -> tensor<?x1xf32>
    %c = pinn.constant 2.0 : tensor<?x1xf32>
    %v = arith.addf %y, %c : tensor<?x1xf32>
    pinn.return %v : tensor<?x1xf32>
  }
  pinn.residual @pde on @d weight 1.0 (%x : tensor<?x3xf32>) {
    %ut = pinn.partial @u(%x) dim 2 : tensor<?x3xf32> -> tensor<?x1xf32>
    %lap = pinn.laplacian @u(%x) dims 0 to 2 : tensor<?x3xf32> -> tensor<?x1xf32>
    %g = pinn.grad @u(%x) dims 0 to 2 : tensor<?x3xf32> -> tensor<?x2xf32>
    %g2 = arith.mulf %g, %g : tensor<?x2xf32>
    %n = pinn.sum %g2 : tensor<?x2xf32> -> tensor<?x1xf32>
    %a = arith.addf %ut, %lap : tensor<?x1xf32>
    %r = arith.subf %a, %n : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.boundary @b on initial(@d) weight 2.0 (%x : tensor<?x3xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x3xf32> -> tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }
  pinn.train {pairs = 3, sigma = 0.2, sigma_t = 0.2}
}
"""


def test_in_f32_the_streams_give_the_plain_step_up_to_rounding():
    problem = pt.load(SMALL)
    plain, streams = problem.compile(PLAIN), problem.compile(STREAMS)
    a, b = plain.initial_state(0), streams.initial_state(0)
    for _ in range(5):
        a, loss_a = plain.step(a, 0)
        b, loss_b = streams.step(b, 0)
        for key in loss_a:
            np.testing.assert_allclose(loss_b[key], loss_a[key], rtol=2e-4)
    for name, value in a.params.items():
        np.testing.assert_allclose(b.params[name], value, rtol=1e-4, atol=1e-6)


def test_gradients_through_the_streams_match_finite_differences():
    """Every VJP rule of the difference forms (diff_activation, the estimators' difference
    forms, the smoothed value's base) in float64, against central differences."""
    g = lowered(PROBLEM, "stein-expand,stein-difference,pinn-build-loss,pinn-autodiff")["loss_grad"]
    assert any(op.name == "stein.diff_activation_vjp" for op in g.walk())
    rng = np.random.default_rng(3)
    args = []
    for a, role in zip(g.args, train.arg_roles(g), strict=True):
        if role in ("seed", "step"):
            args.append(1)
        else:
            shape = [5 if d < 0 else d for d in a.type.get_shape()]
            args.append(rng.uniform(-0.6, 0.6, shape))
    out = interpret(g, args)
    grads = {
        r.removeprefix("grad:"): v
        for v, r in zip(out, train.result_roles(g), strict=True)
        if r.startswith("grad:")
    }
    eps = 1e-6
    for i, role in enumerate(train.arg_roles(g)):
        if not role.startswith("param:"):
            continue
        p, numeric = args[i], np.zeros_like(args[i])
        for idx in np.ndindex(p.shape):
            plus, minus = p.copy(), p.copy()
            plus[idx] += eps
            minus[idx] -= eps
            lp = interpret(g, [*args[:i], plus, *args[i + 1 :]])[0]
            lm = interpret(g, [*args[:i], minus, *args[i + 1 :]])[0]
            numeric[idx] = (lp - lm) / (2 * eps)
        name = role.removeprefix("param:")
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-7, err_msg=name)


def test_the_diff_activation_vjp_is_the_transpose_of_its_linearization():
    rng = np.random.default_rng(0)
    zb, zd = rng.standard_normal((3, 5)), 0.1 * rng.standard_normal((3, 4, 5))
    dout = rng.standard_normal((3, 4, 5))
    for act in ("tanh", "sin", "exp"):
        dzb, dzd = ks.stein_diff_activation_vjp(zb, zd, dout, activation=act)
        h = 1e-6
        tb, td = rng.standard_normal(zb.shape), rng.standard_normal(zd.shape)

        def f(s, act=act, tb=tb, td=td):
            return ks.stein_diff_activation(zb + s * tb, zd + s * td, activation=act)

        jvp = (f(h) - f(-h)) / (2 * h)
        # <J t, dout> = <t, Jᵀ dout>
        np.testing.assert_allclose(
            np.sum(jvp * dout), np.sum(tb * dzb) + np.sum(td * dzd), rtol=1e-7
        )


def test_a_problem_that_chooses_jets_is_refused_naming_the_choice():
    """DiffQuant rewrites Stein's perturbed batches; a problem whose pinn.train chooses
    taylor has none, and the error says so (not "run stein-expand first")."""
    text = SMALL.read_text().replace("pairs = ", 'derivatives = "taylor", pairs = ', 1)
    text = text.replace(", pairs = 64", "").replace(", sigma = 0.01", "")
    problem = pt.loads(text, "taylor.mlir")
    with pytest.raises(UserError, match='chooses derivatives = "taylor" \\(pinn.train\\)'):
        problem.compile("smx-diff")
