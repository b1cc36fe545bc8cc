"""The compiled SMX quantizer (`smx_tiles`, behind `smx.quantize_matrix`) against the NumPy
one (`smx.quantize`, `smx.quantize_codes`), bit for bit; the rational oracle of
test_smx_numerics.py checks both through `quantize_matrix` as well."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pintac.core.errors import UserError
from pintac.runtime import parallel, smx

ROUNDINGS = ("rne", "away")


def assert_same(x, bits, block, rounding):
    got = smx.quantize_matrix(x, bits, (block, block), rounding)
    expected = smx.quantize(x, bits, block, rounding)
    bad = got.values.view(np.uint32) != expected.view(np.uint32)
    assert not bad.any(), f"values differ first at {np.argwhere(bad)[0]}"
    _, exponents = smx.quantize_codes(x, bits, block, rounding)
    np.testing.assert_array_equal(got.exponents, exponents)
    m, n = x.shape
    padded = np.zeros((-(-m // block) * block, -(-n // block) * block), np.float32)
    padded[:m, :n] = np.abs(x)
    tiles = padded.reshape(padded.shape[0] // block, block, -1, block).max(axis=(1, 3))
    np.testing.assert_array_equal(got.zero_tiles, tiles == 0)


any_float32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
#: magnitudes from the subnormals to float32's largest, ties of the grids among them
spread = st.sampled_from([-149, -140, -126, -60, -3, 0, 7, 60, 100, 120, 127])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    bits=st.integers(2, 16),
    block=st.sampled_from([1, 2, 4, 8, 16]),
    rounding=st.sampled_from(ROUNDINGS),
    data=st.data(),
)
def test_equals_the_numpy_quantizer_on_any_float32(shape, bits, block, rounding, data):
    x = data.draw(hnp.arrays(np.float32, shape, elements=any_float32))
    assert_same(x, bits, block, rounding)


@settings(max_examples=100, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 24), st.integers(1, 24)),
    bits=st.integers(2, 16),
    block=st.sampled_from([2, 4, 8]),
    rounding=st.sampled_from(ROUNDINGS),
    exponent=spread,
    steps=st.sampled_from([2, 4, 8]),
    seed=st.integers(0, 2**32 - 1),
)
def test_equals_the_numpy_quantizer_on_grid_ties_and_saturation(
    shape, bits, block, rounding, exponent, steps, seed
):
    """Values on a grid of halves of 2^exponent: many exact ties, tiles at and just past the
    saturation threshold, zeros of both signs, subnormal and near-overflow tiles."""
    gen = np.random.default_rng(seed)
    halves = gen.integers(-(2**bits) * steps, 2**bits * steps + 1, shape)
    top = float(np.finfo(np.float32).max)
    x = np.clip(halves * np.ldexp(0.5, exponent - bits), -top, top).astype(np.float32)
    x[gen.random(shape) < 0.2] = -0.0
    assert_same(x, bits, block, rounding)


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize("layout", ["transposed", "strided"])
def test_views_that_are_not_contiguous(rounding, layout):
    gen = np.random.default_rng(3)
    base = (gen.standard_normal((70, 90)) * np.exp2(gen.integers(-20, 20, (70, 90)))).astype(
        np.float32
    )
    x = base.T if layout == "transposed" else base[::2, 1::3]
    assert_same(x, 8, 4, rounding)
    assert_same(np.ascontiguousarray(x), 8, 4, rounding)


@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_row_chunks_on_the_pool(monkeypatch, rounding):
    """A matrix of several chunks (one ending in a partial tile row) quantizes as the NumPy
    quantizer does the whole."""
    monkeypatch.setattr(parallel, "CHUNK_ELEMENTS", 1 << 10)
    x = np.random.default_rng(4).standard_normal((203, 37)).astype(np.float32)
    x[100:104] *= 1e30
    assert_same(x, 12, 4, rounding)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_names_the_tensor_and_the_index(monkeypatch, bad):
    monkeypatch.setattr(parallel, "CHUNK_ELEMENTS", 1 << 10)
    x = np.ones((300, 16), np.float32)
    x[250, 7] = bad
    with pytest.raises(UserError, match=r"dW1 holds a non-finite value .* at step 3.*\[250, 7\]"):
        smx.quantize_matrix(x, 8, (4, 4), name="dW1", step=3)


def test_without_numba_the_numpy_quantizer_gives_the_same_bits(monkeypatch):
    x = np.random.default_rng(5).standard_normal((203, 37)).astype(np.float32)
    compiled = smx.quantize_matrix(x, 8, (4, 4), "away")
    assert smx.compiled_quantizer()
    monkeypatch.setattr(smx, "compiled_quantizer", lambda: False)
    monkeypatch.setattr(smx, "_compiled_matrix_values", None)  # never called
    numpy_only = smx.quantize_matrix(x, 8, (4, 4), "away")
    np.testing.assert_array_equal(
        numpy_only.values.view(np.uint32), compiled.values.view(np.uint32)
    )
    np.testing.assert_array_equal(numpy_only.exponents, compiled.exponents)
