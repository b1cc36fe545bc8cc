"""The functional model: what each PINTA instruction does to the machine state.

One function per instruction class, `fn(machine, ins)`, each one vectorized NumPy operation
over the instruction's whole region. Everything but the DMAs and the GEMM calls the NumPy
runtime's own kernels (`pintac.runtime.kernels_core`, `kernels_stein`, `kernels_taylor`,
`smx`, the activation table), so a tile computes bit for bit what the runtime computes for
those elements. The exceptions to calling a runtime function as is are the ranged random
draws (stochastic rounding, Stein perturbations and STDE coordinates of one block of a
tensor), which reproduce the draws of the block's elements in the whole tensor
(`pintac.runtime.pinta.ranged`).

Instructions execute in program order (the compiler orders them to respect data
dependencies; the timing model checks that the token protocol enforces that order).
Problems with the data (non-finite GEMM or QUANT input, an unreadable accumulator) raise
`Fault`, which the simulator reports as a trap at the instruction.
"""

from __future__ import annotations

import numpy as np

from pintac.core.activation_functions import FUNCTIONS
from pintac.core.errors import UserError
from pintac.runtime import kernels_core as core
from pintac.runtime import kernels_stein as stein
from pintac.runtime import kernels_taylor as taylor
from pintac.runtime import rng, smx
from pintac.runtime.pinta import ranged
from pintac.runtime.pinta.codes import SCHEDULE_CODES
from pintac.runtime.pinta.errors import Fault
from pintac.runtime.pinta.machine import Machine

_F32 = np.float32


def _dram_rows(dram: np.ndarray, start: int, rows: int, cols: int, stride: int, write: bool):
    """The rows x cols DRAM region at `start`, rows `stride` words apart, as a strided view."""
    if rows <= 1 or stride == cols:
        return dram[start : start + rows * cols].reshape(rows, cols)
    return np.lib.stride_tricks.as_strided(
        dram[start:], shape=(rows, cols), strides=(stride * 4, 4), writeable=write
    )


# ------------------------------------------------------------------------------------ DMA


def load(m: Machine, ins) -> None:
    """spm[dst + i*cols + j] = dram[src + i*stride + j] (local: spm[src + ...])."""
    if ins.rows and ins.cols:
        source = m.spm if ins.local else m.dram
        region = _dram_rows(source, ins.src, ins.rows, ins.cols, ins.stride, False)
        m.spm_write(ins.dst, region.copy() if ins.local else region)


def store(m: Machine, ins) -> None:
    """dram[dst + i*stride + j] = spm[src + i*cols + j] (local: spm[dst + ...])."""
    if ins.rows and ins.cols:
        target = m.spm if ins.local else m.dram
        region = _dram_rows(target, ins.dst, ins.rows, ins.cols, ins.stride, True)
        region[...] = m.spm_view(ins.src, (ins.rows, ins.cols)).copy()


# ----------------------------------------------------------------------------------- GEMM


def gemm(m: Machine, ins) -> None:
    """ACC[acc : m x n] = (init ? 0 : ACC) + op(A) op(B), exactly."""
    a = m.spm_view(ins.a, (ins.k, ins.m) if ins.ta else (ins.m, ins.k)).copy()
    b = m.spm_view(ins.b, (ins.n, ins.k) if ins.tb else (ins.k, ins.n)).copy()
    for name, x in (("A", a), ("B", b)):
        if not np.isfinite(x).all():
            raise Fault(f"GEMM operand {name} holds a non-finite value at step {m.step}")
    m.acc.gemm(ins.acc, ins.m, ins.n, (a, b, bool(ins.ta), bool(ins.tb)), bool(ins.init))


def accrd(m: Machine, ins) -> None:
    """spm[dst : m x n] = float32(ACC[acc : m x n]), rounded once to nearest even."""
    m.spm_write(ins.dst, m.acc.read(ins.acc, ins.m, ins.n))


# ---------------------------------------------------------------------------------- QUANT


