"""Derivative strategies: how the derivative ops of a loss term are computed.

`pinn.grad`, `pinn.laplacian` and `pinn.partial` say which derivatives of a network a loss
term needs; a strategy says how they are computed. `DERIVATIVE_STRATEGIES` holds one entry
per strategy, and every place that evaluates derivative ops asks it:

- `pinn-build-loss{derivatives=NAME}` evaluates the derivative ops it meets with strategy
  NAME (`DerivativeStrategy.evaluate`, once per group: the ops of one term on one network at
  the same points share one sample set, or one set of jets);
- a problem chooses its strategy with `pinn.train {derivatives = "NAME"}` (`chosen_strategy`):
  `pinn-build-loss` uses it when its own option is not given, and `stein-expand` leaves a
  problem choosing another strategy than `stein` alone;
- `stein-expand` builds the `stein` strategy's sample sets and estimators at the problem
  level instead, where `stein-difference` can rewrite them for DiffQuant;
- `smoothed_values` evaluates the network a compiled step trains, asking the strategy the
  step was built with (Stein's estimator trains the Gaussian-smoothed network).

The strategies:

- `stein`: Stein's estimator of the Gaussian-smoothed network (docs/dialects/stein.md): K
  antithetic pairs δ ~ N(0, σ²I) per point (σ_t for time), 2K + 1 network evaluations per
  point, the derivatives from their values. K, σ, σ_t: the problem's `pinn.train` (`pairs`,
  `sigma`, `sigma_t`), else 512, 0.01, σ; `stein-expand` also takes them as options.
- `taylor`: exact derivatives by Taylor-mode forward jets (docs/numerics.md): the network is
  evaluated on the points with, along each coordinate direction e_d the term's derivatives
  need, the first and (for Laplacians) second directional derivatives carried layer by layer
  (`pintac.passes.layer_lowerings.lower_jets`). ∂u/∂x_d is the first coefficient along e_d,
  Δu the sum of the second coefficients. Per point it costs about 1 + 2D network rows.
- `stde`: the stochastic Taylor derivative estimator: a Laplacian over W coordinates from the
  jets along S coordinates drawn per point from the step's random streams (1 + 2S rows),
  unbiased; S is `pinn-build-loss`'s `samples`, else the problem's `pinn.train` `samples`
  (default 16). First derivatives are exact.

Adding a strategy is adding an entry to the table (its per-layer rules go with the layer
lowerings); the places above find it there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from xdsl.builder import Builder
from xdsl.dialects import func
from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType, f32
from xdsl.ir import Operation, SSAValue

from pintac.core.errors import PassError, UserError
from pintac.core.stein import DEFAULT_PAIRS, DEFAULT_SIGMA
from pintac.dialects import pinn, stein, train
from pintac.passes.layer_lowerings import Jet, reshape
from pintac.runtime import rng

Derivative = pinn.GradOp | pinn.LaplacianOp | pinn.PartialOp
DERIVATIVE_OPS = (pinn.GradOp, pinn.LaplacianOp, pinn.PartialOp)
Term = pinn.ResidualOp | pinn.BoundaryOp


# ---------------------------------------------------------------- groups of derivative ops


@dataclass
class DerivativeGroup:
    """The derivative ops of one (network, points) pair in a loss term, in IR order."""

    network: str
    x: SSAValue
    ops: list[Derivative] = field(default_factory=list)


def group_derivatives(term: Term) -> list[DerivativeGroup]:
    """The term's derivative ops grouped by network symbol and input value, in walk order."""
    groups: dict[tuple[str, SSAValue], DerivativeGroup] = {}
    for op in term.body.walk():
        if isinstance(op, DERIVATIVE_OPS):
            key = (op.network.string_value(), op.input)
            groups.setdefault(key, DerivativeGroup(*key)).ops.append(op)
    return list(groups.values())


def coordinate_range(op: Derivative) -> tuple[int, int]:
    """The coordinates [lo, hi) a derivative op differentiates along."""
    if isinstance(op, pinn.PartialOp):
        i = op.dim.value.data
        return i, i + 1
    return op.dim_range()


def describe(op: Derivative, term: Term) -> str:
    """`'pinn.laplacian' of @u in pinn.residual @pde` for messages."""
    return f"'{op.name}' of @{op.network.string_value()} in {term.name} @{term.sym_name.data}"


