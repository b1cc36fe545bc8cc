"""The `train` dialect: the lowered training step, ops on SSA values.

`pinn-build-loss` turns a `pinn.problem` into functions over tensors; `pinn-autodiff` and
`optimizer-lower` complete them into

    func.func @train_step(params..., state..., points..., seed, step)
        -> (params'..., state'..., loss, term losses...)

Besides upstream `arith` / `math` ops on tensors and the `stein` estimators, a step is made of
these ops. The one GEMM op, `train.gemm`, carries the role of the product in training
(`fwd`, `dgrad`, `wgrad`) and its transpose flags; it is what SMX quantization and the
accelerator lowering look for, and its operands are f32 tensors or quantized `!smx.tensor`s.

Every argument and result of the functions says what it is with a `train.role` attribute:
    "param:W0"   a parameter (argument) or its updated value (result)
    "state:W0:m" optimizer state of a parameter (Adam's "m" and "v")
    "points:pde" the batch of points of a loss term
    "seed", "step" the RNG key of the step (i64)
    "loss", "term:pde", "grad:W0" results: total loss, one term's loss, a gradient
    "x", "u"     the points and values of @predict / @exact

The reference page is docs/dialects/train.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    DenseArrayBase,
    DictionaryAttr,
    Float64Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    StringAttr,
    TensorType,
    UnitAttr,
    f64,
    i64,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import (
    Attribute,
    Dialect,
    Operation,
    ParametrizedAttribute,
    SpacedOpaqueSyntaxAttribute,
    SSAValue,
)
from xdsl.irdl import (
    AttrSizedOperandSegments,
    BaseAttr,
    IRDLOperation,
    VarConstraint,
    VerificationContext,
    base,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from pintac.core.training import OPTIMIZERS, SCHEDULES
from pintac.dialects.activations import ACTIVATIONS
from pintac.dialects.smx import QuantizedTensorType
from pintac.dialects.support import (
    DYNAMIC,
    compatible,
    dim_str,
    f32_shape,
    f32_tensor,
    float_array,
    floats_of,
    format_float,
    parse_real_list,
    print_real_list,
    shape_str,
    tensor_shape,
)

# ---------------------------------------------------------------------------------------------
# Attributes
# ---------------------------------------------------------------------------------------------


class GemmRole(StrEnum):
    """What a GEMM computes in training; passes choose precisions by role."""

    FWD = "fwd"  # Y = X W, a layer
    DGRAD = "dgrad"  # dX = dY Wᵀ, the gradient w.r.t. the layer's input
    WGRAD = "wgrad"  # dW = Xᵀ dY, the gradient w.r.t. its weight


@irdl_attr_definition
class GemmRoleAttr(EnumAttribute[GemmRole], SpacedOpaqueSyntaxAttribute):
    """`#train<role wgrad>`; written `role wgrad` in the ops that carry one."""

    name = "train.role"


@irdl_attr_definition
class ActivationAttr(ParametrizedAttribute, SpacedOpaqueSyntaxAttribute):
    """`#train<activation tanh>`: one of the activations of `pintac.dialects.activations`."""

    name = "train.activation"
    function: StringAttr

    def __init__(self, function: str | StringAttr):
        super().__init__(StringAttr(function) if isinstance(function, str) else function)

    @property
    def data(self) -> str:
        return self.function.data

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        return (StringAttr(parser.parse_identifier(" (an activation: " + _known() + ")")),)

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(self.function.data)

    def verify(self) -> None:
        if self.function.data not in ACTIVATIONS:
            raise VerifyException(
                f"unknown activation '{self.function.data}'; expected one of: {_known()}"
            )


def _known() -> str:
    return ", ".join(ACTIVATIONS)


# ---------------------------------------------------------------------------------------------
# Function roles
# ---------------------------------------------------------------------------------------------

ROLE_ATTR = "train.role"


def role_attrs(roles: Sequence[str]) -> ArrayAttr[DictionaryAttr]:
    return ArrayAttr(DictionaryAttr({ROLE_ATTR: StringAttr(r)}) for r in roles)


def _roles(attrs: ArrayAttr | None, count: int) -> list[str]:
    if attrs is None:
        return [""] * count
    out = []
    for d in attrs.data:
        role = d.data.get(ROLE_ATTR)
        out.append(role.data if isinstance(role, StringAttr) else "")
    return out


def arg_roles(f: Operation) -> list[str]:
    """The `train.role` of each argument of a func.func ("" where none)."""
    return _roles(f.arg_attrs, len(f.args))


def result_roles(f: Operation) -> list[str]:
    return _roles(f.res_attrs, len(f.function_type.outputs.data))


# ---------------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------------


def _rank2(t: Attribute, what: str) -> tuple[int, ...]:
    return f32_shape(t, 2, what, "a rank-2 f32 tensor")


def gemm_operand_shape(t: Attribute, what: str) -> tuple[int, ...]:
    """(rows, cols) of a GEMM operand: a rank-2 f32 tensor or a rank-2 `!smx.tensor`."""
    if isinstance(t, QuantizedTensorType):
        if t.get_num_dims() != 2:
            raise VerifyException(f"{what} must be a rank-2 smx.tensor, got {t}")
        return t.get_shape()
    return f32_shape(t, 2, what, "a rank-2 f32 tensor or smx.tensor")


@irdl_op_definition
class GemmOp(IRDLOperation):
    """C = op(A) · op(B), op = an optional transpose, tagged with its role in training.

        %z = train.gemm %x, %w role fwd : tensor<?x2xf32>, tensor<2x256xf32> -> tensor<?x256xf32>
        %dx = train.gemm %dz, %w role dgrad transpose_b : ...     // dz · wᵀ
        %dw = train.gemm %x, %dz role wgrad transpose_a : ...     // xᵀ · dz

    Semantics: the exact sum of products of the operands' values, rounded once to f32
    (round to nearest even). Operands are both f32 tensors or both quantized `!smx.tensor`s;
    a transpose reads the stored blocks transposed, so with square SMX blocks
    Q(X)ᵀ = Q(Xᵀ) and the copy quantized for `fwd` also serves `dgrad` and `wgrad`.
    """

    name = "train.gemm"
    lhs = operand_def(TensorType | QuantizedTensorType)
    rhs = operand_def(TensorType | QuantizedTensorType)
    result = result_def(TensorType)
    role = prop_def(GemmRoleAttr)
    transpose_a = opt_prop_def(UnitAttr)
    transpose_b = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    assembly_format = (
        "$lhs `,` $rhs `role` $role (`transpose_a` $transpose_a^)? (`transpose_b` $transpose_b^)?"
        " attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"
    )

    def __init__(
        self,
        lhs: SSAValue | Operation,
        rhs: SSAValue | Operation,
        role: GemmRole | str,
        result_type: Attribute | None = None,
        transpose_a: bool = False,
        transpose_b: bool = False,
    ):
        if result_type is None:
            m = self.logical_shape(SSAValue.get(lhs).type, transpose_a)[0]
            n = self.logical_shape(SSAValue.get(rhs).type, transpose_b)[1]
            result_type = f32_tensor(m, n)
        super().__init__(
            operands=[lhs, rhs],
            result_types=[result_type],
            properties={
                "role": GemmRoleAttr(GemmRole(role)),
                "transpose_a": UnitAttr() if transpose_a else None,
                "transpose_b": UnitAttr() if transpose_b else None,
            },
        )

    @property
    def gemm_role(self) -> GemmRole:
        return self.role.data

    @staticmethod
    def logical_shape(t: Attribute, transposed: bool, what: str = "an operand") -> tuple[int, int]:
        """(rows, cols) of an operand as the GEMM reads it."""
        rows, cols = gemm_operand_shape(t, what)
        return (cols, rows) if transposed else (rows, cols)

    @property
    def is_transposed_a(self) -> bool:
        return self.transpose_a is not None

    @property
    def is_transposed_b(self) -> bool:
        return self.transpose_b is not None

    @property
    def is_quantized(self) -> bool:
        return isinstance(self.lhs.type, QuantizedTensorType)

    def reduction_axes(self) -> tuple[int, int]:
        """The axis of A and of B (as stored) that the product reduces over."""
        return (0 if self.is_transposed_a else 1), (1 if self.is_transposed_b else 0)

    def verify_(self) -> None:
        ta, tb = self.is_transposed_a, self.is_transposed_b
        m, ka = self.logical_shape(self.lhs.type, ta, "the left operand")
        kb, n = self.logical_shape(self.rhs.type, tb, "the right operand")
        y = _rank2(self.result.type, "the result")
        if not compatible(ka, kb):
            raise VerifyException(
                f"inner dimensions differ: {shape_str([m, ka])} · {shape_str([kb, n])}"
            )
        if not (compatible(y[0], m) and compatible(y[1], n)):
            raise VerifyException(f"the product is {shape_str([m, n])}, not {shape_str(y)}")
        quantized = [isinstance(t, QuantizedTensorType) for t in (self.lhs.type, self.rhs.type)]
        if quantized[0] != quantized[1]:
            raise VerifyException(
                "the operands are both f32 tensors or both quantized smx.tensors, not a mix"
            )
        if quantized[0]:
            self._verify_blocks()

    def _verify_blocks(self) -> None:
        format_a, format_b = self.lhs.type.format, self.rhs.type.format
        axis_a, axis_b = self.reduction_axes()
        block_a, block_b = format_a.block_extent(axis_a), format_b.block_extent(axis_b)
        if block_a != block_b:
            hint = ""
            if format_a.is_mx or format_b.is_mx:
                # The 1-D MX cost SMX avoids: a transposed use needs a re-blocked copy.
                hint = (
                    " (a 1-D MX operand needs its 32-element blocks along the reduction "
                    "axis: quantize a second copy with the transposed block)"
                )
            raise VerifyException(
                "operand blocks differ along the reduction axis: a's "
                f"{shape_str(format_a.block_shape)} blocks span {block_a}, b's "
                f"{shape_str(format_b.block_shape)} blocks span {block_b}{hint}"
            )


@irdl_op_definition
class BiasAddOp(IRDLOperation):
    """Add a bias row to every row.

    %y = train.bias_add %z, %b : tensor<?x256xf32>, tensor<256xf32> -> tensor<?x256xf32>
    """

    name = "train.bias_add"
    input = operand_def(TensorType)
    bias = operand_def(TensorType)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$input `,` $bias attr-dict `:` type($input) `,` type($bias) `->` type($output)"
    )

    def __init__(self, input: SSAValue | Operation, bias: SSAValue | Operation):
        super().__init__(operands=[input, bias], result_types=[SSAValue.get(input).type])

    def verify_(self) -> None:
        x = _rank2(self.input.type, "the input")
        b = tensor_shape(self.bias.type)
        if b is None or len(b) != 1 or not compatible(b[0], x[1]):
            raise VerifyException(
                f"the bias must be tensor<{shape_str(x[1:])}xf32>, got {self.bias.type}"
            )
        if self.output.type != self.input.type:
            raise VerifyException("the result has the type of the input")


@irdl_op_definition
class ColumnSumOp(IRDLOperation):
    """Sum over rows, one value per column (the gradient of a bias).

    %db = train.column_sum %dz : tensor<?x256xf32> -> tensor<256xf32>
    """

    name = "train.column_sum"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue | Operation):
        width = SSAValue.get(input).type.get_shape()[1]
        super().__init__(operands=[input], result_types=[f32_tensor(width)])

    def verify_(self) -> None:
        x = _rank2(self.input.type, "the input")
        y = tensor_shape(self.output.type)
        if y is None or len(y) != 1 or not compatible(y[0], x[1]):
            raise VerifyException(
                f"the column sums of {shape_str(x)} are tensor<{shape_str(x[1:])}xf32>"
            )


@irdl_op_definition
class ActivationGradOp(IRDLOperation):
    """The gradient through an activation y = φ(z): dz = φ'(z) · dy, elementwise.

    %dz = train.activation_grad tanh %y, %dy : tensor<?x256xf32>    // tanh' = 1 − y²
    %dz = train.activation_grad sin %z, %dy : tensor<?x256xf32>     // sin' = cos z

    `saved` is the value the derivative is cheapest from (the activation's `saves`: the output
    y for tanh, the input z for sin), so the forward pass keeps only that tensor alive.
    """

    name = "train.activation_grad"
    T: ClassVar = VarConstraint("T", base(TensorType))
    activation = prop_def(ActivationAttr)
    saved = operand_def(T)
    grad = operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())
    assembly_format = "$activation $saved `,` $grad attr-dict `:` type($result)"

    def __init__(self, activation: str, saved: SSAValue, dy: SSAValue):
        super().__init__(
            operands=[saved, dy],
            result_types=[SSAValue.get(dy).type],
            properties={"activation": ActivationAttr(activation)},
        )


@irdl_op_definition
class FlattenOp(IRDLOperation):
    """Merge all leading dims into rows.

    %rows = train.flatten %b : tensor<?x1025x2xf32> -> tensor<?x2xf32>
    """

    name = "train.flatten"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue | Operation):
        shape = SSAValue.get(input).type.get_shape()
        rows = DYNAMIC if DYNAMIC in shape[:-1] else math.prod(shape[:-1])
        super().__init__(operands=[input], result_types=[f32_tensor(rows, shape[-1])])

    def verify_(self) -> None:
        x, y = tensor_shape(self.input.type), tensor_shape(self.output.type)
        if x is None or y is None or len(x) < 2 or len(y) != 2 or not compatible(x[-1], y[-1]):
            raise VerifyException(
                f"flattens the leading dims into rows: got {self.input.type} -> {self.output.type}"
            )


@irdl_op_definition
class UnflattenOp(IRDLOperation):
    """Split rows back into the leading dims of a reference value (the inverse of flatten).

    %g = train.unflatten %y like %b : tensor<?x1xf32>, tensor<?x1025x2xf32> -> tensor<?x1025x1xf32>
    """

    name = "train.unflatten"
    input = operand_def(TensorType)
    like = operand_def(TensorType)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$input `like` $like attr-dict `:` type($input) `,` type($like) `->` type($output)"
    )

    def __init__(self, input: SSAValue | Operation, like: SSAValue | Operation):
        lead = list(SSAValue.get(like).type.get_shape()[:-1])
        width = SSAValue.get(input).type.get_shape()[-1]
        super().__init__(operands=[input, like], result_types=[f32_tensor(*lead, width)])

    def verify_(self) -> None:
        x, ref, y = (tensor_shape(v.type) for v in (self.input, self.like, self.output))
        if x is None or ref is None or y is None or len(x) != 2 or len(y) != len(ref):
            raise VerifyException("unflattens rows into the leading dims of the reference")
        if not all(compatible(a, b) for a, b in zip(y[:-1], ref[:-1], strict=True)):
            raise VerifyException("the leading dims must be those of the reference")
        if not compatible(x[-1], y[-1]):
            raise VerifyException("unflattening keeps the last dim")


@irdl_op_definition
class PermuteOp(IRDLOperation):
    """Data movement: view a tensor as `shape`, transpose its axes by `perm`, reshape the
    result to the result type's shape (all row-major):

        y = x.reshape(shape).transpose(perm).reshape(shape of y)

    %lhs = train.permute %a shape [-1, 4, 64, 8] perm [0, 1, 3, 2] : tensor<?x2048xf32> -> tensor<?x64xf32>

    `shape` may hold one `-1` standing for the one dynamic dim: the number of elements
    divided by the product of the other entries (the batch). With `perm` the identity it is a
    reshape. TT layers lower to these and `train.gemm` (GEMM operands in, products out).
    """

    name = "train.permute"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    shape = prop_def(DenseArrayBase.constr(i64))
    perm = prop_def(DenseArrayBase.constr(i64))
    traits = traits_def(Pure())
    assembly_format = (
        "$input `shape` $shape `perm` $perm attr-dict `:` type($input) `->` type($output)"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        shape: Sequence[int],
        perm: Sequence[int],
        result_shape: Sequence[int],
    ):
        """`result_shape` uses DYNAMIC (or -1) for the result's dynamic dim."""
        element = SSAValue.get(input).type.get_element_type()
        dims = [DYNAMIC if d < 0 else d for d in result_shape]
        super().__init__(
            operands=[input],
            result_types=[TensorType(element, dims)],
            properties={
                "shape": DenseArrayBase.from_list(i64, [int(d) for d in shape]),
                "perm": DenseArrayBase.from_list(i64, [int(p) for p in perm]),
            },
        )

    @property
    def shape_values(self) -> tuple[int, ...]:
        return tuple(self.shape.get_values())

    @property
    def perm_values(self) -> tuple[int, ...]:
        return tuple(self.perm.get_values())

    def verify_(self) -> None:
        shape, perm = self.shape_values, self.perm_values
        if sorted(perm) != list(range(len(shape))):
            raise VerifyException(
                f"perm {list(perm)} must be a permutation of 0..{len(shape) - 1}, one entry "
                f"per dim of shape {list(shape)}"
            )
        if any(d < 1 and d != -1 for d in shape):
            raise VerifyException(f"shape {list(shape)} holds sizes >= 1 and at most one -1")
        if shape.count(-1) > 1:
            raise VerifyException(f"shape {list(shape)} holds more than one -1")
        x, y = self.input.type, self.output.type
        if x.get_element_type() != y.get_element_type():
            raise VerifyException(
                f"the result has the input's element type {x.get_element_type()}, "
                f"got {y.get_element_type()}"
            )
        x_dyn, y_dyn = x.get_shape().count(DYNAMIC), y.get_shape().count(DYNAMIC)
        if x_dyn > 1 or y_dyn > 1:
            raise VerifyException(
                f"at most one dynamic dim in the input and in the result, got {x} -> {y}"
            )
        if (x_dyn == 1) != (-1 in shape) or x_dyn != y_dyn:
            raise VerifyException(
                f"a dynamic input dim, a -1 in shape and a dynamic result dim go together, "
                f"got {x}, shape {list(shape)}, {y}"
            )
        if x_dyn == 0:
            counts = {math.prod(x.get_shape()), math.prod(shape), math.prod(y.get_shape())}
            if len(counts) > 1:
                raise VerifyException(
                    f"element counts differ: the input {x} has {math.prod(x.get_shape())}, "
                    f"shape {list(shape)} {math.prod(shape)}, the result {y} "
                    f"{math.prod(y.get_shape())}"
                )