def quant(m: Machine, ins) -> None:
    """SMX-quantize the rows x cols region in place, as its rows of the whole tensor."""
    region = m.spm_view(ins.addr, (ins.rows, ins.cols))
    if region.size == 0:
        return
    block = (ins.brows, ins.bcols)
    name = f"the QUANT region SPM[{ins.addr}, {ins.addr + region.size})"
    try:
        if ins.rounding == "stochastic":
            key = (m.seed, m.step, rng.STREAM_ROUNDING + ins.stream)
            values = quantize_stochastic(
                region, ins.bits, block, key, ins.elem_offset, ins.tensor_cols, name, m.step
            )
        else:
            values = smx.quantize_matrix(
                region, ins.bits, block, ins.rounding, name=name, step=m.step
            ).values
    except UserError as e:  # non-finite input
        raise Fault(str(e)) from None
    region[...] = values


def quantize_stochastic(
    x: np.ndarray,
    bits: int,
    block: tuple[int, int],
    key: tuple[int, int, int],
    offset: int,
    line: int,
    name: str = "tensor",
    step: int | None = None,
) -> np.ndarray:
    """`smx.quantize_matrix(x, bits, block, "stochastic")` for a region of a larger tensor.

    `key` is (seed, step, full stream number). The draw of region element (i, j) is word
    `offset + i * line + j` of the stream (for b x 1 blocks, which quantize the transposed
    tensor, of region element (j, i)): the element's row-major index in the whole tensor
    (transposed for b x 1 blocks) when `offset` is the region's first index and `line` the
    tensor's width. The arithmetic is `smx`'s own (its tiling and exponent helpers), with the
    draws of the region's elements in place of draws from index 0.
    """
    rows, cols = block
    if cols == 1 and rows > 1:
        flipped = quantize_stochastic(x.T, bits, (1, rows), key, offset, line, name, step)
        return np.ascontiguousarray(flipped.T)
    x = np.asarray(x, dtype=np.float32)
    t = smx._tile(x, max(rows, cols), rows=rows)
    mp, np_ = t.padded.shape
    out = np.empty(t.padded.shape, dtype=np.float32)
    e, _ = smx._tile_exponents(t, bits, out.view(np.uint32), name, step)
    tiled = (mp // t.rows, t.rows, np_)
    idx = e - smx.EXP_MIN
    m, n = x.shape
    seed, key_step, stream = key
    starts = offset + np.arange(m, dtype=np.int64) * line
    v = ranged.uniform_rows(seed, key_step, stream, starts, n)
    if (mp, np_) != (m, n):  # padding is zero, so any v > 0 rounds it to 0
        v = np.pad(v, ((0, mp - m), (0, np_ - n)), constant_values=1.0)
    v = v.reshape(tiled)
    s = t.padded.reshape(tiled).astype(np.float64)
    s *= smx._expand(smx._INV_POW2[idx], t.cols)
    q = np.floor(s)
    v += q
    q += s >= v
    limit = 2 ** (bits - 1) - 1
    np.clip(q, -limit, limit, out=q)
    q *= smx._expand(smx._POW2[idx], t.cols)
    out.reshape(tiled)[...] = q
    return smx._crop(out, x.shape)


# ------------------------------------------------------------------------------------ VEC


def vec(m: Machine, ins) -> None:
    """float32 elementwise over rows x cols (a op b; bias_add broadcasts b over rows)."""
    shape = (ins.rows, ins.cols)
    op = ins.op
    if op == "fill":
        out = core.constant(value=m.const(ins.const), shape=shape)
    else:
        a = m.spm_view(ins.a, shape)
        with np.errstate(all="ignore"):  # inf and NaN are values here, as in the runtime
            if op in _BINARY:
                out = _BINARY[op](a, m.spm_view(ins.b, shape))
            elif op == "neg":
                out = np.negative(a)
            elif op == "copy":
                out = a.copy()
            elif op == "scale":
                out = core.scale(a, factor=m.const(ins.const))
            else:  # bias_add
                out = core.bias_add(a, m.spm_view(ins.b, (ins.cols,)))
    m.spm_write(ins.dst, out)


_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}


def vcol(m: Machine, ins) -> None:
    """Column helpers: colrange_sum, colslice (rows x cols in), expand_columns (out)."""
    if ins.op == "expand_columns":
        x = m.spm_view(ins.a, (ins.rows, ins.hi - ins.lo))
        out = core.expand_columns(x, lo=ins.lo, hi=ins.hi, width=ins.cols)
    else:
        x = m.spm_view(ins.a, (ins.rows, ins.cols))
        kernel = core.column_range_sum if ins.op == "colrange_sum" else core.column_slice
        out = kernel(x, lo=ins.lo, hi=ins.hi)
    m.spm_write(ins.dst, out)


