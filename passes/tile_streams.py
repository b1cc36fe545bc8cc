"""Pass `tile-streams`: each point's Stein streams in tiles, inside the loop over points.

A point's residual reads all of its 2K difference streams only through the network's output
on them (one column per stream: `stein.laplacian`, `stein.grad`), and its backward pass
reaches the streams through seeds computed from that output (`stein.laplacian_vjp`). So
after `tile-points`, a point tile's body splits into

- the per-point work: the unperturbed forward (the streams' base values), the samples and the
  difference streams (K·D numbers a point), the residual and its seed, and the backward of the
  base values;
- a first loop over tiles of S streams (`tile.loop ... axis 1`) that runs the streams' forward
  and gathers the network's output on them, which the residual reads whole;
- a second loop over the same tiles that runs the streams' forward again (MACs traded for the
  memory its values would need) and their backward: weight-gradient GEMMs go on into the point
  loop's exact accumulators, and each `stein.diff_activation_vjp` becomes its per-stream part
  (`stein.diff_activation_vjp_streams`) and two running sums over the streams
  (`tile.accumulate_streams`) from which `stein.diff_activation_vjp_center` gives the base
  value's gradient after the loop.

Every element a tile computes is the one the untiled step computes, and the sums over the
streams run in the same order, so the tiled step equals the untiled one bit for bit, for
every admissible tile: one that divides the 2K streams and holds a whole number of block rows
of every tensor the loops quantize.

Options: `streams=S` (streams per tile), or, without it, `bytes=B`: the largest admissible
tile whose stream values take at most B bytes for one point. A loop that has no difference
streams (the boundary terms) is left as it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.passes import ModulePass

from pintac.core.errors import PassError
from pintac.dialects import smx, stein, tile

DEFAULT_STREAM_TILE_BYTES = 1 << 20

# ops that reduce a point's streams to per-point values: the residual's estimators
_REDUCERS = (stein.LaplacianOp, stein.GradOp, stein.SmoothedOp)


def _streams_of(value: SSAValue) -> int | None:
    """M of a per-point value tensor<?xMx...>, else None."""
    t = value.type
    if isinstance(t, TensorType) and len(t.get_shape()) >= 3:
        return t.get_shape()[1]
    return None


def _with_streams(t: Attribute, streams: int, size: int) -> Attribute:
    """`t` with a tile of `size` streams in place of `streams`, if it is a per-point value."""
    if isinstance(t, TensorType) and len(t.get_shape()) >= 3 and t.get_shape()[1] == streams:
        shape = list(t.get_shape())
        shape[1] = size
        return TensorType(t.element_type, shape)
    return t


@dataclass
class _Split:
    """The ops of a point tile's body, sorted by what they need (each list in body order)."""

    before: list[Operation]  # per-point, before any stream
    forward: list[Operation]  # the streams' forward
    between: list[Operation]  # per-point, reads the residual
    backward: list[Operation]  # the streams' backward
    after: list[Operation]  # per-point, reads a sum over the streams' backward


