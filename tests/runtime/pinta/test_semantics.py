"""The functional semantics of every PINTA instruction class against the NumPy runtime's
kernels, bit for bit, including tiling: a tensor processed in blocks (K-chunks accumulated in
the ACC, row blocks of a quantizer, blocks of points of the Stein kernels and of the RNG, row
tiles of a column sum) equals the whole-tensor kernel."""

import numpy as np
import pytest
from pinta_helpers import Bench, same_bits

from pintac.dialects.activations import ACTIVATIONS
from pintac.runtime import kernels_core as core
from pintac.runtime import kernels_stein as ks
from pintac.runtime import kernels_taylor as kt
from pintac.runtime import smx
from pintac.runtime.pinta import isa
from pintac.runtime.pinta.codes import SFU_FUNCTIONS
from pintac.runtime.pinta.errors import Fault
from pintac.runtime.pinta.program import ConstantPool
from pintac.runtime.pinta.semantics import quantize_stochastic

F32 = np.float32


def rand(rng, *shape, spread=3.0):
    """float32 with a wide spread of magnitudes and both signs."""
    x = rng.standard_normal(shape) * 10.0 ** rng.uniform(-spread, spread, shape)
    return x.astype(F32)


# ---------------------------------------------------------------------------------- DMA


def test_load_and_store_strided_regions():
    rng = np.random.default_rng(0)
    dram = rand(rng, 200)
    b = Bench(dram=dram)
    b.run(isa.LOAD(dst=10, src=7, rows=5, cols=3, stride=11))
    want = np.stack([dram[7 + 11 * i : 10 + 11 * i] for i in range(5)])
    assert same_bits(b.get(10, (5, 3)), want)
    b.run(isa.LOAD(dst=40, src=3, rows=4, cols=6, stride=0))  # stride 0 repeats a row
    assert same_bits(b.get(40, (4, 6)), np.tile(dram[3:9], (4, 1)))
    b.run(isa.STORE(dst=100, src=10, rows=5, cols=3, stride=20))
    for i in range(5):
        assert same_bits(b.m.dram[100 + 20 * i : 103 + 20 * i], want[i])
    assert same_bits(b.m.dram[103:120], dram[103:120])  # between the rows: untouched


# --------------------------------------------------------------------------------- GEMM


def _gemm_ops(rng, m, k, n, ta, tb, quantized):
    a = rand(rng, *((k, m) if ta else (m, k)))
    bm = rand(rng, *((n, k) if tb else (k, n)))
    if quantized:
        a = smx.quantize_matrix(a, 8).values
        bm = smx.quantize_matrix(bm, 12).values
    return a, bm


@pytest.mark.parametrize("ta", [0, 1])
@pytest.mark.parametrize("tb", [0, 1])
@pytest.mark.parametrize("quantized", [False, True])
def test_gemm_equals_the_runtime_gemm(ta, tb, quantized):
    rng = np.random.default_rng(ta * 2 + tb)
    m, k, n = 9, 13, 7
    a, bm = _gemm_ops(rng, m, k, n, ta, tb, quantized)
    b = Bench()
    b.put(0, a)
    b.put(1000, bm)
    b.run(
        isa.GEMM(acc=64, a=0, b=1000, m=m, k=k, n=n, ta=ta, tb=tb, init=1),
        isa.ACCRD(dst=2000, acc=64, m=m, n=n),
    )
    got = b.get(2000, (m, n))
    assert same_bits(got, smx.gemm(a, bm, transpose_a=bool(ta), transpose_b=bool(tb)))
    assert same_bits(got, core.gemm(a, bm, transpose_a=bool(ta), transpose_b=bool(tb), exact=True))
    if quantized:
        qa = smx.quantize_matrix(a, 8)
        qb = smx.quantize_matrix(bm, 12)
        want = smx.gemm_quantized(qa, qb, transpose_a=bool(ta), transpose_b=bool(tb))
        assert same_bits(got, want)


