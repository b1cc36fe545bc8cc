"""The operands that place a tile of points in its batch: `at %first` of `stein.sample`,
`train.sample_coordinates` and `smx.quantize` (with `per_point`), `over %count` of
`train.mean_square_grad`. Their syntax round-trips and the verifiers say what is wrong."""

from __future__ import annotations

from io import StringIO

import pytest
from xdsl.dialects.builtin import DYNAMIC_INDEX, IndexType, TensorType, f32, i64
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import ParseError, VerifyException
from xdsl.utils.test_value import create_ssa_value

from pintac.dialects.smx import FormatAttr, QuantizeOp
from pintac.dialects.stein import SampleOp
from pintac.dialects.train import MeanSquareGradOp, SampleCoordinatesOp
from pintac.registry import make_context

N = DYNAMIC_INDEX

TILED = """\
func.func @tile(%x: tensor<?x3xf32>, %seed: i64, %step: i64, %first: index, %r: tensor<?x1xf32>, %dl: tensor<f32>, %count: index, %dy: tensor<?x8xf32>) -> (tensor<?x4x3xf32>, tensor<?x2x3xf32>, tensor<?x1xf32>, !smx.tensor<?x8, int12, block 4x4>) {
  %delta = stein.sample %x, %seed, %step at %first pairs 4 sigma 1.000000e-02 sigma_t 2.000000e-02 stream 0 : tensor<?x3xf32> -> tensor<?x4x3xf32>
  %e = train.sample_coordinates %x, %seed, %step at %first dims 0 to 3 samples 2 stream 1 : tensor<?x3xf32> -> tensor<?x2x3xf32>
  %dr = train.mean_square_grad %r, %dl over %count : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
  %q = smx.quantize %dy rounding stochastic stream 3 key %seed, %step at %first per_point 8 {tensor = "dY"} : tensor<?x8xf32> -> !smx.tensor<?x8, int12, block 4x4>
  func.return %delta, %e, %dr, %q : tensor<?x4x3xf32>, tensor<?x2x3xf32>, tensor<?x1xf32>, !smx.tensor<?x8, int12, block 4x4>
}
"""

GENERIC_OPS = [
    '%delta = "stein.sample"(%x, %seed, %step, %first) <{pairs = 4 : i64, sigma = 1.000000e-02 '
    ": f64, sigma_t = 2.000000e-02 : f64, stream = 0 : i64}> : "
    "(tensor<?x3xf32>, i64, i64, index) -> tensor<?x4x3xf32>",
    '%e = "train.sample_coordinates"(%x, %seed, %step, %first) <{dim_lo = 0 : i64, dim_hi = 3 '
    ": i64, samples = 2 : i64, stream = 1 : i64}> : (tensor<?x3xf32>, i64, i64, index) -> "
    "tensor<?x2x3xf32>",
    '%dr = "train.mean_square_grad"(%r, %dl, %count) : (tensor<?x1xf32>, tensor<f32>, index) -> '
    "tensor<?x1xf32>",
    '%q = "smx.quantize"(%dy, %seed, %step, %first) <{rounding = #smx<rounding stochastic>, '
    'stream = 3 : i64, per_point = 8 : i64}> {tensor = "dY"} : (tensor<?x8xf32>, i64, i64, '
    "index) -> !smx.tensor<?x8, int12, block 4x4>",
]


def parse(text: str):
    module = Parser(make_context(), text).parse_module()
    module.verify()
    return module


def printed(op, generic: bool = False) -> str:
    out = StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(op)
    return out.getvalue()


def test_the_custom_syntax_prints_as_written():
    module = parse(TILED)
    text = printed(module)
    for line in TILED.splitlines()[1:-1]:
        assert line.strip() in text


def test_the_generic_form_lists_the_operand_last():
    text = printed(parse(TILED), generic=True)
    for line in GENERIC_OPS:
        assert line in text


@pytest.mark.parametrize("generic", [False, True])
def test_round_trip(generic: bool):
    module = parse(TILED)
    again = parse(printed(module, generic))
    assert again.is_structurally_equivalent(module)
    assert printed(again) == printed(module)


def test_without_the_operand_the_ops_print_as_before():
    """The untiled forms keep their syntax and report no operand."""
    text = TILED.replace(" at %first", "").replace(" over %count", "").replace(" per_point 8", "")
    module = parse(text)
    ops = {op.name: op for op in module.walk()}
    assert ops["stein.sample"].first is None
    assert ops["train.sample_coordinates"].first is None
    assert ops["train.mean_square_grad"].count is None
    assert ops["smx.quantize"].first is None and ops["smx.quantize"].per_point is None
    assert "key %seed, %step {tensor" in printed(module)


# ------------------------------------------------------------------------------- builders


def tensor(*shape):
    return create_ssa_value(TensorType(f32, shape))


