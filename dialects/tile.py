"""The `tile` dialect: a training step as a loop over tiles of points.

A collocation point's residual depends only on its own evaluations, and the loss is a mean
over points, so a step's forward, residual and backward decompose over tiles of points; only
the parameter gradients (GEMMs reducing over the points, bias column sums) and the residuals
the loss reads cross tiles. `tile-points` rewrites a step into

    %n = tile.rows %x_pde : tensor<?x2xf32>
    %acc0 = tile.zero : !tile.exact<2x16>
    %col0 = tile.zero : tensor<16xf32>
    %dW0_acc, %db0, %r = tile.loop (%first, %x) over %x_pde : tensor<?x2xf32> by 64
        carry (%acc = %acc0, %col = %col0) : (!tile.exact<2x16>, tensor<16xf32>)
        gather (tensor<?x1xf32>) {
      ...                                              // the tile's forward and backward
      %acc1 = tile.accumulate_gemm %acc, %xq, %dzq role wgrad transpose_a : ...
      %col1 = tile.accumulate_rows %col, %dz : tensor<16xf32>, tensor<?x16xf32>
      tile.yield %acc1, %col1, %r_t : !tile.exact<2x16>, tensor<16xf32>, tensor<?x1xf32>
    }
    %dW0 = tile.round %dW0_acc : !tile.exact<2x16> -> tensor<2x16xf32>

Under the arithmetic contract the tiled step equals the untiled one bit for bit: a GEMM's
products are summed exactly across tiles and rounded once (`!tile.exact`), a column sum runs
on from where the last tile left it, and gathered residuals are the untiled ones, row for row.
The reference page is docs/dialects/tile.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    IndexType,
    IntAttr,
    IntegerAttr,
    TensorType,
    UnitAttr,
    f32,
    i64,
)
from xdsl.ir import (
    Attribute,
    Block,
    Dialect,
    Operation,
    ParametrizedAttribute,
    Region,
    SSAValue,
    TypeAttribute,
)
from xdsl.irdl import (
    IRDLOperation,
    VarConstraint,
    base,
    irdl_attr_definition,
    irdl_op_definition,
    lazy_traits_def,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsTerminator, Pure
from xdsl.utils.exceptions import VerifyException

from pintac.dialects.smx import QuantizedTensorType
from pintac.dialects.support import DYNAMIC, compatible, shape_str, tensor_shape
from pintac.dialects.train import GemmOp, GemmRole, GemmRoleAttr, arg_roles

# ---------------------------------------------------------------------------------------------
# The exact accumulator
# ---------------------------------------------------------------------------------------------


@irdl_attr_definition
class ExactType(ParametrizedAttribute, TypeAttribute):
    """`!tile.exact<256x256>`: the exact, unrounded sum of GEMM products for an m x n result
    (a wide accumulator, as PINTA's ACC holds it); `tile.round` rounds it once to f32."""

    name = "tile.exact"
    dims: ArrayAttr[IntAttr]

    def __init__(self, shape: Sequence[int]):
        super().__init__(ArrayAttr([IntAttr(d) for d in shape]))

    def get_shape(self) -> tuple[int, ...]:
        return tuple(d.data for d in self.dims.data)

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            start = parser.pos
            shape = parser.parse_dimension_list()
            if len(shape) != 2 or DYNAMIC in shape:
                parser.raise_error(
                    "an exact accumulator has a static 2-D shape, e.g. !tile.exact<256x256>",
                    start,
                    parser.pos,
                )
        return (ArrayAttr([IntAttr(d) for d in shape]),)

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_dimension_list(self.get_shape())


def _accumulator_shape(t: Attribute) -> tuple[int, ...] | None:
    """The shape of an exact accumulator or of a running column sum's f32 tensor."""
    if isinstance(t, ExactType):
        return t.get_shape()
    return tensor_shape(t)


# ---------------------------------------------------------------------------------------------
# Ops outside the loop
# ---------------------------------------------------------------------------------------------


@irdl_op_definition
class RowsOp(IRDLOperation):
    """The number of rows (points) of a batch, for ops inside a loop that need the whole
    batch's count (`train.mean_square_grad ... over %n`).

    %n = tile.rows %x_pde : tensor<?x2xf32>
    """

    name = "tile.rows"
    input = operand_def(TensorType)
    result = result_def(IndexType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input)"

    def __init__(self, input: SSAValue | Operation):
        super().__init__(operands=[input], result_types=[IndexType()])


@irdl_op_definition
class ZeroOp(IRDLOperation):
    """The start of an accumulation: an exact zero (`!tile.exact`), or, for a running sum (an
    f32 tensor), −0.0 in every element, the identity of float addition, so that the sum of
    the first tile's rows is theirs alone, as an untiled sum's is. A running sum per point
    (`tile.accumulate_streams`) takes its shape `like` a value of the point tile.

    %acc0 = tile.zero : !tile.exact<16x16>
    %col0 = tile.zero : tensor<16xf32>
    %sum0 = tile.zero like %z1 : tensor<?x16xf32>
    """

    name = "tile.zero"
    like = opt_operand_def(TensorType)
    result = result_def(ExactType | TensorType)
    traits = traits_def(Pure())

    def __init__(self, result_type: Attribute, like: SSAValue | None = None):
        super().__init__(operands=[[] if like is None else [like]], result_types=[result_type])

    def print(self, printer: Printer) -> None:
        if self.like is not None:
            printer.print_string(" like ")
            printer.print_ssa_value(self.like)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> ZeroOp:
        like = parser.parse_unresolved_operand() if parser.parse_optional_keyword("like") else None
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        result_type = parser.parse_type()
        op = cls(result_type, None if like is None else parser.resolve_operand(like, result_type))
        op.attributes |= attributes
        return op

    def verify_(self) -> None:
        if self.like is not None:
            if self.like.type != self.result.type:
                raise VerifyException(
                    f"a zero like {self.like.type} has that type, not {self.result.type}"
                )
            return
        shape = _accumulator_shape(self.result.type)
        if shape is None or DYNAMIC in shape:
            raise VerifyException(f"an accumulator has a static shape, not {self.result.type}")


@irdl_op_definition
class RoundOp(IRDLOperation):
    """An exact accumulator's value rounded once to f32 (nearest even, as `train.gemm`).

    %dw = tile.round %acc : !tile.exact<16x16> -> tensor<16x16xf32>
    """

    name = "tile.round"
    input = operand_def(ExactType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation):
        shape = SSAValue.get(input).type.get_shape()
        super().__init__(operands=[input], result_types=[TensorType(f32, shape)])

    def verify_(self) -> None:
        if tensor_shape(self.result.type) != list(self.input.type.get_shape()):
            raise VerifyException(
                f"rounds {self.input.type} to tensor<{shape_str(self.input.type.get_shape())}"
                f"xf32>, not {self.result.type}"
            )


# ---------------------------------------------------------------------------------------------
# Accumulations inside the loop
# ---------------------------------------------------------------------------------------------


# the accumulator an accumulation reads and the one it gives have one type
_EXACT_ACC = VarConstraint("ACC", base(ExactType))
_ROWS_ACC = VarConstraint("ACC", base(TensorType))


@irdl_op_definition
class AccumulateGemmOp(IRDLOperation):
    """acc + op(A) · op(B), exactly: one tile's share of a GEMM that reduces over the points
    (a weight gradient), added to the sum of the tiles before it without rounding.

    %acc1 = tile.accumulate_gemm %acc, %x, %dz role wgrad transpose_a
              : !tile.exact<2x16>, tensor<?x2xf32>, tensor<?x16xf32>
    """

    name = "tile.accumulate_gemm"
    acc = operand_def(_EXACT_ACC)
    lhs = operand_def(TensorType | QuantizedTensorType)
    rhs = operand_def(TensorType | QuantizedTensorType)
    result = result_def(_EXACT_ACC)
    role = prop_def(GemmRoleAttr)
    transpose_a = opt_prop_def(UnitAttr)
    transpose_b = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    assembly_format = (
        "$acc `,` $lhs `,` $rhs `role` $role (`transpose_a` $transpose_a^)?"
        " (`transpose_b` $transpose_b^)? attr-dict `:` type($acc) `,` type($lhs) `,` type($rhs)"
    )

    def __init__(self, acc: SSAValue, gemm: GemmOp):
        """Accumulate the products of `gemm` (its operands, role and transposes) into `acc`."""
        super().__init__(
            operands=[acc, gemm.lhs, gemm.rhs],
            result_types=[acc.type],
            properties={
                "role": GemmRoleAttr(GemmRole(gemm.gemm_role)),
                "transpose_a": UnitAttr() if gemm.is_transposed_a else None,
                "transpose_b": UnitAttr() if gemm.is_transposed_b else None,
            },
        )

    @property
    def is_transposed_a(self) -> bool:
        return self.transpose_a is not None

    @property
    def is_transposed_b(self) -> bool:
        return self.transpose_b is not None

    @property
    def is_quantized(self) -> bool:
        return isinstance(self.lhs.type, QuantizedTensorType)

    def verify_(self) -> None:
        m = GemmOp.logical_shape(self.lhs.type, self.is_transposed_a, "the left operand")
        n = GemmOp.logical_shape(self.rhs.type, self.is_transposed_b, "the right operand")
        if not compatible(m[1], n[0]):
            raise VerifyException(f"inner dimensions differ: {shape_str(m)} · {shape_str(n)}")
        product = (m[0], n[1])
        if not all(
            compatible(a, b) for a, b in zip(product, self.acc.type.get_shape(), strict=True)
        ):
            raise VerifyException(
                f"the product is {shape_str(product)}, the accumulator {self.acc.type}"
            )
        if self.result.type != self.acc.type:
            raise VerifyException("the result is the accumulator's type")
        if isinstance(self.lhs.type, QuantizedTensorType) != isinstance(
            self.rhs.type, QuantizedTensorType
        ):
            raise VerifyException(
                "the operands are both f32 tensors or both quantized smx.tensors, not a mix"
            )


@irdl_op_definition
class AccumulateRowsOp(IRDLOperation):
    """A running column sum: acc + row 0 + row 1 + ..., in order, in f32 (the order an
    untiled `train.column_sum` adds the rows in, so tiles change no bit).

    %col1 = tile.accumulate_rows %col, %dz : tensor<16xf32>, tensor<?x16xf32>
    """

    name = "tile.accumulate_rows"
    acc = operand_def(_ROWS_ACC)
    input = operand_def(TensorType)
    result = result_def(_ROWS_ACC)
    traits = traits_def(Pure())
    assembly_format = "$acc `,` $input attr-dict `:` type($acc) `,` type($input)"

    def __init__(self, acc: SSAValue, input: SSAValue):
        super().__init__(operands=[acc, input], result_types=[acc.type])

    def verify_(self) -> None:
        acc, x = tensor_shape(self.acc.type), tensor_shape(self.input.type)
        if x is None or len(x) != 2 or acc is None or len(acc) != 1 or not compatible(acc[0], x[1]):
            raise VerifyException(
                f"sums the rows of a matrix into one value per column: {self.input.type} "
                f"into {self.acc.type}"
            )
        if self.result.type != self.acc.type:
            raise VerifyException("the result is the accumulator's type")


@irdl_op_definition
class AccumulateStreamsOp(IRDLOperation):
    """A running sum over each point's streams: acc + stream 0 + stream 1 + ..., in order, in
    f32, per point and column (the order an untiled sum over a point's streams adds them in,
    so tiles of streams change no bit).

    %s1 = tile.accumulate_streams %s, %dzd : tensor<?x16xf32>, tensor<?x4x16xf32>
    """

    name = "tile.accumulate_streams"
    acc = operand_def(_ROWS_ACC)
    input = operand_def(TensorType)
    result = result_def(_ROWS_ACC)
    traits = traits_def(Pure())
    assembly_format = "$acc `,` $input attr-dict `:` type($acc) `,` type($input)"

    def __init__(self, acc: SSAValue, input: SSAValue):
        super().__init__(operands=[acc, input], result_types=[acc.type])

    def verify_(self) -> None:
        acc, x = tensor_shape(self.acc.type), tensor_shape(self.input.type)
        if (
            x is None
            or len(x) != 3
            or acc is None
            or len(acc) != 2
            or not compatible(acc[0], x[0])
            or not compatible(acc[1], x[2])
        ):
            raise VerifyException(
                f"sums each point's streams into one row per point: {self.input.type} "
                f"into {self.acc.type}"
            )
        if self.result.type != self.acc.type:
            raise VerifyException("the result is the accumulator's type")


@irdl_op_definition
class SliceOp(IRDLOperation):
    """Streams `first` .. `first` + S − 1 of each point of a per-point value (its axis 1), S
    the result's: a value computed once per point, read by a loop over tiles of its streams.

    %dg_t = tile.slice %dg at %s : tensor<?x16x1xf32> -> tensor<?x4x1xf32>
    """

    name = "tile.slice"
    input = operand_def(TensorType)
    first = operand_def(IndexType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input `at` $first attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue, first: SSAValue, result_type: Attribute):
        super().__init__(operands=[input, first], result_types=[result_type])

    def verify_(self) -> None:
        x, out = tensor_shape(self.input.type), tensor_shape(self.result.type)
        if (
            x is None
            or out is None
            or len(x) < 2
            or len(out) != len(x)
            or out[:1] + out[2:] != x[:1] + x[2:]
            or DYNAMIC in (x[1], out[1])
            or out[1] > x[1]
        ):
            raise VerifyException(
                f"slices a static axis 1 and keeps the others: {self.input.type} -> "
                f"{self.result.type}"
            )


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------


@irdl_op_definition
class YieldOp(IRDLOperation):
    """The end of a loop body: the carried values' new values, then the gathered tiles."""

    name = "tile.yield"
    values = var_operand_def()
    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(LoopOp)))
    assembly_format = "attr-dict ($values^ `:` type($values))?"

    def __init__(self, values: Sequence[SSAValue]):
        super().__init__(operands=[values])