@irdl_op_definition
class ExpandColumnsOp(IRDLOperation):
    """Place columns into zeros of a wider batch: out = 0; out[:, lo:hi] = x (a one-column x
    is broadcast). The gradient of `pinn.sum` and `pinn.slice`.

    %dx = train.expand_columns %g dims 0 to 20 : tensor<?x1xf32> -> tensor<?x21xf32>
    """

    name = "train.expand_columns"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    dim_lo = prop_def(IntegerAttr[I64])
    dim_hi = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    assembly_format = (
        "$input `dims` $dim_lo `to` $dim_hi attr-dict `:` type($input) `->` type($output)"
    )

    def __init__(self, input: SSAValue | Operation, lo: int, hi: int, width: int):
        rows = SSAValue.get(input).type.get_shape()[0]
        super().__init__(
            operands=[input],
            result_types=[f32_tensor(rows, width)],
            properties={"dim_lo": IntegerAttr(lo, i64), "dim_hi": IntegerAttr(hi, i64)},
        )

    def verify_(self) -> None:
        x = _rank2(self.input.type, "the input")
        y = _rank2(self.output.type, "the result")
        lo, hi = self.dim_lo.value.data, self.dim_hi.value.data
        if not 0 <= lo < hi <= y[1]:
            raise VerifyException(
                f"the column range {lo} to {hi} is not within the {y[1]} columns of the result"
            )
        if not (compatible(x[1], hi - lo) or x[1] == 1):
            raise VerifyException(f"places {x[1]} columns into columns {lo} to {hi}")


