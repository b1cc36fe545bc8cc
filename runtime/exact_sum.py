"""An exact accumulator of GEMM products, rounded once to float32.

A reduction split into tiles (a weight gradient summed over tiles of points) must give the
result of the whole reduction bit for bit: `smx.gemm`'s exact sum of products rounded once.
`ExactSum` adds each tile's product exactly into int64 digits and rounds the total once, so
for any split of the reduction axis into consecutive chunks

    s = ExactSum((m, n))
    for a_t, b_t in chunks: s.add_product(a_t, b_t, transpose_a=..., transpose_b=...)
    s.rounded() == smx.gemm(a, b, transpose_a=..., transpose_b=...)   # bit for bit

without keeping the operands: memory is one tile's work plus the digits.

The total is held as sum_u digits[u] * 2^(base + 30 u), digits int64 (ndig, m, n), `base` a
multiple of 30. The window of digits grows down and up to cover the bits of the values added
(for products of float32s, at most 2^-298 up to 2^256 K) and has one digit above them for
carries, so the number of values added does not grow it: sums of similar magnitude keep a
few digits per element. A tile's product takes `smx`'s exact routes: when its exactness
check passes, one BLAS GEMM gives the exact product in float64 (or float32), whose digits
are cut off in float64, exactly, and added; otherwise the failing elements come from `smx`'s
exact digit slicing, added digit by digit at their offsets. Every addition is vectorized
over the elements; carries are normalized only before a digit could overflow.
"""

from __future__ import annotations

import numpy as np

from pintac.runtime import parallel, smx

_BITS = smx._ACC_BITS  # digit width
_MASK = np.int64((1 << _BITS) - 1)
#: Additions between carry normalizations: an addition puts less than 2^31 into a digit, so
#: digits stay below 2^60 in magnitude.
_PENDING_MAX = 1 << 28
#: A leading digit at or above this after normalization gets a digit above it.
_LEAD_MAX = 1 << 29
#: Lowest digit weight (exponent) the float64 digit extraction takes: 2^w and 2^-w are then
#: float64s and scaling by them is exact. Products of float32s never go lower.
_SCALED_MIN = -1022


