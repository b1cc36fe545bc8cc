"""ExactSum: a reduction split into chunks, accumulated exactly and rounded once, equals the
whole GEMM bit for bit (against `smx.gemm` and an exact rational oracle)."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pintac.runtime import exact_sum, smx
from pintac.runtime.exact_sum import ExactSum


def assert_same_bits(actual, expected):
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    bad = actual.view(np.uint32) != np.asarray(expected, np.float32).view(np.uint32)
    assert not bad.any(), f"first differs at {np.argwhere(bad)[0]}: {actual[bad][0]!r}"


def float32_of(x: Fraction) -> np.float32:
    """x rounded to float32: to nearest, ties to even, subnormals, overflow to infinity;
    +0.0 for an exact zero, the sign of x for a nonzero x that rounds to zero."""
    if x == 0:
        return np.float32(0.0)
    mag = abs(x)
    e = mag.numerator.bit_length() - mag.denominator.bit_length()
    while Fraction(2) ** e > mag:
        e -= 1
    while Fraction(2) ** (e + 1) <= mag:
        e += 1
    quantum = Fraction(2) ** max(e - 23, -149)
    steps = round(mag / quantum)  # Fraction rounds half to even
    value = steps * quantum
    rounded = np.float32(np.inf) if value >= 2**128 else np.float32(float(value))
    return -rounded if x < 0 else rounded


def rational_product(opa: np.ndarray, opb: np.ndarray) -> np.ndarray:
    """op(a) @ op(b) summed in exact rationals, each sum rounded once to float32."""
    m, k = opa.shape
    n = opb.shape[1]
    fa = [[Fraction(float(v)) for v in row] for row in opa]
    fb = [[Fraction(float(v)) for v in row] for row in opb]
    out = np.empty((m, n), np.float32)
    for i in range(m):
        for j in range(n):
            out[i, j] = float32_of(sum((fa[i][t] * fb[t][j] for t in range(k)), Fraction(0)))
    return out


def chunked(x: np.ndarray, axis: int, edges: list[int]) -> list[np.ndarray]:
    """x cut along `axis` at consecutive `edges` (0 ... K, repeats give empty chunks)."""
    return [
        np.take(x, np.arange(lo, hi), axis=axis)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True)
    ]


def accumulate(pairs, shape, transpose_a, transpose_b) -> np.ndarray:
    total = ExactSum(shape)
    for a, b in pairs:
        total.add_product(a, b, transpose_a=transpose_a, transpose_b=transpose_b)
    return total.rounded()


# ---------------------------------------------------------------------------------------------
# float32 operands
# ---------------------------------------------------------------------------------------------

short_mantissa = st.builds(
    lambda mant, exp: np.float32(np.ldexp(float(mant), exp)),
    st.integers(-255, 255),
    st.integers(-157, 119),
)
float32_values = st.one_of(
    st.floats(width=32, allow_nan=False, allow_infinity=False),
    short_mantissa,
    st.sampled_from([0.0, -0.0, 2.0**-149, -(2.0**-149), 2.0**-126, 2.0**100, -(2.0**100)]),
).map(np.float32)


@st.composite
def gemm_problems(draw):
    """Operands stored as the flags say, the reduction cut into chunks. Some reduction
    indices repeat negated (exact cancellations); values span the float32 range."""
    m, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    k = draw(st.integers(0, 12))
    a = np.array(draw(st.lists(float32_values, min_size=k * m, max_size=k * m)), np.float32)
    b = np.array(draw(st.lists(float32_values, min_size=k * n, max_size=k * n)), np.float32)
    a, b = a.reshape(k, m), b.reshape(k, n)
    mirrored = draw(st.integers(0, k))  # the first `mirrored` indices again, negated
    a = np.concatenate([a, -a[:mirrored]])
    b = np.concatenate([b, b[:mirrored]])
    order = np.array(draw(st.permutations(range(a.shape[0]))), dtype=np.int64)
    a, b = a[order], b[order]
    k = a.shape[0]
    cuts = sorted(draw(st.lists(st.integers(0, k), max_size=5)))
    transpose_a, transpose_b = draw(st.booleans()), draw(st.booleans())
    # a is stored (k, m) when transposed, else (m, k); b (n, k) when transposed, else (k, n)
    a = a if transpose_a else np.ascontiguousarray(a.T)
    b = np.ascontiguousarray(b.T) if transpose_b else b
    return a, b, [0, *cuts, k], transpose_a, transpose_b


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=gemm_problems())
def test_chunked_float32_product_is_the_whole_gemm(problem):
    a, b, edges, transpose_a, transpose_b = problem
    opa = a.T if transpose_a else a
    opb = b.T if transpose_b else b
    pairs = zip(
        chunked(a, 0 if transpose_a else 1, edges),
        chunked(b, 1 if transpose_b else 0, edges),
        strict=True,
    )
    shape = (opa.shape[0], opb.shape[1])
    total = accumulate(pairs, shape, transpose_a, transpose_b)
    assert_same_bits(total, smx.gemm(a, b, transpose_a=transpose_a, transpose_b=transpose_b))
    assert_same_bits(total, rational_product(opa, opb))


def test_the_rounding_rules_of_the_contract():
    # one column of op(a) against one row of op(b): each output is a single sum
    cases = {
        "exact zero is +0.0": ([-1.0, 1.0], [1.0, 1.0], 0.0),
        "negative underflow keeps its sign": ([-(2.0**-100)], [2.0**-100], -0.0),
        "overflow to infinity": ([2.0**100, 2.0**100], [2.0**28, 2.0**28], np.inf),
        "subnormal": ([2.0**-70, 2.0**-70], [2.0**-70, 2.0**-72], 2.0**-140 + 2.0**-142),
        # 1 + 2^-24 is a tie between 1 and 1 + 2^-23; the 2^-200 below breaks it upwards
        "sticky bit breaks a tie": ([1.0, 2.0**-24, 2.0**-100], [1.0, 1.0, 2.0**-100], 1 + 2**-23),
    }
    for name, (column, row, expected) in cases.items():
        a = np.array(column, np.float32)[:, None]
        b = np.array(row, np.float32)[:, None]
        pairs = [(a[i : i + 1], b[i : i + 1]) for i in range(a.shape[0])]
        total = accumulate(pairs, (1, 1), True, False)
        assert total.view(np.uint32)[0, 0] == np.float32(expected).view(np.uint32), name


def test_exact_slices_of_a_chunk_add_in():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((40, 6)).astype(np.float32)
    a[:, 0] *= np.float32(2.0**-90)  # with row 0 of b, spans too wide for float64
    b = rng.standard_normal((40, 5)).astype(np.float32)
    b[:, 0] *= np.float32(2.0**80)
    b[3, 0] = np.float32(2.0**-60)
    assert smx.gemm_with_stats(a[1:20], b[1:20], transpose_a=True)[1].exact_elements > 0
    # a last chunk takes back every product but row 3's, whose tiny one is then the sum
    back = [i for i in range(40) if i != 3]
    a, b = np.concatenate([a, -a[back]]), np.concatenate([b, b[back]])
    edges = [0, 1, 20, 40, 79]
    total = accumulate(
        zip(chunked(a, 0, edges), chunked(b, 0, edges), strict=True), (6, 5), True, False
    )
    assert_same_bits(total, smx.gemm(a, b, transpose_a=True))
    assert_same_bits(total, rational_product(a.T, b))


def test_carries_and_window_growth_keep_the_sum(monkeypatch):
    # normalize after every other addition and give the leading digit no room, so carries
    # and the window's growth at the top run on a small problem
    monkeypatch.setattr(exact_sum, "_PENDING_MAX", 2)
    monkeypatch.setattr(exact_sum, "_LEAD_MAX", 1)
    rng = np.random.default_rng(3)
    a = (rng.standard_normal((30, 3)) * np.exp2(rng.integers(-60, 60, (30, 3)))).astype(np.float32)
    b = (rng.standard_normal((30, 4)) * np.exp2(rng.integers(-60, 60, (30, 4)))).astype(np.float32)
    pairs = [(a[i : i + 1], b[i : i + 1]) for i in range(30)]
    assert_same_bits(accumulate(pairs, (3, 4), True, False), smx.gemm(a, b, transpose_a=True))


def test_add_takes_float64_values_exactly():
    big, tiny = 2.0**900, 2.0**-900
    total = ExactSum((1, 3))
    total.add(np.array([[big, 1.0, -tiny]]))
    total.add(np.array([[-big, 2.0**-24, tiny]]))
    total.add(np.array([[tiny, 2.0**-60, 0.0]], np.float64))
    total.add(np.array([[0.0, 0.0, -0.0]], np.float32))
    expected = [float32_of(Fraction(tiny)), float32_of(1 + Fraction(2) ** -24 + Fraction(2) ** -60)]
    assert_same_bits(total.rounded(), np.array([[*expected, 0.0]], np.float32))


def test_add_takes_float64_values_of_any_exponent():
    # bits from 2^-1074 to 2^1023: the second row leaves 2^-1070 below the digits cut off in
    # float64, the third comes when the digits reach down there; each sum's sign or last
    # bit shows a lost term
    values = [
        [2.0**100, 1.0, 2.0**1023],
        [-(2.0**100), -(2.0**-1070), -(2.0**1023)],
        [-5e-324, -1.0, 3 * 2.0**-149],
    ]
    total = ExactSum((1, 3))
    exact = [Fraction(0)] * 3
    for row in values:
        total.add(np.array([row]))
        exact = [e + Fraction(v) for e, v in zip(exact, row, strict=True)]
    expected = np.array([[-0.0, -0.0, 3 * 2.0**-149]], np.float32)
    assert_same_bits(np.array([[float32_of(e) for e in exact]], np.float32), expected)
    assert_same_bits(total.rounded(), expected)


def test_empty_sum_is_positive_zero():
    total = ExactSum((2, 3))
    total.add_product(np.zeros((0, 2), np.float32), np.zeros((0, 3), np.float32), transpose_a=True)
    assert_same_bits(total.rounded(), np.zeros((2, 3), np.float32))


def test_mistakes_are_named():
    total = ExactSum((2, 3))
    with pytest.raises(ValueError, match=r"shape \(2, 3\) cannot add shape \(3, 3\)"):
        total.add_product(
            np.ones((4, 3), np.float32), np.ones((4, 3), np.float32), transpose_a=True
        )
    with pytest.raises(ValueError, match="finite"):
        total.add(np.full((2, 3), np.inf))
    with pytest.raises(ValueError, match="reduction dims differ: 4 and 5"):
        total.add_product(
            np.ones((4, 2), np.float32), np.ones((5, 3), np.float32), transpose_a=True
        )


def test_memory_stays_bounded_over_many_chunks():
    rng = np.random.default_rng(11)
    total = ExactSum((8, 8))
    sizes = []
    for _ in range(300):
        a = rng.standard_normal((16, 8)).astype(np.float32)
        b = rng.standard_normal((16, 8)).astype(np.float32)
        total.add_product(a, b, transpose_a=True)
        sizes.append(total.nbytes)
    # the window covers the data's bits once the extremes have come: it does not grow with
    # the number of chunks, and holds a few 8-byte digits per element
    assert sizes[-1] == sizes[20]
    assert sizes[-1] <= 6 * 8 * 64


def test_memory_of_a_sum_on_a_fixed_grid_is_fixed_from_the_first_chunk():
    rng = np.random.default_rng(12)
    total = ExactSum((4, 4))
    sizes = []
    for _ in range(200):  # products of 8-bit integers times 2^-20: one grid, one magnitude
        a = np.ldexp(rng.integers(-127, 128, (16, 4)), -20).astype(np.float32)
        b = rng.integers(-127, 128, (16, 4)).astype(np.float32)
        total.add_product(a, b, transpose_a=True)
        sizes.append(total.nbytes)
    assert set(sizes) == {sizes[0]}


# ---------------------------------------------------------------------------------------------
# Quantized operands: tiles of whole block rows, quantized one chunk at a time
# ---------------------------------------------------------------------------------------------


def quantized_chunks(x: np.ndarray, bits: int, axis: int, edges: list[int]):
    return [smx.quantize_matrix(c, bits, (4, 4), "rne") for c in chunked(x, axis, edges)]


def check_quantized_chunks(x, y, edges, transpose_b):
    """x (K, m) int8 and y (K, n), or (n, K) when transposed, int12; the reduction cut at
    `edges` (multiples of 4)."""
    whole = smx.gemm_quantized(
        smx.quantize_matrix(x, 8, (4, 4), "rne"),
        smx.quantize_matrix(y, 12, (4, 4), "rne"),
        transpose_a=True,
        transpose_b=transpose_b,
    )
    pairs = zip(
        quantized_chunks(x, 8, 0, edges),
        quantized_chunks(y, 12, 1 if transpose_b else 0, edges),
        strict=True,
    )
    total = accumulate(pairs, whole.shape, True, transpose_b)
    assert_same_bits(total, whole)


@st.composite
def quantized_problems(draw):
    blocks = draw(st.integers(1, 8))
    k, m, n = 4 * blocks, draw(st.integers(1, 9)), draw(st.integers(1, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    spread = draw(st.sampled_from([0, 8, 40, 120]))  # of the rows' magnitudes, in bits
    rng = np.random.default_rng(seed)
    scale = np.exp2(rng.integers(-spread // 2, spread // 2 + 1, (k, 1)))
    x = (rng.standard_normal((k, m)) * scale).astype(np.float32)
    y = (rng.standard_normal((k, n)) * np.exp2(rng.integers(-20, 20))).astype(np.float32)
    x[rng.random((k, m)) < 0.1] = 0.0
    cuts = sorted(4 * c for c in draw(st.lists(st.integers(0, blocks), max_size=4)))
    transpose_b = draw(st.booleans())
    return x, np.ascontiguousarray(y.T) if transpose_b else y, [0, *cuts, k], transpose_b


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=quantized_problems())
def test_chunked_quantized_product_is_the_whole_gemm(problem):
    check_quantized_chunks(*problem)


@pytest.mark.parametrize("route", ["float32", "float64", "groups", "values"])
def test_every_quantized_route_adds_exactly(route):
    rng = np.random.default_rng(5)
    k = 64
    x = rng.standard_normal((k, 6)).astype(np.float32)
    y = rng.standard_normal((k, 5)).astype(np.float32)
    if route == "float32":  # every tile's largest magnitude in [1, 2): one exponent per line
        x = np.copysign(rng.uniform(1, 2, x.shape), x).astype(np.float32)
        y = np.copysign(rng.uniform(1, 2, y.shape), y).astype(np.float32)
    if route == "float64":
        x *= np.exp2(rng.integers(0, 16, (k, 1))).astype(np.float32)
    if route == "groups":
        x[np.arange(k) // 4 % 2 == 0] *= np.float32(2.0**70)  # every other block row
    if route == "values":  # lines of op(a) and single reduction indices span 2^-60..2^60
        checkerboard = (np.arange(k)[:, None] // 4 + np.arange(6) // 4) % 2
        x *= np.exp2(120.0 * checkerboard - 60).astype(np.float32)
    chunk = (
        smx.quantize_matrix(x[:16], 8, (4, 4), "rne"),
        smx.quantize_matrix(y[:16], 12, (4, 4), "rne"),
    )
    assert smx._quantized_route(*chunk, True, False).kind == route
    # a last chunk takes the large products back, leaving the small ones: summing the
    # chunks' products in float64 would have lost those
    large = np.where(np.abs(x) >= 2.0**30, -x, 0).astype(np.float32)
    x, y = np.concatenate([x, large]), np.concatenate([y, y])
    check_quantized_chunks(x, y, [0, 16, 20, 64, 2 * k], False)
