"""Kernels of the `pinn` training-graph ops and of the upstream `arith` / `math` ops on tensors.

Every kernel takes and returns float32 arrays (scalars `tensor<f32>` are 0-d arrays) and never
modifies its operands. Kernels keep the dtype of their data operands, so the same graph can be
run in float64 to check gradients against finite differences. Activations and their derivatives are the SFU model: the same NumPy
code serves the reference runtime and the PINTA simulator.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import arith, math

from pintac.dialects import pinn
from pintac.runtime.kernels import kernel

F32 = np.float32


def _static_shape(t) -> tuple[int, ...]:
    """A tensor type's shape with `?` dims as 1, so the value broadcasts along them."""
    return tuple(1 if d < 0 else d for d in t.get_shape())


# ---------------------------------------------------------------- elementwise (arith, math)

# Upstream elementwise ops are NumPy ufuncs; activations may write into a dead operand.
_ELEMENTWISE = {
    arith.AddfOp: np.add,
    arith.SubfOp: np.subtract,
    arith.MulfOp: np.multiply,
    arith.DivfOp: np.divide,
    arith.NegfOp: np.negative,
    math.CosOp: np.cos,
    math.ExpOp: np.exp,
    math.LogOp: np.log,
    math.SqrtOp: np.sqrt,
}
for _op, _ufunc in _ELEMENTWISE.items():
    kernel(_op)(_ufunc)


@kernel(math.TanhOp, inplace=0)
def tanh(a, out=None):
    return np.tanh(a, out=out)


@kernel(math.SinOp, inplace=0)
def sin(a, out=None):
    return np.sin(a, out=out)


# ---------------------------------------------------------------- per-point helpers


@kernel(
    pinn.ConstantOp,
    params=lambda op: {"value": op.value.value.data, "shape": _static_shape(op.result.type)},
)
def constant(*, value: float, shape: tuple[int, ...]):
    return np.full(shape, value, dtype=F32)


def _columns(op) -> dict:
    lo, hi = op.dim_range()
    return {"lo": lo, "hi": hi}


@kernel(pinn.SumOp, params=_columns)
def column_range_sum(x, *, lo: int, hi: int):
    return x[:, lo:hi].sum(axis=1, keepdims=True)


@kernel(pinn.SliceOp, params=_columns, view=True)
def column_slice(x, *, lo: int, hi: int):
    return x[:, lo:hi]


# ---------------------------------------------------------------- training graph


def _matmul_params(op: pinn.MatmulOp) -> dict:
    return {
        "transpose_a": op.transpose_a is not None,
        "transpose_b": op.transpose_b is not None,
    }


@kernel(pinn.MatmulOp, params=_matmul_params)
def matmul(a, b, *, transpose_a: bool, transpose_b: bool):
    return np.matmul(a.T if transpose_a else a, b.T if transpose_b else b)


@kernel(pinn.BiasAddOp, inplace=0)
def bias_add(x, b, out=None):
    return np.add(x, b, out=out)


@kernel(pinn.ColumnSumOp)
def column_sum(x):
    return x.sum(axis=0)


@kernel(pinn.ActivationGradOp, params=lambda op: {"activation": op.activation.data}, inplace=1)
def activation_grad(saved, dy, out=None, *, activation: str):
    if activation == "tanh":  # saved = y = tanh(z): tanh'(z) = 1 − y²
        d = np.multiply(saved, saved)
        np.subtract(1, d, out=d)
    elif activation == "sin":  # saved = z: sin'(z) = cos z
        d = np.cos(saved)
    else:
        raise ValueError(f"unknown activation {activation!r}")
    return np.multiply(d, dy, out=d if out is None else out)


@kernel(pinn.FlattenOp, view=True)
def flatten(x):
    return x.reshape(-1, x.shape[-1])


@kernel(pinn.UnflattenOp, view=True)
def unflatten(y, like):
    return y.reshape(*like.shape[:-1], y.shape[-1])


@kernel(
    pinn.ExpandColumnsOp,
    params=lambda op: {
        "lo": op.dim_lo.value.data,
        "hi": op.dim_hi.value.data,
        "width": op.output.type.get_shape()[1],
    },
)
def expand_columns(x, *, lo: int, hi: int, width: int):
    out = np.zeros((x.shape[0], width), dtype=x.dtype)
    out[:, lo:hi] = x
    return out


@kernel(pinn.MeanSquareOp)
def mean_square(r):
    return np.asarray(np.einsum("ij,ij->", r, r) / r.dtype.type(r.shape[0]))


@kernel(pinn.MeanSquareGradOp)
def mean_square_grad(r, dl):
    t = r.dtype.type
    return r * (t(2) * dl.astype(r.dtype) / t(r.shape[0]))


@kernel(pinn.WeightedSumOp, params=lambda op: {"weights": tuple(pinn.floats_of(op.weights))})
def weighted_sum(*losses, weights: tuple[float, ...]):
    t = np.result_type(*losses)
    total = np.zeros((), dtype=t)
    for w, loss in zip(weights, losses, strict=True):
        total = total + t.type(w) * loss
    return total


@kernel(pinn.ScaleOp, params=lambda op: {"factor": op.factor.value.data})
def scale(x, *, factor: float):
    return np.multiply(x, x.dtype.type(factor))


def _update_params(op: pinn.OptimizerUpdateOp) -> dict:
    return {"optimizer": op.optimizer.data, **op.hyperparameters()}


def learning_rate(
    lr: float, step: int, schedule: str = "constant", steps: int | None = None
) -> float:
    """The schedule's learning rate at a 0-based step (linear decay reaches 0 after `steps`)."""
    if schedule == "linear_decay":
        return lr * (1.0 - step / steps)
    return lr


@kernel(pinn.OptimizerUpdateOp, params=_update_params)
def update(
    p,
    g,
    *state_and_step,
    optimizer: str,
    lr: float,
    schedule: str = "constant",
    steps: int | None = None,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
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