_ACCUMULATING = (AccumulateGemmOp, AccumulateRowsOp, AccumulateStreamsOp)


@irdl_op_definition
class LoopOp(IRDLOperation):
    """Run the body once per tile of `points` rows of a batch, in order.

    %results = tile.loop (%first, %x) over %x_pde : tensor<?x2xf32> by 64
                 carry (%acc = %acc0, ...) : (types) gather (types) { ... tile.yield ... }

    The body's arguments are the tile's first row in the batch (`index`), the tile's rows
    (the last tile holds the remainder when `by` does not divide the batch) and the carried
    accumulators. It ends in `tile.yield` of the accumulators' new values followed by the
    gathered values, whose tiles' rows the loop concatenates. Results: the accumulators after
    the last tile, then the gathered values. Each carried accumulator is read by exactly one
    op of the body, a `tile.accumulate_gemm` or `tile.accumulate_rows`, whose result is the
    one yielded for it (or a loop nested in the body carries it on): it is a sum over tiles
    and nothing else. Values defined before the loop (weights, their quantized copies) are
    read in the body as they are.

    With `axis 1` the loop runs over tiles of each point's streams instead (a per-point value
    of shape ?xMx...; `by` divides M): the body's arguments are the tile's first stream and
    that tile of every point's streams, and gathered tiles are joined along axis 1.

    %gd = tile.loop (%s, %d_t) over %d : tensor<?x16x2xf32> axis 1 by 4 gather
            (tensor<?x16x1xf32>) { ... tile.yield %gd_t : tensor<?x4x1xf32> }
    """

    name = "tile.loop"
    points = operand_def(TensorType)
    inits = var_operand_def()
    outputs = var_result_def()
    tile = prop_def(IntegerAttr[I64])
    axis = opt_prop_def(IntegerAttr[I64])  # absent: 0, tiles of points
    body = region_def("single_block")

    def __init__(
        self,
        points: SSAValue,
        tile: int,
        inits: Sequence[SSAValue],
        gathered_types: Sequence[Attribute],
        body: Region,
        axis: int = 0,
    ):
        super().__init__(
            operands=[points, inits],
            result_types=[[*(v.type for v in inits), *gathered_types]],
            properties={
                "tile": IntegerAttr(tile, i64),
                "axis": IntegerAttr(axis, i64) if axis else None,
            },
            regions=[body],
        )

    @staticmethod
    def new_body(
        points: SSAValue, inits: Sequence[SSAValue], tile: int = 1, axis: int = 0
    ) -> Region:
        """An empty body whose arguments match a loop over `points` carrying `inits`."""
        tile_type = tile_of(points.type, axis, tile)
        return Region(Block(arg_types=[IndexType(), tile_type, *(v.type for v in inits)]))

    @property
    def axis_index(self) -> int:
        return 0 if self.axis is None else self.axis.value.data

    @property
    def tile_points(self) -> int:
        return self.tile.value.data

    @property
    def first(self) -> SSAValue:
        return self.body.block.args[0]

    @property
    def tile_rows(self) -> SSAValue:
        return self.body.block.args[1]

    @property
    def carried(self) -> tuple[SSAValue, ...]:
        return self.body.block.args[2:]

    @property
    def carried_results(self) -> tuple[SSAValue, ...]:
        return tuple(self.outputs[: len(self.inits)])

    @property
    def gathered_results(self) -> tuple[SSAValue, ...]:
        return tuple(self.outputs[len(self.inits) :])

    @property
    def yield_op(self) -> YieldOp:
        last = self.body.block.last_op
        assert isinstance(last, YieldOp)
        return last

    def verify_(self) -> None:
        if self.tile_points < 1:
            raise VerifyException(f"a tile holds at least one point, not {self.tile_points}")
        axis = self.axis_index
        shape = tensor_shape(self.points.type)
        if shape is None or shape[:1] != [DYNAMIC]:
            raise VerifyException(f"loops over a batch tensor<?x...>, not {self.points.type}")
        if axis not in (0, 1):
            raise VerifyException(f"loops over points (axis 0) or streams (axis 1), not {axis}")
        if axis == 1 and (len(shape) < 3 or shape[1] == DYNAMIC or shape[1] % self.tile_points):
            raise VerifyException(
                f"loops over tiles of {self.tile_points} streams of a per-point value "
                f"tensor<?xMx...> with M static and a multiple of {self.tile_points}, not "
                f"{self.points.type}"
            )
        args = self.body.block.args
        expected = [
            IndexType(),
            tile_of(self.points.type, axis, self.tile_points),
            *(v.type for v in self.inits),
        ]
        if [a.type for a in args] != expected:
            raise VerifyException(
                "the body's arguments are (index, the tile's type, the carried types): "
                + ", ".join(str(t) for t in expected)
            )
        last = self.body.block.last_op
        if not isinstance(last, YieldOp):
            raise VerifyException("the body ends in tile.yield")
        yielded = [v.type for v in last.values]
        carried = [r.type for r in self.carried_results]
        gathered = [r.type for r in self.gathered_results]
        if axis == 1:
            for t in gathered:
                dims = tensor_shape(t)
                if dims is None or len(dims) < 3 or dims[1] != shape[1]:
                    raise VerifyException(
                        f"a value gathered over streams has the loop's {shape[1]} streams, not {t}"
                    )
            gathered = [tile_of(t, 1, self.tile_points) for t in gathered]
        if yielded != carried + gathered:
            raise VerifyException(
                "tile.yield gives the carried values' types, then the gathered tiles': "
                + ", ".join(str(t) for t in carried + gathered)
            )
        for i, (arg, value) in enumerate(zip(self.carried, last.values, strict=False)):
            self._verify_accumulator(i, arg, value)
        for r in self.gathered_results:
            if tensor_shape(r.type) is None or tensor_shape(r.type)[:1] != [DYNAMIC]:
                raise VerifyException(f"a gathered value is a batch tensor<?x...>, not {r.type}")

    def _verify_accumulator(self, i: int, arg: SSAValue, value: SSAValue) -> None:
        uses = list(arg.uses)
        op = value.owner
        use = uses[0] if len(uses) == 1 else None
        if use is not None and isinstance(use.operation, LoopOp):
            # a nested loop carries it on: its init in, its carried result out
            inner = use.operation
            index = use.index - 1
            reads = 0 <= index < len(inner.inits) and inner.carried_results[index] is value
            op = inner.body.block.last_op.values[index].owner if reads else None
        else:
            reads = (
                use is not None
                and isinstance(use.operation, _ACCUMULATING)
                and use.index == 0
                and use.operation is op
            )
        if not reads:
            raise VerifyException(
                f"carried value {i} is an accumulator: one tile.accumulate_gemm, "
                "tile.accumulate_rows or tile.accumulate_streams (or a nested tile.loop "
                "carrying it) reads it and its result is yielded in its place"
            )
        if isinstance(op, AccumulateGemmOp) != isinstance(arg.type, ExactType):
            raise VerifyException(
                f"carried value {i}: GEMMs accumulate exactly (!tile.exact), column sums in "
                f"f32 tensors, not {arg.type}"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" (")
        printer.print_ssa_value(self.first)
        printer.print_string(", ")
        printer.print_ssa_value(self.tile_rows)
        printer.print_string(") over ")
        printer.print_ssa_value(self.points)
        printer.print_string(" : ")
        printer.print_attribute(self.points.type)
        if self.axis_index:
            printer.print_string(f" axis {self.axis_index}")
        printer.print_string(f" by {self.tile_points}")
        if self.inits:
            printer.print_string(" carry (")
            printer.print_list(
                zip(self.carried, self.inits, strict=True),
                lambda pair: (
                    printer.print_ssa_value(pair[0]),
                    printer.print_string(" = "),
                    printer.print_ssa_value(pair[1]),
                ),
            )
            printer.print_string(") : (")
            printer.print_list(self.inits.types, printer.print_attribute)
            printer.print_string(")")
        gathered = self.gathered_results
        if gathered:
            printer.print_string(" gather (")
            printer.print_list([r.type for r in gathered], printer.print_attribute)
            printer.print_string(")")
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)
        printer.print_op_attributes(self.attributes)

    @classmethod
    def parse(cls, parser: Parser) -> LoopOp:
        parser.parse_punctuation("(")
        first = parser.parse_argument(expect_type=False)
        parser.parse_punctuation(",")
        rows = parser.parse_argument(expect_type=False)
        parser.parse_punctuation(")")
        parser.parse_keyword("over")
        points_operand = parser.parse_unresolved_operand()
        parser.parse_punctuation(":")
        points_type = parser.parse_type()
        points = parser.resolve_operand(points_operand, points_type)
        axis = 0
        if parser.parse_optional_keyword("axis"):
            axis = parser.parse_integer(allow_boolean=False, allow_negative=False)
        parser.parse_keyword("by")
        tile = parser.parse_integer(allow_boolean=False, allow_negative=False)
        carried, init_operands, init_types = [], [], []
        if parser.parse_optional_keyword("carry"):

            def assignment():
                arg = parser.parse_argument(expect_type=False)
                parser.parse_punctuation("=")
                return arg, parser.parse_unresolved_operand()

            pairs = parser.parse_comma_separated_list(parser.Delimiter.PAREN, assignment)
            parser.parse_punctuation(":")
            pos = parser.pos
            init_types = parser.parse_comma_separated_list(
                parser.Delimiter.PAREN, parser.parse_type
            )
            if len(init_types) != len(pairs):
                parser.raise_error(
                    f"{len(pairs)} carried values but {len(init_types)} types", pos, parser.pos
                )
            carried = [arg for arg, _ in pairs]
            init_operands = [operand for _, operand in pairs]
        inits = parser.resolve_operands(init_operands, init_types, parser.pos)
        gathered_types = []
        if parser.parse_optional_keyword("gather"):
            gathered_types = parser.parse_comma_separated_list(
                parser.Delimiter.PAREN, parser.parse_type
            )
        arguments = [
            first.resolve(IndexType()),
            rows.resolve(tile_of(points_type, axis, tile)),
            *(arg.resolve(t) for arg, t in zip(carried, init_types, strict=True)),
        ]
        body = parser.parse_region(arguments)
        op = cls(points, tile, inits, gathered_types, body, axis)
        op.attributes |= parser.parse_optional_attr_dict()
        return op