@irdl_op_definition
class UnitDirectionsOp(IRDLOperation):
    """The input jet of Taylor-mode derivatives: at every point, the unit vectors of the
    coordinates [lo, hi), one direction each.

    %e = train.unit_directions %x dims 0 to 2 : tensor<?x2xf32> -> tensor<?x2x2xf32>

    Semantics: out[n, k, :] = e_(lo+k), an N x (hi − lo) x D tensor in x's dtype; x gives only
    the number of points N and coordinates D. The network maps these directions, layer by
    layer, to its directional derivatives (`pinn-build-loss{derivatives=taylor}`).
    """

    name = "train.unit_directions"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    dim_lo = prop_def(IntegerAttr[I64])
    dim_hi = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    assembly_format = (
        "$input `dims` $dim_lo `to` $dim_hi attr-dict `:` type($input) `->` type($output)"
    )

    def __init__(self, input: SSAValue | Operation, lo: int, hi: int):
        rows, width = SSAValue.get(input).type.get_shape()
        super().__init__(
            operands=[input],
            result_types=[f32_tensor(rows, hi - lo, width)],
            properties={"dim_lo": IntegerAttr(lo, i64), "dim_hi": IntegerAttr(hi, i64)},
        )

    def dim_range(self) -> tuple[int, int]:
        return self.dim_lo.value.data, self.dim_hi.value.data

    def verify_(self) -> None:
        lo, hi = self.dim_range()
        _verify_coordinate_jet(self, hi - lo, "directions")


