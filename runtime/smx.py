"""Square-block MX (SMX) quantization and the exact quantized GEMM, in NumPy.

One implementation serves every target: the NumPy runtime carries the dequantized float32
values this module produces, and the accelerator simulator stores the integer codes and tile
exponents of `quantize_codes`.

Quantization of a matrix X, or of a stack (..., M, N) whose blocks tile the last two dims:

* rows and columns are zero-padded to multiples of the block edge b;
* each b x b tile T gets the exponent `e = clamp(floor(log2 max|T|) - (bits - 2), -127, 127)`,
  or -127 when the tile is all zero;
* each element becomes `q = clip(round(T / 2^e), -(2^(bits-1) - 1), 2^(bits-1) - 1)` and its
  value is `q * 2^e`.

A rank-1 tensor is one row (1, N); its padded tiles hold one real row, so its blocks are 1 x b
(the `smx` dialect only allows b = 1 there, where the two coincide).

Rounding modes: `rne` (to nearest, ties to even), `away` (to nearest, ties away from zero) and
`stochastic` (`q = floor(T / 2^e + u)`, u uniform in [0, 1) from the counter-based RNG).

Because tiles are square, `quantize(X).T == quantize(X.T)` bit for bit for `rne` and `away`.
Stochastic rounding draws element (i, j) from its row-major index in the unpadded tensor
(plus `offset`, for a tensor holding the rows of a larger one from that element on), so
a transposed tensor sees the same tile exponents but other draws; the accelerator quantizes
once and reads the stored tiles transposed, so it never needs the two to agree.

Non-finite input is a user error (`UserError`) naming the tensor: a NaN or an infinity in
training is something to stop at, not to encode.

`gemm` is the quantized GEMM: the exact sum of products of float32 operands, rounded once to
float32 (round to nearest even). See its docstring for the fast path and its exactness check.

API: `quantize`, `quantize_1d` (1-D blocks), `quantize_codes`, `dequantize`, `gemm`,
`gemm_with_stats` (plus `GemmStats`)
and `non_finite_error` (the error both SMX and MX raise).
"""

from __future__ import annotations

import functools
import importlib.util
from typing import NamedTuple

import numpy as np

from pintac.core.errors import UserError
from pintac.runtime import parallel, rng, threads

#: Rounding modes of `quantize`.
ROUNDINGS = ("rne", "away", "stochastic")
#: Tile edges (powers of two, so tiles divide the accelerator's PE tiles).
BLOCK_SIZES = (1, 2, 4, 8, 16, 32, 64)
#: Signed integer code widths (symmetric two's complement needs at least 2 bits).
BITS_MIN, BITS_MAX = 2, 16
#: Range of a tile exponent; an all-zero tile uses EXP_MIN.
EXP_MIN, EXP_MAX = -127, 127


def non_finite_error(x: np.ndarray, name: str, step: int | None) -> UserError:
    """The `UserError` for a tensor `x` holding NaN or infinity, naming it and the first one."""
    flat = np.flatnonzero(~np.isfinite(x))
    index = tuple(int(i) for i in np.unravel_index(int(flat[0]), x.shape)) if flat.size else ()
    value = float(x[index]) if flat.size else float("nan")
    at_step = "" if step is None else f" at step {step}"
    where = f" (first at index {list(index)})" if x.ndim else ""
    return UserError(
        f"{name} holds a non-finite value ({value}){at_step}: cannot quantize it{where}"
    )


def _check_settings(bits: int, block: int, rounding: str, key) -> None:
    if not BITS_MIN <= bits <= BITS_MAX:
        raise ValueError(f"SMX code width must be {BITS_MIN}..{BITS_MAX} bits, got {bits}")
    if block not in BLOCK_SIZES:
        raise ValueError(f"SMX block edge must be one of {BLOCK_SIZES}, got {block}")
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
    if rounding == "stochastic" and key is None:
        raise ValueError("stochastic rounding needs key=(seed, step, stream)")


class _Tiling(NamedTuple):
    """How a tensor is cut into tiles: its matrix view padded to whole tiles."""

    source: np.ndarray  # the float32 input
    rows: int  # tile rows (1 for a rank-1 tensor)
    cols: int  # tile columns
    padded: np.ndarray  # float32 (..., Mp, Np)


def _tile(x: np.ndarray, block: int, rows: int | None = None) -> _Tiling:
    """Square tiles, or 1 x block tiles (rows = 1: one exponent per run along a row)."""
    if x.ndim == 0:
        raise ValueError("SMX quantization needs a tensor of rank >= 1")
    mat = x.reshape(1, -1) if x.ndim == 1 else x
    rows = 1 if x.ndim == 1 or rows == 1 else block
    m, n = mat.shape[-2:]
    pad_m, pad_n = -m % rows, -n % block
    if pad_m or pad_n:
        widths = [(0, 0)] * (mat.ndim - 2) + [(0, pad_m), (0, pad_n)]
        mat = np.pad(mat, widths)
    return _Tiling(x, rows, block, mat)


def _pow2_table(offset: int) -> np.ndarray:
    """float32 2^(e + offset) for e = EXP_MIN..EXP_MAX (index e - EXP_MIN), 0 where it overflows."""
    k = np.arange(EXP_MIN, EXP_MAX + 1) + offset
    return np.where(k <= 127, np.ldexp(1.0, np.minimum(k, 127)), 0.0).astype(np.float32)


_POW2 = _pow2_table(0)  # 2^e, from the subnormal 2^-127 up
_INV_POW2 = _pow2_table(0)[::-1].copy()  # 2^-e
_HALF_GRID = _pow2_table(-1)  # 2^(e - 1): half a step of the grid
# Adding then subtracting 1.5 * 2^(23 + e) rounds a float32 |x| < 2^(22 + e) to a multiple of
# 2^e, ties to even: the sum lies in [2^(23 + e), 2^(24 + e)), where the float32 spacing is
# 2^e, and the constant is an even multiple of it. The result is exact (no scaling), and a zero
# comes out +0.0, as a zero code dequantizes. The constant overflows for e > 104; tiles that
# large (amax >= 2^(104 + bits - 2)) take a float64 path.
_GRID_MAGIC = (1.5 * _pow2_table(23)).astype(np.float32)
_MAGIC_EXP_MAX = 104


@functools.cache
def _saturation_threshold(bits: int) -> np.ndarray:
    """(limit + 1/2) * 2^e for e = EXP_MIN..EXP_MAX as float32 bit patterns (uint32): a tile
    whose amax reaches it rounds a value up to 2^(bits-1) steps, one past the largest code.
    Exact in float32 (at most 17 significant bits, at or above 2^-128) or infinity where it
    exceeds every float32, which no finite amax reaches; as amax is non-negative, comparing
    the patterns compares the values."""
    threshold = (2 ** (bits - 1) - 0.5) * np.ldexp(1.0, np.arange(EXP_MIN, EXP_MAX + 1))
    with np.errstate(over="ignore"):
        return threshold.astype(np.float32).view(np.uint32)


