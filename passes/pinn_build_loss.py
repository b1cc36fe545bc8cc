"""Pass `pinn-build-loss`: turn a problem into functions over tensors.

Builds, next to the `pinn.problem` (which stays, as the description of domains, parameter
inits, loss terms and training configuration):

  func.func @loss(params..., points of each term..., seed, step) -> (loss, term losses...)
  func.func @predict(params..., x) -> u        the network
  func.func @exact(x) -> u                     the exact solution, if the problem has one

The parameter arguments are the parameters some network uses (`trained_params`; a matrix
kept only as the source of its TT cores' `tt_svd` init is not one). Networks are inlined
wherever they are evaluated, each layer by its lowering in
`pintac.passes.layer_lowerings` (`pinn.dense` becomes `train.gemm role fwd` plus
`train.bias_add` on the parameter arguments); a batch with extra leading dims (Stein's
perturbed batch) is flattened to rows and back.

Derivative ops (`pinn.grad`, `pinn.laplacian`, `pinn.partial`) are evaluated by the
derivative strategy the option `derivatives` names (`pintac.passes.derivative_strategies`:
`stein`, `taylor`, `stde`), else the one the problem's `pinn.train` chooses (`derivatives`),
once per group of ops of a term on one network at the same points; `samples` is stde's number
of random directions per point (else the problem's `samples`). Without a strategy they must
have been rewritten before (by `stein-expand`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import TensorType, i64
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint

from pintac.core.errors import PassError
from pintac.dialects import pinn, stein, train
from pintac.passes.derivative_strategies import (
    DERIVATIVE_OPS,
    DerivativeStrategy,
    Term,
    chosen_strategy,
    first_free_stream,
    group_derivatives,
    strategy_named,
)
from pintac.passes.layer_lowerings import (
    LAYER_LOWERINGS,
    Jet,
    lower_jets,
    lower_streams,
    names_parameters,
)
from pintac.runtime.init import trained_params


class _FunctionBody:
    """Fills one function body: clones problem ops into it, inlines networks and evaluates
    derivative ops by a strategy (`pintac.passes.derivative_strategies.FunctionBody`)."""

    def __init__(
        self,
        block: Block,
        params: dict[str, SSAValue],
        networks: dict[str, pinn.NetworkOp],
        rng_key: tuple[SSAValue, SSAValue] | None = None,
        strategy: DerivativeStrategy | None = None,
        problem: pinn.ProblemOp | None = None,
        first_stream: int = 0,
        samples: int | None = None,
    ):
        self.builder = Builder(InsertPoint.at_end(block))
        self.params = params
        self.networks = networks
        self.rng_key = rng_key
        self.strategy = strategy
        self.problem = problem
        self.stream = first_stream
        self.samples = samples
        self.term: Term | None = None
        # The evaluated derivatives of the term being cloned, by op (filled group by group).
        self.derivatives: dict[Operation, SSAValue] = {}

    def add(self, op: Operation) -> Operation:
        return self.builder.insert(op)

    def next_stream(self) -> int:
        """A random stream no other sample set of the module uses."""
        self.stream += 1
        return self.stream - 1

    def clone_term(self, term: Term, x: SSAValue) -> SSAValue:
        """Clone a loss term's body at the points `x`; returns its residual."""
        self.term, self.derivatives = term, {}
        (r,) = self.clone_region(term.body, [x])
        self.term = None
        return r

    def clone_region(self, region: Region, args: list[SSAValue]) -> list[SSAValue]:
        """Clone a term/exact body with its argument bound to `args`; returns what it yields."""
        mapper: dict[SSAValue, SSAValue] = dict(zip(region.block.args, args, strict=True))
        for op in region.block.ops:
            if isinstance(op, pinn.YieldOp):
                return [mapper[v] for v in op.values]
            self.lower(op, mapper)
        raise AssertionError("verified regions end in pinn.yield")

    def lower(self, op: Operation, mapper: dict[SSAValue, SSAValue]) -> None:
        if isinstance(op, pinn.EvalOp):
            value = self.inline_network(op.network.string_value(), mapper[op.input])
            if isinstance(value.owner, train.UnflattenOp):
                value.name_hint = op.output.name_hint
            mapper[op.output] = value
        elif isinstance(op, stein.EvalStreamsOp):
            base, diff = self.inline_streams(
                op.network.string_value(), mapper[op.base], mapper[op.differences]
            )
            base.name_hint = op.base_out.name_hint
            diff.name_hint = op.differences_out.name_hint
            mapper[op.base_out], mapper[op.differences_out] = base, diff
        elif isinstance(op, pinn.RngKeyOp):
            if self.rng_key is None:
                raise PassError(
                    "pinn.rng_key is only meaningful in the loss of a training step", op
                )
            mapper[op.seed], mapper[op.step] = self.rng_key
        elif isinstance(op, DERIVATIVE_OPS):
            mapper[op.output] = self.derivative(op, mapper)
        else:
            self.add(op.clone(value_mapper=mapper))

    def derivative(self, op: Operation, mapper: dict[SSAValue, SSAValue]) -> SSAValue:
        """The value of a derivative op: its group evaluated by the strategy on first use."""
        if self.strategy is None or self.term is None:
            raise PassError(
                f"'{op.name} @{op.network.string_value()}' has no lowering here: derivatives "
                "must be expanded first (run stein-expand before pinn-build-loss)",
                op,
            )
        if op not in self.derivatives:
            group = next(g for g in group_derivatives(self.term) if op in g.ops)
            values = self.strategy.evaluate(self, self.problem, self.term, group, mapper[group.x])
            for derivative, value in values.items():
                value.name_hint = derivative.output.name_hint
            self.derivatives.update(values)
        return self.derivatives[op]

    def inline_network(self, name: str, x: SSAValue) -> SSAValue:
        net = self.networks[name]
        rows = x
        if len(x.type.get_shape()) > 2:  # a batch of batches: evaluate it as rows
            rows = self.add(train.FlattenOp(x)).output
            rows.name_hint = "rows"
        mapper: dict[SSAValue, SSAValue] = {net.body.block.args[0]: rows}
        out: SSAValue | None = None
        for op in net.body.block.ops:
            if isinstance(op, pinn.ReturnOp):
                out = mapper[op.values[0]]
            elif (lowering := LAYER_LOWERINGS.get(type(op))) is not None:
                operands = [mapper[o] for o in op.operands]
                for result, value in zip(
                    op.results, lowering(self.builder, op, operands, self.params), strict=True
                ):
                    mapper[result] = value
            elif names_parameters(op):
                raise PassError(f"'{op.name}' in @{name} has no layer lowering", op)
            else:
                self.add(op.clone(value_mapper=mapper))
        assert out is not None
        if rows is not x:
            out = self.add(train.UnflattenOp(out, x)).output
        return out

    def inline_streams(self, name: str, x: SSAValue, d: SSAValue) -> tuple[SSAValue, SSAValue]:
        """The network on DiffQuant's streams: its value at x (N x 1) and its differences
        u(x + d_m) − u(x) on the streams d (N x M x D -> N x M x 1), each layer by its
        difference lowering."""
        return self._inline_with_companion(name, x, d, lower_streams)

    def inline_jets(self, name: str, x: SSAValue, jet: Jet) -> tuple[SSAValue, Jet]:
        """The network in Taylor mode: its value at x (N x 1) and its jet along the
        directions of the input jet (N x D x 1 coefficients), each layer by its jet
        lowering."""
        return self._inline_with_companion(name, x, jet, lower_jets)

    def _inline_with_companion(self, name: str, x: SSAValue, companion: Any, lower):
        """Inline the network carrying, besides each value, a companion (difference streams,
        a jet) that `lower` maps layer by layer; returns the output's value and companion."""
        net = self.networks[name]
        arg = net.body.block.args[0]
        values: dict[SSAValue, SSAValue] = {arg: x}
        companions: dict[SSAValue, Any] = {arg: companion}
        for op in net.body.block.ops:
            if isinstance(op, pinn.ReturnOp):
                (out,) = op.values
                if companions.get(out) is None:
                    raise PassError(f"@{name} does not depend on its input", op)
                return values[out], companions[out]
            outs, out_companions = lower(
                self.builder,
                op,
                [values[o] for o in op.operands],
                [companions.get(o) for o in op.operands],
                self.params,
            )
            for result, v, c in zip(op.results, outs, out_companions, strict=True):
                values[result], companions[result] = v, c
        raise AssertionError("verified networks end in pinn.return")


