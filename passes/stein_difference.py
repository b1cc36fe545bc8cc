"""Pass `stein-difference`: difference-based quantization (DiffQuant) of Stein's estimator.

Problem-level IR in, problem-level IR out, after `stein-expand`. A network evaluated on a
perturbed batch,

    %batch = stein.perturb %x, %delta
    %g = pinn.eval @u(%batch)                          // g(x), g(x+δ_k), g(x−δ_k)
    %lap = stein.laplacian %g, %delta ...

becomes an evaluation on the base stream x and the difference streams ±δ,

    %d0 = stein.difference_streams %delta               // +δ_k, then −δ_k
    %gb, %gd = stein.eval_streams @u(%x, %d0)           // g(x), g(x±δ_k) − g(x)
    %lap = stein.laplacian differences %gd, %delta ...

and every estimator reading `%g` switches to its difference form (`stein.center` becomes the
base output itself). `pinn-build-loss` then evaluates the network on both streams with each
layer's difference lowering: a linear layer acts on the differences alone (W(h + d) − Wh =
Wd), a nonlinearity gives φ(z_b + z_d) − φ(z_b). Each stream is its own tensor, so
`smx-quantize` quantizes each in its own tiles and a σ-sized perturbation is never rounded
away against the base values. In f32 the rewritten step equals the plain one up to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint

from pintac.core.errors import PassError
from pintac.dialects import pinn, stein
from pintac.passes.derivative_strategies import chosen_strategy


class _EvalOnPerturbedBatch(RewritePattern):
    """`pinn.eval @u(stein.perturb %x, %delta)` and its estimators -> the streams' forms."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: pinn.EvalOp, rewriter: PatternRewriter) -> None:
        batch = op.input.owner
        if not isinstance(batch, stein.PerturbOp):
            return
        uses = [use.operation for use in op.output.uses]
        for user in uses:
            if not isinstance(user, _READERS) or user.operands[0] is not op.output:
                raise PassError(
                    f"'{user.name}' reads the network values of a perturbed batch; under "
                    "DiffQuant only Stein's estimators may read them",
                    user,
                )
        d0 = stein.DifferenceStreamsOp(batch.delta)
        streams = stein.EvalStreamsOp(op.network.string_value(), batch.x, d0.streams)
        d0.streams.name_hint = "d0"
        streams.base_out.name_hint, streams.differences_out.name_hint = "gb", "gd"
        rewriter.insert([d0, streams], InsertPoint.before(op))
        gb, gd = streams.base_out, streams.differences_out
        for user in uses:
            _rewrite_reader(user, gb, gd, rewriter)
        rewriter.erase(op)
        if not batch.batch.uses:
            rewriter.erase(batch)


_READERS = (stein.GradOp, stein.LaplacianOp, stein.CenterOp, stein.SmoothedOp)


def _rewrite_reader(op: Operation, gb, gd, rewriter: PatternRewriter) -> None:
    """One estimator of the values -> its difference form on `gd` (the base output: `gb`)."""
    if isinstance(op, stein.CenterOp):
        rewriter.replace(op, [], [gb])
        return
    if isinstance(op, stein.SmoothedOp):
        new = stein.SmoothedOp(gd, base=gb)
    else:
        new = type(op)(
            gd,
            op.delta,
            op.sigma.value.data,
            op.dims,
            differences=True,
            result_type=op.result.type,
        )
    new.results[0].name_hint = op.results[0].name_hint
    rewriter.replace(op, new)


@dataclass(frozen=True)
class SteinDifferencePass(ModulePass):
    """DiffQuant: evaluate networks on perturbed batches as base and difference streams."""

    name = "stein-difference"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for problem in op.ops:
            if not isinstance(problem, pinn.ProblemOp):
                continue
            chosen = chosen_strategy(problem)
            if chosen not in (None, "stein"):
                raise PassError(
                    f'@{problem.sym_name.data} chooses derivatives = "{chosen}" (pinn.train): '
                    "stein-difference (DiffQuant) rewrites Stein's perturbed batches and has "
                    "none to rewrite; use a pipeline without it (fp32, fp32-tt, smx-naive) or "
                    'derivatives = "stein"',
                    problem.train,
                )
        for o in op.walk():
            if isinstance(o, pinn.GradOp | pinn.LaplacianOp | pinn.PartialOp):
                raise PassError(
                    f"'{o.name}' is not expanded yet: run stein-expand before stein-difference", o
                )
        PatternRewriteWalker(_EvalOnPerturbedBatch(), apply_recursively=False).rewrite_module(op)
