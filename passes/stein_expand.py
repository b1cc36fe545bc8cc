"""Pass `stein-expand`: derivative ops of a network -> Stein's estimators on one shared sample set.

Problem-level IR in, problem-level IR out: inside every `pinn.residual` / `pinn.boundary` of
every `pinn.problem`, the derivative ops (`pinn.grad`, `pinn.laplacian`, `pinn.partial`) become
`stein` estimators of the Gaussian-smoothed network (docs/dialects/stein.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType, f32
from xdsl.ir import Block, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern
from xdsl.rewriter import InsertPoint

from pintac.dialects import pinn, stein
from pintac.runtime.errors import PassError

_DERIVATIVES = (pinn.GradOp, pinn.LaplacianOp, pinn.PartialOp)
_Derivative = pinn.GradOp | pinn.LaplacianOp | pinn.PartialOp


@dataclass(frozen=True)
class SteinSettings:
    """The resolved estimator settings of one problem."""

    pairs: int
    sigma: float
    sigma_t: float


@dataclass
class _Group:
    """The derivative ops of one (network, points) pair in a loss term: one sample set."""

    network: str
    x: SSAValue
    ops: list[_Derivative] = field(default_factory=list)
    stream: int = 0
    sigma_t: float | None = None  # given iff the points carry a time coordinate
    estimates: dict[_Derivative, tuple[tuple[int, int], float]] = field(default_factory=dict)
    values: tuple[SSAValue, SSAValue] | None = None  # (g, δ) once the sample set is built


@dataclass(frozen=True)
class SteinExpandPass(ModulePass):
    """Replace pinn.grad/laplacian/partial by Stein's estimators on one shared sample set per point.

    Inside every `pinn.residual` / `pinn.boundary` of every `pinn.problem`, the derivative ops
    are grouped by (network symbol, input SSA value): all derivatives of a network at the same
    points share one sample set. Right before a group's first derivative op the pass inserts

        %seed, %step = pinn.rng_key : i64, i64                 (one per loss term, reused)
        %delta = stein.sample %x, %seed, %step pairs K sigma s [sigma_t st] stream S
        %batch = stein.perturb %x, %delta
        %g = pinn.eval @u(%batch) : tensor<N x 2K+1 x D> -> tensor<N x 2K+1 x 1>

    and replaces each derivative op by its estimator on (%g, %delta), keeping its result
    type and name: `pinn.grad dims a to b` -> `stein.grad dims a to b`, `pinn.laplacian` ->
    `stein.laplacian`, `pinn.partial dim i` -> `stein.grad dims i to i+1`. `pinn.eval` ops
    (no derivative) are left alone.

    Options (a value not given is taken from the problem's `pinn.train`, else the default):
    `pairs` (K antithetic pairs; train `pairs`, default 512), `sigma` (σ of the spatial
    coordinates; train `sigma`, default 0.01), `sigma-t` (σ of time; train `sigma_t`, default
    σ). Pass options are checked: pairs ≥ 1, σ and σ_t positive and finite.

    Time. When the term's domain has a time interval and the points have the domain's number
    of coordinates, time is the last coordinate: the sample gets `sigma_t` (printed even when
    equal to σ) and an estimator covering time uses σ_t. A range mixing space and time is
    accepted only when σ_t = σ; otherwise the pass fails naming the op (use sigma-t equal to
    sigma, or split the range).

    Streams. Each group gets its own stream, unique across the module: 0, 1, 2, ... in walk
    order of the groups' first derivative ops (problems, then terms, then ops, in IR order).
    If the module already holds `stein.sample` ops, numbering starts after their largest
    stream, so independent sample sets never share a stream.

    The rng key. A loss term's existing `pinn.rng_key` (directly in its body) is reused and, if
    needed, moved up so that it dominates every sample; otherwise one is inserted before the
    term's first derivative.
    """

    name = "stein-expand"

    pairs: int | None = None
    sigma: float | None = None
    sigma_t: float | None = None

    def __post_init__(self) -> None:
        # Checked when the pass is made, so a bad option fails before any pass runs.
        _check_settings(self.pairs, self.sigma, self.sigma_t, "option")

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        _check_settings(self.pairs, self.sigma, self.sigma_t, "option")
        stream = _first_free_stream(op)
        plans: list[tuple[pinn.ResidualOp | pinn.BoundaryOp, list[_Group], SteinSettings]] = []
        # Plan everything first: a bad op fails the pass before the IR is touched.
        for problem in [o for o in op.walk() if isinstance(o, pinn.ProblemOp)]:
            settings = self.settings_for(problem)
            for term in problem.terms:
                groups = _plan_term(term, problem, settings, stream)
                stream += len(groups)
                if groups:
                    plans.append((term, groups, settings))
        if stream - 1 > stein.MAX_STREAM:
            raise PassError(f"more than 2^32 sample streams ({stream})")
        pattern = _ExpandDerivative(
            {
                op: (term, group, settings)
                for term, groups, settings in plans
                for group in groups
                for op in group.ops
            }
        )
        PatternRewriteWalker(pattern, apply_recursively=False).rewrite_module(op)

    def settings_for(self, problem: pinn.ProblemOp) -> SteinSettings:
        """K, σ, σ_t for `problem`: pass options, else its pinn.train values, else defaults."""
        train = problem.train
        pairs, sigma, sigma_t = self.pairs, self.sigma, self.sigma_t
        if train is not None:
            where = f"pinn.train of @{problem.sym_name.data}:"
            _check_settings(train.get("pairs"), train.get("sigma"), train.get("sigma_t"), where)
            pairs = train.get("pairs") if pairs is None else pairs
            sigma = train.get("sigma") if sigma is None else sigma
            sigma_t = train.get("sigma_t") if sigma_t is None else sigma_t
        pairs = stein.DEFAULT_PAIRS if pairs is None else int(pairs)
        sigma = stein.DEFAULT_SIGMA if sigma is None else float(sigma)
        sigma_t = sigma if sigma_t is None else float(sigma_t)
        return SteinSettings(pairs, sigma, sigma_t)


def _check_settings(pairs, sigma, sigma_t, where: str) -> None:
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


def _first_free_stream(module: Operation) -> int:
    used = [o.stream.value.data for o in module.walk() if isinstance(o, stein.SampleOp)]
    return max(used) + 1 if used else 0


def _domain_of(term: pinn.ResidualOp | pinn.BoundaryOp, problem: pinn.ProblemOp) -> pinn.DomainOp:
    name = term.domain.string_value()
    for dom in problem.ops_of(pinn.DomainOp):
        if dom.sym_name.data == name:
            return dom
    raise PassError(f"the domain @{name} of @{term.sym_name.data} is not defined")


def _describe(op: _Derivative, term: pinn.ResidualOp | pinn.BoundaryOp) -> str:
    """`'pinn.laplacian' of @u in pinn.residual @pde` for messages."""
    return f"'{op.name}' of @{op.network.string_value()} in {term.name} @{term.sym_name.data}"


def _dims_of(op: _Derivative) -> tuple[int, int]:
    if isinstance(op, pinn.PartialOp):
        i = op.dim.value.data
        return i, i + 1
    return op.dim_range()


def _plan_term(
    term: pinn.ResidualOp | pinn.BoundaryOp,
    problem: pinn.ProblemOp,
    settings: SteinSettings,
    first_stream: int,
) -> list[_Group]:
    """Group the term's derivative ops and decide every estimator's σ; raise on a bad op."""
    groups: dict[tuple[str, SSAValue], _Group] = {}
    for op in term.body.walk():
        if isinstance(op, _DERIVATIVES):
            key = (op.network.string_value(), op.input)
            if key not in groups:
                groups[key] = _Group(key[0], key[1], stream=first_stream + len(groups))
            groups[key].ops.append(op)
    if not groups:
        return []
    domain = _domain_of(term, problem)
    for group in groups.values():
        shape = group.x.type.get_shape()
        d = shape[1]
        if d == DYNAMIC_INDEX:
            raise PassError(
                f"{_describe(group.ops[0], term)} needs points with a static "
                "number of coordinates, got ?"
            )
        has_time = domain.has_time and d == domain.num_coords
        group.sigma_t = settings.sigma_t if has_time else None
        for op in group.ops:
            lo, hi = _dims_of(op)
            group.estimates[op] = (lo, hi), _estimator_sigma(op, term, lo, hi, d, group, settings)
    return list(groups.values())


def _estimator_sigma(
    op: _Derivative,
    term: pinn.ResidualOp | pinn.BoundaryOp,
    lo: int,
    hi: int,
    d: int,
    group: _Group,
    settings: SteinSettings,
) -> float:
    """The σ the coordinates [lo, hi) were drawn with; a space/time mix needs σ_t = σ."""
    if group.sigma_t is None or hi < d:
        return settings.sigma
    if lo == d - 1:
        return group.sigma_t
    if group.sigma_t == settings.sigma:
        return settings.sigma
    raise PassError(
        f"{_describe(op, term)} covers dims {lo} to {hi}, both space (sampled "
        f"with sigma {settings.sigma}) and time, coordinate {d - 1} (sampled with sigma_t "
        f"{group.sigma_t}); one estimator needs one sigma: set sigma-t equal to sigma "
        f"(stein-expand{{sigma-t={settings.sigma}}} or sigma_t in pinn.train), or split the "
        f"range into dims {lo} to {d - 1} and dims {d - 1} to {d}"
    )


def _anchor(op: Operation, block: Block) -> Operation:
    """The ancestor of `op` (or `op` itself) that lives in `block`."""
    found = block.find_ancestor_op_in_block(op)
    assert found is not None, "a derivative op outside the block of its points"
    return found


def _block_of(value: SSAValue) -> Block:
    if isinstance(value, BlockArgument):
        return value.block
    block = value.owner.parent_block()
    assert block is not None
    return block


def _rng_key(
    term: pinn.ResidualOp | pinn.BoundaryOp, first: Operation, rewriter: PatternRewriter
) -> pinn.RngKeyOp:
    """The term's rng key, placed before `first` (an op of the term's body block)."""
    block = term.body.block
    key = next((o for o in block.ops if isinstance(o, pinn.RngKeyOp)), None)
    if key is None:
        key = pinn.RngKeyOp()
        key.seed.name_hint, key.step.name_hint = "seed", "step"
        rewriter.insert(key, InsertPoint.before(first))
    elif not key.is_before_in_block(first):
        key.detach()  # pure and operand-free: moving it up keeps its uses dominated
        rewriter.insert(key, InsertPoint.before(first))
    return key


class _ExpandDerivative(RewritePattern):
    """One derivative op -> its estimator on its group's sample set, built on first use."""

    def __init__(
        self, plan: dict[Operation, tuple[pinn.ResidualOp | pinn.BoundaryOp, _Group, SteinSettings]]
    ):
        self.plan = plan

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        planned = self.plan.get(op)
        if planned is None:
            return
        term, group, settings = planned
        if group.values is None:
            group.values = _build_sample_set(term, group, settings, rewriter)
        g, delta = group.values
        dims, sigma = group.estimates[op]
        estimator = stein.LaplacianOp if isinstance(op, pinn.LaplacianOp) else stein.GradOp
        new = estimator(g, delta, sigma, dims, result_type=op.output.type)
        rewriter.replace(op, new)


def _build_sample_set(
    term: pinn.ResidualOp | pinn.BoundaryOp,
    group: _Group,
    settings: SteinSettings,
    rewriter: PatternRewriter,
) -> tuple[SSAValue, SSAValue]:
    """sample, perturb and eval before the group's first derivative; returns (g, δ)."""
    body = term.body.block
    key = _rng_key(term, _anchor(next(iter(group.ops)), body), rewriter)
    k, x = settings.pairs, group.x
    n = x.type.get_shape()[0]
    sample = stein.SampleOp(x, key.seed, key.step, k, settings.sigma, group.stream, group.sigma_t)
    batch = stein.PerturbOp(x, sample.delta)
    g = pinn.EvalOp(group.network, batch.batch, TensorType(f32, [n, 2 * k + 1, 1]))
    sample.delta.name_hint, batch.batch.name_hint, g.output.name_hint = "delta", "batch", "g"
    anchor = _anchor(group.ops[0], _block_of(x))
    rewriter.insert([sample, batch, g], InsertPoint.before(anchor))
    return g.output, sample.delta