def perm(m: Machine, ins) -> None:
    """dst = src viewed as n0 x n1 x n2 x n3, its axes transposed to (p0, p1, p2, p3)."""
    extents = (ins.n0, ins.n1, ins.n2, ins.n3)
    x = m.spm_view(ins.src, extents)
    axes = (ins.p0, ins.p1, ins.p2, ins.p3)
    m.spm_write(ins.dst, core.permute(x, shape=extents, perm=axes, out_shape=(x.size,)))


# ------------------------------------------------------------------------------------ SFU


def sfu(m: Machine, ins) -> None:
    """An activation: apply, grad, DiffQuant's difference form and its VJP."""
    act = FUNCTIONS.get(ins.fn)
    if act is None:
        raise Fault(f"the activation '{ins.fn}' is not registered in this pintac")
    rows, streams, cols = ins.rows, ins.streams, ins.cols
    with np.errstate(all="ignore"):
        if ins.kind in ("apply", "grad"):
            shape = (rows * streams, cols)
            a = m.spm_view(ins.a, shape)
            if ins.kind == "apply":
                out = act.fn(a)
            else:
                out = core.activation_grad(a, m.spm_view(ins.b, shape), activation=ins.fn)
            m.spm_write(ins.dst, out)
            return
        zb = m.spm_view(ins.a, (rows, cols))
        zd = m.spm_view(ins.b, (rows, streams, cols))
        if ins.kind == "diff":
            m.spm_write(ins.dst, stein.stein_diff_activation(zb, zd, activation=ins.fn))
            return
        dout = m.spm_view(ins.c, (rows, streams, cols))
        dzb, dzd = stein.stein_diff_activation_vjp(zb, zd, dout, activation=ins.fn)
    m.spm_write(ins.dst, dzb)
    m.spm_write(ins.dst + dzb.size, dzd)


# ------------------------------------------------------------------------------------ RED


def red(m: Machine, ins) -> None:
    """Reductions: colsum (accumulating over row tiles), meansq, meansq_grad, wsum."""
    kind = ins.kind
    if kind == "colsum":
        tile = m.spm_view(ins.src, (ins.rows, ins.cols))
        if not ins.init:  # the running sum continues: rows are added in order
            tile = np.concatenate([m.spm_view(ins.dst, (1, ins.cols)), tile])
        out = core.column_sum(tile)
    elif kind == "meansq":
        out = core.mean_square(m.spm_view(ins.src, (ins.rows, ins.cols)))
    elif kind == "meansq_grad":
        r = m.spm_view(ins.src, (ins.rows, ins.cols))
        out = core.mean_square_grad(r, m.spm_view(ins.b, ()).copy(), ins.count or None)
    else:  # wsum
        losses = m.spm_view(ins.src, (ins.cols,)).copy()
        weights = tuple(m.const(ins.const + i) for i in range(ins.cols))
        out = core.weighted_sum(
            *(losses[i : i + 1].reshape(()) for i in range(ins.cols)), weights=weights
        )
    m.spm_write(ins.dst, out)


# ---------------------------------------------------------------------------------- STEIN