def _verify_coordinate_jet(op: IRDLOperation, count: int, what: str) -> None:
    """The checks an input jet of unit coordinate vectors shares: its coordinate range lies
    within the points' D coordinates, and it is points x `count` x D."""
    n, d = _rank2(op.input.type, "the points")
    y = f32_shape(op.output.type, 3, "the result", f"a rank-3 f32 tensor (points x {what} x D)")
    lo, hi = op.dim_range()
    if d == DYNAMIC or not 0 <= lo < hi <= d:
        raise VerifyException(
            f"the coordinate range {lo} to {hi} is not within the {dim_str(d)} "
            "coordinates of the points"
        )
    if not (compatible(y[0], n) and y[1] == count and compatible(y[2], d)):
        raise VerifyException(
            f"{count} {what} at {dim_str(n)} points of {d} coordinates are "
            f"{shape_str([n, count, d])}, got {shape_str(y)}"
        )


@dataclass(frozen=True)
class _IndexOperand(BaseAttr[IndexType]):
    """An `index` operand (inferred in the custom syntax) whose error says which it is."""

    what: str = "the operand"

    def verify(self, attr: Attribute, constraint_context: VerificationContext) -> None:
        if not isinstance(attr, IndexType):
            raise VerifyException(f"{self.what} must be an index, got {attr}")


