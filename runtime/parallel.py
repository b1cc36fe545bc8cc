"""Row-chunked execution of the runtime's elementwise work on a small thread pool.

BLAS spreads a GEMM over the cores, but a chain of NumPy elementwise passes over a large
tensor runs on one core and streams the tensor through memory once per pass. Cutting the
rows into chunks of a few MiB keeps each chunk's passes in cache, and running the
chunks on a thread pool (NumPy releases the GIL inside its loops) uses the other cores.
Results do not depend on the chunking: callers only chunk work whose every output element
is computed from its own row's inputs.

The pool has as many workers as BLAS has threads: `OPENBLAS_NUM_THREADS` or
`OMP_NUM_THREADS` when set, else the CPUs this process may run on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

#: Elements per chunk: 2 MiB of float32, large enough that NumPy's per-call overhead (and
#: the threads' contention for the GIL between calls) is small next to the work, small
#: enough that a chunk and a few temporaries stay in the last-level cache. Quantizing a
#: 25,600 x 256 activation on 2 cores: 20-24 ms at 2^19, 24-29 ms at 2^18, 27-38 ms at 2^20.
CHUNK_ELEMENTS = 1 << 19

_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def workers() -> int:
    """How many threads elementwise work may use."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def chunk_rows(row_elements: int, align: int = 1) -> int:
    """Rows per chunk for rows of `row_elements` elements, a multiple of `align`."""
    rows = max(1, CHUNK_ELEMENTS // max(1, row_elements))
    return max(align, rows - rows % align)


def for_row_chunks(rows: int, chunk: int, fn: Callable[[int, int], None]) -> None:
    """Call fn(start, stop) for consecutive row ranges of `chunk` rows covering 0..rows,
    on the pool when there is more than one chunk and more than one worker. The first
    exception raised by any call is raised here, after every call has finished."""
    starts = range(0, rows, chunk)
    count = workers()
    if len(starts) <= 1 or count <= 1:
        for start in starts:
            fn(start, min(start + chunk, rows))
        return
    global _pool, _pool_size
    if _pool is None or _pool_size != count:
        _pool = ThreadPoolExecutor(count, thread_name_prefix="pintac-rows")
        _pool_size = count
    futures = [_pool.submit(fn, start, min(start + chunk, rows)) for start in starts]
    for future in futures:
        future.exception()  # wait for all before raising, so no chunk still writes
    for future in futures:
        future.result()
