"""NumPy kernels of the `smx` ops: quantization to SMX and 1-D MX formats.

The NumPy runtime carries a quantized tensor as the float32 values `code · 2^exponent` its
format gives (exact in float32), so `smx.dequantize` is a view and a GEMM on quantized
operands is `train.gemm` on those values, computed exactly (`pintac.runtime.smx.gemm`). The
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
) -> np.ndarray:
    """The values of `x` in the op's format; `key` is (seed, step) for stochastic rounding."""
    rng_key = (int(key[0]), int(key[1]), stream) if key else None
    rows, cols = block
    if element.startswith("int"):
        if rows == cols:
            return smx.quantize(x, bits, rows, rounding, key=rng_key, name=name)
        return smx.quantize_1d(
            x, bits, max(rows, cols), -1 if rows == 1 else -2, rounding, key=rng_key, name=name
        )
    if rounding != "rne":
        raise ValueError(f"the OCP MX formats round to nearest even, not {rounding}")
    return mx.quantize_mx(x, element, -1 if rows == 1 else -2, name=name)


@kernel(DequantizeOp)
def dequantize(q: np.ndarray) -> np.ndarray:
    """The values themselves: the runtime already holds a quantized tensor as its values."""
    return q
