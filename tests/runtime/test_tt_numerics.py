"""TT-matrix numerics (`pintac.runtime.tt`).

- `contract`, `merge` and the right-to-left step match their einsum definitions; the grouped
  layer, through every grouping and both orders, computes x @ reconstruct(cores).
- The VJPs match central finite differences and are exact transposes of the forward maps.
- The cost model counts exactly the GEMMs the layer runs.
- TT-SVD matches tensorly's reconstruction error and keeps its tolerance and rank promises.
- Factorizations are balanced and the init rule gives W the dense layer's variance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pintac.core.inits import glorot_std
from pintac.runtime import tt

# (in_factors, out_factors, ranks): d = 1..4, factors of 1, non-uniform ranks and factors
LAYERS = [
    ((6,), (5,), (1, 1)),
    ((3, 4), (5, 2), (1, 3, 1)),
    ((2, 3, 4), (3, 1, 2), (1, 2, 5, 1)),
    ((2, 3, 2, 2), (2, 2, 3, 2), (1, 3, 2, 4, 1)),
]
LAYER_IDS = ["d1", "d2", "d3", "d4"]


def random_cores(rng, nf, mf, ranks, dtype=np.float64):
    return [rng.standard_normal(s).astype(dtype) for s in tt.core_shapes(nf, mf, ranks)]


def plans(d):
    return [(g, o) for g in tt.groupings(d) for o in tt.ORDERS]


class Recorder:
    """A `gemm` callback that records (kind, rows, red, cols) and multiplies."""

    def __init__(self):
        self.calls = []

    def __call__(self, kind, lhs, rhs):
        self.calls.append((kind, lhs.shape[0], lhs.shape[1], rhs.shape[1]))
        return lhs @ rhs

    def shapes(self, kind):
        return [c[1:] for c in self.calls if c[0] == kind]

    def macs(self, kind=None):
        return sum(math.prod(c[1:]) for c in self.calls if kind is None or c[0] == kind)


# ---------------------------------------------------------------------------------------------
# Forward
# ---------------------------------------------------------------------------------------------


def test_contract_and_merge_match_their_einsums():
    rng = np.random.default_rng(0)
    R, P, r, n, m, s, Q = 3, 2, 3, 4, 5, 2, 3
    a = rng.standard_normal((R, P * r * n * Q))
    g = rng.standard_normal((r, n, m, s))
    ref = np.einsum("xpbjq,bjic->xpicq", a.reshape(R, P, r, n, Q), g).reshape(R, -1)
    np.testing.assert_allclose(tt.contract(a, g, P, Q), ref, rtol=1e-13, atol=1e-13)

    h = rng.standard_normal((s, 3, 2, 4))
    ref = np.einsum("ajib,blkc->ajlikc", g, h).reshape(r, n * 3, m * 2, 4)
    np.testing.assert_allclose(tt.merge([g, h]), ref, rtol=1e-13, atol=1e-13)


def test_rtl_step_is_contract_with_the_permuted_core():
    """Right-to-left: (P, n, s, Q) -> (P, r, m, Q) by sum_{j,c} a[.., j, c, ..] G[b, j, i, c]."""
    rng = np.random.default_rng(1)
    R, P, r, n, m, s, Q = 2, 3, 2, 4, 3, 5, 2
    a = rng.standard_normal((R, P * n * s * Q))
    g = rng.standard_normal((r, n, m, s))
    ref = np.einsum("xpjcq,bjic->xpbiq", a.reshape(R, P, n, s, Q), g).reshape(R, -1)
    np.testing.assert_allclose(tt.contract(a, tt.rtl_core(g), P, Q), ref, rtol=1e-13, atol=1e-13)
    assert np.array_equal(tt.from_rtl_core(tt.rtl_core(g)), g)


def test_reconstruct_matches_the_index_formula():
    rng = np.random.default_rng(2)
    nf, mf, ranks = LAYERS[2]
    cores = random_cores(rng, nf, mf, ranks)
    w = tt.reconstruct(cores)
    for row, col in [(0, 0), (17, 4), (23, 5), (9, 2)]:
        js = np.unravel_index(row, nf)
        is_ = np.unravel_index(col, mf)
        prod = np.eye(1)
        for g, j, i in zip(cores, js, is_, strict=True):
            prod = prod @ g[:, j, i, :]
        assert w[row, col] == pytest.approx(prod[0, 0], rel=1e-13, abs=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layer", LAYERS, ids=LAYER_IDS)
def test_grouped_layer_computes_x_at_w(layer, dtype):
    nf, mf, ranks = layer
    rng = np.random.default_rng(3)
    cores = random_cores(rng, nf, mf, ranks, dtype)
    x = rng.standard_normal((7, math.prod(nf))).astype(dtype)
    # the exact product of the given values, and a bound on the rounding of any evaluation order
    x64, cores64 = x.astype(np.float64), [c.astype(np.float64) for c in cores]
    ref = x64 @ tt.reconstruct(cores64)
    bound = np.abs(x64) @ tt.reconstruct([np.abs(c) for c in cores64])
    eps = np.finfo(dtype).eps
    w = tt.reconstruct(cores)
    assert w.dtype == dtype
    assert np.all(np.abs(x @ w - ref) <= 64 * eps * bound)
    for groups, order in plans(len(nf)):
        y = tt.tt_matmul(x, cores, groups, order)
        assert y.dtype == dtype and y.shape == (7, math.prod(mf))
        assert np.all(np.abs(y - ref) <= 64 * eps * bound), (groups, order)
        if dtype == np.float64:
            assert np.linalg.norm(y - ref) <= 1e-12 * np.linalg.norm(ref)


def test_the_dialect_example_chain():
    """The 256x256 example of docs/dialects/tt.md, core by core and with two groups."""
    rng = np.random.default_rng(4)
    cores = random_cores(rng, (4, 8, 8), (4, 8, 8), 8)
    x = rng.standard_normal((3, 256))
    a1 = tt.contract(x, cores[0], 1, 64)
    assert a1.shape == (3, 2048)
    a2 = tt.contract(a1, cores[1], 4, 8)
    y = tt.contract(a2, cores[2], 32, 1)
    s = tt.merge(cores[:2])
    assert s.shape == (1, 32, 32, 8)
    y2 = tt.contract(tt.contract(x, s, 1, 8), cores[2], 32, 1)
    ref = x @ tt.reconstruct(cores)
    np.testing.assert_allclose(y, ref, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(y2, ref, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("layer", LAYERS[1:], ids=LAYER_IDS[1:])
def test_merge_of_all_cores_is_reconstruct(layer):
    nf, mf, ranks = layer
    cores = random_cores(np.random.default_rng(5), nf, mf, ranks)
    s = tt.merge(cores)
    assert s.shape == (1, math.prod(nf), math.prod(mf), 1)
    assert np.array_equal(s.reshape(s.shape[1], s.shape[2]), tt.reconstruct(cores))


def test_merge_is_associative():
    rng = np.random.default_rng(6)
    shapes = [(2, 3, 2, 3), (3, 2, 2, 4), (4, 1, 3, 2), (2, 2, 2, 3)]  # non-unit boundary ranks
    cores = [rng.standard_normal(s) for s in shapes]
    ref = tt.merge(cores)
    assert ref.shape == (2, 12, 24, 3)
    for split in range(1, 4):
        left = tt.merge(cores[:split])
        right = tt.merge(cores[split:])
        np.testing.assert_allclose(tt.merge([left, right]), ref, rtol=1e-12, atol=1e-12)
    inner = tt.merge([cores[0], tt.merge(cores[1:3]), cores[3]])
    np.testing.assert_allclose(inner, ref, rtol=1e-12, atol=1e-12)


def test_float32_stays_float32():
    rng = np.random.default_rng(7)
    cores = random_cores(rng, (2, 3), (3, 2), (1, 2, 1), np.float32)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    dy = rng.standard_normal((4, 6)).astype(np.float32)
    assert tt.merge(cores).dtype == np.float32
    assert tt.merge_vjp(tt.merge(cores), cores)[0].dtype == np.float32
    for order in tt.ORDERS:
        dx, dcores = tt.tt_matmul_vjp(x, cores, dy, order=order)
        assert dx.dtype == np.float32 and all(d.dtype == np.float32 for d in dcores)
    w = tt.reconstruct(cores)
    assert all(c.dtype == np.float32 for c in tt.tt_svd(w, (2, 3), (3, 2)))


# ---------------------------------------------------------------------------------------------
# Gradients
# ---------------------------------------------------------------------------------------------


def fd_grad(loss, arr, h=1e-6):
    """Central differences of loss() w.r.t. each entry of arr (perturbed in place)."""
    g = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        v = flat[i]
        flat[i] = v + h
        up = loss()
        flat[i] = v - h
        down = loss()
        flat[i] = v
        gflat[i] = (up - down) / (2 * h)
    return g


def assert_grad_close(analytic, numeric):
    scale = max(1.0, np.abs(numeric).max())
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7 * scale)


def test_contract_gradients_match_finite_differences():
    rng = np.random.default_rng(8)
    P, r, n, m, s, Q = 2, 2, 3, 2, 3, 2
    a = rng.standard_normal((3, P * r * n * Q))
    g = rng.standard_normal((r, n, m, s))
    c = rng.standard_normal((3, P * m * s * Q))

    def loss():
        y = tt.contract(a, g, P, Q)
        return np.sum(c * y) + 0.5 * np.sum(y**2)

    dout = c + tt.contract(a, g, P, Q)
    assert_grad_close(tt.contract_vjp_input(dout, g, P, Q), fd_grad(loss, a))
    assert_grad_close(tt.contract_vjp_core(a, dout, g.shape, P, Q), fd_grad(loss, g))


def test_merge_gradients_match_finite_differences():
    rng = np.random.default_rng(9)
    cores = [rng.standard_normal(s) for s in [(2, 2, 3, 3), (3, 2, 1, 2), (2, 3, 2, 2)]]
    c = rng.standard_normal(tt.merge(cores).shape)

    def loss():
        s = tt.merge(cores)
        return np.sum(c * s) + 0.5 * np.sum(s**2)

    grads = tt.merge_vjp(c + tt.merge(cores), cores)
    for g, core in zip(grads, cores, strict=True):
        assert g.shape == core.shape
        assert_grad_close(g, fd_grad(loss, core))


@pytest.mark.parametrize("layer", LAYERS[1:], ids=LAYER_IDS[1:])
def test_layer_gradients_match_finite_differences(layer):
    nf, mf, ranks = layer
    rng = np.random.default_rng(10)
    cores = random_cores(rng, nf, mf, ranks)
    x = rng.standard_normal((3, math.prod(nf)))
    c = rng.standard_normal((3, math.prod(mf)))

    def loss():
        y = x @ tt.reconstruct(cores)
        return np.sum(c * y) + 0.5 * np.sum(y**2)

    fd_x = fd_grad(loss, x)
    fd_cores = [fd_grad(loss, core) for core in cores]
    dy = c + x @ tt.reconstruct(cores)
    for groups, order in plans(len(nf)):
        dx, dcores = tt.tt_matmul_vjp(x, cores, dy, groups, order)
        assert_grad_close(dx, fd_x)
        for dg, fd in zip(dcores, fd_cores, strict=True):
            assert_grad_close(dg, fd)
        dx_none, dcores2 = tt.tt_matmul_vjp(x, cores, dy, groups, order, input_grad=False)
        assert dx_none is None
        for d1, d2 in zip(dcores, dcores2, strict=True):
            np.testing.assert_array_equal(d1, d2)


def vdot(u, v):
    return float(np.sum(u * v))


@settings(max_examples=60, deadline=None)
@given(
    dims=st.tuples(*[st.integers(1, 4)] * 8),
    seed=st.integers(0, 2**32 - 1),
)
def test_contract_vjps_are_exact_transposes(dims, seed):
    R, P, r, n, m, s, Q, _ = dims
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((R, P * r * n * Q))
    g = rng.standard_normal((r, n, m, s))
    dout = rng.standard_normal((R, P * m * s * Q))
    lhs = vdot(tt.contract(a, g, P, Q), dout)
    scale = np.sum(np.abs(a)) * np.sum(np.abs(g)) * np.abs(dout).max()
    assert abs(lhs - vdot(a, tt.contract_vjp_input(dout, g, P, Q))) <= 1e-13 * scale
    assert abs(lhs - vdot(g, tt.contract_vjp_core(a, dout, g.shape, P, Q))) <= 1e-13 * scale


@settings(max_examples=40, deadline=None)
@given(
    ranks=st.tuples(*[st.integers(1, 3)] * 4),
    factors=st.tuples(*[st.integers(1, 3)] * 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_merge_vjp_is_the_exact_transpose_in_each_core(ranks, factors, seed):
    rng = np.random.default_rng(seed)
    cores = [
        rng.standard_normal((ranks[k], factors[2 * k], factors[2 * k + 1], ranks[k + 1]))
        for k in range(3)
    ]
    ds = rng.standard_normal(tt.merge(cores).shape)
    lhs = vdot(tt.merge(cores), ds)
    scale = math.prod(np.sum(np.abs(c)) for c in cores) * np.abs(ds).max()
    for core, dg in zip(cores, tt.merge_vjp(ds, cores), strict=True):
        assert abs(lhs - vdot(core, dg)) <= 1e-13 * scale


# ---------------------------------------------------------------------------------------------
# GEMM operands and the cost model
# ---------------------------------------------------------------------------------------------


def test_gemm_operands_are_the_documented_matrices():
    rng = np.random.default_rng(11)
    R, P, r, n, m, s, Q = 2, 3, 2, 2, 3, 2, 2
    a = rng.standard_normal((R, P * r * n * Q))
    g = rng.standard_normal((r, n, m, s))
    dout = rng.standard_normal((R, P * m * s * Q))
    a_rows = a.reshape(R, P, r, n, Q).transpose(0, 1, 4, 2, 3).reshape(R * P * Q, r * n)
    d_rows = dout.reshape(R, P, m, s, Q).transpose(0, 1, 4, 2, 3).reshape(R * P * Q, m * s)
    gm = g.reshape(r * n, m * s)
    for gemm, kind, lhs, rhs in [
        (tt.contract_gemm(a, g, P, Q), tt.FWD, a_rows, gm),
        (tt.contract_vjp_input_gemm(dout, g, P, Q), tt.DGRAD, d_rows, gm.T),
        (tt.contract_vjp_core_gemm(a, dout, g.shape, P, Q), tt.WGRAD, a_rows.T, d_rows),
    ]:
        assert gemm.kind == kind
        np.testing.assert_array_equal(gemm.lhs, lhs)
        np.testing.assert_array_equal(gemm.rhs, rhs)
        assert gemm.macs == R * P * Q * r * n * m * s
    h = rng.standard_normal((s, 2, 3, 4))
    mg = tt.merge_gemm(g, h)
    assert mg.kind == tt.MERGE and mg.shape == (r * n * m, s, 2 * 3 * 4)
    np.testing.assert_array_equal(mg.finish(mg.lhs @ mg.rhs), tt.merge([g, h]))


def test_gemm_callback_can_replace_the_product():
    """The hook sees the operands and its product is used: here it rounds them to float16."""
    rng = np.random.default_rng(12)
    cores = random_cores(rng, (3, 4), (2, 5), (1, 3, 1))
    x = rng.standard_normal((4, 12))

    def rounded(kind, lhs, rhs):
        return lhs.astype(np.float16).astype(np.float64) @ rhs.astype(np.float16)

    y = tt.tt_matmul(x, cores, gemm=rounded)
    ref = tt.tt_matmul(x, cores)
    assert not np.array_equal(y, ref)
    np.testing.assert_allclose(y, ref, rtol=0.05, atol=0.05 * np.abs(ref).max())
    with pytest.raises(ValueError, match="gemm callback"):
        tt.tt_matmul(x, cores, gemm=lambda k, a, b: (a @ b)[:1])


@pytest.mark.parametrize("layer", LAYERS, ids=LAYER_IDS)
def test_cost_model_counts_the_executed_gemms(layer):
    nf, mf, ranks = layer
    rng = np.random.default_rng(13)
    batch = 5
    cores = random_cores(rng, nf, mf, ranks)
    x = rng.standard_normal((batch, math.prod(nf)))
    dy = rng.standard_normal((batch, math.prod(mf)))
    for groups, order in plans(len(nf)):
        plan = tt.contraction_cost((nf, mf), ranks, batch, groups, order)
        rec = Recorder()
        tt.tt_matmul(x, cores, groups, order, gemm=rec)
        assert rec.shapes(tt.FWD) == [(s.rows, s.red, s.cols) for s in plan.steps]
        assert rec.macs(tt.FWD) == plan.total_contract_macs
        merges = [math.prod(c) for c in rec.shapes(tt.MERGE)]
        per_group = []
        for size in plan.groups:
            per_group.append(sum(merges[: size - 1]))
            merges = merges[size - 1 :]
        assert tuple(per_group) == plan.merge_macs
        assert rec.macs() == plan.total_macs
        widths = [rows * red // batch for kind, rows, red, _ in rec.calls if kind == tt.FWD]
        widths += [rec.calls[-1][1] * rec.calls[-1][3] // batch]
        assert tuple(widths) == plan.widths
        assert plan.widths[0] == math.prod(nf) and plan.widths[-1] == math.prod(mf)
        assert plan.dense_macs == batch * math.prod(nf) * math.prod(mf)

        for input_grad in (True, False):
            rec = Recorder()
            tt.tt_matmul_vjp(x, cores, dy, groups, order, gemm=rec, input_grad=input_grad)
            expected = plan.total_macs + tt.backward_macs(plan, input_grad)
            assert rec.macs() == expected, (groups, order, input_grad)
            assert rec.macs(tt.WGRAD) == plan.total_contract_macs
        assert tt.backward_macs(plan) == 2 * plan.total_macs


def test_plan_contraction_is_the_cheapest_with_documented_ties():
    factors, ranks = ((2, 3, 4, 2), (3, 2, 2, 4)), (1, 3, 5, 2, 1)
    for batch in (1, 10, 1000):
        best = tt.plan_contraction(factors, ranks, batch)
        every = [tt.contraction_cost(factors, ranks, batch, g, o) for g, o in plans(4)]
        assert best.total_macs == min(p.total_macs for p in every)
        tied = [p for p in every if p.total_macs == best.total_macs]
        assert len(best.groups) == max(len(p.groups) for p in tied)
    # no rows: only merges cost, so the plan merges nothing; the orders tie, ltr wins
    idle = tt.plan_contraction(factors, ranks, 0)
    assert idle.groups == (1, 1, 1, 1) and idle.order == tt.LTR and idle.total_macs == 0
    fixed = tt.plan_contraction(factors, ranks, 10, groups=(2, 2), order=tt.RTL)
    assert fixed.groups == (2, 2) and fixed.order == tt.RTL
    assert tt.plan_contraction(((6,), (5,)), (1, 1), 4).total_macs == 4 * 30


def test_groupings_enumerates_compositions():
    for d in range(1, 9):
        gs = tt.groupings(d)
        assert len(gs) == 2 ** (d - 1) == len(set(gs))
        assert all(sum(g) == d and min(g) >= 1 for g in gs)


def test_256x256_rank8_compresses_13_8x():
    """The paper-scale hidden layer: 4,736 parameters for 65,536, a 13.8x compression."""
    factors = ((4, 8, 8), (4, 8, 8))
    batch = 100 * 1025
    plan = tt.contraction_cost(factors, 8, batch)
    assert plan.params == 4736
    assert plan.compression == pytest.approx(65536 / 4736)
    assert plan.compression >= 10
    assert plan.dense_macs == batch * 65536
    # core by core, left to right: B (8192 + 131072 + 16384) MACs
    assert plan.contract_macs == (batch * 8192, batch * 131072, batch * 16384)
    assert plan.intermediate_widths == (2048, 2048)
    best = tt.plan_contraction(factors, 8, batch)
    assert best.groups == (3,)  # at rank 8 the dense product is cheapest at this batch
    assert best.merge_macs == (65536 + 524288,)


# ---------------------------------------------------------------------------------------------
# TT-SVD
# ---------------------------------------------------------------------------------------------


def smooth_matrix(n, m, seed=0):
    """A matrix with decaying TT spectra: a smooth kernel plus a little noise."""
    rng = np.random.default_rng(seed)
    u = np.linspace(0, 1, n)[:, None]
    v = np.linspace(0, 1, m)[None, :]
    return np.exp(-3 * (u - v) ** 2) + np.sin(5 * u * v) + 1e-3 * rng.standard_normal((n, m))


def tt_error(w, cores):
    return np.linalg.norm(w - tt.reconstruct(cores)) / np.linalg.norm(w)


@pytest.mark.parametrize(
    "nf, mf, max_rank",
    [((4, 8, 8), (4, 8, 8), 3), ((4, 8, 8), (4, 8, 8), 8), ((2, 3, 4, 2), (3, 2, 2, 2), 4)],
)
def test_tt_svd_matches_tensorly_reconstruction_error(nf, mf, max_rank):
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import tensor_train_matrix
    from tensorly.tt_matrix import tt_matrix_to_matrix

    tl.set_backend("numpy")
    for w in (
        smooth_matrix(math.prod(nf), math.prod(mf)),
        np.random.default_rng(1).standard_normal((math.prod(nf), math.prod(mf))),
    ):
        cores = tt.tt_svd(w, nf, mf, max_rank=max_rank)
        ranks = (1, *(c.shape[3] for c in cores[:-1]), 1)
        assert max(ranks) <= max_rank
        ref = tensor_train_matrix(w.reshape(*nf, *mf), list(ranks))
        assert [f.shape for f in ref] == [c.shape for c in cores]
        ours = tt_error(w, cores)
        theirs = np.linalg.norm(w - tt_matrix_to_matrix(ref)) / np.linalg.norm(w)
        assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-12)


def test_tt_svd_at_full_rank_is_exact():
    w = np.random.default_rng(2).standard_normal((24, 12))
    cores = tt.tt_svd(w, (2, 3, 4), (3, 2, 2))
    assert [c.shape[3] for c in cores] == [6, 8, 1]  # the unfoldings' full ranks
    assert tt_error(w, cores) <= 1e-13
    single = tt.tt_svd(w, (24,), (12,))
    assert single[0].shape == (1, 24, 12, 1) and np.array_equal(tt.reconstruct(single), w)


def test_tt_svd_recovers_a_tt_matrix_at_its_ranks():
    rng = np.random.default_rng(3)
    nf, mf, ranks = (3, 4, 2, 3), (2, 3, 3, 2), (1, 2, 3, 2, 1)
    w = tt.reconstruct(random_cores(rng, nf, mf, ranks))
    cores = tt.tt_svd(w, nf, mf, rel_tol=1e-10)
    assert (1, *(c.shape[3] for c in cores)) == ranks
    assert tt_error(w, cores) <= 1e-10


@settings(max_examples=25, deadline=None)
@given(rel_tol=st.floats(1e-4, 0.9), seed=st.integers(0, 1000))
def test_tt_svd_meets_its_tolerance(rel_tol, seed):
    w = smooth_matrix(64, 48, seed) + 0.05 * np.random.default_rng(seed).standard_normal((64, 48))
    cores = tt.tt_svd(w, (4, 4, 4), (4, 3, 4), rel_tol=rel_tol)
    assert tt_error(w, cores) <= rel_tol * (1 + 1e-12)


def test_tt_svd_ranks_shrink_with_tolerance_and_respect_max_rank():
    w = smooth_matrix(64, 64)
    params = [
        tt.num_params((4, 4, 4), (4, 4, 4), (1, *(c.shape[3] for c in cs)))
        for cs in (tt.tt_svd(w, (4, 4, 4), (4, 4, 4), rel_tol=t) for t in (1e-6, 1e-3, 1e-1))
    ]
    assert params[0] > params[1] > params[2]
    for cap in (1, 2, 5):
        cores = tt.tt_svd(w, (4, 4, 4), (4, 4, 4), max_rank=cap)
        assert all(c.shape[3] <= cap for c in cores)
    cores = tt.tt_svd(w, (4, 4, 4), (4, 4, 4), max_rank=(3, 2))
    assert [c.shape[3] for c in cores] == [3, 2, 1]
    with pytest.raises(ValueError):
        tt.tt_svd(w, (4, 4, 4), (4, 4, 4), max_rank=0)


# ---------------------------------------------------------------------------------------------
# Factorizations and init
# ---------------------------------------------------------------------------------------------


def all_factorizations(n, d):
    if d == 1:
        return [(n,)]
    return [
        (f, *rest)
        for f in range(1, n + 1)
        if n % f == 0
        for rest in all_factorizations(n // f, d - 1)
    ]


def test_balanced_factorization_examples():
    assert tt.balanced_factorization(256, 3) == (4, 8, 8)
    assert tt.balanced_factorization(256, 2) == (16, 16)
    assert tt.balanced_factorization(72, 3) == (3, 4, 6)
    assert tt.balanced_factorization(13, 3) == (1, 1, 13)
    assert tt.balanced_factorization(1, 2) == (1, 1)
    assert tt.balanced_factorization(100, 1) == (100,)
    assert tt.choose_factorizations(256, 128, 3) == ((4, 8, 8), (4, 4, 8))
    with pytest.raises(ValueError):
        tt.balanced_factorization(0, 2)


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_balanced_factorization_is_the_most_balanced(d):
    for n in range(1, 130):
        f = tt.balanced_factorization(n, d)
        assert len(f) == d and math.prod(f) == n and list(f) == sorted(f)
        best = min(tuple(sorted(c, reverse=True)) for c in all_factorizations(n, d))
        assert f[::-1] == best


@pytest.mark.parametrize(
    "nf, mf, ranks",
    [((4, 8, 8), (4, 8, 8), 8), ((2, 3, 4), (3, 2, 2), (1, 5, 2, 1)), ((6,), (4,), 1)],
)
def test_init_std_gives_w_the_dense_variance(nf, mf, ranks):
    n, m = math.prod(nf), math.prod(mf)
    dense_std = glorot_std(n, m)
    std = tt.init_std(nf, mf, ranks, dense_std)
    inner = math.prod(tt.tt_ranks(len(nf), ranks)[1:-1])
    assert std ** (2 * len(nf)) * inner == pytest.approx(dense_std**2)
    rng = np.random.default_rng(14)
    # mean square of W's entries per draw: i.i.d. across draws, mean dense_std^2
    stats = np.array(
        [
            np.mean(tt.reconstruct(tt.init_cores(rng, nf, mf, ranks, dense_std, np.float64)) ** 2)
            for _ in range(400)
        ]
    )
    err = stats.std(ddof=1) / math.sqrt(len(stats))
    assert abs(stats.mean() - dense_std**2) <= 5 * err
    assert abs(stats.mean() / dense_std**2 - 1) < 0.1


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_shape_errors():
    rng = np.random.default_rng(15)
    g = rng.standard_normal((2, 3, 4, 2))
    with pytest.raises(ValueError, match="width 10 must be 12"):
        tt.contract(rng.standard_normal((1, 10)), g, 1, 2)
    with pytest.raises(ValueError, match="do not chain"):
        tt.merge([g, rng.standard_normal((3, 2, 2, 1))])
    with pytest.raises(ValueError, match="boundary ranks"):
        tt.reconstruct([g])
    cores = random_cores(rng, (2, 3), (3, 2), 2)
    with pytest.raises(ValueError, match="groups"):
        tt.tt_matmul(rng.standard_normal((1, 6)), cores, groups=(1, 2))
    with pytest.raises(ValueError, match="order"):
        tt.tt_matmul(rng.standard_normal((1, 6)), cores, order="up")