def tile_of(t: Attribute, axis: int, size: int) -> Attribute:
    """The type of a tile of `size` along `axis` of a batch tensor `t` (axis 0 is dynamic
    already)."""
    if axis == 0 or not isinstance(t, TensorType):
        return t
    shape = list(t.get_shape())
    shape[axis] = size
    return TensorType(t.element_type, shape)


def _point_loops(f: Operation):
    """(loss term, loop) of each loop over a loss term's points in a step (a func.func)."""
    roles = arg_roles(f)
    args = list(f.body.block.args)
    for op in f.walk():
        if isinstance(op, LoopOp) and op.points in args and not op.axis_index:
            yield roles[args.index(op.points)].partition(":")[2], op


def tiles_by_term(f: Operation) -> dict[str, int]:
    """The points per tile of each loss term's loop in a step (a func.func), by term name."""
    return {term: op.tile_points for term, op in _point_loops(f)}


def stream_tiles_by_term(f: Operation) -> dict[str, int]:
    """The streams per tile of the loops over streams inside each loss term's loop over
    points in a step (a func.func), by term name."""
    return {
        term: inner.tile_points
        for term, op in _point_loops(f)
        for inner in op.body.walk()
        if isinstance(inner, LoopOp) and inner.axis_index
    }


TILE = Dialect(
    "tile",
    [
        RowsOp,
        ZeroOp,
        RoundOp,
        AccumulateGemmOp,
        AccumulateRowsOp,
        AccumulateStreamsOp,
        SliceOp,
        YieldOp,
        LoopOp,
    ],
    [ExactType],
)
