"""How many threads the runtime's work uses, decided from its size alone.

BLAS runs on one thread. OpenBLAS's threads busy-wait for each other inside a GEMM (once per
block of the reduction) and after it; when other processes hold the cores, a thread waiting
for a descheduled partner burns time slices. So a multi-threaded BLAS GEMM is fast on an idle
machine and can be many times slower than one thread on a busy one, whatever its size: next
to two busy-looping processes on 2 cores, a 256 x 65 536 by 65 536 x 256 weight-gradient GEMM
ran 4-5 times slower on two BLAS threads than on one, and a poisson2d_small training step 76
times slower. BLAS also splits the work by the number of threads, which changes float32
results in the last bits.

Instead, a large GEMM is cut into blocks of rows, from its shape alone (`gemm_block_rows`),
and the blocks run as single-threaded BLAS calls on the runtime's thread pool
(`pintac.runtime.parallel`), whose workers wait without spinning: on a busy machine a late
block delays the GEMM by no more than its own work, and the result is the same bits whether
the blocks run on one thread or many. A GEMM too small to pay for a block runs whole on the
calling thread, and BLAS's own threads are never woken, whichever of NumPy and pintac was
imported first. Elementwise work uses the pool when it has more than one chunk
(`pintac.runtime.parallel.CHUNK_ELEMENTS`, 2 MiB of float32); less runs on the calling thread.

Thresholds. `python benchmarks/threads.py gemm` times float32 and float64 GEMMs of the
runtime's shapes whole on one thread, whole on two BLAS threads and cut into two blocks on two
pool workers, idle and next to two busy-looping processes, with the CPU time (of every thread)
of the blocks against one call's: a measure other load hardly moves, and the one that says
what two blocks gain on an idle machine. Two blocks cost about 10 % more CPU time than one
call from `GEMM_MACS_PER_BLOCK` multiply-adds per block (2^24 in float32, 2^23 in float64),
1.5-2.6 times as much at 2^19; `GEMM_MIN_BLOCK_ROWS` keeps each BLAS call tall enough to run
at full speed. The figures are in docs/benchmarks.md. The blocks never depend on the
machine's load: the results would.

Settings. `available()` is the most threads the runtime uses: `OPENBLAS_NUM_THREADS` or
`OMP_NUM_THREADS` (the first set to a positive integer), else the CPUs this process may run
on. BLAS's thread count is process-wide; pintac sets it to one at its first GEMM (through
threadpoolctl) and leaves it there: code of your own that wants BLAS threads after that sets
them (`threadpoolctl.threadpool_limits`).
"""

from __future__ import annotations

import functools
import os

import numpy as np
from threadpoolctl import ThreadpoolController

#: Fewest multiply-adds (m·k·n) of a GEMM's row block, by bytes per element: below it, the
#: block's dispatch and its repacking of the other operand cost more than 10 % of its work.
GEMM_MACS_PER_BLOCK = {4: 1 << 24, 8: 1 << 23}

#: Fewest rows of a GEMM block (BLAS's kernels run at full speed from about this many rows).
GEMM_MIN_BLOCK_ROWS = 128

#: Most blocks a GEMM is cut into: enough for 16 threads, few enough that each block is long
#: next to its dispatch.
GEMM_MAX_BLOCKS = 16

_ENV_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


@functools.cache
def available() -> int:
    """The most threads the runtime uses."""
    for name in _ENV_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def gemm_block_rows(m: int, k: int, n: int, dtype) -> int:
    """Rows of op(a) per block for an (m x k) by (k x n) GEMM in `dtype`: m when the GEMM runs
    as one BLAS call. From the shape alone, so results do not depend on the threads."""
    per_block = GEMM_MACS_PER_BLOCK.get(np.dtype(dtype).itemsize, GEMM_MACS_PER_BLOCK[8])
    blocks = min(GEMM_MAX_BLOCKS, m // GEMM_MIN_BLOCK_ROWS, m * k * n // per_block)
    return m if blocks <= 1 else -(-m // blocks)


class _BlasThreads:
    """BLAS's thread count, set through threadpoolctl only when it changes: setting it costs
    about 4 us, more than a 16 x 16 by 16 x 16 GEMM (2.6 us). The count is cached, so one
    changed behind pintac's back (a `threadpool_limits` block around pintac's calls) is kept:
    pintac's GEMMs run with it."""

    def __init__(self):
        self._libraries = None
        self._count: int | None = None

    def libraries(self) -> list:
        if self._libraries is None:
            self._libraries = ThreadpoolController().select(user_api="blas").lib_controllers
        return self._libraries

    def use(self, count: int) -> None:
        if count != self._count:
            for library in self.libraries():
                library.set_num_threads(count)
            self._count = count

    def counts(self) -> list[int]:
        """The thread counts the BLAS libraries report now."""
        return [library.get_num_threads() for library in self.libraries()]


_blas = _BlasThreads()
use_blas_threads = _blas.use
blas_thread_counts = _blas.counts
