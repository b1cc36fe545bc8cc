"""Parameter initialization: the `init` of each `pinn.param`, from the counter-based RNG.

The inits and their formulas are the `pinn` dialect's table `PARAM_INITS`; this module feeds
them random numbers. Parameter number `index` (its position among the problem's `pinn.param`
ops) draws from stream `rng.STREAM_INIT + index` at step 0 under the run's seed, so one
parameter's values do not depend on the shapes of the others, and adding a parameter at the
end changes nothing before it. Gaussians are `rng.normal` (Box–Muller), uniforms
`rng.uniform`, word i for element i in row-major order; values are computed in float64 and
rounded to float32 once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pintac.dialects import pinn
from pintac.runtime import rng
from pintac.runtime.errors import UserError

_MAX_INDEX = 0x10000000  # the stream namespace leaves 28 bits for the parameter index


def init_param(init: str, args: Sequence[float], shape, seed: int, index: int) -> np.ndarray:
    """Initial float32 values of parameter number `index` with the given init and shape."""
    shape = (int(shape),) if isinstance(shape, int | np.integer) else tuple(int(s) for s in shape)
    args = [float(a) for a in args]
    rule = pinn.PARAM_INITS.get(init)
    if rule is None:
        raise UserError(f"unknown init '{init}'; known inits: {', '.join(pinn.PARAM_INITS)}")
    if len(args) != len(rule.args):
        raise UserError(f"init '{init}' takes {len(rule.args)} argument(s), got {len(args)}")
    if (problem := rule.check(args, shape)) is not None:
        raise UserError(problem)
    if not 0 <= index < _MAX_INDEX:
        raise ValueError(f"parameter index {index} is outside [0, 2^28)")
    stream = rng.STREAM_INIT + index
    return rule.draw(
        shape,
        args,
        lambda s: rng.normal(seed, 0, stream, s, dtype=np.float64),
        lambda s: rng.uniform(seed, 0, stream, s),
    )


def init_params(problem_op: pinn.ProblemOp, seed: int | None = None) -> dict[str, np.ndarray]:
    """Initial values of every `pinn.param` of a `pinn.problem`, by symbol, in program order.

    The seed is the problem's `pinn.train` seed (0 without one) unless given.
    """
    if seed is None:
        train = problem_op.train
        seed = int(train.get("seed", 0)) if train is not None else 0
    values: dict[str, np.ndarray] = {}
    for index, op in enumerate(problem_op.ops_of(pinn.ParamOp)):
        args = [a.value.data for a in op.init_args.data]
        values[op.sym_name.data] = init_param(op.init.data, args, op.shape, seed, index)
    return values
