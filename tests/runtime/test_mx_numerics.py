"""OCP MX 1-D formats against ml_dtypes and gfloat, element by element and block by block."""

import math

import gfloat
import ml_dtypes
import numpy as np
import pytest
from gfloat import formats as gf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pintac.core.errors import UserError
from pintac.runtime import mx, smx

FLOAT_TYPES = {
    "fp8_e4m3": ml_dtypes.float8_e4m3fn,
    "fp8_e5m2": ml_dtypes.float8_e5m2,
    "fp6_e2m3": ml_dtypes.float6_e2m3fn,
    "fp6_e3m2": ml_dtypes.float6_e3m2fn,
    "fp4_e2m1": ml_dtypes.float4_e2m1fn,
}
GFLOAT_BLOCK = {
    "mxint8": gf.format_info_mxint8,
    "fp8_e4m3": gf.format_info_mxfp8_e4m3,
    "fp8_e5m2": gf.format_info_mxfp8_e5m2,
    "fp6_e2m3": gf.format_info_mxfp6_e2m3,
    "fp6_e3m2": gf.format_info_mxfp6_e3m2,
    "fp4_e2m1": gf.format_info_mxfp4_e2m1,
}
ELEMENTS = list(mx.ELEMENTS)
INT8_MAX = 127 / 64


def same_bits(a, b) -> bool:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def assert_same_bits(actual, expected):
    actual, expected = np.asarray(actual, np.float32), np.asarray(expected, np.float32)
    assert actual.shape == expected.shape
    bad = actual.view(np.uint32) != expected.view(np.uint32)
    assert not bad.any(), (np.argwhere(bad)[:3], actual[bad][:3], expected[bad][:3])


# ---------------------------------------------------------------------------------------------
# Oracles: the libraries' element conversions, and a block loop written here
# ---------------------------------------------------------------------------------------------


