"""The runtime's thread pool: elementwise work in row chunks, large GEMMs in row blocks.

BLAS runs on one thread (`pintac.runtime.threads` says why), so a large GEMM is cut into blocks
of rows run on the pool (`matmul`). A chain of NumPy elementwise passes over a large tensor
runs on one core and streams the tensor through memory once per pass: cutting the rows into
chunks of a few MiB keeps each chunk's passes in cache, and running the chunks on the pool
(NumPy releases the GIL inside its loops and BLAS calls) uses the other cores. Results do not
depend on the number of threads: callers only chunk work whose every output element is
computed from its own row's inputs, and GEMM blocks follow from the GEMM's shape alone.

Work of one chunk, and work submitted from a pool worker, runs on the calling thread. The
pool has `threads.available()` workers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pintac.runtime import threads

#: Elements per chunk: 2 MiB of float32, large enough that NumPy's per-call overhead (and
#: the threads' contention for the GIL between calls) is small next to the work, small
#: enough that a chunk and a few temporaries stay in the last-level cache. Quantizing a
#: 25,600 x 256 activation on 2 cores: 20-24 ms at 2^19, 24-29 ms at 2^18, 27-38 ms at 2^20.
CHUNK_ELEMENTS = 1 << 19

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_in_worker = threading.local()


def _mark_worker() -> None:
    _in_worker.active = True


def workers() -> int:
    """How many threads the pool may use: `threads.available()`."""
    return threads.available()


def chunk_rows(row_elements: int, align: int = 1) -> int:
    """Rows per chunk for rows of `row_elements` elements, a multiple of `align`."""
    rows = max(1, CHUNK_ELEMENTS // max(1, row_elements))
    return max(align, rows - rows % align)


def for_row_chunks(rows: int, chunk: int, fn: Callable[[int, int], None]) -> None:
    """Call fn(start, stop) for consecutive row ranges of `chunk` rows covering 0..rows,
    on the pool when there is more than one chunk and more than one thread is available,
    under the caller's `np.errstate`. The first exception raised by any call is raised here,
    after every call has finished."""
    threads.use_blas_threads(1)
    starts = range(0, rows, chunk)
    count = workers()
    if len(starts) <= 1 or count <= 1 or getattr(_in_worker, "active", False):
        for start in starts:
            fn(start, min(start + chunk, rows))
        return
    global _pool, _pool_size
    if _pool is None or _pool_size != count:
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool = ThreadPoolExecutor(count, "pintac-rows", initializer=_mark_worker)
        _pool_size = count
    errors = np.geterr()  # the caller's floating-point error handling, per thread in NumPy

    def run(start: int, stop: int) -> None:
        with np.errstate(**errors):
            fn(start, stop)

    futures = [_pool.submit(run, start, min(start + chunk, rows)) for start in starts]
    for future in futures:
        future.exception()  # wait for all before raising, so no chunk still writes
    for future in futures:
        future.result()


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """`np.matmul(a, b, out=out)` with BLAS on one thread; a product of two matrices large
    enough (`threads.gemm_block_rows`) in blocks of rows of `a` on the pool. Stacks of
    matrices go to NumPy whole (one BLAS call per matrix)."""
    if a.ndim != 2 or b.ndim != 2:
        threads.use_blas_threads(1)
        return np.matmul(a, b, out=out)
    (m, k), n = a.shape, b.shape[1]
    dtype = np.result_type(a, b)
    block = threads.gemm_block_rows(m, k, n, dtype)
    if block >= m:
        threads.use_blas_threads(1)
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((m, n), dtype)

    def rows(start: int, stop: int) -> None:
        np.matmul(a[start:stop], b, out=out[start:stop])

    for_row_chunks(m, block, rows)
    return out
