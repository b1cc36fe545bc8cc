"""Tensor-train (TT-matrix) numerics in NumPy: the one implementation of the `tt` dialect's
arithmetic, for the runtime, the passes and every target.

Conventions (normative, from `pintac.dialects.tt` and docs/dialects/tt.md). A weight W : N x M,
used as ``y = x @ W``, with N = n_1..n_d and M = m_1..m_d, is stored as d cores
G_k : (r_{k-1}, n_k, m_k, r_k), r_0 = r_d = 1, and

    W[(j_1..j_d), (i_1..i_d)] = G_1[:, j_1, i_1, :] @ ... @ G_d[:, j_d, i_d, :]

with row-major multi-indices (j_1 most significant). Cores are passed as a sequence of 4-d
arrays, 0-based (core k here is G_{k+1} of the formula).

Every function is dtype-preserving: float32 operands give float32 results, float64 give
float64 (mixed operands follow NumPy's promotion).

GEMMs. `merge`, `contract` and their VJPs are each one permutation of the operands, one GEMM
and one permutation of the product (`Gemm`). The `*_gemm` functions return the GEMM operand
matrices before it runs, so a caller can quantize exactly those matrices; every function that
runs GEMMs takes a `gemm(kind, lhs, rhs) -> lhs @ rhs` callback (default `matmul`) to count or
quantize them. For a contraction with core (r, n, m, s), prefix P, suffix Q and R rows:

| kind           | computes                  | lhs (rows x red)       | rhs (red x cols)          |
|----------------|---------------------------|------------------------|---------------------------|
| `fwd`          | contract                  | a: (R P Q) x (r n)     | G: (r n) x (m s)          |
| `dgrad`        | contract_vjp_input        | dout: (R P Q) x (m s)  | G^T: (m s) x (r n)        |
| `wgrad`        | contract_vjp_core         | a^T: (r n) x (R P Q)   | dout: (R P Q) x (m s)     |
| `merge`        | merge G (r_a n m r_b), H  | G: (r_a n m) x r_b     | H: r_b x (n' m' r_c)      |
| `merge_dleft`  | merge VJP, left operand   | dS: (r_a n m) x (n' m' r_c) | H^T: (n' m' r_c) x r_b |
| `merge_dright` | merge VJP, right operand  | G^T: r_b x (r_a n m)   | dS: (r_a n m) x (n' m' r_c) |

All three contraction GEMMs have R P Q r n m s multiply-adds; both merge VJP GEMMs have the
merge's r_a n m r_b n' m' r_c.

Contraction orders. Left-to-right (`ltr`) is the sequential scheme: step k (k = 1..d)
is ``contract(a, G_k, prefix = m_1..m_{k-1}, suffix = n_{k+1}..n_d)``, the activation in each
row being (m_1..m_{k-1}, r_{k-1}, n_k, .., n_d). Right-to-left (`rtl`) contracts the last core
first: before step k (k = d..1) each row holds (n_1..n_k, r_k, m_{k+1}..m_d) and after it
(n_1..n_{k-1}, r_{k-1}, m_k..m_d):

    out[x, p, b, i, q] = sum_{j, c} a[x, p, j, c, q] G_k[b, j, i, c],
    P = n_1..n_{k-1},  Q = m_{k+1}..m_d,  rows (x, p, q), reduction (j, c), columns (b, i).

This is exactly ``contract(a, rtl_core(G_k), prefix = P, suffix = Q)`` with the core permuted
to (n, s, r, m), so `contract` expresses both orders. Both start from x : R x N and
end at x @ W : R x M with no permutation of x or y. Super-cores from `merge` take the place of
their cores in either order.

Cost model. `contraction_cost` / `plan_contraction` count, for a batch of B rows and a grouping
of the cores into consecutive groups (each merged once per step, independently of B), the
merge MACs per group, the MACs and widths of each contraction, and the dense B N M. The
backward pass costs 2x each contraction's forward GEMM MACs (dgrad + wgrad; the first
contraction's dgrad only when the layer's input needs a gradient) plus 2x each merge's MACs
(the merge VJP's two GEMMs): `backward_macs`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pintac.core.inits import tt_core_std
from pintac.runtime import parallel

# GEMM kinds, passed to the `gemm` callback.
FWD = "fwd"
DGRAD = "dgrad"
WGRAD = "wgrad"
MERGE = "merge"
MERGE_DLEFT = "merge_dleft"
MERGE_DRIGHT = "merge_dright"

# Contraction orders.
LTR = "ltr"
RTL = "rtl"
ORDERS = (LTR, RTL)

GemmFn = Callable[[str, np.ndarray, np.ndarray], np.ndarray]


def matmul(kind: str, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """The default `gemm` callback: ``lhs @ rhs`` (`kind` is ignored), a large one in row
    blocks on the runtime's thread pool (`pintac.runtime.parallel.matmul`)."""
    return parallel.matmul(lhs, rhs)


