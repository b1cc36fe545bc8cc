"""Pass `tt-partial-reconstruct`: partial reconstruction (PRS) of TT layers, and the cost report.

Problem-level IR in, problem-level IR out, after `tt-compress`. Each `tt.linear` gets a
grouping of its d cores into g consecutive groups (`groups [2, 1]`): the layer lowering
merges each group into a super-core once per step, on the weight side, so an activation goes
through g contractions (g GEMMs, each quantized once under SMX) instead of d. g = 1
reconstructs the dense matrix; g = d merges nothing.

Which grouping: the cheapest by the contraction cost model (`pintac.runtime.tt`,
`plan_contraction`) at the problem's batch: the rows one evaluation of the residual's
perturbed batch has, B (2K + 1) with B the first `pinn.residual` term's batch size and K the
Stein pairs (from `pinn.train`; defaults 100 and 512). With `groups=g` the cheapest of the
groupings into g groups; with `groups=0` (the default) the cheapest of all, g included. A
layer with fewer than g cores keeps one group per core. `order=auto` (the default) also lets
the model choose the contraction order (`ltr` or `rtl`; ties go to `ltr`).

`tt_report(module)` renders the per-layer table of parameters, compression and MACs per row
of a problem (compiled or not), from the same cost model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from pintac.core.errors import PassError
from pintac.core.stein import DEFAULT_PAIRS
from pintac.dialects import pinn, tt
from pintac.runtime import tt as tt_numerics

ORDER_CHOICES = ("auto", "ltr", "rtl")


def cost_model_rows(problem: pinn.ProblemOp) -> int:
    """The rows the cost model weighs a layer at: B (2K + 1), one evaluation of the first
    residual term's perturbed batch (B its batch size, K the Stein pairs)."""
    train = problem.train
    config = {} if train is None else {k: train.get(k) for k in ("batch", "pairs")}
    pairs = int(config.get("pairs") or DEFAULT_PAIRS)
    batches = config.get("batch") or {}
    residuals = [t for t in problem.terms if isinstance(t, pinn.ResidualOp)] or problem.terms
    name = residuals[0].sym_name.data if residuals else None
    batch = int(batches.get(name, pinn.DEFAULT_BATCH)) if name is not None else pinn.DEFAULT_BATCH
    return batch * (2 * pairs + 1)


def tt_layer_shape(op: tt.LinearOp) -> tt.TTMatrixShape:
    """The chain shape of a verified `tt.linear` inside a problem."""
    return tt.TTMatrixShape.from_core_shapes(
        [tuple(t.get_shape()) for t in op.core_types()]  # verified: every core resolves
    )


def layer_plan(op: tt.LinearOp, rows: int) -> tt_numerics.ContractionPlan:
    """The cost of `op` with its grouping and order for `rows` rows."""
    shape = tt_layer_shape(op)
    return tt_numerics.contraction_cost(
        (shape.in_factors, shape.out_factors),
        shape.ranks,
        rows,
        op.group_sizes,
        op.contraction_order.value,
    )


@dataclass(frozen=True)
class TTPartialReconstructPass(ModulePass):
    """Group TT cores into super-cores merged once per step (PRS), chosen by the cost model."""

    name = "tt-partial-reconstruct"

    groups: int = 0
    order: str = "auto"

    def __post_init__(self) -> None:
        if self.groups < 0:
            raise ValueError(f"groups must be >= 0 (0: the cost model chooses), got {self.groups}")
        if self.order not in ORDER_CHOICES:
            raise ValueError(f"order must be auto, ltr or rtl, got {self.order!r}")

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        problems = [p for p in op.ops if isinstance(p, pinn.ProblemOp)]
        layers = [(p, o) for p in problems for o in p.walk() if isinstance(o, tt.LinearOp)]
        if not layers:
            raise PassError(
                "tt-partial-reconstruct found no tt.linear layer (run tt-compress before it)"
            )
        for problem, layer in layers:
            rows = cost_model_rows(problem)
            shape = tt_layer_shape(layer)
            d = len(shape.in_factors)
            plan = tt_numerics.plan_contraction(
                (shape.in_factors, shape.out_factors),
                shape.ranks,
                rows,
                order=None if self.order == "auto" else self.order,
                num_groups=min(self.groups, d) if self.groups else None,
            )
            layer.set_grouping(plan.groups, plan.order)


