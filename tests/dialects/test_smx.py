"""The smx dialect from Python: format helpers, builders, verifiers, and text round trips."""

from __future__ import annotations

import math
import subprocess
from io import StringIO

import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdsl.builder import Builder
from xdsl.dialects import func
from xdsl.dialects.builtin import DYNAMIC_INDEX, ModuleOp, TensorType, f16, f32, i64
from xdsl.ir import Attribute, SSAValue
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.test_value import create_ssa_value

from pintac.dialects.smx import (
    INT_BITS_MAX,
    INT_BITS_MIN,
    MX_BLOCK_SIZE,
    MX_ELEMENTS,
    SMX_BLOCK_SIZES,
    DequantizeOp,
    FormatAttr,
    QuantizedTensorType,
    QuantizeOp,
    Rounding,
)
from pintac.dialects.train import GemmOp, GemmRole, GemmRoleAttr
from pintac.registry import make_context

Q = DYNAMIC_INDEX
INT8_4x4 = FormatAttr.smx(8, 4)
INT12_4x4 = FormatAttr.smx(12, 4)


def parse_attr(text: str) -> Attribute:
    return Parser(make_context(), text).parse_attribute()


def tensor(*shape: int) -> SSAValue:
    return create_ssa_value(TensorType(f32, shape))


# ---------------------------------------------------------------------------------------------
# Format attribute
# ---------------------------------------------------------------------------------------------


def test_default_smx_format():
    fmt = FormatAttr("int8", 4)
    assert fmt == INT8_4x4
    assert str(fmt) == "#smx.format<int8, block 4x4>"
    assert fmt.element_kind == "int8"
    assert fmt.bits == 8
    assert fmt.block_shape == (4, 4)
    assert fmt.is_square and fmt.is_smx and fmt.is_integer and not fmt.is_mx
    assert fmt.block_elements == 16
    assert fmt.max_code == 127
    assert fmt.max_value == 127.0
    assert fmt.emax == 6  # e = floor(log2 amax) - (bits - 2)
    assert fmt.bits_per_element == 8.5  # one 8-bit exponent shared by 16 elements


def test_int12_gradient_format():
    assert INT12_4x4.max_code == 2047
    assert INT12_4x4.emax == 10


def test_mx_formats():
    fmt = FormatAttr.mx("fp8_e4m3")
    assert str(fmt) == "#smx.format<fp8_e4m3, block 1x32>"
    assert FormatAttr.mx("fp8_e4m3", axis=0).block_shape == (32, 1)
    assert fmt.is_mx and not fmt.is_smx and not fmt.is_square and not fmt.is_integer
    assert (fmt.bits, fmt.emax, fmt.max_value) == (8, 8, 448.0)
    assert fmt.block_extent(0) == 1 and fmt.block_extent(1) == 32
    assert fmt.bits_per_element == 8.25
    mxint8 = FormatAttr.mx("mxint8", axis=0)
    assert mxint8.is_integer and mxint8.max_code == 127 and mxint8.max_value == 127 / 64
    assert FormatAttr.mx("fp4_e2m1").bits == 4
    assert FormatAttr.mx("fp6_e3m2").bits == 6


def test_max_code_is_for_integer_codes_only():
    with pytest.raises(ValueError, match="float codes"):
        _ = FormatAttr.mx("fp6_e2m3").max_code


@pytest.mark.parametrize(
    "fmt",
    [FormatAttr.smx(bits, 1) for bits in range(INT_BITS_MIN, INT_BITS_MAX + 1)]
    + [FormatAttr.mx(kind) for kind in MX_ELEMENTS],
    ids=str,
)
def test_emax_is_the_exponent_of_the_largest_element(fmt: FormatAttr):
    # The shared exponent floor(log2 amax) - emax scales a block's largest element into
    # [2^emax, 2^(emax+1)): the top binade of the element format.
    assert math.floor(math.log2(fmt.max_value)) == fmt.emax


def test_mx_table_matches_ml_dtypes():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    numpy_types = {
        "fp8_e4m3": ml_dtypes.float8_e4m3fn,
        "fp8_e5m2": ml_dtypes.float8_e5m2,
        "fp6_e2m3": ml_dtypes.float6_e2m3fn,
        "fp6_e3m2": ml_dtypes.float6_e3m2fn,
        "fp4_e2m1": ml_dtypes.float4_e2m1fn,
    }
    for kind, dtype in numpy_types.items():
        info = ml_dtypes.finfo(dtype)
        assert MX_ELEMENTS[kind].max_value == float(info.max), kind
        assert MX_ELEMENTS[kind].bits == info.bits, kind


