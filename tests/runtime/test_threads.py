"""Threads of the NumPy runtime (`pintac.runtime.threads`, `pintac.runtime.parallel`).

- Small GEMMs run as one BLAS call on the calling thread with BLAS on one thread; large ones
  in row blocks chosen from the shape alone, on the pool; small elementwise work stays on the
  calling thread.
- Results, float32 included, are the same bits whatever the number of threads; the exact
  quantized GEMM too; a training step is the same bits run twice, on one thread or on two.
- The choice does not depend on whether NumPy or pintac was imported first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import pintac.api as pt
from pintac.runtime import kernels_core, parallel, smx, threads

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def available(monkeypatch):
    """Set `threads.available()` through the environment, as a user would."""

    def set_to(count: int) -> None:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", str(count))
        threads.available.cache_clear()

    yield set_to
    threads.available.cache_clear()


@pytest.fixture
def matmul_calls(monkeypatch):
    """Every np.matmul call: (thread name, BLAS thread counts during the call, rows)."""
    calls = []
    real = np.matmul

    def spy(a, b, *args, **kwargs):
        calls.append((threading.current_thread().name, threads.blas_thread_counts(), a.shape[0]))
        return real(a, b, *args, **kwargs)

    monkeypatch.setattr(np, "matmul", spy)
    return calls


def random(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------------------------------------
# The decisions
# ---------------------------------------------------------------------------------------------


def test_the_gemms_of_a_small_problem_are_one_blas_call_each():
    # poisson2d_small's largest GEMMs: 32 points x 129 streams through width 16
    for m, k, n in [(4128, 16, 16), (16, 4128, 16), (4128, 2, 16), (4128, 16, 1)]:
        assert threads.gemm_block_rows(m, k, n, np.float32) == m


def test_a_gemm_is_cut_in_two_from_twice_the_block_size():
    per_block = threads.GEMM_MACS_PER_BLOCK[4]
    k, n = 64, 128
    rows = 2 * per_block // (k * n)
    assert threads.gemm_block_rows(rows, k, n, np.float32) == rows // 2
    assert threads.gemm_block_rows(rows - 1, k, n, np.float32) == rows - 1
    # float64 blocks are half as many multiply-adds (BLAS runs at half the rate)
    assert threads.gemm_block_rows(rows // 2, k, n, np.float64) == rows // 4


def test_blocks_are_tall_and_few():
    # a weight gradient: 256 output rows, a long reduction
    assert threads.gemm_block_rows(256, 102_500, 256, np.float32) == 128
    assert threads.gemm_block_rows(200, 102_500, 256, np.float32) == 200
    # the paper's activations: at most GEMM_MAX_BLOCKS blocks
    rows = threads.gemm_block_rows(102_500, 256, 256, np.float32)
    assert -(-102_500 // rows) == threads.GEMM_MAX_BLOCKS


def test_blocks_do_not_depend_on_the_threads_available(available):
    shapes = [(102_500, 256, 256), (256, 102_500, 256), (4096, 64, 128)]
    available(1)
    on_one = [threads.gemm_block_rows(*s, np.float32) for s in shapes]
    available(8)
    assert [threads.gemm_block_rows(*s, np.float32) for s in shapes] == on_one


def test_available_threads_come_from_the_environment(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    threads.available.cache_clear()
    try:
        assert threads.available() == 3
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "5")
        threads.available.cache_clear()
        assert threads.available() == 5
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "0")  # not a count: the next variable
        threads.available.cache_clear()
        assert threads.available() == 3
    finally:
        threads.available.cache_clear()


def test_small_elementwise_work_stays_on_the_calling_thread(available):
    available(2)
    rows = 1000
    chunk = parallel.chunk_rows(16)  # 1000 x 16 float32: less than one chunk
    ran_on = []
    parallel.for_row_chunks(
        rows, chunk, lambda start, stop: ran_on.append(threading.current_thread())
    )
    assert ran_on == [threading.current_thread()]
    # two chunks' worth goes to the pool
    rows = 2 * parallel.CHUNK_ELEMENTS // 16
    parallel.for_row_chunks(
        rows, parallel.chunk_rows(16), lambda start, stop: ran_on.append(threading.current_thread())
    )
    assert len(ran_on) == 3
    assert all(t.name.startswith("pintac-rows") for t in ran_on[1:])


# ---------------------------------------------------------------------------------------------
# Where GEMMs run
# ---------------------------------------------------------------------------------------------


def test_a_small_gemm_runs_on_the_calling_thread_with_one_blas_thread(matmul_calls):
    threads.use_blas_threads(2)  # as NumPy starts on a multi-core machine
    a, b = random((4128, 16)), random((16, 16), seed=1)
    kernels_core.gemm(a, b, transpose_a=False, transpose_b=False)
    assert matmul_calls == [(threading.current_thread().name, [1], 4128)]


def test_a_large_gemm_runs_in_row_blocks_on_the_pool(available, matmul_calls):
    available(2)
    a, b = random((4096, 64)), random((64, 256), seed=1)
    out = kernels_core.gemm(a, b, transpose_a=False, transpose_b=False)
    rows = threads.gemm_block_rows(4096, 64, 256, np.float32)
    assert [r for _, _, r in matmul_calls] == [rows] * (4096 // rows)
    assert all(counts == [1] for _, counts, _ in matmul_calls)
    assert {name.startswith("pintac-rows") for name, _, _ in matmul_calls} == {True}
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-4)


def test_a_gemm_called_from_a_pool_worker_stays_on_it(available, matmul_calls):
    available(2)
    a, b = random((4096, 64)), random((64, 256), seed=1)
    names = set()

    def chunk(start, stop):
        parallel.matmul(a, b)
        names.add(threading.current_thread().name)

    parallel.for_row_chunks(2, 1, chunk)  # two chunks: on the pool
    assert {name for name, _, _ in matmul_calls} == names


def test_a_stack_of_matrices_is_one_numpy_call(matmul_calls):
    a, b = random((1000, 1, 64)), random((1000, 64, 3), seed=1)
    np.testing.assert_array_equal(parallel.matmul(a, b), a @ b)  # `@` is not np.matmul
    assert matmul_calls == [(threading.current_thread().name, [1], 1000)]


# ---------------------------------------------------------------------------------------------
# Results do not depend on the threads
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose_a", [False, True])
def test_gemm_results_are_the_same_bits_on_one_thread_or_two(available, dtype, transpose_a):
    a = random((64, 4096) if transpose_a else (4096, 64), dtype)
    b = random((64, 256), dtype, seed=1)
    available(1)
    one = kernels_core.gemm(a, b, transpose_a=transpose_a, transpose_b=False)
    available(2)
    two = kernels_core.gemm(a, b, transpose_a=transpose_a, transpose_b=False)
    np.testing.assert_array_equal(one, two)


def test_the_exact_quantized_gemm_is_the_same_bits_on_any_threads(available, monkeypatch):
    x = smx.quantize_matrix(random((4096, 256)), 8, (4, 4))
    w = smx.quantize_matrix(random((256, 256), seed=1) * 0.1, 8, (4, 4))
    dy = smx.quantize_matrix(random((4096, 256), seed=2) * 1e-3, 12, (4, 4))
    gemms = [(x, w, False, False), (dy, w, False, True), (x, dy, True, False)]
    available(1)
    on_one = [smx.gemm_quantized(a, b, transpose_a=ta, transpose_b=tb) for a, b, ta, tb in gemms]
    available(2)
    on_two = [smx.gemm_quantized(a, b, transpose_a=ta, transpose_b=tb) for a, b, ta, tb in gemms]

    def whole_on_two_blas_threads(a, b, out=None):
        threads.use_blas_threads(2)
        return np.matmul(a, b, out=out)

    monkeypatch.setattr(parallel, "matmul", whole_on_two_blas_threads)
    on_blas = [smx.gemm_quantized(a, b, transpose_a=ta, transpose_b=tb) for a, b, ta, tb in gemms]
    for one, two, blas in zip(on_one, on_two, on_blas, strict=True):
        np.testing.assert_array_equal(one, two)
        np.testing.assert_array_equal(one, blas)


def wide_poisson2d_small():
    """poisson2d_small at width 64 and 512 pairs: its GEMMs are cut into blocks."""
    text = (ROOT / "examples" / "poisson2d_small.mlir").read_text()
    text = text.replace("16", "64").replace("pairs = 64", "pairs = 512")
    return pt.loads(text, "poisson2d_wide").compile("fp32")


def two_steps(program):
    trainer = pt.Trainer(program, seed=0)
    trainer.train(2)
    return [record["loss"] for record in trainer.history], trainer.state.params


def test_a_training_step_is_the_same_bits_twice_and_on_one_thread(available, matmul_calls):
    program = wide_poisson2d_small()
    available(2)
    first = two_steps(program)
    assert any(name.startswith("pintac-rows") for name, _, _ in matmul_calls)
    second = two_steps(program)
    available(1)
    on_one = two_steps(program)
    for other in (second, on_one):
        assert other[0] == first[0]
        for name, value in first[1].items():
            np.testing.assert_array_equal(other[1][name], value, err_msg=name)


# ---------------------------------------------------------------------------------------------
# Import order
# ---------------------------------------------------------------------------------------------

CHILD = """
import sys
if sys.argv[1] == "numpy-first":
    import numpy
from pintac.runtime import kernels_core, threads
import numpy as np
threads.use_blas_threads(2)
a = np.ones((4128, 16), np.float32)
kernels_core.gemm(a, a[:16], transpose_a=False, transpose_b=False)
print(threads.blas_thread_counts())
"""


@pytest.mark.parametrize("order", ["numpy-first", "pintac-first"])
def test_small_gemms_use_one_blas_thread_whatever_was_imported_first(order):
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
    }
    result = subprocess.run(
        [sys.executable, "-c", CHILD, order], capture_output=True, text=True, env=env, check=True
    )
    assert result.stdout.strip() == "[1]"