@dataclass(frozen=True)
class PinnBuildLossPass(ModulePass):
    """Inline networks and evaluate derivatives: build @loss, @predict and @exact functions."""

    name = "pinn-build-loss"

    derivatives: str | None = None
    samples: int | None = None

    def __post_init__(self) -> None:
        # Checked when the pass is made, so a bad option fails before any pass runs.
        if self.derivatives is not None:
            strategy_named(self.derivatives)
        if self.samples is not None and self.derivatives != "stde":
            raise PassError("samples is an option of derivatives=stde (the random directions)")
        if self.samples is not None and not (isinstance(self.samples, int) and self.samples >= 1):
            raise PassError(f"samples must be an integer >= 1, got {self.samples}")

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        problems = [p for p in op.ops if isinstance(p, pinn.ProblemOp)]
        if len(problems) != 1:
            raise PassError(
                f"expects exactly one pinn.problem in the module, found {len(problems)}"
            )
        problem = problems[0]
        existing = {f.sym_name.data for f in op.ops if isinstance(f, func.FuncOp)}
        if clash := existing & {"loss", "predict", "exact"}:
            raise PassError(f"the module already has @{sorted(clash)[0]}: was the pass run twice?")
        params = trained_params(problem)  # not a parameter only serving as an init's source
        networks = {n.sym_name.data: n for n in problem.ops_of(pinn.NetworkOp)}
        loss = self._loss(problem, params, networks, first_free_stream(op))
        for f in (loss, self._predict(problem, params, networks)):
            op.body.block.add_op(f)
        if (exact := problem.exact) is not None:
            op.body.block.add_op(self._exact(exact))

    @staticmethod
    def _param_block(params, extra_types) -> tuple[Block, dict[str, SSAValue]]:
        block = Block(arg_types=[p.type for p in params] + list(extra_types))
        by_name = {}
        for p, arg in zip(params, block.args, strict=False):
            arg.name_hint = p.sym_name.data
            by_name[p.sym_name.data] = arg
        return block, by_name

    def _loss(self, problem, params, networks, first_stream: int) -> func.FuncOp:
        terms = problem.terms
        point_types = [t.body.block.args[0].type for t in terms]
        block, by_name = self._param_block(params, [*point_types, i64, i64])
        points = block.args[len(params) : len(params) + len(terms)]
        for t, arg in zip(terms, points, strict=True):
            arg.name_hint = f"x_{t.sym_name.data}"
        seed, step = block.args[-2], block.args[-1]
        seed.name_hint, step.name_hint = "seed", "step"
        strategy, samples = self._strategy(problem)
        b = _FunctionBody(
            block, by_name, networks, (seed, step), strategy, problem, first_stream, samples
        )
        term_losses = []
        for t, x in zip(terms, points, strict=True):
            r = b.clone_term(t, x)
            loss = b.add(train.MeanSquareOp(r)).output
            loss.name_hint = f"loss_{t.sym_name.data}"
            term_losses.append(loss)
        weights = [t.weight.value.data for t in terms]
        total = b.add(train.WeightedSumOp(term_losses, weights)).output
        total.name_hint = "loss"
        results = [total, *term_losses]
        b.add(func.ReturnOp(*results))
        roles = [f"param:{p.sym_name.data}" for p in params]
        roles += [f"points:{t.sym_name.data}" for t in terms] + ["seed", "step"]
        res_roles = ["loss"] + [f"term:{t.sym_name.data}" for t in terms]
        return func.FuncOp(
            "loss",
            (block.arg_types, [r.type for r in results]),
            Region(block),
            arg_attrs=train.role_attrs(roles),
            res_attrs=train.role_attrs(res_roles),
        )

    def _strategy(self, problem: pinn.ProblemOp) -> tuple[DerivativeStrategy | None, int | None]:
        """The derivative strategy and stde samples: the options, else the problem's choice."""
        chosen = chosen_strategy(problem)
        if self.derivatives is not None:
            return strategy_named(self.derivatives), self.samples
        if chosen is None:
            return None, None
        train_op = problem.train
        assert train_op is not None, "a chosen strategy is a pinn.train option"
        return strategy_named(chosen), train_op.get("samples")

    def _predict(self, problem, params, networks) -> func.FuncOp:
        if len(networks) != 1:
            raise PassError(f"expects one pinn.network to predict with, found {len(networks)}")
        (net,) = networks.values()
        block, by_name = self._param_block(params, [net.input_type])
        x = block.args[-1]
        x.name_hint = "x"
        b = _FunctionBody(block, by_name, networks)
        u = b.inline_network(net.sym_name.data, x)
        b.add(func.ReturnOp(u))
        return func.FuncOp(
            "predict",
            (block.arg_types, [u.type]),
            Region(block),
            arg_attrs=train.role_attrs([f"param:{p.sym_name.data}" for p in params] + ["x"]),
            res_attrs=train.role_attrs(["u"]),
        )

    def _exact(self, exact: pinn.ExactOp) -> func.FuncOp:
        x_type: TensorType = exact.body.block.args[0].type
        block = Block(arg_types=[x_type])
        block.args[0].name_hint = "x"
        b = _FunctionBody(block, {}, {})
        (u,) = b.clone_region(exact.body, [block.args[0]])
        b.add(func.ReturnOp(u))
        return func.FuncOp(
            "exact",
            ([x_type], [u.type]),
            Region(block),
            arg_attrs=train.role_attrs(["x"]),
            res_attrs=train.role_attrs(["u"]),
        )
