"""The counter-based random numbers of pintac: Philox4x32-10, keyed by (seed, step, stream).

One implementation serves every target, so all of them produce the same perturbations and the
same stochastic rounding bit for bit.

Every random number is a pure function of (seed, step, stream, index): nothing is carried
between steps, so a run resumed from a checkpoint draws exactly what an uninterrupted one
would, and a draw from index `start` on (the `start` argument) is the same slice of a draw
from index 0, bit for bit: a tile of a batch draws its own rows alone.

Layout: the 64-bit key is the seed; the 128-bit counter is (index lo, index hi, step, stream),
each block giving four 32-bit words. Uniforms take the top 24 bits of a word:
u = (w >> 8) + 1) · 2⁻²⁴ ∈ (0, 1]. Gaussians come from Box–Muller on pairs of uniforms
(u1, u2) = (words 2i, 2i+1): z0 = √(−2 ln u1) cos(2π u2), z1 = √(−2 ln u1) sin(2π u2),
evaluated in float64 and rounded to float32. Integers in [0, n) take the multiply-shift rule
k = (w · n) >> 32 of a word (`integers`): one multiply, no division, uniform up to n/2³².
"""

from __future__ import annotations

import numpy as np

PHILOX_M0 = np.uint64(0xD2511F53)
PHILOX_M1 = np.uint64(0xCD9E8D57)
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
_M0_32 = np.uint32(0xD2511F53)
_M1_32 = np.uint32(0xCD9E8D57)
_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)

# Stream namespaces: the top byte says what the numbers are for, the rest which one.
STREAM_STEIN = 0x00000000  # + the stein.sample op's stream
STREAM_COLLOCATION = 0x10000000  # + loss-term index
STREAM_INIT = 0x20000000  # + parameter index
STREAM_EVAL = 0x30000000  # held-out evaluation points
STREAM_ROUNDING = 0x40000000  # + quantizer stream (stochastic rounding)


def philox4x32(counters: np.ndarray, key: tuple[int, int], rounds: int = 10) -> np.ndarray:
    """Philox4x32-`rounds` of each row of `counters` (uint32, shape (..., 4)) under `key`."""
    c = np.asarray(counters, dtype=np.uint32)
    c0, c1, c2, c3 = (np.ascontiguousarray(c[..., i]) for i in range(4))
    k0, k1 = int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF
    for r in range(rounds):
        if r:
            k0 = (k0 + PHILOX_W0) & 0xFFFFFFFF
            k1 = (k1 + PHILOX_W1) & 0xFFFFFFFF
        # 32×32 -> 64-bit products: the high words need 64 bits, the low ones wrap in uint32
        hi0 = ((c0.astype(np.uint64) * PHILOX_M0) >> _SHIFT32).astype(np.uint32)
        hi1 = ((c2.astype(np.uint64) * PHILOX_M1) >> _SHIFT32).astype(np.uint32)
        lo0 = c0 * _M0_32
        lo1 = c2 * _M1_32
        hi1 ^= c1
        hi1 ^= np.uint32(k0)
        hi0 ^= c3
        hi0 ^= np.uint32(k1)
        c0, c1, c2, c3 = hi1, lo1, hi0, lo0
    return np.stack([c0, c1, c2, c3], axis=-1)


def _key(seed: int) -> tuple[int, int]:
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    return seed & 0xFFFFFFFF, seed >> 32


def random_words(seed: int, step: int, stream: int, count: int, *, start: int = 0) -> np.ndarray:
    """`count` uint32 words of stream (seed, step, stream), words start .. start+count-1.

    Word w is lane w % 4 of counter block w // 4: a range starting inside a block computes
    the whole block and drops the words before `start`."""
    if start < 0:
        raise ValueError(f"the first word index must be >= 0, got {start}")
    first = start // 4
    blocks = (start + count + 3) // 4 - first
    index = np.arange(first, first + blocks, dtype=np.uint64)
    counters = np.empty((blocks, 4), dtype=np.uint32)
    counters[:, 0] = (index & _MASK32).astype(np.uint32)
    counters[:, 1] = (index >> _SHIFT32).astype(np.uint32)
    counters[:, 2] = np.uint32(int(step) & 0xFFFFFFFF)
    counters[:, 3] = np.uint32(int(stream) & 0xFFFFFFFF)
    skip = start - 4 * first
    return philox4x32(counters, _key(seed)).reshape(-1)[skip : skip + count]


def uniform(seed: int, step: int, stream: int, shape, *, start: int = 0) -> np.ndarray:
    """Uniform float64 numbers in (0, 1] with 24 random bits (exact in float32), from word
    `start` on."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    count = int(np.prod(shape, dtype=np.int64))
    words = random_words(seed, step, stream, count, start=start)
    return (((words >> np.uint32(8)).astype(np.float64) + 1.0) * 2.0**-24).reshape(shape)


def integers(words: np.ndarray, bound: int) -> np.ndarray:
    """Integers in [0, bound) of uint32 `words` by the multiply-shift rule (w · bound) >> 32
    (int64): each of the bound values is taken by ⌊2³²/bound⌋ or ⌈2³²/bound⌉ words."""
    w = np.asarray(words, dtype=np.uint32).astype(np.uint64)
    return ((w * np.uint64(bound)) >> _SHIFT32).astype(np.int64)


def normal(
    seed: int, step: int, stream: int, shape, dtype=np.float32, *, start: int = 0
) -> np.ndarray:
    """Standard Gaussians by Box–Muller on Philox uniforms, Gaussians start .. of the stream.

    Gaussian g is one of the pair g // 2, made from uniforms 2(g // 2) and 2(g // 2) + 1: a
    range starting or ending inside a pair computes the whole pair."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    count = int(np.prod(shape, dtype=np.int64))
    first = start // 2
    pairs = (start + count + 1) // 2 - first
    u = uniform(seed, step, stream, 2 * pairs, start=2 * first)
    radius = np.sqrt(-2.0 * np.log(u[0::2]))
    angle = (2.0 * np.pi) * u[1::2]
    z = np.empty(2 * pairs, dtype=np.float64)
    z[0::2] = radius * np.cos(angle)
    z[1::2] = radius * np.sin(angle)
    skip = start - 2 * first
    return z[skip : skip + count].reshape(shape).astype(dtype)
