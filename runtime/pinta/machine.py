"""The architectural state of PINTA and the accumulator buffer's exact semantics.

- DRAM: a flat float32 array of words (the DRAM image; quantized tensors are held as their
  exact float32 values).
- SPM: the scratchpad, `config.spm_words` float32 words.
- ACC: the accumulators. An accumulator holds the exact sum of the products accumulated into
  it (a wide, Kulisch-style accumulator), rounded once to float32 when ACCRD reads it. The
  functional model keeps, per accumulated region, the GEMM contributions (copies of the operand
  tiles and their transpose flags) and evaluates them exactly when read: `smx.gemm` of the
  row-concatenation of the op(A) tiles and the column-concatenation of the op(B) tiles along
  the reduction, which is the exact sum rounded once whatever the split.
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


class _Region:
    """One accumulated m x n region: its exact sum and, once read, its value.

    The latest GEMM contribution is held as operand copies: a region of one contribution (the
    common case) is read with one `smx.gemm`. When another contribution arrives, the held one
    is added to an exact accumulator (`ExactSum`), whose rounding equals `smx.gemm` of the
    concatenated contributions bit for bit, without keeping or concatenating them.
    """

    __slots__ = ("latest", "m", "n", "total", "value")

    def __init__(self, m: int, n: int):
        self.m, self.n = m, n
        self.latest: tuple[np.ndarray, np.ndarray, bool, bool] | None = None
        self.total: ExactSum | None = None
        self.value: np.ndarray | None = None

    @property
    def size(self) -> int:
        return self.m * self.n

    def accumulate(self, part: tuple[np.ndarray, np.ndarray, bool, bool]) -> None:
        """Add op(a) op(b) of `part` = (a, b, transpose_a, transpose_b)."""
        if self.latest is not None:
            self._fold_latest()
        self.latest = part
        self.value = None

    def _fold_latest(self) -> None:
        if self.total is None:
            self.total = ExactSum((self.m, self.n))
        a, b, ta, tb = self.latest
        self.total.add_product(a, b, transpose_a=ta, transpose_b=tb)
        self.latest = None

    def evaluate(self) -> np.ndarray:
        if self.value is None:
            if self.total is None:
                a, b, ta, tb = self.latest
                self.value = smx.gemm(a, b, transpose_a=ta, transpose_b=tb)
            else:
                if self.latest is not None:
                    self._fold_latest()
                self.value = self.total.rounded()
        return self.value


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