class _StreamTiler:
    def __init__(self, loop: tile.LoopOp, options: TileStreamsPass):
        self.loop = loop
        self.options = options
        body = list(loop.body.block.ops)
        self.ops, self.yield_op = body[:-1], body[-1]
        sources = [op for op in self.ops if isinstance(op, stein.DifferenceStreamsOp)]
        if len(sources) != 1:
            raise PassError(
                f"tile-streams tiles the difference streams of one network evaluation per "
                f"point; this loop has {len(sources)}",
                loop,
            )
        self.source = sources[0].results[0]
        self.streams = _streams_of(self.source)

    # ------------------------------------------------------------------ sorting the ops

    def split(self) -> _Split:
        stream_values: set[SSAValue] = {self.source}
        residual: set[SSAValue] = set()  # values that read a residual (after the estimators)
        split = _Split([], [], [], [], [])
        for op in self.ops:
            reads_streams = any(v in stream_values for v in op.operands)
            reads_residual = any(v in residual for v in op.operands)
            if op.results and op.results[0] is self.source:
                split.before.append(op)
            elif reads_streams and isinstance(op, _REDUCERS):
                split.between.append(op)
                residual.update(op.results)
            elif reads_streams:
                self._check_row_wise(op)
                (split.backward if reads_residual else split.forward).append(op)
                if isinstance(op, stein.DiffActivationVjpOp):
                    stream_values.add(op.dzd)
                    residual.update(op.results)
                elif not isinstance(op, tile.AccumulateGemmOp):
                    stream_values.update(op.results)
                    if reads_residual:
                        residual.update(op.results)
            elif reads_residual:
                if isinstance(op, _SEEDS):
                    stream_values.update(op.results)
                residual.update(op.results)
                (split.after if self._reads_backward(op, split) else split.between).append(op)
            else:
                split.before.append(op)
        return split

    @staticmethod
    def _reads_backward(op: Operation, split: _Split) -> bool:
        produced = {r for o in split.backward for r in o.results}
        produced |= {r for o in split.after for r in o.results}
        return any(v in produced for v in op.operands)

    def _check_row_wise(self, op: Operation) -> None:
        if isinstance(op, tile.AccumulateRowsOp | tile.LoopOp):
            raise PassError(
                f"'{op.name}' sums a point's streams in the order of the rows; tile-streams "
                "cannot keep that order over tiles of the streams",
                op,
            )
        if isinstance(op, stein.DiffActivationVjpOp) and op.zb.type.get_shape()[-1] < 2:
            raise PassError(
                "a layer of width 1: NumPy sums its one column over the streams pairwise, "
                "which tiles of the streams cannot reproduce",
                op,
            )
        if isinstance(op, smx.QuantizeOp) and str(op.rounding_mode) == "stochastic":
            raise PassError(
                f"%{op.input.name_hint or 'a tensor'} rounds stochastically; tile-streams "
                "tiles only round-to-nearest quantization of the streams",
                op,
            )

    # ------------------------------------------------------------------ the tile size

    def tile_size(self, split: _Split) -> int:
        unit = 1
        for op in split.forward + split.backward:
            if isinstance(op, smx.QuantizeOp):
                unit = math.lcm(unit, op.result.type.format.block_shape[0])
        if self.streams % unit:
            raise PassError(
                f"a point's {self.streams} streams are not a whole number of {unit}-row "
                "blocks; tile-streams cannot tile them",
                self.loop,
            )
        admissible = [s for s in range(unit, self.streams + 1, unit) if self.streams % s == 0]
        if self.options.streams is not None:
            if self.options.streams not in admissible:
                raise PassError(
                    f"a tile of {self.options.streams} streams does not divide a point's "
                    f"{self.streams} streams into whole {unit}-row blocks; admissible: "
                    + ", ".join(map(str, admissible)),
                    self.loop,
                )
            return self.options.streams
        per_stream = sum(
            _bytes_per_stream(r, self.streams)
            for op in split.forward + split.backward
            for r in op.results
        )
        fitting = [s for s in admissible if s * per_stream <= self.options.bytes]
        return max(fitting) if fitting else admissible[0]

    # ------------------------------------------------------------------ the new body

    def build(self) -> None:
        split = self.split()
        if not split.forward:
            return
        size = self.tile_size(split)
        self._check_backward_stays_inside(split)
        block = self.loop.body.block
        for op in self.ops:
            op.detach()
        for op in split.before:
            block.insert_op_before(op, self.yield_op)
        gathered = self._read_outside(split.forward, split)
        for op in self._stream_loop(split.forward, gathered, size, recompute=()):
            block.insert_op_before(op, self.yield_op)
        for op in split.between:
            block.insert_op_before(op, self.yield_op)
        for op in self._stream_loop(split.backward, [], size, recompute=split.forward):
            block.insert_op_before(op, self.yield_op)
        for op in split.after:
            block.insert_op_before(op, self.yield_op)
        for op in reversed([*split.forward, *split.backward]):
            op.erase()

    def _check_backward_stays_inside(self, split: _Split) -> None:
        """The streams' backward gives the per-point ops only the base values' gradients and
        the point loop's sums: anything else would have to be gathered from it."""
        tiled = {id(op) for op in [*split.forward, *split.backward]}
        carried = set(self.loop.carried)
        for op in split.backward:
            if isinstance(op, tile.AccumulateGemmOp) and op.acc in carried:
                continue
            for r in op.results:
                if isinstance(op, stein.DiffActivationVjpOp) and r is op.dzb:
                    continue
                if any(id(u.operation) not in tiled for u in r.uses):
                    raise PassError(
                        f"%{r.name_hint or 'a value'} of the streams' backward is read outside "
                        "it; tile-streams cannot tile this step",
                        op,
                    )

    def _read_outside(self, ops: list[Operation], split: _Split) -> list[SSAValue]:
        """Values of `ops` read by the per-point ops (gathered from the first loop)."""
        inside = set(map(id, split.forward + split.backward))
        return [
            r
            for op in ops
            for r in op.results
            if any(id(u.operation) not in inside for u in r.uses)
        ]

    def _stream_loop(
        self,
        ops: list[Operation],
        gathered: list[SSAValue],
        size: int,
        recompute: Iterable[Operation],
    ) -> list[Operation]:
        """A loop over tiles of `size` streams running `ops` (after the forward `recompute`
        again, where they read it), gathering `gathered`: the ops that start its sums, the
        loop, and the ops that finish them."""
        outer_carried = set(self.loop.carried)
        accumulations = [
            op for op in ops if isinstance(op, tile.AccumulateGemmOp) and op.acc in outer_carried
        ]
        vjps = [op for op in ops if isinstance(op, stein.DiffActivationVjpOp)]
        before: list[Operation] = []
        inits: list[SSAValue] = [op.acc for op in accumulations]
        sum_names: list[str] = []
        for vjp in vjps:
            for name in _sum_names(vjp):
                zero = tile.ZeroOp(vjp.zb.type, vjp.zb)
                zero.result.name_hint = f"zero_{name}"
                before.append(zero)
                inits.append(zero.result)
                sum_names.append(name)
        gathered_types = [_with_streams(v.type, self.streams, self.streams) for v in gathered]
        body = tile.LoopOp.new_body(self.source, inits, size, axis=1)
        loop = tile.LoopOp(self.source, size, inits, gathered_types, body, axis=1)
        first, source_tile, *carried = body.block.args
        first.name_hint, source_tile.name_hint = "stream", f"{self.source.name_hint}_tile"
        mapping: dict[SSAValue, SSAValue] = {self.source: source_tile}
        for acc, arg in zip([op.acc for op in accumulations], carried, strict=False):
            mapping[acc] = arg
            arg.name_hint = f"{acc.name_hint}_s"
        for name, arg in zip(sum_names, carried[len(accumulations) :], strict=True):
            arg.name_hint = f"{name}_s"
        needed = _ancestors(ops, list(recompute))
        run = [op for op in recompute if id(op) in needed] + list(ops)
        yields: dict[int, SSAValue] = {}
        sums: list[SSAValue] = list(carried[len(accumulations) :])
        centers: list[Operation] = []
        for op in run:
            operands = [self._in_tile(v, mapping, body.block, first, size) for v in op.operands]
            if isinstance(op, stein.DiffActivationVjpOp):
                new = stein.DiffActivationVjpStreamsOp(op.activation.data, *operands)
                body.block.add_op(new)
                mapping[op.dzd] = new.dzd
                new.dzd.name_hint = op.dzd.name_hint
                sum_dzd, sum_dout = sums[:2]
                sums = sums[2:]
                next_dzd = tile.AccumulateStreamsOp(sum_dzd, new.dzd)
                next_dout = tile.AccumulateStreamsOp(sum_dout, operands[2])
                body.block.add_ops([next_dzd, next_dout])
                index = len(accumulations) + 2 * vjps.index(op)
                yields[index], yields[index + 1] = next_dzd.result, next_dout.result
                for result, name in zip(
                    (next_dzd.result, next_dout.result), _sum_names(op), strict=True
                ):
                    result.name_hint = f"{name}_next"
                centers.append(op)
                continue
            new = type(op).create(
                operands=operands,
                result_types=[_with_streams(r.type, self.streams, size) for r in op.results],
                properties=dict(op.properties),
                attributes=dict(op.attributes),
            )
            body.block.add_op(new)
            for old, result in zip(op.results, new.results, strict=True):
                mapping[old] = result
                result.name_hint = old.name_hint
            if op in accumulations:
                yields[accumulations.index(op)] = new.result
        body.block.add_op(
            tile.YieldOp(
                [*(yields[i] for i in range(len(carried))), *(mapping[v] for v in gathered)]
            )
        )
        after: list[Operation] = []
        for op, result in zip(accumulations, loop.carried_results, strict=False):
            op.result.replace_all_uses_with(result)
            result.name_hint = op.result.name_hint
        for i, vjp in enumerate(centers):
            index = len(accumulations) + 2 * i
            total_dzd, total_dout = loop.outputs[index], loop.outputs[index + 1]
            total_dzd.name_hint, total_dout.name_hint = _sum_names(vjp)
            center = stein.DiffActivationVjpCenterOp(
                vjp.activation.data, vjp.zb, total_dzd, total_dout
            )
            center.dzb.name_hint = vjp.dzb.name_hint
            vjp.dzb.replace_all_uses_with(center.dzb)
            after.append(center)
        for value, result in zip(gathered, loop.gathered_results, strict=True):
            result.name_hint = value.name_hint
            value.replace_all_uses_with(result)
        return [*before, loop, *after]

    def _in_tile(
        self,
        value: SSAValue,
        mapping: dict[SSAValue, SSAValue],
        block: Block,
        first: SSAValue,
        size: int,
    ) -> SSAValue:
        """`value` as the stream loop's body reads it: its tile if it is a per-point value
        computed before the loop."""
        if value in mapping:
            return mapping[value]
        if _streams_of(value) == self.streams:
            sliced = tile.SliceOp(value, first, _with_streams(value.type, self.streams, size))
            sliced.result.name_hint = f"{value.name_hint or 'v'}_tile"
            block.add_op(sliced)
            mapping[value] = sliced.result
            return sliced.result
        return value