def _tile_exponents(t: _Tiling, bits: int, mag: np.ndarray, name: str, step):
    """Tile exponents (int32) and amax (float32), both (..., Mp/rows, Np/cols).

    `mag` is uint32 scratch of the padded size (used for 1-D runs, whose tiles are rows).
    """
    top = _tile_max_magnitude(t.padded.view(np.uint32), t.rows, t.cols, mag)
    if top.max() >= 0x7F800000:
        raise non_finite_error(t.source, name, step)
    # floor(log2 amax) exactly: the biased exponent field for normal amax, frexp (exact,
    # amax = f * 2^k with f in [0.5, 1)) for subnormal amax; log2 can round a value just below
    # a power of two up to it
    # (shifted right by 23, the field fits an int32 as it is; the arithmetic is in place;
    # a finite amax has a field of at most 254, so e never exceeds EXP_MAX)
    e = (top >> np.uint32(23)).view(np.int32)
    e -= 127 + (bits - 2)
    small = top < 0x00800000
    if small.any():
        e[small] = np.frexp(top[small].view(np.float32))[1] - 1 - (bits - 2)
        e[top == 0] = EXP_MIN
    np.maximum(e, EXP_MIN, out=e)
    return e, top.view(np.float32)


#: Fewest tiles across a row for which `_tile_max_magnitude` takes the maxima of whole rows:
#: NumPy's loops over narrower rows spend more on the loop than on the work.
_WIDE_TILE_COLUMNS = 4
_MAGNITUDE = np.uint32(0x7FFFFFFF)


def _tile_max_magnitude(bits: np.ndarray, rows: int, cols: int, scratch: np.ndarray):
    """The largest |x| bit pattern of each rows x cols tile of float32 bit patterns `bits`
    (..., Mp, Np), (..., Mp/rows, Np/cols): as uint32, non-negative floats order as their
    values, and NaN and infinity above every finite one.

    Elementwise maxima of strided views, whose loops run along long rows (a NumPy reduction
    over a short axis runs a loop per output element): down the tile's rows first, masking
    the sign bit of one row at a time into a small buffer, then, on the flattened result,
    across the tile's columns. `scratch` (uint32, the size of `bits`) holds the magnitudes
    of 1-D runs."""
    *lead, mp, np_ = bits.shape
    mb, nb = mp // rows, np_ // cols
    if rows == 1:
        top = np.bitwise_and(bits, _MAGNITUDE, out=scratch.reshape(bits.shape))
    elif nb < _WIDE_TILE_COLUMNS and cols > 1:
        return _narrow_tile_max(bits.reshape(-1), rows, cols, nb).reshape(*lead, mb, nb)
    else:
        by_rows = bits.reshape(-1, rows, np_)
        top = np.bitwise_and(by_rows[:, 0], _MAGNITUDE)
        row = np.empty_like(top)
        for r in range(1, rows):
            np.maximum(top, np.bitwise_and(by_rows[:, r], _MAGNITUDE, out=row), out=top)
    if cols == 1:
        return top.reshape(*lead, mb, nb)
    flat = top.reshape(-1)
    out = flat[0::cols].copy()
    for c in range(1, cols):
        np.maximum(out, flat[c::cols], out=out)
    return out.reshape(*lead, mb, nb)


def _narrow_tile_max(flat: np.ndarray, rows: int, cols: int, nb: int):
    """`_tile_max_magnitude` of a matrix only `nb` tiles wide (flat: its bit patterns in
    order): across the columns on the whole array, then down the rows one tile column at a
    time."""
    across = np.bitwise_and(flat[0::cols], _MAGNITUDE)
    column = np.empty_like(across)
    for c in range(1, cols):
        np.maximum(across, np.bitwise_and(flat[c::cols], _MAGNITUDE, out=column), out=across)
    across = across.reshape(-1, rows * nb)
    out = np.empty((across.shape[0], nb), dtype=np.uint32)
    for j in range(nb):
        column = out[:, j]
        np.maximum(across[:, j], across[:, nb + j], out=column)
        for r in range(2, rows):
            np.maximum(column, across[:, r * nb + j], out=column)
    return out


def _expand(per_tile: np.ndarray, cols: int) -> np.ndarray:
    """Per-tile values (..., Mb, Nb) broadcastable over the tiled view (..., Mb, rows, Np).

    Each value is written `cols` times by strided copies along the whole array (faster than
    `np.repeat`, whose loop runs per value)."""
    *lead, mb, nb = per_tile.shape
    out = np.empty((per_tile.size, cols), dtype=per_tile.dtype)
    flat = per_tile.reshape(-1)
    for c in range(cols):
        out[:, c] = flat
    return out.reshape(*lead, mb, 1, nb * cols)


def _round_scaled(s: np.ndarray, rounding: str) -> np.ndarray:
    """Round float64 `s` to integers (rne or away), with +0.0 for zero."""
    q = np.rint(s)
    if rounding == "away":
        tie = np.abs(s - q) == 0.5
        q[tie] = s[tie] + np.copysign(0.5, s[tie])
    return q + 0.0


