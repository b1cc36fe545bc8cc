"""How each kind of network layer becomes training-graph ops: lowerings registered per op class.

`pinn-build-loss` inlines a network wherever it is evaluated by walking the network's body.

- `pinn.eval` (ordinary evaluation): an op whose class has an entry in `LAYER_LOWERINGS` is
  replaced by what its lowering builds; any other op (elementwise `arith` / `math`,
  `pinn.constant`) is cloned.
- `stein.eval_streams` (DiffQuant's base and difference streams): `lower_streams` maps each
  op to its base-stream value and its difference-stream value. A layer's entry in
  `DIFFERENCE_LOWERINGS` gives both; activations (`pintac.dialects.activations`) give
  φ(z_b) and `stein.diff_activation`; linear elementwise ops act on the differences directly.

A layer names its parameters by symbol (`pinn.dense %x, @W0, @b0`); its lowerings read them
as the function's parameter arguments. Adding a layer kind (a TT-matrix layer, say) is adding
its entries here.

Streams. The base stream is rows of points, `N x H`; the difference streams are
`N x M x H` (M streams per point, in the order of `stein.difference_streams`). A difference
value is None where it is identically zero (data that does not depend on the points).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import ArrayAttr, SymbolRefAttr
from xdsl.ir import Operation, SSAValue

from pintac.dialects import pinn, stein, train
from pintac.dialects.activations import activation_of
from pintac.runtime.errors import PassError

Params = Mapping[str, SSAValue]
# A lowering gets a builder placed where the layer's ops go, the layer op, its operands
# (already lowered) and the function's parameter arguments by symbol; it returns the values
# that take the place of the layer's results.
Lowering = Callable[[Builder, Operation, Sequence[SSAValue], Params], list[SSAValue]]
# A difference lowering gets the base-stream and difference-stream operands and returns the
# base-stream and difference-stream results.
DifferenceLowering = Callable[
    [Builder, Operation, Sequence[SSAValue], Sequence[SSAValue | None], Params],
    tuple[list[SSAValue], list[SSAValue | None]],
]

LAYER_LOWERINGS: dict[type[Operation], Lowering] = {}
DIFFERENCE_LOWERINGS: dict[type[Operation], DifferenceLowering] = {}


def layer_lowering(op_type: type[Operation]) -> Callable[[Lowering], Lowering]:
    """Register the lowering of a layer op class."""

    def register(fn: Lowering) -> Lowering:
        if op_type in LAYER_LOWERINGS:
            raise ValueError(f"two lowerings for {op_type.name}")
        LAYER_LOWERINGS[op_type] = fn
        return fn

    return register


def difference_lowering(
    op_type: type[Operation],
) -> Callable[[DifferenceLowering], DifferenceLowering]:
    """Register the base/difference-stream lowering of a layer op class."""

    def register(fn: DifferenceLowering) -> DifferenceLowering:
        if op_type in DIFFERENCE_LOWERINGS:
            raise ValueError(f"two difference lowerings for {op_type.name}")
        DIFFERENCE_LOWERINGS[op_type] = fn
        return fn

    return register


def names_parameters(op: Operation) -> bool:
    """Whether an op refers to parameters by symbol, i.e. is a layer that needs a lowering."""
    for attr in op.properties.values():
        if isinstance(attr, SymbolRefAttr):
            return True
        if isinstance(attr, ArrayAttr) and any(isinstance(a, SymbolRefAttr) for a in attr):
            return True
    return False


def _named(value: SSAValue, hint: str | None) -> SSAValue:
    value.name_hint = hint
    return value


def on_rows(b: Builder, streams: SSAValue, build: Callable[[SSAValue], SSAValue]) -> SSAValue:
    """Apply a row-wise computation (a GEMM) to difference streams N x M x H: flatten the
    streams into rows, `build` on them, and restore the N x M leading dims."""
    rows = b.insert(train.FlattenOp(streams)).output
    if streams.name_hint:
        rows.name_hint = f"{streams.name_hint}_rows"
    return b.insert(train.UnflattenOp(build(rows), streams)).output


# ---------------------------------------------------------------- pinn.dense


@layer_lowering(pinn.DenseOp)
def lower_dense(
    b: Builder, op: pinn.DenseOp, operands: Sequence[SSAValue], params: Params
) -> list[SSAValue]:
    """`y = x · W + b` as `train.gemm role fwd` and `train.bias_add`."""
    (x,) = operands
    z = b.insert(train.GemmOp(x, params[op.weight.string_value()], train.GemmRole.FWD)).result
    if op.bias is not None:
        z = b.insert(train.BiasAddOp(z, params[op.bias.string_value()])).output
    return [_named(z, op.output.name_hint)]


@difference_lowering(pinn.DenseOp)
def lower_dense_streams(
    b: Builder,
    op: pinn.DenseOp,
    base: Sequence[SSAValue],
    diff: Sequence[SSAValue | None],
    params: Params,
) -> tuple[list[SSAValue], list[SSAValue | None]]:
    """Base: x_b · W + b; differences: d · W, no bias (W(x + d) + b − (W x + b) = W d)."""
    (zb,) = lower_dense(b, op, base, params)
    (d,) = diff
    if d is None:
        return [zb], [None]
    w = params[op.weight.string_value()]
    zd = on_rows(b, d, lambda rows: b.insert(train.GemmOp(rows, w, train.GemmRole.FWD)).result)
    return [zb], [_named(zd, _diff_name(op.output.name_hint))]


# ---------------------------------------------------------------- everything else


def _diff_name(hint: str | None) -> str | None:
    return None if hint is None else f"{hint}_d"


def lower_streams(
    b: Builder,
    op: Operation,
    base: Sequence[SSAValue],
    diff: Sequence[SSAValue | None],
    params: Params,
) -> tuple[list[SSAValue], list[SSAValue | None]]:
    """Base and difference values of an op of a network evaluated on streams."""
    lowering = DIFFERENCE_LOWERINGS.get(type(op))
    if lowering is not None:
        return lowering(b, op, base, diff, params)
    if names_parameters(op):
        raise PassError(f"'{op.name}' has no DiffQuant (difference-stream) lowering", op)
    mapped = op.clone(value_mapper=dict(zip(op.operands, base, strict=True)))
    b.insert(mapped)
    bases = list(mapped.results)
    if all(d is None for d in diff):  # data: no difference
        return bases, [None] * len(bases)
    hint = _diff_name(op.results[0].name_hint) if op.results else None
    act = activation_of(type(op))
    if act is not None:
        (zb,), (zd,) = base, diff
        out = b.insert(stein.DiffActivationOp(act.name, zb, zd)).result
        return bases, [_named(out, hint)]
    if isinstance(op, arith.AddfOp | arith.SubfOp):
        return bases, [_named(_linear_sum(b, op, diff), hint)]
    if isinstance(op, arith.NegfOp):
        return bases, [_named(b.insert(arith.NegfOp(diff[0])).result, hint)]
    raise PassError(
        f"'{op.name}' on a network's difference streams has no DiffQuant lowering (linear "
        "layers, activations, additions and negations have one)",
        op,
    )


def _linear_sum(b: Builder, op: arith.AddfOp | arith.SubfOp, diff) -> SSAValue:
    """The difference of a ± c: d_a ± d_c, where the difference of data is zero."""
    da, dc = diff
    subtract = isinstance(op, arith.SubfOp)
    if dc is None:
        return da
    if da is None:
        return b.insert(arith.NegfOp(dc)).result if subtract else dc
    cls = arith.SubfOp if subtract else arith.AddfOp
    return b.insert(cls(da, dc)).result