def oracle_element(element: str, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values float64, codes uint8) of exact float64 `y`, rounded and saturated."""
    fmt = mx.ELEMENTS[element]
    if element == "mxint8":
        # gfloat's OCP INT8 also has -2.0; the symmetric format saturates at -127/64
        values = np.array(
            [gfloat.round_float(gf.format_info_ocp_int8, float(v), sat=True) for v in y.flat]
        ).reshape(y.shape)
        values = np.clip(values, -INT8_MAX, INT8_MAX)
        codes = np.round(values * 64).astype(np.int64) & 0xFF
        return values + 0.0, codes.astype(np.uint8)
    # ml_dtypes' casts do not saturate (E4M3 gives NaN, E5M2 inf): clip first, which equals
    # rounding then saturating since the largest value is on the grid
    elements = np.clip(y, -fmt.max_value, fmt.max_value).astype(FLOAT_TYPES[element])
    return elements.astype(np.float64), elements.view(np.uint8)


def oracle_quantize(x: np.ndarray, element: str, axis: int):
    """(values, codes, scale bytes) by a Python loop over blocks."""
    fmt = mx.ELEMENTS[element]
    moved = np.moveaxis(np.asarray(x, np.float32), axis, -1)
    length = moved.shape[-1]
    nblocks = -(-length // 32)
    values = np.zeros(moved.shape, np.float32)
    codes = np.zeros((*moved.shape[:-1], nblocks * 32), np.uint8)
    scales = np.zeros((*moved.shape[:-1], nblocks), np.uint8)
    for index in np.ndindex(moved.shape[:-1]):
        line = moved[index].astype(np.float64)
        for blk in range(nblocks):
            part = line[32 * blk : 32 * blk + 32]
            amax = max(abs(float(v)) for v in part)
            if amax == 0:
                shared = -127
            else:
                mantissa, exponent = math.frexp(amax)  # amax = m * 2^exponent, m in [0.5, 1)
                shared = min(127, max(-127, exponent - 1 - fmt.emax))
            vals, cds = oracle_element(element, part * 2.0**-shared)
            values[index][32 * blk : 32 * blk + len(part)] = vals * 2.0**shared
            codes[index][32 * blk : 32 * blk + len(part)] = cds
            scales[index][blk] = shared + 127
    return (
        np.moveaxis(values, -1, axis),
        np.moveaxis(codes, -1, axis),
        np.moveaxis(scales, -1, axis),
    )


def random_tensor(gen, shape, spread=20):
    x = gen.standard_normal(shape) * np.exp2(gen.integers(-spread, spread, shape))
    x[gen.random(shape) < 0.05] = 0.0
    return x.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Every encoding
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("element", ELEMENTS)
@pytest.mark.parametrize("scale_byte", [127, 100, 140])
def test_every_code_decodes_like_the_oracle(element, scale_byte):
    fmt = mx.ELEMENTS[element]
    codes = np.arange(1 << fmt.bits, dtype=np.uint8).reshape(-1, min(32, 1 << fmt.bits))
    if codes.shape[1] < 32:  # 16 codes: one block with 16 padding zeros
        codes = np.pad(codes, [(0, 0), (0, 32 - codes.shape[1])])
    scales = np.full((codes.shape[0], 1), scale_byte, np.uint8)
    got = mx.dequantize_mx(codes, scales, element, -1, codes.shape)
    if element == "mxint8":
        decoded = [gfloat.decode_float(gf.format_info_ocp_int8, int(c)).fval for c in codes.flat]
        decoded = np.array(decoded).reshape(codes.shape)
    else:
        decoded = codes.view(FLOAT_TYPES[element]).astype(np.float64)
    expected = (decoded * 2.0 ** (scale_byte - 127)).astype(np.float32)
    nan = np.isnan(expected)
    assert np.array_equal(np.isnan(got), nan)
    assert_same_bits(got[~nan], expected[~nan])


def test_nan_scale_decodes_to_nan():
    got = mx.dequantize_mx(
        np.ones((1, 32), np.uint8), np.full((1, 1), 255, np.uint8), "fp8_e4m3", -1, (1, 32)
    )
    assert np.isnan(got).all()


# ---------------------------------------------------------------------------------------------
# The quantization pipeline
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("element", ELEMENTS)
@pytest.mark.parametrize(
    "shape, axis", [((5, 70), -1), ((70, 5), -2), ((45,), -1), ((2, 3, 40), -1), ((2, 33, 3), -2)]
)
def test_pipeline_matches_the_oracle(element, shape, axis):
    gen = np.random.default_rng(abs(hash((element, shape))) % 2**32)
    x = random_tensor(gen, shape)
    values = mx.quantize_mx(x, element, axis)
    codes, scales = mx.quantize_mx_codes(x, element, axis)
    expected_values, expected_codes, expected_scales = oracle_quantize(x, element, axis)
    assert_same_bits(values, expected_values)
    assert np.array_equal(codes, expected_codes)
    assert np.array_equal(scales, expected_scales)
    assert codes.dtype == np.uint8 and scales.dtype == np.uint8


@pytest.mark.parametrize("element", ELEMENTS)
def test_blocks_match_gfloat_quantize_block(element):
    gen = np.random.default_rng(12)
    for spread in (2, 8, 60):
        x = random_tensor(gen, (6, 32), spread)
        ours = mx.quantize_mx(x, element)
        for row, got in zip(x, ours, strict=True):
            theirs = gfloat.quantize_block(
                GFLOAT_BLOCK[element], row.astype(np.float64), gfloat.compute_scale_amax
            )
            if element == "mxint8":
                scale = 2.0 ** (math.frexp(float(np.abs(row).max()))[1] - 1)
                theirs = np.clip(theirs, -INT8_MAX * scale, INT8_MAX * scale)
            assert_same_bits(got, theirs.astype(np.float32))


def representable(element: str) -> np.ndarray:
    """The finite non-negative values of an element format, from the oracles, ascending."""
    if element == "mxint8":
        return np.arange(128) / 64
    fmt = mx.ELEMENTS[element]
    values = np.arange(1 << fmt.bits, dtype=np.uint8).view(FLOAT_TYPES[element])
    values = values.astype(np.float64)
    return np.unique(np.abs(values[np.isfinite(values)]))


@pytest.mark.parametrize("element", ELEMENTS)
def test_ties_between_neighbours(element):
    fmt = mx.ELEMENTS[element]
    grid = representable(element)
    assert grid.max() == fmt.max_value
    mids = ((grid[:-1] + grid[1:]) / 2).astype(np.float32)  # exact: a few bits each
    ties = np.concatenate([mids, -mids])
    probes = np.concatenate(
        [ties, np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, -np.inf)]
    )
    # each block holds the largest value, which pins the shared exponent at 0, and 31 probes
    probes = np.pad(probes, (0, -probes.size % 31)).reshape(-1, 31)
    x = np.concatenate([np.full((len(probes), 1), fmt.max_value, np.float32), probes], axis=1)
    codes, scales = mx.quantize_mx_codes(x, element)
    assert np.all(scales == 127)
    expected_values, expected_codes = oracle_element(element, x.astype(np.float64))
    assert np.array_equal(codes, expected_codes)
    assert_same_bits(mx.quantize_mx(x, element), expected_values)
    # a tie goes to the neighbour with the even code (even mantissa, or even integer)
    assert np.all(codes[:, 1:].reshape(-1)[: ties.size] % 2 == 0)


@pytest.mark.parametrize(
    "element, inputs, expected",
    [
        ("fp8_e4m3", [500, 460, 449, -470, 464], [448, 448, 448, -448, 448]),
        ("fp8_e5m2", [65000, 61440, -60000], [57344, 57344, -57344]),
        ("fp6_e2m3", [7.9, 7.75, -7.6], [7.5, 7.5, -7.5]),
        ("fp6_e3m2", [31, 30, -29], [28, 28, -28]),
        ("fp4_e2m1", [7.9, 7.0, -6.5], [6, 6, -6]),
        ("mxint8", [1.999, -1.995, 1.99], [INT8_MAX, -INT8_MAX, INT8_MAX]),
    ],
)
def test_saturation(element, inputs, expected):
    x = np.zeros((1, 32), np.float32)
    x[0, : len(inputs)] = inputs
    codes, scales = mx.quantize_mx_codes(x, element)
    assert scales.tolist() == [[127]]  # floor(log2 amax) is emax: the scale is 2^0
    assert_same_bits(mx.quantize_mx(x, element)[0, : len(inputs)], expected)
    assert np.array_equal(codes, oracle_quantize(x, element, -1)[1])


@pytest.mark.parametrize("element", ELEMENTS)
def test_zero_blocks(element):
    x = np.zeros((2, 64), np.float32)
    x[1, 40] = 3.0
    codes, scales = mx.quantize_mx_codes(x, element)
    assert scales[0].tolist() == [0, 0] and scales[1, 0] == 0
    assert not codes[0].any() and not codes[1, :32].any()
    values = mx.quantize_mx(x, element)
    assert not values[0].any() and not np.signbit(values[0]).any()
    assert values[1, 40] == 3.0


@pytest.mark.parametrize("element", ELEMENTS)
def test_one_dimensional_blocks_do_not_commute_with_transposition(element):
    x = np.random.default_rng(13).standard_normal((64, 64)).astype(np.float32)
    rows = mx.quantize_mx(x, element, axis=-1)
    assert not np.array_equal(rows.T, mx.quantize_mx(x.T, element, axis=-1))
    # quantizing along the other axis is the transposed quantization
    assert_same_bits(mx.quantize_mx(x, element, axis=-2), mx.quantize_mx(x.T, element).T)
    # square SMX tiles commute
    assert_same_bits(smx.quantize(x, 8, 4).T, smx.quantize(x.T, 8, 4))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40),
        elements=st.floats(width=32, allow_nan=False, allow_infinity=False),
    ),
    element=st.sampled_from(ELEMENTS),
    last=st.booleans(),
)
def test_quantize_equals_dequantized_codes(x, element, last):
    axis = -1 if last or x.ndim == 1 else -2
    values = mx.quantize_mx(x, element, axis)
    codes, scales = mx.quantize_mx_codes(x, element, axis)
    assert_same_bits(values, mx.dequantize_mx(codes, scales, element, axis, x.shape))
    assert np.all(scales < 255)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 3), st.integers(1, 40)),
        elements=st.floats(width=32, allow_nan=False, allow_infinity=False),
    ),
    element=st.sampled_from(ELEMENTS),
)
def test_pipeline_matches_the_oracle_on_any_float32(x, element):
    values, codes, scales = oracle_quantize(x, element, -1)
    assert_same_bits(mx.quantize_mx(x, element), values)
    got_codes, got_scales = mx.quantize_mx_codes(x, element)
    assert np.array_equal(got_codes, codes) and np.array_equal(got_scales, scales)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_a_user_error(bad):
    x = np.ones((3, 40), np.float32)
    x[2, 35] = bad
    with pytest.raises(UserError, match=r"the weight %w1 holds a non-finite value .* at step 3"):
        mx.quantize_mx(x, "fp8_e4m3", name="the weight %w1", step=3)
    with pytest.raises(UserError, match="tensor"):
        mx.quantize_mx_codes(x, "mxint8", axis=-2)


def test_unknown_element_and_axis():
    with pytest.raises(ValueError, match="fp8_e4m3"):
        mx.quantize_mx(np.ones(4, np.float32), "fp8")
    with pytest.raises(ValueError):
        mx.quantize_mx(np.ones(4, np.float32), "fp8_e4m3", axis=-2)