@pytest.mark.parametrize("ta", [0, 1])
@pytest.mark.parametrize("tb", [0, 1])
def test_gemm_k_chunks_accumulated_in_acc_equal_the_whole(ta, tb):
    rng = np.random.default_rng(5)
    m, k, n = 6, 40, 5
    a, bm = _gemm_ops(rng, m, k, n, ta, tb, False)
    bench = Bench()
    cuts = [0, 7, 8, 25, 40]
    program = []
    for i, (k0, k1) in enumerate(zip(cuts, cuts[1:], strict=False)):
        ca = a[k0:k1] if ta else a[:, k0:k1]
        cb = bm[:, k0:k1] if tb else bm[k0:k1]
        pa = bench.put(3000 * i, ca)
        bench.put(pa, cb)
        program.append(
            isa.GEMM(acc=0, a=3000 * i, b=pa, m=m, k=k1 - k0, n=n, ta=ta, tb=tb, init=int(i == 0))
        )
    bench.run(*program, isa.ACCRD(dst=20000, acc=0, m=m, n=n))
    whole = smx.gemm(a, bm, transpose_a=bool(ta), transpose_b=bool(tb))
    assert same_bits(bench.get(20000, (m, n)), whole)


def test_accumulation_is_exact_where_float32_partial_sums_are_not():
    a = np.array([[2.0**30, 1.0, -(2.0**30), 1.0]], F32)
    bm = np.ones((4, 1), F32)
    bench = Bench()
    bench.put(0, a[:, :2])
    bench.put(10, bm[:2])
    bench.put(20, a[:, 2:])
    bench.put(30, bm[2:])
    bench.run(
        isa.GEMM(acc=0, a=0, b=10, m=1, k=2, n=1, init=1),
        isa.GEMM(acc=0, a=20, b=30, m=1, k=2, n=1, init=0),
        isa.ACCRD(dst=40, acc=0, m=1, n=1),
    )
    assert bench.get(40, (1,))[0] == 2.0  # float32 chunk sums would give 0 + 1 = 1


def test_acc_reads_of_unwritten_or_reshaped_regions_fault():
    bench = Bench()
    with pytest.raises(Fault, match="never written"):
        bench.run(isa.ACCRD(dst=0, acc=8, m=2, n=2))
    with pytest.raises(Fault, match="never written"):
        bench.run(isa.GEMM(acc=8, a=0, b=0, m=2, k=2, n=2, init=0))
    bench.run(isa.GEMM(acc=8, a=0, b=0, m=2, k=2, n=2, init=1))
    with pytest.raises(Fault, match="overlaps the 2 x 2 region started at ACC\\[8\\]"):
        bench.run(isa.ACCRD(dst=0, acc=8, m=1, n=4))
    bench.run(isa.GEMM(acc=10, a=0, b=0, m=1, k=2, n=2, init=1))  # replaces the first
    with pytest.raises(Fault, match="never written"):
        bench.run(isa.ACCRD(dst=0, acc=8, m=1, n=2))
    with pytest.raises(Fault, match="overlaps the 1 x 2 region started at ACC\\[10\\]"):
        bench.run(isa.ACCRD(dst=0, acc=8, m=2, n=2))


def test_gemm_on_non_finite_operands_faults():
    bench = Bench()
    bench.put(0, [np.nan, 1.0])
    with pytest.raises(Fault, match="non-finite"):
        bench.run(isa.GEMM(acc=0, a=0, b=0, m=1, k=1, n=1, init=1))


# -------------------------------------------------------------------------------- QUANT


def _quant_blocks(x, bits, block, rounding, key, blocks, transposed_draws=False):
    """Quantize x by QUANT instructions over row blocks [r0, r1) (whole rows)."""
    m, n = x.shape
    bench = Bench(spm_words=1 << 14, seed=key[0] if key else 0, step=key[1] if key else 0)
    out = []
    for r0, r1 in blocks:
        bench.put(0, x[r0:r1])
        offset, line = (r0, m) if transposed_draws else (r0 * n, n)
        ins = isa.QUANT(
            addr=0,
            rows=r1 - r0,
            cols=n,
            bits=bits,
            brows=block[0],
            bcols=block[1],
            rounding=rounding,
            stream=key[2] if key else 0,
            elem_offset=offset,
            tensor_cols=line,
        )
        bench.run(ins)
        out.append(bench.get(0, (r1 - r0, n)))
    return np.concatenate(out)