def coordinate_count(group: DerivativeGroup, term: Term) -> int:
    """The static number of coordinates of the group's points, or a PassError."""
    d = group.x.type.get_shape()[1]
    if d == DYNAMIC_INDEX:
        raise PassError(
            f"{describe(group.ops[0], term)} needs points with a static number of "
            "coordinates, got ?"
        )
    return d


# ---------------------------------------------------------------- the interface


class FunctionBody(Protocol):
    """What a strategy needs from the function `pinn-build-loss` is building."""

    builder: Builder
    rng_key: tuple[SSAValue, SSAValue] | None
    samples: int | None  # random directions per point (stde), if given

    def inline_network(self, name: str, x: SSAValue) -> SSAValue: ...

    def inline_jets(self, name: str, x: SSAValue, jet: Jet) -> tuple[SSAValue, Jet]: ...

    def next_stream(self) -> int: ...


class DerivativeStrategy(Protocol):
    name: str
    description: str  # one line, for messages and listings
    settings: tuple[str, ...]  # the `pinn.train` options it reads

    def evaluate(
        self,
        body: FunctionBody,
        problem: pinn.ProblemOp,
        term: Term,
        group: DerivativeGroup,
        x: SSAValue,
    ) -> dict[Derivative, SSAValue]:
        """Build the group's derivatives in `body` at the points `x` (the group's points as
        values of the function); returns the value replacing each op's result."""
        ...

    def built(self, step: func.FuncOp) -> bool:
        """Whether the compiled function `step` holds this strategy's derivatives."""
        ...

    def smoothed_values(
        self,
        step: func.FuncOp,
        predict: Callable[[np.ndarray], np.ndarray],
        x: np.ndarray,
        seed: int,
        has_time: bool,
    ) -> np.ndarray:
        """The network this strategy trains, at the rows of x (`predict` evaluates the
        network itself on rows of points); a UserError if it is the network itself."""
        ...


# ---------------------------------------------------------------- stein


@dataclass(frozen=True)
class SteinSettings:
    """The resolved estimator settings of one problem."""

    pairs: int
    sigma: float
    sigma_t: float


def check_stein_settings(pairs, sigma, sigma_t, where: str) -> None:
    """Raise a UserError for a bad K, σ or σ_t (None: not given, nothing to check)."""
    if pairs is not None and (isinstance(pairs, bool) or not isinstance(pairs, int) or pairs < 1):
        raise PassError(f"{where} pairs must be an integer >= 1, got {pairs}")
    if pairs is not None and pairs > 2**63 - 1:
        raise PassError(
            f"{where} pairs must be at most {2**63 - 1} (a 64-bit integer), got {pairs}"
        )
    for key, value in (("sigma", sigma), ("sigma-t", sigma_t)):
        if value is None:
            continue
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not (ok and math.isfinite(value) and value > 0):
            if where.startswith("pinn.train"):
                key = key.replace("-", "_")
            raise PassError(f"{where} {key} must be a positive number, got {value}")


def stein_settings(
    problem: pinn.ProblemOp,
    pairs: int | None = None,
    sigma: float | None = None,
    sigma_t: float | None = None,
) -> SteinSettings:
    """K, σ, σ_t for `problem`: the given values, else its pinn.train values, else defaults."""
    train_op = problem.train
    if train_op is not None:
        where = f"pinn.train of @{problem.sym_name.data}:"
        get = train_op.get
        check_stein_settings(get("pairs"), get("sigma"), get("sigma_t"), where)
        pairs = get("pairs") if pairs is None else pairs
        sigma = get("sigma") if sigma is None else sigma
        sigma_t = get("sigma_t") if sigma_t is None else sigma_t
    pairs = DEFAULT_PAIRS if pairs is None else int(pairs)
    sigma = DEFAULT_SIGMA if sigma is None else float(sigma)
    sigma_t = sigma if sigma_t is None else float(sigma_t)
    return SteinSettings(pairs, sigma, sigma_t)


@dataclass
class SteinGroup:
    """A group's sample set: σ_t (given iff the points carry a time coordinate) and each
    op's estimator, its coordinate range and σ."""

    group: DerivativeGroup
    sigma_t: float | None
    estimates: dict[Derivative, tuple[tuple[int, int], float]]


def plan_stein(term: Term, problem: pinn.ProblemOp, settings: SteinSettings) -> list[SteinGroup]:
    """The term's sample sets with every estimator's σ decided; raise on a bad op."""
    groups = group_derivatives(term)
    if not groups:
        return []
    domain = _domain_of(term, problem)
    plans = []
    for group in groups:
        d = coordinate_count(group, term)
        has_time = domain.has_time and d == domain.num_coords
        plan = SteinGroup(group, settings.sigma_t if has_time else None, {})
        for op in group.ops:
            lo, hi = coordinate_range(op)
            plan.estimates[op] = (lo, hi), _estimator_sigma(op, term, lo, hi, d, plan, settings)
        plans.append(plan)
    return plans