class ExactSum:
    """The exact sum of m x n float products and values, rounded once by `rounded`."""

    def __init__(self, shape: tuple[int, int]):
        if len(shape) != 2 or min(shape) < 0:
            raise ValueError(f"ExactSum needs a matrix shape, got {shape}")
        m, n = (int(d) for d in shape)
        self.shape = (m, n)
        self._digits: np.ndarray | None = None  # int64 (ndig, m, n), least significant first
        self._base = 0  # exponent of digit 0, a multiple of _BITS
        self._pending = 0  # additions since the digits were last normalized

    @property
    def nbytes(self) -> int:
        """Bytes the accumulator's digits take."""
        return 0 if self._digits is None else self._digits.nbytes

    def add(self, values) -> None:
        """Add float32 or float64 `values` (m, n), finite, exactly as they are."""
        x = np.array(values, dtype=np.float64)  # a copy, which the addition consumes
        self._check_shape(x.shape)
        if not np.isfinite(x).all():
            raise ValueError("ExactSum adds finite values only")
        self._add_float64(x)

    def add_product(self, a, b, *, transpose_a: bool = False, transpose_b: bool = False) -> None:
        """Add op(a) @ op(b) exactly, for float32 matrices or `smx.Quantized` (their exact
        values; two `Quantized` take the check on their tile exponents, as
        `smx.gemm_quantized`)."""
        (m, k), (k_b, n) = _op_shape(a, transpose_a), _op_shape(b, not transpose_b)[::-1]
        if k != k_b:
            raise ValueError(f"ExactSum: product reduction dims differ: {k} and {k_b}")
        self._check_shape((m, n))
        if k == 0:
            return
        if isinstance(a, smx.Quantized) and isinstance(b, smx.Quantized):
            self._add_quantized_product(a, b, transpose_a, transpose_b)
            return
        a = a.values if isinstance(a, smx.Quantized) else a
        b = b.values if isinstance(b, smx.Quantized) else b
        self._add_values_product(a, b, transpose_a, transpose_b)

    def rounded(self) -> np.ndarray:
        """The sum rounded once to float32 (m, n), by `smx.gemm`'s rules: to nearest even,
        subnormals, overflow to infinity, +0.0 for an exact zero, and the sign kept by a
        nonzero sum that rounds to zero."""
        if self._digits is None:
            return np.zeros(self.shape, dtype=np.float32)
        self._normalize()
        return smx._rounded(self._digits.copy(), self._base)

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        if tuple(shape) != self.shape:
            raise ValueError(f"ExactSum of shape {self.shape} cannot add shape {tuple(shape)}")

    def _add_quantized_product(
        self, a: smx.Quantized, b: smx.Quantized, transpose_a: bool, transpose_b: bool
    ) -> None:
        route = smx._quantized_route(a, b, transpose_a, transpose_b)
        if route.kind == "values":
            self._add_values_product(a.values, b.values, transpose_a, transpose_b)
            return
        opa, opb = smx._operand(a, transpose_a), smx._operand(b, transpose_b)
        if route.kind in ("float32", "split"):
            product = parallel.matmul(opa, opb).astype(np.float64)
            if route.kind == "split":  # the rows float32 does not hold exactly
                product[route.rows] = smx._float64_reduction(opa[route.rows], opb)
            self._add_float64(product)
            return
        if route.kind == "groups":
            for index, _ in route.groups:
                self._add_float64(smx._float64_reduction(opa, opb, index))
            return
        self._add_float64(smx._float64_reduction(opa, opb))

    def _add_values_product(self, a, b, transpose_a: bool, transpose_b: bool) -> None:
        """`smx.gemm`'s routes, unrounded: the float64 GEMM where it is exact, the exact
        digit slices on the failing block."""
        checked = smx._checked_operands(a, b, transpose_a, transpose_b)
        if checked is None:
            return
        m, n = self.shape
        rows, cols = checked.rows, checked.cols
        if rows.size < m or cols.size < n:
            exact = parallel.matmul(checked.a64, checked.b64)
            if rows.size and cols.size:
                exact[np.ix_(rows, cols)] = 0.0  # not exact there: added from the slices
            self._add_float64(exact)
        if rows.size == 0 or cols.size == 0:
            return
        for part, digits, low, _, _ in smx._exact_parts(checked):
            index = (part[:, None] * n + cols[None, :]).reshape(-1)
            self._add_digits(_signed(digits).reshape(len(digits), -1), low.reshape(-1), index)

    def _add_float64(self, rest: np.ndarray) -> None:
        """Add float64 `rest` (m, n), consuming it: digit by digit from the top, the digit's
        part of each value is cut off in float64 (exact: scaling by a power of two,
        truncation, and a subtraction that clears the value's top bits) and added. The
        window grows down to the exact lowest set bit of what is left below it."""
        top = np.abs(rest).max(initial=0.0)
        if top == 0:
            return
        high = int(np.frexp(top)[1]) - 1  # exponent of the leading bit
        lowest = self._base if self._digits is not None else _lowest_bit(rest)
        while self._base_for(lowest) >= _SCALED_MIN:
            self._cover(lowest, high)
            self._peel(rest, (high - self._base) // _BITS)
            if not rest.any():
                self._count_addition()
                return
            high, lowest = self._base - 1, _lowest_bit(rest)  # what is left is below
        self._add_ints(rest)

    def _peel(self, rest: np.ndarray, top: int) -> None:
        """Move the digits `top` down to 0 of float64 `rest`, |rest| < 2^(weight of digit
        top + 30), into the accumulator."""
        part = np.empty_like(rest)
        for u in range(top, -1, -1):
            weight = self._base + _BITS * u
            np.multiply(rest, np.ldexp(1.0, -weight), out=part)
            np.trunc(part, out=part)  # below 2^30 in magnitude, with the sign of rest
            self._digits[u] += part.astype(np.int64)
            part *= np.ldexp(1.0, weight)
            rest -= part

    def _add_ints(self, x: np.ndarray) -> None:
        """Add float64 `x` (m, n) as integer mantissas at their exponents (any finite x)."""
        mant, exp = np.frexp(x.reshape(-1))  # x = mant * 2^exp, 1/2 <= |mant| < 1
        ints = np.ldexp(mant, 53).astype(np.int64)  # exact, below 2^53
        # at its lowest set bit, a value reaches no lower digit than the data's resolution
        trailing = _trailing_zeros(ints)
        ints >>= trailing
        low = exp.astype(np.int64) - 53 + trailing
        self._add_digits(np.stack([ints & _MASK, ints >> np.int64(_BITS)]), low)

    def _add_digits(self, digits: np.ndarray, low: np.ndarray, index=None) -> None:
        """Add sum_u digits[u, p] * 2^(low[p] + 30 u) to flat element index[p] (p when
        `index` is None). int64 digits below 2^30 in magnitude (the last below 2^31)."""
        live = np.flatnonzero(digits.any(axis=0))
        if live.size == 0:
            return
        if live.size < low.size:
            digits, low = digits[:, live], low[live]
            index = live if index is None else index[live]
        elif index is None:
            index = np.arange(low.size)
        used = np.flatnonzero(digits.any(axis=1))
        digits = digits[used[0] : used[-1] + 1]
        low = low + _BITS * int(used[0])
        count = digits.shape[0]
        # the pieces reach the digit of weight 2^(low + 30 count) at most
        self._cover(int(low.min()), int(low.max()) + _BITS * count)
        u, r = np.divmod(low - self._base, _BITS)
        size = self.shape[0] * self.shape[1]
        flat = self._digits.reshape(-1)
        at = u * size + index
        # d * 2^r = ((d mod 2^(30 - r)) << r) + floor(d / 2^(30 - r)) * 2^30: digit u + i of
        # the accumulator takes the low part of digits[i] and the carry of digits[i - 1],
        # less than 2^31 in magnitude together
        keep = np.left_shift(np.int64(1), _BITS - r) - 1
        carry = 0
        for i in range(count):
            d = digits[i]
            flat[at + i * size] += ((d & keep) << r) + carry
            carry = d >> (_BITS - r)
        flat[at + count * size] += carry
        self._count_addition()

    def _count_addition(self) -> None:
        """Note an addition of less than 2^31 to each digit; normalize before they could
        overflow."""
        self._pending += 1
        if self._pending >= _PENDING_MAX:
            self._normalize()

    def _cover(self, lowest: int, highest: int) -> None:
        """Grow the window to hold the digits of weights 2^lowest up to 2^highest, and one
        digit above them for carries."""
        m, n = self.shape
        base = self._base_for(lowest)
        need = (highest - base) // _BITS + 2
        if self._digits is None:
            self._digits = np.zeros((need, m, n), dtype=np.int64)
            self._base = base
            return
        shift = (self._base - base) // _BITS
        held = self._digits.shape[0]
        if shift == 0 and need <= held:
            return
        grown = np.zeros((max(need, shift + held), m, n), dtype=np.int64)
        grown[shift : shift + held] = self._digits
        self._digits, self._base = grown, base

    def _base_for(self, lowest: int) -> int:
        """The window's base once it holds a digit of weight 2^lowest."""
        base = lowest - lowest % _BITS
        return base if self._digits is None else min(base, self._base)

    def _normalize(self) -> None:
        """Carry the digits into [0, 2^30) but the leading one, kept small by adding a digit
        when carries fill it."""
        smx._normalize(self._digits, _MASK)
        if np.abs(self._digits[-1]).max(initial=0) >= _LEAD_MAX:
            m, n = self.shape
            self._digits = np.concatenate([self._digits, np.zeros((1, m, n), np.int64)])
            smx._normalize(self._digits, _MASK)
        self._pending = 0


def _lowest_bit(x: np.ndarray) -> int:
    """The exponent of the lowest set bit among the nonzero values of float64 `x`."""
    mant, exp = np.frexp(x[x != 0])
    ints = np.ldexp(mant, 53).astype(np.int64)
    return int((exp - 53 + _trailing_zeros(ints)).min())


def _trailing_zeros(ints: np.ndarray) -> np.ndarray:
    """Trailing zero bits of int64 `ints` below 2^53 in magnitude (0 for 0)."""
    trailing = np.frexp((ints & -ints).astype(np.float64))[1].astype(np.int64) - 1
    return np.maximum(trailing, 0, out=trailing)


def _signed(digits: np.ndarray) -> np.ndarray:
    """`digits` (ndig, ...) carried into digits below 2^30 in magnitude with the sign of
    their sum, so the digits above a sum's magnitude are zero (in place)."""
    smx._normalize(digits, _MASK)
    negative = digits[-1] < 0
    if negative.any():
        digits[:, negative] = -digits[:, negative]
        smx._normalize(digits, _MASK)
        digits[:, negative] = -digits[:, negative]
    return digits


def _op_shape(x, transpose: bool) -> tuple[int, int]:
    """The shape of op(x) for a matrix or `smx.Quantized` x."""
    shape = x.shape if isinstance(x, smx.Quantized) else np.shape(x)
    if len(shape) != 2:
        raise ValueError(f"ExactSum adds products of matrices, got an operand of shape {shape}")
    return shape[::-1] if transpose else shape