@pytest.mark.parametrize("rounding", ["rne", "away", "stochastic"])
@pytest.mark.parametrize(
    "block, cuts",
    [
        ((4, 4), [0, 8, 12, 36, 37]),
        ((1, 32), [0, 5, 6, 37]),
        ((32, 1), [0, 32, 37]),
        ((2, 2), [0, 2, 30, 37]),
        ((1, 1), [0, 1, 20, 37]),
    ],
)
def test_quant_row_blocks_equal_the_whole_tensor(rounding, block, cuts):
    rng = np.random.default_rng(7)
    x = rand(rng, 37, 45, spread=4)
    x[3:5] = 0.0  # all-zero tiles
    x[10, 7] = 0.5  # ties
    x[11, 7] = -2.5
    key = (123, 9, 4) if rounding == "stochastic" else None
    whole = smx.quantize_matrix(x, 6, block, rounding, key=key).values
    transposed = block[1] == 1 and block[0] > 1
    got = _quant_blocks(
        x, 6, block, rounding, key, list(zip(cuts, cuts[1:], strict=False)), transposed
    )
    assert same_bits(got, whole)


def test_stochastic_quant_of_column_blocks_equals_the_whole_tensor():
    rng = np.random.default_rng(8)
    x = rand(rng, 12, 24)
    key = (5, 77, 2)
    whole = smx.quantize_matrix(x, 8, (4, 4), "stochastic", key=key).values
    out = np.empty_like(x)
    for r0 in (0, 4, 8):
        for c0, c1 in ((0, 8), (8, 12), (12, 24)):
            tile = x[r0 : r0 + 4, c0:c1]
            from pintac.runtime import rng as prng

            out[r0 : r0 + 4, c0:c1] = quantize_stochastic(
                tile, 8, (4, 4), (5, 77, prng.STREAM_ROUNDING + 2), r0 * 24 + c0, 24
            )
    assert same_bits(out, whole)


def test_quant_of_non_finite_input_faults():
    bench = Bench()
    bench.put(0, [1.0, np.inf, 2.0, 3.0])
    with pytest.raises(Fault, match="non-finite"):
        bench.run(isa.QUANT(addr=0, rows=1, cols=4, bits=8, brows=1, bcols=4))


# ---------------------------------------------------------------------------------- VEC


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "neg", "copy"])
def test_vec_elementwise_ops_are_numpy_float32(op):
    rng = np.random.default_rng(1)
    a, c = rand(rng, 7, 9), rand(rng, 7, 9)
    c[0, 0] = 0.0
    bench = Bench()
    bench.put(0, a)
    bench.put(100, c)
    bench.run(isa.VEC(op=op, dst=200, a=0, b=100, rows=7, cols=9))
    with np.errstate(all="ignore"):
        want = {
            "add": a + c,
            "sub": a - c,
            "mul": a * c,
            "div": a / c,
            "neg": -a,
            "copy": a,
        }[op]
    assert same_bits(bench.get(200, (7, 9)), want)


def test_vec_fill_scale_and_bias_add_call_the_runtime_kernels():
    rng = np.random.default_rng(2)
    a, bias = rand(rng, 5, 6), rand(rng, 6)
    pool = ConstantPool()
    k_scale, k_fill = pool.add(0.1), pool.add(1.0 / 3.0)
    bench = Bench(consts=pool.values)
    bench.put(0, a)
    bench.put(50, bias)
    bench.run(
        isa.VEC(op="scale", dst=100, a=0, rows=5, cols=6, const=k_scale),
        isa.VEC(op="fill", dst=200, rows=5, cols=6, const=k_fill),
        isa.VEC(op="bias_add", dst=300, a=0, b=50, rows=5, cols=6),
    )
    assert same_bits(bench.get(100, (5, 6)), core.scale(a, factor=0.1))
    assert same_bits(bench.get(200, (5, 6)), core.constant(value=1.0 / 3.0, shape=(5, 6)))
    assert same_bits(bench.get(300, (5, 6)), core.bias_add(a, bias))


def test_vcol_ops_call_the_runtime_kernels():
    rng = np.random.default_rng(3)
    x = rand(rng, 6, 5)
    bench = Bench()
    bench.put(0, x)
    bench.run(
        isa.VCOL(op="colrange_sum", dst=100, a=0, rows=6, cols=5, lo=1, hi=4),
        isa.VCOL(op="colslice", dst=200, a=0, rows=6, cols=5, lo=2, hi=5),
        isa.VCOL(op="expand_columns", dst=300, a=200, rows=6, cols=7, lo=3, hi=6),
    )
    assert same_bits(bench.get(100, (6, 1)), core.column_range_sum(x, lo=1, hi=4))
    assert same_bits(bench.get(200, (6, 3)), core.column_slice(x, lo=2, hi=5))
    want = core.expand_columns(core.column_slice(x, lo=2, hi=5), lo=3, hi=6, width=7)
    assert same_bits(bench.get(300, (6, 7)), want)