def _sum_names(vjp: stein.DiffActivationVjpOp) -> tuple[str, str]:
    """Names of the running sums of a split `stein.diff_activation_vjp`: Σ dzd, Σ dout."""
    return f"sum_{vjp.dzd.name_hint or 'dzd'}", f"sum_{vjp.zb.name_hint or 'zb'}_dout"


# per-point values that seed the streams' backward
_SEEDS = (stein.LaplacianVjpOp, stein.GradVjpOp, stein.SmoothedVjpOp)


def _ancestors(ops: list[Operation], candidates: list[Operation]) -> set[int]:
    """ids of the `candidates` whose results `ops` read, directly or through each other."""
    producer = {r: op for op in candidates for r in op.results}
    needed: set[int] = set()
    stack = [v for op in ops for v in op.operands]
    while stack:
        op = producer.get(stack.pop())
        if op is not None and id(op) not in needed:
            needed.add(id(op))
            stack.extend(op.operands)
    return needed


def _bytes_per_stream(value: SSAValue, streams: int) -> int:
    """Bytes of one stream of one point of a value of the streams (4 per element)."""
    t = value.type
    shape = t.get_shape() if isinstance(t, TensorType | smx.QuantizedTensorType) else ()
    if len(shape) >= 3 and shape[1] == streams:
        return 4 * math.prod(shape[2:])
    if len(shape) == 2:  # a row per stream (a flattened value)
        return 4 * shape[1]
    return 0


@dataclass(frozen=True)
class TileStreamsPass(ModulePass):
    """Run each point's Stein streams in tiles: the forward for the residual, then forward
    again and backward."""

    name = "tile-streams"

    streams: int | None = None
    bytes: int = DEFAULT_STREAM_TILE_BYTES

    def __post_init__(self) -> None:
        if self.streams is not None and self.streams < 1:
            raise ValueError(f"streams must be at least 1, got {self.streams}")
        if self.bytes < 1:
            raise ValueError(f"bytes must be at least 1, got {self.bytes}")

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for f in op.ops:
            if not isinstance(f, func.FuncOp):
                continue
            for loop in [o for o in f.body.block.ops if isinstance(o, tile.LoopOp)]:
                body = loop.body.block
                if any(isinstance(o, tile.LoopOp) for o in body.ops):
                    continue  # tiled already
                if any(isinstance(o, stein.DifferenceStreamsOp) for o in body.ops):
                    _StreamTiler(loop, self).build()
