"""The fast paths of SMX quantization and of the exact quantized GEMM against independent
oracles: exact float64 and `Fraction` arithmetic, plain NumPy reductions, and `smx.gemm`'s
exact digit slicing, on edge cases (zeros, subnormals, magnitudes near the float32 maximum,
ties, saturating tiles, products spread over hundreds of binades)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_exact_sum import rational_product

from pintac.runtime import parallel, smx
from pintac.runtime.exact_sum import ExactSum

KINDS = ("normal", "spread", "subnormal", "huge", "ties", "zeros")


def same_bits(actual: np.ndarray, expected: np.ndarray) -> bool:
    actual, expected = np.asarray(actual), np.asarray(expected)
    return (
        actual.shape == expected.shape
        and actual.dtype == expected.dtype
        and actual.tobytes() == expected.tobytes()
    )


def sample(kind: str, shape: tuple[int, ...], bits: int, seed: int) -> np.ndarray:
    """A float32 tensor of the given kind of values."""
    gen = np.random.default_rng(seed)
    if kind == "normal":
        x = gen.standard_normal(shape)
    elif kind == "spread":
        x = gen.standard_normal(shape) * np.exp2(gen.integers(-60, 61, shape))
    elif kind == "subnormal":
        x = gen.integers(-(2**22), 2**22, shape) * 2.0**-149
    elif kind == "huge":
        x = gen.uniform(-1.0, 1.0, shape) * 2.0**127 * 1.9999
    elif kind == "ties":
        # codes and half codes at the scale of the largest: half steps are ties, the top
        # ones saturate
        limit = 2 ** (bits - 1) - 1
        x = gen.integers(-limit, limit + 1, shape) + 0.5 * gen.integers(0, 2, shape)
    else:
        x = gen.standard_normal(shape)
        x[gen.random(shape) < 0.6] = 0.0
        x[gen.random(shape) < 0.2] = -0.0
    return x.astype(np.float32)


def oracle(x: np.ndarray, bits: int, rows: int, cols: int, mode: str):
    """SMX values, tile exponents and zero-tile mask of matrix `x`, tile by tile in exact
    float64 arithmetic (scaling float32 values by powers of two, np.rint and floor are
    exact there)."""
    m, n = x.shape
    limit = 2 ** (bits - 1) - 1
    values = np.zeros(x.shape, dtype=np.float32)
    exps = np.zeros((-(-m // rows), -(-n // cols)), dtype=np.int64)
    zero = np.zeros(exps.shape, dtype=bool)
    for ti, r0 in enumerate(range(0, m, rows)):
        for tj, c0 in enumerate(range(0, n, cols)):
            tile = x[r0 : r0 + rows, c0 : c0 + cols].astype(np.float64)
            amax = np.abs(tile).max()
            zero[ti, tj] = amax == 0
            e = -127 if amax == 0 else int(np.frexp(amax)[1]) - 1 - (bits - 2)
            e = min(127, max(-127, e))
            exps[ti, tj] = e
            s = np.ldexp(tile, -e)
            q = np.rint(s) if mode == "rne" else np.copysign(np.floor(np.abs(s) + 0.5), s)
            q = np.clip(q, -limit, limit) + 0.0
            values[r0 : r0 + rows, c0 : c0 + cols] = np.ldexp(q, e)
    return values, exps, zero


@pytest.fixture
def small_chunks():
    """Quantization and GEMM chunks of a few rows, on two threads: the chunked paths on the
    matrices a test can afford."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(parallel, "CHUNK_ELEMENTS", 48)
        patch.setattr(parallel, "workers", lambda: 2)
        patch.setattr(smx, "_GEMM_CHUNK_BYTES", 8 * 24)
        yield


# ---------------------------------------------------------------------------------------
# quantization


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    m=st.integers(1, 30),
    n=st.integers(1, 30),
    bits=st.sampled_from([2, 3, 8, 12, 16]),
    block=st.sampled_from([(4, 4), (2, 2), (1, 8), (8, 8), (1, 1)]),
    mode=st.sampled_from(["rne", "away"]),
    chunked=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_quantize_matrix_matches_an_exact_oracle(kind, m, n, bits, block, mode, chunked, seed):
    x = sample(kind, (m, n), bits, seed)
    want, want_e, want_zero = oracle(x, bits, *block, mode)
    with pytest.MonkeyPatch.context() as patch:
        if chunked:
            patch.setattr(parallel, "CHUNK_ELEMENTS", 48)
            patch.setattr(parallel, "workers", lambda: 2)
        got = smx.quantize_matrix(x, bits, block, mode)
    assert same_bits(got.values, want)
    assert got.exponents.tolist() == want_e.tolist()
    assert got.zero_tiles.tolist() == want_zero.tolist()


