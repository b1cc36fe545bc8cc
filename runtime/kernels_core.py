"""NumPy kernels of the `train` ops, the per-point `pinn` ops and upstream `arith` on tensors.

Every kernel takes and returns float32 arrays (scalars `tensor<f32>` are 0-d arrays). A kernel
modifies an operand only when called with it as `out=`, which the execution plan does when
that operand dies at the op. Kernels keep the dtype of their data operands, so the same graph
can be run in float64 to check gradients against finite differences.

Besides the ops' kernels, the generated step calls `bias_activation` (a bias add and the
activation that overwrites it) and `activation`: the same operations on each element as the
kernels they stand for, in chunks of rows on the thread pool, so the same bits with no
temporary the size of the batch.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith

from pintac.core.training import ADAM_DEFAULTS, learning_rate
from pintac.dialects import pinn, train
from pintac.dialects.activations import ACTIVATIONS
from pintac.runtime import parallel, smx
from pintac.runtime.kernels import kernel

F32 = np.float32


# ---------------------------------------------------------------- elementwise (arith)

# Upstream elementwise arithmetic is NumPy's ufuncs (activations are their table's `fn`).
for _op, _ufunc in {
    arith.AddfOp: np.add,
    arith.SubfOp: np.subtract,
    arith.MulfOp: np.multiply,
    arith.DivfOp: np.divide,
    arith.NegfOp: np.negative,
}.items():
    kernel(_op)(_ufunc)


# ---------------------------------------------------------------- per-point helpers


@kernel(pinn.ConstantOp)
def constant(*, value: float, shape: tuple[int, ...]):
    return np.full(shape, value, dtype=F32)


@kernel(pinn.SumOp)
def column_range_sum(x, *, lo: int, hi: int):
    return x[:, lo:hi].sum(axis=1, keepdims=True)


@kernel(pinn.SliceOp)
def column_slice(x, *, lo: int, hi: int):
    return x[:, lo:hi]


# ---------------------------------------------------------------- training graph


@kernel(train.GemmOp)
def gemm(a, b, *, transpose_a: bool, transpose_b: bool, exact: bool = False, fast: bool = False):
    """op(a) · op(b). `exact`: the exact sum of products rounded once (quantized operands,
    whose values are exactly representable); otherwise BLAS in the operands' dtype; `fast`:
    BLAS in float32 on quantized operands' values too (the `numpy-fast` target)."""
    if fast:
        a, b = values_of(a), values_of(b)
        return parallel.matmul(a.T if transpose_a else a, b.T if transpose_b else b)
    if isinstance(a, smx.Quantized) and isinstance(b, smx.Quantized):
        return smx.gemm_quantized(a, b, transpose_a=transpose_a, transpose_b=transpose_b)
    if exact:
        a, b = values_of(a), values_of(b)
        return smx.gemm(a, b, transpose_a=transpose_a, transpose_b=transpose_b)
    return parallel.matmul(a.T if transpose_a else a, b.T if transpose_b else b)


def values_of(x):
    """A GEMM operand's values: a quantized matrix's exact float32 values, or x itself."""
    return x.values if isinstance(x, smx.Quantized) else x


@kernel(train.BiasAddOp)
def bias_add(x, b, out=None):
    return np.add(x, b, out=out)


def bias_activation(x, b, out=None, *, activation: str):
    """φ(x + b): `train.bias_add` then the activation, in row chunks on the pool, each chunk
    written once and transformed while in cache. The same operations per element as the two
    kernels (both elementwise), so the same bits; the generated step calls it where the
    activation overwrites the sum, which dies there."""
    fn = ACTIVATIONS[activation].fn
    if out is None:
        out = np.empty(x.shape, np.result_type(x, b))

    def run(start: int, stop: int) -> None:
        part = out[start:stop]
        np.add(x[start:stop], b, out=part)
        fn(part, out=part)

    parallel.for_row_chunks(len(x), parallel.chunk_rows(_row_elements(x)), run)
    return out


def activation(z, out=None, *, activation: str):
    """The activation's table entry `fn` applied to z, in row chunks on the pool: the same
    bits as `fn(z, out=out)` (an elementwise function of each element alone)."""
    fn = ACTIVATIONS[activation].fn
    if z.ndim == 0:
        return fn(z, out=out)
    if out is None:
        out = np.empty(z.shape, fn(z[:0]).dtype)

    def run(start: int, stop: int) -> None:
        fn(z[start:stop], out=out[start:stop])

    parallel.for_row_chunks(len(z), parallel.chunk_rows(_row_elements(z)), run)
    return out


