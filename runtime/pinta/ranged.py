"""Ranged draws from pintac's counter-based RNG: words `start .. start + count` of a stream.

`pintac.runtime.rng` draws a stream from its word 0; a PINTA instruction working on one block
of a tensor needs the words of that block alone. Since every word is a pure function of
(seed, step, stream, index), the block's words are computed from their Philox counters
directly: word w is lane w % 4 of the counter block w // 4 (counter = (index lo, index hi,
step, stream), key = seed), exactly the layout of `rng.random_words`. Uniforms and Gaussians
are derived from the words as `rng.uniform` and `rng.normal` derive them, so a range of any
length and offset equals the same slice of a whole-stream draw bit for bit.
"""

from __future__ import annotations

import numpy as np

from pintac.runtime import rng

_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)


def words(seed: int, step: int, stream: int, start: int, count: int) -> np.ndarray:
    """uint32 words `start .. start + count - 1` of stream (seed, step, stream)."""
    if count <= 0:
        return np.zeros(0, np.uint32)
    first, last = start // 4, (start + count - 1) // 4
    index = np.arange(first, last + 1, dtype=np.uint64)
    counters = np.empty((index.size, 4), dtype=np.uint32)
    counters[:, 0] = (index & _MASK32).astype(np.uint32)
    counters[:, 1] = (index >> _SHIFT32).astype(np.uint32)
    counters[:, 2] = np.uint32(int(step) & 0xFFFFFFFF)
    counters[:, 3] = np.uint32(int(stream) & 0xFFFFFFFF)
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    out = rng.philox4x32(counters, (seed & 0xFFFFFFFF, seed >> 32)).reshape(-1)
    skip = start - 4 * first
    return out[skip : skip + count]


def uniform(seed: int, step: int, stream: int, start: int, count: int) -> np.ndarray:
    """float64 uniforms in (0, 1] of words `start ..` (as `rng.uniform`)."""
    w = words(seed, step, stream, start, count)
    return ((w >> np.uint32(8)).astype(np.float64) + 1.0) * 2.0**-24


def normal(seed: int, step: int, stream: int, start: int, count: int) -> np.ndarray:
    """float32 Gaussians `start .. start + count - 1` of a stream (as `rng.normal`).

    Gaussian g is one of the Box-Muller pair g // 2, made from uniforms 2(g // 2) and
    2(g // 2) + 1; a range starting or ending inside a pair computes the whole pair.
    """
    if count <= 0:
        return np.zeros(0, np.float32)
    first, last = start // 2, (start + count - 1) // 2
    pairs = last - first + 1
    u = uniform(seed, step, stream, 2 * first, 2 * pairs)
    radius = np.sqrt(-2.0 * np.log(u[0::2]))
    angle = (2.0 * np.pi) * u[1::2]
    z = np.empty(2 * pairs, dtype=np.float64)
    z[0::2] = radius * np.cos(angle)
    z[1::2] = radius * np.sin(angle)
    skip = start - 2 * first
    return z[skip : skip + count].astype(np.float32)


def uniform_rows(seed: int, step: int, stream: int, starts: np.ndarray, length: int) -> np.ndarray:
    """float64 uniforms (len(starts), length): row i holds words starts[i] .. + length - 1.

    Only the Philox blocks those words lie in are computed (about length / 4 + 1 per row), so
    a block of rows of a wide tensor, or a row block of a transposed one, costs what it reads.
    """
    starts = np.asarray(starts, dtype=np.int64)
    rows = starts.size
    if rows == 0 or length <= 0:
        return np.zeros((rows, max(length, 0)), np.float64)
    first = starts >> 2
    span = (length + 3) // 4 + 1  # blocks a row of `length` words can touch
    index = (first[:, None] + np.arange(span, dtype=np.int64)).astype(np.uint64).reshape(-1)
    counters = np.empty((index.size, 4), dtype=np.uint32)
    counters[:, 0] = (index & _MASK32).astype(np.uint32)
    counters[:, 1] = (index >> _SHIFT32).astype(np.uint32)
    counters[:, 2] = np.uint32(int(step) & 0xFFFFFFFF)
    counters[:, 3] = np.uint32(int(stream) & 0xFFFFFFFF)
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    blocks = rng.philox4x32(counters, (seed & 0xFFFFFFFF, seed >> 32)).reshape(rows, 4 * span)
    column = (starts - 4 * first)[:, None] + np.arange(length, dtype=np.int64)
    w = np.take_along_axis(blocks, column, axis=1)
    return ((w >> np.uint32(8)).astype(np.float64) + 1.0) * 2.0**-24
