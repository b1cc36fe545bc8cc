"""The OCP MX v1.0 1-D block formats, in NumPy, for comparison with square-block MX (SMX).

A block is 32 consecutive elements along one axis (the axis is zero-padded to a multiple of
32) sharing an E8M0 scale 2^X. Following the OCP MX v1.0 conversion:

* `X = floor(log2 amax) - emax_elem`, clamped to [-127, 127]; an all-zero block gets -127
  (and zero codes);
* each element `v / 2^X` is rounded to the element format to nearest, ties to even, with the
  element's subnormals, and saturated to its largest normal magnitude.

Element formats (name: largest normal, emax_elem):

    mxint8    127/64 (k * 2^-6, k in [-127, 127]: symmetric), 0
    fp8_e4m3  448,   8        fp8_e5m2  57344, 15
    fp6_e2m3  7.5,   2        fp6_e3m2  28,     4
    fp4_e2m1  6,     2

Codes are the formats' bit patterns (sign, exponent, mantissa; two's complement for mxint8)
in uint8; scales are E8M0 bytes `X + 127`. A float element that rounds to zero keeps its sign
(code 0x80 etc. is -0), as IEEE conversions do; mxint8 has no -0.

Non-finite input is refused with a `UserError` naming the tensor, as for SMX. The OCP
conversion would instead give the block the NaN scale (E8M0 0xFF), which makes all 32 of its
values NaN and lets the failure spread silently through the step; in training a NaN or an
infinity is a bug to stop at, where it first appears.

Because a block runs along one axis, `quantize_mx(X, axis=-1).T` is generally not
`quantize_mx(X.T, axis=-1)`: a transposed use needs a second copy quantized along the other
axis, which square SMX tiles avoid.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pintac.runtime.smx import non_finite_error

#: Elements sharing one scale.
BLOCK = 32
#: Range of the shared exponent (E8M0 without its NaN code 0xFF).
EXP_MIN, EXP_MAX = -127, 127


class Element(NamedTuple):
    """An MX element format. Floats: `ebits` exponent and `mbits` mantissa bits."""

    bits: int
    ebits: int
    mbits: int
    #: Exponent of the largest normal value (OCP emax_elem).
    emax: int
    #: Largest finite magnitude (saturation bound).
    max_value: float

    @property
    def is_int(self) -> bool:
        return self.ebits == 0

    @property
    def bias(self) -> int:
        return (1 << (self.ebits - 1)) - 1

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal value."""
        return 1 - self.bias


#: The OCP MX element formats by the names the `smx` dialect uses.
ELEMENTS: dict[str, Element] = {
    "mxint8": Element(8, 0, 6, 0, 127 / 64),
    "fp8_e4m3": Element(8, 4, 3, 8, 448.0),
    "fp8_e5m2": Element(8, 5, 2, 15, 57344.0),
    "fp6_e2m3": Element(6, 2, 3, 2, 7.5),
    "fp6_e3m2": Element(6, 3, 2, 4, 28.0),
    "fp4_e2m1": Element(4, 2, 1, 2, 6.0),
}


def _element(element: str) -> Element:
    try:
        return ELEMENTS[element]
    except KeyError:
        raise ValueError(f"unknown MX element {element!r}; valid: {', '.join(ELEMENTS)}") from None


def _decode_table(fmt: Element) -> np.ndarray:
    """float64 value of every code 0 .. 2^bits - 1."""
    codes = np.arange(1 << fmt.bits)
    if fmt.is_int:
        return np.where(codes >= 128, codes - 256, codes) * 2.0**-fmt.mbits
    sign = np.where(codes >> (fmt.ebits + fmt.mbits) == 1, -1.0, 1.0)
    field = (codes >> fmt.mbits) & ((1 << fmt.ebits) - 1)
    mant = codes & ((1 << fmt.mbits) - 1)
    normal = np.ldexp(((1 << fmt.mbits) + mant).astype(float), field - fmt.bias - fmt.mbits)
    sub = np.ldexp(mant.astype(float), fmt.emin - fmt.mbits)
    values = sign * np.where(field == 0, sub, normal)
    top = (1 << fmt.ebits) - 1
    if fmt.ebits == 4:  # E4M3 ("fn"): no infinities, S.1111.111 is NaN
        values[(field == top) & (mant == (1 << fmt.mbits) - 1)] = np.nan
    elif fmt.ebits == 5:  # E5M2 is IEEE-like: all-ones exponent is infinity or NaN
        values[field == top] = np.where(mant[field == top] == 0, np.inf, np.nan)
        values[field == top] *= sign[field == top]
    return values


