"""Kernels of the ops that depend on a point's place in the batch, run on tiles of points.

A tile holds points [first, first + T) of the batch; given `first` (or, for the loss
gradient, the batch's row count), each kernel's result on the tile is the same rows of its
result on the whole batch, bit for bit, for every tile size (dividing the batch or not) and
odd draw counts per point (Box–Muller pairs and Philox blocks that straddle tiles).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import DYNAMIC_INDEX, IndexType, TensorType, f32, i64
from xdsl.utils.test_value import create_ssa_value

from pintac.dialects import smx as smx_dialect
from pintac.dialects import stein, train
from pintac.runtime import kernels_core, kernels_smx, kernels_stein, kernels_taylor, rng
from pintac.runtime.kernels import run_op

SEED, STEP = 2**40 + 17, 3
FAST = settings(max_examples=40, deadline=None)


def tiles(n: int, size: int) -> list[tuple[int, int]]:
    """[first, stop) of the tiles of `size` points covering n points (the last may be short)."""
    return [(first, min(first + size, n)) for first in range(0, n, size)]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def tiled(kernel, n: int, size: int) -> np.ndarray:
    """The tiles' results of `kernel(first, stop)`, concatenated along the points."""
    return np.concatenate([kernel(first, stop) for first, stop in tiles(n, size)])


def points(n: int, d: int) -> np.ndarray:
    return np.random.default_rng(n * 31 + d).standard_normal((n, d)).astype(np.float32)


# ------------------------------------------------------------------------------------ rng


@FAST
@given(start=st.integers(0, 1000), count=st.integers(0, 37), stream=st.integers(0, 2**32 - 1))
def test_a_range_of_a_stream_is_its_slice(start, count, stream):
    """Words, uniforms and Gaussians from `start` (inside a Philox block, inside a
    Box–Muller pair) are the whole-stream draw's slice."""
    stop = start + count
    words = rng.random_words(SEED, STEP, stream, stop)
    assert same_bits(rng.random_words(SEED, STEP, stream, count, start=start), words[start:])
    uniform = rng.uniform(SEED, STEP, stream, stop)
    assert same_bits(rng.uniform(SEED, STEP, stream, count, start=start), uniform[start:])
    normal = rng.normal(SEED, STEP, stream, stop)
    assert same_bits(rng.normal(SEED, STEP, stream, count, start=start), normal[start:])


