"""SMX quantization and the exact quantized GEMM against independent exact oracles."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pintac.core.errors import UserError
from pintac.runtime import rng, smx

F32_MAX = float(np.finfo(np.float32).max)
F32_TINY = 2.0**-149


def bits_of(x):
    return np.asarray(x, dtype=np.float32).view(np.uint32)


def assert_same_bits(actual, expected):
    actual = np.asarray(actual, dtype=np.float32)
    expected = np.asarray(expected, dtype=np.float32)
    assert actual.shape == expected.shape
    bad = bits_of(actual) != bits_of(expected)
    assert not bad.any(), (
        f"{int(bad.sum())} differ; first at {np.argwhere(bad)[0]}: "
        f"{actual[bad][0]!r} != {expected[bad][0]!r}"
    )


# ---------------------------------------------------------------------------------------------
# Oracle: one tile at a time, in exact rationals
# ---------------------------------------------------------------------------------------------


def floor_log2(value: Fraction) -> int:
    """floor(log2 value) for value > 0, by comparison with powers of two."""
    k = value.numerator.bit_length() - value.denominator.bit_length()
    while Fraction(2) ** k > value:
        k -= 1
    while Fraction(2) ** (k + 1) <= value:
        k += 1
    return k


def round_rational(s: Fraction, mode: str) -> int:
    low = s.numerator // s.denominator  # floor
    rest = s - low
    if rest > Fraction(1, 2):
        return low + 1
    if rest < Fraction(1, 2):
        return low
    if mode == "rne":
        return low if low % 2 == 0 else low + 1
    return low + 1 if s > 0 else low  # away from zero


def oracle_matrix(x: np.ndarray, bits: int, block: int, mode: str, draws=None) -> np.ndarray:
    """SMX of a 2-D float32 matrix; `draws[i, j]` in (0, 1] for stochastic rounding."""
    rows, cols = x.shape
    limit = 2 ** (bits - 1) - 1
    out = np.zeros(x.shape, dtype=np.float32)
    for r0 in range(0, rows, block):
        for c0 in range(0, cols, block):
            tile = [
                (i, j, Fraction(float(x[i, j])))
                for i in range(r0, min(r0 + block, rows))
                for j in range(c0, min(c0 + block, cols))
            ]
            amax = max(abs(v) for _, _, v in tile)
            e = -127 if amax == 0 else min(127, max(-127, floor_log2(amax) - (bits - 2)))
            for i, j, v in tile:
                s = v / Fraction(2) ** e
                if mode == "stochastic":
                    u = 1 - Fraction(float(draws[i, j]))  # [0, 1)
                    q = (s + u).numerator // (s + u).denominator
                else:
                    q = round_rational(s, mode)
                q = max(-limit, min(limit, q))
                out[i, j] = float(Fraction(q) * Fraction(2) ** e)  # exact in float32
    return out


def oracle(x: np.ndarray, bits: int, block: int, mode: str, draws=None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        # one row: its tiles are 1 x block
        d = None if draws is None else draws.reshape(1, -1)
        return oracle_matrix(x.reshape(1, -1), bits, block, mode, d).reshape(x.shape)
    flat = x.reshape(-1, *x.shape[-2:])
    d = None if draws is None else draws.reshape(flat.shape)
    out = [
        oracle_matrix(m, bits, block, mode, None if d is None else d[k]) for k, m in enumerate(flat)
    ]
    return np.stack(out).reshape(x.shape)


def wide_random(gen, shape, spread=60):
    """float32 values of random sign, significand and exponent (some zeros)."""
    x = gen.standard_normal(shape) * np.exp2(gen.integers(-spread, min(spread, 124), shape))
    x[gen.random(shape) < 0.1] = 0.0
    return x.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Quantization against the oracle
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["rne", "away"])
def test_matches_rational_oracle_on_random_matrices(mode):
    gen = np.random.default_rng(1)
    for trial in range(60):
        bits = int(gen.integers(2, 17))
        block = int(gen.choice([1, 2, 4, 8]))
        shape = tuple(int(d) for d in gen.integers(1, 11, 2))
        if trial % 3 == 0:
            x = wide_random(gen, shape, spread=140)
        else:
            # a narrow spread and coarse values, so ties and saturation happen
            x = gen.integers(-600, 600, shape) / 4 * 2.0 ** int(gen.integers(-20, 20))
            x = x.astype(np.float32)
        assert_same_bits(smx.quantize(x, bits, block, mode), oracle(x, bits, block, mode))


def test_matches_oracle_on_stacks_and_rank_one():
    gen = np.random.default_rng(2)
    x3 = wide_random(gen, (3, 5, 7))
    assert_same_bits(smx.quantize(x3, 6, 4), oracle(x3, 6, 4, "rne"))
    x1 = wide_random(gen, (13,))
    assert_same_bits(smx.quantize(x1, 8, 4, "away"), oracle(x1, 8, 4, "away"))
    assert_same_bits(smx.quantize(x1, 8, 1), oracle(x1, 8, 1, "rne"))


matrices = hnp.arrays(
    np.float32,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=19),
    elements=st.floats(width=32, allow_nan=False, allow_infinity=False, allow_subnormal=True),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=matrices,
    bits=st.integers(2, 16),
    block=st.sampled_from(smx.BLOCK_SIZES),
    mode=st.sampled_from(["rne", "away"]),
)
def test_transpose_commutes(x, bits, block, mode):
    assert_same_bits(smx.quantize(x, bits, block, mode).T, smx.quantize(x.T, bits, block, mode))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=matrices,
    bits=st.integers(2, 16),
    block=st.sampled_from([1, 2, 4, 8]),
    mode=st.sampled_from(["rne", "away"]),
)
def test_matches_rational_oracle_on_any_float32(x, bits, block, mode):
    assert_same_bits(smx.quantize(x, bits, block, mode), oracle(x, bits, block, mode))


@settings(max_examples=40, deadline=None)
@given(x=matrices, bits=st.integers(2, 16), block=st.sampled_from([1, 2, 4, 8]))
def test_transpose_under_stochastic_rounding(x, bits, block):
    """Exponents commute; each value is its own draw: Q(X.T) uses X.T's row-major indices."""
    key = (7, 3, 1)
    codes, exps = smx.quantize_codes(x, bits, block, "stochastic", key=key)
    codes_t, exps_t = smx.quantize_codes(x.T, bits, block, "stochastic", key=key)
    assert np.array_equal(exps.T, exps_t)
    draws_t = rng.uniform(7, 3, rng.STREAM_ROUNDING + 1, x.T.shape)
    expected = oracle(x.T, bits, block, "stochastic", draws_t)
    assert_same_bits(smx.quantize(x.T, bits, block, "stochastic", key=key), expected)
    # both are roundings of the same value on the same grid: they differ by at most one step
    assert np.all(np.abs(codes.T.astype(np.int64) - codes_t) <= 1)


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=11),
        elements=st.floats(width=32, allow_nan=False, allow_infinity=False),
    ),
    bits=st.integers(2, 16),
    block=st.sampled_from(smx.BLOCK_SIZES),
    mode=st.sampled_from(smx.ROUNDINGS),
)
def test_quantize_equals_dequantized_codes(x, bits, block, mode):
    key = (1, 2, 3)
    values = smx.quantize(x, bits, block, mode, key=key)
    codes, exps = smx.quantize_codes(x, bits, block, mode, key=key)
    assert codes.dtype == np.int32 and exps.dtype == np.int16
    limit = 2 ** (bits - 1) - 1
    assert np.all(np.abs(codes) <= limit)
    assert np.all((exps >= -127) & (exps <= 127))
    if x.ndim == 1:
        assert codes.shape == (-(-x.shape[0] // block) * block,)
        assert exps.shape == (codes.shape[0] // block,)
    else:
        padded = tuple(-(-d // block) * block for d in x.shape[-2:])
        assert codes.shape == x.shape[:-2] + padded
        assert exps.shape == x.shape[:-2] + tuple(d // block for d in padded)
    assert_same_bits(values, smx.dequantize(codes, exps, block, x.shape))
    assert not np.signbit(values[values == 0]).any()


# ---------------------------------------------------------------------------------------------
# Edge cases
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale_exp", [-127, -60, 0, 40, 100, 115])
def test_exact_ties(scale_exp):
    # amax 100 * 2^p puts the grid at 2^p for 8 bits (e = 6 - 6 + p)
    step = 2.0**scale_exp
    x = np.array([[100, 2.5, 3.5, -2.5], [-3.5, 0.5, -0.5, 1.5]], dtype=np.float64) * step
    x = x.astype(np.float32)
    rne = np.array([[100, 2, 4, -2], [-4, 0, 0, 2]]) * step
    away = np.array([[100, 3, 4, -3], [-4, 1, -1, 2]]) * step
    codes, exps = smx.quantize_codes(x, 8, 4)
    assert exps.tolist() == [[scale_exp]]
    assert_same_bits(smx.quantize(x, 8, 4, "rne"), rne)
    assert_same_bits(smx.quantize(x, 8, 4, "away"), away)
    # just off the tie, both modes agree with the nearer neighbour
    above = np.nextafter(x, np.float32(np.inf))
    assert_same_bits(smx.quantize(above, 8, 4, "rne"), smx.quantize(above, 8, 4, "away"))
    assert_same_bits(smx.quantize(above, 8, 4), oracle(above, 8, 4, "rne"))
    # a stochastic rounding of a tie is one of its two neighbours
    st_codes, _ = smx.quantize_codes(x, 8, 4, "stochastic", key=(0, 0, 0))
    assert np.all(np.abs(st_codes - codes) <= 1)


@pytest.mark.parametrize("power", [-149, -140, -126, -1, 0, 1, 20, 127])
@pytest.mark.parametrize("bits", [2, 8, 16])
def test_amax_at_and_just_below_a_power_of_two(power, bits):
    at = np.float32(2.0**power)
    below = np.nextafter(at, np.float32(0))
    x = np.array([[at, -at / 3], [0, at / 5]], dtype=np.float32)
    _, exps = smx.quantize_codes(x, bits, 2)
    assert exps[0, 0] == max(-127, min(127, power - (bits - 2)))
    x[0, 0] = below
    _, exps = smx.quantize_codes(x, bits, 2)
    if below > 0:
        assert exps[0, 0] == max(-127, power - 1 - (bits - 2))
    assert_same_bits(smx.quantize(x, bits, 2), oracle(x, bits, 2, "rne"))


def test_all_zero_tiles_and_mixed_tiles():
    x = np.zeros((8, 8), dtype=np.float32)
    x[0, 0] = -0.0
    x[4:, 4:] = [[3.0, 0, 0, 0], [0] * 4, [0, 0, -1e-3, 0], [0] * 4]
    codes, exps = smx.quantize_codes(x, 8, 4)
    assert exps.tolist() == [[-127, -127], [-127, 1 - 6]]
    assert not codes[:4].any() and not codes[:, :4].any()
    values = smx.quantize(x, 8, 4)
    assert_same_bits(values[:4], np.zeros((4, 8)))  # +0.0, also for the -0.0 input
    assert_same_bits(values, oracle(x, 8, 4, "rne"))
    assert values[6, 6] == 0.0  # 1e-3 is below half a step of 2^-5


def test_saturation_at_the_top():
    # e = 0 for 8 bits; 127.5 rounds to 128 (even, or away), which clips to 127
    x = np.array([[127.5, -127.5, 127.75, -127.25]], dtype=np.float32)
    for mode in ("rne", "away"):
        codes, exps = smx.quantize_codes(x, 8, 4, mode)
        assert exps.tolist() == [[0]]
        assert codes.tolist()[0] == [127, -127, 127, -127]
    codes, _ = smx.quantize_codes(np.float32([[1.75, 1.25]]), 2, 2)  # limit 1 for 2 bits
    assert codes.tolist()[0] == [1, 1]
    # stochastic rounding saturates too
    codes, _ = smx.quantize_codes(
        np.full((4, 4), 127.9, np.float32), 8, 4, "stochastic", key=(0, 0, 0)
    )
    assert np.all(codes == 127)


@pytest.mark.parametrize("bits", [3, 8, 12])
@pytest.mark.parametrize("block", [2, 4])
@pytest.mark.parametrize("mode", ["rne", "away"])
def test_saturating_tiles_in_stacks_padded_shapes_and_chunks(request, bits, block, mode):
    """Tiles whose amax lies just below a power of two round a value up to 2^(bits-1) steps
    and clip it; in a stack of matrices, at padded edges and in row chunks."""
    gen = np.random.default_rng(bits * block)
    x = gen.uniform(-2, 2, (3, 9, 10))
    # amax in [2 - 2^(1-bits), 2): (limit + 1/2) grid steps or more
    top = np.copysign(2 - gen.uniform(0, 2.0 ** (1 - bits), x.shape), x)
    pick = gen.random(x.shape) < 0.1
    x[pick] = top[pick]
    x = x.astype(np.float32)
    assert ((np.abs(x) >= 2 - 2.0 ** (1 - bits)) & (np.abs(x) < 2)).sum() > 5
    want = oracle(x, bits, block, mode)
    assert_same_bits(smx.quantize(x, bits, block, mode), want)
    request.getfixturevalue("small_chunks")
    got = smx.quantize_matrix(x[1], bits, (block, block), mode)
    assert_same_bits(got.values, want[1])


def test_subnormal_inputs():
    gen = np.random.default_rng(3)
    x = (gen.standard_normal((6, 6)) * 2.0**-135).astype(np.float32)
    assert np.all(np.abs(x[x != 0]) < 2.0**-126)  # subnormal float32
    x[0, 0] = np.float32(F32_TINY)
    for bits in (2, 8, 16):
        for mode in ("rne", "away"):
            assert_same_bits(smx.quantize(x, bits, 2, mode), oracle(x, bits, 2, mode))
    _, exps = smx.quantize_codes(x, 16, 2)
    assert np.all(exps == -127)  # floor(log2 amax) - 14 is below -127: clamped


def test_huge_inputs_near_float32_max():
    big = np.float32(F32_MAX)
    x = np.array([[big, -big, big / 3, 1.0], [2.0**120, -(2.0**110), 0, 1e30]], np.float32)
    for bits in (2, 3, 8, 16):
        for block in (1, 2, 4):
            for mode in ("rne", "away"):
                values = smx.quantize(x, bits, block, mode)
                assert np.isfinite(values).all()
                assert_same_bits(values, oracle(x, bits, block, mode))
    _, exps = smx.quantize_codes(np.float32([[F32_MAX]]), 2, 1)
    assert exps.tolist() == [[127]]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_a_user_error(bad):
    x = np.ones((5, 6), dtype=np.float32)
    x[3, 4] = bad
    with pytest.raises(UserError) as err:
        smx.quantize(x, name="the activation %h0", step=12)
    message = str(err.value)
    assert "the activation %h0" in message and "at step 12" in message
    assert str(float(bad)) in message and "[3, 4]" in message
    with pytest.raises(UserError, match="dY1"):
        smx.quantize_codes(x, 12, 4, "stochastic", key=(0, 5, 1), name="dY1")
    with pytest.raises(UserError, match="tensor"):
        smx.quantize(x[3], 8, 1, "away")


def test_settings_are_checked():
    x = np.ones((4, 4), np.float32)
    for kwargs in ({"bits": 1}, {"bits": 17}, {"block": 3}, {"rounding": "up"}):
        with pytest.raises(ValueError):
            smx.quantize(x, **kwargs)
    with pytest.raises(ValueError, match="key"):
        smx.quantize(x, rounding="stochastic")


# ---------------------------------------------------------------------------------------------
# Stochastic rounding
# ---------------------------------------------------------------------------------------------


def test_stochastic_is_reproducible_and_keyed():
    x = np.random.default_rng(4).standard_normal((33, 17)).astype(np.float32)
    first = smx.quantize(x, 6, 4, "stochastic", key=(9, 100, 2))
    assert_same_bits(first, smx.quantize(x, 6, 4, "stochastic", key=(9, 100, 2)))
    for other in [(9, 100, 3), (9, 101, 2), (10, 100, 2)]:
        assert not np.array_equal(first, smx.quantize(x, 6, 4, "stochastic", key=other))
    # the draw of element (i, j) is u[i * N + j] of its stream, whatever the padding
    draws = rng.uniform(9, 100, rng.STREAM_ROUNDING + 2, x.shape)
    assert_same_bits(first, oracle(x, 6, 4, "stochastic", draws))
    # in a stack or a vector too: the index runs over the whole tensor
    for shape in [(2, 5, 6), (13,)]:
        y = wide_random(np.random.default_rng(15), shape, spread=10)
        draws = rng.uniform(9, 100, rng.STREAM_ROUNDING + 2, shape)
        got = smx.quantize(y, 6, 4, "stochastic", key=(9, 100, 2))
        assert_same_bits(got, oracle(y, 6, 4, "stochastic", draws))


def test_stochastic_draw_boundary():
    # floor(s + 1 - v) rounds s = v up and anything below v down (grid 1: amax 2^14, 16 bits)
    v = np.float32(rng.uniform(4, 8, rng.STREAM_ROUNDING + 5, (1, 2))[0, 1])
    assert 0 < v < 1
    for value, code in [(v, 1), (np.nextafter(v, np.float32(0)), 0)]:
        x = np.float32([[2.0**14, value]])
        codes, exps = smx.quantize_codes(x, 16, 2, "stochastic", key=(4, 8, 5))
        assert exps.tolist() == [[0]] and codes[0, 1] == code


def test_stochastic_is_unbiased():
    # values with few fraction bits on their grid: the 24-bit draws then round up with
    # probability exactly frac(T / 2^e)
    gen = np.random.default_rng(5)
    # one 64 x 64 tile, amax 7: grid 2^-1 for 5 bits, |x / grid| < 14.9 never saturates
    x = (gen.integers(-3800, 3800, (64, 64)) * 2.0**-9).astype(np.float32)
    x[0, 0] = 7.0
    _, exps = smx.quantize_codes(x, 5, 64)
    grid = 2.0 ** int(exps[0, 0])
    frac = (x / grid) - np.floor(x / grid)
    steps = 40
    total = np.zeros(x.shape)
    for step in range(steps):
        total += smx.quantize(x, 5, 64, "stochastic", key=(3, step, 0)) - x
    mean_error = total.sum() / (x.size * steps)
    std_error = grid * np.sqrt((frac * (1 - frac)).sum() / steps) / x.size
    assert std_error > 0
    assert abs(mean_error) < 5 * std_error, (mean_error, std_error)
    # and per element: the round-up frequency tracks frac
    ups = np.zeros(x.shape)
    for step in range(steps):
        q = smx.quantize(x, 5, 64, "stochastic", key=(3, step, 0))
        ups += q > x
    assert abs((ups / steps - frac).mean()) < 5 * np.sqrt(0.25 / (steps * x.size))


# ---------------------------------------------------------------------------------------------
# The quantized GEMM
# ---------------------------------------------------------------------------------------------


def f32_nearest(value: Fraction) -> np.float32:
    """value rounded to float32, to nearest, ties to an even significand, by comparison."""
    if value == 0:
        return np.float32(0.0)
    if abs(value) >= Fraction(2**128 - 2**103):  # halfway from the largest float32 to 2^128
        return np.float32(np.inf if value > 0 else -np.inf)
    with np.errstate(over="ignore"):
        guess = np.float32(float(value))  # within one float32 step
        up, down = np.nextafter(guess, np.float32(np.inf)), np.nextafter(guess, -np.inf)
    candidates = {guess, up, down}
    candidates = [c for c in candidates if np.isfinite(c)]

    def rank(c):
        return abs(Fraction(float(c)) - value), int(bits_of(c)) & 1

    return min(candidates, key=rank)


def exact_gemm(a, b):
    a = [[Fraction(float(v)) for v in row] for row in a]
    b = [[Fraction(float(v)) for v in row] for row in b]
    out = np.empty((len(a), len(b[0])), dtype=np.float32)
    for i, row in enumerate(a):
        for j in range(len(b[0])):
            out[i, j] = f32_nearest(sum((row[k] * b[k][j] for k in range(len(b))), Fraction(0)))
    return out


def check_gemm(a, b, transpose_a=False, transpose_b=False):
    out, stats = smx.gemm_with_stats(a, b, transpose_a=transpose_a, transpose_b=transpose_b)
    expected = exact_gemm(a.T if transpose_a else a, b.T if transpose_b else b)
    assert_same_bits(out, expected)
    return stats


def test_f32_oracle_rounding():
    one = Fraction(1)
    assert f32_nearest(one + Fraction(1, 2**24)) == 1.0  # tie: even
    assert f32_nearest(one + Fraction(3, 2**24)) == np.float32(1 + 2**-22)  # tie: even
    assert f32_nearest(Fraction(1, 2**150)) == 0.0  # tie with 0: even
    assert f32_nearest(Fraction(3, 2**151)) == np.float32(F32_TINY)
    assert f32_nearest(Fraction(2**128 - 2**103)) == np.inf
    assert f32_nearest(Fraction(2**128 - 2**103 - 1)) == np.float32(F32_MAX)


def test_gemm_on_quantized_operands_takes_the_fast_path():
    gen = np.random.default_rng(6)
    for ta, tb in [(False, False), (True, False), (False, True), (True, True)]:
        a = smx.quantize(gen.standard_normal((9, 12)), 8, 4)
        b = smx.quantize(gen.standard_normal((12, 7)) * 1e-3, 12, 4)
        a = a.T.copy() if ta else a
        b = b.T.copy() if tb else b
        stats = check_gemm(a, b, ta, tb)
        assert stats.exact_elements == 0


def test_gemm_exact_path_on_wide_exponent_spreads():
    gen = np.random.default_rng(7)
    fallbacks = 0
    for trial in range(40):
        m, k, n = (int(d) for d in gen.integers(1, 7, 3))
        ta, tb = bool(trial & 1), bool(trial & 2)
        a = wide_random(gen, (k, m) if ta else (m, k), spread=40)
        b = wide_random(gen, (n, k) if tb else (k, n), spread=40)
        fallbacks += check_gemm(a, b, ta, tb).exact_elements > 0
    assert fallbacks >= 30


def test_gemm_exact_lowest_bits_rescue_the_fast_path():
    # the quick bound treats 2^-30 as if it had 24 significant bits like 1 + 2^-23; its real
    # lowest bit makes the span 31, which fits
    a = np.float32([[1 + 2.0**-23, 2.0**-30], [3.0, -(2.0**-29)]])
    b = np.float32([[1.0, 0.5], [1.0, -3.0]])
    for ta, tb in [(False, False), (True, True)]:
        stats = check_gemm(a.T.copy() if ta else a, b.T.copy() if tb else b, ta, tb)
        assert stats.exact_elements == 0


def test_gemm_mixes_fast_and_exact_rows():
    gen = np.random.default_rng(8)
    a = smx.quantize(gen.standard_normal((6, 8)), 8, 4)
    a[2, 0] = 2.0**-60  # one row with a huge spread
    b = smx.quantize(gen.standard_normal((8, 5)), 8, 4)
    stats = check_gemm(a, b)
    assert 0 < stats.exact_elements < a.shape[0] * b.shape[1]


def test_gemm_exact_path_in_row_chunks(monkeypatch):
    monkeypatch.setattr(smx, "_EXACT_CHUNK", 7)  # a row or two per exact block
    gen = np.random.default_rng(14)
    a = wide_random(gen, (9, 13), spread=50)
    b = wide_random(gen, (13, 4), spread=50)
    assert check_gemm(a, b).exact_elements > 7


def test_gemm_cancellation_ties_and_sticky_bits():
    # the exact sum is what a small term leaves after the big ones cancel
    a = np.float32([[1.0, -1.0, 2.0**-100, 3.0**20]])
    b = np.float32([[2.0**60], [2.0**60], [1.0], [0.0]])
    out, stats = smx.gemm_with_stats(a, b)
    assert out[0, 0] == np.float32(2.0**-100) and stats.exact_elements == 1
    # 1 + 2^-24 is a tie (to 1.0); a 2^-100 more breaks it upward
    a = np.float32([[1.0, 2.0**-24, 2.0**-100]])
    assert smx.gemm(a, np.float32([[1], [1], [0]]))[0, 0] == 1.0
    assert smx.gemm(a, np.float32([[1], [1], [1]]))[0, 0] == np.float32(1 + 2**-23)
    assert smx.gemm(a, np.float32([[1], [1], [-1]]))[0, 0] == 1.0
    assert smx.gemm(a, np.float32([[1], [3], [0]]))[0, 0] == np.float32(1 + 2**-22)
    for b in ([[1], [1], [0]], [[1], [1], [1]], [[-1], [-1], [1]], [[1], [3], [0]]):
        check_gemm(a, np.float32(b))


def test_gemm_small_sums_after_cancellation_are_exact():
    a = np.float32([[2.0**-100, 1.0, -1.0]])
    for b in ([[1.5], [1], [1]], [[3], [1], [1]], [[1.75], [2], [2]]):
        out, stats = smx.gemm_with_stats(a, np.float32(b))
        assert stats.exact_elements == 1
        assert out[0, 0] == np.float32(b[0][0] * 2.0**-100)


def test_gemm_subnormal_results():
    gen = np.random.default_rng(9)
    for _ in range(20):
        a = (gen.standard_normal((3, 5)) * 2.0**-75).astype(np.float32)
        b = (gen.standard_normal((5, 4)) * 2.0**-72).astype(np.float32)
        check_gemm(a, b)
    # exactly half the smallest subnormal rounds to 0, a little more to 2^-149
    half = np.float32([[2.0**-75]]), np.float32([[2.0**-75]])
    assert bits_of(smx.gemm(*half))[0, 0] == 0
    a = np.float32([[2.0**-75, 2.0**-75]])
    b = np.float32([[2.0**-75], [2.0**-100]])
    assert smx.gemm(a, b)[0, 0] == np.float32(F32_TINY)
    check_gemm(a, b)
    # a negative sum that rounds to zero is -0.0, on both paths
    b = np.float32([[2.0**-76], [0.0]])
    for a in (np.float32([[-(2.0**-75), 0.0]]), np.float32([[-(2.0**-75), 2.0**60]])):
        out, stats = smx.gemm_with_stats(a, b)
        assert bits_of(out)[0, 0] == 0x80000000
    assert stats.exact_elements == 1


def test_gemm_overflow():
    big = np.float32(2.0**127)
    a = np.float32([[big, big]])
    assert smx.gemm(a, np.float32([[1.0], [1.0]]))[0, 0] == np.inf
    assert smx.gemm(a, np.float32([[-1.0], [-1.0]]))[0, 0] == -np.inf
    # just below the float32 maximum's rounding boundary, and at it (a tie: to inf)
    top = np.float32(F32_MAX)
    a = np.float32([[top, 2.0**102, 2.0**-60]])
    assert smx.gemm(a, np.float32([[1], [1], [0]]))[0, 0] == top
    assert smx.gemm(a, np.float32([[1], [1], [1]]))[0, 0] == top
    assert smx.gemm(a, np.float32([[1], [2], [0]]))[0, 0] == np.inf
    for b in ([[1], [1], [1]], [[1], [2], [0]], [[1], [2], [-1]]):
        check_gemm(a, np.float32(b))


def test_gemm_does_not_depend_on_order():
    gen = np.random.default_rng(10)
    a = wide_random(gen, (5, 16), spread=30)
    b = wide_random(gen, (16, 6), spread=30)
    perm = gen.permutation(16)
    assert_same_bits(smx.gemm(a, b), smx.gemm(a[:, perm], b[perm]))
    assert_same_bits(smx.gemm(a, b), smx.gemm(b.T.copy(), a.T.copy()).T)


def test_gemm_on_raw_float32():
    gen = np.random.default_rng(11)
    a = gen.standard_normal((64, 64)).astype(np.float32)
    b = gen.standard_normal((64, 64)).astype(np.float32)
    out, stats = smx.gemm_with_stats(a, b)
    assert stats.exact_elements > 0
    rows = gen.choice(64, 4, replace=False)
    cols = gen.choice(64, 4, replace=False)
    assert_same_bits(out[np.ix_(rows, cols)], exact_gemm(a[rows], b[:, cols]))


def test_gemm_zeros_and_shapes():
    out = smx.gemm(np.float32([[-1.0]]), np.float32([[0.0]]))
    assert bits_of(out)[0, 0] == 0  # +0.0
    assert smx.gemm(np.zeros((3, 0), np.float32), np.zeros((0, 2), np.float32)).shape == (3, 2)
    with pytest.raises(ValueError):
        smx.gemm(np.ones((2, 3), np.float32), np.ones((2, 3), np.float32))
    with pytest.raises(ValueError):
        smx.gemm(np.float32([[np.nan]]), np.float32([[1.0]]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    m=st.integers(1, 4),
    k=st.integers(1, 6),
    n=st.integers(1, 4),
    ta=st.booleans(),
    tb=st.booleans(),
)
def test_gemm_matches_exact_oracle_on_any_float32(data, m, k, n, ta, tb):
    finite = st.floats(width=32, allow_nan=False, allow_infinity=False, allow_subnormal=True)
    a = data.draw(hnp.arrays(np.float32, (k, m) if ta else (m, k), elements=finite))
    b = data.draw(hnp.arrays(np.float32, (n, k) if tb else (k, n), elements=finite))
    check_gemm(a, b, ta, tb)


@pytest.mark.parametrize("axis", [-1, -2])
@pytest.mark.parametrize("seed", range(4))
def test_int8_1d_blocks_are_mxint8(axis, seed):
    """`quantize_1d` with 8 bits and 32-element runs is OCP MXINT8 (the mx module's own
    implementation) wherever the shared exponent needs no clamping."""
    from pintac.runtime import mx

    rng = np.random.default_rng(seed)
    scale = np.exp(rng.uniform(-20, 20, (37, 1)))
    x = (rng.standard_normal((37, 70)) * scale).astype(np.float32)
    got = smx.quantize_1d(x, bits=8, block=32, axis=axis)
    assert np.array_equal(got, mx.quantize_mx(x, "mxint8", axis=axis))
    # the transpose of a row-blocked copy is the column-blocked copy of the transpose
    assert np.array_equal(smx.quantize_1d(x.T, 8, 32, axis=-2 if axis == -1 else -1), got.T)


@pytest.mark.parametrize("block", [(4, 4), (8, 8), (1, 32), (32, 1)])
@pytest.mark.parametrize("seed", range(6))
def test_gemm_of_quantized_copies_equals_the_exact_gemm_of_their_values(block, seed):
    """`gemm_quantized` (exactness read off the tile exponents, float64 values cached) gives
    the bits of `gemm` on the values: with zero tiles, tiny tiles at the exponent floor, and
    spreads wide enough to force the general path."""
    rng = np.random.default_rng(seed)
    m, k, n = rng.integers(1, 70, 3)
    a = rng.standard_normal((m, k)) * np.exp2(rng.integers(-30, 30, (m, 1)))
    b = rng.standard_normal((k, n)) * np.exp2(rng.integers(-30, 30, (1, n)))
    a[: m // 3] = 0.0  # zero tiles
    if seed % 2:
        b[0, 0] = 1e-38  # a tile at the exponent floor that is not zero
    a, b = a.astype(np.float32), b.astype(np.float32)
    other = block if block[0] == block[1] else block[::-1]
    qa, qb = smx.quantize_matrix(a, 8, block), smx.quantize_matrix(b, 12, other)
    assert np.array_equal(
        qa.values,
        smx.quantize_1d(a, 8, 32, -1 if block[0] == 1 else -2)
        if block[0] != block[1]
        else smx.quantize(a, 8, block[0]),
    )
    pairs = [
        (qa, qb, False, False),
        (qa, qa, True, False),
        (qb, qb, False, True),
    ]
    for x, y, ta, tb in pairs:
        got = smx.gemm_quantized(x, y, transpose_a=ta, transpose_b=tb)
        want = smx.gemm(x.values, y.values, transpose_a=ta, transpose_b=tb)
        assert got.tobytes() == want.tobytes()


@pytest.fixture
def small_chunks(monkeypatch):
    """Row chunks of a few dozen elements, run on two threads, and GEMM operand chunks of
    a few rows: the chunked paths on matrices a test can afford."""
    from pintac.runtime import parallel

    monkeypatch.setattr(parallel, "CHUNK_ELEMENTS", 48)
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    monkeypatch.setattr(smx, "_GEMM_CHUNK_BYTES", 8 * 24)


@pytest.mark.parametrize("mode", ["rne", "away"])
@pytest.mark.parametrize("block", [(4, 4), (2, 2), (1, 8), (8, 1)])
@pytest.mark.parametrize("shape", [(37, 13), (64, 16), (5, 3)])
def test_quantize_matrix_in_chunks_equals_one_piece(small_chunks, mode, block, shape):
    gen = np.random.default_rng(sum(shape) + block[0])
    x = (gen.standard_normal(shape) * np.exp2(gen.integers(-20, 20, shape))).astype(np.float32)
    x[: shape[0] // 4] = 0.0
    got = smx.quantize_matrix(x, 8, block, mode)
    rows, cols = block
    padded = np.zeros((-(-shape[0] // rows) * rows, -(-shape[1] // cols) * cols), np.float32)
    padded[: shape[0], : shape[1]] = got.values
    tiles = np.abs(padded).reshape(padded.shape[0] // rows, rows, -1, cols).max(axis=(1, 3))
    assert np.array_equal(got.zero_tiles, tiles == 0)
    assert got.zero_tiles.any() or shape[0] < 32  # 8+ zero rows fill some tiles
    if block[0] == block[1]:
        want = smx.quantize(x, 8, block[0], mode)
        _, want_e = smx.quantize_codes(x, 8, block[0], mode)
        assert np.array_equal(got.exponents, want_e)
    else:
        want = smx.quantize_1d(x, 8, max(block), -1 if block[0] == 1 else -2, mode)
    assert_same_bits(got.values, want)


def test_non_finite_input_in_a_later_chunk_names_its_index_in_the_tensor(small_chunks):
    x = np.ones((40, 12), dtype=np.float32)
    x[33, 7] = np.nan
    with pytest.raises(
        UserError, match=r"dH2 holds a non-finite value \(nan\) at step 4.*\[33, 7\]"
    ):
        smx.quantize_matrix(x, 8, (4, 4), name="dH2", step=4)


@pytest.mark.parametrize("seed", range(4))
def test_gemm_of_quantized_copies_in_operand_chunks(small_chunks, seed):
    """Chunks of the rows (m >= k) and of the reduction (m < k) give the exact result."""
    gen = np.random.default_rng(seed)
    for m, k, n in [(50, 9, 7), (6, 61, 5), (33, 33, 1)]:
        a = smx.quantize_matrix(gen.standard_normal((m, k)).astype(np.float32), 8)
        b = smx.quantize_matrix((gen.standard_normal((k, n)) * 1e-3).astype(np.float32), 12)
        got = smx.gemm_quantized(a, b)
        assert got.tobytes() == smx.gemm(a.values, b.values).tobytes()
        got_t = smx.gemm_quantized(a, a, transpose_a=True)
        assert got_t.tobytes() == smx.gemm(a.values, a.values, transpose_a=True).tobytes()


def test_gemm_of_narrow_quantized_operands_runs_in_float32(monkeypatch):
    """A first layer's GEMM (K = 2) and a rank-1 product hold every partial sum in float32;
    copies at the exponent floor do not (subnormal products) and go through float64."""

    def refuse(*args):
        raise AssertionError("float64 path taken")

    gen = np.random.default_rng(9)
    x = smx.quantize_matrix(gen.standard_normal((40, 2)).astype(np.float32), 8)
    w = smx.quantize_matrix(gen.standard_normal((2, 24)).astype(np.float32), 8)
    g = smx.quantize_matrix(gen.standard_normal((40, 1)).astype(np.float32), 12)
    v = smx.quantize_matrix(gen.standard_normal((24, 1)).astype(np.float32), 8)
    with monkeypatch.context() as patch:
        patch.setattr(smx, "_float64_product_rounded", refuse)
        for a, b, tb in [(x, w, False), (g, v, True)]:
            got = smx.gemm_quantized(a, b, transpose_b=tb)
            assert got.tobytes() == smx.gemm(a.values, b.values, transpose_b=tb).tobytes()
    tiny = smx.quantize_matrix((gen.standard_normal((40, 2)) * 1e-30).astype(np.float32), 8)
    small = smx.quantize_matrix((gen.standard_normal((2, 24)) * 1e-10).astype(np.float32), 8)
    assert not smx._exact_in_float32(tiny.line_range(1), small.line_range(0), 2)
    got = smx.gemm_quantized(tiny, small)
    assert got.tobytes() == smx.gemm(tiny.values, small.values).tobytes()
    assert (got != 0).any()


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("seed", range(8))
def test_gemm_of_quantized_copies_over_a_long_reduction_of_wide_magnitudes(request, seed, chunked):
    """A weight gradient: the reduction runs over rows whose magnitudes spread over many
    binades, so no output passes the fast check; grouping the rows by magnitude (a float64
    GEMM per group, the groups added exactly) gives the bits of `gemm`'s exact path."""
    if chunked:  # copies quantized in chunks
        request.getfixturevalue("small_chunks")
    gen = np.random.default_rng(seed)
    k, m, n = int(gen.integers(200, 900)), int(gen.integers(1, 9)), int(gen.integers(1, 40))
    spread = int(gen.integers(20, 60))
    scale = np.exp2(gen.integers(-spread, 1, (k, 1)))
    a = smx.quantize_matrix((gen.standard_normal((k, m)) * scale).astype(np.float32), 8)
    g = gen.standard_normal((k, n)) * scale * np.exp2(gen.integers(-3, 4, (1, n)))
    g[gen.integers(0, k, 5)] = 0.0  # rows that contribute nothing
    b = smx.quantize_matrix(g.astype(np.float32), 12)
    budget = 53 - (k - 1).bit_length()
    rows, cols = smx._failing(*(r.hi - r.lo for r in (a.line_range(0), b.line_range(0))), budget)
    assert rows.size == m and cols.size == n  # no output on the fast path
    groups = smx._reduction_groups(a.line_range(1), b.line_range(1), budget)
    assert groups is not None and len(groups) >= 2
    got = smx.gemm_quantized(a, b, transpose_a=True)
    want = smx.gemm(a.values, b.values, transpose_a=True)
    assert got.tobytes() == want.tobytes()
    # the same product with op(b) transposed in storage
    got_t = smx.gemm_quantized(
        a, smx.quantize_matrix(g.T.astype(np.float32), 12), transpose_a=True, transpose_b=True
    )
    assert got_t.tobytes() == want.tobytes()


def test_reduction_groups_refuse_an_index_wider_than_float64():
    wide = smx._LineRange(np.array([10, 60]), np.array([0, -10]))
    narrow = smx._LineRange(np.array([1, 1]), np.array([0, 0]))
    assert smx._reduction_groups(wide, narrow, 50) is None
    groups = smx._reduction_groups(narrow, narrow, 50)
    assert [g.tolist() for g, _ in groups] == [[0, 1]] and groups[0][1] == 0


def test_quantized_gemm_over_an_empty_reduction_is_plus_zero():
    """No rows to reduce over (an empty batch): +0.0 everywhere, as `smx.gemm` gives."""
    a = smx.quantize_matrix(np.zeros((0, 3), np.float32), 8)
    b = smx.quantize_matrix(np.zeros((0, 2), np.float32), 12)
    got = smx.gemm_quantized(a, b, transpose_a=True)
    assert got.shape == (3, 2) and not np.signbit(got).any() and not got.any()
