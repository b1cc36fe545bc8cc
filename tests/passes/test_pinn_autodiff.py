"""pinn-autodiff: gradients of the loss match central finite differences (float64)."""

from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func

from pintac.diagnostics import Source, parse_source, verify
from pintac.dialects import train
from pintac.pass_manager import parse_pipeline_spec, run_pipeline
from pintac.registry import available_passes, make_context
from pintac.runtime.numpy_target import interpret

ROOT = Path(__file__).resolve().parents[2]

# Exercises every VJP rule a PINN loss meets besides Stein's: dense layers, tanh and sin
# activations, sums, slices, constants, +, −, ×, ÷, neg, cos/exp/log/sqrt, several terms.
PROBLEM = """
pinn.problem @p {
  pinn.domain @d box [0.0, 0.0] to [1.0, 1.0] time [0.0, 1.0]
  pinn.param @W0 : tensor<3x5xf32> init xavier_normal
  pinn.param @b0 : tensor<5xf32> init zeros
  pinn.param @W1 : tensor<5x4xf32> init xavier_normal
  pinn.param @W2 : tensor<4x1xf32> init xavier_normal
  pinn.param @b2 : tensor<1xf32> init zeros
  pinn.network @u(%x : tensor<?x3xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x3xf32> -> tensor<?x5xf32>
    %h0 = math.tanh %z0 : tensor<?x5xf32>
    %z1 = pinn.dense %h0, @W1 : tensor<?x5xf32> -> tensor<?x4xf32>
    %h1 = math.sin %z1 : tensor<?x4xf32>
    %y = pinn.dense %h1, @W2, @b2 : tensor<?x4xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.boundary @a on boundary(@d) weight 3.0 (%x : tensor<?x3xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x3xf32> -> tensor<?x1xf32>
    %c = pinn.constant 2.0 : tensor<?x1xf32>
    %u2 = arith.mulf %u, %u : tensor<?x1xf32>
    %q = arith.divf %u2, %c : tensor<?x1xf32>
    %e = math.exp %u : tensor<?x1xf32>
    %co = math.cos %u : tensor<?x1xf32>
    %s = arith.addf %e, %co : tensor<?x1xf32>
    %t = pinn.slice %x dims 2 to 3 : tensor<?x3xf32> -> tensor<?x1xf32>
    %r0 = arith.subf %q, %t : tensor<?x1xf32>
    %r1 = arith.addf %r0, %s : tensor<?x1xf32>
    %n = arith.negf %r1 : tensor<?x1xf32>
    pinn.yield %n : tensor<?x1xf32>
  }
  pinn.boundary @b on initial(@d) weight 0.5 (%x : tensor<?x3xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x3xf32> -> tensor<?x1xf32>
    %one = pinn.constant 1.5 : tensor<?x1xf32>
    %p = arith.addf %u, %one : tensor<?x1xf32>
    %l = math.log %p : tensor<?x1xf32>
    %sq = math.sqrt %p : tensor<?x1xf32>
    %w = arith.divf %one, %sq : tensor<?x1xf32>
    %r = arith.mulf %l, %w : tensor<?x1xf32>
    %both = arith.addf %r, %u : tensor<?x1xf32>
    %two = pinn.sum %x dims 0 to 2 : tensor<?x3xf32> -> tensor<?x1xf32>
    %res = arith.subf %both, %two : tensor<?x1xf32>
    pinn.yield %res : tensor<?x1xf32>
  }
}
"""


def lowered(text: str, pipeline: str):
    ctx = make_context()
    parsed = parse_source(ctx, Source("test.mlir", text))
    verify(parsed)
    run_pipeline(ctx, parsed, parse_pipeline_spec(pipeline, available_passes()))
    return {f.sym_name.data: f for f in parsed.module.ops if isinstance(f, func.FuncOp)}


def arguments(f, rng, rows=7, dtype=np.float64):
    args = []
    for a, role in zip(f.args, train.arg_roles(f), strict=True):
        if role in ("seed", "step"):
            args.append(0)
        else:
            shape = [rows if d < 0 else d for d in a.type.get_shape()]
            args.append(rng.uniform(-0.4, 0.4, shape).astype(dtype))
    return args


def test_gradients_match_finite_differences():
    fs = lowered(PROBLEM, "pinn-build-loss,pinn-autodiff")
    g = fs["loss_grad"]
    rng = np.random.default_rng(0)
    args = arguments(g, rng)
    out = interpret(g, args)
    res_roles = train.result_roles(g)
    grads = {
        r.removeprefix("grad:"): v
        for v, r in zip(out, res_roles, strict=True)
        if r.startswith("grad:")
    }
    assert set(grads) == {"W0", "b0", "W1", "W2", "b2"}
    roles = train.arg_roles(g)
    eps = 1e-6
    for i, role in enumerate(roles):
        if not role.startswith("param:"):
            continue
        name = role.removeprefix("param:")
        p = args[i]
        numeric = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            plus, minus = p.copy(), p.copy()
            plus[idx] += eps
            minus[idx] -= eps
            lp = interpret(g, [*args[:i], plus, *args[i + 1 :]])[0]
            lm = interpret(g, [*args[:i], minus, *args[i + 1 :]])[0]
            numeric[idx] = (lp - lm) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_backward_gemms_are_tagged_with_their_roles():
    fs = lowered(PROBLEM, "pinn-build-loss,pinn-autodiff")
    roles = [op.gemm_role for op in fs["loss_grad"].walk() if isinstance(op, train.GemmOp)]
    # 3 layers per evaluation, 2 evaluations: 6 fwd; each gets wgrad; dgrad except first layers
    assert roles.count("fwd") == 6
    assert roles.count("wgrad") == 6
    assert roles.count("dgrad") == 4  # the points are data: no gradient w.r.t. them


def test_no_rule_is_a_clear_error():
    text = PROBLEM.replace("%e = math.exp %u", "%e = math.absf %u")
    with pytest.raises(Exception, match="no gradient rule for 'math.absf'"):
        lowered(text, "pinn-build-loss,pinn-autodiff")
