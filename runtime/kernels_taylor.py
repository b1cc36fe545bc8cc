"""NumPy kernels of the ops Taylor-mode derivatives add to a training step.

The jets themselves are made of ops that already have kernels (`train.gemm`, `arith`,
activations, `train.permute`, `train.expand_columns`); only the input jets are new: the unit
directions of exact derivatives and the random coordinates of the stochastic estimator.
"""

from __future__ import annotations

import numpy as np

from pintac.dialects import train
from pintac.runtime import rng
from pintac.runtime.kernels import kernel


@kernel(train.UnitDirectionsOp)
def unit_directions(x, *, lo: int, hi: int):
    """out[n, k, :] = e_(lo+k): the unit vectors of coordinates [lo, hi) at every point, in
    x's dtype (a fresh array: later ops may write into it)."""
    eye = np.eye(x.shape[1], dtype=x.dtype)[lo:hi]
    return np.ascontiguousarray(np.broadcast_to(eye, (x.shape[0], *eye.shape)))


@kernel(train.SampleCoordinatesOp)
def sample_coordinates(x, seed, step, *, lo: int, hi: int, samples: int, stream: int):
    """out[n, s, :] = e_k, k = lo + (w · (hi − lo)) >> 32 for the Philox word w number
    n·S + s of the sample stream: S coordinates per point, uniform on [lo, hi) up to
    (hi − lo)/2³²."""
    n, d = x.shape
    words = rng.random_words(int(seed), int(step), rng.STREAM_STEIN + stream, n * samples)
    k = lo + ((words.astype(np.uint64) * np.uint64(hi - lo)) >> np.uint64(32)).astype(np.int64)
    out = np.zeros((n, samples, d), dtype=x.dtype)
    np.put_along_axis(out, k.reshape(n, samples, 1), 1, axis=2)
    return out