@irdl_op_definition
class SampleCoordinatesOp(IRDLOperation):
    """The input jet of stochastic Taylor-mode derivatives (STDE): at every point, S unit
    vectors of coordinates drawn uniformly, with replacement, from [lo, hi).

    %e = train.sample_coordinates %x, %seed, %step dims 0 to 100 samples 8 stream 1
           : tensor<?x101xf32> -> tensor<?x8x101xf32>
    %t = train.sample_coordinates %xt, %seed, %step at %first dims 0 to 100 samples 8 stream 1
           : tensor<?x101xf32> -> tensor<?x8x101xf32>

    `at %first` (optional, an `index`) says x holds rows first .. first + N − 1 of a larger
    batch (a tile of it); without it first = 0. Semantics, with N, D = x.shape (only the shape
    of x is read) and W = hi − lo:

        w = philox_words(seed, step, stream, N * S, start=first * S).reshape(N, S)  # uint32
        k = lo + (w * W) >> 32                                       # in [lo, hi)
        out[n, s, :] = e_k[n, s]                                     # x's dtype

    from the same streams as `stein.sample` (distinct sample sets of a step need distinct
    streams): word (first + n)·S + s is draw s of row n, so a point's draws depend on its row
    index in the batch only, not on N, and a tile's draws are the batch's rows bit for bit.
    """

    name = "train.sample_coordinates"
    input = operand_def(TensorType)
    seed = operand_def(I64)
    step = operand_def(I64)
    first = opt_operand_def(_IndexOperand(IndexType, "the first row (after 'at')"))
    output = result_def(TensorType)
    dim_lo = prop_def(IntegerAttr[I64])
    dim_hi = prop_def(IntegerAttr[I64])
    samples = prop_def(IntegerAttr[I64])
    stream = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    assembly_format = (
        "$input `,` $seed `,` $step (`at` $first^)? `dims` $dim_lo `to` $dim_hi "
        "`samples` $samples `stream` $stream attr-dict `:` type($input) `->` type($output)"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        seed: SSAValue | Operation,
        step: SSAValue | Operation,
        lo: int,
        hi: int,
        samples: int,
        stream: int,
        first: SSAValue | Operation | None = None,
    ):
        rows, width = SSAValue.get(input).type.get_shape()
        super().__init__(
            operands=[input, seed, step, [] if first is None else [first]],
            result_types=[f32_tensor(rows, samples, width)],
            properties={
                "dim_lo": IntegerAttr(lo, i64),
                "dim_hi": IntegerAttr(hi, i64),
                "samples": IntegerAttr(samples, i64),
                "stream": IntegerAttr(stream, i64),
            },
        )

    def dim_range(self) -> tuple[int, int]:
        return self.dim_lo.value.data, self.dim_hi.value.data

    def verify_(self) -> None:
        s = self.samples.value.data
        if s < 1:
            raise VerifyException(f"samples must be at least 1, got {s}")
        if not 0 <= self.stream.value.data <= 2**32 - 1:
            raise VerifyException(f"stream must be in [0, 2^32), got {self.stream.value.data}")
        _verify_coordinate_jet(self, s, "samples")


