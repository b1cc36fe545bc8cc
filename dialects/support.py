"""Helpers the dialects share: shapes of tensor types, and numbers in custom syntax.

Not a dialect: every dialect file imports what it needs from here, so a shape is described,
compared and checked the same way everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    ArrayAttr,
    Float32Type,
    FloatAttr,
    SSAValue,
    TensorType,
    f32,
    f64,
)
from xdsl.ir import Attribute, Operation
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

DYNAMIC = DYNAMIC_INDEX  # how xDSL stores a `?` dimension

# ---------------------------------------------------------------- shapes


def dim_str(d: int) -> str:
    return "?" if d == DYNAMIC else str(d)


def shape_str(shape: Sequence[int]) -> str:
    """`?x256`: a shape as MLIR writes it."""
    return "x".join(dim_str(d) for d in shape)


def compatible(a: int, b: int) -> bool:
    """Two dimensions agree when equal or when either is dynamic (MLIR's shape compatibility)."""
    return a == b or DYNAMIC in (a, b)


def join(a: int, b: int) -> int:
    """The most precise of two compatible dimensions: static wins over dynamic."""
    return b if a == DYNAMIC else a


def f32_tensor(*shape: int) -> TensorType:
    return TensorType(f32, list(shape))


def type_of(value: SSAValue | Operation | Attribute) -> Attribute:
    if isinstance(value, Attribute):
        return value
    return SSAValue.get(value).type


def tensor_shape(t: Attribute) -> list[int] | None:
    """The shape of a ranked tensor type, or None."""
    return list(t.get_shape()) if isinstance(t, TensorType) else None


def f32_shape(
    value: SSAValue | Operation | Attribute, rank: int | None, what: str, layout: str = ""
) -> tuple[int, ...]:
    """The shape of an f32 tensor (of the given rank), or a VerifyException naming `what`.

    `layout` describes the expected type to the user ("tensor<N x K x D x f32>").
    """
    t = type_of(value)
    ok = isinstance(t, TensorType) and isinstance(t.get_element_type(), Float32Type)
    if not ok or (rank is not None and t.get_num_dims() != rank):
        expected = layout or (f"a rank-{rank} f32 tensor" if rank is not None else "an f32 tensor")
        raise VerifyException(f"{what} must be {expected}, got {t}")
    return t.get_shape()


def static(d: int, what: str) -> int:
    if d == DYNAMIC:
        raise VerifyException(f"{what} must be static, got ?")
    return d


# ---------------------------------------------------------------- numbers in custom syntax


def format_float(value: float) -> str:
    """Shortest text that parses back to `value` as an MLIR float literal (always has a '.')."""
    if not math.isfinite(value):
        return repr(float(value))  # only shown in messages: non-finite values never verify
    text = repr(float(value))
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}e{exponent}" if exponent else mantissa


def parse_real(parser: Parser, what: str) -> float:
    """An integer or float literal, as a float (users write `weight 300` as well as `300.0`)."""
    return float(parser.parse_number(context_msg=f" for {what}"))


def parse_real_list(parser: Parser, what: str) -> list[float]:
    return parser.parse_comma_separated_list(
        parser.Delimiter.SQUARE, lambda: parse_real(parser, what)
    )


def print_real_list(printer: Printer, values: Sequence[float]) -> None:
    printer.print_string("[" + ", ".join(format_float(v) for v in values) + "]")


def float_array(values: Sequence[float]) -> ArrayAttr[FloatAttr]:
    return ArrayAttr(FloatAttr(float(v), f64) for v in values)


def floats_of(attr: ArrayAttr) -> list[float]:
    return [a.value.data for a in attr.data]