def _domain_of(term: Term, problem: pinn.ProblemOp) -> pinn.DomainOp:
    name = term.domain.string_value()
    for dom in problem.ops_of(pinn.DomainOp):
        if dom.sym_name.data == name:
            return dom
    raise PassError(f"the domain @{name} of @{term.sym_name.data} is not defined")


def _estimator_sigma(
    op: Derivative,
    term: Term,
    lo: int,
    hi: int,
    d: int,
    plan: SteinGroup,
    settings: SteinSettings,
) -> float:
    """The σ the coordinates [lo, hi) were drawn with; a space/time mix needs σ_t = σ."""
    if plan.sigma_t is None or hi < d:
        return settings.sigma
    if lo == d - 1:
        return plan.sigma_t
    if plan.sigma_t == settings.sigma:
        return settings.sigma
    raise PassError(
        f"{describe(op, term)} covers dims {lo} to {hi}, both space (sampled "
        f"with sigma {settings.sigma}) and time, coordinate {d - 1} (sampled with sigma_t "
        f"{plan.sigma_t}); one estimator needs one sigma: set sigma-t equal to sigma "
        f"(stein-expand{{sigma-t={settings.sigma}}} or sigma_t in pinn.train), or split the "
        f"range into dims {lo} to {d - 1} and dims {d - 1} to {d}"
    )


def stein_sample_set(
    plan: SteinGroup,
    x: SSAValue,
    key: tuple[SSAValue, SSAValue],
    stream: int,
    settings: SteinSettings,
) -> tuple[stein.SampleOp, stein.PerturbOp]:
    """The group's `stein.sample` (δ) and `stein.perturb` ([x, x+δ, x−δ]) ops, not inserted."""
    seed, step = key
    sample = stein.SampleOp(x, seed, step, settings.pairs, settings.sigma, stream, plan.sigma_t)
    batch = stein.PerturbOp(x, sample.delta)
    sample.delta.name_hint, batch.batch.name_hint = "delta", "batch"
    return sample, batch


def stein_batch_values_type(x: SSAValue, settings: SteinSettings) -> TensorType:
    """The type of the network's values on the perturbed batch: N x (2K+1) x 1."""
    return TensorType(f32, [x.type.get_shape()[0], 2 * settings.pairs + 1, 1])


def stein_estimator(op: Derivative, plan: SteinGroup, g: SSAValue, delta: SSAValue) -> Operation:
    """The estimator replacing `op` on the network's values g at the batch and δ, not
    inserted: `stein.laplacian`, or `stein.grad` (∂/∂x_i is `stein.grad dims i to i+1`)."""
    dims, sigma = plan.estimates[op]
    estimator = stein.LaplacianOp if isinstance(op, pinn.LaplacianOp) else stein.GradOp
    return estimator(g, delta, sigma, dims, result_type=op.output.type)


def first_free_stream(module: Operation) -> int:
    """The first sample stream no `stein.sample` or `train.sample_coordinates` in `module`
    uses."""
    samplers = (stein.SampleOp, train.SampleCoordinatesOp)
    used = [o.stream.value.data for o in module.walk() if isinstance(o, samplers)]
    return max(used) + 1 if used else 0


