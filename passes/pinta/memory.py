"""Where a step's values live on PINTA: DRAM homes with reused space, and SPM/ACC staging.

Every value of the step has a DRAM home (`Home`). Parameters, optimizer state, points and
losses have fixed homes the host reads and writes between steps; the others are placed by
first fit over their lifetimes (the execution plan's), so a buffer is reused once its value
is dead. Views (reshapes, permutes that move no data, dequantize) share their source's home;
results the plan computes in place share their operand's.

Each op works through the SPM in tiles (`Staging`): buffers that stay for the whole op
(weights of a GEMM, running sums) first, then two halves that successive tiles use in turn,
so that the DMA of one tile overlaps the compute of the other.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from pintac.runtime.errors import PassError

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Home:
    """A value in DRAM: row-major words at `addr`, DMA'd in format `fmt` (f32 or an SMX
    storage format), read by a GEMM in multiplier mode `prec`."""

    addr: int
    shape: Shape
    fmt: str = "f32"
    prec: str = "f32"

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def units(self) -> int:
        """Entries along the leading dimension (1 for scalars and vectors)."""
        return self.shape[0] if len(self.shape) >= 2 else 1

    @property
    def unit_words(self) -> int:
        """Words per entry of the leading dimension."""
        return self.size // self.units if self.units else 0

    @property
    def line(self) -> int:
        """Words per row of the matrix a DMA sees (the last dimension)."""
        return self.shape[-1] if self.shape else 1

    def rows_of(self, units: int) -> int:
        """Matrix rows in `units` entries of the leading dimension."""
        return units * self.unit_words // self.line if self.line else 0


class FirstFit:
    """Addresses for blocks that come and go: the lowest gap that fits, above `base`."""

    def __init__(self, base: int):
        self.base = base
        self.starts: list[int] = []  # sorted
        self.sizes: dict[int, int] = {}
        self.high = base

    def allocate(self, size: int) -> int:
        at = self.base
        for start in self.starts:
            if start - at >= size:
                break
            at = max(at, start + self.sizes[start])
        bisect.insort(self.starts, at)
        self.sizes[at] = size
        self.high = max(self.high, at + size)
        return at

    def free(self, at: int) -> None:
        self.starts.remove(at)
        del self.sizes[at]


@dataclass
class Tile:
    """One tile of an op: units [u0, u1) of its leading dimension and its SPM buffers."""

    u0: int
    u1: int
    spm: dict[str, int]
    acc: int
    first: bool
    last: bool

    @property
    def n(self) -> int:
        return self.u1 - self.u0


class Staging:
    """The SPM and ACC of one op: resident buffers from address 0, then two halves."""

    def __init__(self, spm_words: int, acc_words: int, what: str):
        self.spm_words = spm_words
        self.acc_words = acc_words
        self.what = what
        self.spm_used = 0
        self.acc_used = 0

    def resident(self, words: int, name: str) -> int:
        at = self.spm_used
        self.spm_used += words
        if self.spm_used > self.spm_words:
            raise PassError(
                f"{self.what}: {name} ({words * 4} bytes) does not fit in the SPM "
                f"({self.spm_words * 4} bytes) next to the op's other buffers"
            )
        return at

    def resident_acc(self, words: int, name: str) -> int:
        at = self.acc_used
        self.acc_used += words
        if self.acc_used > self.acc_words:
            raise PassError(
                f"{self.what}: {name} needs {words} accumulators; the ACC holds {self.acc_words}"
            )
        return at

    @property
    def half(self) -> int:
        return (self.spm_words - self.spm_used) // 2

    @property
    def acc_half(self) -> int:
        return (self.acc_words - self.acc_used) // 2

    def half_base(self, parity: int) -> int:
        return self.spm_used + parity * self.half

    def acc_base(self, parity: int) -> int:
        return self.acc_used + parity * self.acc_half
