"""NumPy kernels of the `stein` dialect: sampling, perturbed batches, the estimators, their VJPs.

Each kernel implements the NumPy semantics of its op's docstring (`pintac.dialects.stein`):
float32 in, float32 out, with K and D read from the operands' shapes. Static parameters (σ, the
coordinate range, the form, ...) come from the op as plain Python values and are inlined into
the executor's generated code.

The kernels run on the perturbed batches of every training step (N·(2K+1) ≈ 10⁵ rows), so they
allocate each result once and write into it, never loop over points or pairs in Python, and
reduce over the pairs with batched `matmul` (one small GEMM per point, the fastest NumPy path
here). With few coordinates (D ≤ 4) they loop over the coordinates instead of broadcasting,
which keeps NumPy's inner loops long (3–8× faster at D = 2).

Numerics. Everything is computed in float32 (scalar constants are Python floats, which NumPy
rounds to the arrays' float32 before use, as the docstrings' `/ (2 * K * sigma**2)` does).
Departures from a literal transcription of the docstrings, equal in exact arithmetic:

- `stein.laplacian` (value form) evaluates the second difference as (g₊ − g(x)) + (g₋ − g(x)),
  not g₊ + g₋ − 2g(x). With σ small the perturbed values are within a factor 2 of g(x), so both
  differences are exact in float32 (Sterbenz) and only their O(σ²) sum is rounded; the literal
  order would round g₊ + g₋ ≈ 2g(x) at the scale of g, an error of ~1e-3 relative to a σ = 0.01
  second difference. (The difference form receives d± directly and is unaffected.)
- Sums over the pairs (and over coordinates) are float32 GEMM / einsum reductions whose
  summation order NumPy/BLAS choose; their rounding (~√K·2⁻²⁴ relative) is far below the
  Monte-Carlo error of the estimates (~1/√K). No float64 is used: it would not improve on the
  float32 inputs' own rounding.

The kernels keep the dtype of their float operands, so a float64 call (as in the transposition
tests) is computed in float64.
"""

from __future__ import annotations

import numpy as np

from pintac.dialects.activations import ACTIVATIONS
from pintac.dialects.stein import (
    CenterOp,
    CenterVjpOp,
    DiffActivationOp,
    DiffActivationVjpCenterOp,
    DiffActivationVjpOp,
    DiffActivationVjpStreamsOp,
    DifferenceStreamsOp,
    GradOp,
    GradVjpOp,
    LaplacianOp,
    LaplacianVjpOp,
    PerturbOp,
    SampleOp,
    SmoothedOp,
    SmoothedVjpOp,
)
from pintac.runtime import parallel, rng
from pintac.runtime.kernels import kernel

# ---------------------------------------------------------------------------------------------
# Sampling and perturbed batches
# ---------------------------------------------------------------------------------------------


@kernel(SampleOp)
def stein_sample(
    x: np.ndarray,
    seed: int,
    step: int,
    first: int = 0,
    *,
    pairs: int,
    sigma: float,
    sigma_t: float | None,
    stream: int,
) -> np.ndarray:
    """δ (N, K, D): N(0, 1) float32 draws of stream STREAM_STEIN + `stream`, scaled by σ.

    Draw ((first + n)·K + k)·D + j is δ[n, k, j]: `x` holds rows first .. first + N − 1 of
    the batch. The last coordinate is scaled by `sigma_t` if given. Only the shape of `x` is
    read.
    """
    n, d = x.shape
    stream = rng.STREAM_STEIN + stream
    start = int(first) * pairs * d
    delta = rng.normal(int(seed), int(step), stream, (n, pairs, d), start=start)
    if sigma_t is None:
        delta *= np.float32(sigma)
    else:
        scale = np.full(d, sigma, np.float32)
        scale[-1] = sigma_t
        delta *= scale
    return delta


# Up to this many coordinates, per-coordinate loops (long inner loops over the pairs) beat
# NumPy's broadcasting, whose innermost loop would run over only D elements.
_FEW_COORDS = 4