@pytest.mark.parametrize(
    "shape, perm, out_shape, extents, axes",
    [
        # a batched transpose of the TT activations (16 x 16 = 4 x 8 x 8)
        ((-1, 8, 8), (0, 2, 1), (-1, 32), (1, 4, 8, 8), (0, 1, 3, 2)),
        ((-1, 2, 8), (0, 2, 1), (-1, 2), (1, 16, 2, 8), (0, 1, 3, 2)),
        # a PRS merge of two cores: axes 0 and 1 stay together, 4 stays last
        ((4, 2, 2, 4, 4), (0, 1, 3, 2, 4), (32, 8), (8, 2, 4, 4), (0, 2, 1, 3)),
        ((4, 8, 8), (2, 0, 1), (8, 32), (1, 4, 8, 8), (0, 3, 1, 2)),
        ((4, 4, 4, 4), (3, 1, 0, 2), (256,), (4, 4, 4, 4), (3, 1, 0, 2)),
    ],
)
def test_perm_equals_the_runtime_permute(shape, perm, out_shape, extents, axes):
    """The runtime's permute, its axes merged where they stay adjacent, is one PERM."""
    x = rand(np.random.default_rng(5), 16, 16)
    bench = Bench()
    bench.put(0, x)
    fields = {f"n{i}": e for i, e in enumerate(extents)} | {f"p{i}": a for i, a in enumerate(axes)}
    bench.run(isa.PERM(dst=x.size, src=0, **fields))
    want = core.permute(x, shape=shape, perm=perm, out_shape=out_shape)
    assert same_bits(bench.get(x.size, want.shape), want)


# ---------------------------------------------------------------------------------- SFU


def test_every_activation_has_an_sfu_id():
    assert set(ACTIVATIONS) <= set(SFU_FUNCTIONS)


def _domain(name, x):
    return np.abs(x) + F32(0.1) if name in ("log", "sqrt") else x


@pytest.mark.parametrize("fn", SFU_FUNCTIONS)
def test_sfu_apply_and_grad(fn):
    rng = np.random.default_rng(4)
    z = _domain(fn, rng.standard_normal((6, 3, 4)).astype(F32))
    dy = rng.standard_normal((6, 3, 4)).astype(F32)
    bench = Bench()
    bench.put(0, z)
    bench.put(200, dy)
    bench.run(
        isa.SFU(fn=fn, kind="apply", dst=400, a=0, rows=6, streams=3, cols=4),
        isa.SFU(fn=fn, kind="grad", dst=600, a=0, b=200, rows=6, streams=3, cols=4),
    )
    act = ACTIVATIONS[fn]
    assert same_bits(bench.get(400, (6, 3, 4)), act.fn(z))
    want = core.activation_grad(z.reshape(18, 4), dy.reshape(18, 4), activation=fn)
    assert same_bits(bench.get(600, (18, 4)), want)


@pytest.mark.parametrize("fn", SFU_FUNCTIONS)
def test_sfu_difference_form_and_its_vjp_over_point_blocks(fn):
    rng = np.random.default_rng(5)
    n, s, h = 7, 6, 5
    zb = _domain(fn, rng.standard_normal((n, h)).astype(F32))
    zd = (0.01 * rng.standard_normal((n, s, h))).astype(F32)
    dout = rng.standard_normal((n, s, h)).astype(F32)
    want = ks.stein_diff_activation(zb, zd, activation=fn)
    want_b, want_d = ks.stein_diff_activation_vjp(zb, zd, dout, activation=fn)
    got, got_b, got_d = [], [], []
    for p0, p1 in ((0, 3), (3, 4), (4, 7)):
        bench = Bench()
        bench.put(0, zb[p0:p1])
        bench.put(100, zd[p0:p1])
        bench.put(400, dout[p0:p1])
        k = p1 - p0
        bench.run(
            isa.SFU(fn=fn, kind="diff", dst=1000, a=0, b=100, rows=k, streams=s, cols=h),
            isa.SFU(fn=fn, kind="diff_vjp", dst=2000, a=0, b=100, c=400, rows=k, streams=s, cols=h),
        )
        got.append(bench.get(1000, (k, s, h)))
        got_b.append(bench.get(2000, (k, h)))
        got_d.append(bench.get(2000 + k * h, (k, s, h)))
    assert same_bits(np.concatenate(got), want)
    assert same_bits(np.concatenate(got_b), want_b)
    assert same_bits(np.concatenate(got_d), want_d)


