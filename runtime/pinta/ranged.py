"""Draws from pintac's counter-based RNG by rows of a tensor: the uniforms of stochastic
rounding for a block of rows of a wide (or transposed) tensor.

Every word is a pure function of (seed, step, stream, index), so a row's words are computed
from their Philox counters directly: word w is lane w % 4 of the counter block w // 4
(counter = (index lo, index hi, step, stream), key = seed), exactly the layout of
`rng.random_words`, and each row equals the same slice of a whole-stream draw bit for bit.
(A contiguous range of a stream is `rng.random_words`/`uniform`/`normal` with `start=`.)
"""

from __future__ import annotations

import numpy as np

from pintac.runtime import rng

_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)


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