@irdl_op_definition
class MeanSquareOp(IRDLOperation):
    """A loss term's value: the mean over rows of the squared row norms, Σ_c r² averaged.

    %l = train.mean_square %r : tensor<?x1xf32> -> tensor<f32>
    """

    name = "train.mean_square"
    input = operand_def(TensorType)
    output = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue | Operation):
        super().__init__(operands=[input], result_types=[f32_tensor()])

    def verify_(self) -> None:
        _rank2(self.input.type, "the residual")
        if tensor_shape(self.output.type) != []:
            raise VerifyException("the result is a scalar tensor<f32>")


@irdl_op_definition
class MeanSquareGradOp(IRDLOperation):
    """The gradient of `train.mean_square` w.r.t. its residual: dr = 2 · r · dl / count.

    %dr = train.mean_square_grad %r, %dl : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
    %dt = train.mean_square_grad %rt, %dl over %count
            : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>

    count is the number of rows of the whole residual: `over %count` (an `index`) when r is
    a tile of its rows, else r's own rows. Semantics, in r's dtype (float32):
    `r * (2 * dl / count)`, so every row's result is the same in any tile.
    """

    name = "train.mean_square_grad"
    input = operand_def(TensorType)
    grad = operand_def(TensorType)
    count = opt_operand_def(_IndexOperand(IndexType, "the row count (after 'over')"))
    output = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$input `,` $grad (`over` $count^)? attr-dict `:` type($input) `,` type($grad) "
        "`->` type($output)"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        grad: SSAValue | Operation,
        count: SSAValue | Operation | None = None,
    ):
        super().__init__(
            operands=[input, grad, [] if count is None else [count]],
            result_types=[SSAValue.get(input).type],
        )


