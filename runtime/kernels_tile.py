"""NumPy kernels of the `tile` ops: a training step's loop over tiles of points.

The generated step runs a `tile.loop` as a Python `for` over `point_tiles`, carrying its
accumulators as loop variables and collecting gathered tiles in lists (`concatenate_rows`).
An exact accumulator (`!tile.exact`) is a `pintac.runtime.exact_sum.ExactSum` when the step
follows the arithmetic contract (quantized steps, `numpy-exact`), so the tiled step equals the
untiled one bit for bit; under BLAS f32 (`numpy`) it is a float32 array the tiles' products
are added to, which changes the summation order and nothing else.

The accumulating kernels update their accumulator in place and return it: a loop's
accumulator is read by exactly one op per tile (the `tile.loop` verifier checks it).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from pintac.dialects import tile
from pintac.runtime import parallel
from pintac.runtime.exact_sum import ExactSum
from pintac.runtime.kernels import kernel
from pintac.runtime.kernels_core import column_sum, values_of


def point_tiles(points: np.ndarray, size: int, axis: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, rows) of each tile of `size` rows, in order; the last holds the rest.
    An empty batch is one empty tile, so the loop's sums are those of no rows. Along axis 1
    (each point's streams, which `size` divides) the tiles are (first stream, those streams
    of every point)."""
    if axis == 1:
        for first in range(0, points.shape[1], size):
            yield first, points[:, first : first + size]
        return
    if len(points) == 0:
        yield 0, points
        return
    for first in range(0, len(points), size):
        yield first, points[first : first + size]


def concatenate_rows(tiles: list[np.ndarray], axis: int = 0) -> np.ndarray:
    """The gathered tiles of a per-point value, in order: the untiled value."""
    return tiles[0] if len(tiles) == 1 else np.concatenate(tiles, axis=axis)


@kernel(tile.RowsOp)
def rows(x):
    return len(x)


@kernel(tile.ZeroOp)
def zero(like=None, *, shape: tuple[int, ...], exact: bool | None):
    """An exact zero (`exact`), a float32 zero accumulator (`exact` False), or, for a running
    sum (`exact` None), −0.0: the identity of float addition (shaped `like` a value when
    given)."""
    if exact is None:
        return np.full(shape if like is None else like.shape, -0.0, dtype=np.float32)
    return ExactSum(shape) if exact else np.zeros(shape, dtype=np.float32)


@kernel(tile.RoundOp)
def round_exact(acc):
    return acc.rounded() if isinstance(acc, ExactSum) else acc


@kernel(tile.AccumulateGemmOp)
def accumulate_gemm(
    acc, a, b, *, transpose_a: bool, transpose_b: bool, exact: bool = False, fast: bool = False
):
    """acc + op(a) · op(b): exactly into an `ExactSum`, else in float32 (BLAS; `fast`, the
    `numpy-fast` target, makes the accumulator a float32 one, so `fast` changes nothing
    here)."""
    del exact, fast  # the accumulator's kind (`tile.zero`) decides
    if isinstance(acc, ExactSum):
        acc.add_product(a, b, transpose_a=transpose_a, transpose_b=transpose_b)
        return acc
    a, b = values_of(a), values_of(b)
    acc += parallel.matmul(a.T if transpose_a else a, b.T if transpose_b else b)
    return acc


@kernel(tile.AccumulateRowsOp)
def accumulate_rows(acc, x):
    """acc + row 0 + row 1 + ... in float32, in order: `train.column_sum`'s running sum
    continued from `acc`. From the −0.0 start, which adds nothing, it is the rows' own column
    sum (no copy of the tile; an empty tile's sum is +0.0, as an empty batch's is)."""
    if np.signbit(acc).all() and not acc.any():
        return column_sum(x)
    return column_sum(np.concatenate([acc[None, :], x]))


@kernel(tile.AccumulateStreamsOp)
def accumulate_streams(acc, x):
    """acc + stream 0 + stream 1 + ... per point, in float32, in order: the running sum an
    untiled sum over the streams (`np.sum(..., axis=1)`, in order for two or more columns)
    continues. From the −0.0 start it is the tile's own sum."""
    if np.signbit(acc).all() and not acc.any():
        return np.add.reduce(x, axis=1)
    return np.add.reduce(np.concatenate([acc[:, None, :], x], axis=1), axis=1)


@kernel(tile.SliceOp)
def slice_streams(x, first, *, size: int):
    """Streams first .. first + size − 1 of every point (a view)."""
    return x[:, first : first + size]