def test_builders_take_the_operand():
    x, key, first = tensor(N, 3), create_ssa_value(i64), create_ssa_value(IndexType())
    sample = SampleOp(x, key, key, 4, 0.01, first=first)
    coords = SampleCoordinatesOp(x, key, key, 0, 3, 2, 1, first=first)
    grad = MeanSquareGradOp(tensor(N, 1), tensor(), first)
    quantize = QuantizeOp(
        tensor(N, 8), FormatAttr.smx(12, 4), "stochastic", 3, (key, key), first, per_point=8
    )
    for op in (sample, coords, grad, quantize):
        op.verify()
    assert sample.first is first and coords.first is first and grad.count is first
    assert quantize.first is first and quantize.per_point.value.data == 8
    assert list(quantize.operands) == [quantize.input, key, key, first]


# ------------------------------------------------------------------------------ verifiers


def verify_error(text: str) -> str:
    module = Parser(make_context(), text).parse_module()
    with pytest.raises(VerifyException) as caught:
        module.verify()
    return str(caught.value)


def generic_with(op_name: str, *replacements: tuple[str, str]) -> str:
    """The generic form of TILED with `replacements` made in the line of `op_name`."""
    generic = printed(parse(TILED), generic=True)
    (line,) = [s for s in generic.splitlines() if f'"{op_name}"' in s]
    changed = line
    for old, new in replacements:
        assert old in changed
        changed = changed.replace(old, new)
    return generic.replace(line, changed)


def test_first_of_stein_sample_must_be_an_index():
    """(The custom syntax reads `at` as an index; the generic form can give another type.)"""
    text = generic_with("stein.sample", ("%first) <", "%seed) <"), ("index) ->", "i64) ->"))
    assert "the first row (after 'at') must be an index, got i64" in verify_error(text)


@pytest.mark.parametrize(
    ("op_name", "operand", "message"),
    [
        ("train.sample_coordinates", "first", "the first row (after 'at') must be an index"),
        ("train.mean_square_grad", "count", "the row count (after 'over') must be an index"),
    ],
)
def test_first_and_count_of_the_train_ops_must_be_an_index(op_name, operand, message):
    text = generic_with(op_name, (f"%{operand})", "%seed)"), ("index) ->", "i64) ->"))
    assert f"{message}, got i64" in verify_error(text)


QUANTIZE = """\
func.func @q(%dy: tensor<?x32xf32>, %seed: i64, %step: i64, %first: index) {
  %q = smx.quantize %dy {ARGS} : tensor<?x32xf32> -> !smx.tensor<?x32, {FORMAT}>
  func.return
}
"""


def quantize_text(args: str, fmt: str = "int12, block 4x4") -> str:
    return QUANTIZE.replace("{ARGS}", args).replace("{FORMAT}", fmt)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            "rounding stochastic stream 3 key %seed, %step at %first per_point 0",
            "per_point must be at least 1, got 0",
        ),
        (
            "rounding stochastic stream 3 key %seed, %step at %first per_point -8",
            "per_point must be at least 1, got -8",
        ),
        (
            "rounding stochastic stream 3 key %seed, %step at %first",
            "'at %first' and 'per_point' go together",
        ),
        (
            "rounding stochastic stream 3 key %seed, %step per_point 8",
            "'at %first' and 'per_point' go together",
        ),
        (
            "rounding away per_point 8",
            "'per_point' is only meaningful with stochastic rounding, not away",
        ),
        ("key %seed, %step at %first per_point 8", "only meaningful with stochastic rounding"),
    ],
)
def test_quantize_verifier(args: str, message: str):
    assert message in verify_error(quantize_text(args))


def test_quantize_first_must_be_an_index():
    text = generic_with("smx.quantize", ("%first) <", "%step) <"), ("index) ->", "i64) ->"))
    assert "the first point (after 'at') must be an index, got i64" in verify_error(text)


def test_quantize_key_must_be_i64():
    text = generic_with(
        "smx.quantize",
        ("%seed, %step, %first)", "%seed, %first, %first)"),
        ("i64, i64, index)", "i64, index, index)"),
    )
    assert "the key's step must be an i64 scalar, got index" in verify_error(text)


def test_column_blocks_take_no_first():
    text = quantize_text(
        "rounding stochastic stream 3 key %seed, %step at %first per_point 8",
        "int8, block 32x1",
    )
    assert "32x1 blocks draw by the transposed tensor's index" in verify_error(text)


def test_row_blocks_take_first():
    text = quantize_text(
        "rounding stochastic stream 3 key %seed, %step at %first per_point 8", "int8, block 1x32"
    )
    (op,) = [op for op in parse(text).walk() if isinstance(op, QuantizeOp)]
    assert op.first is not None and op.format.block_shape == (1, 32)


def test_quantize_to_a_builtin_tensor_is_a_located_parse_error():
    text = QUANTIZE.replace("{ARGS}", "").replace("!smx.tensor<?x32, {FORMAT}>", "tensor<?x32xf32>")
    with pytest.raises(
        ParseError, match="tensor<\\?x32xf32> should be of base attribute smx.tensor"
    ):
        Parser(make_context(), text).parse_module()