@kernel(PerturbOp)
def stein_perturb(x: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """The batch (N, 2K+1, D): [x, x + δ_0..K−1, x − δ_0..K−1] along axis 1."""
    n, k, d = delta.shape
    batch = np.empty((n, 2 * k + 1, d), np.result_type(x, delta))
    batch[:, 0, :] = x
    if d <= _FEW_COORDS:
        for j in range(d):
            xj, dj = x[:, j : j + 1], delta[:, :, j]
            np.add(xj, dj, out=batch[:, 1 : k + 1, j])
            np.subtract(xj, dj, out=batch[:, k + 1 :, j])
    else:
        base = x[:, None, :]
        np.add(base, delta, out=batch[:, 1 : k + 1, :])
        np.subtract(base, delta, out=batch[:, k + 1 :, :])
    return batch


# ---------------------------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------------------------


def _plus_minus(values: np.ndarray, k: int, differences: bool) -> tuple[np.ndarray, np.ndarray]:
    """Views (N, K) of g(x+δ_k), g(x−δ_k) (value form) or of d₊, d₋ (difference form)."""
    if differences:
        return values[:, :k, 0], values[:, k:, 0]
    return values[:, 1 : k + 1, 0], values[:, k + 1 :, 0]


def _sq_norms(delta: np.ndarray, lo: int, hi: int, out: np.ndarray | None = None) -> np.ndarray:
    """‖δ_k restricted to [lo, hi)‖² per point and pair: (N, K), in `out` or a fresh array."""
    if hi - lo <= _FEW_COORDS:
        w = np.square(delta[:, :, lo], out=out)
        for j in range(lo + 1, hi):
            w += np.square(delta[:, :, j])
        return w
    dl = delta[:, :, lo:hi]
    w = np.einsum("nkj,nkj->nk", dl, dl)
    if out is None:
        return w
    out[...] = w
    return out


def _laplacian_weights(
    delta: np.ndarray, sigma: float, lo: int, hi: int, out: np.ndarray | None = None
) -> np.ndarray:
    """(‖δ_k‖² − (hi − lo)σ²) over [lo, hi): (N, K), in `out` or a fresh array."""
    w = _sq_norms(delta, lo, hi, out)
    w -= (hi - lo) * sigma**2
    return w


@kernel(GradOp)
def stein_grad(
    values: np.ndarray,
    delta: np.ndarray,
    *,
    sigma: float,
    lo: int,
    hi: int,
    differences: bool,
) -> np.ndarray:
    """∇ over [lo, hi): mean_k δ_k (g₊ − g₋) / (2σ²), (N, hi − lo)."""
    k = delta.shape[1]
    plus, minus = _plus_minus(values, k, differences)
    diff = plus - minus  # (N, K)
    grad = parallel.matmul(diff[:, None, :], delta[:, :, lo:hi])[:, 0, :]  # (N, hi − lo)
    grad /= 2 * k * sigma**2
    return grad


@kernel(LaplacianOp)
def stein_laplacian(
    values: np.ndarray,
    delta: np.ndarray,
    *,
    sigma: float,
    lo: int,
    hi: int,
    differences: bool,
) -> np.ndarray:
    """Δ over [lo, hi): mean_k (‖δ_k‖² − (hi−lo)σ²)(g₊ + g₋ − 2g(x)) / (2σ⁴), (N, 1)."""
    k = delta.shape[1]
    plus, minus = _plus_minus(values, k, differences)
    if differences:
        second = plus + minus
    else:
        center = values[:, :1, 0]
        second = plus - center  # exact in float32 (see the module docstring)
        second += minus - center
    w = _laplacian_weights(delta, sigma, lo, hi)
    lap = parallel.matmul(w[:, None, :], second[:, :, None])[:, 0, :]  # (N, 1)
    lap /= 2 * k * sigma**4
    return lap


@kernel(CenterOp)
def stein_center(values: np.ndarray) -> np.ndarray:
    """g(x) = values[:, 0, :], (N, 1) (a copy: results never alias operands)."""
    return values[:, 0, :].copy()


@kernel(SmoothedOp)
def stein_smoothed(values: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
    """f_σ(x): the mean of the 2K perturbed values (difference form: base + mean of d), (N, 1)."""
    if base is None:
        return np.mean(values[:, 1:, :], axis=1)
    return base + np.mean(values, axis=1)


# ---------------------------------------------------------------------------------------------
# Backward (VJP) of the estimators: their transposes w.r.t. the values
# ---------------------------------------------------------------------------------------------


def _values_buffer(dout: np.ndarray, n: int, k: int, differences: bool) -> np.ndarray:
    """An uninitialized (N, 2K+1, 1) buffer, or (N, 2K, 1) for the difference form."""
    return np.empty((n, 2 * k + (0 if differences else 1), 1), dout.dtype)


@kernel(GradVjpOp)
def stein_grad_vjp(
    dout: np.ndarray,
    delta: np.ndarray,
    *,
    sigma: float,
    lo: int,
    hi: int,
    differences: bool,
) -> np.ndarray:
    """dg with <stein_grad(g), dout> = <g, dg>: rows ±s_k, s_k = δ_k·dout / (2Kσ²); row 0 is 0."""
    n, k, _ = delta.shape
    dg = _values_buffer(dout, n, k, differences)
    first = 0 if differences else 1
    plus = dg[:, first : first + k, :]  # (N, K, 1)
    parallel.matmul(delta[:, :, lo:hi], dout[:, :, None], out=plus)
    plus /= 2 * k * sigma**2
    np.negative(plus, out=dg[:, first + k :, :])
    if not differences:
        dg[:, 0, :] = 0
    return dg


@kernel(LaplacianVjpOp)
def stein_laplacian_vjp(
    dout: np.ndarray,
    delta: np.ndarray,
    *,
    sigma: float,
    lo: int,
    hi: int,
    differences: bool,
) -> np.ndarray:
    """dg with <stein_laplacian(g), dout> = <g, dg>: rows c_k twice, row 0 −2 Σ_k c_k.

    c_k = (‖δ_k‖² − (hi−lo)σ²) · dout / (2Kσ⁴).
    """
    n, k, _ = delta.shape
    dg = _values_buffer(dout, n, k, differences)
    first = 0 if differences else 1
    c = dg[:, first : first + k, 0]  # (N, K)
    if delta.dtype == c.dtype:  # the weights computed in place, then c_k
        _laplacian_weights(delta, sigma, lo, hi, out=c)
        c *= dout
    else:  # in delta's precision
        np.multiply(_laplacian_weights(delta, sigma, lo, hi), dout, out=c)
    c /= 2 * k * sigma**4
    dg[:, first + k :, 0] = c
    if not differences:
        np.sum(c, axis=1, out=dg[:, 0, 0])
        dg[:, 0, 0] *= -2
    return dg


@kernel(CenterVjpOp)
def stein_center_vjp(dout: np.ndarray, *, pairs: int) -> np.ndarray:
    """dg (N, 2K+1, 1): dout in row 0, zeros elsewhere."""
    dg = np.zeros((dout.shape[0], 2 * pairs + 1, 1), dout.dtype)
    dg[:, 0, :] = dout
    return dg


@kernel(SmoothedVjpOp)
def stein_smoothed_vjp(dout: np.ndarray, *, pairs: int, differences: bool) -> np.ndarray:
    """dg: dout / (2K) in each of the 2K perturbed rows; row 0 (value form) is 0."""
    n = dout.shape[0]
    dg = _values_buffer(dout, n, pairs, differences)
    first = 0 if differences else 1
    dg[:, first:, :] = (dout / (2 * pairs))[:, None, :]
    if not differences:
        dg[:, 0, :] = 0
    return dg


# ---------------------------------------------------------------------------------------------
# DiffQuant streams
# ---------------------------------------------------------------------------------------------


@kernel(DifferenceStreamsOp)
def stein_difference_streams(delta: np.ndarray) -> np.ndarray:
    """The input-layer difference stream (N, 2K, D): [+δ, −δ] along axis 1."""
    n, k, d = delta.shape
    streams = np.empty((n, 2 * k, d), delta.dtype)
    streams[:, :k, :] = delta
    np.negative(delta, out=streams[:, k:, :])
    return streams


@kernel(DiffActivationOp)
def stein_diff_activation(
    zb: np.ndarray, zd: np.ndarray, *, activation: str, keep: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """φ(z_b + z_d) − φ(z_b), z_b broadcast over the streams: (N, M, H), in float32.

    φ(z_b) is computed once per point (N, H), not once per stream. Points go in chunks on
    the runtime's thread pool (every output element depends on its own point only).
    With `keep`, also returns the value the VJP computes φ' from (φ(z_b + z_d), or z_b + z_d
    for an activation that saves its input), so the backward need not evaluate φ again.
    """
    act = ACTIVATIONS[activation]
    n, m, h = zd.shape
    out = np.empty((n, m, h), np.result_type(zb, zd))
    saved = np.empty_like(out) if keep else None

    def run(start: int, stop: int) -> None:
        part = out[start:stop]
        phi_zb = act.fn(zb[start:stop])[:, None, :]
        if keep and act.saves == "output":
            # φ(z_b + z_d) into the kept array, the difference from it: no extra pass
            full = saved[start:stop]
            np.add(zb[start:stop, None, :], zd[start:stop], out=full)
            act.fn(full, out=full)
            np.subtract(full, phi_zb, out=part)
            return
        np.add(zb[start:stop, None, :], zd[start:stop], out=part)
        if keep:
            saved[start:stop] = part
        act.fn(part, out=part)
        part -= phi_zb

    parallel.for_row_chunks(n, parallel.chunk_rows(m * h), run)
    return (out, saved) if keep else out


def _derivative_at(act, z: np.ndarray) -> np.ndarray:
    """φ'(z) from the activation's table entry, whatever value it saves."""
    return act.derivative(act.fn(z) if act.saves == "output" else z)


@kernel(DiffActivationVjpOp)
def stein_diff_activation_vjp(
    zb: np.ndarray,
    zd: np.ndarray,
    dout: np.ndarray,
    *,
    activation: str,
    saved: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(dzb, dzd) of φ(z_b + z_d) − φ(z_b): p = φ'(z_b + z_d), dzd = p·dout,
    dzb = Σ_streams p·dout − φ'(z_b)·Σ_streams dout, both sums in stream order (NumPy's sum
    over the middle axis of a C-ordered array of two or more columns adds its rows in order,
    which a loop over tiles of the streams continues). Points go in chunks on the thread pool.

    `saved`, the forward's second result under `keep`, gives p without evaluating φ again:
    the same bits, since it holds exactly the value φ' would be computed from."""
    act = ACTIVATIONS[activation]
    n, m, h = zd.shape
    dtype = np.result_type(zb, zd, dout)
    dzd = np.empty((n, m, h), dtype)
    dzb = np.empty((n, h), dtype)

    def run(start: int, stop: int) -> None:
        part = dzd[start:stop]
        _dzd_into(act, zb[start:stop], zd[start:stop], dout[start:stop], part, saved, start)
        np.sum(part, axis=1, out=dzb[start:stop])
        _center_into(act, zb[start:stop], np.sum(dout[start:stop], axis=1), dzb[start:stop])

    parallel.for_row_chunks(n, parallel.chunk_rows(m * h), run)
    return dzb, dzd


def _dzd_into(act, zb, zd, dout, out, saved=None, start=0) -> None:
    """out = φ'(z_b + z_d)·dout (from `saved`'s rows start.. when given)."""
    if saved is None:
        p = _derivative_at(act, np.add(zb[:, None, :], zd))
    else:
        p = act.derivative(saved[start : start + len(out)])
    np.multiply(p, dout, out=out)


def _center_into(act, zb, sum_dout, sum_dzd) -> None:
    """sum_dzd −= φ'(z_b)·sum_dout, in place: the z_b gradient from its two sums."""
    sum_dzd -= _derivative_at(act, zb) * sum_dout


@kernel(DiffActivationVjpStreamsOp)
def stein_diff_activation_vjp_streams(
    zb: np.ndarray, zd: np.ndarray, dout: np.ndarray, *, activation: str
) -> np.ndarray:
    """dzd = φ'(z_b + z_d)·dout of a tile of the streams: `stein.diff_activation_vjp`'s."""
    act = ACTIVATIONS[activation]
    n, m, h = zd.shape
    dzd = np.empty((n, m, h), np.result_type(zb, zd, dout))

    def run(start: int, stop: int) -> None:
        _dzd_into(act, zb[start:stop], zd[start:stop], dout[start:stop], dzd[start:stop])

    parallel.for_row_chunks(n, parallel.chunk_rows(m * h), run)
    return dzd


@kernel(DiffActivationVjpCenterOp)
def stein_diff_activation_vjp_center(
    zb: np.ndarray, sum_dzd: np.ndarray, sum_dout: np.ndarray, *, activation: str
) -> np.ndarray:
    """dzb = Σ dzd − φ'(z_b)·Σ dout: `stein.diff_activation_vjp`'s, from the two sums."""
    dzb = sum_dzd.copy()
    _center_into(ACTIVATIONS[activation], zb, sum_dout, dzb)
    return dzb
