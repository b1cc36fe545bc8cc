"""How each kind of network layer becomes training-graph ops: lowerings registered per op class.

`pinn-build-loss` inlines a network wherever it is evaluated by walking the network's body.

- `pinn.eval` (ordinary evaluation): an op whose class has an entry in `LAYER_LOWERINGS` is
  replaced by what its lowering builds; any other op (elementwise `arith` / `math`,
  `pinn.constant`) is cloned.
- `stein.eval_streams` (DiffQuant's base and difference streams): `lower_streams` maps each
  op to its base-stream value and its difference-stream value. A layer's entry in
  `DIFFERENCE_LOWERINGS` gives both; activations (`pintac.dialects.activations`) give
  φ(z_b) and `stein.diff_activation`; linear elementwise ops act on the differences directly.
- Taylor-mode jets (the `taylor` derivative strategy): `lower_jets` maps each op to its value
  and its `Jet`, the first and second derivatives along D directions per point. A layer's
  entry in `JET_LOWERINGS` gives both; an activation's jet follows from its table entry's
  `jet` formula (φ', φ''); linear elementwise ops act on the coefficients directly.

A layer names its parameters by symbol (`pinn.dense %x, @W0, @b0`); its lowerings read them
as the function's parameter arguments. Adding a layer kind is adding its entries here;
`pinn.dense` and the TT-matrix layer `tt.linear` have theirs.

Streams. The base stream is rows of points, `N x H`; the difference streams are
`N x M x H` (M streams per point, in the order of `stein.difference_streams`). A difference
value is None where it is identically zero (data that does not depend on the points). A jet's
coefficients are streams too, `N x D x H`, one per direction.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import ArrayAttr, SymbolRefAttr
from xdsl.ir import Block, Operation, SSAValue

from pintac.core.errors import PassError
from pintac.dialects import pinn, stein, train, tt
from pintac.dialects.activations import ACTIVATIONS, Activation, activation_of
from pintac.dialects.support import DYNAMIC
from pintac.runtime import tt as tt_numerics

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

# A jet lowering gets the values and the jets of the operands (None: data, a zero jet) and
# returns the values and jets of the results.
JetLowering = Callable[
    [Builder, Operation, Sequence[SSAValue], Sequence["Jet | None"], Params],
    tuple[list[SSAValue], list["Jet | None"]],
]

LAYER_LOWERINGS: dict[type[Operation], Lowering] = {}
DIFFERENCE_LOWERINGS: dict[type[Operation], DifferenceLowering] = {}
JET_LOWERINGS: dict[type[Operation], JetLowering] = {}


def _registers_in(table: dict, what: str, op_type: type[Operation]) -> Callable:
    def register(fn):
        if op_type in table:
            raise ValueError(f"two {what} for {op_type.name}")
        table[op_type] = fn
        return fn

    return register


def layer_lowering(op_type: type[Operation]) -> Callable[[Lowering], Lowering]:
    """Register the lowering of a layer op class."""
    return _registers_in(LAYER_LOWERINGS, "lowerings", op_type)


def difference_lowering(
    op_type: type[Operation],
) -> Callable[[DifferenceLowering], DifferenceLowering]:
    """Register the base/difference-stream lowering of a layer op class."""
    return _registers_in(DIFFERENCE_LOWERINGS, "difference lowerings", op_type)


def jet_lowering(op_type: type[Operation]) -> Callable[[JetLowering], JetLowering]:
    """Register the Taylor-mode (jet) lowering of a layer op class."""
    return _registers_in(JET_LOWERINGS, "jet lowerings", op_type)


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


def _named_if_new(value: SSAValue, hint: str | None) -> SSAValue:
    """Name an intermediate value the lowering made (reports and the quantization plan list
    tensors by name); a value it passes through unchanged keeps its own name."""
    if value.name_hint is None and hint:
        value.name_hint = hint
    return value


def on_rows(
    b: Builder, streams: SSAValue, build: Callable[[SSAValue], SSAValue], name: str | None
) -> SSAValue:
    """Apply a row-wise computation (a GEMM) to difference streams N x M x H: flatten the
    streams into rows, `build` on them, and restore the N x M leading dims; the result is
    named `name` and the rows `build` made `<name>_rows`."""
    rows = b.insert(train.FlattenOp(streams)).output
    if streams.name_hint:
        rows.name_hint = f"{streams.name_hint}_rows"
    built = _named_if_new(build(rows), name and f"{name}_rows")
    return _named(b.insert(train.UnflattenOp(built, streams)).output, name)


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
    name = _diff_name(op.output.name_hint)
    zd = on_rows(
        b, d, lambda rows: b.insert(train.GemmOp(rows, w, train.GemmRole.FWD)).result, name
    )
    return [zb], [zd]


@jet_lowering(pinn.DenseOp)
def lower_dense_jets(
    b: Builder,
    op: pinn.DenseOp,
    values: Sequence[SSAValue],
    jets: Sequence[Jet | None],
    params: Params,
) -> tuple[list[SSAValue], list[Jet | None]]:
    """Value: x · W + b; each coefficient: times W, no bias (an affine map's derivatives)."""
    (z,) = lower_dense(b, op, values, params)
    (jet,) = jets
    if jet is None:
        return [z], [None]
    w = params[op.weight.string_value()]

    def gemm(rows: SSAValue) -> SSAValue:
        return b.insert(train.GemmOp(rows, w, train.GemmRole.FWD)).result

    return [z], [map_jet(b, jet, gemm, op.output.name_hint)]


# ---------------------------------------------------------------- tt.linear
#
# A TT-matrix layer becomes data movement (`train.permute`) and `train.gemm`, the one GEMM op
# SMX quantization and the accelerator look for; its gradients then follow from the rules of
# those two ops. The GEMMs are exactly those of `pintac.runtime.tt` (`merge_gemm`,
# `contract_gemm`), in the plan the cost model `tt.contraction_cost` describes:
#
# - each group of 2+ consecutive cores is merged into a super-core, left to right: G
#   (r_a, n, m, r_b) and H (r_b, n', m', r_c) give G as (r_a n m) x r_b times H as
#   r_b x (n' m' r_c), then (r_a, n, m, n', m', r_c) -> perm [0, 1, 3, 2, 4, 5] ->
#   (r_a, n n', m m', r_c). The merges depend on parameters only: they are built once per
#   function, however often the network is evaluated in it;
# - each (super-)core (r, n, m, s) becomes the GEMM matrix (r n) x (m s) (order `ltr`) or,
#   permuted to (n, s, r, m), (n s) x (r m) (order `rtl`);
# - a contraction of the activation a : (R, P k Q), k the matrix's rows, with prefix P and
#   suffix Q is lhs = a as (R, P, k, Q) -> perm [0, 1, 3, 2] -> (R P Q) x k, the GEMM with the
#   matrix, and the product (R P Q) x c viewed as (R, P, Q, c) -> perm [0, 1, 3, 2] ->
#   (R, P c Q).

# Per function body: the GEMM matrix of each (super-)core already built, by its cores and order.
_CORE_MATRICES: weakref.WeakKeyDictionary[Block, dict[tuple, SSAValue]] = (
    weakref.WeakKeyDictionary()
)


def _permute(
    b: Builder,
    x: SSAValue,
    shape: Sequence[int],
    perm: Sequence[int],
    result_shape: Sequence[int],
    private: bool = False,
) -> SSAValue:
    """`train.permute` of x (DYNAMIC or -1 for the batch in `shape` and `result_shape`),
    written in its simplest form: unit dims are dropped; a pure reshape is written with the
    result's shape and the identity permutation, and is no op on x's own type; a permute of
    a pure reshape reads the reshape's input. `private`: x is an intermediate value of the
    layer that only this permute reads: a pure reshape of a `train.permute`'s result then
    replaces that permute (the same permute with the new result shape), and a reshape this
    permute reads through is removed."""
    shape = [-1 if d == DYNAMIC else d for d in shape]
    keep = [i for i, d in enumerate(shape) if d != 1]
    rank = {old: new for new, old in enumerate(keep)}
    moved = [rank[p] for p in perm if p in rank]
    producer = x.owner if isinstance(x.owner, train.PermuteOp) else None
    if moved != sorted(moved):
        source = x
        if producer is not None and _is_reshape(producer):
            source = producer.input  # a reshape keeps the row-major order a permute reads
        kept = [shape[i] for i in keep]
        y = b.insert(train.PermuteOp(source, kept, moved, result_shape)).output
        if private and source is not x and not x.uses:
            producer.detach()
            producer.erase()
        return y
    if list(x.type.get_shape()) == [DYNAMIC if d < 0 else d for d in result_shape]:
        return x
    if private and producer is not None and not x.uses:
        y = b.insert(
            train.PermuteOp(
                producer.input, producer.shape_values, producer.perm_values, result_shape
            )
        ).output
        producer.detach()
        producer.erase()
        return y
    shape = [-1 if d == DYNAMIC else d for d in result_shape]
    return b.insert(train.PermuteOp(x, shape, range(len(shape)), result_shape)).output


def _is_reshape(op: train.PermuteOp) -> bool:
    return op.perm_values == tuple(range(len(op.perm_values)))


def _rows(value: SSAValue) -> int:
    return value.type.get_shape()[0]


def _merge(b: Builder, g: SSAValue, h: SSAValue) -> SSAValue:
    """The super-core of two consecutive cores (r_a, n, m, r_b), (r_b, n', m', r_c)."""
    ra, n, m, rb = g.type.get_shape()
    _, n2, m2, rc = h.type.get_shape()
    lhs = _permute(b, g, [ra * n * m, rb], [0, 1], [ra * n * m, rb], private=True)
    rhs = _permute(b, h, [rb, n2 * m2 * rc], [0, 1], [rb, n2 * m2 * rc])
    _named_if_new(lhs, g.name_hint)
    _named_if_new(rhs, h.name_hint)
    product = b.insert(train.GemmOp(lhs, rhs, train.GemmRole.FWD)).result
    if g.name_hint and h.name_hint:
        _named_if_new(product, f"{g.name_hint}_{h.name_hint}_product")
    return _permute(
        b, product, [ra, n, m, n2, m2, rc], [0, 1, 3, 2, 4, 5], [ra, n * n2, m * m2, rc]
    )


def _core_matrix(
    b: Builder, cores: Sequence[SSAValue], names: Sequence[str], order: tt.ContractionOrder
) -> SSAValue:
    """The GEMM matrix of the super-core merging `cores` (one core: the core itself), built
    once per function body."""
    cache = _CORE_MATRICES.setdefault(b.insertion_point.block, {})
    key = (tuple(cores), order)
    if key in cache:
        return cache[key]
    s = cores[0]
    for h in cores[1:]:
        s = _merge(b, s, h)
    r, n, m, t = s.type.get_shape()
    if order is tt.ContractionOrder.LTR:
        matrix = _permute(b, s, [r * n, m * t], [0, 1], [r * n, m * t], len(cores) > 1)
    else:  # tt_numerics.rtl_core: (r, n, m, s) -> (n, s, r, m)
        matrix = _permute(b, s, [r, n, m, t], [1, 3, 0, 2], [n * t, r * m], len(cores) > 1)
    _named_if_new(matrix, "_".join(names))
    cache[key] = matrix
    return matrix


def _contract(
    b: Builder,
    a: SSAValue,
    matrix: SSAValue,
    prefix: int,
    suffix: int,
    private: bool,
    label: str | None,
) -> SSAValue:
    """One contraction (`tt_numerics.contract_gemm`): a (R, P k Q) with a k x c matrix gives
    (R, P c Q). `private`: a is the previous contraction's result. `label` names the GEMM's
    left operand (reports and the quantization plan list it by name)."""
    red, cols = matrix.type.get_shape()
    rows = _rows(a)
    batch = -1 if rows == DYNAMIC else rows
    gemm_rows = DYNAMIC if rows == DYNAMIC else rows * prefix * suffix
    lhs = _permute(b, a, [batch, prefix, red, suffix], [0, 1, 3, 2], [gemm_rows, red], private)
    _named_if_new(lhs, label)
    product = b.insert(train.GemmOp(lhs, matrix, train.GemmRole.FWD)).result
    _named_if_new(product, label and f"{label}_out")
    out_shape = [rows, prefix * cols * suffix]
    return _permute(b, product, [batch, prefix, suffix, cols], [0, 1, 3, 2], out_shape)


def tt_matmul(b: Builder, op: tt.LinearOp, x: SSAValue, params: Params) -> SSAValue:
    """x · W for the TT-matrix W of `op` (no bias), by its grouping and order."""
    names = [ref.string_value() for ref in op.cores]
    cores = [params[name] for name in names]
    shapes = [tuple(c.type.get_shape()) for c in cores]
    chain = tt.TTMatrixShape.from_core_shapes(shapes)
    order = op.contraction_order
    plan = tt_numerics.contraction_cost(
        (chain.in_factors, chain.out_factors), chain.ranks, 0, op.group_sizes, order.value
    )
    starts = [sum(plan.groups[:t]) for t in range(len(plan.groups))]
    matrices = [
        _core_matrix(b, cores[s : s + size], names[s : s + size], order)
        for s, size in zip(starts, plan.groups, strict=True)
    ]
    a = x
    for k, step in enumerate(plan.steps):
        assert tuple(matrices[step.group].type.get_shape()) == (step.red, step.cols)
        label = f"{x.name_hint}_c{k}" if x.name_hint else None
        a = _contract(b, a, matrices[step.group], step.prefix, step.suffix, k > 0, label)
    return a


@layer_lowering(tt.LinearOp)
def lower_tt_linear(
    b: Builder, op: tt.LinearOp, operands: Sequence[SSAValue], params: Params
) -> list[SSAValue]:
    """`y = x · W + b`, W a TT-matrix: `train.permute` and `train.gemm role fwd` per merge and
    contraction, then `train.bias_add`."""
    (x,) = operands
    z = tt_matmul(b, op, x, params)
    if op.bias is not None:
        z = b.insert(train.BiasAddOp(z, params[op.bias.string_value()])).output
    return [_named(z, op.output.name_hint)]


@difference_lowering(tt.LinearOp)
def lower_tt_linear_streams(
    b: Builder,
    op: tt.LinearOp,
    base: Sequence[SSAValue],
    diff: Sequence[SSAValue | None],
    params: Params,
) -> tuple[list[SSAValue], list[SSAValue | None]]:
    """Base: x_b · W + b; differences: d · W, no bias; both through the same super-cores."""
    (zb,) = lower_tt_linear(b, op, base, params)
    (d,) = diff
    if d is None:
        return [zb], [None]
    zd = on_rows(b, d, lambda rows: tt_matmul(b, op, rows, params), _diff_name(op.output.name_hint))
    return [zb], [zd]


@jet_lowering(tt.LinearOp)
def lower_tt_linear_jets(
    b: Builder,
    op: tt.LinearOp,
    values: Sequence[SSAValue],
    jets: Sequence[Jet | None],
    params: Params,
) -> tuple[list[SSAValue], list[Jet | None]]:
    """Value: x · W + b; each coefficient: times W, no bias; all through the same super-cores."""
    (z,) = lower_tt_linear(b, op, values, params)
    (jet,) = jets
    if jet is None:
        return [z], [None]
    return [z], [map_jet(b, jet, lambda rows: tt_matmul(b, op, rows, params), op.output.name_hint)]


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


# ---------------------------------------------------------------- Taylor-mode jets
#
# Along a direction v, the curve t ↦ h(x + t v) of every value h of the network has Taylor
# coefficients h' (first) and h'' (second derivative in t). An affine layer z = h W + b maps
# them by W (no bias); an activation y = φ(z) by the chain rule of second order,
#     y' = φ'(z) z',   y'' = φ'(z) z'' + φ''(z) z'²,
# with φ'(z), φ''(z) from the activation's table entry (`Activation.jet`), evaluated once per
# point and broadcast over the D directions. Everything is built from ops that have VJP rules,
# so reverse mode differentiates the jets like any other part of the loss.


@dataclass(frozen=True)
class Jet:
    """The Taylor coefficients of a value h (N x H) along D directions per point: `first`
    and `second`, N x D x H each; `second` is None where identically zero (an affine function
    of the input) or not carried (`order` 1: first derivatives only)."""

    first: SSAValue
    second: SSAValue | None
    order: int


def _jet_name(hint: str | None, k: int) -> str | None:
    return None if hint is None else f"{hint}_j{k}"


def map_jet(b: Builder, jet: Jet, linear: Callable[[SSAValue], SSAValue], hint: str | None) -> Jet:
    """A row-wise linear map (a layer's GEMMs, no bias) applied to each coefficient."""
    first = on_rows(b, jet.first, linear, _jet_name(hint, 1))
    second = None if jet.second is None else on_rows(b, jet.second, linear, _jet_name(hint, 2))
    return Jet(first, second, jet.order)


def reshape(b: Builder, x: SSAValue, result_shape: Sequence[int]) -> SSAValue:
    """x with the shape `result_shape` (DYNAMIC for the batch), row-major: a `train.permute`
    with the identity permutation, or x itself if it has that shape already."""
    return _permute(b, x, result_shape, range(len(result_shape)), result_shape)


def broadcast_over_streams(
    b: Builder, x: SSAValue, streams: SSAValue, hint: str | None = None
) -> SSAValue:
    """x (N x H) repeated along the streams of `streams` (N x M x H): each row as a column,
    `train.expand_columns` repeating that column M times, then moved to N x M x H."""
    n, width = x.type.get_shape()
    m = streams.type.get_shape()[1]
    if m == 1:
        out = reshape(b, x, [n, 1, width])
    else:
        rows = DYNAMIC if n == DYNAMIC else n * width
        column = reshape(b, x, [rows, 1])
        repeated = b.insert(train.ExpandColumnsOp(column, 0, m, m)).output
        out = _permute(b, repeated, [n, width, m], [0, 2, 1], [n, m, width])
    return _named_if_new(out, hint and f"{hint}_streams")


class _Formula:
    """Builds an activation's `jet` formula as IR. Python arithmetic on its `_Term`s inserts
    `arith` ops (a number becomes a `pinn.constant` of the other operand's type) and `apply`
    inserts an activation's op; `unused_ops_erased` removes what the jet did not need."""

    def __init__(self, b: Builder):
        self.builder = b
        self.ops: list[Operation] = []

    def term(self, value: SSAValue) -> _Term:
        return _Term(self, value)

    def insert(self, op: Operation) -> _Term:
        self.ops.append(self.builder.insert(op))
        return _Term(self, op.results[0])

    def operand(self, x: _Term | float, like: _Term) -> SSAValue:
        if isinstance(x, _Term):
            return x.value
        return self.insert(pinn.ConstantOp(float(x), like.value.type)).value

    def binary(self, cls: type[Operation], lhs: _Term | float, rhs: _Term | float) -> _Term:
        like = lhs if isinstance(lhs, _Term) else rhs
        return self.insert(cls(self.operand(lhs, like), self.operand(rhs, like)))

    def apply(self, name: str, x: _Term) -> _Term:
        return self.insert(ACTIVATIONS[name].op(x.value))

    def unused_ops_erased(self) -> None:
        for op in reversed(self.ops):
            if not any(r.uses for r in op.results):
                op.detach()
                op.erase()


@dataclass(frozen=True)
class _Term:
    formula: _Formula
    value: SSAValue

    def __add__(self, other):
        return self.formula.binary(arith.AddfOp, self, other)

    def __radd__(self, other):
        return self.formula.binary(arith.AddfOp, other, self)

    def __sub__(self, other):
        return self.formula.binary(arith.SubfOp, self, other)

    def __rsub__(self, other):
        return self.formula.binary(arith.SubfOp, other, self)

    def __mul__(self, other):
        return self.formula.binary(arith.MulfOp, self, other)

    def __rmul__(self, other):
        return self.formula.binary(arith.MulfOp, other, self)

    def __truediv__(self, other):
        return self.formula.binary(arith.DivfOp, self, other)

    def __rtruediv__(self, other):
        return self.formula.binary(arith.DivfOp, other, self)

    def __neg__(self):
        return self.formula.insert(arith.NegfOp(self.value))


def _activation_jet(
    b: Builder, act: Activation, z: SSAValue, y: SSAValue, jet: Jet, hint: str | None
) -> Jet:
    """y = φ(z): y' = φ'(z) z', and for order 2 y'' = φ'(z) z'' + φ''(z) z'²."""
    if act.jet is None:
        raise PassError(
            f"activation '{act.name}' has no Taylor-mode rule (its table entry gives no jet "
            "formula for φ' and φ'')"
        )
    formula = _Formula(b)
    d1, d2 = act.jet(formula.term(z), formula.term(y), formula.apply)
    slope = broadcast_over_streams(b, d1.value, jet.first, hint and f"{hint}_d1")
    first = _named(b.insert(arith.MulfOp(slope, jet.first)).result, _jet_name(hint, 1))
    second = None
    if jet.order == 2:
        curvature = broadcast_over_streams(b, d2.value, jet.first, hint and f"{hint}_d2")
        square = b.insert(arith.MulfOp(jet.first, jet.first)).result
        second = b.insert(arith.MulfOp(curvature, square)).result
        if jet.second is not None:
            along = b.insert(arith.MulfOp(slope, jet.second)).result
            second = b.insert(arith.AddfOp(along, second)).result
        _named(second, _jet_name(hint, 2))
    formula.unused_ops_erased()
    _named_if_new(d1.value, hint and f"{hint}_d1")
    if second is not None:
        _named_if_new(d2.value, hint and f"{hint}_d2")
    return Jet(first, second, jet.order)


def lower_jets(
    b: Builder,
    op: Operation,
    values: Sequence[SSAValue],
    jets: Sequence[Jet | None],
    params: Params,
) -> tuple[list[SSAValue], list[Jet | None]]:
    """Values and jets of an op of a network evaluated in Taylor mode."""
    lowering = JET_LOWERINGS.get(type(op))
    if lowering is not None:
        return lowering(b, op, values, jets, params)
    if names_parameters(op):
        raise PassError(f"'{op.name}' has no Taylor-mode (jet) lowering", op)
    mapped = op.clone(value_mapper=dict(zip(op.operands, values, strict=True)))
    b.insert(mapped)
    outs = list(mapped.results)
    if all(j is None for j in jets):  # data: a zero jet
        return outs, [None] * len(outs)
    hint = op.results[0].name_hint if op.results else None
    act = activation_of(type(op))
    if act is not None:
        return outs, [_activation_jet(b, act, values[0], outs[0], jets[0], hint)]
    if isinstance(op, arith.AddfOp | arith.SubfOp):
        return outs, [_linear_jet(b, op, jets, hint)]
    if isinstance(op, arith.NegfOp):
        (jet,) = jets
        negated = [
            None if c is None else b.insert(arith.NegfOp(c)).result for c in _coefficients(jet)
        ]
        return outs, [_jet_of(negated, jet.order, hint)]
    raise PassError(
        f"'{op.name}' on a network's Taylor-mode jets has no lowering (linear layers, "
        "activations, additions and negations have one)",
        op,
    )


def _coefficients(jet: Jet | None) -> tuple[SSAValue | None, SSAValue | None]:
    return (None, None) if jet is None else (jet.first, jet.second)


def _jet_of(coefficients: Sequence[SSAValue | None], order: int, hint: str | None) -> Jet:
    first, second = coefficients
    assert first is not None, "a jet that is not zero has a first coefficient"
    return Jet(
        _named_if_new(first, _jet_name(hint, 1)),
        None if second is None else _named_if_new(second, _jet_name(hint, 2)),
        order,
    )


def _linear_jet(b: Builder, op: arith.AddfOp | arith.SubfOp, jets, hint: str | None) -> Jet:
    """The jet of a ± c: the coefficients of a ± those of c (data has none)."""
    ja, jc = jets
    order = max(j.order for j in jets if j is not None)
    sums = [
        _linear_sum(b, op, pair) for pair in zip(_coefficients(ja), _coefficients(jc), strict=True)
    ]
    return _jet_of(sums, order, hint)
