"""`train.permute`, the data movement of TT layers: its kernel, its gradient rule, its plan.

- The kernel is x.reshape(shape).transpose(perm).reshape(result shape), -1 the batch.
- The VJP rule's op is the exact adjoint (transpose) of the forward map.
- The plan treats the result as a view: neither it nor its input is ever written in place.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.builder import Builder
from xdsl.dialects import func
from xdsl.dialects import math as mathd
from xdsl.dialects.builtin import TensorType, f32
from xdsl.ir import Block, Region
from xdsl.rewriter import InsertPoint

from pintac.dialects import train
from pintac.dialects.support import DYNAMIC
from pintac.passes.pinn_autodiff import VJP_RULES, Emitter
from pintac.runtime.kernels import run_op
from pintac.runtime.plan import build_plan


def permute_op(in_shape, shape, perm, out_shape, dynamic=False):
    """A train.permute on a block argument (its first dim dynamic if asked)."""
    arg_shape = [DYNAMIC if dynamic and i == 0 else d for i, d in enumerate(in_shape)]
    block = Block(arg_types=[TensorType(f32, arg_shape)])
    res_shape = [DYNAMIC if dynamic and i == 0 else d for i, d in enumerate(out_shape)]
    spec = [-1 if dynamic and i == 0 else d for i, d in enumerate(shape)]
    op = train.PermuteOp(block.args[0], spec, perm, res_shape)
    Builder(InsertPoint.at_end(block)).insert(op)
    return block, op


@st.composite
def permutes(draw):
    rank = draw(st.integers(1, 5))
    shape = draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
    perm = draw(st.permutations(range(rank)))
    n = math.prod(shape)
    split = draw(st.integers(0, 2))
    in_shape = [n] if split == 0 else [shape[0], n // shape[0]]
    moved = [shape[p] for p in perm]
    out_shape = [n] if split == 1 else [moved[0], n // moved[0]]
    return in_shape, shape, list(perm), out_shape


@settings(max_examples=60, deadline=None)
@given(permutes(), st.integers(0, 2**31 - 1))
def test_kernel_and_vjp_are_the_map_and_its_transpose(case, seed):
    in_shape, shape, perm, out_shape = case
    dynamic = len(in_shape) == 2 and len(out_shape) == 2 and in_shape[0] == shape[0]
    block, op = permute_op(in_shape, shape, perm, out_shape, dynamic)
    op.verify()
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(in_shape)
    (y,) = run_op(op, x)
    np.testing.assert_array_equal(y, x.reshape(shape).transpose(perm).reshape(out_shape))
    # the gradient rule's op, run on a cotangent: <P x, dy> = <x, Pᵀ dy>
    dy_arg = block.insert_arg(op.output.type, len(block.args))
    (dx_value,) = VJP_RULES[train.PermuteOp](Emitter(block), op, [dy_arg], [True])
    vjp = dx_value.owner
    vjp.verify()
    assert vjp.output.type == op.input.type
    dy = rng.standard_normal(y.shape)
    (dx,) = run_op(vjp, dy)
    assert dx.shape == x.shape
    assert math.isclose(np.sum(y * dy), np.sum(x * dx), rel_tol=1e-12, abs_tol=1e-12)


def test_batch_dim():
    """-1 stands for the dynamic dim: rows (R, P r n Q) -> GEMM rows (R P Q, r n)."""
    block, op = permute_op([3, 24], [3, 2, 4, 3], [0, 1, 3, 2], [18, 4], dynamic=True)
    assert op.shape_values == (-1, 2, 4, 3)
    assert str(op.output.type) == "tensor<?x4xf32>"
    x = np.arange(72.0).reshape(3, 24)
    (y,) = run_op(op, x)
    expected = np.einsum("xpjq->xpqj", x.reshape(3, 2, 4, 3)).reshape(18, 4)
    np.testing.assert_array_equal(y, expected)
    (y5,) = run_op(op, np.zeros((5, 24)))  # any batch
    assert y5.shape == (30, 4)


def test_plan_never_writes_into_a_permute_or_its_input():
    """tanh may write into a dead operand's buffer, but not into a permute's result (which
    may share memory with its input) nor into that input while the view lives."""
    t = TensorType(f32, [DYNAMIC, 6])
    block = Block(arg_types=[t])
    b = Builder(InsertPoint.at_end(block))
    h = b.insert(mathd.TanhOp(block.args[0])).result  # owned
    p = b.insert(train.PermuteOp(h, [-1, 3], [0, 1], [DYNAMIC, 3])).output
    q = b.insert(mathd.TanhOp(p)).result  # p dies here: still no in-place write
    r = b.insert(mathd.TanhOp(q)).result  # q is owned and dies: in place is fine
    b.insert(func.ReturnOp(r))
    f = func.FuncOp("f", ([t], [r.type]), Region(block))
    plan = build_plan(f)
    tanh, permute, tanh_of_view, tanh_of_owned = plan.steps
    assert permute.view
    assert tanh_of_view.inplace is None
    assert tanh_of_owned.inplace == 0
    # the permute's result is stored in its input's buffer
    assert plan.values[permute.outputs[0]].storage == plan.values[tanh.outputs[0]].storage