def stein_block(m: Machine, ins) -> None:
    """The Stein estimator kernels on a block of `points` points."""
    n, k, d = ins.points, ins.pairs, ins.coords
    kind, diff = ins.kind, bool(ins.diff)
    width = 2 * k + (0 if diff else 1)  # values per point
    delta = (n, k, d)
    if kind == "perturb":
        out = stein.stein_perturb(m.spm_view(ins.a, (n, d)), m.spm_view(ins.b, delta))
    elif kind == "difference_streams":
        out = stein.stein_difference_streams(m.spm_view(ins.a, delta))
    elif kind == "center":
        out = stein.stein_center(m.spm_view(ins.a, (n, 2 * k + 1, 1)))
    elif kind == "center_vjp":
        out = stein.stein_center_vjp(m.spm_view(ins.a, (n, 1)), pairs=k)
    elif kind == "smoothed":
        base = m.spm_view(ins.b, (n, 1)) if diff else None
        out = stein.stein_smoothed(m.spm_view(ins.a, (n, width, 1)), base)
    elif kind == "smoothed_vjp":
        out = stein.stein_smoothed_vjp(m.spm_view(ins.a, (n, 1)), pairs=k, differences=diff)
    else:
        params = {"sigma": m.const(ins.sigma), "lo": ins.lo, "hi": ins.hi, "differences": diff}
        dl = m.spm_view(ins.b, delta)
        if kind == "grad":
            out = stein.stein_grad(m.spm_view(ins.a, (n, width, 1)), dl, **params)
        elif kind == "laplacian":
            out = stein.stein_laplacian(m.spm_view(ins.a, (n, width, 1)), dl, **params)
        elif kind == "grad_vjp":
            out = stein.stein_grad_vjp(m.spm_view(ins.a, (n, ins.hi - ins.lo)), dl, **params)
        else:  # laplacian_vjp
            out = stein.stein_laplacian_vjp(m.spm_view(ins.a, (n, 1)), dl, **params)
    m.spm_write(ins.dst, out)


# ------------------------------------------------------------------------------------ RNG


def rng_block(m: Machine, ins) -> None:
    """Draws for points [point_offset, point_offset + points) of the batch: δ as
    `stein_sample` (normal), or one-hot coordinates as `sample_coordinates` (onehot)."""
    n, k, d = ins.points, ins.pairs, ins.coords
    stream = rng.STREAM_STEIN + ins.stream
    if ins.kind == "onehot":
        words = rng.random_words(m.seed, m.step, stream, n * k, start=ins.point_offset * k)
        m.spm_write(ins.dst, taylor.one_hot(rng.integers(words, d), d, _F32))
        return
    delta = rng.normal(m.seed, m.step, stream, n * k * d, start=ins.point_offset * k * d)
    delta = delta.reshape(n, k, d)
    # the scaling of kernels_stein.stein_sample
    sigma = m.const(ins.sigma)
    if not ins.has_sigma_t:
        delta *= np.float32(sigma)
    else:
        scale = np.full(d, sigma, np.float32)
        scale[-1] = m.const(ins.sigma_t)
        delta *= scale
    m.spm_write(ins.dst, delta)


# --------------------------------------------------------------------------------- UPDATE


def hyperparameters(m: Machine, first: int) -> dict:
    """The keyword arguments of `kernels_core.update` from a hyperparameter block."""
    lr, beta1, beta2, eps, schedule, steps = (m.const(first + i) for i in range(6))
    code = int(schedule)
    if code != schedule or not 0 <= code < len(SCHEDULE_CODES):
        raise Fault(
            f"the hyperparameter block at const {first} has schedule code {schedule}, not one "
            f"of {', '.join(f'{i} ({s})' for i, s in enumerate(SCHEDULE_CODES))}"
        )
    name = SCHEDULE_CODES[code]
    if name == "linear_decay" and steps < 1:
        raise Fault(f"the hyperparameter block at const {first}: linear_decay needs steps >= 1")
    params = {"lr": lr, "schedule": name, "steps": int(steps) if steps >= 1 else None}
    return params | {"beta1": beta1, "beta2": beta2, "eps": eps}


def update(m: Machine, ins) -> None:
    """One optimizer update of `count` elements of a parameter, in place."""
    n = ins.count
    params = hyperparameters(m, ins.hyper)
    p, g = m.spm_view(ins.p, (n,)), m.spm_view(ins.g, (n,))
    with np.errstate(all="ignore"):
        if ins.kind == "sgd":
            for key in ("beta1", "beta2", "eps"):
                params.pop(key)
            m.spm_write(ins.p, core.update(p, g, m.step, optimizer="sgd", **params))
            return
        mom, vel = m.spm_view(ins.m, (n,)), m.spm_view(ins.v, (n,))
        p1, m1, v1 = core.update(p, g, mom, vel, m.step, optimizer="adam", **params)
    m.spm_write(ins.p, p1)
    m.spm_write(ins.m, m1)
    m.spm_write(ins.v, v1)


def nothing(m: Machine, ins) -> None:
    """No effect on the state (NOP synchronizes; HALT ends the step)."""