def _row_elements(x) -> int:
    """Elements per row (along axis 0) of x."""
    return x.size // len(x) if len(x) else 1


@kernel(train.ColumnSumOp)
def column_sum(x):
    """Σ over the rows, from +0 adding row 0, row 1, ... in order: the order a sum over row
    tiles keeps (PINTA's). NumPy's axis-0 sum of a C-ordered matrix of two or more columns
    runs so; one column it would sum pairwise, so that one is a running sum (whose + 0.0
    stands for the start from +0: it only turns an all -0.0 column's -0.0 into +0.0)."""
    x = np.ascontiguousarray(x)
    if x.shape[1] == 1:
        return np.add.accumulate(x[:, 0])[-1:] + x.dtype.type(0.0)
    return np.add.reduce(x, axis=0)


@kernel(train.ActivationGradOp)
def activation_grad(saved, dy, out=None, *, activation: str):
    """φ'(z) · dy, φ' from the saved value by the activation's table entry. In row chunks
    on the pool when both operands have the result's shape: φ' of a chunk is a chunk-sized
    temporary, used while in cache (the same operations per element, so the same bits)."""
    derivative = ACTIVATIONS[activation].derivative
    if saved.shape != dy.shape or saved.ndim == 0:
        d = derivative(saved)
        return np.multiply(d, dy, out=d if out is None else out)
    if out is None:
        out = np.empty(saved.shape, derivative(saved[:0]).dtype)

    def run(start: int, stop: int) -> None:
        np.multiply(derivative(saved[start:stop]), dy[start:stop], out=out[start:stop])

    parallel.for_row_chunks(len(saved), parallel.chunk_rows(_row_elements(saved)), run)
    return out


@kernel(train.FlattenOp)
def flatten(x):
    return x.reshape(-1, x.shape[-1])


@kernel(train.UnflattenOp)
def unflatten(y, like):
    return y.reshape(*like.shape[:-1], y.shape[-1])


@kernel(train.ExpandColumnsOp)
def expand_columns(x, *, lo: int, hi: int, width: int):
    out = np.zeros((x.shape[0], width), dtype=x.dtype)
    out[:, lo:hi] = x
    return out


@kernel(train.PermuteOp)
def permute(x, *, shape: tuple[int, ...], perm: tuple[int, ...], out_shape: tuple[int, ...]):
    """x viewed as `shape`, its axes transposed by `perm`, reshaped to `out_shape` (a `-1`
    stands for the dynamic dim). A view of x where NumPy can make one, else a copy."""
    t = x.reshape(shape)
    if perm != tuple(range(len(perm))):
        t = t.transpose(perm)
    return t.reshape(out_shape)


@kernel(train.MeanSquareOp)
def mean_square(r):
    return np.asarray(np.einsum("ij,ij->", r, r) / r.dtype.type(r.shape[0]))


@kernel(train.MeanSquareGradOp)
def mean_square_grad(r, dl, count=None):
    """2 · r · dl / count, count the rows of the whole residual (r's rows unless r is a tile
    of it): every row's result is the same whatever tile it is computed in."""
    t = r.dtype.type
    rows = r.shape[0] if count is None else int(count)
    return r * (t(2) * dl.astype(r.dtype) / t(rows))


@kernel(train.WeightedSumOp)
def weighted_sum(*losses, weights: tuple[float, ...]):
    t = np.result_type(*losses)
    total = np.zeros((), dtype=t)
    for w, loss in zip(weights, losses, strict=True):
        total = total + t.type(w) * loss
    return total


@kernel(train.ScaleOp)
def scale(x, *, factor: float):
    return np.multiply(x, x.dtype.type(factor))


@kernel(train.UpdateOp)
def update(
    p,
    g,
    *state_and_step,
    optimizer: str,
    lr: float,
    schedule: str = "constant",
    steps: int | None = None,
    beta1: float = ADAM_DEFAULTS["beta1"],
    beta2: float = ADAM_DEFAULTS["beta2"],
    eps: float = ADAM_DEFAULTS["eps"],
):
    *state, step = state_and_step
    lr_t = F32(learning_rate(lr, int(step), schedule, steps))
    if optimizer == "sgd":
        return p - lr_t * g
    m, v = state
    m = F32(beta1) * m + F32(1.0 - beta1) * g
    v = F32(beta2) * v + F32(1.0 - beta2) * (g * g)
    bc1 = F32(1.0 - beta1 ** (int(step) + 1))
    bc2 = F32(1.0 - beta2 ** (int(step) + 1))
    p = p - lr_t * (m / bc1) / (np.sqrt(v / bc2) + F32(eps))
    return p, m, v
