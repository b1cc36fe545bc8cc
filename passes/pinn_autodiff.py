"""Pass `pinn-autodiff`: reverse-mode gradients of the loss w.r.t. every parameter.

Rewrites `@loss(params..., points..., seed, step) -> (loss, term losses...)` into
`@loss_grad(...) -> (loss, term losses..., grad of each param...)`: the forward ops, then
their adjoints in reverse order. First order only — the derivative strategy (Stein's
estimator, Taylor-mode jets) made the network's input derivatives forward computations, so
back-propagation runs once, through everything.

Only *active* values (those depending on a parameter) get adjoints; points, perturbations and
constants are data. Every backward GEMM is tagged with its role: the gradient w.r.t. a layer's
input is `dgrad` (dy · Wᵀ), w.r.t. its weight `wgrad` (xᵀ · dy).

The gradient rule (VJP) of every differentiable op is in the table `VJP_RULES` below; every
activation of `pintac.dialects.activations` has one rule, `train.activation_grad`. Taylor-mode
jets are built from ops of this table (GEMMs, elementwise arithmetic, activations, permutes,
column placement), so their gradients need no rule of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import arith, builtin, func
from xdsl.ir import Block, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint

from pintac.core.errors import PassError
from pintac.dialects import pinn, stein, train
from pintac.dialects.activations import activation_of


class Emitter:
    """Appends backward ops to the function body: `emit(op)` inserts it, returns its result."""

    def __init__(self, block: Block):
        self.builder = Builder(InsertPoint.at_end(block))

    def __call__(self, op: Operation) -> SSAValue:
        return self.builder.insert(op).results[0]


# A rule gets the emitter, the forward op, the adjoint of each of its results (None when a
# result has none) and which operands need a gradient; it returns the adjoint contribution to
# each operand (None where not needed: no backward work is emitted for data).
Rule = Callable[
    [Emitter, Operation, Sequence[SSAValue | None], Sequence[bool]], Sequence[SSAValue | None]
]


def _gemm(e: Emitter, op: train.GemmOp, dys, needs):
    (dy,) = dys
    if op.is_transposed_a or op.is_transposed_b:
        raise PassError("pinn-autodiff differentiates forward GEMMs only (no transposes)", op)
    a, b = op.lhs, op.rhs
    dgrad, wgrad = train.GemmRole.DGRAD, train.GemmRole.WGRAD
    da = e(train.GemmOp(dy, b, dgrad, a.type, transpose_b=True)) if needs[0] else None
    db = e(train.GemmOp(a, dy, wgrad, b.type, transpose_a=True)) if needs[1] else None
    return [da, db]


def _bias_add(e: Emitter, op: train.BiasAddOp, dys, needs):
    (dy,) = dys
    return [dy, e(train.ColumnSumOp(dy)) if needs[1] else None]


def _activation(e: Emitter, op: Operation, dys, needs):
    (dy,) = dys
    act = activation_of(type(op))
    saved = op.results[0] if act.saves == "output" else op.operands[0]
    return [e(train.ActivationGradOp(act.name, saved, dy))]


def _addf(e: Emitter, op: arith.AddfOp, dys, needs):
    (dy,) = dys
    return [dy, dy]


def _subf(e: Emitter, op: arith.SubfOp, dys, needs):
    (dy,) = dys
    return [dy, e(arith.NegfOp(dy)) if needs[1] else None]


def _mulf(e: Emitter, op: arith.MulfOp, dys, needs):
    (dy,) = dys
    return [
        e(arith.MulfOp(dy, op.rhs)) if needs[0] else None,
        e(arith.MulfOp(dy, op.lhs)) if needs[1] else None,
    ]


def _divf(e: Emitter, op: arith.DivfOp, dys, needs):
    (dy,) = dys
    da = e(arith.DivfOp(dy, op.rhs))
    db = e(arith.NegfOp(e(arith.MulfOp(da, op.result)))) if needs[1] else None  # −(a/b)/b
    return [da if needs[0] else None, db]


def _negf(e: Emitter, op: arith.NegfOp, dys, needs):
    (dy,) = dys
    return [e(arith.NegfOp(dy))]


def _columns(e: Emitter, op: pinn.SumOp | pinn.SliceOp, dys, needs):
    (dy,) = dys
    lo, hi = op.dim_range()
    return [e(train.ExpandColumnsOp(dy, lo, hi, op.input.type.get_shape()[1]))]


def _expand_columns(e: Emitter, op: train.ExpandColumnsOp, dys, needs):
    """The transpose of placing x into columns [lo, hi): those columns of dy, summed into one
    where x is one column repeated (a broadcast)."""
    (dy,) = dys
    lo, hi = op.dim_lo.value.data, op.dim_hi.value.data
    x_type = op.input.type
    if x_type.get_shape()[1] == 1 and hi - lo > 1:
        return [e(pinn.SumOp(dy, x_type, (lo, hi)))]
    return [e(pinn.SliceOp(dy, x_type, (lo, hi)))]


def _flatten(e: Emitter, op: train.FlattenOp, dys, needs):
    (dy,) = dys
    return [e(train.UnflattenOp(dy, op.input))]


def _unflatten(e: Emitter, op: train.UnflattenOp, dys, needs):
    (dy,) = dys
    return [e(train.FlattenOp(dy)), None]


def _permute(e: Emitter, op: train.PermuteOp, dys, needs):
    """The inverse data movement: dy viewed as the transposed shape, transposed back by the
    inverse permutation, reshaped to x's shape."""
    (dy,) = dys
    shape, perm = op.shape_values, op.perm_values
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    moved = [shape[p] for p in perm]
    return [e(train.PermuteOp(dy, moved, inverse, op.input.type.get_shape()))]