@irdl_op_definition
class WeightedSumOp(IRDLOperation):
    """The training loss: Σ wᵢ · lᵢ over the loss terms.

    %loss = train.weighted_sum %l0, %l1 weights [1.0, 300.0] : tensor<f32>, tensor<f32> -> tensor<f32>
    """

    name = "train.weighted_sum"
    inputs = var_operand_def(TensorType)
    weights = prop_def(ArrayAttr[FloatAttr])
    output = result_def(TensorType)
    traits = traits_def(Pure())

    def __init__(self, inputs: Sequence[SSAValue], weights: Sequence[float]):
        super().__init__(
            operands=[list(inputs)],
            result_types=[f32_tensor()],
            properties={"weights": float_array(weights)},
        )

    @classmethod
    def parse(cls, parser: Parser) -> WeightedSumOp:
        unresolved = parser.parse_comma_separated_list(
            parser.Delimiter.NONE, parser.parse_unresolved_operand
        )
        parser.parse_keyword("weights")
        weights = parse_real_list(parser, "loss weights")
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        pos = parser.pos
        types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
        parser.parse_punctuation("->")
        parser.parse_type()
        op = cls(parser.resolve_operands(unresolved, types, pos), weights)
        op.attributes |= attrs
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_list(self.inputs, printer.print_ssa_value)
        printer.print_string(" weights ")
        print_real_list(printer, floats_of(self.weights))
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_list(self.inputs.types, printer.print_attribute)
        printer.print_string(" -> ")
        printer.print_attribute(self.output.type)

    def verify_(self) -> None:
        if len(self.weights.data) != len(self.inputs):
            raise VerifyException(f"{len(self.inputs)} terms but {len(self.weights.data)} weights")
        for v in (*self.inputs, self.output):
            if tensor_shape(v.type) != []:
                raise VerifyException(f"sums scalars tensor<f32>, got {v.type}")


@irdl_op_definition
class ScaleOp(IRDLOperation):
    """Multiply by a constant: `train.scale %x by 3.000000e+02 : tensor<f32>`."""

    name = "train.scale"
    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    factor = prop_def(FloatAttr[Float64Type])
    output = result_def(T)
    traits = traits_def(Pure())
    assembly_format = "$input `by` $factor attr-dict `:` type($input)"

    def __init__(self, input: SSAValue | Operation, factor: float):
        super().__init__(
            operands=[input],
            result_types=[SSAValue.get(input).type],
            properties={"factor": FloatAttr(float(factor), f64)},
        )


