"""Pass `tile-points`: a training step as a loop over tiles of points (`tile.loop`).

A collocation point's residual depends only on its own evaluations, and a loss term is a mean
over its points, so the seed of the backward pass is local to the point too: forward,
residual and backward up to the parameter gradients decompose over tiles of points. This pass
sorts the ops of `@train_step` into

- the weight side, computed once before the loops (quantized weights, merged TT cores,
  constants): ops that read no points;
- one `tile.loop` per loss term, over its batch, holding every op that reads the term's points
  (directly or through other such ops). The reductions over the points become accumulations
  carried from tile to tile: a GEMM reducing over the points (a weight gradient) accumulates
  its products exactly (`tile.accumulate_gemm` into `!tile.exact`), a bias gradient runs its
  column sum on (`tile.accumulate_rows`); per-point values read after the loop (the residuals
  the loss averages) are gathered;
- what comes after: the accumulators rounded once (`tile.round`), the loss, the update.

Ops that depend on a point's position in the batch get it from the loop: the RNG draws of
Stein samples and of stochastic rounding are made by global index (`at %first`), and the
gradient of a mean divides by the whole batch (`over %n`). So under the arithmetic contract
the tiled step equals the untiled one bit for bit, for every admissible tile: one whose rows
are a whole number of block rows in every tensor the body quantizes.

Options: `points=N` (points per tile; a multiple of the quantized tensors' block rows per
point), or, without it, `bytes=B`: the largest admissible tile whose per-point values take at
most B bytes (a bound of the body's working set). A step tiled already is left as it is;
`optional=true` leaves a step that cannot be tiled untiled instead of failing (the NumPy
targets' own tiling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import DYNAMIC_INDEX, IntegerAttr, i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from pintac.core.errors import PassError
from pintac.dialects import smx, stein, tile, train
from pintac.passes.pinta.shapes import concrete_shapes, declared_shape

DEFAULT_TILE_BYTES = 128 << 20


@dataclass
class _Term:
    """The ops of one loss term's loop and what crosses its boundary."""

    points: SSAValue
    name: str
    ops: list[Operation] = field(default_factory=list)
    accumulated: list[Operation] = field(default_factory=list)  # wgrad GEMMs, column sums
    gathered: list[SSAValue] = field(default_factory=list)


def _is_batch(value: SSAValue) -> bool:
    return declared_shape(value)[:1] == (DYNAMIC_INDEX,)


def _moves_points(op: Operation) -> bool:
    """A permute whose result rows are not the rows of its operand's points in order: it
    moves the batch axis, so a tile's result is not the tile of the whole's."""
    if not isinstance(op, train.PermuteOp):
        return False
    return op.shape_values[0] != -1 or op.perm_values[0] != 0