@FAST
@given(start=st.integers(2**32 - 9, 2**32 + 9), count=st.integers(1, 9))
def test_words_past_the_counters_low_word_follow_the_layout(start, count):
    """Word w is lane w % 4 of the Philox block whose counter is (w // 4 as two 32-bit
    words, step, stream): a start beyond 2^32 words carries into the counter's high word."""
    blocks = [(w // 4, w % 4) for w in range(start, start + count)]
    counters = np.array([[b & 0xFFFFFFFF, b >> 32, STEP, 7] for b, _ in blocks], dtype=np.uint32)
    key = (SEED & 0xFFFFFFFF, SEED >> 32)
    expected = rng.philox4x32(counters, key)[np.arange(count), [lane for _, lane in blocks]]
    assert same_bits(rng.random_words(SEED, STEP, 7, count, start=start), expected)


def test_a_negative_start_is_refused():
    with pytest.raises(ValueError, match="the first word index must be >= 0, got -1"):
        rng.random_words(SEED, STEP, 0, 4, start=-1)


# ----------------------------------------------------------------------------- samplers


@FAST
@given(
    n=st.integers(1, 23),
    size=st.integers(1, 25),
    pairs=st.integers(1, 5),
    d=st.integers(1, 3),
    time_sigma=st.booleans(),
)
def test_stein_sample_of_a_tile_is_the_batch_rows(n, size, pairs, d, time_sigma):
    params = {
        "pairs": pairs,
        "sigma": 0.01,
        "sigma_t": 0.02 if time_sigma and d > 1 else None,
        "stream": 5,
    }
    x = points(n, d)
    whole = kernels_stein.stein_sample(x, SEED, STEP, **params)

    def tile(first, stop):
        return kernels_stein.stein_sample(x[first:stop], SEED, STEP, first, **params)

    assert same_bits(tiled(tile, n, size), whole)


@FAST
@given(
    n=st.integers(1, 23),
    size=st.integers(1, 25),
    samples=st.integers(1, 7),
    lo_hi=st.sampled_from([(0, 5), (1, 4), (2, 3)]),
)
def test_sample_coordinates_of_a_tile_are_the_batch_rows(n, size, samples, lo_hi):
    lo, hi = lo_hi
    params = {"lo": lo, "hi": hi, "samples": samples, "stream": 2}
    x = points(n, 5)
    whole = kernels_taylor.sample_coordinates(x, SEED, STEP, **params)

    def tile(first, stop):
        return kernels_taylor.sample_coordinates(x[first:stop], SEED, STEP, first, **params)

    assert same_bits(tiled(tile, n, size), whole)


def test_a_tile_draws_other_numbers_than_the_batch_start():
    """The offset is used: a tile at first = 3 is not the batch's first rows."""
    x = points(8, 2)
    params = {"pairs": 3, "sigma": 0.1, "sigma_t": None, "stream": 0}
    at_three = kernels_stein.stein_sample(x[3:6], SEED, STEP, 3, **params)
    assert not np.array_equal(at_three, kernels_stein.stein_sample(x[:3], SEED, STEP, **params))
    coords = {"lo": 0, "hi": 2, "samples": 8, "stream": 0}
    words = kernels_taylor.sample_coordinates(x[3:6], SEED, STEP, 3, **coords)
    assert not np.array_equal(words, kernels_taylor.sample_coordinates(x[:3], SEED, STEP, **coords))


# -------------------------------------------------------------------------- loss gradient


@FAST
@given(n=st.integers(1, 40), size=st.integers(1, 41), cols=st.integers(1, 3))
def test_mean_square_grad_of_a_tile_is_the_batch_rows(n, size, cols):
    r = points(n, cols) * np.float32(3.7)
    dl = np.asarray(np.float32(0.37))
    whole = kernels_core.mean_square_grad(r, dl)

    def tile(first, stop):
        return kernels_core.mean_square_grad(r[first:stop], dl, n)

    assert same_bits(tiled(tile, n, size), whole)


def test_mean_square_grad_divides_by_the_count():
    r = np.ones((2, 1), np.float32)
    got = kernels_core.mean_square_grad(r, np.asarray(np.float32(1.0)), 8)
    assert got.tolist() == [[0.25], [0.25]]


# --------------------------------------------------------------------- stochastic rounding


def quantize(x, first=None, *, block, per_point=None, bits=8):
    key = (SEED, STEP) if first is None else (SEED, STEP, first)
    return kernels_smx.quantize(
        x,
        *key,
        element=f"int{bits}",
        bits=bits,
        block=block,
        rounding="stochastic",
        stream=4,
        name="%x",
        per_point=per_point,
    )


@FAST
@given(
    n=st.integers(1, 20),
    tile_units=st.integers(1, 6),
    rows_per_point=st.integers(1, 5),
    cols=st.integers(1, 11),
    block=st.sampled_from([(1, 1), (2, 2), (4, 4), (8, 8), (1, 4), (1, 8)]),
    bits=st.sampled_from([4, 8, 12]),
)
def test_stochastic_quantization_of_a_tile_is_the_batch_rows(
    n, tile_units, rows_per_point, cols, block, bits
):
    """Each point has `rows_per_point` rows of the matrix (a flattened batch of evaluations);
    a tile is a whole number of block rows, except the batch's last one."""
    b = block[0]
    size = tile_units * (b // math.gcd(rows_per_point, b))
    x = points(n * rows_per_point, cols) * np.float32(5.0)
    whole = quantize(x, block=block, bits=bits)
    per_point = rows_per_point * cols

    def tile(first, stop):
        part = x[first * rows_per_point : stop * rows_per_point]
        return quantize(part, first, block=block, per_point=per_point, bits=bits).values

    assert same_bits(tiled(tile, n, size), whole.values)


def test_stochastic_quantization_of_a_stack_draws_from_its_offset():
    """Rank 3 (a stack of matrices) takes the offset too: the second half of the stack is
    the second half of the whole."""
    x = points(4 * 8, 4).reshape(4, 8, 4)
    whole = quantize(x, block=(4, 4))
    half = quantize(x[2:], 2, block=(4, 4), per_point=8 * 4)
    assert same_bits(half, whole[2:])


def test_an_offset_changes_the_draws():
    x = points(8, 8) * np.float32(5.0)
    at_zero = quantize(x, 0, block=(4, 4), per_point=8).values
    assert same_bits(at_zero, quantize(x, block=(4, 4)).values)
    assert not np.array_equal(quantize(x, 1, block=(4, 4), per_point=8).values, at_zero)


def test_column_blocks_take_no_offset():
    """b x 1 blocks quantize the transposed matrix, whose draws a row tile cannot place."""
    x = points(8, 4)
    with pytest.raises(ValueError, match="transposed tensor's index"):
        quantize(x, 1, block=(4, 1), per_point=4)


# ------------------------------------------------------------------- from the ops, by run_op


def index_value():
    return create_ssa_value(IndexType())


def tensor(*shape):
    return create_ssa_value(TensorType(f32, shape))


def test_the_ops_pass_first_and_count_to_their_kernels():
    """run_op hands the new operand to each kernel as its trailing positional argument."""
    n, tile_rows, first = 10, 4, 6
    x = points(n, 3)
    key = create_ssa_value(i64)
    sample = stein.SampleOp(tensor(DYNAMIC_INDEX, 3), key, key, 2, 0.1, 1, first=index_value())
    whole = kernels_stein.stein_sample(x, SEED, STEP, pairs=2, sigma=0.1, sigma_t=None, stream=1)
    (got,) = run_op(sample, x[first : first + tile_rows], SEED, STEP, first)
    assert same_bits(got, whole[first : first + tile_rows])

    coords = train.SampleCoordinatesOp(
        tensor(DYNAMIC_INDEX, 3), key, key, 0, 3, 4, 1, first=index_value()
    )
    whole = kernels_taylor.sample_coordinates(x, SEED, STEP, lo=0, hi=3, samples=4, stream=1)
    (got,) = run_op(coords, x[first : first + tile_rows], SEED, STEP, first)
    assert same_bits(got, whole[first : first + tile_rows])

    grad = train.MeanSquareGradOp(tensor(DYNAMIC_INDEX, 3), tensor(), index_value())
    dl = np.asarray(np.float32(1.5))
    (got,) = run_op(grad, x[first : first + tile_rows], dl, n)
    assert same_bits(got, kernels_core.mean_square_grad(x, dl)[first : first + tile_rows])


def test_quantize_passes_first_and_per_point_to_its_kernel():
    x = points(16, 8) * np.float32(5.0)
    key = create_ssa_value(i64)
    fmt = smx_dialect.FormatAttr.smx(8, 4)
    op = smx_dialect.QuantizeOp(
        tensor(DYNAMIC_INDEX, 8), fmt, "stochastic", 4, (key, key), index_value(), per_point=8
    )
    (got,) = run_op(op, x[8:], SEED, STEP, 8)
    assert same_bits(got.values, quantize(x, block=(4, 4)).values[8:])