@pytest.mark.parametrize(
    ("element", "block", "message"),
    [
        ("int1", 4, "bit width 1 out of range"),
        ("int0", 4, "bit width 0 out of range"),
        ("int17", 4, "bit width 17 out of range"),
        ("int08", 4, "unknown element kind 'int08'"),
        ("uint8", 4, r"unknown element kind 'uint8'; valid kinds: int2\.\.int16 \(SMX\), mxint8"),
        ("fp16", 4, "fp8_e4m3, fp8_e5m2, fp6_e2m3, fp6_e3m2, fp4_e2m1"),
        ("int8", (4, 8), "an intN block is square \\(SMX\\) or 1x32 / 32x1 \\(1-D MX\\), got 4x8"),
        ("int8", 3, "power of two between 1 and 64, got 3x3: a non-dividing block"),
        ("int8", 128, "power of two between 1 and 64, got 128x128"),
        ("int8", 0, "block sizes must be positive, got 0x0"),
        ("int8", (-4, -4), "block sizes must be positive, got -4x-4"),
        ("fp8_e4m3", 4, "1-D OCP MX format: its block must be 1x32 or 32x1, got 4x4"),
        ("mxint8", (1, 16), "got 1x16"),
        ("fp4_e2m1", (32, 32), "got 32x32"),
        ("fp8_e5m2", (0, 32), "block sizes must be positive, got 0x32"),
    ],
)
def test_invalid_formats(element: str, block: int | tuple[int, int], message: str):
    with pytest.raises(VerifyException, match=message):
        FormatAttr(element, block)


def test_invalid_format_text_is_a_located_parse_error():
    from xdsl.utils.exceptions import ParseError

    with pytest.raises(
        ParseError, match="an intN block is square \\(SMX\\) or 1x32 / 32x1 \\(1-D MX\\), got 4x8"
    ):
        parse_attr("#smx.format<int8, block 4x8>")


def test_mx_axis_must_be_a_matrix_axis():
    with pytest.raises(VerifyException, match="axis must be 0 or 1"):
        FormatAttr.mx("fp8_e4m3", axis=2)


valid_formats = st.one_of(
    st.builds(
        FormatAttr.smx,
        bits=st.integers(INT_BITS_MIN, INT_BITS_MAX),
        block=st.sampled_from(SMX_BLOCK_SIZES),
    ),
    st.builds(
        FormatAttr.mx, element=st.sampled_from(sorted(MX_ELEMENTS)), axis=st.sampled_from([0, 1])
    ),
)


@given(valid_formats)
def test_format_text_round_trip(fmt: FormatAttr):
    text = str(fmt)
    assert parse_attr(text) == fmt
    assert str(parse_attr(text)) == text


@given(
    st.one_of(
        st.integers(-3, 40)
        .filter(lambda b: not INT_BITS_MIN <= b <= INT_BITS_MAX)
        .map(lambda b: (f"int{b}", 4)),
        st.tuples(
            st.just("int8"),
            st.tuples(st.sampled_from(SMX_BLOCK_SIZES), st.sampled_from(SMX_BLOCK_SIZES)),
        ).filter(lambda fb: fb[1][0] != fb[1][1] and fb[1] not in ((1, 32), (32, 1))),
        st.tuples(
            st.just("int4"), st.integers(-70, 200).filter(lambda b: b not in SMX_BLOCK_SIZES)
        ),
        st.tuples(
            st.sampled_from(sorted(MX_ELEMENTS)),
            st.tuples(st.integers(-40, 40), st.integers(-40, 40)).filter(
                lambda rc: rc not in ((1, MX_BLOCK_SIZE), (MX_BLOCK_SIZE, 1))
            ),
        ),
    )
)
def test_invalid_formats_raise(element_and_block: tuple[str, int | tuple[int, int]]):
    element, block = element_and_block
    with pytest.raises(VerifyException):
        FormatAttr(element, block)


# ---------------------------------------------------------------------------------------------
# Quantized tensor type
# ---------------------------------------------------------------------------------------------


def test_tensor_type():
    t = QuantizedTensorType([Q, 256], INT8_4x4)
    assert str(t) == "!smx.tensor<?x256, int8, block 4x4>"
    assert t.get_shape() == (Q, 256)
    assert t.get_num_dims() == 2
    assert not t.has_static_shape()
    assert t.format == INT8_4x4
    assert parse_attr(str(t)) == t