# ---------------------------------------------------------------------------------- RED


def running_sum(x: np.ndarray) -> np.ndarray:
    """The column sums from +0, adding the rows one by one in float32: an oracle."""
    acc = np.zeros(x.shape[1], np.float32)
    for row in x:
        acc = np.add(acc, row, dtype=np.float32)
    return acc


@pytest.mark.parametrize("cols", [1, 2, 3, 16, 33])
@pytest.mark.parametrize("cuts", [[0, 1000], [0, 1, 2, 1000], [0, 8, 9, 300, 700, 1000]])
def test_colsum_over_row_tiles_equals_the_runtime_sum_of_the_whole(cols, cuts):
    rng = np.random.default_rng(cols)
    x = rand(rng, 1000, cols, spread=4)
    x[:, 0] = -0.0  # a column of negative zeros sums to +0.0 (sums start from +0)
    x[0, -1] = 3e38  # a sum that overflows midway shows the order
    bench = Bench()
    for i, (r0, r1) in enumerate(zip(cuts, cuts[1:], strict=False)):
        bench.put(0, x[r0:r1])
        bench.run(
            isa.RED(kind="colsum", dst=50000, src=0, rows=r1 - r0, cols=cols, init=int(i == 0))
        )
    got = bench.get(50000, (cols,))
    assert same_bits(got, core.column_sum(x))
    assert same_bits(got, running_sum(x))
    if cols >= 2:  # NumPy's own axis-0 sum of a matrix runs row by row too
        assert same_bits(got, x.sum(axis=0))


def test_a_single_column_is_a_running_sum_not_numpys_pairwise_sum():
    x = np.array([[1.0]] + [[2.0**-24]] * 15, np.float32)
    # in order, each tiny term rounds away against 1.0 (a tie, to even); NumPy's pairwise
    # sum adds them up in partial sums first
    assert core.column_sum(x)[0] == np.float32(1.0)
    assert x.sum(axis=0)[0] != np.float32(1.0)


def test_loss_reductions_call_the_runtime_kernels():
    rng = np.random.default_rng(12)
    r = rand(rng, 50, 2, spread=1)
    losses = np.array([0.25, 3.5, 1e-3], F32)
    weights = (1.0, 0.1, 100.0)
    pool = ConstantPool()
    first = pool.add_block(weights)
    bench = Bench(consts=pool.values)
    bench.put(0, r)
    bench.put(200, [0.7])
    bench.put(300, losses)
    bench.run(
        isa.RED(kind="meansq", dst=400, src=0, rows=50, cols=2),
        isa.RED(kind="meansq_grad", dst=500, src=0, b=200, rows=50, cols=2),
        isa.RED(kind="wsum", dst=700, src=300, rows=1, cols=3, const=first),
    )
    assert same_bits(bench.get(400, ()), core.mean_square(r))
    assert same_bits(bench.get(500, (50, 2)), core.mean_square_grad(r, np.asarray(F32(0.7))))
    want = core.weighted_sum(*(np.asarray(v) for v in losses), weights=weights)
    assert same_bits(bench.get(700, ()), want)


# -------------------------------------------------------------------------------- STEIN

N, K, D = 9, 5, 3
SIGMA = 0.01
BLOCKS = ((0, 4), (4, 5), (5, 9))


def _stein_data(diff):
    rng = np.random.default_rng(13)
    x = rng.uniform(0, 1, (N, D)).astype(F32)
    delta = ks.stein_sample(x, 3, 4, pairs=K, sigma=SIGMA, sigma_t=None, stream=0)
    width = 2 * K + (0 if diff else 1)
    values = (1.0 + 0.01 * rng.standard_normal((N, width, 1))).astype(F32)
    return x, delta, values, rng


