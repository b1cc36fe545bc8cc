"""NumPy kernels of the `smx` ops: quantization to SMX and 1-D MX formats.

The NumPy runtime carries a quantized matrix as a `pintac.runtime.smx.Quantized`: the float32
values `code · 2^exponent` its format gives (exact in float32) with its tile exponents, so a
GEMM on quantized operands (`train.gemm`) is computed exactly and checks its exactness from
the exponents (`pintac.runtime.smx.gemm_quantized`); `smx.dequantize` returns the values. The
numerics are `pintac.runtime.smx` (integer elements, square or 1-D blocks) and
`pintac.runtime.mx` (the OCP MX small-float elements).
"""

from __future__ import annotations

import numpy as np

from pintac.dialects.smx import DequantizeOp, QuantizeOp
from pintac.runtime import mx, smx
from pintac.runtime.kernels import kernel


@kernel(QuantizeOp)
def quantize(
    x: np.ndarray,
    *key: int,
    element: str,
    bits: int,
    block: tuple[int, int],
    rounding: str,
    stream: int | None,
    name: str,
    per_point: int | None = None,
) -> smx.Quantized | np.ndarray:
    """`x` in the op's format; `key` is (seed, step) for stochastic rounding, then `first`
    when `x` holds the points from `first` on of a larger tensor, `per_point` elements each:
    element i draws index first · per_point + i. Integer formats give a `Quantized` (values
    and tile exponents), the OCP small floats their values."""
    rng_key = (int(key[0]), int(key[1]), stream) if key else None
    offset = int(key[2]) * per_point if len(key) == 3 else 0
    rows, cols = block
    if element.startswith("int"):
        if x.ndim == 2:
            return smx.quantize_matrix(
                x, bits, block, rounding, key=rng_key, name=name, offset=offset
            )
        return smx.quantize(x, bits, rows, rounding, key=rng_key, name=name, offset=offset)
    if rounding != "rne":
        raise ValueError(f"the OCP MX formats round to nearest even, not {rounding}")
    return mx.quantize_mx(x, element, -1 if rows == 1 else -2, name=name)


@kernel(DequantizeOp)
def dequantize(q: smx.Quantized | np.ndarray) -> np.ndarray:
    """The values themselves: the runtime holds a quantized tensor by its values."""
    return q.values if isinstance(q, smx.Quantized) else q