def test_rank1_needs_a_one_row_block():
    assert QuantizedTensorType([7], FormatAttr.mx("fp8_e4m3")).get_shape() == (7,)
    assert QuantizedTensorType([7], FormatAttr.smx(4, 1)).get_num_dims() == 1
    with pytest.raises(VerifyException, match=r"must have one row \(1xK\), got 4x4"):
        QuantizedTensorType([7], INT8_4x4)
    with pytest.raises(VerifyException, match="got 32x1"):
        QuantizedTensorType([7], FormatAttr.mx("fp8_e4m3", axis=0))


def test_tensor_type_needs_rank_and_valid_dims():
    with pytest.raises(VerifyException, match="rank >= 1"):
        QuantizedTensorType([], INT8_4x4)
    with pytest.raises(VerifyException, match="dimensions must be >= 0"):
        QuantizedTensorType([4, -3], INT8_4x4)


shapes = st.lists(st.one_of(st.just(Q), st.integers(0, 4096)), min_size=2, max_size=4)


@given(shapes, valid_formats)
def test_tensor_type_text_round_trip(shape: list[int], fmt: FormatAttr):
    t = QuantizedTensorType(shape, fmt)
    assert parse_attr(str(t)) == t


# ---------------------------------------------------------------------------------------------
# Ops built from Python
# ---------------------------------------------------------------------------------------------


def test_quantize_builder_infers_the_type():
    x = tensor(Q, 256)
    op = QuantizeOp(x, INT8_4x4)
    op.verify()
    assert op.result.type == QuantizedTensorType([Q, 256], INT8_4x4)
    assert op.format == INT8_4x4
    assert op.rounding_mode is Rounding.RNE
    assert op.stream is None


def test_quantize_rounding_and_stream():
    x = tensor(8, 8)
    seed, step = create_ssa_value(i64), create_ssa_value(i64)
    QuantizeOp(x, INT12_4x4, Rounding.STOCHASTIC, stream=3, key=(seed, step)).verify()
    QuantizeOp(x, INT8_4x4, "away").verify()
    with pytest.raises(VerifyException, match="stochastic rounding needs a 'stream'"):
        QuantizeOp(x, INT12_4x4, "stochastic").verify()
    with pytest.raises(VerifyException, match="and the step's key"):
        QuantizeOp(x, INT12_4x4, "stochastic", stream=3).verify()
    with pytest.raises(VerifyException, match="only meaningful with stochastic rounding, not rne"):
        QuantizeOp(x, INT8_4x4, stream=1).verify()
    with pytest.raises(VerifyException, match="stream must be >= 0"):
        QuantizeOp(x, INT8_4x4, "stochastic", stream=-2, key=(seed, step)).verify()
    with pytest.raises(ValueError):
        QuantizeOp(x, INT8_4x4, "nearest")


def test_quantize_needs_f32():
    x = create_ssa_value(TensorType(f16, (8, 8)))
    with pytest.raises(VerifyException, match="the input must be an f32 tensor"):
        QuantizeOp(x, INT8_4x4).verify()


def test_dequantize_builder():
    q = create_ssa_value(QuantizedTensorType([Q, 64], INT8_4x4))
    op = DequantizeOp(q)
    op.verify()
    assert op.result.type == TensorType(f32, (Q, 64))


def quantized(shape: tuple[int, ...], fmt: FormatAttr = INT8_4x4) -> SSAValue:
    return create_ssa_value(QuantizedTensorType(shape, fmt))


def test_quantized_gemm_builder_infers_the_result_through_transposes():
    x, w, dy = quantized((Q, 256)), quantized((256, 64)), quantized((Q, 64), INT12_4x4)
    fwd = GemmOp(x, w, GemmRole.FWD)
    dgrad = GemmOp(dy, w, "dgrad", transpose_b=True)
    wgrad = GemmOp(x, dy, "wgrad", transpose_a=True)
    for op in (fwd, dgrad, wgrad):
        op.verify()
    assert fwd.result.type == TensorType(f32, (Q, 64))
    assert dgrad.result.type == TensorType(f32, (Q, 256))
    assert wgrad.result.type == TensorType(f32, (256, 64))
    assert (dgrad.gemm_role, dgrad.is_transposed_a, dgrad.is_transposed_b) == (
        GemmRole.DGRAD,
        False,
        True,
    )
    assert wgrad.reduction_axes() == (0, 0) and fwd.reduction_axes() == (1, 0)


