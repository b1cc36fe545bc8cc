"""Pass `stein-expand`: derivative ops of a network -> Stein's estimators on one shared sample set.

Problem-level IR in, problem-level IR out: inside every `pinn.residual` / `pinn.boundary` of
every `pinn.problem`, the derivative ops (`pinn.grad`, `pinn.laplacian`, `pinn.partial`) become
`stein` estimators of the Gaussian-smoothed network (docs/dialects/stein.md): the `stein`
derivative strategy of `pintac.passes.derivative_strategies`, applied at the problem level.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.ir import Block, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern
from xdsl.rewriter import InsertPoint

from pintac.core.errors import PassError
from pintac.dialects import pinn, stein
from pintac.passes.derivative_strategies import (
    SteinGroup,
    SteinSettings,
    Term,
    check_stein_settings,
    chooses_other_than_stein,
    first_free_stream,
    plan_stein,
    stein_batch_values_type,
    stein_estimator,
    stein_sample_set,
    stein_settings,
)


@dataclass
class _SampleSet:
    """A group's sample set in the IR: its stream, and (g, δ) once built."""

    plan: SteinGroup
    stream: int
    values: tuple[SSAValue, SSAValue] | None = None


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

    A problem whose `pinn.train` chooses another derivative strategy (`derivatives =
    "taylor"` or `"stde"`) is left as it is: `pinn-build-loss` evaluates its derivative ops
    by that strategy. An unknown strategy name is an error.

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
        check_stein_settings(self.pairs, self.sigma, self.sigma_t, "option")

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        check_stein_settings(self.pairs, self.sigma, self.sigma_t, "option")
        stream = first_free_stream(op)
        planned: dict[Operation, tuple[Term, _SampleSet, SteinSettings]] = {}
        # Plan everything first: a bad op fails the pass before the IR is touched.
        for problem in [o for o in op.walk() if isinstance(o, pinn.ProblemOp)]:
            if chooses_other_than_stein(problem):
                continue  # its derivatives are pinn-build-loss's, by the problem's strategy
            settings = self.settings_for(problem)
            for term in problem.terms:
                for plan in plan_stein(term, problem, settings):
                    sample_set = _SampleSet(plan, stream)
                    stream += 1
                    planned.update((o, (term, sample_set, settings)) for o in plan.group.ops)
        if stream - 1 > stein.MAX_STREAM:
            raise PassError(f"more than 2^32 sample streams ({stream})")
        PatternRewriteWalker(_ExpandDerivative(planned), apply_recursively=False).rewrite_module(op)

    def settings_for(self, problem: pinn.ProblemOp) -> SteinSettings:
        """K, σ, σ_t for `problem`: pass options, else its pinn.train values, else defaults."""
        return stein_settings(problem, self.pairs, self.sigma, self.sigma_t)


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


def _rng_key(term: Term, first: Operation, rewriter: PatternRewriter) -> pinn.RngKeyOp:
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

    def __init__(self, plan: dict[Operation, tuple[Term, _SampleSet, SteinSettings]]):
        self.plan = plan

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        planned = self.plan.get(op)
        if planned is None:
            return
        term, sample_set, settings = planned
        if sample_set.values is None:
            sample_set.values = _build_sample_set(term, sample_set, settings, rewriter)
        g, delta = sample_set.values
        rewriter.replace(op, stein_estimator(op, sample_set.plan, g, delta))


def _build_sample_set(
    term: Term, sample_set: _SampleSet, settings: SteinSettings, rewriter: PatternRewriter
) -> tuple[SSAValue, SSAValue]:
    """sample, perturb and eval before the group's first derivative; returns (g, δ)."""
    group = sample_set.plan.group
    key = _rng_key(term, _anchor(group.ops[0], term.body.block), rewriter)
    x = group.x
    sample, batch = stein_sample_set(
        sample_set.plan, x, (key.seed, key.step), sample_set.stream, settings
    )
    g = pinn.EvalOp(group.network, batch.batch, stein_batch_values_type(x, settings))
    g.output.name_hint = "g"
    anchor = _anchor(group.ops[0], _block_of(x))
    rewriter.insert([sample, batch, g], InsertPoint.before(anchor))
    return g.output, sample.delta
