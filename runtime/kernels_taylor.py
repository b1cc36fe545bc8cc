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
def sample_coordinates(x, seed, step, first=0, *, lo: int, hi: int, samples: int, stream: int):
    """out[n, s, :] = e_k, k = lo + (w · (hi − lo)) >> 32 for the Philox word w number
    (first + n)·S + s of the sample stream (x holds rows first .. first + N − 1 of the
    batch): S coordinates per point, uniform on [lo, hi) up to (hi − lo)/2³² (`rng.integers`)."""
    n, d = x.shape
    stream = rng.STREAM_STEIN + stream
    start = int(first) * samples
    words = rng.random_words(int(seed), int(step), stream, n * samples, start=start)
    k = lo + rng.integers(words, hi - lo)
    return one_hot(k.reshape(n, samples), d, x.dtype)


def one_hot(index: np.ndarray, width: int, dtype) -> np.ndarray:
    """out[..., :] = e_index: rows of `width` zeros with a one at each entry of `index`."""
    out = np.zeros((*index.shape, width), dtype=dtype)
    np.put_along_axis(out, index[..., None], 1, axis=-1)
    return out
