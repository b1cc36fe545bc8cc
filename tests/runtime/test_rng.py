"""Philox4x32-10 against the Random123 known-answer vectors, and the derived distributions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pintac.runtime import rng

# Random123 tests/kat_vectors, "philox4x32 10" lines: counter[4], key[2] -> output[4].
KAT = [
    ([0x00000000] * 4, [0x00000000] * 2, [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
    ([0xFFFFFFFF] * 4, [0xFFFFFFFF] * 2, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
    (
        [0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344],
        [0xA4093822, 0x299F31D0],
        [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1],
    ),
]


@pytest.mark.parametrize("counter, key, expected", KAT)
def test_known_answers(counter, key, expected):
    out = rng.philox4x32(np.array([counter], dtype=np.uint32), tuple(key))
    assert out.tolist() == [expected]


def test_vectorized_rows_are_independent_evaluations():
    counters = np.array([k[0] for k in KAT[:2]], dtype=np.uint32)
    out = rng.philox4x32(counters, (0, 0))
    assert out[0].tolist() == KAT[0][2]
    single = rng.philox4x32(counters[1:], (0, 0))
    assert out[1].tolist() == single[0].tolist()


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**64 - 1),
    step=st.integers(0, 2**32 - 1),
    stream=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    m=st.integers(1, 40),
)
def test_streams_are_prefix_stable(seed, step, stream, n, m):
    """Drawing n then reading more never changes the first n: a pure function of the index."""
    a = rng.random_words(seed, step, stream, n)
    b = rng.random_words(seed, step, stream, n + m)
    assert np.array_equal(a, b[:n])


def test_seed_step_and_stream_all_change_the_numbers():
    base = rng.random_words(1, 2, 3, 64)
    for args in [(2, 2, 3), (1, 3, 3), (1, 2, 4), (1 + 2**32, 2, 3)]:
        assert not np.array_equal(base, rng.random_words(*args, 64))


def test_uniform_range_and_moments():
    u = rng.uniform(0, 0, rng.STREAM_EVAL, 200_000)
    assert u.min() > 0.0 and u.max() <= 1.0
    assert abs(u.mean() - 0.5) < 3e-3
    assert np.all(u * 2**24 == np.round(u * 2**24))  # 24-bit grid: exact in float32


def test_normal_moments():
    z = rng.normal(7, 1, rng.STREAM_STEIN, (100_000, 3))
    assert z.dtype == np.float32 and z.shape == (100_000, 3)
    assert abs(z.mean()) < 0.01
    assert abs(z.std() - 1.0) < 0.01
    # Box–Muller pairs are uncorrelated
    flat = z.reshape(-1)[: 2 * (z.size // 2)].reshape(-1, 2)
    assert abs(np.corrcoef(flat.T)[0, 1]) < 0.01
    assert np.isfinite(z).all()