_DECODE = {name: _decode_table(fmt) for name, fmt in ELEMENTS.items()}


def _axis(axis: int, ndim: int) -> int:
    if ndim == 0:
        raise ValueError("MX quantization needs a tensor of rank >= 1")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for rank {ndim}")
    return axis % ndim


def _blocks(x: np.ndarray, axis: int) -> tuple[np.ndarray, int]:
    """x with `axis` moved last, zero-padded and cut into (..., nblocks, 32); the axis."""
    axis = _axis(axis, x.ndim)
    moved = np.moveaxis(x, axis, -1)
    pad = -moved.shape[-1] % BLOCK
    if pad:
        moved = np.pad(moved, [(0, 0)] * (moved.ndim - 1) + [(0, pad)])
    return moved.reshape(*moved.shape[:-1], -1, BLOCK), axis


_POW2 = np.ldexp(1.0, np.arange(EXP_MIN, EXP_MAX + 1)).astype(np.float32)  # 2^X, X + 127
_RNE_MAGIC = np.float32(1.5 * 2.0**23)


def _encode(x, element: str, axis: int, name: str, step, with_codes: bool):
    """`x` quantized in blocks along `axis`.

    Returns (codes uint8 (..., nblocks, 32) or None, shared exponents int32 (..., nblocks),
    values float32 (..., nblocks, 32), the axis as a non-negative index).
    """
    fmt = _element(element)
    x = np.asarray(x, dtype=np.float32)
    blocks, axis = _blocks(x, axis)
    # |v| as bits: the integer order is the float order, and NaN/inf sort above all finites
    mag = blocks.view(np.uint32) & np.uint32(0x7FFFFFFF)
    top = mag.max(axis=-1, initial=0)
    if top.size and top.max() >= 0x7F800000:
        raise non_finite_error(x, name, step)
    # floor(log2 amax) exactly (frexp: amax = f * 2^k, f in [0.5, 1)); log2 may round up
    _, k = np.frexp(top.view(np.float32))
    scale = np.clip(k.astype(np.int32) - 1 - fmt.emax, EXP_MIN, EXP_MAX)
    scale[top == 0] = EXP_MIN
    # y = v / 2^X in float32 is exact unless |y| < 2^-126, and anything that small rounds to
    # a (signed) zero in every element format, whose smallest step is 2^-16 or more
    y = blocks * _POW2[EXP_MAX - scale][..., None]
    up = _POW2[scale - EXP_MIN][..., None]
    if fmt.is_int:
        k = y * np.float32(2**fmt.mbits)
        k += _RNE_MAGIC  # rounds to an integer, ties to even, and gives +0.0 for zero
        k -= _RNE_MAGIC
        np.clip(k, -127, 127, out=k)
        codes = k.astype(np.int8).view(np.uint8) if with_codes else None
        values = k * np.float32(2.0**-fmt.mbits) * up
    else:
        a = np.abs(y)
        # round a to the element grid at its binade, 2^(max(floor(log2 a), emin) - mbits):
        # adding and subtracting C = 2^(max(floor(log2 a), emin) + 23 - mbits) does it to
        # nearest even, as the float32 spacing at C is that grid step (C is even in it)
        binade = np.maximum(
            a.view(np.uint32) & np.uint32(0x7F800000), np.uint32((fmt.emin + 127) << 23)
        )
        magic = (binade + np.uint32((23 - fmt.mbits) << 23)).view(np.float32)
        r = a + magic
        r -= magic
        np.minimum(r, np.float32(fmt.max_value), out=r)
        codes = _float_codes(fmt, r, np.signbit(y)) if with_codes else None
        values = np.copysign(r, y) * up
    # values are exact in float32: at most 4 significant bits (7 for mxint8), lowest bit at or
    # above 2^(-127 - 16) (E5M2's smallest subnormal), below 2^128
    return codes, scale, values, axis


