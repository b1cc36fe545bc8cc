"""The `smx` dialect: block-scaled quantized tensors.

A quantized tensor holds integer (or small-float) codes and one power-of-two exponent per
block. Square-block MX (SMX) uses b x b tiles of symmetric saturating `intN` codes; because a
tile is square, quantizing a matrix and transposing it commute bit for bit, so one stored copy
serves the forward GEMM and both backward GEMMs. The OCP MX 1-D formats (32 elements along one
axis) are here for comparison: they need a second copy for the transposed use.

    #smx.format<int8, block 4x4>                      element kind + block shape
    !smx.tensor<?x256, int8, block 4x4>               shape + format
    %q = smx.quantize %x rounding stochastic stream 3 : tensor<?x256xf32> -> !smx.tensor<...>
    %x2 = smx.dequantize %q : !smx.tensor<...> -> tensor<?x256xf32>

Quantized tensors are consumed by the one GEMM op of the training step, `train.gemm`.

The numerics (how codes and exponents are computed) live in `pintac.runtime`; this module
holds the IR and the format facts that passes and the runtime share. See docs/dialects/smx.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    I64,
    ArrayAttr,
    IndexType,
    IntAttr,
    IntegerAttr,
    ShapedType,
    StringAttr,
    TensorType,
    f32,
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
    TypeAttribute,
)
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from pintac.dialects.support import f32_shape, shape_str

# ---------------------------------------------------------------------------------------------
# Format facts
# ---------------------------------------------------------------------------------------------

#: Bit widths of the SMX `intN` element kinds (symmetric two's complement, so N >= 2).
INT_BITS_MIN, INT_BITS_MAX = 2, 16
#: SMX tile edges: powers of two, so tiles divide the accelerator's PE tiles and padded dims.
SMX_BLOCK_SIZES = (1, 2, 4, 8, 16, 32, 64)
#: OCP MX v1.0 block length (elements sharing one E8M0 scale).
MX_BLOCK_SIZE = 32
#: Shared exponents (SMX and E8M0 alike) are clamped to this range; an all-zero block uses MIN.
SCALE_EXPONENT_MIN, SCALE_EXPONENT_MAX = -127, 127
#: Bits of one shared exponent (E8M0 for MX; SMX stores the same range).
SCALE_BITS = 8


class MXElement(NamedTuple):
    """An OCP MX v1.0 element format."""

    bits: int
    #: Exponent of the element's largest normal value (OCP "emax_elem").
    emax: int
    #: Largest finite element magnitude, before scaling.
    max_value: float


#: The OCP MX 1-D element formats (all with an E8M0 scale and 32-element blocks).
MX_ELEMENTS: dict[str, MXElement] = {
    "mxint8": MXElement(8, 0, 127 / 64),  # two's complement with an implicit 2^-6
    "fp8_e4m3": MXElement(8, 8, 448.0),
    "fp8_e5m2": MXElement(8, 15, 57344.0),
    "fp6_e2m3": MXElement(6, 2, 7.5),
    "fp6_e3m2": MXElement(6, 4, 28.0),
    "fp4_e2m1": MXElement(4, 2, 6.0),
}

# Canonical spelling only ("int08" is not "int8"), so printing round-trips the text.
_INT_KIND = re.compile(r"int(0|[1-9][0-9]*)")

VALID_ELEMENT_KINDS = (
    f"int{INT_BITS_MIN}..int{INT_BITS_MAX} (SMX), " + ", ".join(MX_ELEMENTS) + " (OCP MX)"
)


def _int_kind_bits(element: str) -> int | None:
    match = _INT_KIND.fullmatch(element)
    return int(match.group(1)) if match else None


def _parse_signed_dimension(parser: AttrParser) -> int:
    """A block extent: an integer, negative allowed so the verifier can name the mistake."""
    negative = parser.parse_optional_punctuation("-") is not None
    size = parser.parse_shape_dimension(allow_dynamic=False)
    return -size if negative else size


# ---------------------------------------------------------------------------------------------
# #smx.format
# ---------------------------------------------------------------------------------------------


@irdl_attr_definition
class FormatAttr(ParametrizedAttribute):
    """`#smx.format<int8, block 4x4>`: an element kind and the block sharing one exponent.

    Element kinds: `intN` (2 <= N <= 16) with a square power-of-two block (SMX) or a 1-D
    `1x32` / `32x1` block (1-D MX with N-bit integer elements: MXINT8 is `int8, block 1x32`
    up to the clamping of the exponent), or an OCP MX element (`mxint8`, `fp8_e4m3`,
    `fp8_e5m2`, `fp6_e2m3`, `fp6_e3m2`, `fp4_e2m1`) with a `1x32` or `32x1` block. A block
    `RxC` covers R consecutive rows and C consecutive columns of the last two dimensions of a
    tensor.
    """

    name = "smx.format"

    element: StringAttr
    block_rows: IntAttr
    block_cols: IntAttr

    def __init__(self, element: str | StringAttr, block: int | tuple[int, int]):
        rows, cols = (block, block) if isinstance(block, int) else block
        if isinstance(element, str):
            element = StringAttr(element)
        super().__init__(element, IntAttr(rows), IntAttr(cols))

    @classmethod
    def smx(cls, bits: int = 8, block: int = 4) -> FormatAttr:
        """`#smx.format<int{bits}, block {block}x{block}>`."""
        return cls(f"int{bits}", block)

    @classmethod
    def mx(cls, element: str, axis: int = 1) -> FormatAttr:
        """An OCP MX format whose 32-element blocks run along `axis` (1: `1x32`, 0: `32x1`)."""
        if axis not in (0, 1):
            raise VerifyException(f"MX block axis must be 0 or 1, got {axis}")
        return cls(element, (1, MX_BLOCK_SIZE) if axis == 1 else (MX_BLOCK_SIZE, 1))

    # -- helpers used by passes and the runtime --------------------------------------------

    @property
    def element_kind(self) -> str:
        return self.element.data

    @property
    def is_int(self) -> bool:
        """`intN` elements: symmetric integer codes with the SMX exponent rule."""
        return _int_kind_bits(self.element_kind) is not None

    @property
    def is_smx(self) -> bool:
        """An `intN` square-block format."""
        return self.is_int and self.is_square

    @property
    def is_mx(self) -> bool:
        """A 1-D block format: an OCP MX element, or `intN` along 32 elements."""
        return not self.is_square

    @property
    def is_integer(self) -> bool:
        """Integer codes (`intN` or `mxint8`), as opposed to small floats."""
        return self.is_int or self.element_kind == "mxint8"

    @property
    def bits(self) -> int:
        """Bits per element code."""
        int_bits = _int_kind_bits(self.element_kind)
        return int_bits if int_bits is not None else MX_ELEMENTS[self.element_kind].bits

    @property
    def block_shape(self) -> tuple[int, int]:
        """(rows, columns) of one block."""
        return self.block_rows.data, self.block_cols.data

    @property
    def is_square(self) -> bool:
        rows, cols = self.block_shape
        return rows == cols

    @property
    def block_elements(self) -> int:
        rows, cols = self.block_shape
        return rows * cols

    def block_extent(self, axis: int) -> int:
        """How many consecutive elements a block covers along matrix axis 0 (rows) or 1."""
        return self.block_shape[axis]

    @property
    def max_code(self) -> int:
        """Largest integer code, 2^(bits-1) - 1; codes are symmetric: -max_code..max_code."""
        if not self.is_integer:
            raise ValueError(f"{self.element_kind} has float codes; use max_value")
        return 2 ** (self.bits - 1) - 1

    @property
    def emax(self) -> int:
        """Exponent of the largest element: a block's shared exponent is
        floor(log2(amax)) - emax (for `intN`, bits - 2)."""
        if self.is_int:
            return self.bits - 2
        return MX_ELEMENTS[self.element_kind].emax

    @property
    def max_value(self) -> float:
        """Largest element magnitude before scaling (max_code for `intN`)."""
        if self.is_int:
            return float(self.max_code)
        return MX_ELEMENTS[self.element_kind].max_value

    @property
    def bits_per_element(self) -> float:
        """Storage per element, the shared exponent amortized over its block."""
        return self.bits + SCALE_BITS / self.block_elements

    # -- verification ----------------------------------------------------------------------

    def verify(self) -> None:
        element = self.element_kind
        rows, cols = self.block_shape
        int_bits = _int_kind_bits(element)
        if int_bits is None and element not in MX_ELEMENTS:
            raise VerifyException(
                f"unknown element kind '{element}'; valid kinds: {VALID_ELEMENT_KINDS}"
            )
        if int_bits is not None and not INT_BITS_MIN <= int_bits <= INT_BITS_MAX:
            raise VerifyException(
                f"element kind {element}: bit width {int_bits} out of range "
                f"(intN needs {INT_BITS_MIN} <= N <= {INT_BITS_MAX})"
            )
        if rows <= 0 or cols <= 0:
            raise VerifyException(f"block sizes must be positive, got {rows}x{cols}")
        one_d = (rows, cols) in ((1, MX_BLOCK_SIZE), (MX_BLOCK_SIZE, 1))
        if int_bits is not None and not one_d:
            if rows != cols:
                raise VerifyException(
                    f"an intN block is square (SMX) or 1x{MX_BLOCK_SIZE} / {MX_BLOCK_SIZE}x1 "
                    f"(1-D MX), got {rows}x{cols}"
                )
            if rows not in SMX_BLOCK_SIZES:
                raise VerifyException(
                    f"smx block must be a power of two between 1 and {SMX_BLOCK_SIZES[-1]}, "
                    f"got {rows}x{cols}: a non-dividing block would straddle the "
                    "accelerator's power-of-two PE tiles"
                )
        elif int_bits is None and not one_d:
            raise VerifyException(
                f"{element} is a 1-D OCP MX format: its block must be 1x{MX_BLOCK_SIZE} or "
                f"{MX_BLOCK_SIZE}x1, got {rows}x{cols}"
            )

    # -- syntax: `int8, block 4x4` ---------------------------------------------------------

    @classmethod
    def parse_body(cls, parser: AttrParser) -> FormatAttr:
        """Parse `KIND, block RxC` and verify it, reporting mistakes at the format's text."""
        start = parser.pos
        element = parser.parse_identifier(" (an element kind such as int8 or fp8_e4m3)")
        parser.parse_punctuation(",")
        parser.parse_keyword("block", " (the block shape, e.g. `block 4x4`)")
        rows = _parse_signed_dimension(parser)
        parser.parse_shape_delimiter()
        cols = _parse_signed_dimension(parser)
        end = parser.pos
        try:
            return cls(element, (rows, cols))
        except VerifyException as e:
            parser.raise_error(str(e), start, end)

    def print_body(self, printer: Printer) -> None:
        rows, cols = self.block_shape
        printer.print_string(f"{self.element_kind}, block {rows}x{cols}")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            fmt = cls.parse_body(parser)
        return fmt.element, fmt.block_rows, fmt.block_cols

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            self.print_body(printer)