def _stein_blocks(kind, diff, a, b, out_shape, lo=0, hi=D):
    """Run STEIN `kind` over BLOCKS of points; a, b: whole-batch operands (or None)."""
    pool = ConstantPool()
    sigma = pool.add(SIGMA)
    out = []
    for p0, p1 in BLOCKS:
        bench = Bench(consts=pool.values)
        if a is not None:
            bench.put(0, a[p0:p1])
        if b is not None:
            bench.put(20000, b[p0:p1])
        bench.run(
            isa.STEIN(
                kind=kind,
                diff=int(diff),
                dst=40000,
                a=0,
                b=20000,
                points=p1 - p0,
                pairs=K,
                coords=D,
                lo=lo,
                hi=hi,
                sigma=sigma,
            )
        )
        out.append(bench.get(40000, (p1 - p0, *out_shape)))
    return np.concatenate(out)


@pytest.mark.parametrize("diff", [False, True])
def test_stein_estimators_over_point_blocks_equal_the_whole_batch(diff):
    x, delta, values, rng = _stein_data(diff)
    p = {"sigma": SIGMA, "differences": diff}
    for lo, hi in ((0, D), (0, D - 1), (D - 1, D)):
        want = ks.stein_grad(values, delta, lo=lo, hi=hi, **p)
        got = _stein_blocks("grad", diff, values, delta, (hi - lo,), lo, hi)
        assert same_bits(got, want)
        want = ks.stein_laplacian(values, delta, lo=lo, hi=hi, **p)
        assert same_bits(_stein_blocks("laplacian", diff, values, delta, (1,), lo, hi), want)
        dout = rng.standard_normal((N, hi - lo)).astype(F32)
        want = ks.stein_grad_vjp(dout, delta, lo=lo, hi=hi, **p)
        got = _stein_blocks("grad_vjp", diff, dout, delta, want.shape[1:], lo, hi)
        assert same_bits(got, want)
        dl = rng.standard_normal((N, 1)).astype(F32)
        want = ks.stein_laplacian_vjp(dl, delta, lo=lo, hi=hi, **p)
        got = _stein_blocks("laplacian_vjp", diff, dl, delta, want.shape[1:], lo, hi)
        assert same_bits(got, want)


@pytest.mark.parametrize("diff", [False, True])
def test_stein_value_kernels_over_point_blocks(diff):
    x, delta, values, rng = _stein_data(diff)
    dout = rng.standard_normal((N, 1)).astype(F32)
    base = rng.standard_normal((N, 1)).astype(F32)
    want = ks.stein_smoothed(values, base if diff else None)
    assert same_bits(_stein_blocks("smoothed", diff, values, base, (1,)), want)
    want = ks.stein_smoothed_vjp(dout, pairs=K, differences=diff)
    assert same_bits(_stein_blocks("smoothed_vjp", diff, dout, None, want.shape[1:]), want)
    if not diff:
        assert same_bits(
            _stein_blocks("center", False, values, None, (1,)), ks.stein_center(values)
        )
        want = ks.stein_center_vjp(dout, pairs=K)
        assert same_bits(_stein_blocks("center_vjp", False, dout, None, want.shape[1:]), want)
        want = ks.stein_perturb(x, delta)
        assert same_bits(_stein_blocks("perturb", False, x, delta, want.shape[1:]), want)
    else:
        want = ks.stein_difference_streams(delta)
        got = _stein_blocks("difference_streams", False, delta, None, want.shape[1:])
        assert same_bits(got, want)


# ---------------------------------------------------------------------------------- RNG


@pytest.mark.parametrize("sigma_t", [None, 0.03])
@pytest.mark.parametrize("k, d", [(5, 3), (3, 1), (7, 2)])
def test_rng_blocks_reproduce_stein_sample(sigma_t, k, d):
    n = 11
    x = np.zeros((n, d), F32)
    want = ks.stein_sample(x, 77, 5, pairs=k, sigma=0.02, sigma_t=sigma_t, stream=3)
    pool = ConstantPool()
    s, st = pool.add(0.02), pool.add(sigma_t or 0.0)
    bench = Bench(consts=pool.values, seed=77, step=5)
    got = []
    for p0, p1 in ((0, 1), (1, 4), (4, 5), (5, 11)):
        bench.run(
            isa.RNG(
                dst=0,
                points=p1 - p0,
                pairs=k,
                coords=d,
                stream=3,
                point_offset=p0,
                sigma=s,
                sigma_t=st,
                has_sigma_t=int(sigma_t is not None),
            )
        )
        got.append(bench.get(0, (p1 - p0, k, d)))
    assert same_bits(np.concatenate(got), want)


