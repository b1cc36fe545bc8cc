"""Pass `pinn-autodiff`: reverse-mode gradients of the loss w.r.t. every parameter.

Rewrites `@loss(params..., points..., seed, step) -> (loss, term losses...)` into
`@loss_grad(...) -> (loss, term losses..., grad of each param...)`: the forward ops, then
their adjoints in reverse order. First order only — Stein's estimator made the network's
input derivatives forward computations, so back-propagation runs once, through everything.

Only *active* values (those depending on a parameter) get adjoints; points, perturbations and
constants are data. Every backward GEMM is tagged with its role: the gradient w.r.t. a layer's
input is `dgrad` (dy · Wᵀ), w.r.t. its weight `wgrad` (xᵀ · dy).

The gradient rule (VJP) of every differentiable op is in the table `VJP_RULES` below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, builtin, func, math
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass

from pintac.dialects import pinn, stein
from pintac.runtime.errors import UserError


class Emitter:
    """Appends backward ops to the function body."""

    def __init__(self, block: Block):
        self.block = block

    def __call__(self, op: Operation) -> SSAValue:
        self.block.add_op(op)
        return op.results[0]


# A rule gets the emitter, the forward op, the adjoint of each of its results (None when a
# result has none) and which operands need a gradient; it returns the adjoint contribution to
# each operand (None where not needed: no backward work is emitted for data).
Rule = Callable[
    [Emitter, Operation, Sequence[SSAValue | None], Sequence[bool]], Sequence[SSAValue | None]
]


def _matmul(e: Emitter, op: pinn.MatmulOp, dys, needs):
    (dy,) = dys
    if op.transpose_a is not None or op.transpose_b is not None:
        raise UserError("pinn-autodiff differentiates forward GEMMs only (no transposes)")
    a, b = op.lhs, op.rhs
    da = e(pinn.MatmulOp(dy, b, "dgrad", a.type, transpose_b=True)) if needs[0] else None
    db = e(pinn.MatmulOp(a, dy, "wgrad", b.type, transpose_a=True)) if needs[1] else None
    return [da, db]


def _bias_add(e: Emitter, op: pinn.BiasAddOp, dys, needs):
    (dy,) = dys
    return [dy, e(pinn.ColumnSumOp(dy)) if needs[1] else None]


def _activation(name: str) -> Rule:
    def rule(e: Emitter, op: Operation, dys, needs):
        (dy,) = dys
        saved = op.results[0] if pinn.ActivationGradOp.SAVES[name] == "output" else op.operands[0]
        return [e(pinn.ActivationGradOp(name, saved, dy))]

    return rule


def _cos(e: Emitter, op: math.CosOp, dys, needs):
    (dy,) = dys
    s = e(math.SinOp(op.operand))
    return [e(arith.MulfOp(e(arith.NegfOp(s)), dy))]


def _exp(e: Emitter, op: math.ExpOp, dys, needs):
    (dy,) = dys
    return [e(arith.MulfOp(dy, op.result))]


def _log(e: Emitter, op: math.LogOp, dys, needs):
    (dy,) = dys
    return [e(arith.DivfOp(dy, op.operand))]


def _sqrt(e: Emitter, op: math.SqrtOp, dys, needs):
    (dy,) = dys
    return [e(arith.DivfOp(dy, e(pinn.ScaleOp(op.result, 2.0))))]


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
    return [e(pinn.ExpandColumnsOp(dy, lo, hi, op.input.type.get_shape()[1]))]


def _flatten(e: Emitter, op: pinn.FlattenOp, dys, needs):
    (dy,) = dys
    return [e(pinn.UnflattenOp(dy, op.input))]


def _unflatten(e: Emitter, op: pinn.UnflattenOp, dys, needs):
    (dy,) = dys
    return [e(pinn.FlattenOp(dy)), None]


def _mean_square(e: Emitter, op: pinn.MeanSquareOp, dys, needs):
    (dl,) = dys
    return [e(pinn.MeanSquareGradOp(op.input, dl))]


def _weighted_sum(e: Emitter, op: pinn.WeightedSumOp, dys, needs):
    (dl,) = dys
    return [
        dl if w.value.data == 1.0 else e(pinn.ScaleOp(dl, w.value.data)) for w in op.weights.data
    ]


def _scale(e: Emitter, op: pinn.ScaleOp, dys, needs):
    (dy,) = dys
    return [e(pinn.ScaleOp(dy, op.factor.value.data))]


def _pairs(values: SSAValue) -> int:
    return (values.type.get_shape()[1] - 1) // 2  # value form: 2K+1 evaluations per point


def _value_form(op: Operation) -> None:
    if op.is_difference_form:
        raise UserError(f"pinn-autodiff: the difference form of '{op.name}' has no rule yet")


def _stein_derivative(vjp_op: type[Operation]) -> Rule:
    def rule(e: Emitter, op: Operation, dys, needs):
        (dy,) = dys
        _value_form(op)
        # the network values get the transposed estimator; the perturbations are data
        return [e(vjp_op(dy, op.delta, op.sigma.value.data, op.dims)), None]

    return rule


def _stein_value(vjp_op: type[Operation]) -> Rule:
    def rule(e: Emitter, op: Operation, dys, needs):
        (dy,) = dys
        _value_form(op)
        return [e(vjp_op(dy, _pairs(op.values)))]

    return rule


VJP_RULES: dict[type[Operation], Rule] = {
    pinn.MatmulOp: _matmul,
    pinn.BiasAddOp: _bias_add,
    math.TanhOp: _activation("tanh"),
    math.SinOp: _activation("sin"),
    math.CosOp: _cos,
    math.ExpOp: _exp,
    math.LogOp: _log,
    math.SqrtOp: _sqrt,
    arith.AddfOp: _addf,
    arith.SubfOp: _subf,
    arith.MulfOp: _mulf,
    arith.DivfOp: _divf,
    arith.NegfOp: _negf,
    pinn.SumOp: _columns,
    pinn.SliceOp: _columns,
    pinn.FlattenOp: _flatten,
    pinn.UnflattenOp: _unflatten,
    pinn.MeanSquareOp: _mean_square,
    pinn.WeightedSumOp: _weighted_sum,
    pinn.ScaleOp: _scale,
    stein.GradOp: _stein_derivative(stein.GradVjpOp),
    stein.LaplacianOp: _stein_derivative(stein.LaplacianVjpOp),
    stein.CenterOp: _stein_value(stein.CenterVjpOp),
    stein.SmoothedOp: _stein_value(stein.SmoothedVjpOp),
}


def active_values(f: func.FuncOp) -> set[SSAValue]:
    """Values that depend on a parameter argument."""
    roles = pinn.arg_roles(f)
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
            raise UserError("expects a @loss function (run pinn-build-loss first)")
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
            rule = VJP_RULES.get(type(fwd))
            if rule is None:
                raise UserError(f"pinn-autodiff has no gradient rule for '{fwd.name}'")
            needs = [o in active for o in fwd.operands]
            for operand, d, need in zip(
                fwd.operands, rule(emit, fwd, dys, needs), needs, strict=True
            ):
                if d is None or not need:
                    continue
                prev = adjoint.get(operand)
                adjoint[operand] = d if prev is None else emit(arith.AddfOp(prev, d))

        roles = pinn.arg_roles(f)
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
        res_roles = pinn.result_roles(loss) + [f"grad:{name}" for name, _ in grads]
        out = func.FuncOp(
            "loss_grad",
            (f.function_type.inputs.data, [r.type for r in results]),
            f.detach_region(f.body),
            arg_attrs=f.arg_attrs,
            res_attrs=pinn.role_attrs(res_roles),
        )
        f.erase()
        return out
