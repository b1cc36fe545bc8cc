"""Helpers of the PINTA tests: a bare machine to execute instructions on (without the
simulator's static checks and timing) and a bitwise comparison."""

from pathlib import Path

import numpy as np

from pintac.runtime.pinta import isa
from pintac.runtime.pinta.machine import Machine


class Bench:
    """A PINTA machine with a DRAM image, an SPM and a constant buffer, for semantics tests."""

    def __init__(self, spm_words=1 << 16, dram=None, consts=(), seed=0, step=0):
        dram = np.zeros(16, np.float32) if dram is None else np.asarray(dram, np.float32)
        self.m = Machine(spm_words, 1 << 12, dram.copy(), np.array(consts, np.float64))
        self.m.seed, self.m.step = seed, step

    def put(self, addr: int, x) -> int:
        """Write x into the SPM at addr; the address after it."""
        x = np.asarray(x, np.float32)
        self.m.spm_write(addr, x)
        return addr + x.size

    def get(self, addr: int, shape) -> np.ndarray:
        return self.m.spm_view(addr, shape).copy()

    def run(self, *instructions) -> None:
        for ins in instructions:
            isa.validate(ins)
            ins.spec.execute(self.m, ins)


def same_bits(a, b) -> bool:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


ROOT = Path(__file__).resolve().parents[3]
GOLDEN = Path(__file__).resolve().parent / "golden"
