"""Parameter initialization: the `init` of each `pinn.param`, from the counter-based RNG.

Parameter number `index` (its position among the problem's `pinn.param` ops) draws from
stream `rng.STREAM_INIT + index` at step 0 under the run's seed, so one parameter's values do
not depend on the shapes of the others, and adding a parameter at the end changes nothing
before it.

| init              | values                                                        |
|-------------------|---------------------------------------------------------------|
| `zeros`, `ones`   | 0, 1                                                          |
| `constant(v)`     | v                                                             |
| `normal(std)`     | std · N(0, 1)                                                 |
| `uniform(lo, hi)` | lo + (hi − lo) · U, U in (0, 1]                               |
| `xavier_normal`   | N(0, 1) · √(2 / (fan_in + fan_out))                           |
| `xavier_uniform`  | uniform(−a, a) with a = √(6 / (fan_in + fan_out))             |

fan_in is the first dimension and fan_out the last (Xavier needs rank ≥ 2). Gaussians are
`rng.normal` (Box–Muller), uniforms `rng.uniform`, word i for element i in row-major order;
values are computed in float64 and rounded to float32 once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pintac.runtime import rng
from pintac.runtime.errors import UserError

# name: number of arguments (the same table as the pinn dialect's verifier)
INITS = {
    "zeros": 0,
    "ones": 0,
    "constant": 1,
    "normal": 1,
    "uniform": 2,
    "xavier_normal": 0,
    "xavier_uniform": 0,
}

_MAX_INDEX = 0x10000000  # the stream namespace leaves 28 bits for the parameter index


def init_param(init: str, args: Sequence[float], shape, seed: int, index: int) -> np.ndarray:
    """Initial float32 values of parameter number `index` with the given init and shape."""
    shape = (int(shape),) if isinstance(shape, int | np.integer) else tuple(int(s) for s in shape)
    args = [float(a) for a in args]
    if init not in INITS:
        raise UserError(f"unknown init '{init}'; known inits: {', '.join(INITS)}")
    if len(args) != INITS[init]:
        raise UserError(f"init '{init}' takes {INITS[init]} argument(s), got {len(args)}")
    if not 0 <= index < _MAX_INDEX:
        raise ValueError(f"parameter index {index} is outside [0, 2^28)")
    stream = rng.STREAM_INIT + index

    if init == "zeros":
        return np.zeros(shape, dtype=np.float32)
    if init == "ones":
        return np.ones(shape, dtype=np.float32)
    if init == "constant":
        return np.full(shape, args[0], dtype=np.float32)
    if init == "normal":
        return (args[0] * rng.normal(seed, 0, stream, shape, dtype=np.float64)).astype(np.float32)
    if init == "uniform":
        lo, hi = args
        return (lo + (hi - lo) * rng.uniform(seed, 0, stream, shape)).astype(np.float32)

    # Xavier / Glorot
    if len(shape) < 2:
        raise UserError(f"init '{init}' needs a parameter of rank >= 2, got shape {list(shape)}")
    fan_in, fan_out = shape[0], shape[-1]
    if init == "xavier_normal":
        std = math.sqrt(2.0 / (fan_in + fan_out))
        return (std * rng.normal(seed, 0, stream, shape, dtype=np.float64)).astype(np.float32)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    u = rng.uniform(seed, 0, stream, shape)
    return (-limit + 2.0 * limit * u).astype(np.float32)


def init_params(problem_op, seed: int | None = None) -> dict[str, np.ndarray]:
    """Initial values of every `pinn.param` of a `pinn.problem`, by symbol, in program order.

    The seed is the problem's `pinn.train` seed (0 without one) unless given.
    """
    from pintac.dialects import pinn

    if seed is None:
        train = problem_op.train
        seed = int(train.get("seed", 0)) if train is not None else 0
    values: dict[str, np.ndarray] = {}
    for index, op in enumerate(problem_op.ops_of(pinn.ParamOp)):
        args = [a.value.data for a in op.init_args.data]
        values[op.sym_name.data] = init_param(op.init.data, args, op.shape, seed, index)
    return values