class _Stein:
    name = "stein"
    description = "Stein's estimator on antithetic Gaussian perturbations"
    settings = ("pairs", "sigma", "sigma_t")

    def evaluate(self, body, problem, term, group, x):
        settings = stein_settings(problem)
        (plan,) = [p for p in plan_stein(term, problem, settings) if p.group.ops == group.ops]
        assert body.rng_key is not None, "loss terms are built with the step's rng key"
        sample, batch = stein_sample_set(plan, x, body.rng_key, body.next_stream(), settings)
        body.builder.insert(sample)
        body.builder.insert(batch)
        g = body.inline_network(group.network, batch.batch)
        g.name_hint = "g"
        return {
            op: body.builder.insert(stein_estimator(op, plan, g, sample.delta)).results[0]
            for op in group.ops
        }

    def built(self, step):
        return any(isinstance(op, stein.SampleOp) for op in step.walk())

    def smoothed_values(self, step, predict, x, seed, has_time):
        """E[u(x + δ)] by the mean over the step's K antithetic pairs, σ and σ_t."""
        samples = [op for op in step.walk() if isinstance(op, stein.SampleOp)]
        pairs, sigma = samples[0].pairs.value.data, samples[0].sigma.value.data
        sigma_t = next((s.sigma_t.value.data for s in samples if s.sigma_t is not None), sigma)
        scale = np.full(x.shape[1], sigma, dtype=np.float32)
        if has_time:
            scale[-1] = sigma_t
        out = np.empty((len(x), 1), dtype=np.float32)
        chunk = max(1, 65536 // (2 * pairs))
        for start in range(0, len(x), chunk):
            xs = x[start : start + chunk]
            d = rng.normal(seed, start, rng.STREAM_EVAL + 1, (len(xs), pairs, x.shape[1])) * scale
            batch = np.concatenate([xs[:, None] + d, xs[:, None] - d], axis=1)
            u = predict(batch.reshape(-1, x.shape[1]))
            out[start : start + len(xs)] = u.reshape(len(xs), 2 * pairs, -1).mean(axis=1)
        return out


# ---------------------------------------------------------------- taylor


def _named(value: SSAValue, hint: str) -> SSAValue:
    value.name_hint = hint
    return value


def exact_derivatives(
    body: FunctionBody, network: str, ops: list[Derivative], x: SSAValue
) -> dict[Derivative, SSAValue]:
    """`ops` of one network at the points x, exactly: one jet set along the unit directions
    of the coordinates [lo, hi) they need (their hull), carried to second order if one of
    them is a Laplacian."""
    ranges = {op: coordinate_range(op) for op in ops}
    lo = min(a for a, _ in ranges.values())
    hi = max(b for _, b in ranges.values())
    order = 2 if any(isinstance(op, pinn.LaplacianOp) for op in ops) else 1
    b = body.builder
    directions = _named(b.insert(train.UnitDirectionsOp(x, lo, hi)).output, "e")
    _, jet = body.inline_jets(network, x, Jet(directions, None, order))
    n = x.type.get_shape()[0]
    first = second = None  # N x D views of the coefficients, made when first needed
    out = {}
    for op, (a, c) in ranges.items():
        dims = (a - lo, c - lo)
        if isinstance(op, pinn.LaplacianOp) and jet.second is None:
            out[op] = _zero_laplacian(b, op)
            continue
        if isinstance(op, pinn.LaplacianOp):
            if second is None:
                second = _named(reshape(b, jet.second, [n, hi - lo]), "d2u")
            out[op] = b.insert(pinn.SumOp(second, op.output.type, dims)).output
            continue
        if first is None:
            first = _named(reshape(b, jet.first, [n, hi - lo]), "du")
        if dims == (0, hi - lo) and first.type == op.output.type:
            out[op] = first
        else:
            out[op] = b.insert(pinn.SliceOp(first, op.output.type, dims)).output
    return out


def _zero_laplacian(b: Builder, op: pinn.LaplacianOp) -> SSAValue:
    """The Laplacian of a network affine in its input (no second coefficient): zero."""
    return b.insert(pinn.ConstantOp(0.0, op.output.type)).result


def _no_smoothed_network() -> UserError:
    return UserError(
        "error: the program differentiates the network itself (Taylor-mode jets), not a "
        "smoothed version of it; measure the network (without smoothing)"
    )


class _Taylor:
    name = "taylor"
    description = "exact derivatives by Taylor-mode forward jets"
    settings = ()

    def evaluate(self, body, problem, term, group, x):
        coordinate_count(group, term)
        return exact_derivatives(body, group.network, group.ops, x)

    def built(self, step):
        ops = list(step.walk())
        return any(isinstance(op, train.UnitDirectionsOp) for op in ops) and not any(
            isinstance(op, train.SampleCoordinatesOp) for op in ops
        )

    def smoothed_values(self, step, predict, x, seed, has_time):
        raise _no_smoothed_network()


# ---------------------------------------------------------------- stde

DEFAULT_STDE_SAMPLES = 16


class _Stde:
    """The stochastic Taylor derivative estimator (STDE, sparse coordinate jets): a Laplacian
    over W coordinates from S coordinates drawn per point, Δu ≈ (W/S) Σ_s ∂²u/∂x_(k_s)², an
    unbiased estimate at 1 + 2S network rows instead of 1 + 2W; exact (taylor) where S ≥ W.
    First derivatives are exact: they cost one row per coordinate."""

    name = "stde"
    description = "Laplacians by the stochastic Taylor derivative estimator"
    settings = ("samples",)

    def evaluate(self, body, problem, term, group, x):
        coordinate_count(group, term)
        samples = body.samples or DEFAULT_STDE_SAMPLES
        sampled: dict[tuple[int, int], list[pinn.LaplacianOp]] = {}
        for op in group.ops:
            lo, hi = coordinate_range(op)
            if isinstance(op, pinn.LaplacianOp) and samples < hi - lo:
                sampled.setdefault((lo, hi), []).append(op)
        exact = [op for op in group.ops if not any(op in ops for ops in sampled.values())]
        out = exact_derivatives(body, group.network, exact, x) if exact else {}
        for (lo, hi), ops in sampled.items():
            estimate = self._laplacian(body, group.network, ops[0], x, lo, hi, samples)
            out.update((op, estimate) for op in ops)
        return out

    @staticmethod
    def _laplacian(body, network, op, x, lo, hi, samples) -> SSAValue:
        assert body.rng_key is not None, "loss terms are built with the step's rng key"
        b = body.builder
        seed, step = body.rng_key
        coordinates = train.SampleCoordinatesOp(x, seed, step, lo, hi, samples, body.next_stream())
        directions = _named(b.insert(coordinates).output, "e_sampled")
        _, jet = body.inline_jets(network, x, Jet(directions, None, 2))
        if jet.second is None:
            return _zero_laplacian(b, op)
        second = _named(reshape(b, jet.second, [x.type.get_shape()[0], samples]), "d2u_sampled")
        total = b.insert(pinn.SumOp(second, op.output.type, (0, samples))).output
        return b.insert(train.ScaleOp(total, (hi - lo) / samples)).output

    def built(self, step):
        return any(isinstance(op, train.SampleCoordinatesOp) for op in step.walk())

    def smoothed_values(self, step, predict, x, seed, has_time):
        raise _no_smoothed_network()


DERIVATIVE_STRATEGIES: dict[str, DerivativeStrategy] = {
    s.name: s for s in (_Stein(), _Taylor(), _Stde())
}


def strategy_named(name: str, op: Operation | None = None) -> DerivativeStrategy:
    """The strategy `name`, or a PassError (at `op`, if given) listing the known ones."""
    found = DERIVATIVE_STRATEGIES.get(name)
    if found is None:
        raise PassError(
            f"{_where(op)}unknown derivative strategy '{name}'; known: "
            f"{', '.join(DERIVATIVE_STRATEGIES)}",
            op,
        )
    return found


def _where(op: Operation | None) -> str:
    """`pinn.train of @p: ` for a problem's pinn.train, else nothing."""
    if isinstance(op, pinn.TrainOp) and isinstance(problem := op.parent_op(), pinn.ProblemOp):
        return f"pinn.train of @{problem.sym_name.data}: "
    return ""


def chosen_strategy(problem: pinn.ProblemOp) -> str | None:
    """The strategy the problem's `pinn.train` chooses (`derivatives`), checked; None if it
    chooses none (the pipeline's applies)."""
    train_op = problem.train
    name = None if train_op is None else train_op.get("derivatives")
    if name is not None:
        strategy_named(name, train_op)
    if train_op is not None and train_op.get("samples") is not None and name != "stde":
        raise PassError(
            f"pinn.train of @{problem.sym_name.data}: samples (random coordinates per point) "
            'is a setting of derivatives = "stde"',
            train_op,
        )
    return name


def chooses_other_than_stein(problem: pinn.ProblemOp) -> bool:
    """Whether the problem chooses a strategy other than Stein's estimator."""
    return chosen_strategy(problem) not in (None, "stein")


def strategy_of(step: func.FuncOp) -> DerivativeStrategy | None:
    """The strategy whose derivatives the compiled function `step` holds (None: it has none)."""
    return next((s for s in DERIVATIVE_STRATEGIES.values() if s.built(step)), None)


def smoothed_values(
    step: func.FuncOp,
    predict: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    seed: int,
    has_time: bool,
) -> np.ndarray:
    """The network the compiled `step` trains, at the rows of x, by its derivative strategy
    (`DerivativeStrategy.smoothed_values`)."""
    strategy = strategy_of(step)
    if strategy is None:
        raise UserError(
            "error: the program computes no derivatives of its network, so there is no "
            "smoothed network to measure; measure the network (without smoothing)"
        )
    return strategy.smoothed_values(step, predict, x, seed, has_time)