def _float_codes(fmt: Element, r: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """uint8 codes of element magnitudes `r` (float32, on the element grid) and signs.

    Normal elements keep r's exponent (rebiased) and the top mbits of its mantissa;
    subnormal elements are r / 2^(emin - mbits).
    """
    rbits = r.view(np.uint32)
    field = (rbits >> np.uint32(23)).astype(np.int32) - 127 + fmt.bias
    mant = (rbits & np.uint32(0x7FFFFF)) >> np.uint32(23 - fmt.mbits)
    # the clamp keeps the subnormal formula in range where it is not used
    sub = np.minimum(r, np.float32(2.0**fmt.emin)) * np.float32(2.0 ** (fmt.mbits - fmt.emin))
    code = np.where(field >= 1, (field << fmt.mbits) | mant, sub.astype(np.int32))
    code |= negative.astype(np.int32) << (fmt.ebits + fmt.mbits)
    return code.astype(np.uint8)


def _restore(padded_blocks: np.ndarray, axis: int, length: int | None) -> np.ndarray:
    """(..., nblocks, 32) back to the tensor layout, cropped to `length` along `axis`."""
    flat = padded_blocks.reshape(*padded_blocks.shape[:-2], -1)
    if length is not None:
        flat = flat[..., :length]
    return np.ascontiguousarray(np.moveaxis(flat, -1, axis))


def quantize_mx(
    x, element: str, axis: int = -1, *, name: str = "tensor", step: int | None = None
) -> np.ndarray:
    """The MX-quantized values of `x` (float32, shape of `x`), blocks of 32 along `axis`.

    Equal bit for bit to `dequantize_mx(*quantize_mx_codes(x, element, axis), element, axis,
    x.shape)`. `name` and `step` are for the error message on non-finite input.
    """
    x = np.asarray(x, dtype=np.float32)
    _, _, values, axis = _encode(x, element, axis, name, step, False)
    return _restore(values, axis, x.shape[axis])


def quantize_mx_codes(
    x, element: str, axis: int = -1, *, name: str = "tensor", step: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Element codes and E8M0 scales of `x`, blocks of 32 along `axis`.

    Returns `(codes, scales)`, both uint8: codes have the shape of `x` with `axis` padded to a
    multiple of 32; scales have `axis` replaced by the number of blocks, and hold X + 127.
    """
    codes, scale, _, axis = _encode(x, element, axis, name, step, True)
    scales = np.moveaxis((scale + 127).astype(np.uint8), -1, axis)
    return _restore(codes, axis, None), np.ascontiguousarray(scales)


def dequantize_mx(codes, scales, element: str, axis: int, shape) -> np.ndarray:
    """float32 values `element(code) * 2^(scale - 127)` cropped to `shape`.

    Every code decodes, including those quantization never produces (E4M3 NaN, E5M2
    infinities and NaN, mxint8 -128); the scale byte 0xFF is NaN.
    """
    fmt = _element(element)
    shape = tuple(shape)
    codes = np.asarray(codes, dtype=np.uint8)
    scales = np.asarray(scales, dtype=np.uint8)
    axis = _axis(axis, len(shape))
    if codes.max(initial=0) >= 1 << fmt.bits:
        raise ValueError(f"{element} codes are {fmt.bits}-bit, got {int(codes.max())}")
    blocks = np.moveaxis(codes, axis, -1)
    blocks = blocks.reshape(*blocks.shape[:-1], -1, BLOCK)
    exps = np.moveaxis(scales, axis, -1).astype(np.int32)
    factor = np.where(exps == 255, np.nan, np.ldexp(1.0, exps - 127))
    with np.errstate(over="ignore"):  # codes quantization never makes can overflow float32
        values = (_DECODE[element][blocks] * factor[..., None]).astype(np.float32)
    return _restore(values, axis, shape[axis])