@settings(max_examples=60, deadline=None)
@given(
    lead=st.sampled_from([(), (2,), (2, 3)]),
    tiles=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    rows=st.sampled_from([1, 2, 4, 8]),
    cols=st.sampled_from([1, 2, 4, 8]),
    seed=st.integers(0, 2**32 - 1),
)
def test_tile_max_magnitude_is_the_largest_magnitude_of_each_tile(lead, tiles, rows, cols, seed):
    """Narrow matrices (fewer than _WIDE_TILE_COLUMNS tiles across) take their own path."""
    gen = np.random.default_rng(seed)
    shape = (*lead, tiles[0] * rows, tiles[1] * cols)
    x = (gen.standard_normal(shape) * np.exp2(gen.integers(-140, 120, shape))).astype(np.float32)
    x[gen.random(shape) < 0.1] = -0.0
    x[gen.random(shape) < 0.02] = np.inf
    x[gen.random(shape) < 0.02] = -np.nan
    magnitude = x.view(np.uint32) & np.uint32(0x7FFFFFFF)
    want = magnitude.reshape(*lead, tiles[0], rows, tiles[1], cols).max(axis=(-3, -1))
    scratch = np.empty(shape, dtype=np.uint32)
    got = smx._tile_max_magnitude(x.view(np.uint32), rows, cols, scratch)
    assert got.dtype == np.uint32 and got.tolist() == want.tolist()


@given(
    shape=st.tuples(st.integers(1, 5), st.integers(1, 7), st.integers(1, 9)),
    cols=st.sampled_from([1, 2, 4, 32]),
)
def test_expand_repeats_each_tile_value_along_its_row(shape, cols):
    per_tile = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    want = np.repeat(per_tile, cols, axis=-1)[..., :, None, :]
    assert same_bits(smx._expand(per_tile, cols), want)


@pytest.mark.parametrize("bits", range(smx.BITS_MIN, smx.BITS_MAX + 1))
def test_saturation_threshold_bit_patterns_compare_as_the_values(bits):
    """For every tile exponent, amax at, just below and just above (limit + 1/2) 2^e
    (and the extremes) compare with the uint32 table as with the float64 threshold."""
    e = np.arange(smx.EXP_MIN, smx.EXP_MAX + 1)
    exact = (2 ** (bits - 1) - 0.5) * np.ldexp(1.0, e)
    table = smx._saturation_threshold(bits)
    with np.errstate(over="ignore"):
        at = exact.astype(np.float32)
    candidates = [at, np.nextafter(at, np.float32(0)), np.nextafter(at, np.float32(np.inf))]
    candidates += [np.full(e.shape, np.finfo(np.float32).max), np.zeros(e.shape, np.float32)]
    for amax in candidates:
        amax = np.where(np.isfinite(amax), amax, np.finfo(np.float32).max).astype(np.float32)
        got = amax.view(np.uint32) >= table
        assert got.tolist() == (amax.astype(np.float64) >= exact).tolist()


# ---------------------------------------------------------------------------------------
# reduction groups


def greedy_groups(hk: np.ndarray, lk: np.ndarray, live: np.ndarray, budget: int, most: int):
    """Live indices by decreasing hk (stable), cut into runs while the run's first hk and
    lowest lk stay within `budget`: [(sorted indices, lowest lk)], or None for an index
    wider than the budget or more than `most` runs."""
    order = sorted(live.tolist(), key=lambda i: -int(hk[i]))
    groups: list[tuple[list[int], int]] = []
    for i in order:
        if int(hk[i]) - int(lk[i]) > budget:
            return None
        if groups and int(hk[groups[-1][0][0]]) - min(groups[-1][1], int(lk[i])) <= budget:
            groups[-1][0].append(i)
            groups[-1] = (groups[-1][0], min(groups[-1][1], int(lk[i])))
        else:
            groups.append(([i], int(lk[i])))
    if len(groups) > most:
        return None
    return [(sorted(index), lo) for index, lo in groups]