# ---------------------------------------------------------------------------------------------
# !smx.tensor
# ---------------------------------------------------------------------------------------------


@irdl_attr_definition
class QuantizedTensorType(ParametrizedAttribute, TypeAttribute, ShapedType):
    """`!smx.tensor<?x256, int8, block 4x4>`: codes plus one exponent per block.

    Blocks tile the last two dimensions; leading dimensions index independent matrices.
    A rank-1 tensor is quantized as a single row, so its block must have one row (`1xK`).
    Dimensions need not be multiples of the block: edge blocks are zero-padded.
    """

    name = "smx.tensor"

    shape: ArrayAttr[IntAttr]
    format: FormatAttr

    def __init__(self, shape: Sequence[int] | ArrayAttr[IntAttr], format: FormatAttr):
        if not isinstance(shape, ArrayAttr):
            shape = ArrayAttr(IntAttr(d) for d in shape)
        super().__init__(shape, format)

    def get_num_dims(self) -> int:
        return len(self.shape.data)

    def get_shape(self) -> tuple[int, ...]:
        return tuple(d.data for d in self.shape.data)

    def verify(self) -> None:
        shape = self.get_shape()
        if not shape:
            raise VerifyException("smx.tensor needs rank >= 1")
        if any(d < 0 and d != DYNAMIC_INDEX for d in shape):
            raise VerifyException(f"smx.tensor dimensions must be >= 0 or '?', got {shape}")
        rows, cols = self.format.block_shape
        if len(shape) == 1 and rows != 1:
            raise VerifyException(
                "a rank-1 smx.tensor is quantized as one row, so its block must have one row "
                f"(1xK), got {rows}x{cols}"
            )

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            start = parser.pos
            shape = parser.parse_dimension_list()
            if not shape:
                parser.raise_error(
                    "smx.tensor needs a shape of rank >= 1 before its format, "
                    "e.g. !smx.tensor<?x256, int8, block 4x4>"
                )
            parser.parse_punctuation(",")
            fmt = FormatAttr.parse_body(parser)
            try:
                parsed = cls(shape, fmt)
            except VerifyException as e:
                parser.raise_error(str(e), start, parser.pos)
        return parsed.shape, parsed.format

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_dimension_list(self.get_shape())
            printer.print_string(", ")
            self.format.print_body(printer)


