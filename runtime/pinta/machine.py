"""The architectural state of PINTA and the accumulator buffer's exact semantics.

- DRAM: a flat float32 array of words (the DRAM image; quantized tensors are held as their
  exact float32 values).
- SPM: the scratchpad, `config.spm_words` float32 words.
- ACC: the accumulators. An accumulator holds the exact sum of the products accumulated into
  it (a wide, Kulisch-style accumulator), rounded once to float32 when ACCRD reads it. The
  functional model keeps, per accumulated region, its latest GEMM contributions (copies of the
  operand tiles and their transpose flags) and, once they exceed `FOLD_ELEMENTS`, adds them to
  an exact accumulator (`pintac.runtime.exact_sum.ExactSum`). A read is `smx.gemm` of the
  concatenated contributions (op(A) tiles side by side, op(B) tiles stacked) or the
  accumulator's rounding: both the exact sum rounded once, whatever the split.
- Registers: `seed` and `step` (u64), set by the host before each step.
- The constant buffer: float64 entries the host copies from the constant pool in DRAM.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort

import numpy as np

from pintac.runtime import smx
from pintac.runtime.exact_sum import ExactSum
from pintac.runtime.pinta.errors import Fault

#: Operand elements (of op(A) and op(B)) a region keeps as copies before adding them to its
#: exact accumulator (4 MiB of float32). Below it a read is one `smx.gemm` of the
#: concatenated contributions, so a region of a few contributions never pays for the
#: accumulator's digits; above it the copies stay bounded, and so does the reduction length
#: each exactness check sees (a long one fails `smx.gemm`'s fast path more often).
FOLD_ELEMENTS = 1 << 20

_Part = tuple[np.ndarray, np.ndarray, bool, bool]  # (a, b, transpose_a, transpose_b)


class _Region:
    """One accumulated m x n region: its pending GEMM contributions (operand copies), the
    exact sum of the earlier ones, and, once read, its value."""

    __slots__ = ("m", "n", "pending", "pending_elements", "total", "value")

    def __init__(self, m: int, n: int):
        self.m, self.n = m, n
        self.pending: list[_Part] = []
        self.pending_elements = 0
        self.total: ExactSum | None = None
        self.value: np.ndarray | None = None

    @property
    def size(self) -> int:
        return self.m * self.n

    def accumulate(self, part: _Part) -> None:
        """Add op(a) op(b); past FOLD_ELEMENTS pending, into the exact accumulator."""
        self.pending.append(part)
        self.pending_elements += part[0].size + part[1].size
        self.value = None
        if self.pending_elements >= FOLD_ELEMENTS:
            self._fold()

    def _fold(self) -> None:
        """Move the pending contributions into the exact accumulator."""
        if self.total is None:
            self.total = ExactSum((self.m, self.n))
        a, b, ta, tb = _joined(self.pending)
        self.total.add_product(a, b, transpose_a=ta, transpose_b=tb)
        self.pending = []
        self.pending_elements = 0

    def evaluate(self) -> np.ndarray:
        """The exact sum rounded once: `smx.gemm` of the concatenated contributions, which
        the exact accumulator's rounding equals bit for bit."""
        if self.value is None:
            if self.total is None:
                a, b, ta, tb = _joined(self.pending)
                self.value = smx.gemm(a, b, transpose_a=ta, transpose_b=tb)
            else:
                if self.pending:
                    self._fold()
                self.value = self.total.rounded()
        return self.value


def _joined(parts: list[_Part]) -> _Part:
    """One product equal to the sum of the parts' products: op(A)s side by side, op(B)s
    stacked."""
    if len(parts) == 1:
        return parts[0]
    a, ta = _joined_operand([(x, ta) for x, _, ta, _ in parts], reduction_axis=1)
    b, tb = _joined_operand([(x, tb) for _, x, _, tb in parts], reduction_axis=0)
    return a, b, ta, tb


def _joined_operand(operands: list[tuple[np.ndarray, bool]], reduction_axis: int):
    """(x, transposed) whose op(x) joins the op(x)s of `operands` along `reduction_axis`:
    operands stored alike are joined as stored (no transposed copy)."""
    flags = {t for _, t in operands}
    if flags == {True}:
        return np.concatenate([x for x, _ in operands], axis=1 - reduction_axis), True
    return np.concatenate([x.T if t else x for x, t in operands], axis=reduction_axis), False


class AccumulatorBuffer:
    """The ACC: non-overlapping regions keyed by their first accumulator."""

    def __init__(self, words: int):
        self.words = words
        self._starts: list[int] = []
        self._regions: dict[int, _Region] = {}

    def clear(self) -> None:
        self._starts.clear()
        self._regions.clear()

    def _overlapping(self, addr: int, size: int) -> list[int]:
        """Starts of the regions overlapping [addr, addr + size)."""
        found = []
        i = bisect_left(self._starts, addr + size) - 1
        while i >= 0:
            start = self._starts[i]
            if start + self._regions[start].size <= addr:
                break
            found.append(start)
            i -= 1
        return found

    def _describe(self, addr: int, m: int, n: int) -> str:
        """Why the m x n region at `addr` cannot be read: never written, or another shape."""
        over = self._overlapping(addr, max(m * n, 1))
        if not over:
            return "was never written (start a region with GEMM init=1)"
        r = self._regions[over[-1]]
        return f"overlaps the {r.m} x {r.n} region started at ACC[{over[-1]}]"

    def gemm(self, addr: int, m: int, n: int, part, init: bool) -> None:
        """Start (init) or accumulate into the m x n region at `addr` (empty: nothing)."""
        if m * n == 0:
            return
        if init:
            for start in self._overlapping(addr, m * n):
                self._starts.remove(start)
                del self._regions[start]
            region = _Region(m, n)
            self._regions[addr] = region
            insort(self._starts, addr)
        else:
            region = self._regions.get(addr)
            if region is None or (region.m, region.n) != (m, n):
                raise Fault(
                    f"GEMM init=0 accumulates into ACC[{addr}, {addr + m * n}) as {m} x {n}, "
                    f"which {self._describe(addr, m, n)}"
                )
        region.accumulate(part)

    def read(self, addr: int, m: int, n: int) -> np.ndarray:
        """The float32 value of the m x n region at `addr` (exact sum rounded once)."""
        region = self._regions.get(addr)
        if region is None or (region.m, region.n) != (m, n):
            if m * n == 0:
                return np.zeros((m, n), np.float32)
            raise Fault(
                f"ACCRD reads ACC[{addr}, {addr + m * n}) as {m} x {n}, which "
                f"{self._describe(addr, m, n)}"
            )
        return region.evaluate()


class Machine:
    """DRAM, SPM, ACC, the registers and the constant buffer of one PINTA."""

    def __init__(self, spm_words: int, acc_words: int, dram: np.ndarray, consts: np.ndarray):
        self.dram = dram
        self.spm = np.zeros(spm_words, np.float32)
        self.acc = AccumulatorBuffer(acc_words)
        self.consts = consts
        self.seed = 0
        self.step = 0

    def spm_view(self, addr: int, shape) -> np.ndarray:
        """The SPM words at `addr` as a dense row-major array of `shape` (a view)."""
        n = math.prod(shape)
        return self.spm[addr : addr + n].reshape(shape)

    def spm_write(self, addr: int, value: np.ndarray) -> None:
        flat = np.asarray(value, dtype=np.float32).reshape(-1)
        self.spm[addr : addr + flat.size] = flat

    def const(self, index: int) -> float:
        return float(self.consts[index])
