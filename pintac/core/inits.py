"""The parameter inits of `pinn.param` and the stds of the random ones.

`PARAM_INITS` is the table of inits the `pinn` dialect accepts and the runtime
(`pintac.runtime.init`) draws; `glorot_std` is the std of Glorot's normal init, and
`tt_core_std` the std of i.i.d. normal TT cores whose product has a given dense std (the
TT compression's `init=normal`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


def glorot_std(n: int, m: int) -> float:
    """The Glorot (Xavier) normal std of an n x m dense layer, sqrt(2 / (n + m))."""
    return math.sqrt(2.0 / (n + m))


def tt_core_std(dense_std: float, inner_ranks: Sequence[int]) -> float:
    """The per-core std s such that i.i.d. zero-mean normal cores of std s give W entries of
    variance dense_std^2, for a chain of len(inner_ranks) + 1 cores.

    Each W entry is a sum over prod_{k=1}^{d-1} r_k rank paths of products of d independent
    core entries, and distinct paths are uncorrelated, so Var W_ij = s^(2d) prod_inner r_k and
    s = (dense_std^2 / prod_{k=1}^{d-1} r_k)^(1 / (2d)). For Glorot, dense_std = `glorot_std`.
    """
    if dense_std < 0:
        raise ValueError(f"dense_std must be >= 0, got {dense_std}")
    d = len(inner_ranks) + 1
    return (dense_std**2 / math.prod(inner_ranks)) ** (1.0 / (2 * d))


@dataclass(frozen=True)
class ParamInit:
    """How a `pinn.param` init draws its values.

    `args` names its numeric arguments; `check(args, shape)` returns what is wrong with them
    (or None); `draw(shape, args, normal, uniform)` computes the float32 values from the
    runtime's random numbers: `normal(shape)` standard Gaussians and `uniform(shape)` uniforms
    in (0, 1], both float64.
    """

    args: tuple[str, ...]
    draw: Callable[..., np.ndarray]
    check: Callable[[list[float], Sequence[int]], str | None] = lambda args, shape: None
    # Computed from the values of another parameter, the one the param's `source` attribute
    # names, instead of drawn: the runtime (`pintac.runtime.init`) computes it once the
    # source's values are known, and `draw` is never called.
    derived: bool = False


def _glorot_fans(shape: Sequence[int]) -> tuple[int, int]:
    """fan_in and fan_out of a weight matrix (rows, columns)."""
    return shape[0], shape[1]


def _needs_matrix(init: str) -> Callable[[list[float], Sequence[int]], str | None]:
    def check(args: list[float], shape: Sequence[int]) -> str | None:
        if len(shape) != 2:
            return (
                f"init '{init}' needs a weight matrix (rank 2), got rank {len(shape)}; give "
                "other tensors an explicit init such as normal(std)"
            )
        return None

    return check


def _xavier_normal(shape, args, normal, uniform) -> np.ndarray:
    fan_in, fan_out = _glorot_fans(shape)
    return (glorot_std(fan_in, fan_out) * normal(shape)).astype(np.float32)


def _derived(shape, args, normal, uniform) -> np.ndarray:
    raise ValueError("a derived init is computed from its source parameter, not drawn")


def _needs_core(args: list[float], shape: Sequence[int]) -> str | None:
    if len(shape) != 4:
        return f"init 'tt_svd' gives a TT core (rank 4), got rank {len(shape)}"
    return None


def _xavier_uniform(shape, args, normal, uniform) -> np.ndarray:
    fan_in, fan_out = _glorot_fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return (-limit + 2.0 * limit * uniform(shape)).astype(np.float32)


PARAM_INITS: dict[str, ParamInit] = {
    "zeros": ParamInit((), lambda shape, args, normal, uniform: np.zeros(shape, np.float32)),
    "ones": ParamInit((), lambda shape, args, normal, uniform: np.ones(shape, np.float32)),
    "constant": ParamInit(
        ("value",), lambda shape, args, normal, uniform: np.full(shape, args[0], np.float32)
    ),
    "normal": ParamInit(
        ("std",),
        lambda shape, args, normal, uniform: (args[0] * normal(shape)).astype(np.float32),
        lambda args, shape: "init normal(std) needs std > 0" if args[0] <= 0 else None,
    ),
    "uniform": ParamInit(
        ("low", "high"),
        lambda shape, args, normal, uniform: (
            args[0] + (args[1] - args[0]) * uniform(shape)
        ).astype(np.float32),
        lambda args, shape: (
            None if args[0] < args[1] else "init uniform(low, high) needs low < high"
        ),
    ),
    "xavier_normal": ParamInit((), _xavier_normal, _needs_matrix("xavier_normal")),
    "xavier_uniform": ParamInit((), _xavier_uniform, _needs_matrix("xavier_uniform")),
    # A TT core of the TT-SVD of the source matrix: the params with this init and one source,
    # in program order, are the cores of the source's TT-SVD with their ranks as maximum ranks
    # (zero-padded where the SVD keeps fewer), `pintac.runtime.tt.cores_from_dense`.
    "tt_svd": ParamInit((), _derived, _needs_core, derived=True),
}


def default_init(shape: Sequence[int]) -> str | None:
    """The init of a parameter written without one: Glorot for matrices, 0 for vectors."""
    return {1: "zeros", 2: "xavier_normal"}.get(len(shape))