@irdl_op_definition
class UpdateOp(IRDLOperation):
    """One optimizer update of one parameter in f32 (master weights and moments stay f32).

    %p1, %m1, %v1 = train.update adam %p, %g, %m, %v, %step {lr = 0.001, beta1 = 0.9,
        beta2 = 0.999, eps = 1.0e-08, schedule = "linear_decay", steps = 1000} : tensor<2x256xf32>

    The step (0-based, i64) sets the learning rate of the schedule — lr · (1 − step/steps) for
    linear decay — and Adam's bias corrections 1 − β^(step+1). `sgd` has no state: p − lr·g.
    The optimizers, their state slots and default hyperparameters are the table
    `pintac.core.training.OPTIMIZERS`.
    """

    name = "train.update"
    optimizer = prop_def(StringAttr)
    param = operand_def(TensorType)
    grad = operand_def(TensorType)
    state = var_operand_def(TensorType)
    step = operand_def(i64)
    config = prop_def(DictionaryAttr)
    new_param = result_def(TensorType)
    new_state = var_result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    def __init__(
        self,
        optimizer: str,
        param: SSAValue,
        grad: SSAValue,
        state: Sequence[SSAValue],
        step: SSAValue,
        config: dict[str, Attribute],
    ):
        t = SSAValue.get(param).type
        super().__init__(
            operands=[param, grad, list(state), step],
            result_types=[t, [t] * len(state)],
            properties={"optimizer": StringAttr(optimizer), "config": DictionaryAttr(config)},
        )

    @classmethod
    def parse(cls, parser: Parser) -> UpdateOp:
        opt = parser.parse_identifier(" (optimizer: " + ", ".join(OPTIMIZERS) + ")")
        unresolved = parser.parse_comma_separated_list(
            parser.Delimiter.NONE, parser.parse_unresolved_operand
        )
        config = parser.parse_optional_dictionary_attr_dict()
        parser.parse_punctuation(":")
        pos = parser.pos
        t = parser.parse_type()
        types = [t] * (len(unresolved) - 1) + [i64]
        operands = parser.resolve_operands(unresolved, types, pos)
        return cls(opt, operands[0], operands[1], operands[2:-1], operands[-1], config)

    def print(self, printer: Printer) -> None:
        printer.print_string(f" {self.optimizer.data} ")
        printer.print_list(self.operands, printer.print_ssa_value)
        printer.print_string(" " + format_config(self.config))
        printer.print_string(" : ")
        printer.print_attribute(self.param.type)

    def verify_(self) -> None:
        opt = OPTIMIZERS.get(self.optimizer.data)
        if opt is None:
            raise VerifyException(
                f"unknown optimizer '{self.optimizer.data}'; expected one of: "
                + ", ".join(OPTIMIZERS)
            )
        if len(self.state) != len(opt.slots):
            raise VerifyException(
                f"'{opt.name}' keeps {len(opt.slots)} state tensor(s), got {len(self.state)}"
            )
        t = self.param.type
        for v in (self.grad, *self.state, self.new_param, *self.new_state):
            if v.type != t:
                raise VerifyException(
                    f"parameter, gradient and state share one type ({t}), got {v.type}"
                )
        cfg = self.config.data
        for key in opt.hyperparameters:
            if key not in cfg:
                raise VerifyException(f"'{opt.name}' needs '{key}'")
        schedule = cfg.get("schedule")
        if schedule is not None and schedule.data not in SCHEDULES:
            raise VerifyException(f"unknown schedule '{schedule.data}'")
        if schedule is not None and schedule.data == "linear_decay" and "steps" not in cfg:
            raise VerifyException("a linear_decay schedule needs 'steps'")

    def hyperparameters(self) -> dict[str, float | int | str]:
        return {k: python_value(v) for k, v in self.config.data.items()}


def format_config(attr: Attribute) -> str:
    """Print a configuration without the default types: `lr = 0.001`, not `1.0e-03 : f64`."""
    if isinstance(attr, DictionaryAttr):
        items = ", ".join(f"{k} = {format_config(v)}" for k, v in attr.data.items())
        return "{" + items + "}"
    if isinstance(attr, FloatAttr) and isinstance(attr.type, Float64Type):
        return format_float(attr.value.data)
    if isinstance(attr, IntegerAttr) and attr.type == i64:
        return str(attr.value.data)
    return str(attr)


def python_value(attr: Attribute):
    """A configuration attribute as a Python value (ints, floats, strings, dicts)."""
    if isinstance(attr, IntegerAttr):
        return attr.value.data
    if isinstance(attr, FloatAttr):
        return attr.value.data
    if isinstance(attr, StringAttr):
        return attr.data
    if isinstance(attr, DictionaryAttr):
        return {k: python_value(v) for k, v in attr.data.items()}
    raise TypeError(f"unsupported attribute {attr}")


TRAIN = Dialect(
    "train",
    [
        GemmOp,
        BiasAddOp,
        ColumnSumOp,
        ActivationGradOp,
        FlattenOp,
        UnflattenOp,
        ExpandColumnsOp,
        PermuteOp,
        UnitDirectionsOp,
        SampleCoordinatesOp,
        MeanSquareOp,
        MeanSquareGradOp,
        WeightedSumOp,
        ScaleOp,
        UpdateOp,
    ],
    [GemmRoleAttr, ActivationAttr],
)