def test_quantized_gemm_1d_mx_needs_blocks_along_the_reduction_axis():
    rows_copy = quantized((Q, 256), FormatAttr.mx("fp8_e4m3", axis=1))
    cols_copy = quantized((Q, 256), FormatAttr.mx("fp8_e4m3", axis=0))
    w = quantized((256, 64), FormatAttr.mx("fp8_e4m3", axis=0))
    dy = quantized((Q, 64), FormatAttr.mx("fp8_e5m2", axis=0))
    GemmOp(rows_copy, w, "fwd").verify()
    GemmOp(cols_copy, dy, "wgrad", transpose_a=True).verify()
    wrong = GemmOp(rows_copy, dy, "wgrad", transpose_a=True)
    with pytest.raises(VerifyException, match="quantize a second copy with the transposed block"):
        wrong.verify()


def test_quantized_gemm_verifier():
    with pytest.raises(VerifyException, match="inner dimensions differ"):
        GemmOp(quantized((4, 8)), quantized((16, 4)), "fwd").verify()
    with pytest.raises(VerifyException, match="must be a rank-2 smx.tensor"):
        GemmOp(quantized((4, 8)), quantized((2, 8, 4)), "fwd")
    rank3 = GemmOp.create(
        operands=[quantized((4, 8)), quantized((2, 8, 4))],
        result_types=[TensorType(f32, (4, 4))],
        properties={"role": GemmRoleAttr(GemmRole.FWD)},
    )
    with pytest.raises(VerifyException, match="the right operand must be a rank-2 smx.tensor"):
        rank3.verify()
    with pytest.raises(VerifyException, match="blocks differ along the reduction axis"):
        GemmOp(quantized((8, 8)), quantized((8, 8), FormatAttr.smx(8, 8)), "fwd").verify()
    with pytest.raises(ValueError):
        GemmOp(quantized((8, 8)), quantized((8, 8)), "backward")


def test_ops_are_pure():
    from xdsl.traits import Pure

    for op_class in (QuantizeOp, DequantizeOp):
        assert op_class.has_trait(Pure)


# ---------------------------------------------------------------------------------------------
# A module built from Python prints, parses back and verifies
# ---------------------------------------------------------------------------------------------


def build_linear_layer() -> ModuleOp:
    """Y = X W and both backward GEMMs from one quantized copy of X, W and dY."""
    inputs = [
        TensorType(f32, (Q, 256)),
        TensorType(f32, (256, 64)),
        TensorType(f32, (Q, 64)),
        i64,
        i64,
    ]
    outputs = [TensorType(f32, (Q, 64)), TensorType(f32, (Q, 256)), TensorType(f32, (256, 64))]
    function = func.FuncOp("linear_layer", (inputs, outputs))
    builder = Builder(InsertPoint.at_end(function.body.block))
    x, w, dy, seed, step = function.body.block.args
    qx = builder.insert(QuantizeOp(x, INT8_4x4))
    qw = builder.insert(QuantizeOp(w, INT8_4x4, "away"))
    qdy = builder.insert(QuantizeOp(dy, INT12_4x4, "stochastic", stream=0, key=(seed, step)))
    y = builder.insert(GemmOp(qx, qw, "fwd"))
    dx = builder.insert(GemmOp(qdy, qw, "dgrad", transpose_b=True))
    dw = builder.insert(GemmOp(qx, qdy, "wgrad", transpose_a=True))
    builder.insert(func.ReturnOp(y, dx, dw))
    return ModuleOp([function])


def print_generic(module: ModuleOp) -> str:
    out = StringIO()
    Printer(stream=out, print_generic_format=True).print_op(module)
    return out.getvalue()


def test_built_module_round_trips():
    module = build_linear_layer()
    module.verify()
    text = str(module)
    assert "role dgrad transpose_b :" in text
    assert "role wgrad transpose_a :" in text
    assert "rounding stochastic stream 0 key %" in text
    for printed in (text, print_generic(module)):
        again = Parser(make_context(), printed).parse_module()
        again.verify()
        assert again.is_structurally_equivalent(module)


def test_generic_form_is_valid_mlir(mlir_opt):
    generic = print_generic(build_linear_layer())
    result = subprocess.run(
        [mlir_opt, "--allow-unregistered-dialect"], input=generic, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert '"train.gemm"' in result.stdout and "#train<role wgrad>" in result.stdout