def _tile_elements(mask: np.ndarray, t: _Tiling) -> tuple[np.ndarray, np.ndarray]:
    """The tiles `mask` (..., Mb, Nb) selects, as their flat indices and the flat indices of
    their elements in the contiguous padded tensor, one row of rows·cols per tile: a gather
    and a scatter of only those values, much cheaper than indexing a tiled view."""
    tiles = np.flatnonzero(mask)
    nb, np_ = mask.shape[-1], t.padded.shape[-1]
    first = (tiles // nb) * (t.rows * np_) + (tiles % nb) * t.cols
    inside = np.arange(t.rows)[:, None] * np_ + np.arange(t.cols)
    return tiles, first[:, None] + inside.reshape(-1)


def _values(
    t: _Tiling,
    bits: int,
    rounding: str,
    key,
    name: str,
    step,
    offset: int = 0,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantized values q * 2^e, float32 (..., Mp, Np) (in `out` when given), int32 tile
    exponents and a mask of the tiles whose input is all zero. Stochastic draws start at
    `offset`."""
    *lead, mp, np_ = t.padded.shape
    mb, nb = mp // t.rows, np_ // t.cols
    if out is None:
        out = np.empty(t.padded.shape, dtype=np.float32)
    if out.size == 0:
        return out, np.zeros((*lead, mb, nb), np.int32), np.zeros((*lead, mb, nb), bool)
    e, amax = _tile_exponents(t, bits, out.view(np.uint32), name, step)
    zero = amax == 0
    tiled = (*lead, mb, t.rows, np_)
    x, o = t.padded.reshape(tiled), out.reshape(tiled)
    limit = 2 ** (bits - 1) - 1
    idx = e - EXP_MIN
    if rounding == "stochastic":
        q = _stochastic(x, _expand(_INV_POW2[idx], t.cols), t, key, offset)
        np.clip(q, -limit, limit, out=q)
        q *= _expand(_POW2[idx], t.cols)
        o[...] = q
        return out, e, zero
    magic = _expand(_GRID_MAGIC[idx], t.cols)
    np.add(x, magic, out=o)
    o -= magic
    if rounding == "away":
        # ties are where rne moved by exactly half a step (x - rne(x) is exact); they go to
        # x + sign(x) * half a step, which is on the grid
        diff = np.subtract(x, o)
        np.abs(diff, out=diff)
        tie = np.flatnonzero(diff == _expand(_HALF_GRID[idx], t.cols))
        if tie.size:
            xt = t.padded.reshape(-1)[tie]
            out.reshape(-1)[tie] = xt + np.copysign(diff.reshape(-1)[tie], xt)
    # only a tile whose amax reaches (limit + 1/2) * 2^e rounds a value up to 2^(bits-1) * 2^e
    saturating = amax.view(np.uint32) >= _saturation_threshold(bits)[idx]
    flat_out = out.reshape(-1)
    if saturating.any():  # clip only the values of those tiles
        tiles, flat = _tile_elements(saturating, t)
        bound = (limit * _POW2[e.reshape(-1)[tiles] - EXP_MIN])[:, None]
        clipped = flat_out[flat]
        np.minimum(clipped, bound, out=clipped)
        np.maximum(clipped, -bound, out=clipped)
        flat_out[flat] = clipped
    huge = e > _MAGIC_EXP_MAX
    if huge.any():
        tiles, flat = _tile_elements(huge, t)
        he = e.reshape(-1)[tiles][:, None]
        s = np.ldexp(t.padded.reshape(-1)[flat].astype(np.float64), -he)
        q = np.clip(_round_scaled(s, rounding), -limit, limit)
        flat_out[flat] = np.ldexp(q, he)
    return out, e, zero


def _stochastic(x: np.ndarray, inv: np.ndarray, t: _Tiling, key, offset: int) -> np.ndarray:
    """floor(T / 2^e + u) for the tiled view x, u = 1 - v with v the RNG's (0, 1] uniforms,
    element i (row-major, unpadded) drawing uniform offset + i.

    floor(s + 1 - v) = floor(s) + [s >= floor(s) + v]; in float64, s = T * 2^-e, floor(s) + v
    (at most 16 integer and 24 fraction bits) and the comparison are exact, so the draw is
    exactly floor(s + u): P(round up) = floor(frac(s) * 2^24) / 2^24, which is frac(s) (an
    unbiased rounding) whenever s has at most 24 fraction bits, and otherwise less than
    frac(s) by under 2^-24.
    """
    seed, step, stream = key
    # the draw of an element is `offset` plus its row-major index in the unpadded tensor
    shape = t.source.shape
    v = rng.uniform(seed, step, rng.STREAM_ROUNDING + int(stream), shape, start=offset)
    v = v.reshape(t.padded.shape[:-2] + ((1, -1) if len(shape) == 1 else shape[-2:]))
    m, n = v.shape[-2:]
    mp, np_ = t.padded.shape[-2:]
    if (mp, np_) != (m, n):
        # padding is zero, so any v > 0 rounds it to 0
        widths = [(0, 0)] * (v.ndim - 2) + [(0, mp - m), (0, np_ - n)]
        v = np.pad(v, widths, constant_values=1.0)
    v = v.reshape(x.shape)
    s = x.astype(np.float64)
    s *= inv
    f = np.floor(s)
    v += f
    up = s >= v
    f += up  # -1 + 1 and -0.0 + 0 give +0.0
    return f


def quantize_codes(
    x,
    bits: int = 8,
    block: int = 4,
    rounding: str = "rne",
    *,
    key: tuple[int, int, int] | None = None,
    name: str = "tensor",
    step: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """SMX codes and exponents of `x` (converted to float32).

    Returns `(codes, exponents)`: int32 codes of the padded shape (..., Mp, Np) and int16 tile
    exponents (..., Mp/b, Np/b). A rank-1 tensor gives codes (Np,) and exponents (Np/b,).
    `key=(seed, step, stream)` keys stochastic rounding; `name` and `step` are for the error
    message on non-finite input (`step` defaults to the key's).
    """
    _check_settings(bits, block, rounding, key)
    x = np.asarray(x, dtype=np.float32)
    if step is None and key is not None:
        step = key[1]
    t = _tile(x, block)
    values, e, _ = _values(t, bits, rounding, key, name, step)
    *lead, mp, np_ = values.shape
    # values are q * 2^e exactly, so scaling by 2^-e is exact
    q = values.reshape(*lead, mp // t.rows, t.rows, np_) * _expand(_INV_POW2[e - EXP_MIN], block)
    codes = q.reshape(values.shape).astype(np.int32)
    e = e.astype(np.int16)
    if x.ndim == 1:
        return codes.reshape(-1), e.reshape(-1)
    return codes, e


def dequantize(codes, exponents, block: int, shape) -> np.ndarray:
    """float32 values `code * 2^exponent` cropped to `shape` (inverse of `quantize_codes`)."""
    shape = tuple(shape)
    codes = np.asarray(codes)
    exponents = np.asarray(exponents)
    if len(shape) == 1:
        codes, exponents = codes.reshape(1, -1), exponents.reshape(1, -1)
    rows = 1 if len(shape) == 1 else block
    *lead, mp, np_ = codes.shape
    q = codes.astype(np.float32).reshape(*lead, mp // rows, rows, np_)
    q *= _expand(_POW2[exponents.astype(np.int32) - EXP_MIN], block)
    return _crop(q.reshape(codes.shape), shape)


def _crop(padded: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    m, n = (1, shape[0]) if len(shape) == 1 else shape[-2:]
    if padded.shape[-2:] == (m, n):
        return padded.reshape(shape)
    return np.ascontiguousarray(padded[..., :m, :n]).reshape(shape)


def quantize(
    x,
    bits: int = 8,
    block: int = 4,
    rounding: str = "rne",
    *,
    key: tuple[int, int, int] | None = None,
    name: str = "tensor",
    step: int | None = None,
    offset: int = 0,
) -> np.ndarray:
    """The SMX-quantized values `q * 2^e` of `x` as float32, with the shape of `x`.

    `x` is converted to float32 first. Equal bit for bit to
    `dequantize(*quantize_codes(x, ...), block, x.shape)`. Stochastic rounding draws
    element i (row-major) from index `offset` + i of its stream: `x` as the elements from
    `offset` on of a larger tensor (cut at a whole number of block rows). Every value
    is exact in float32: |q| < 2^15 has at most 15 significant bits, and e >= -127 puts its
    lowest bit at or above 2^-127, within the float32 subnormal grid (multiples of 2^-149);
    e <= 127 - (bits - 2) for finite input, so q * 2^e stays below 2^128 - 2^104 (the float32
    maximum).
    """
    _check_settings(bits, block, rounding, key)
    x = np.asarray(x, dtype=np.float32)
    if step is None and key is not None:
        step = key[1]
    t = _tile(x, block)
    values, _, _ = _values(t, bits, rounding, key, name, step, offset)
    return _crop(values, x.shape)


def quantize_1d(
    x,
    bits: int = 8,
    block: int = 32,
    axis: int = -1,
    rounding: str = "rne",
    *,
    key: tuple[int, int, int] | None = None,
    name: str = "tensor",
    step: int | None = None,
) -> np.ndarray:
    """1-D MX with integer elements: `quantize` with 1 x `block` runs along `axis` (-1, the
    rows' direction, or -2, down the columns) sharing one exponent, by the same rule.

    With `bits=8, block=32, axis=-1` this is OCP MXINT8 (as `mx.quantize_mx(x, "mxint8")`)
    wherever the shared exponent needs no clamping. For `axis=-2` the tensor is quantized
    transposed; stochastic draws then follow the transposed tensor's row-major order.
    """
    _check_settings(bits, block, rounding, key)
    x = np.asarray(x, dtype=np.float32)
    if axis not in (-1, -2, x.ndim - 1, x.ndim - 2) or x.ndim < 2:
        raise ValueError(f"1-D blocks run along the last or second-to-last axis, got {axis}")
    if axis in (-2, x.ndim - 2):
        flipped = quantize_1d(
            x.swapaxes(-1, -2), bits, block, -1, rounding, key=key, name=name, step=step
        )
        return np.ascontiguousarray(flipped.swapaxes(-1, -2))
    if step is None and key is not None:
        step = key[1]
    t = _tile(x, block, rows=1)
    values, _, _ = _values(t, bits, rounding, key, name, step)
    return _crop(values, x.shape)


# ---------------------------------------------------------------------------------------------
# The quantized GEMM
# ---------------------------------------------------------------------------------------------


class GemmStats(NamedTuple):
    """What `gemm_with_stats` did."""

    #: Output elements computed on the exact (sliced) path instead of the float64 fast path.
    exact_elements: int
    #: Digit slices the exact path cut op(a) and op(b) into (0 when it did not run).
    slices_a: int
    slices_b: int


class _LineRange(NamedTuple):
    """Per line (row of op(a) or column of op(b)): |v| < 2^hi, v a multiple of 2^lo."""

    hi: np.ndarray  # int64
    lo: np.ndarray  # int64


def _line_range(x: np.ndarray, axis: int) -> _LineRange:
    """Bounds for the lines of float32 `x` reduced along `axis` (all-zero lines: hi = lo = 0).

    hi - 1 = floor(log2) of the line's largest magnitude. lo = floor(log2) of its smallest
    nonzero magnitude, minus (p - 1) where p = 24 - (trailing zero bits of the OR of the
    line's mantissa fields): a normal v has at most p significant bits, so its lowest set bit
    is at or above floor(log2 |v|) - (p - 1). A subnormal v = m * 2^-149 has its lowest bit at
    -149 + ctz(m) >= -125 - p, above floor(log2 |v|) - (p - 1) <= -126 - p, so the bound
    holds for it too.
    """
    bits = x.view(np.uint32)
    mag = np.bitwise_and(bits, np.uint32(0x7FFFFFFF))
    top = mag.max(axis=axis)
    if top.max() >= 0x7F800000:  # NaN and infinity sort above every finite magnitude
        raise ValueError("gemm operands must be finite")
    mag -= np.uint32(1)  # zero wraps to the largest uint32 and drops out of the min
    bottom = mag.min(axis=axis) + np.uint32(1)
    np.bitwise_and(bits, np.uint32(0x007FFFFF), out=mag)
    mant = np.bitwise_or.reduce(mag, axis=axis).astype(np.int64)
    low_bit = mant & -mant  # 0 when every normal is a power of two (p = 1)
    ctz = np.where(low_bit == 0, 23, np.frexp(low_bit.astype(np.float64))[1] - 1)
    p = 24 - ctz
    hi = np.frexp(top.view(np.float32))[1].astype(np.int64)
    lo = np.frexp(bottom.view(np.float32))[1].astype(np.int64) - 1 - (p - 1)
    zero = top == 0
    hi[zero] = 0
    lo[zero] = 0
    return _LineRange(hi, lo)


def _slice_widths(span_a: int, span_b: int, budget: int) -> tuple[int, int]:
    """Digit widths (wa, wb), wa + wb <= budget, minimizing the number of slice products."""
    best = None
    for wa in range(1, budget):
        wb = budget - wa
        cost = max(1, -(-span_a // wa)) * max(1, -(-span_b // wb))
        if best is None or cost < best[0]:
            best = (cost, wa, wb)
    return best[1], best[2]


def _digits(x64: np.ndarray, lo: np.ndarray, axis: int, width: int, count: int) -> list:
    """Signed base-2^width digits of x * 2^-lo (lo per line along `axis`), float64.

    Each step is exact: scaling by powers of two, floor, and a subtraction that clears low
    bits of an integer-valued float.
    """
    scale = np.ldexp(1.0, -lo)
    mag = np.abs(x64) * (scale[:, None] if axis == 1 else scale[None, :])
    base, inv = 2.0**width, 2.0**-width
    out = []
    for i in range(count):
        if i == count - 1:
            digit = mag  # below 2^width by the choice of count
        else:
            high = np.floor(mag * inv)
            digit = mag - high * base
            mag = high
        out.append(np.copysign(digit, x64))
    return out


_ACC_BITS = 30  # accumulator digit width: two digits stay below 2^60 in int64
_EXACT_CHUNK = 1 << 16  # output elements per exact block


def _exact_digits(a: np.ndarray, b: np.ndarray, ra: _LineRange, rb: _LineRange):
    """Exact a @ b (float32 values held in float64), unrounded: (digits, base, na, nb).

    Each operand line is scaled by 2^-lo to integers and cut into signed digits of wa (wb)
    bits, with wa + wb + ceil(log2 K) <= 53: every digit GEMM then sums integers below 2^53
    and is exact in float64. The digit products are added at their bit offsets into int64
    accumulator digits of 30 bits (`digits`, (ndig, m, n), least significant first, not
    normalized) of the sums divided by 2^base, base = lo_a[i] + lo_b[j] (int64, (m, n));
    na and nb are the slice counts.
    """
    k = a.shape[1]
    budget = 53 - max(0, (k - 1).bit_length())
    span_a = int((ra.hi - ra.lo).max(initial=0))
    span_b = int((rb.hi - rb.lo).max(initial=0))
    wa, wb = _slice_widths(span_a, span_b, budget)
    na, nb = max(1, -(-span_a // wa)), max(1, -(-span_b // wb))
    da = _digits(a, ra.lo, 1, wa, na)
    db = _digits(b, rb.lo, 0, wb, nb)
    m, n = a.shape[0], b.shape[1]
    top_offset = wa * (na - 1) + wb * (nb - 1)
    ndig = (top_offset + 53 + 16) // _ACC_BITS + 3
    acc = np.zeros((ndig, m, n), dtype=np.int64)
    for s, x in enumerate(da):
        for t, y in enumerate(db):
            _add_at(acc, parallel.matmul(x, y).astype(np.int64), wa * s + wb * t)
    return acc, ra.lo[:, None] + rb.lo[None, :], na, nb


def _add_at(acc: np.ndarray, d: np.ndarray, offset: int) -> None:
    """acc += d * 2^offset, for int64 `d` below 2^53 in magnitude, in 30-bit digits."""
    mask = np.int64((1 << _ACC_BITS) - 1)
    u, r = divmod(offset, _ACC_BITS)
    # d * 2^r split at bit (30 - r) of d: three pieces, each below 2^30 or small
    low = d & np.int64((1 << (_ACC_BITS - r)) - 1)
    acc[u] += low << np.int64(r)
    high = d >> np.int64(_ACC_BITS - r)
    acc[u + 1] += high & mask
    acc[u + 2] += high >> np.int64(_ACC_BITS)


def _rounded(acc: np.ndarray, base) -> np.ndarray:
    """The float32 rounding (ties to even) of the sums held in `acc`: 30-bit digits
    (ndig, m, n), least significant first, of sum / 2^base (`base` broadcasts to (m, n))."""
    ndig, m, n = acc.shape
    mask = np.int64((1 << _ACC_BITS) - 1)
    _normalize(acc, mask)
    negative = acc[-1] < 0
    if negative.any():
        acc[:, negative] = -acc[:, negative]
        _normalize(acc, mask)
    # acc holds |sum| / 2^base in digits [0, 2^30), most significant last
    nonzero = acc != 0
    top = ndig - 1 - np.argmax(nonzero[::-1], axis=0)  # index of the leading digit
    is_zero = ~nonzero.any(axis=0)
    top = np.where(is_zero, 1, np.maximum(top, 1))
    rows, cols = np.indices((m, n))
    lead = acc[top, rows, cols]
    below = acc[top - 1, rows, cols]
    hi = (lead << np.int64(_ACC_BITS)) | below
    # any bit under the two leading digits only breaks ties
    csum = np.cumsum(nonzero, axis=0)
    sticky = np.where(top >= 2, csum[np.maximum(top - 2, 0), rows, cols] > 0, False)
    exp0 = base + _ACC_BITS * (top - 1)  # weight of hi's bit 0
    nbits = np.frexp(lead.astype(np.float64))[1] + _ACC_BITS  # lead < 2^30: exact
    nbits = np.where(lead == 0, np.frexp(below.astype(np.float64))[1], nbits)
    # the float32 grid at this magnitude: 24 significant bits, never finer than 2^-149
    shift = np.maximum(exp0 + nbits - 24, -149) - exp0
    # shift <= 0 only when the sum has at most 24 bits (and no sticky bit): no rounding; past
    # 62 every bit is dropped and the sum is under a quarter of 2^-149, which rounds to 0
    shift = np.clip(shift, 0, 62)
    q = hi >> shift
    rem = hi & ((np.int64(1) << shift) - 1)
    half = np.int64(1) << np.maximum(shift - 1, 0)  # rem < half when shift is 0
    up = (rem > half) | ((rem == half) & (sticky | ((q & 1) == 1)))
    q += up
    with np.errstate(over="ignore"):
        out = np.ldexp(q.astype(np.float64), exp0 + shift).astype(np.float32)
    out[is_zero] = 0.0
    out[negative] = -out[negative]
    return out


def _normalize(acc: np.ndarray, mask: np.int64) -> None:
    """Carry acc's digits so that all but the last lie in [0, 2^30) (floor division)."""
    for u in range(acc.shape[0] - 1):
        acc[u + 1] += acc[u] >> np.int64(_ACC_BITS)
        acc[u] &= mask


def _exact_lo(x64: np.ndarray, axis: int, line: _LineRange) -> np.ndarray:
    """`line.lo` raised to the lowest set bit of each line of float64 `x64` along `axis`.

    A line with hi - lo <= 62 scales by 2^-lo to integers below 2^62, whose OR has as many
    trailing zeros as the entry with the fewest (two's complement keeps them). Other lines
    keep their bound.
    """
    fits = (line.hi - line.lo) <= 62
    scale = np.where(fits, np.ldexp(1.0, np.where(fits, -line.lo, 0)), 0.0)
    ints = (x64 * (scale[:, None] if axis == 1 else scale[None, :])).astype(np.int64)
    bits = np.bitwise_or.reduce(ints, axis=axis)
    low = bits & -bits
    return np.where(low != 0, line.lo + np.frexp(low.astype(np.float64))[1] - 1, line.lo)


def _failing(span_a: np.ndarray, span_b: np.ndarray, budget: int):
    """Rows of op(a) and columns of op(b) in some output element that fails the check."""
    return (
        np.flatnonzero(span_a + span_b.max() > budget),
        np.flatnonzero(span_b + span_a.max() > budget),
    )


class _Checked(NamedTuple):
    """Operands of a GEMM with their exactness check done: op(a) and op(b) in float64, the
    line bounds, and the rows of op(a) and columns of op(b) whose block may fail float64."""

    a64: np.ndarray
    b64: np.ndarray
    ra: _LineRange
    rb: _LineRange
    rows: np.ndarray
    cols: np.ndarray


def _checked_operands(a, b, transpose_a: bool, transpose_b: bool) -> _Checked | None:
    """`gemm`'s operands and its exactness check; None when the product is empty (a zero
    dimension). Raises ValueError for operands that are not finite matrices of matching
    reduction dims."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"gemm needs matrices, got shapes {a.shape} and {b.shape}")
    opa = a.T if transpose_a else a
    opb = b.T if transpose_b else b
    (m, k), (k2, n) = opa.shape, opb.shape
    if k != k2:
        raise ValueError(f"gemm reduction dims differ: {opa.shape} @ {opb.shape}")
    if m == 0 or n == 0 or k == 0:
        return None
    # lines of op(a) are its rows: axis 1 of op(a), which is axis 0 of a when transposed
    ra = _line_range(a, 0 if transpose_a else 1)
    rb = _line_range(b, 1 if transpose_b else 0)
    budget = 53 - (k - 1).bit_length()
    rows, cols = _failing(ra.hi - ra.lo, rb.hi - rb.lo, budget)
    a64 = opa.astype(np.float64)
    b64 = opb.astype(np.float64)
    if rows.size or cols.size:
        # the quick bounds assume every entry uses the line's widest significand; the exact
        # lowest bits of the failing lines often rescue them
        if rows.size:
            sub = _LineRange(ra.hi[rows], ra.lo[rows])
            ra.lo[rows] = _exact_lo(a64 if rows.size == m else a64[rows], 1, sub)
        if cols.size:
            sub = _LineRange(rb.hi[cols], rb.lo[cols])
            rb.lo[cols] = _exact_lo(b64 if cols.size == n else b64[:, cols], 0, sub)
        rows, cols = _failing(ra.hi - ra.lo, rb.hi - rb.lo, budget)
    return _Checked(a64, b64, ra, rb, rows, cols)


def _exact_parts(c: _Checked):
    """The exact, unrounded products of the failing block rows x cols of `c`, in chunks of
    rows: (rows of the chunk, digits, base, na, nb), as `_exact_digits`."""
    sub_b = c.b64[:, c.cols]
    range_b = _LineRange(c.rb.hi[c.cols], c.rb.lo[c.cols])
    # row chunks bound the int64 accumulators (a few dozen digits per output element)
    chunk = max(1, _EXACT_CHUNK // c.cols.size)
    for start in range(0, c.rows.size, chunk):
        part = c.rows[start : start + chunk]
        range_a = _LineRange(c.ra.hi[part], c.ra.lo[part])
        yield (part, *_exact_digits(c.a64[part], sub_b, range_a, range_b))


def gemm_with_stats(
    a, b, *, transpose_a: bool = False, transpose_b: bool = False
) -> tuple[np.ndarray, GemmStats]:
    """`gemm` plus what it did (for tests and benchmarks)."""
    c = _checked_operands(a, b, transpose_a, transpose_b)
    if c is None:
        m = np.shape(a)[1 if transpose_a else 0]
        n = np.shape(b)[0 if transpose_b else 1]
        return np.zeros((m, n), dtype=np.float32), GemmStats(0, 0, 0)
    (m, n), rows, cols = (c.a64.shape[0], c.b64.shape[1]), c.rows, c.cols
    if rows.size == m and cols.size == n:
        out = np.empty((m, n), dtype=np.float32)
    else:
        exact = parallel.matmul(c.a64, c.b64)
        exact += 0.0  # an exact zero is +0.0 whatever the signs of the products
        with np.errstate(over="ignore"):  # overflow to inf is the rounding asked for
            out = exact.astype(np.float32)
    if rows.size == 0 or cols.size == 0:
        return out, GemmStats(0, 0, 0)
    na = nb = 0
    for part, digits, base, pa, pb in _exact_parts(c):
        out[np.ix_(part, cols)] = _rounded(digits, base)
        na, nb = max(na, pa), max(nb, pb)
    return out, GemmStats(rows.size * cols.size, na, nb)


def gemm(a, b, *, transpose_a: bool = False, transpose_b: bool = False) -> np.ndarray:
    """op(a) @ op(b) for float32 operands: the exact sum of products, rounded once to float32.

    `op` transposes when its flag is set. Operands are converted to float32 first and must be
    finite (ValueError otherwise).

    Round to nearest even, with float32 subnormals and overflow to infinity; an exact zero is
    +0.0 (a nonzero sum that rounds to zero keeps its sign). The result does not depend on
    summation order or tiling.

    Fast path: float64 `@`. Every product of two float32s is exact in float64. For output
    (i, j), let each entry of row i of op(a) be a multiple of 2^lo_a[i] with magnitude below
    2^hi_a[i], and likewise column j of op(b) with lo_b[j], hi_b[j]. Then every product is a
    multiple of 2^(lo_a + lo_b), and every partial sum, in any order or grouping, has
    magnitude below K * 2^(hi_a + hi_b). If
        (hi_a[i] - lo_a[i]) + (hi_b[j] - lo_b[j]) <= 53 - ceil(log2 K),
    all of those sums are exactly representable in float64, so the float64 result is exact
    and casting it rounds once. The check runs in two stages: quick bounds per line from the
    largest and smallest nonzero magnitudes and the widest significand in the line (see
    `_line_range`), then, for the lines where that fails, the exact lowest set bit (see
    `_exact_lo`). Quantized operands have narrow significands on a few tile grids, so the
    check passes unless the tile exponents along a line spread widely. The rows and columns
    that still fail are recomputed exactly by cutting the operands into integer digit slices
    whose float64 GEMMs are exact and adding those in int64 (see `_exact_digits`).
    """
    return gemm_with_stats(a, b, transpose_a=transpose_a, transpose_b=transpose_b)[0]


class Quantized:
    """A quantized matrix as the NumPy runtime holds it: its values q·2^e with the tile
    exponents and code width they came from, and the per-line exponent bounds
    `gemm_quantized` derives from them, made once however many GEMMs read the copy.

    The values are float32 (`values`, exact: a code has at most 16 bits); the exact GEMMs
    convert them to float64 a cache-sized chunk at a time. `zero_tiles` marks the tiles
    whose input was all zero (quantization knows them), so the bounds need no scan of the
    values."""

    __slots__ = ("_lines", "bits", "block", "exponents", "values", "zero_tiles")

    def __init__(
        self,
        values: np.ndarray,
        exponents: np.ndarray,
        bits: int,
        block: tuple[int, int],
        zero_tiles: np.ndarray,
    ):
        if values.ndim != 2:
            raise ValueError("a Quantized holds a matrix")
        self.values = values
        self.exponents = exponents  # int, (Mp / block rows, Np / block cols)
        self.bits = bits
        self.block = block
        self.zero_tiles = zero_tiles
        self._lines: dict[int, _LineRange] = {}

    @property
    def shape(self) -> tuple[int, ...]:
        return self.values.shape

    def line_range(self, axis: int) -> _LineRange:
        """Bounds of the lines running along `axis` (1: rows, 0: columns) from the tile
        exponents: a value of a tile with exponent e is a multiple of 2^e below
        2^(e + bits - 1). All-zero tiles are left out."""
        found = self._lines.get(axis)
        if found is None:
            found = self._lines[axis] = self._line_range(axis)
        return found

    def _line_range(self, axis: int) -> _LineRange:
        e = self.exponents
        rows, cols = self.block
        zero = self.zero_tiles
        if zero.any():
            e = e.astype(np.int64)
            lo = _reduce_tiles(np.minimum, np.where(zero, np.iinfo(np.int64).max, e), axis)
            hi = _reduce_tiles(np.maximum, np.where(zero, np.iinfo(np.int64).min, e), axis)
            hi += self.bits - 1
            empty = lo == np.iinfo(np.int64).max
            lo[empty], hi[empty] = 0, 0
        else:  # the common case: no tile is all zero
            lo = _reduce_tiles(np.minimum, e, axis).astype(np.int64)
            hi = _reduce_tiles(np.maximum, e, axis).astype(np.int64) + self.bits - 1
        per_line = rows if axis == 1 else cols
        length = self.shape[0 if axis == 1 else 1]
        return _LineRange(np.repeat(hi, per_line)[:length], np.repeat(lo, per_line)[:length])


#: Most tile columns for which `_reduce_tiles` goes column by column.
_NARROW_TILE_COLUMNS = 4


def _reduce_tiles(ufunc: np.ufunc, e: np.ndarray, axis: int) -> np.ndarray:
    """`ufunc.reduce(e, axis=axis)` of a matrix of per-tile values. For a matrix a few tiles
    wide (a tensor-train core's narrow operands) it goes column by column: NumPy's
    reduction along or across rows that short runs a loop per row."""
    count = e.shape[1]
    if not 0 < count <= _NARROW_TILE_COLUMNS or e.shape[0] == 0:
        return ufunc.reduce(e, axis=axis)
    if axis == 0:
        return np.array([ufunc.reduce(e[:, c]) for c in range(count)], dtype=e.dtype)
    out = e[:, 0].copy()
    for c in range(1, count):
        ufunc(out, e[:, c], out=out)
    return out


def gemm_quantized(
    a: Quantized, b: Quantized, *, transpose_a: bool = False, transpose_b: bool = False
) -> np.ndarray:
    """`gemm` of two quantized matrices, the exactness check read off their tile exponents.

    The same result as `gemm(a.values, b.values, ...)`, bit for bit. When the tile exponents
    show that float64 holds every partial sum exactly (the condition of `gemm`), float64 GEMMs
    over chunks of the operands, converted chunk by chunk, give the exact sum, and casting it
    rounds once; when they show that even float32 holds every partial sum exactly (narrow
    spans and a short reduction, as in a first or last layer), a float32 GEMM gives the
    result directly; when that holds for most rows of op(a), the float32 GEMM gives those
    and float64 the others. Otherwise `gemm` runs on the values (see `_quantized_route`).
    """
    route = _quantized_route(a, b, transpose_a, transpose_b)
    opa, opb = _operand(a, transpose_a), _operand(b, transpose_b)
    if route.kind == "groups":
        return _grouped_product(opa, opb, route.groups)
    if route.kind == "values":
        return gemm(a.values, b.values, transpose_a=transpose_a, transpose_b=transpose_b)
    if route.kind == "float64":
        return _float64_product_rounded(opa, opb)
    out = parallel.matmul(opa, opb)
    out += np.float32(0.0)  # an exact zero is +0.0 whatever the signs of the products
    if route.kind == "split":
        out[route.rows] = _float64_product_rounded(opa[route.rows], opb)
    return out


class _Route(NamedTuple):
    """How op(a) @ op(b) of two `Quantized` is computed exactly: `kind` is "float32" (one
    float32 GEMM is exact), "split" (a float32 GEMM is exact but for the rows of op(a) in
    `rows`, whose float64 GEMM is), "float64" (float64 GEMMs are exact), "groups" (a float64
    GEMM per reduction group of `groups` is exact, see `_reduction_groups`) or "values"
    (`gemm` on the values)."""

    kind: str
    groups: list | None = None
    rows: np.ndarray | None = None


def _quantized_route(a: Quantized, b: Quantized, transpose_a: bool, transpose_b: bool) -> _Route:
    """The exactness check of `gemm_quantized`, read off the tile exponents."""
    if a.shape[0 if transpose_a else 1] == 0:
        return _Route("values")  # no products: an exact +0.0
    ra = a.line_range(0 if transpose_a else 1)
    rb = b.line_range(1 if transpose_b else 0)
    k = a.shape[0 if transpose_a else 1]
    budget = 53 - (k - 1).bit_length()
    rows, cols = _failing(ra.hi - ra.lo, rb.hi - rb.lo, budget)
    if rows.size or cols.size or k == 0:
        if k:
            # the reduction index's own bounds: columns of op(a), rows of op(b)
            ka = a.line_range(1 if transpose_a else 0)
            kb = b.line_range(0 if transpose_b else 1)
            groups = _reduction_groups(ka, kb, budget)
            if groups is not None:
                # one group: every product is within the budget of every other, so float64
                # sums them all exactly (indices left out contribute only zeros)
                return _Route("float64") if len(groups) <= 1 else _Route("groups", groups)
        return _Route("values")
    exact_rows = _rows_exact_in_float32(ra, rb, k)
    if exact_rows.all():
        return _Route("float32")
    if exact_rows.size >= _SPLIT_MIN_ROWS:
        inexact = np.flatnonzero(~exact_rows)
        if inexact.size <= exact_rows.size * _SPLIT_MAX_FLOAT64:
            return _Route("split", rows=inexact)
    return _Route("float64")


#: Fewest rows of op(a) for which a GEMM splits into float32 and float64 rows, and the most
#: (as a fraction of them) float64 rows it takes: a float32 GEMM of all rows and a float64
#: one of those few cost less than one float64 GEMM of all (about twice a float32 one).
_SPLIT_MIN_ROWS = 1024
_SPLIT_MAX_FLOAT64 = 0.25


def _operand(q: Quantized, transpose: bool) -> np.ndarray:
    """op(q)'s values."""
    return q.values.T if transpose else q.values


#: Most groups `_reduction_groups` cuts a reduction into (more go to `gemm`'s exact path),
#: unless the reduction is long: then one group per _GROUP_INDICES indices it holds, as a
#: group's cost (a GEMM call, an exact addition of its m x n sums) is small next to the work
#: of that many indices, and `gemm`'s exact path costs several GEMMs over all of them.
_MAX_GROUPS = 16
_GROUP_INDICES = 512


def _reduction_groups(ka: _LineRange, kb: _LineRange, budget: int) -> list | None:
    """The reduction indices grouped so that float64 sums each group exactly, with the
    lowest bit of the group's products: [(indices, lo), ...], or None.

    `ka` and `kb` bound column k of op(a) and row k of op(b) (hi == lo: all zero), so index k
    contributes products that are multiples of 2^lk below 2^hk, with lk = ka.lo + kb.lo and
    hk = ka.hi + kb.hi, or only zeros (left out). Sorted by hk, indices are cut into runs
    whose largest hk and smallest lk differ by at most `budget` (53 - ceil(log2 K)), the
    condition of `gemm`'s fast path for each run's GEMM. None when one index alone is wider
    than that or more runs would be needed than _MAX_GROUPS or one per _GROUP_INDICES live
    indices: a long reduction over rows of very different magnitudes (a weight gradient
    over many points) usually needs two or three.
    """
    hk, lk = ka.hi + kb.hi, ka.lo + kb.lo
    live = np.flatnonzero((ka.hi != ka.lo) & (kb.hi != kb.lo))
    if live.size == 0:
        return []
    if hk[live].max() - lk[live].min() <= budget:  # one group: no need to sort
        return [(live, int(lk[live].min()))]
    order = live[np.argsort(-hk[live], kind="stable")]
    high, low = hk[order], lk[order]
    most = max(_MAX_GROUPS, live.size // _GROUP_INDICES)
    groups = []
    start = 0
    while start < order.size:
        if len(groups) == most:
            return None
        lowest = np.minimum.accumulate(low[start:])
        fits = high[start] - lowest <= budget
        end = start + (fits.size if fits.all() else int(np.argmin(fits)))
        if end == start:
            return None
        # in storage order: gathering rows in order streams through memory
        groups.append((np.sort(order[start:end]), int(lowest[end - start - 1])))
        start = end
    return groups


def _grouped_product(opa: np.ndarray, opb: np.ndarray, groups: list) -> np.ndarray:
    """opa @ opb rounded once to float32, from a float64 GEMM per reduction group (exact by
    the choice of groups) whose sums, integers below 2^53 times 2^lo, are added exactly in
    int64 digits."""
    m, n = opa.shape[0], opb.shape[1]
    parts = []
    for index, lo in groups:
        total = _float64_reduction(opa, opb, index)
        parts.append((np.ldexp(total, -lo).astype(np.int64), lo))
    if not parts:
        return np.zeros((m, n), dtype=np.float32)
    base = min(lo for _, lo in parts)
    ndig = (max(lo for _, lo in parts) - base + 53 + 16) // _ACC_BITS + 3
    acc = np.zeros((ndig, m, n), dtype=np.int64)
    for integers, lo in parts:
        _add_at(acc, integers, lo - base)
    return _rounded(acc, base)


def _exact_in_float32(ra: _LineRange, rb: _LineRange, k: int) -> bool:
    """Whether every partial sum of op(a) @ op(b) is a normal float32 or zero: that of
    every row (`_rows_exact_in_float32`)."""
    return bool(_rows_exact_in_float32(ra, rb, k).all())


def _rows_exact_in_float32(ra: _LineRange, rb: _LineRange, k: int) -> np.ndarray:
    """Per row i of op(a), whether every partial sum of its outputs is a normal float32 or
    zero.

    Partial sums of output (i, j) are multiples of 2^(lo_a[i] + lo_b[j]) below
    2^(hi_a[i] + hi_b[j] + ceil(log2 K)): exact in float32 when those exponents differ by at
    most 24, with the lowest at or above 2^-126 (no subnormals, which some kernels flush)
    and the highest at most 2^127; row i takes the widest, lowest and highest column j.
    """
    log_k = (k - 1).bit_length()
    span_b = int((rb.hi - rb.lo).max(initial=0))
    lowest_b = int(rb.lo.min(initial=0))
    highest_b = int(rb.hi.max(initial=0))
    return (
        (ra.hi - ra.lo + span_b + log_k <= 24)
        & (ra.lo + lowest_b >= -126)
        & (ra.hi + highest_b + log_k <= 127)
    )


#: float64 bytes of one operand chunk converted per GEMM call: it stays in the core's cache
#: while BLAS reads it, and the call is still large enough to run at full speed
_GEMM_CHUNK_BYTES = 1 << 21


def _float64_product_rounded(opa: np.ndarray, opb: np.ndarray) -> np.ndarray:
    """opa @ opb computed in float64 and cast to float32, for operands (float32 or float64)
    whose float64 partial sums are exact in any order or grouping: the rows of opa (or, for
    a long reduction, the reduction) go in blocks on the thread pool, each converted,
    multiplied and rounded a cache-sized chunk at a time, so no full float64 copy of a
    float32 operand or of the product is made."""
    (m, k), n = opa.shape, opb.shape[1]
    out = np.empty((m, n), dtype=np.float32)
    if m < k:
        _copy(out, _float64_reduction(opa, opb))
        return out
    b64 = opb.astype(np.float64, copy=False)
    step = max(1, _GEMM_CHUNK_BYTES // (8 * max(k, n)))

    def rows(start: int, stop: int) -> None:
        product = np.empty((min(step, stop - start), n), dtype=np.float64)
        for first in range(start, stop, step):
            last = min(first + step, stop)
            chunk = opa[first:last].astype(np.float64, copy=False)
            np.matmul(chunk, b64, out=product[: last - first])
            _round_to(out[first:last], product[: last - first])

    parallel.for_row_chunks(m, threads.gemm_block_rows(m, k, n, np.float64), rows)
    return out


def _float64_reduction(opa: np.ndarray, opb: np.ndarray, index=None) -> np.ndarray:
    """The float64 sum over reduction positions k (`index`, or all) of op(a)[:, k] op(b)[k, :],
    for sums float64 holds exactly in any order: float64 operands are read as they are,
    float32 ones converted a chunk of positions at a time (no full float64 copy). As every
    grouping gives the same exact sums, the positions go in parts on the thread pool."""
    (m, k), n = opa.shape, opb.shape[1]
    if index is None and opa.dtype == np.float64 and opb.dtype == np.float64:
        return parallel.matmul(opa, opb)
    count = k if index is None else index.size
    step = max(1, _GEMM_CHUNK_BYTES // (8 * max(m, n)))
    parts = max(1, min(parallel.workers(), m * n * count // threads.GEMM_MACS_PER_BLOCK[8]))
    totals = []

    def positions(start: int, stop: int) -> None:
        total = np.zeros((m, n), dtype=np.float64)
        product = np.empty((m, n), dtype=np.float64)
        for first in range(start, stop, step):
            last = min(first + step, stop)
            chosen = slice(first, last) if index is None else index[first:last]
            a_part = _reduction_slice(opa, chosen, 1)
            b_part = _reduction_slice(opb, chosen, 0)
            total += np.matmul(a_part, b_part, out=product)
        totals.append(total)

    parallel.for_row_chunks(count, -(-count // parts), positions)
    total = totals[0]
    for other in totals[1:]:
        total += other
    return total


def _reduction_slice(op: np.ndarray, chosen, axis: int) -> np.ndarray:
    """float64 op[:, chosen] (axis 1) or op[chosen] (axis 0): an index array gathers whole
    rows of the array `op` views (op.T when op is a transposed one), streaming memory."""
    if isinstance(chosen, slice):
        part = op[:, chosen] if axis == 1 else op[chosen]
    elif axis == 1 and op.T.flags.c_contiguous:
        part = op.T[chosen].T
    else:
        part = np.take(op, chosen, axis=axis)
    return part.astype(np.float64, copy=False)


def _round_to(dst: np.ndarray, src: np.ndarray) -> None:
    """dst[...] = float64 src rounded to float32 (to nearest even, overflow to infinity;
    + 0.0 turns an exact zero into +0.0 whatever the signs of its products)."""
    with np.errstate(over="ignore"):
        np.add(src, 0.0, out=dst, casting="same_kind")


def _copy(dst: np.ndarray, src: np.ndarray) -> None:
    """`_round_to(dst, src)` by rows, on the thread pool when there is enough work."""
    rows, cols = dst.shape
    pieces = parallel.workers() if rows * cols >= parallel.CHUNK_ELEMENTS else 1

    def part(start: int, stop: int) -> None:
        _round_to(dst[start:stop], src[start:stop])

    parallel.for_row_chunks(rows, -(-rows // pieces), part)


def _matrix_values(
    x, edge: int, rows: int, bits: int, rounding: str, key, name, step, offset: int = 0
):
    """`_values` of matrix `x` in tiles of `rows` x `edge`: (values, exponents, zero tiles),
    the values cropped to the shape of `x`; stochastic draws start at `offset`.

    Tiles are independent, so large matrices go in chunks of whole tile rows on the
    runtime's thread pool, each chunk's passes running while it is in cache. Small matrices,
    and stochastic rounding (whose draws follow the element index in the whole tensor), go
    in one piece."""
    m, n = x.shape
    chunk = parallel.chunk_rows(n, align=rows)
    if rows == edge and rounding != "stochastic" and compiled_quantizer():
        return _compiled_matrix_values(x, edge, bits, rounding, name, step, chunk)
    if m <= chunk or rounding == "stochastic":
        t = _tile(x, edge, rows=rows)
        values, e, zero = _values(t, bits, rounding, key, name, step, offset)
        return _crop(values, x.shape), e, zero
    values = np.empty(x.shape, dtype=np.float32)
    e = np.empty((-(-m // rows), -(-n // edge)), dtype=np.int32)
    zero = np.empty(e.shape, dtype=bool)

    def run(start: int, stop: int) -> None:
        t = _tile(x[start:stop], edge, rows=rows)
        # a chunk needing no padding (all but perhaps the last) is quantized in place
        direct = t.padded.shape == (stop - start, n)
        part, part_e, part_zero = _values(
            t, bits, rounding, key, name, step, out=values[start:stop] if direct else None
        )
        if not direct:
            values[start:stop] = part[: stop - start, :n]
        tiles = slice(start // rows, start // rows + part_e.shape[0])
        e[tiles] = part_e
        zero[tiles] = part_zero

    try:
        parallel.for_row_chunks(m, chunk, run)
    except UserError:  # non-finite input: name its index in the whole tensor
        raise non_finite_error(x, name, step) from None
    return values, e, zero


@functools.cache
def compiled_quantizer() -> bool:
    """Whether the compiled quantizer (`pintac.runtime.smx_tiles`) can run: Numba is
    installed (`pip install -e '.[fast]'`). Without it the NumPy passes give the same bits,
    more slowly."""
    return importlib.util.find_spec("numba") is not None


def _compiled_matrix_values(x, edge: int, bits: int, rounding: str, name, step, chunk: int):
    """`_matrix_values` of square tiles rounded rne or away, by the compiled quantizer
    (`pintac.runtime.smx_tiles`, the same bits): row chunks on the thread pool."""
    from pintac.runtime import smx_tiles  # imports Numba: only once a matrix is quantized

    m, n = x.shape
    values = np.empty(x.shape, dtype=np.float32)
    e = np.empty((-(-m // edge), -(-n // edge)), dtype=np.int32)
    zero = np.empty(e.shape, dtype=bool)
    tables = (_POW2, _GRID_MAGIC, _HALF_GRID, EXP_MIN, _MAGIC_EXP_MAX)
    finite = []

    def run(start: int, stop: int) -> None:
        tiles = slice(start // edge, -(-stop // edge))
        part = (values[start:stop], e[tiles], zero[tiles])
        finite.append(smx_tiles.quantize_rows(x[start:stop], bits, edge, rounding, tables, *part))

    parallel.for_row_chunks(m, chunk, run)
    if not all(finite):
        raise non_finite_error(x, name, step)
    return values, e, zero


def quantize_matrix(
    x,
    bits: int = 8,
    block: tuple[int, int] = (4, 4),
    rounding: str = "rne",
    *,
    key: tuple[int, int, int] | None = None,
    name: str = "tensor",
    step: int | None = None,
    offset: int = 0,
) -> Quantized:
    """A matrix quantized to square `b x b` tiles (`quantize`) or 1-D runs `1 x b` / `b x 1`
    (`quantize_1d`), with the values the same bit for bit, kept as a `Quantized`.
    Stochastic draws start at `offset` (as in `quantize`; not with `b x 1` runs, which draw
    by the transposed tensor's index)."""
    x = np.asarray(x, dtype=np.float32)
    rows, cols = block
    if x.ndim != 2:
        raise ValueError(f"quantize_matrix needs a matrix, got shape {x.shape}")
    if rows == cols or rows == 1:
        edge = max(rows, cols)
        _check_settings(bits, edge, rounding, key)
        if step is None and key is not None:
            step = key[1]
        values, e, zero = _matrix_values(x, edge, rows, bits, rounding, key, name, step, offset)
        return Quantized(values, e, bits, block, zero_tiles=zero)
    if cols != 1:
        raise ValueError(f"blocks are square, 1 x b or b x 1, got {rows}x{cols}")
    if offset:
        raise ValueError("b x 1 runs draw by the transposed tensor's index: no element offset")
    flipped = quantize_matrix(x.T, bits, (1, rows), rounding, key=key, name=name, step=step)
    return Quantized(
        np.ascontiguousarray(flipped.values.T),
        flipped.exponents.T,
        bits,
        (rows, 1),
        zero_tiles=flipped.zero_tiles.T,
    )