# ---------------------------------------------------------------------------------------------
# The rounding mode
# ---------------------------------------------------------------------------------------------


class Rounding(StrEnum):
    RNE = "rne"  # round to nearest, ties to even
    AWAY = "away"  # round to nearest, ties away from zero
    STOCHASTIC = "stochastic"  # counter-based RNG keyed by (seed, step, stream)


@irdl_attr_definition
class RoundingAttr(EnumAttribute[Rounding], SpacedOpaqueSyntaxAttribute):
    """`#smx<rounding rne>`."""

    name = "smx.rounding"


# ---------------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------------


@irdl_op_definition
class QuantizeOp(IRDLOperation):
    """Quantize an f32 tensor to a block format. Rounding `rne` (default), `away` (ties away
    from zero) or `stochastic`: reproducible, it draws from RNG stream `stream` under the
    step's key `%seed, %step` (the operands of `pinn.rng_key`), as `stein.sample` does.

        %q = smx.quantize %x : tensor<?x256xf32> -> !smx.tensor<?x256, int8, block 4x4>
        %g = smx.quantize %dy rounding stochastic stream 3 key %seed, %step
               : tensor<?x64xf32> -> !smx.tensor<?x64, int12, block 4x4>
        %t = smx.quantize %dyt rounding stochastic stream 3 key %seed, %step at %first
               per_point 64 : tensor<?x64xf32> -> !smx.tensor<?x64, int12, block 4x4>

    Stochastic rounding draws element i (row-major) of the tensor from index i of the stream,
    or, with `at %first per_point P` (an `index` and an integer P >= 1), from index
    first · P + i: the tensor holds the elements from first · P on of a larger one, P elements
    per point (a tile of its points). Cut at a whole number of block rows, a tile's result is
    those rows of the larger tensor's, bit for bit. `at` needs stochastic rounding, and a
    format whose blocks are not b x 1 columns (those draw by the transposed tensor's index).

    Operands: the input, then `key`: empty, or the step's key (seed, step: i64), followed by
    `first` (index) when given.
    """

    name = "smx.quantize"

    input = operand_def(TensorType)
    # (seed, step) or (seed, step, first): one variadic, so the generic form needs no segment
    # sizes; verify_ checks the types.
    key = var_operand_def()
    result = result_def(QuantizedTensorType)
    rounding = prop_def(RoundingAttr, default_value=RoundingAttr(Rounding.RNE))
    stream = opt_prop_def(IntegerAttr[I64])
    per_point = opt_prop_def(IntegerAttr[I64])

    traits = traits_def(Pure())  # stochastic rounding is a function of (key, stream)

    def __init__(
        self,
        input: SSAValue | Operation,
        format: FormatAttr,
        rounding: Rounding | str = Rounding.RNE,
        stream: int | None = None,
        key: Sequence[SSAValue] = (),
        first: SSAValue | Operation | None = None,
        per_point: int | None = None,
    ):
        input_type = SSAValue.get(input).type
        assert isinstance(input_type, TensorType)
        super().__init__(
            operands=[input, [*key, *([] if first is None else [first])]],
            result_types=[QuantizedTensorType(input_type.get_shape(), format)],
            properties={
                "rounding": RoundingAttr(Rounding(rounding)),
                "stream": None if stream is None else IntegerAttr(stream, 64),
                "per_point": None if per_point is None else IntegerAttr(per_point, 64),
            },
        )

    @property
    def format(self) -> FormatAttr:
        return self.result.type.format

    @property
    def rounding_mode(self) -> Rounding:
        return self.rounding.data

    @property
    def first(self) -> SSAValue | None:
        """The index of the tensor's first point in the larger tensor (`at`), if given."""
        return self.key[2] if len(self.key) == 3 else None

    def verify_(self) -> None:
        input_shape = f32_shape(self.input.type, None, "the input")
        result_shape = self.result.type.get_shape()
        if input_shape != result_shape:
            raise VerifyException(
                f"result shape {shape_str(result_shape)} does not match input shape "
                f"{shape_str(input_shape)}"
            )
        mode = self.rounding_mode
        if mode is Rounding.STOCHASTIC and (self.stream is None or len(self.key) not in (2, 3)):
            raise VerifyException(
                "stochastic rounding needs a 'stream' and the step's key (the RNG draws that "
                "make it reproducible), e.g. `rounding stochastic stream 0 key %seed, %step`"
            )
        if mode is not Rounding.STOCHASTIC and (self.stream is not None or self.key):
            raise VerifyException(
                f"'stream' and 'key' are only meaningful with stochastic rounding, not {mode}"
            )
        if mode is not Rounding.STOCHASTIC and self.per_point is not None:
            raise VerifyException(
                f"'per_point' is only meaningful with stochastic rounding, not {mode}"
            )
        if self.stream is not None and self.stream.value.data < 0:
            raise VerifyException(f"stream must be >= 0, got {self.stream.value.data}")
        for role, value in zip(("seed", "step"), self.key, strict=False):
            if value.type != i64:
                raise VerifyException(f"the key's {role} must be an i64 scalar, got {value.type}")
        self._verify_first()

    def _verify_first(self) -> None:
        """`at %first` (index) and `per_point` (>= 1) go together, on row-major blocks."""
        first, per_point = self.first, self.per_point
        if (first is None) != (per_point is None):
            raise VerifyException(
                "'at %first' and 'per_point' go together: the first point of the tensor and "
                "the elements of one point give its first element's index"
            )
        if first is None:
            return
        if not isinstance(first.type, IndexType):
            raise VerifyException(
                f"the first point (after 'at') must be an index, got {first.type}"
            )
        if per_point.value.data < 1:
            raise VerifyException(f"per_point must be at least 1, got {per_point.value.data}")
        rows, cols = self.format.block_shape
        if cols == 1 and rows > 1:
            raise VerifyException(
                f"{rows}x1 blocks draw by the transposed tensor's index, which a part of the "
                "tensor cannot know: 'at' needs row-major blocks"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_ssa_value(self.input)
        if self.rounding_mode is not Rounding.RNE:
            printer.print_string(f" rounding {self.rounding_mode}")
        if self.stream is not None:
            printer.print_string(f" stream {self.stream.value.data}")
        first = self.first
        key = self.key if first is None else self.key[:2]
        if key:
            printer.print_string(" key ")
            printer.print_list(key, printer.print_ssa_value)
        if first is not None:
            printer.print_string(" at ")
            printer.print_ssa_value(first)
        if self.per_point is not None:
            printer.print_string(f" per_point {self.per_point.value.data}")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.input.type)
        printer.print_string(" -> ")
        printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> QuantizeOp:
        x = parser.parse_unresolved_operand()
        rounding = Rounding.RNE
        if parser.parse_optional_keyword("rounding"):
            rounding = RoundingAttr.parse_parameter(parser)
        stream = None
        if parser.parse_optional_keyword("stream"):
            stream = parser.parse_integer()
        key = []
        if parser.parse_optional_keyword("key"):
            key.append(parser.resolve_operand(parser.parse_unresolved_operand(), i64))
            parser.parse_punctuation(",")
            key.append(parser.resolve_operand(parser.parse_unresolved_operand(), i64))
        first = None
        if parser.parse_optional_keyword("at"):
            first = parser.resolve_operand(parser.parse_unresolved_operand(), IndexType())
        per_point = None
        if parser.parse_optional_keyword("per_point"):
            per_point = parser.parse_integer()
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        input_type = parser.parse_type()
        x_val = parser.resolve_operand(x, input_type)
        parser.parse_punctuation("->")
        at = parser.pos
        result_type = parser.parse_type()
        if not isinstance(result_type, QuantizedTensorType):
            parser.raise_error(
                f"{result_type} should be of base attribute {QuantizedTensorType.name}",
                at,
                parser.pos,
            )
        return cls.create(
            operands=[x_val, *key, *([] if first is None else [first])],
            result_types=[result_type],
            properties={
                "rounding": RoundingAttr(rounding),
                **({} if stream is None else {"stream": IntegerAttr(stream, 64)}),
                **({} if per_point is None else {"per_point": IntegerAttr(per_point, 64)}),
            },
            attributes=attrs,
        )


@irdl_op_definition
class DequantizeOp(IRDLOperation):
    """The f32 value of each element: code * 2^(its block's exponent). Exact."""

    name = "smx.dequantize"

    input = operand_def(QuantizedTensorType)
    result = result_def(TensorType)

    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue | Operation):
        input_type = SSAValue.get(input).type
        assert isinstance(input_type, QuantizedTensorType)
        super().__init__(operands=[input], result_types=[TensorType(f32, input_type.get_shape())])

    def verify_(self) -> None:
        result_shape = f32_shape(self.result.type, None, "the result")
        input_shape = self.input.type.get_shape()
        if input_shape != result_shape:
            raise VerifyException(
                f"result shape {shape_str(result_shape)} does not match input shape "
                f"{shape_str(input_shape)}"
            )


SMX = Dialect(
    "smx",
    [QuantizeOp, DequantizeOp],
    [FormatAttr, QuantizedTensorType, RoundingAttr],
)
