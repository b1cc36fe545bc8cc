"""Parameter initialization: the `init` of each `pinn.param`, from the counter-based RNG.

The inits and their formulas are the table `pintac.core.inits.PARAM_INITS`; this module feeds
them random numbers. Parameter number `index` (its position among the problem's `pinn.param`
ops) draws from stream `rng.STREAM_INIT + index` at step 0 under the run's seed, so one
parameter's values do not depend on the shapes of the others, and adding a parameter at the
end changes nothing before it. Gaussians are `rng.normal` (Box–Muller), uniforms
`rng.uniform`, word i for element i in row-major order; values are computed in float64 and
rounded to float32 once.

A derived init (`tt_svd`) is computed from the values of its source parameter, which come
from the source's own init or from given values (a dense checkpoint's, say). Training updates
the parameters the networks use (`trained_params`); a source no network uses only provides
values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from xdsl.dialects.builtin import ArrayAttr, SymbolRefAttr

from pintac.core.errors import UserError
from pintac.core.inits import PARAM_INITS
from pintac.dialects import pinn
from pintac.runtime import rng
from pintac.runtime import tt as tt_numerics

_MAX_INDEX = 0x10000000  # the stream namespace leaves 28 bits for the parameter index


def init_param(init: str, args: Sequence[float], shape, seed: int, index: int) -> np.ndarray:
    """Initial float32 values of parameter number `index` with the given init and shape."""
    shape = (int(shape),) if isinstance(shape, int | np.integer) else tuple(int(s) for s in shape)
    args = [float(a) for a in args]
    rule = PARAM_INITS.get(init)
    if rule is None:
        raise UserError(f"unknown init '{init}'; known inits: {', '.join(PARAM_INITS)}")
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


def trained_params(problem_op: pinn.ProblemOp) -> list[pinn.ParamOp]:
    """The parameters training updates, in program order: those a layer of a network names
    (a parameter only serving as the source of a derived init is not one)."""
    named: set[str] = set()
    for network in problem_op.ops_of(pinn.NetworkOp):
        for op in network.walk():
            for attr in op.properties.values():
                refs = attr.data if isinstance(attr, ArrayAttr) else (attr,)
                named.update(r.string_value() for r in refs if isinstance(r, SymbolRefAttr))
    return [p for p in problem_op.ops_of(pinn.ParamOp) if p.sym_name.data in named]


def init_params(
    problem_op: pinn.ProblemOp,
    seed: int | None = None,
    given: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Initial values of the parameters training updates (`trained_params`), by symbol, in
    program order.

    The seed is the problem's `pinn.train` seed (0 without one) unless given. `given` holds
    values (by parameter name) that replace those parameters' inits, e.g. a dense
    checkpoint's weights: a derived init (`tt_svd`) is then computed from its source's given
    values. Every given name must be a parameter of the problem, with its shape.
    """
    if seed is None:
        train = problem_op.train
        seed = int(train.get("seed", 0)) if train is not None else 0
    params = problem_op.ops_of(pinn.ParamOp)
    values = dict(_given(params, given or {}))
    for index, op in enumerate(params):
        name = op.sym_name.data
        if name in values or PARAM_INITS[op.init.data].derived:
            continue
        args = [a.value.data for a in op.init_args.data]
        values[name] = init_param(op.init.data, args, op.shape, seed, index)
    derived = tt_cores_from_dense(problem_op, values)
    values.update((k, v) for k, v in derived.items() if k not in (given or {}))
    return {p.sym_name.data: values[p.sym_name.data] for p in trained_params(problem_op)}


def _given(params: Sequence[pinn.ParamOp], given: Mapping[str, np.ndarray]):
    by_name = {p.sym_name.data: p for p in params}
    for name, value in given.items():
        op = by_name.get(name)
        if op is None:
            raise UserError(
                f"error: the given initial values name '{name}', which is not a parameter of "
                f"the problem (its parameters: {', '.join(by_name)})"
            )
        value = np.asarray(value)
        if list(value.shape) != op.shape:
            raise UserError(
                f"error: the given initial value of '{name}' has shape "
                f"{'x'.join(map(str, value.shape))}, but the parameter is {op.type}"
            )
        yield name, value.astype(np.float32)


def tt_cores_from_dense(
    problem_op: pinn.ProblemOp, dense_values: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The values of the problem's TT cores initialized `tt_svd`, from the values of their
    source matrices (`dense_values`, by parameter name: a dense checkpoint's, or the sources'
    own initial values): per source, the TT-SVD with the cores' ranks as maximum ranks,
    zero-padded to the cores' shapes (`pintac.runtime.tt.cores_from_dense`). float32."""
    chains: dict[str, list[pinn.ParamOp]] = {}
    for op in problem_op.ops_of(pinn.ParamOp):
        if PARAM_INITS[op.init.data].derived:
            source = op.attributes["source"]
            assert isinstance(source, SymbolRefAttr), "verified: derived inits name a source"
            chains.setdefault(source.string_value(), []).append(op)
    out: dict[str, np.ndarray] = {}
    for source, cores in chains.items():
        if source not in dense_values:
            raise UserError(
                f"error: the TT cores {', '.join('@' + c.sym_name.data for c in cores)} are the "
                f"TT-SVD of @{source}, but no value of @{source} is given"
            )
        w = np.asarray(dense_values[source], dtype=np.float64)
        shapes = [c.shape for c in cores]
        for c, v in zip(cores, tt_numerics.cores_from_dense(w, shapes), strict=True):
            out[c.sym_name.data] = v.astype(np.float32)
    return out