# ---------------------------------------------------------------------------------------------
# GEMMs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Gemm:
    """One GEMM of a TT op: ``result = finish(lhs @ rhs)``.

    `finish` views the (rows x cols) product with `product_shape`, transposes it by `perm` and
    reshapes it to `out_shape`.
    """

    kind: str
    lhs: np.ndarray  # rows x red
    rhs: np.ndarray  # red x cols
    product_shape: tuple[int, ...]
    perm: tuple[int, ...]
    out_shape: tuple[int, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(rows, reduction, columns)."""
        return (self.lhs.shape[0], self.lhs.shape[1], self.rhs.shape[1])

    @property
    def macs(self) -> int:
        """Multiply-adds: rows x reduction x columns."""
        return math.prod(self.shape)

    def finish(self, product: np.ndarray) -> np.ndarray:
        """The op's result from the GEMM's product."""
        p = product.reshape(self.product_shape)
        if self.perm != tuple(range(len(self.perm))):
            p = p.transpose(self.perm)
        return p.reshape(self.out_shape)

    def run(self, gemm: GemmFn | None = None) -> np.ndarray:
        """Run the GEMM through `gemm` (default `matmul`) and finish it."""
        product = (gemm or matmul)(self.kind, self.lhs, self.rhs)
        rows, _, cols = self.shape
        if product.shape != (rows, cols):
            raise ValueError(
                f"the gemm callback returned shape {product.shape} for a {self.kind} GEMM, "
                f"expected {(rows, cols)}"
            )
        return self.finish(product)


def _core_shape(core: np.ndarray, what: str = "core") -> tuple[int, int, int, int]:
    if np.ndim(core) != 4:
        raise ValueError(f"{what} must be 4-d (r_in, n, m, r_out), got shape {np.shape(core)}")
    r, n, m, s = core.shape
    return (r, n, m, s)


def _activation_rows(a: np.ndarray, width: int, what: str) -> int:
    if np.ndim(a) != 2:
        raise ValueError(f"{what} must be 2-d (rows, width), got shape {np.shape(a)}")
    if a.shape[1] != width:
        raise ValueError(f"{what} width {a.shape[1]} must be {width}")
    return a.shape[0]


def _check_prefix_suffix(prefix: int, suffix: int) -> None:
    if prefix < 1 or suffix < 1:
        raise ValueError(f"prefix and suffix must be >= 1, got {prefix} and {suffix}")


def _gemm_rows(t: np.ndarray, rows: int, prefix: int, inner: int, suffix: int) -> np.ndarray:
    """(rows, P, inner, Q) row-major -> the (rows P Q) x inner GEMM matrix."""
    v = t.reshape(rows, prefix, inner, suffix)
    if suffix != 1:
        v = v.transpose(0, 1, 3, 2)
    return v.reshape(rows * prefix * suffix, inner)


def contract_gemm(a: np.ndarray, core: np.ndarray, prefix: int, suffix: int) -> Gemm:
    """The `fwd` GEMM of `contract`: activation rows (x, p, q) x core (b, j) -> (i, c)."""
    r, n, m, s = _core_shape(core)
    _check_prefix_suffix(prefix, suffix)
    rows = _activation_rows(a, prefix * r * n * suffix, "activation")
    return Gemm(
        FWD,
        _gemm_rows(a, rows, prefix, r * n, suffix),
        core.reshape(r * n, m * s),
        (rows, prefix, suffix, m * s),
        (0, 1, 3, 2),
        (rows, prefix * m * s * suffix),
    )


def contract_vjp_input_gemm(dout: np.ndarray, core: np.ndarray, prefix: int, suffix: int) -> Gemm:
    """The `dgrad` GEMM of `contract_vjp_input`: dout rows (x, p, q) x core^T (i, c) -> (b, j)."""
    r, n, m, s = _core_shape(core)
    _check_prefix_suffix(prefix, suffix)
    rows = _activation_rows(dout, prefix * m * s * suffix, "output gradient")
    return Gemm(
        DGRAD,
        _gemm_rows(dout, rows, prefix, m * s, suffix),
        core.reshape(r * n, m * s).T,
        (rows, prefix, suffix, r * n),
        (0, 1, 3, 2),
        (rows, prefix * r * n * suffix),
    )


def contract_vjp_core_gemm(
    a: np.ndarray, dout: np.ndarray, core_shape: Sequence[int], prefix: int, suffix: int
) -> Gemm:
    """The `wgrad` GEMM of `contract_vjp_core`: activation^T (b, j) x dout (i, c), reducing over
    the rows (x, p, q)."""
    r, n, m, s = (int(v) for v in core_shape)
    _check_prefix_suffix(prefix, suffix)
    rows = _activation_rows(a, prefix * r * n * suffix, "activation")
    if _activation_rows(dout, prefix * m * s * suffix, "output gradient") != rows:
        raise ValueError(f"activation has {rows} rows but the output gradient {dout.shape[0]}")
    return Gemm(
        WGRAD,
        _gemm_rows(a, rows, prefix, r * n, suffix).T,
        _gemm_rows(dout, rows, prefix, m * s, suffix),
        (r * n, m * s),
        (0, 1),
        (r, n, m, s),
    )


def _merge_shapes(g: np.ndarray, h: np.ndarray) -> tuple[int, ...]:
    ra, n, m, rb = _core_shape(g, "left core")
    rb2, n2, m2, rc = _core_shape(h, "right core")
    if rb != rb2:
        raise ValueError(f"cores do not chain: output rank {rb} vs input rank {rb2}")
    return ra, n, m, rb, n2, m2, rc


def merge_gemm(g: np.ndarray, h: np.ndarray) -> Gemm:
    """The `merge` GEMM of two cores: G as (r_a n m) x r_b times H as r_b x (n' m' r_c), then
    (r_a, n, m, n', m', r_c) -> (r_a, n n', m m', r_c)."""
    ra, n, m, rb, n2, m2, rc = _merge_shapes(g, h)
    return Gemm(
        MERGE,
        g.reshape(ra * n * m, rb),
        h.reshape(rb, n2 * m2 * rc),
        (ra, n, m, n2, m2, rc),
        (0, 1, 3, 2, 4, 5),
        (ra, n * n2, m * m2, rc),
    )


def merge_vjp_gemms(ds: np.ndarray, g: np.ndarray, h: np.ndarray) -> tuple[Gemm, Gemm]:
    """The two GEMMs of the VJP of ``merge([g, h])``: (`merge_dleft` giving dG = dS H^T,
    `merge_dright` giving dH = G^T dS), dS permuted to (r_a n m) x (n' m' r_c) first."""
    ra, n, m, rb, n2, m2, rc = _merge_shapes(g, h)
    if np.shape(ds) != (ra, n * n2, m * m2, rc):
        raise ValueError(
            f"super-core gradient has shape {np.shape(ds)}, expected {(ra, n * n2, m * m2, rc)}"
        )
    dp = ds.reshape(ra, n, n2, m, m2, rc).transpose(0, 1, 3, 2, 4, 5).reshape(ra * n * m, -1)
    dg = Gemm(MERGE_DLEFT, dp, h.reshape(rb, n2 * m2 * rc).T, (ra * n * m, rb), (0, 1), g.shape)
    dh = Gemm(MERGE_DRIGHT, g.reshape(ra * n * m, rb).T, dp, (rb, n2 * m2 * rc), (0, 1), h.shape)
    return dg, dh


# ---------------------------------------------------------------------------------------------
# Ops and their VJPs
# ---------------------------------------------------------------------------------------------


def contract(
    a: np.ndarray, core: np.ndarray, prefix: int, suffix: int, gemm: GemmFn | None = None
) -> np.ndarray:
    """Contract a (R, P r n Q) with a core (r, n, m, s) -> (R, P m s Q),
    ``out[x, p, i, c, q] = sum_{b, j} a[x, p, b, j, q] core[b, j, i, c]``; a `fwd` GEMM."""
    return contract_gemm(a, core, prefix, suffix).run(gemm)


def contract_vjp_input(
    dout: np.ndarray, core: np.ndarray, prefix: int, suffix: int, gemm: GemmFn | None = None
) -> np.ndarray:
    """The gradient of `contract` w.r.t. its activation (R, P r n Q); a `dgrad` GEMM."""
    return contract_vjp_input_gemm(dout, core, prefix, suffix).run(gemm)


def contract_vjp_core(
    a: np.ndarray,
    dout: np.ndarray,
    core_shape: Sequence[int],
    prefix: int,
    suffix: int,
    gemm: GemmFn | None = None,
) -> np.ndarray:
    """The gradient of `contract` w.r.t. its core (r, n, m, s); a `wgrad` GEMM."""
    return contract_vjp_core_gemm(a, dout, core_shape, prefix, suffix).run(gemm)


def rtl_core(core: np.ndarray) -> np.ndarray:
    """The core (r, n, m, s) as `contract` takes it in the right-to-left order: (n, s, r, m)."""
    _core_shape(core)
    return core.transpose(1, 3, 0, 2)


def from_rtl_core(t: np.ndarray) -> np.ndarray:
    """The inverse of `rtl_core`: (n, s, r, m) -> (r, n, m, s); maps its gradients back too."""
    _core_shape(t)
    return t.transpose(2, 0, 3, 1)


def _merge_fold(
    cores: Sequence[np.ndarray], gemm: GemmFn | None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """merge(cores) and the left operand of each pairwise merge (which its VJP needs)."""
    if len(cores) == 0:
        raise ValueError("needs at least one core")
    s = cores[0]
    lefts = []
    for h in cores[1:]:
        lefts.append(s)
        s = merge_gemm(s, h).run(gemm)
    return s, lefts


def _merge_vjp(
    ds: np.ndarray,
    cores: Sequence[np.ndarray],
    lefts: Sequence[np.ndarray],
    gemm: GemmFn | None,
) -> list[np.ndarray]:
    grads: list[np.ndarray] = [ds] * len(cores)
    d = ds
    for k in range(len(cores) - 1, 0, -1):
        dleft, dright = merge_vjp_gemms(d, lefts[k - 1], cores[k])
        grads[k] = dright.run(gemm)
        d = dleft.run(gemm)
    grads[0] = d
    return grads


def merge(cores: Sequence[np.ndarray], gemm: GemmFn | None = None) -> np.ndarray:
    """Consecutive cores -> one super-core (r_a, prod n, prod m, r_c), merged left
    to right with one `merge` GEMM per pair. A single core is returned as is."""
    return _merge_fold(cores, gemm)[0]


def merge_vjp(
    ds: np.ndarray, cores: Sequence[np.ndarray], gemm: GemmFn | None = None
) -> list[np.ndarray]:
    """The gradients of ``merge(cores)`` w.r.t. each core, given the super-core's gradient.

    Recomputes the partial merges of all but the last core (forward `merge` GEMMs), then runs
    two GEMMs (`merge_dright`, `merge_dleft`) per pairwise merge, last pair first."""
    cores = list(cores)
    _, lefts = _merge_fold(cores, gemm)
    return _merge_vjp(ds, cores, lefts, gemm)


def _check_chain(cores: Sequence[np.ndarray]) -> list[tuple[int, int, int, int]]:
    if len(cores) == 0:
        raise ValueError("needs at least one core")
    shapes = [_core_shape(c, f"core #{k}") for k, c in enumerate(cores)]
    for k in range(len(shapes) - 1):
        if shapes[k][3] != shapes[k + 1][0]:
            raise ValueError(
                f"cores do not chain: core #{k} has output rank {shapes[k][3]} but core "
                f"#{k + 1} has input rank {shapes[k + 1][0]}"
            )
    if shapes[0][0] != 1 or shapes[-1][3] != 1:
        raise ValueError(f"boundary ranks must be 1, got {shapes[0][0]} and {shapes[-1][3]}")
    return shapes


def reconstruct(cores: Sequence[np.ndarray], gemm: GemmFn | None = None) -> np.ndarray:
    """The dense W (N, M) of a chain with boundary ranks 1."""
    shapes = _check_chain(cores)
    n = math.prod(s[1] for s in shapes)
    m = math.prod(s[2] for s in shapes)
    return merge(cores, gemm).reshape(n, m)


# ---------------------------------------------------------------------------------------------
# Layer shapes and groupings
# ---------------------------------------------------------------------------------------------


def tt_ranks(d: int, ranks: int | Sequence[int]) -> tuple[int, ...]:
    """The full rank tuple (r_0, .., r_d): an int r means (1, r, .., r, 1); a sequence must
    have d + 1 entries, all >= 1."""
    if isinstance(ranks, int | np.integer):
        out = (1, *([int(ranks)] * (d - 1)), 1)
    else:
        out = tuple(int(r) for r in ranks)
    if len(out) != d + 1 or min(out) < 1:
        raise ValueError(f"need d + 1 = {d + 1} ranks >= 1, got {out}")
    return out


def core_shapes(
    in_factors: Sequence[int], out_factors: Sequence[int], ranks: int | Sequence[int]
) -> list[tuple[int, int, int, int]]:
    """The core shapes (r_{k-1}, n_k, m_k, r_k) of a TT layer."""
    nf, mf = tuple(in_factors), tuple(out_factors)
    if len(nf) != len(mf) or not nf:
        raise ValueError(f"need as many (>= 1) input as output factors, got {nf} and {mf}")
    rk = tt_ranks(len(nf), ranks)
    return [(rk[k], nf[k], mf[k], rk[k + 1]) for k in range(len(nf))]


def num_params(
    in_factors: Sequence[int], out_factors: Sequence[int], ranks: int | Sequence[int]
) -> int:
    """Number of core entries, sum_k r_{k-1} n_k m_k r_k."""
    return sum(math.prod(s) for s in core_shapes(in_factors, out_factors, ranks))


def groupings(d: int) -> list[tuple[int, ...]]:
    """All groupings of d cores into consecutive groups, as group sizes (2^(d-1) of them),
    from d singleton groups to one group of d."""
    out = []
    for cuts in itertools.product((True, False), repeat=d - 1):
        sizes, run = [], 1
        for cut in cuts:
            if cut:
                sizes.append(run)
                run = 1
            else:
                run += 1
        out.append((*sizes, run))
    return out


def _spans(groups: Sequence[int] | None, d: int) -> list[tuple[int, int]]:
    """Group sizes -> [start, stop) core ranges; None means one group per core."""
    sizes = (1,) * d if groups is None else tuple(int(g) for g in groups)
    if not sizes or min(sizes) < 1 or sum(sizes) != d:
        raise ValueError(f"groups {sizes} must be positive sizes summing to {d} cores")
    starts = list(itertools.accumulate(sizes, initial=0))
    return list(itertools.pairwise(starts))


def _schedule(shapes: Sequence[Sequence[int]], order: str) -> list[tuple[int, int, int]]:
    """(group index, prefix, suffix) of each contraction, in execution order, for (super-)cores
    of these shapes."""
    ns = [s[1] for s in shapes]
    ms = [s[2] for s in shapes]
    g = len(shapes)
    if order == LTR:
        return [(t, math.prod(ms[:t]), math.prod(ns[t + 1 :])) for t in range(g)]
    if order == RTL:
        return [(t, math.prod(ns[:t]), math.prod(ms[t + 1 :])) for t in reversed(range(g))]
    raise ValueError(f"order must be one of {ORDERS}, got {order!r}")


# ---------------------------------------------------------------------------------------------
# Grouped layer: x -> x @ W
# ---------------------------------------------------------------------------------------------


def _layer_setup(x: np.ndarray, cores: Sequence[np.ndarray], groups, order: str):
    shapes = _check_chain(cores)
    n = math.prod(s[1] for s in shapes)
    _activation_rows(x, n, "input")
    spans = _spans(groups, len(cores))
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    return spans


def _step_core(super_core: np.ndarray, order: str) -> np.ndarray:
    return super_core if order == LTR else rtl_core(super_core)


def tt_matmul(
    x: np.ndarray,
    cores: Sequence[np.ndarray],
    groups: Sequence[int] | None = None,
    order: str = LTR,
    gemm: GemmFn | None = None,
) -> np.ndarray:
    """``x @ reconstruct(cores)`` for x (R, N) by the grouped sequential contraction.

    `groups` are the sizes of consecutive core groups (default: one per core); each group is
    merged into a super-core (`merge` GEMMs), then x is contracted with the super-cores in
    `order` (`ltr` or `rtl`, one `fwd` GEMM each). Every GEMM goes through `gemm`.
    """
    spans = _layer_setup(x, cores, groups, order)
    supers = [merge(cores[s:e], gemm) for s, e in spans]
    a = x
    for t, prefix, suffix in _schedule([c.shape for c in supers], order):
        a = contract(a, _step_core(supers[t], order), prefix, suffix, gemm)
    return a


def tt_matmul_vjp(
    x: np.ndarray,
    cores: Sequence[np.ndarray],
    dy: np.ndarray,
    groups: Sequence[int] | None = None,
    order: str = LTR,
    gemm: GemmFn | None = None,
    input_grad: bool = True,
) -> tuple[np.ndarray | None, list[np.ndarray]]:
    """(dx, [dG_k]): the VJP of `tt_matmul` for the output gradient dy (R, M).

    Reruns the forward (its merges and contractions, keeping the activations and partial
    merges), then per contraction, last first, one `wgrad` and one `dgrad` GEMM (no `dgrad` for
    the first contraction when `input_grad` is false; dx is then None), then each group's
    merge VJP. The GEMMs beyond the forward's are `backward_macs` of the matching plan.
    """
    spans = _layer_setup(x, cores, groups, order)
    folds = [_merge_fold(cores[s:e], gemm) for s, e in spans]
    schedule = _schedule([s.shape for s, _ in folds], order)
    acts = []
    a = x
    for t, prefix, suffix in schedule:
        acts.append(a)
        a = contract(a, _step_core(folds[t][0], order), prefix, suffix, gemm)
    if np.shape(dy) != a.shape:
        raise ValueError(f"output gradient has shape {np.shape(dy)}, expected {a.shape}")

    d = dy
    dsupers: list[np.ndarray] = [dy] * len(spans)
    for step in reversed(range(len(schedule))):
        t, prefix, suffix = schedule[step]
        core = _step_core(folds[t][0], order)
        dcore = contract_vjp_core(acts[step], d, core.shape, prefix, suffix, gemm)
        dsupers[t] = dcore if order == LTR else from_rtl_core(dcore)
        if step > 0 or input_grad:
            d = contract_vjp_input(d, core, prefix, suffix, gemm)
    dcores: list[np.ndarray] = []
    for (s, e), ds, (_, lefts) in zip(spans, dsupers, folds, strict=True):
        dcores.extend(_merge_vjp(ds, cores[s:e], lefts, gemm))
    return (d if input_grad else None), dcores


# ---------------------------------------------------------------------------------------------
# Cost model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractionStep:
    """One contraction of a plan: GEMM rows (x, p, q) = batch P Q, reduction, columns."""

    group: int  # index of the (super-)core's group, in core order
    core_shape: tuple[int, int, int, int]  # as `contract` takes it (`rtl_core` applied for rtl)
    prefix: int
    suffix: int
    rows: int
    red: int
    cols: int
    in_width: int  # activation elements per row before the step
    out_width: int  # and after it

    @property
    def macs(self) -> int:
        """Forward multiply-adds, rows x red x cols (= B P r n Q m s)."""
        return self.rows * self.red * self.cols


@dataclass(frozen=True)
class ContractionPlan:
    """The forward cost of a grouped TT layer ``x @ W`` for one step at batch size `batch`.

    Merges run once per step on the weights (independent of the batch); contractions run on
    the activations. The backward costs `backward_macs(plan)`: 2x each contraction's MACs
    (dgrad + wgrad) plus 2x each merge's MACs (its VJP's two GEMMs).
    """

    in_factors: tuple[int, ...]
    out_factors: tuple[int, ...]
    ranks: tuple[int, ...]
    batch: int
    groups: tuple[int, ...]  # sizes of the consecutive core groups
    order: str  # `ltr` or `rtl`
    merge_macs: tuple[int, ...]  # per group, in core order (0 for a single core)
    steps: tuple[ContractionStep, ...]  # in execution order

    @property
    def contract_macs(self) -> tuple[int, ...]:
        """Forward MACs of each contraction, in execution order."""
        return tuple(s.macs for s in self.steps)

    @property
    def widths(self) -> tuple[int, ...]:
        """Activation elements per row: N, then after each contraction (the last is M)."""
        return (self.steps[0].in_width, *(s.out_width for s in self.steps))

    @property
    def intermediate_widths(self) -> tuple[int, ...]:
        """Elements per row of the activations between contractions."""
        return self.widths[1:-1]

    @property
    def total_merge_macs(self) -> int:
        return sum(self.merge_macs)

    @property
    def total_contract_macs(self) -> int:
        return sum(self.contract_macs)

    @property
    def total_macs(self) -> int:
        """Forward MACs of one step: merges plus contractions."""
        return self.total_merge_macs + self.total_contract_macs

    @property
    def in_width(self) -> int:
        return math.prod(self.in_factors)

    @property
    def out_width(self) -> int:
        return math.prod(self.out_factors)

    @property
    def dense_macs(self) -> int:
        """MACs of the dense layer it replaces: B N M."""
        return self.batch * self.in_width * self.out_width

    @property
    def params(self) -> int:
        """Core entries, sum_k r_{k-1} n_k m_k r_k."""
        return num_params(self.in_factors, self.out_factors, self.ranks)

    @property
    def compression(self) -> float:
        """N M / params."""
        return self.in_width * self.out_width / self.params

    @property
    def merged_elements(self) -> int:
        """Entries of the super-cores of groups with 2+ cores (weights held merged)."""
        spans = _spans(self.groups, len(self.in_factors))
        return sum(
            self.ranks[s]
            * math.prod(self.in_factors[s:e])
            * math.prod(self.out_factors[s:e])
            * self.ranks[e]
            for s, e in spans
            if e - s > 1
        )


def _merge_macs(nf, mf, ranks, start: int, stop: int) -> int:
    """MACs of merging cores [start, stop) left to right."""
    total, acc_n, acc_m = 0, nf[start], mf[start]
    for k in range(start + 1, stop):
        total += ranks[start] * acc_n * acc_m * ranks[k] * nf[k] * mf[k] * ranks[k + 1]
        acc_n *= nf[k]
        acc_m *= mf[k]
    return total


def contraction_cost(
    factors: tuple[Sequence[int], Sequence[int]],
    ranks: int | Sequence[int],
    batch: int,
    groups: Sequence[int] | None = None,
    order: str = LTR,
) -> ContractionPlan:
    """The plan (costs) of a fixed grouping and order; `factors` is (in_factors, out_factors),
    `ranks` an int (uniform inner rank) or (r_0, .., r_d), `groups` group sizes (default one
    group per core)."""
    nf, mf = (tuple(int(v) for v in f) for f in factors)
    shapes = core_shapes(nf, mf, ranks)
    rk = tt_ranks(len(nf), ranks)
    if rk[0] != 1 or rk[-1] != 1:
        raise ValueError(f"boundary ranks must be 1, got {rk}")
    if batch < 0:
        raise ValueError(f"batch must be >= 0, got {batch}")
    spans = _spans(groups, len(shapes))
    supers = [(rk[s], math.prod(nf[s:e]), math.prod(mf[s:e]), rk[e]) for s, e in spans]
    steps = []
    for t, prefix, suffix in _schedule(supers, order):
        r, n, m, s = supers[t]
        cs = (r, n, m, s) if order == LTR else (n, s, r, m)
        steps.append(
            ContractionStep(
                group=t,
                core_shape=cs,
                prefix=prefix,
                suffix=suffix,
                rows=batch * prefix * suffix,
                red=cs[0] * cs[1],
                cols=cs[2] * cs[3],
                in_width=prefix * cs[0] * cs[1] * suffix,
                out_width=prefix * cs[2] * cs[3] * suffix,
            )
        )
    return ContractionPlan(
        in_factors=nf,
        out_factors=mf,
        ranks=rk,
        batch=int(batch),
        groups=tuple(e - s for s, e in spans),
        order=order,
        merge_macs=tuple(_merge_macs(nf, mf, rk, s, e) for s, e in spans),
        steps=tuple(steps),
    )


def plan_contraction(
    factors: tuple[Sequence[int], Sequence[int]],
    ranks: int | Sequence[int],
    batch: int,
    groups: Sequence[int] | None = None,
    order: str | None = None,
    num_groups: int | None = None,
) -> ContractionPlan:
    """The cheapest plan: over all groupings into consecutive groups (unless `groups` is
    given; only those of `num_groups` groups if that is given) and both orders (unless
    `order` is given), the least forward MACs per step.

    Ties go to more groups, then fewer merged weight entries, then `ltr`, then the
    lexicographically smaller group sizes. With the layer's input gradient needed, forward +
    backward is exactly 3x the forward, so the same plan minimizes the training step.
    """
    d = len(factors[0])
    if num_groups is not None and not 1 <= num_groups <= d:
        raise ValueError(f"num_groups must be from 1 to the {d} cores, got {num_groups}")
    if groups is not None:
        candidates = [tuple(groups)]
    else:
        candidates = [g for g in groupings(d) if num_groups in (None, len(g))]
    orders = ORDERS if order is None else (order,)
    plans = [contraction_cost(factors, ranks, batch, g, o) for g in candidates for o in orders]
    return min(
        plans,
        key=lambda p: (
            p.total_macs,
            -len(p.groups),
            p.merged_elements,
            ORDERS.index(p.order),
            p.groups,
        ),
    )


def backward_macs(plan: ContractionPlan, input_grad: bool = True) -> int:
    """MACs of the layer's backward pass for `plan`: per contraction a wgrad and a dgrad GEMM
    of its forward size (the first contraction's dgrad only if `input_grad`), plus per merge
    the two GEMMs of its VJP, each of the merge's size."""
    contract = 2 * plan.total_contract_macs
    if not input_grad:
        contract -= plan.steps[0].macs
    return contract + 2 * plan.total_merge_macs


# ---------------------------------------------------------------------------------------------
# TT-SVD
# ---------------------------------------------------------------------------------------------


def tt_svd(
    w: np.ndarray,
    in_factors: Sequence[int],
    out_factors: Sequence[int],
    max_rank: int | Sequence[int] | None = None,
    rel_tol: float = 0.0,
) -> list[np.ndarray]:
    """TT-matrix cores of a dense W (N, M) by TT-SVD (Oseledets 2011, Alg. 1).

    W is reshaped to (n_1..n_d, m_1..m_d), its axes interleaved to d modes (n_k m_k), and
    split by d - 1 sequential SVDs, left to right. Step k keeps the fewest singular values
    whose discarded tail has norm <= delta = rel_tol ||W||_F / sqrt(d - 1) (at least one), then
    at most `max_rank` (an int, or the d - 1 inner ranks). Without a binding `max_rank`,
    ||W - reconstruct(cores)||_F <= rel_tol ||W||_F; rel_tol = 0 keeps every nonzero singular
    value (exact up to rounding). The SVDs run in float64; the cores have W's dtype (float64
    for integer W).
    """
    w = np.asarray(w)
    nf, mf = tuple(int(v) for v in in_factors), tuple(int(v) for v in out_factors)
    d = len(nf)
    if len(mf) != d or d == 0:
        raise ValueError(f"need as many (>= 1) input as output factors, got {nf} and {mf}")
    if w.shape != (math.prod(nf), math.prod(mf)):
        raise ValueError(f"W has shape {w.shape}, factors give {(math.prod(nf), math.prod(mf))}")
    if rel_tol < 0:
        raise ValueError(f"rel_tol must be >= 0, got {rel_tol}")
    if max_rank is None:
        caps = [None] * (d - 1)
    elif isinstance(max_rank, int | np.integer):
        caps = [int(max_rank)] * (d - 1)
    else:
        caps = [int(r) for r in max_rank]
        if len(caps) != d - 1:
            raise ValueError(f"max_rank needs d - 1 = {d - 1} inner ranks, got {caps}")
    if any(c is not None and c < 1 for c in caps):
        raise ValueError(f"max_rank must be >= 1, got {max_rank}")
    dtype = w.dtype if np.issubdtype(w.dtype, np.floating) else np.dtype(np.float64)

    work = w.astype(np.float64)
    interleave = [ax for k in range(d) for ax in (k, d + k)]
    c = work.reshape(*nf, *mf).transpose(interleave)
    delta2 = (rel_tol * np.linalg.norm(work)) ** 2 / (d - 1) if d > 1 else 0.0
    cores = []
    r_prev = 1
    for k in range(d - 1):
        c = c.reshape(r_prev * nf[k] * mf[k], -1)
        u, sv, vt = np.linalg.svd(c, full_matrices=False)
        # tail2[r] = squared norm of the singular values dropped when keeping r
        tail2 = np.append(np.cumsum((sv**2)[::-1])[::-1], 0.0)
        r = int(np.flatnonzero(tail2[1:] <= delta2)[0]) + 1
        if caps[k] is not None:
            r = min(r, caps[k])
        cores.append(u[:, :r].reshape(r_prev, nf[k], mf[k], r))
        c = sv[:r, None] * vt[:r]
        r_prev = r
    cores.append(c.reshape(r_prev, nf[-1], mf[-1], 1))
    return [g.astype(dtype) for g in cores]


def cores_from_dense(
    w: np.ndarray, core_shapes_: Sequence[Sequence[int]], rel_tol: float = 0.0
) -> list[np.ndarray]:
    """Cores of the given shapes (r_{k-1}, n_k, m_k, r_k) for the dense W (N, M): `tt_svd`
    with the shapes' factors and inner ranks as maximum ranks; a core whose rank came out
    smaller (W of lower rank, or a `rel_tol` that drops singular values) is padded with zeros,
    which leaves the product unchanged."""
    shapes = [tuple(int(v) for v in s) for s in core_shapes_]
    nf = [s[1] for s in shapes]
    mf = [s[2] for s in shapes]
    ranks = [s[3] for s in shapes[:-1]]
    cores = tt_svd(w, nf, mf, ranks if ranks else None, rel_tol)
    out = []
    for core, shape in zip(cores, shapes, strict=True):
        padded = np.zeros(shape, dtype=core.dtype)
        padded[tuple(slice(0, d) for d in core.shape)] = core
        out.append(padded)
    return out


# ---------------------------------------------------------------------------------------------
# Factorizations and initialization
# ---------------------------------------------------------------------------------------------


def max_ranks(in_factors: Sequence[int], out_factors: Sequence[int]) -> tuple[int, ...]:
    """The largest useful inner ranks (r_1 .. r_{d-1}): r_k = min(prod_{i<=k} n_i m_i,
    prod_{i>k} n_i m_i), the ranks of W's unfoldings at full rank; a larger rank only adds
    parameters (TT-SVD can never fill it)."""
    modes = [n * m for n, m in zip(in_factors, out_factors, strict=True)]
    return tuple(
        min(math.prod(modes[: k + 1]), math.prod(modes[k + 1 :])) for k in range(len(modes) - 1)
    )


def balanced_factorization(n: int, d: int) -> tuple[int, ...]:
    """n as d factors (product exactly n) as equal as possible, in ascending order.

    "As equal as possible": the largest factor is as small as possible, then the second
    largest, and so on. Factors of 1 are allowed, so this never fails for n, d >= 1; a prime n
    gives (1, .., 1, n). Example: 256, 3 -> (4, 8, 8).
    """
    if n < 1 or d < 1:
        raise ValueError(f"need n >= 1 and d >= 1, got {n} and {d}")
    best: tuple[int, ...] | None = None

    def search(rest: int, slots: int, low: int, acc: tuple[int, ...]) -> None:
        nonlocal best
        if slots == 1:
            if rest >= low:
                cand = (*acc, rest)
                if best is None or cand[::-1] < best[::-1]:
                    best = cand
            return
        f = low
        while f**slots <= rest:  # later factors are >= f
            if rest % f == 0:
                search(rest // f, slots - 1, f, (*acc, f))
            f += 1

    search(n, d, 1, ())
    assert best is not None
    return best


def choose_factorizations(n: int, m: int, d: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(in_factors, out_factors) for an n x m layer with d cores: both `balanced_factorization`,
    ascending, so core k pairs the k-th smallest input and output factors."""
    return balanced_factorization(n, d), balanced_factorization(m, d)


def init_std(
    in_factors: Sequence[int],
    out_factors: Sequence[int],
    ranks: int | Sequence[int],
    dense_std: float,
) -> float:
    """The per-core std of i.i.d. normal cores whose W has entries of std dense_std
    (`pintac.core.inits.tt_core_std`) for this chain's shapes."""
    shapes = core_shapes(in_factors, out_factors, ranks)
    rk = tt_ranks(len(shapes), ranks)
    if rk[0] != 1 or rk[-1] != 1:
        raise ValueError(f"boundary ranks must be 1, got {rk}")
    return tt_core_std(dense_std, rk[1:-1])


def init_cores(
    rng: np.random.Generator,
    in_factors: Sequence[int],
    out_factors: Sequence[int],
    ranks: int | Sequence[int],
    dense_std: float,
    dtype=np.float32,
) -> list[np.ndarray]:
    """I.i.d. normal cores of std `init_std(...)`, so W's entries have variance dense_std^2."""
    std = init_std(in_factors, out_factors, ranks, dense_std)
    return [
        (std * rng.standard_normal(s)).astype(dtype)
        for s in core_shapes(in_factors, out_factors, ranks)
    ]


__all__ = [
    "DGRAD",
    "FWD",
    "LTR",
    "MERGE",
    "MERGE_DLEFT",
    "MERGE_DRIGHT",
    "ORDERS",
    "RTL",
    "WGRAD",
    "ContractionPlan",
    "ContractionStep",
    "Gemm",
    "GemmFn",
    "backward_macs",
    "balanced_factorization",
    "choose_factorizations",
    "contract",
    "contract_gemm",
    "contract_vjp_core",
    "contract_vjp_core_gemm",
    "contract_vjp_input",
    "contract_vjp_input_gemm",
    "contraction_cost",
    "core_shapes",
    "cores_from_dense",
    "from_rtl_core",
    "groupings",
    "init_cores",
    "init_std",
    "matmul",
    "max_ranks",
    "merge",
    "merge_gemm",
    "merge_vjp",
    "merge_vjp_gemms",
    "num_params",
    "plan_contraction",
    "reconstruct",
    "rtl_core",
    "tt_matmul",
    "tt_matmul_vjp",
    "tt_ranks",
    "tt_svd",
]