@settings(max_examples=80, deadline=None)
@given(
    k=st.integers(1, 300),
    spread=st.integers(0, 200),
    budget=st.integers(20, 53),
    seed=st.integers(0, 2**32 - 1),
)
def test_reduction_groups_partition_the_live_indices_into_exact_float64_sums(
    k, spread, budget, seed
):
    gen = np.random.default_rng(seed)

    def line_range():
        lo = gen.integers(-spread - 20, 1, k)
        hi = lo + gen.integers(1, 16, k)
        dead = gen.random(k) < 0.1
        hi[dead] = lo[dead] = 0
        return smx._LineRange(hi.astype(np.int64), lo.astype(np.int64))

    ka, kb = line_range(), line_range()
    groups = smx._reduction_groups(ka, kb, budget)
    live = np.flatnonzero((ka.hi != ka.lo) & (kb.hi != kb.lo))
    hk, lk = ka.hi + kb.hi, ka.lo + kb.lo
    most = max(smx._MAX_GROUPS, live.size // smx._GROUP_INDICES)
    want = greedy_groups(hk, lk, live, budget, most)
    if want is None:
        assert groups is None
        return
    assert [(index.tolist(), lo) for index, lo in groups] == want
    for index, lo in groups:  # each group's float64 sum is exact
        assert int(hk[index].max()) - lo <= budget


# ---------------------------------------------------------------------------------------
# exact quantized GEMMs


def quantized_operands(k: int, m: int, n: int, spread: int, seed: int):
    """Quantized a (k x m) and b (k x n) of a weight gradient op(a) = a.T, whose rows
    (the reduction) share a magnitude 2^s_k, s_k spread over `spread` binades."""
    gen = np.random.default_rng(seed)
    scale = np.exp2(gen.integers(-spread, spread + 1, (k, 1)))
    a = (gen.standard_normal((k, m)) * scale).astype(np.float32)
    g = gen.standard_normal((k, n)) * scale * np.exp2(gen.integers(-3, 4, (1, n)))
    g[gen.integers(0, k, max(1, k // 20))] = 0.0  # rows that contribute nothing
    return smx.quantize_matrix(a, 8), smx.quantize_matrix(g.astype(np.float32), 12)


@settings(max_examples=30, deadline=None)
@given(
    k=st.integers(1, 40),
    m=st.integers(1, 4),
    n=st.integers(1, 4),
    spread=st.sampled_from([0, 3, 20, 60, 110]),
    seed=st.integers(0, 2**32 - 1),
)
def test_quantized_gemm_and_exact_sum_match_fractions(k, m, n, spread, seed):
    a, b = quantized_operands(k, m, n, spread, seed)
    want = rational_product(a.values.T, b.values)
    assert same_bits(smx.gemm_quantized(a, b, transpose_a=True), want)
    total = ExactSum((m, n))
    cut = k // 8 * 4  # whole tile rows: the parts hold the same tiles
    for rows in (slice(0, cut), slice(cut, k)):
        part_a = smx.quantize_matrix(a.values[rows], 8)
        part_b = smx.quantize_matrix(b.values[rows], 12)
        total.add_product(part_a, part_b, transpose_a=True)
    assert same_bits(total.rounded(), want)


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("spread", [0, 8, 40, 120])
@pytest.mark.parametrize("seed", range(3))
def test_quantized_gemm_routes_agree_with_the_exact_digit_path(request, chunked, spread, seed):
    """Every route of `gemm_quantized` (float32, float64, one group as float64, several
    groups) and of `ExactSum`, with each operand stored transposed or not, and reductions
    in parallel parts: the bits of `smx.gemm`'s exact digit slicing."""
    if chunked:
        request.getfixturevalue("small_chunks")
    gen = np.random.default_rng(seed)
    k, m, n = int(gen.integers(60, 400)), int(gen.integers(1, 12)), int(gen.integers(1, 30))
    a, b = quantized_operands(k, m, n, spread, seed)
    want = smx.gemm(a.values, b.values, transpose_a=True)
    assert same_bits(smx.gemm_quantized(a, b, transpose_a=True), want)
    a_t = smx.quantize_matrix(np.ascontiguousarray(a.values.T), 8)  # op(a) stored as is
    b_t = smx.quantize_matrix(np.ascontiguousarray(b.values.T), 12)  # op(b) transposed
    assert same_bits(smx.gemm_quantized(a_t, b_t, transpose_b=True), want)
    total = ExactSum((m, n))
    for start in range(0, k, 64):
        rows = slice(start, start + 64)
        total.add_product(
            smx.quantize_matrix(a.values[rows], 8),
            smx.quantize_matrix(b.values[rows], 12),
            transpose_a=True,
        )
    assert same_bits(total.rounded(), want)
    # the forward direction: rows of op(a) in blocks, the reduction short
    x = smx.quantize_matrix(a.values, 8)
    w = smx.quantize_matrix(gen.standard_normal((m, n)).astype(np.float32), 8)
    assert same_bits(smx.gemm_quantized(x, w), smx.gemm(x.values, w.values))


def test_a_long_reduction_over_hundreds_of_binades_is_grouped_not_sliced():
    """More groups than _MAX_GROUPS when the reduction is long enough to pay for them: the
    exact result, and no call of `gemm`'s digit slicing."""
    k, m, n = 20 * smx._GROUP_INDICES, 2, 3
    gen = np.random.default_rng(5)
    scale = np.exp2(gen.integers(-124, 124, (k, 1)))
    a = smx.quantize_matrix((gen.standard_normal((k, m)) * scale).astype(np.float32), 8)
    b = smx.quantize_matrix((gen.standard_normal((k, n)) * scale).astype(np.float32), 12)
    budget = 53 - (k - 1).bit_length()
    groups = smx._reduction_groups(a.line_range(1), b.line_range(1), budget)
    assert groups is not None and len(groups) > smx._MAX_GROUPS
    want = smx.gemm(a.values, b.values, transpose_a=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(smx, "_exact_parts", lambda *args: pytest.fail("sliced"))
        assert same_bits(smx.gemm_quantized(a, b, transpose_a=True), want)
        total = ExactSum((m, n))
        total.add_product(a, b, transpose_a=True)
        assert same_bits(total.rounded(), want)


@pytest.mark.parametrize("transpose_a", [False, True])
def test_a_gemm_with_a_few_wide_rows_splits_into_float32_and_float64_rows(transpose_a):
    """A tall GEMM with a short reduction whose rows are exact in float32 but for a few
    with widely spread tiles (and one at the subnormal floor): the float32 GEMM gives the
    others, float64 those, and the bits are `gemm`'s; `ExactSum` adds the same product."""
    gen = np.random.default_rng(11)
    m, k, n = 2 * smx._SPLIT_MIN_ROWS, 8, 64
    x = gen.standard_normal((m, k))
    tiles = gen.choice(m // 4, m // 200, replace=False)
    wide = (4 * tiles[:, None] + np.arange(4)).reshape(-1)  # whole tile rows
    x[wide, :4] *= 2.0**-20  # one tile column far below the other: wide rows
    x[wide[:4]] *= 2.0**-100
    x = x.astype(np.float32)
    a = smx.quantize_matrix(np.ascontiguousarray(x.T) if transpose_a else x, 12)
    b = smx.quantize_matrix(gen.standard_normal((k, n)).astype(np.float32), 8)
    route = smx._quantized_route(a, b, transpose_a, False)
    assert route.kind == "split" and 0 < route.rows.size <= m * smx._SPLIT_MAX_FLOAT64
    want = smx.gemm(a.values, b.values, transpose_a=transpose_a)
    assert same_bits(smx.gemm_quantized(a, b, transpose_a=transpose_a), want)
    total = ExactSum((m, n))
    total.add_product(a, b, transpose_a=transpose_a)
    assert same_bits(total.rounded(), want)


@settings(max_examples=60, deadline=None)
@given(
    tiles=st.tuples(st.integers(1, 40), st.integers(1, 20)),
    block=st.sampled_from([(4, 4), (1, 8), (8, 1), (2, 2)]),
    zero_share=st.sampled_from([0.0, 0.3, 1.0]),
    axis=st.sampled_from([0, 1]),
    seed=st.integers(0, 2**32 - 1),
)
def test_line_ranges_bound_each_line_by_its_nonzero_tiles(tiles, block, zero_share, axis, seed):
    """Narrow matrices (a few tiles wide) reduce column by column; the bounds are those of
    a plain loop over each line's tiles."""
    gen = np.random.default_rng(seed)
    exponents = gen.integers(-127, 120, tiles).astype(np.int32)
    zero = gen.random(tiles) < zero_share
    exponents[zero] = smx.EXP_MIN
    rows, cols = block
    shape = (tiles[0] * rows - int(gen.integers(0, rows)), tiles[1] * cols)
    q = smx.Quantized(np.zeros(shape, np.float32), exponents, 8, block, zero_tiles=zero)
    got = q.line_range(axis)
    lines = shape[0] if axis == 1 else shape[1]
    for line in range(lines):
        tile = line // (rows if axis == 1 else cols)
        es = exponents[tile] if axis == 1 else exponents[:, tile]
        live = es[~(zero[tile] if axis == 1 else zero[:, tile])]
        want = (int(live.max()) + 7, int(live.min())) if live.size else (0, 0)
        assert (int(got.hi[line]), int(got.lo[line])) == want
