"""The ACC's functional model keeps few operand copies, whatever the number of GEMMs
accumulated into a region: past `machine.FOLD_ELEMENTS` pending operand elements they go into
an exact accumulator. Reads stay `smx.gemm` of everything accumulated, bit for bit."""

import tracemalloc

import numpy as np
import pytest
from pinta_helpers import Bench, same_bits

from pintac.runtime import smx
from pintac.runtime.pinta import isa, machine

F32 = np.float32


def rand(rng, *shape, spread=3.0):
    """float32 with a wide spread of magnitudes and both signs."""
    x = rng.standard_normal(shape) * 10.0 ** rng.uniform(-spread, spread, shape)
    return x.astype(F32)


def accumulate(bench, region, chunks, flags, init):
    """GEMMs of the (op(A) chunk, op(B) chunk) pairs into `region` = (acc, m, n), each stored
    transposed or not as `flags` says; the first starts the region when `init`."""
    acc, m, n = region
    for i, ((ca, cb), (ta, tb)) in enumerate(zip(chunks, flags, strict=True)):
        k = ca.shape[1]
        pa = bench.put(0, ca.T if ta else ca)
        bench.put(pa, cb.T if tb else cb)
        first = int(init and i == 0)
        bench.run(isa.GEMM(acc=acc, a=0, b=pa, m=m, k=k, n=n, ta=ta, tb=tb, init=first))


@pytest.mark.parametrize("fold", [1, 40, 300, 1 << 20])
def test_long_accumulations_read_as_the_whole_gemm(monkeypatch, fold):
    """Contributions of varied lengths and layouts, read between them: each read equals
    smx.gemm of every contribution so far, whether they were folded or not."""
    monkeypatch.setattr(machine, "FOLD_ELEMENTS", fold)
    rng = np.random.default_rng(fold)
    m, n = 5, 3
    bench = Bench()
    opa, opb = np.zeros((m, 0), F32), np.zeros((0, n), F32)
    for batch in range(4):
        ks = rng.integers(1, 12, size=5)
        chunks = [(rand(rng, m, int(k), spread=12), rand(rng, int(k), n, spread=12)) for k in ks]
        flags = [tuple(int(f) for f in rng.integers(0, 2, size=2)) for _ in ks]
        accumulate(bench, (16, m, n), chunks, flags, init=batch == 0)
        opa = np.concatenate([opa, *(ca for ca, _ in chunks)], axis=1)
        opb = np.concatenate([opb, *(cb for _, cb in chunks)], axis=0)
        bench.run(isa.ACCRD(dst=5000, acc=16, m=m, n=n))
        assert same_bits(bench.get(5000, (m, n)), smx.gemm(opa, opb))


@pytest.mark.parametrize("fold", [1, 1 << 20])
def test_cancelling_contributions_round_like_the_whole_gemm(monkeypatch, fold):
    """An exact zero reads +0.0; a nonzero sum below the smallest subnormal keeps its sign."""
    monkeypatch.setattr(machine, "FOLD_ELEMENTS", fold)
    big = np.array([[3.0, 2.0**-80]], F32)
    ones = np.array([[1.0, 1.0], [2.0**-80, -(2.0**-80)]], F32)
    # 3 + 2^-160 and 3 - 2^-160, then their negations: both columns cancel exactly
    chunks = [(big, ones), (-big, ones)]
    # then -2^-160 into column 0, nothing into column 1
    tiny = (np.array([[2.0**-100]], F32), np.array([[-(2.0**-60), 0.0]], F32))
    bench = Bench()
    accumulate(bench, (0, 1, 2), [*chunks, tiny], [(0, 0), (1, 0), (0, 1)], init=True)
    bench.run(isa.ACCRD(dst=100, acc=0, m=1, n=2))
    got = bench.get(100, (1, 2))
    opa = np.concatenate([big, -big, tiny[0]], axis=1)
    opb = np.concatenate([ones, ones, tiny[1]], axis=0)
    assert same_bits(got, smx.gemm(opa, opb))
    assert same_bits(got, np.array([[-0.0, 0.0]], F32))


def test_the_acc_keeps_few_operand_copies_however_many_gemms_accumulate(monkeypatch):
    """64 contributions of 32 Ki operand elements (8 MiB of copies if all were kept) into one
    region hold at most FOLD_ELEMENTS copies plus the accumulator's digits."""
    monkeypatch.setattr(machine, "FOLD_ELEMENTS", 1 << 16)
    rng = np.random.default_rng(3)
    m, k, n = 64, 256, 64
    a = smx.quantize_matrix(rand(rng, m, k), 8).values
    b = smx.quantize_matrix(rand(rng, k, n), 8).values
    bench = Bench()
    pb = bench.put(0, a)
    bench.put(pb, b)
    bench.run(isa.GEMM(acc=0, a=0, b=pb, m=m, k=k, n=n, init=1))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(63):
            bench.run(isa.GEMM(acc=0, a=0, b=pb, m=m, k=k, n=n, init=0))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 2 << 20
    bench.run(isa.ACCRD(dst=pb + b.size, acc=0, m=m, n=n))
    whole = smx.gemm(np.tile(a, (1, 64)), np.tile(b, (64, 1)))
    assert same_bits(bench.get(pb + b.size, (m, n)), whole)
