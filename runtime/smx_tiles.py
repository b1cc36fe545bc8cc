"""SMX quantization of a matrix in one pass per row of tiles, compiled with Numba.

`pintac.runtime.smx` quantizes with NumPy: about ten passes over the tensor (magnitudes, tile
maxima, exponents, the rounding's add and subtract, saturation), each a separate loop through
memory. Here one compiled loop reads a row of tiles (`edge` rows, a few KiB, in the core's
cache), takes its tile maxima, then rounds and saturates it: the input is read twice from
cache and the values written once.

The arithmetic is that of `smx._values`, operation for operation in float32: rounding to a
multiple of 2^e by adding and subtracting 1.5 · 2^(23 + e), ties away by the exact difference,
a float64 path for tiles with e > 104. NumPy clips only the tiles whose maximum reaches the
saturation threshold; here every tile is clipped, which changes only those. So the values,
exponents and zero-tile flags are the same bits: `tests/runtime/test_smx_tiles.py` checks this
against `smx.quantize`. Numba compiles without fast-math, so no float32 operation is
reassociated or contracted.

Stochastic rounding, 1-D runs and stacks stay on the NumPy path.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_MAGNITUDE = np.uint32(0x7FFFFFFF)
_INFINITY = np.uint32(0x7F800000)
_SMALLEST_NORMAL = np.uint32(0x00800000)


@numba.njit(nogil=True, cache=True)
def _round_huge(x, values, r0, r1, c0, c1, ej, limit, away):
    """The tile's values by float64 scaling (its rounding constant overflows float32):
    scaling by a power of two is exact in float64, and so is the product back."""
    scale_down = math.ldexp(1.0, -ej)
    scale_up = math.ldexp(1.0, ej)
    for r in range(r0, r1):
        for c in range(c0, c1):
            s = float(x[r, c]) * scale_down
            q = np.rint(s)
            if away and abs(s - q) == 0.5:
                q = s + math.copysign(0.5, s)
            q = min(max(q, -limit), limit) + 0.0
            values[r, c] = np.float32(q * scale_up)


@numba.njit(nogil=True, cache=True)
def _round_row(row_in, row_out, grid, bound):
    """Round to the tiles' grids (ties to even), then clip to their bounds."""
    for c in range(row_in.size):
        o = (row_in[c] + grid[c]) - grid[c]
        o = o if o < bound[c] else bound[c]
        row_out[c] = o if o > -bound[c] else -bound[c]


@numba.njit(nogil=True, cache=True)
def _round_row_away(row_in, row_out, grid, step_half, bound):
    """`_round_row` with ties away from zero: where rne moved by exactly half a step (the
    difference is exact), to the value plus half a step away from zero, on the grid."""
    for c in range(row_in.size):
        v = row_in[c]
        o = (v + grid[c]) - grid[c]
        diff = abs(v - o)
        if diff == step_half[c]:
            o = v + np.float32(math.copysign(diff, v))
        o = o if o < bound[c] else bound[c]
        row_out[c] = o if o > -bound[c] else -bound[c]


@numba.njit(nogil=True, cache=True)
def _quantize_rows(
    x, bits_view, bits, edge, away, exp_min, magic_exp_max, pow2, magic, half, values, e, zero,
):  # fmt: skip
    m, n = x.shape
    nb = e.shape[1]
    limit = (1 << (bits - 1)) - 1
    bias = 127 + bits - 2  # of the exponent field, less the code's bits below its top
    top = np.empty(n, np.uint32)  # the tile row's maxima down each column
    # per column of the tile row: its tile's rounding constant, half step and bound
    grid = np.empty(n, np.float32)
    step_half = np.empty(n, np.float32)
    bound = np.empty(n, np.float32)
    for tile_row in range(e.shape[0]):
        r0 = tile_row * edge
        r1 = min(r0 + edge, m)
        # maxima down the columns along whole rows (a loop the compiler vectorizes), then
        # across each tile's columns
        for c in range(n):
            top[c] = bits_view[r0, c] & _MAGNITUDE
        for r in range(r0 + 1, r1):
            row = bits_view[r]
            for c in range(n):
                mag = row[c] & _MAGNITUDE
                top[c] = mag if mag > top[c] else top[c]
        huge = False
        for j in range(nb):
            c0 = j * edge
            c1 = min(c0 + edge, n)
            amax = top[c0]
            for c in range(c0 + 1, c1):
                amax = top[c] if top[c] > amax else amax
            if amax >= _INFINITY:
                return False
            ej = np.int64(amax >> np.uint32(23)) - bias
            if amax < _SMALLEST_NORMAL:  # zero, or subnormal: amax * 2^-149
                ej = exp_min if amax == 0 else math.frexp(float(amax))[1] - 150 - (bits - 2)
            ej = max(ej, exp_min)
            e[tile_row, j] = ej
            zero[tile_row, j] = amax == 0
            huge |= ej > magic_exp_max
            # a tile below its saturation threshold rounds within the bound: clipping every
            # tile changes only the tiles that reach it
            idx = ej - exp_min
            tile_grid, tile_half = magic[idx], half[idx]
            tile_bound = np.float32(limit) * pow2[idx]
            for c in range(c0, c1):
                grid[c] = tile_grid
                step_half[c] = tile_half
                bound[c] = tile_bound
        for r in range(r0, r1):
            if away:
                _round_row_away(x[r], values[r], grid, step_half, bound)
            else:
                _round_row(x[r], values[r], grid, bound)
        if huge:
            for j in range(nb):
                if e[tile_row, j] > magic_exp_max:
                    c0 = j * edge
                    _round_huge(
                        x, values, r0, r1, c0, min(c0 + edge, n), e[tile_row, j], limit, away
                    )
    return True


def quantize_rows(x: np.ndarray, bits: int, edge: int, rounding: str, tables, values, e, zero):
    """Quantize matrix `x` (float32, any strides; its rows a multiple of `edge` unless they
    end the tensor) in `edge` x `edge` tiles, rounding "rne" or "away": the values into
    `values` (x's shape), the tile exponents into `e` and the all-zero tiles into `zero`
    (both ceil(m / edge) x ceil(n / edge)). `tables` are `smx`'s per-exponent float32
    tables (2^e, rounding constants, half steps), its lowest exponent and the highest its
    rounding constant holds. False,
    with the outputs partly written, when `x` holds a non-finite value."""
    pow2, magic, half, exp_min, magic_exp_max = tables
    return _quantize_rows(
        x, x.view(np.uint32), bits, edge, rounding == "away", exp_min, magic_exp_max,
        pow2, magic, half, values, e, zero,
    )  # fmt: skip