class _Tiler:
    def __init__(self, f: func.FuncOp, pass_: TilePointsPass):
        self.f = f
        self.options = pass_
        roles = train.arg_roles(f)
        self.terms: dict[SSAValue, _Term] = {}
        for arg, role in zip(f.args, roles, strict=True):
            kind, _, name = role.partition(":")
            if kind == "points":
                self.terms[arg] = _Term(arg, name)
        names = [t.name for t in self.terms.values()]
        one = concrete_shapes(f, dict.fromkeys(names, 1))
        two = concrete_shapes(f, dict.fromkeys(names, 2))
        # rows per point of each value with a batch dimension (0: a broadcast constant)
        self.rows_per_point = {v: two[v][0] - one[v][0] for v in one if _is_batch(v) and v in two}
        self.term_of: dict[SSAValue, _Term] = dict(self.terms)
        self.after: set[SSAValue] = set()  # values that need a sum over all points

    # ------------------------------------------------------------------ sorting the ops

    def sort(self) -> tuple[list[Operation], list[Operation]]:
        """(before the loops, after the loops); the loops' ops go to their terms."""
        before: list[Operation] = []
        after: list[Operation] = []
        for op in list(self.f.body.block.ops)[:-1]:
            term = self._term_of_operands(op)
            needs_sums = any(v in self.after for v in op.operands)
            if term is None:
                (after if needs_sums else before).append(op)
                if needs_sums:
                    self.after.update(op.results)
                continue
            if needs_sums:
                raise PassError(
                    f"'{op.name}' reads the points of '{term.name}' and a value summed over "
                    "all of them; a tile cannot compute it",
                    op,
                )
            if self._reduces_over_points(op):
                term.ops.append(op)
                term.accumulated.append(op)
                self.after.update(op.results)
            elif (
                op.results
                and all(self.rows_per_point.get(r, 0) > 0 for r in op.results)
                and not _moves_points(op)
            ):
                term.ops.append(op)
                self.term_of.update(dict.fromkeys(op.results, term))
            elif isinstance(op, train.MeanSquareOp):
                # the loss reads the whole residual: gathered from the tiles, averaged after
                term.gathered.append(op.input)
                after.append(op)
                self.after.update(op.results)
            else:
                raise PassError(
                    f"'{op.name}' combines the points of '{term.name}' in a way tile-points "
                    "cannot split over tiles",
                    op,
                )
        # a per-point value the step returns is gathered from the tiles
        for value in self.f.body.block.last_op.operands:
            term = self.term_of.get(value)
            if term is not None and value not in term.gathered and value is not term.points:
                term.gathered.append(value)
        return before, after

    def _term_of_operands(self, op: Operation) -> _Term | None:
        terms = {id(t): t for v in op.operands if (t := self.term_of.get(v)) is not None}
        if len(terms) > 1:
            names = " and ".join(f"'{t.name}'" for t in terms.values())
            raise PassError(f"'{op.name}' reads the points of {names} together", op)
        return next(iter(terms.values()), None)

    def _reduces_over_points(self, op: Operation) -> bool:
        if isinstance(op, train.GemmOp):
            return op.is_transposed_a and op.lhs in self.term_of
        return isinstance(op, train.ColumnSumOp)

    # ------------------------------------------------------------------ the tile size

    def tile_size(self, term: _Term) -> int:
        """The points per tile of `term`'s loop: the option, checked, or the budget's."""
        unit = 1  # every admissible tile is a multiple of this many points
        for op in term.ops:
            if isinstance(op, smx.QuantizeOp) and op.input in self.rows_per_point:
                block_rows = op.result.type.format.block_shape[0]
                rows = self.rows_per_point[op.input]
                need = block_rows // math.gcd(block_rows, rows)
                if self.options.points is not None and self.options.points % need:
                    raise PassError(
                        f"a tile of {self.options.points} points gives "
                        f"%{op.input.name_hint or 'a tensor'} {self.options.points * rows} "
                        f"rows, not a whole number of its {block_rows}-row blocks; use a "
                        f"multiple of {need} points",
                        op,
                    )
                unit = math.lcm(unit, need)
        if self.options.points is not None:
            return self.options.points
        per_point = sum(
            self.rows_per_point.get(r, 0) * math.prod(declared_shape(r)[1:]) * 4
            for op in term.ops
            for r in op.results
        )
        fits = max(1, self.options.bytes // max(per_point, 1))
        return max(unit, fits // unit * unit)

    # ------------------------------------------------------------------ building the loops

    def build(self) -> None:
        """Tile the step; every check runs before the first change, so a step that cannot
        be tiled is left as it was."""
        before, after = self.sort()
        sizes = {id(t): self.tile_size(t) for t in self.terms.values() if t.ops}
        for term in self.terms.values():
            for op in term.ops:
                _check_draws_by_row(op)
        block = self.f.body.block
        ret = block.last_op
        for op in [*before, *after]:
            op.detach()
        for term in self.terms.values():
            for op in term.ops:
                op.detach()
        for op in before:
            block.insert_op_before(op, ret)
        for term in self.terms.values():
            if term.ops:
                for op in self._loop(term, sizes[id(term)]):
                    block.insert_op_before(op, ret)
        for op in after:
            block.insert_op_before(op, ret)

    def _loop(self, term: _Term, tile_points: int) -> list[Operation]:
        """The ops that run `term`'s tiles: the batch's count, the accumulators' zeros, the
        loop, and the roundings of its exact accumulators."""
        count = tile.RowsOp(term.points)
        count.result.name_hint = f"n_{term.name}"
        zeros = [tile.ZeroOp(_accumulator_type(op)) for op in term.accumulated]
        inits = [z.result for z in zeros]
        body = tile.LoopOp.new_body(term.points, inits)
        loop = tile.LoopOp(
            term.points,
            tile_points,
            inits,
            [v.type for v in term.gathered],
            body,
        )
        first, rows, *carried = body.block.args
        first.name_hint, rows.name_hint = f"first_{term.name}", f"x_{term.name}_tile"
        acc_of = dict(zip(map(id, term.accumulated), carried, strict=True))
        yields: dict[int, SSAValue] = {}
        after: list[Operation] = [count, *zeros, loop]
        for op in term.ops:
            if id(op) not in acc_of:
                body.block.add_op(self._in_tile(op, first, count.result))
            else:
                carried_arg = acc_of[id(op)]
                index = carried.index(carried_arg)
                if isinstance(op, train.GemmOp):
                    step = tile.AccumulateGemmOp(carried_arg, op)
                    body.block.add_op(step)
                    rounded = tile.RoundOp(loop.outputs[index])
                    rounded.result.name_hint = op.result.name_hint
                    after.append(rounded)
                    op.result.replace_all_uses_with(rounded.result)
                else:
                    step = tile.AccumulateRowsOp(carried_arg, op.input)
                    body.block.add_op(step)
                    op.output.replace_all_uses_with(loop.outputs[index])
                    loop.outputs[index].name_hint = op.output.name_hint
                yields[index] = step.result
                op.erase()
        for i, value in enumerate(term.gathered):
            result = loop.outputs[len(carried) + i]
            result.name_hint = value.name_hint
            for use in list(value.uses):
                if use.operation.parent_op() is not loop:
                    use.operation.operands[use.index] = result
        term.points.replace_uses_with_if(rows, lambda use: use.operation.parent_op() is loop)
        body.block.add_op(tile.YieldOp([*(yields[i] for i in range(len(carried))), *term.gathered]))
        for i, (arg, zero) in enumerate(zip(carried, zeros, strict=True)):
            arg.name_hint = f"acc{i}_{term.name}"
            zero.result.name_hint = f"zero{i}_{term.name}"
            yields[i].name_hint = f"acc{i}_{term.name}_next"
            if loop.outputs[i].name_hint is None:
                loop.outputs[i].name_hint = f"sum{i}_{term.name}"
        return after

    def _in_tile(self, op: Operation, first: SSAValue, count: SSAValue) -> Operation:
        """`op` as the body runs it: told its tile's first row where it draws by index,
        and the batch's count where it averages."""
        new: Operation | None = None
        if isinstance(op, stein.SampleOp | train.SampleCoordinatesOp):
            new = _drawn_at(op, first)
        elif isinstance(op, smx.QuantizeOp) and str(op.rounding_mode) == "stochastic":
            per_point = self.rows_per_point[op.input] * math.prod(declared_shape(op.input)[1:])
            new = _quantized_at(op, first, per_point)
        elif isinstance(op, train.MeanSquareGradOp):
            new = _mean_over(op, count)
        if new is None:
            return op
        for old, result in zip(op.results, new.results, strict=True):
            result.name_hint = old.name_hint
            if old in self.rows_per_point:  # a later op of the tile may ask (a quantization)
                self.rows_per_point[result] = self.rows_per_point[old]
            old.replace_all_uses_with(result)
        op.erase()
        return new


def _check_draws_by_row(op: Operation) -> None:
    """Stochastic rounding in b x 1 blocks draws by the transposed tensor's index, which
    depends on the whole tensor's row count: no tile can make those draws."""
    if isinstance(op, smx.QuantizeOp) and str(op.rounding_mode) == "stochastic":
        rows, cols = op.result.type.format.block_shape
        if cols == 1 and rows > 1:
            raise PassError(
                f"%{op.input.name_hint or 'a tensor'} rounds stochastically in {rows}x1 "
                "blocks, which draw by the transposed tensor's index (its whole row count): "
                "a tile cannot draw them; tile-points needs row-major blocks here",
                op,
            )


def _accumulator_type(op: Operation):
    if isinstance(op, train.GemmOp):
        return tile.ExactType(declared_shape(op.result))
    return op.output.type


@dataclass(frozen=True)
class TilePointsPass(ModulePass):
    """Run the training step's per-point work as a loop over tiles of points."""

    name = "tile-points"

    points: int | None = None
    bytes: int = DEFAULT_TILE_BYTES
    # when the step cannot be tiled: leave it untiled (a target's own tiling) or fail
    optional: bool = False

    def __post_init__(self) -> None:
        if self.points is not None and self.points < 1:
            raise ValueError(f"points must be at least 1, got {self.points}")
        if self.bytes < 1:
            raise ValueError(f"bytes must be at least 1, got {self.bytes}")

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for f in op.ops:
            if (
                isinstance(f, func.FuncOp)
                and "loss" in train.result_roles(f)
                and not any(isinstance(o, tile.LoopOp) for o in f.body.block.ops)
            ):
                try:
                    _Tiler(f, self).build()
                except PassError:
                    if not self.optional:
                        raise


def _with_operand(op: Operation, extra: SSAValue, **properties) -> Operation:
    """`op` with `extra` as its last (optional) operand and more properties."""
    return type(op).create(
        operands=[*op.operands, extra],
        result_types=[r.type for r in op.results],
        properties={**op.properties, **properties},
        attributes=dict(op.attributes),
    )


def _drawn_at(op: stein.SampleOp | train.SampleCoordinatesOp, first: SSAValue) -> Operation:
    return _with_operand(op, first)


def _mean_over(op: train.MeanSquareGradOp, count: SSAValue) -> Operation:
    return _with_operand(op, count)


def _quantized_at(op: smx.QuantizeOp, first: SSAValue, per_point: int) -> Operation:
    return _with_operand(op, first, per_point=IntegerAttr(per_point, i64))
