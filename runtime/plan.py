"""The execution plan of a compiled function: what any target needs to run it, as data.

A plan lists the function's ops in order (`Step`s) with their static parameters
(`pintac.runtime.ops`), and its values with their lifetimes and storage: which values are
views of others (reshapes, column slices) and which results take over the buffer of an
operand that dies at their op (elementwise ops). The NumPy code generator turns a plan into
straight-line Python; an accelerator backend reads the same lifetimes to allocate its buffers.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import Any

from xdsl.dialects import func
from xdsl.ir import Attribute, Block, Operation, SSAValue

from pintac.dialects import tile
from pintac.runtime.ops import OpInfo, info


class MissingSemantics(Exception):
    """An op no target can execute: a pass of the pipeline is missing."""


@dataclass(frozen=True)
class Value:
    """One SSA value of the function. Step numbers are positions in the value's own block's
    steps (the function's, or a loop body's); a use inside a loop body nested in that block
    counts as a use by the loop's step."""

    index: int
    name: str  # a unique identifier, from the value's name in the IR
    type: Attribute
    producer: int | None  # the step computing it; None for a function or body argument
    last_use: int | None  # the last step reading it; None if no step does
    is_result: bool  # returned by the function or yielded by a loop body

    # The value whose buffer holds this one: itself, the value it is a view of, or the dead
    # operand whose buffer its step writes into (followed to the end of such chains).
    storage: int


@dataclass(frozen=True)
class Step:
    """One op: read `inputs`, write `outputs` (value indices)."""

    index: int  # its position in its block's steps
    op: Operation
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    params: dict[str, Any]
    # The position in `inputs` of the operand whose buffer the result takes over, or None.
    inplace: int | None
    view: bool  # the result is a view of inputs[0]
    # Values of this block whose last use is this step (read here, never again in the block,
    # nor in a loop body nested in it) and results never read.
    dies: tuple[int, ...]
    body: Loop | None = None  # a `tile.loop`'s body

    @property
    def name(self) -> str:
        return self.op.name


@dataclass(frozen=True)
class Loop:
    """The body of a `tile.loop` step, run once per tile of `tile` points of `inputs[0]`
    (with `axis` 1, of `tile` of each point's streams; such a loop nests in a loop's body).

    Its steps' lifetimes are the body's own: a value computed in the body dies within the
    iteration; a value from outside (a weight, its quantized copy) is read as it is and lives
    until the loop step ends. The loop step's inputs are the batch, then the accumulators'
    initial values; its outputs the accumulators after the last tile, then the gathered values.
    """

    tile: int
    axis: int  # 0: tiles of the batch's points; 1: tiles of each point's streams
    first: int  # the body's argument: the tile's first row in the batch (or stream)
    rows: int  # the body's argument: the tile's rows
    carried: tuple[int, ...]  # the body's arguments: the accumulators
    steps: tuple[Step, ...]
    yields: tuple[int, ...]  # the accumulators' new values, then the gathered tiles

    @property
    def gathered(self) -> tuple[int, ...]:
        return self.yields[len(self.carried) :]


@dataclass(frozen=True)
class Plan:
    name: str
    values: tuple[Value, ...]  # every value of the function, loop bodies' included
    steps: tuple[Step, ...]
    arguments: tuple[int, ...]
    results: tuple[int, ...]

    @property
    def has_loops(self) -> bool:
        return any(step.body is not None for step in self.steps)

    def live_range(self, value: int) -> tuple[int, int]:
        """First and last step of the function's block during which `value` must exist
        (-1: from the call's start; len(steps): until its end, for results)."""
        v = self.values[value]
        first = -1 if v.producer is None else v.producer
        last = len(self.steps) if v.is_result else (v.last_use if v.last_use is not None else first)
        return first, last


def _names(values: list[SSAValue]) -> list[str]:
    """Readable, unique Python identifiers for SSA values."""
    used: set[str] = set()
    out = []
    for value in values:
        base = re.sub(r"\W", "_", value.name_hint or "v")
        if not base or base[0].isdigit() or keyword.iskeyword(base):
            base = f"v_{base}"
        name, n = base, 1
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        out.append(name)
    return out


def all_values(block: Block) -> list[SSAValue]:
    """The block's arguments, then each op's results, a loop's body values after the loop's:
    the order of `Plan.values`."""
    values: list[SSAValue] = list(block.args)
    for op in block.ops:
        values += op.results
        for region in op.regions:
            for inner in region.blocks:
                values += all_values(inner)
    return values