def _mean_square(e: Emitter, op: train.MeanSquareOp, dys, needs):
    (dl,) = dys
    return [e(train.MeanSquareGradOp(op.input, dl))]


def _weighted_sum(e: Emitter, op: train.WeightedSumOp, dys, needs):
    (dl,) = dys
    return [
        dl if w.value.data == 1.0 else e(train.ScaleOp(dl, w.value.data)) for w in op.weights.data
    ]


def _scale(e: Emitter, op: train.ScaleOp, dys, needs):
    (dy,) = dys
    return [e(train.ScaleOp(dy, op.factor.value.data))]


def _stein_derivative(vjp_op: type[Operation]) -> Rule:
    def rule(e: Emitter, op: Operation, dys, needs):
        (dy,) = dys
        # the network values (or differences) get the transposed estimator; δ is data
        vjp = vjp_op(dy, op.delta, op.sigma.value.data, op.dims, op.is_difference_form)
        return [e(vjp), None]

    return rule


def _center(e: Emitter, op: stein.CenterOp, dys, needs):
    (dy,) = dys
    return [e(stein.CenterVjpOp(dy, (op.values.type.get_shape()[1] - 1) // 2))]


def _smoothed(e: Emitter, op: stein.SmoothedOp, dys, needs):
    (dy,) = dys
    m = op.values.type.get_shape()[1]
    if not op.is_difference_form:
        return [e(stein.SmoothedVjpOp(dy, (m - 1) // 2))]
    # base + mean of the differences: the base's cotangent is dy itself
    dd = e(stein.SmoothedVjpOp(dy, m // 2, differences=True)) if needs[0] else None
    return [dd, dy]


def _diff_activation(e: Emitter, op: stein.DiffActivationOp, dys, needs):
    (dy,) = dys
    vjp = e.builder.insert(stein.DiffActivationVjpOp(op.activation.data, op.zb, op.zd, dy))
    return [vjp.dzb if needs[0] else None, vjp.dzd if needs[1] else None]


VJP_RULES: dict[type[Operation], Rule] = {
    train.GemmOp: _gemm,
    train.BiasAddOp: _bias_add,
    arith.AddfOp: _addf,
    arith.SubfOp: _subf,
    arith.MulfOp: _mulf,
    arith.DivfOp: _divf,
    arith.NegfOp: _negf,
    pinn.SumOp: _columns,
    pinn.SliceOp: _columns,
    train.ExpandColumnsOp: _expand_columns,
    train.FlattenOp: _flatten,
    train.UnflattenOp: _unflatten,
    train.PermuteOp: _permute,
    # jets' input directions depend on the points' shape only, not on their values
    train.UnitDirectionsOp: lambda e, op, dys, needs: [None],
    train.SampleCoordinatesOp: lambda e, op, dys, needs: [None, None, None],
    train.MeanSquareOp: _mean_square,
    train.WeightedSumOp: _weighted_sum,
    train.ScaleOp: _scale,
    stein.GradOp: _stein_derivative(stein.GradVjpOp),
    stein.LaplacianOp: _stein_derivative(stein.LaplacianVjpOp),
    stein.CenterOp: _center,
    stein.SmoothedOp: _smoothed,
    stein.DiffActivationOp: _diff_activation,
}


def rule_for(op: Operation) -> Rule | None:
    """The gradient rule of an op: its entry in VJP_RULES, or the activation rule."""
    rule = VJP_RULES.get(type(op))
    if rule is None and activation_of(type(op)) is not None:
        rule = _activation
    return rule


def active_values(f: func.FuncOp) -> set[SSAValue]:
    """Values that depend on a parameter argument."""
    roles = train.arg_roles(f)
    active = {a for a, r in zip(f.args, roles, strict=True) if r.startswith("param:")}
    for op in f.body.block.ops:
        if any(o in active for o in op.operands):
            active.update(op.results)
    return active


@dataclass(frozen=True)
class PinnAutodiffPass(ModulePass):
    """Reverse-mode gradients of @loss w.r.t. every parameter: @loss -> @loss_grad."""

    name = "pinn-autodiff"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        loss = next(
            (f for f in op.ops if isinstance(f, func.FuncOp) and f.sym_name.data == "loss"), None
        )
        if loss is None:
            raise PassError("expects a @loss function (run pinn-build-loss first)")
        op.body.block.insert_op_after(self._differentiate(loss), loss)
        loss.detach()
        loss.erase()

    def _differentiate(self, loss: func.FuncOp) -> func.FuncOp:
        f = loss.clone()
        block = f.body.block
        ret = block.last_op
        assert isinstance(ret, func.ReturnOp)
        forward = [o for o in block.ops if o is not ret]
        ret.detach()
        active = active_values(f)
        emit = Emitter(block)
        adjoint: dict[SSAValue, SSAValue] = {}
        total = ret.arguments[0]
        adjoint[total] = emit(pinn.ConstantOp(1.0, total.type))
        adjoint[total].name_hint = "dloss"

        for fwd in reversed(forward):
            dys = [adjoint.get(r) for r in fwd.results]
            if all(d is None for d in dys) or not any(o in active for o in fwd.operands):
                continue
            rule = rule_for(fwd)
            if rule is None:
                raise PassError(f"pinn-autodiff has no gradient rule for '{fwd.name}'", fwd)
            needs = [o in active for o in fwd.operands]
            for operand, d, need in zip(
                fwd.operands, rule(emit, fwd, dys, needs), needs, strict=True
            ):
                if d is None or not need:
                    continue
                prev = adjoint.get(operand)
                adjoint[operand] = d if prev is None else emit(arith.AddfOp(prev, d))
                # the gradients of parameters (arguments) are named when complete, below
                named = operand.name_hint and not isinstance(operand, BlockArgument)
                if named and adjoint[operand].name_hint is None:
                    adjoint[operand].name_hint = f"d{operand.name_hint}"

        roles = train.arg_roles(f)
        grads = []
        for arg, role in zip(f.args, roles, strict=True):
            if not role.startswith("param:"):
                continue
            g = adjoint.get(arg)
            if g is None:  # the loss does not depend on this parameter
                g = emit(pinn.ConstantOp(0.0, arg.type))
            g.name_hint = f"d{arg.name_hint}"
            grads.append((role.removeprefix("param:"), g))
        results = [*ret.arguments, *(g for _, g in grads)]
        block.add_op(func.ReturnOp(*results))
        ret.erase()
        res_roles = train.result_roles(loss) + [f"grad:{name}" for name, _ in grads]
        out = func.FuncOp(
            "loss_grad",
            (f.function_type.inputs.data, [r.type for r in results]),
            f.detach_region(f.body),
            arg_attrs=f.arg_attrs,
            res_attrs=train.role_attrs(res_roles),
        )
        f.erase()
        return out