# ---------------------------------------------------------------- the cost report


@dataclass(frozen=True)
class LayerCost:
    """One layer of a network: its weight's parameters and its forward MACs."""

    network: str
    layer: str
    kind: str  # "dense" or "tt"
    in_width: int
    out_width: int
    params: int  # weight entries (the cores of a TT layer), bias excluded
    bias: int
    macs_per_row: int  # forward MACs per row of activations (contractions of a TT layer)
    merge_macs: int = 0  # forward MACs of the merges, once per step
    in_factors: tuple[int, ...] = ()
    out_factors: tuple[int, ...] = ()
    ranks: tuple[int, ...] = ()
    groups: tuple[int, ...] = ()
    order: str = ""

    @property
    def dense_params(self) -> int:
        return self.in_width * self.out_width

    @property
    def dense_macs_per_row(self) -> int:
        return self.in_width * self.out_width

    @property
    def compression(self) -> float:
        """Dense weight entries per stored entry."""
        return self.dense_params / self.params


def _param_size(layer: Operation, ref) -> int:
    if ref is None:
        return 0
    t = tt.lookup_param_type(layer, ref)
    return math.prod(t.get_shape()) if t is not None else 0


def layer_costs(module: builtin.ModuleOp) -> list[LayerCost]:
    """Every dense and TT layer of every network of the module's problems, in program order;
    a TT layer costed with its grouping and order (`pinn.dense` and `tt.linear` only)."""
    out = []
    for problem in [p for p in module.ops if isinstance(p, pinn.ProblemOp)]:
        for network in problem.ops_of(pinn.NetworkOp):
            for index, op in enumerate(network.body.block.ops):
                label = op.results[0].name_hint if op.results else None
                label = label or f"#{index}"
                net = network.sym_name.data
                if isinstance(op, pinn.DenseOp):
                    n, m = tt.lookup_param_type(op, op.weight).get_shape()
                    bias = _param_size(op, op.bias)
                    out.append(LayerCost(net, label, "dense", n, m, n * m, bias, n * m))
                elif isinstance(op, tt.LinearOp):
                    plan = layer_plan(op, 1)
                    out.append(
                        LayerCost(
                            net,
                            label,
                            "tt",
                            plan.in_width,
                            plan.out_width,
                            plan.params,
                            _param_size(op, op.bias),
                            plan.total_contract_macs,
                            plan.total_merge_macs,
                            plan.in_factors,
                            plan.out_factors,
                            plan.ranks,
                            plan.groups,
                            plan.order,
                        )
                    )
    return out


def _ints(values) -> str:
    return ",".join(map(str, values)) if values else "-"


def tt_report(module: builtin.ModuleOp) -> str:
    """The per-layer table: weight parameters, compression against the dense layer, MACs per
    row of the forward pass (the chosen grouping's contractions against the dense product)
    and the merge MACs per step; then the network's totals, biases included."""
    costs = layer_costs(module)
    header = (
        "layer",
        "kind",
        "shape",
        "in modes",
        "out modes",
        "ranks",
        "groups",
        "order",
        "params",
        "compression",
        "MACs/row",
        "dense MACs/row",
        "merge MACs/step",
    )
    rows = [header]
    for c in costs:
        rows.append(
            (
                f"@{c.network} {c.layer}",
                c.kind,
                f"{c.in_width}x{c.out_width}",
                _ints(c.in_factors),
                _ints(c.out_factors),
                _ints(c.ranks),
                _ints(c.groups),
                c.order or "-",
                f"{c.params:,}",
                f"{c.compression:.1f}x",
                f"{c.macs_per_row:,}",
                f"{c.dense_macs_per_row:,}",
                f"{c.merge_macs:,}",
            )
        )
    params = sum(c.params + c.bias for c in costs)
    dense = sum(c.dense_params + c.bias for c in costs)
    macs = sum(c.macs_per_row for c in costs)
    dense_macs = sum(c.dense_macs_per_row for c in costs)
    rows.append(
        (
            "total (with biases)",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            f"{params:,}",
            f"{dense / params:.1f}x" if params else "-",
            f"{macs:,}",
            f"{dense_macs:,}",
            f"{sum(c.merge_macs for c in costs):,}",
        )
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines) + "\n"