def _defined_in(value: SSAValue, block: Block) -> bool:
    """Whether `value` is an argument of `block` or the result of one of its ops."""
    owner = value.owner
    return owner is block if isinstance(owner, Block) else owner.parent_block() is block


def build_plan(f: func.FuncOp) -> Plan:
    """The plan of `f`; raises MissingSemantics for an op no target knows."""
    ssa = all_values(f.body.block)
    index = {v: i for i, v in enumerate(ssa)}
    builder = _BlockPlanner(index)
    ops = list(f.body.block.ops)
    ret = ops[-1]
    assert isinstance(ret, func.ReturnOp), "a func.func ends in func.return"
    results = tuple(index[v] for v in ret.arguments)
    steps = builder.steps(f.body.block, ops[:-1], results)
    names = _names(ssa)
    values = tuple(
        Value(
            i,
            names[i],
            v.type,
            builder.producer.get(i),
            builder.last_use.get(i),
            i in builder.results,
            builder.storage.get(i, i),
        )
        for i, v in enumerate(ssa)
    )
    return Plan(f.sym_name.data, values, steps, tuple(range(len(f.args))), results)


class _BlockPlanner:
    """Steps, lifetimes and storage of one block and, recursively, of loop bodies in it."""

    def __init__(self, index: dict[SSAValue, int]):
        self.index = index
        self.types = {i: v.type for v, i in index.items()}
        self.producer: dict[int, int] = {}
        self.last_use: dict[int, int] = {}
        self.storage: dict[int, int] = {}
        self.results: set[int] = set()  # returned or yielded: alive until the block ends

    def steps(
        self, block: Block, ops: list[Operation], results: tuple[int, ...]
    ) -> tuple[Step, ...]:
        """The steps of `ops` (a block without its terminator, whose operands are `results`)."""
        index = self.index
        self.results.update(results)
        infos = []
        local_last_use: dict[int, int] = {}
        for i, op in enumerate(ops):
            if isinstance(op, tile.LoopOp):
                found = _LOOP
            else:
                found = info(op)
                if found is None:
                    raise MissingSemantics(
                        f"no target can execute '{op.name}'; lower it first (a pass of the "
                        "pipeline is missing)"
                    )
            infos.append(found)
            for r in op.results:
                self.producer[index[r]] = i
            for inner in op.walk():
                for v in inner.operands:
                    if _defined_in(v, block):
                        local_last_use[index[v]] = i
        self.last_use.update(local_last_use)

        # Buffers a step may overwrite once their value dies: results of steps that allocate
        # them (not views), never arguments (the caller's, or a loop's) nor anything a view
        # was taken of.
        owned: set[int] = set()
        viewed: set[int] = set()
        for op, op_info in zip(ops, infos, strict=True):
            if op_info.view:
                viewed.add(index[op.operands[0]])
            elif not isinstance(op, tile.LoopOp):
                owned.update(index[r] for r in op.results)
        steps = []
        for i, (op, op_info) in enumerate(zip(ops, infos, strict=True)):
            inputs = tuple(index[v] for v in op.operands)
            outputs = tuple(index[r] for r in op.results)
            inplace = None
            if op_info.inplace is not None:
                target = inputs[op_info.inplace]
                if (
                    target in owned
                    and target not in viewed
                    and target not in results
                    and local_last_use.get(target) == i
                    and inputs.count(target) == 1
                    and self.types[target] == op.results[0].type
                ):
                    inplace = op_info.inplace
                    self.storage[outputs[0]] = self.storage.get(target, target)
            if op_info.view:
                self.storage[outputs[0]] = self.storage.get(inputs[0], inputs[0])
            read = {v for v, last in local_last_use.items() if last == i}
            dies = sorted(read - set(results) - set(outputs))
            dies += [v for v in outputs if v not in local_last_use and v not in results]
            body = self._loop(op) if isinstance(op, tile.LoopOp) else None
            params = op_info.params(op)
            steps.append(
                Step(i, op, inputs, outputs, params, inplace, op_info.view, tuple(dies), body)
            )
        return tuple(steps)

    def _loop(self, op: tile.LoopOp) -> Loop:
        block = op.body.block
        body_ops = list(block.ops)
        yields = tuple(self.index[v] for v in body_ops[-1].operands)
        steps = self.steps(block, body_ops[:-1], yields)
        first, rows, *carried = (self.index[a] for a in block.args)
        return Loop(op.tile_points, op.axis_index, first, rows, tuple(carried), steps, yields)


_LOOP = OpInfo(lambda op: {"tile": op.tile_points, "axis": op.axis_index})