@pytest.mark.parametrize("samples, width, lo", [(3, 4, 1), (1, 1, 0), (5, 7, 2), (2, 255, 0)])
def test_rng_onehot_blocks_and_expand_columns_reproduce_sample_coordinates(samples, width, lo):
    """RNG onehot draws coordinates of [0, W) per point as one-hot rows (W words); VCOL
    expand_columns places them at columns [lo, lo + W) of the D coordinates: together the
    sampled unit directions of `train.sample_coordinates`, block by block."""
    n, d = 11, lo + width + 1
    x = np.zeros((n, d), F32)
    want = kt.sample_coordinates(x, 77, 5, lo=lo, hi=lo + width, samples=samples, stream=3)
    bench = Bench(spm_words=1 << 17, seed=77, step=5)
    got = []
    for p0, p1 in ((0, 1), (1, 4), (4, 5), (5, 11)):
        rows = (p1 - p0) * samples
        bench.run(
            isa.RNG(
                kind="onehot",
                dst=0,
                points=p1 - p0,
                pairs=samples,
                coords=width,
                stream=3,
                point_offset=p0,
            ),
            isa.VCOL(
                op="expand_columns", dst=1 << 16, a=0, rows=rows, cols=d, lo=lo, hi=lo + width
            ),
        )
        got.append(bench.get(1 << 16, (p1 - p0, samples, d)))
    assert same_bits(np.concatenate(got), want)


def test_rng_onehot_takes_the_multiply_shift_rule_of_each_word():
    """Coordinate k of draw i is (w_i · W) >> 32 of word i of the sample stream: the top word
    values take the last coordinate, small ones the first."""
    from pintac.runtime import rng

    bench = Bench(seed=1, step=2)
    bench.run(isa.RNG(kind="onehot", dst=0, points=40, pairs=1, coords=3, stream=9))
    words = rng.random_words(1, 2, rng.STREAM_STEIN + 9, 40).astype(np.uint64)
    assert same_bits(bench.get(0, (40, 3)), np.eye(3, dtype=F32)[(words * 3) >> 32])


# ------------------------------------------------------------------------------- UPDATE


@pytest.mark.parametrize("schedule, steps", [("constant", None), ("linear_decay", 100)])
def test_adam_and_sgd_tiles_equal_kernels_core_update(schedule, steps):
    rng = np.random.default_rng(21)
    n = 50
    p, g = rand(rng, n, spread=1), rand(rng, n, spread=1)
    mom, vel = rand(rng, n, spread=1), np.abs(rand(rng, n, spread=1))
    hyper = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    pool = ConstantPool()
    h = pool.hyperparameters(**hyper, schedule=schedule, steps=steps)
    step = 7
    want = core.update(
        p, g, mom, vel, step, optimizer="adam", schedule=schedule, steps=steps, **hyper
    )
    want_sgd = core.update(p, g, step, optimizer="sgd", lr=1e-3, schedule=schedule, steps=steps)
    bench = Bench(consts=pool.values, step=step)
    for start, stop in ((0, 20), (20, 21), (21, 50)):
        c = stop - start
        bench.put(0, p[start:stop])
        bench.put(100, g[start:stop])
        bench.put(200, mom[start:stop])
        bench.put(300, vel[start:stop])
        bench.put(400, p[start:stop])
        bench.run(
            isa.UPDATE(kind="adam", p=0, g=100, m=200, v=300, count=c, hyper=h),
            isa.UPDATE(kind="sgd", p=400, g=100, count=c, hyper=h),
        )
        for addr, w in zip((0, 200, 300), want, strict=True):
            assert same_bits(bench.get(addr, (c,)), w[start:stop])
        assert same_bits(bench.get(400, (c,)), want_sgd[start:stop])


def test_a_bad_hyperparameter_block_faults():
    pool = ConstantPool()
    h = pool.add_block([1e-3, 0.9, 0.999, 1e-8, 5.0, 0.0])
    bench = Bench(consts=pool.values)
    with pytest.raises(Fault, match="schedule code 5.0"):
        bench.run(isa.UPDATE(kind="sgd", p=0, g=8, count=4, hyper=h))
