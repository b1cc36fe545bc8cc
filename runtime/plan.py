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
from xdsl.ir import Attribute, Operation, SSAValue

from pintac.runtime.ops import info


class MissingSemantics(Exception):
    """An op no target can execute: a pass of the pipeline is missing."""


@dataclass(frozen=True)
class Value:
    """One SSA value of the function."""

    index: int
    name: str  # a unique identifier, from the value's name in the IR
    type: Attribute
    producer: int | None  # the step computing it; None for a function argument
    last_use: int | None  # the last step reading it; None if no step does
    is_result: bool
    # The value whose buffer holds this one: itself, the value it is a view of, or the dead
    # operand whose buffer its step writes into (followed to the end of such chains).
    storage: int


@dataclass(frozen=True)
class Step:
    """One op: read `inputs`, write `outputs` (value indices)."""

    index: int
    op: Operation
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    params: dict[str, Any]
    # The position in `inputs` of the operand whose buffer the result takes over, or None.
    inplace: int | None
    view: bool  # the result is a view of inputs[0]
    # Values whose last use is this step (read here, never again) and results never read.
    dies: tuple[int, ...]

    @property
    def name(self) -> str:
        return self.op.name


@dataclass(frozen=True)
class Plan:
    name: str
    values: tuple[Value, ...]
    steps: tuple[Step, ...]
    arguments: tuple[int, ...]
    results: tuple[int, ...]

    def live_range(self, value: int) -> tuple[int, int]:
        """First and last step during which `value` must exist (-1: from the call's start;
        len(steps): until its end, for results)."""
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


def build_plan(f: func.FuncOp) -> Plan:
    """The plan of `f`; raises MissingSemantics for an op no target knows."""
    ops = list(f.body.block.ops)
    ret = ops.pop()
    assert isinstance(ret, func.ReturnOp), "a func.func ends in func.return"
    ssa: list[SSAValue] = list(f.args) + [r for op in ops for r in op.results]
    index = {v: i for i, v in enumerate(ssa)}
    producer: dict[int, int] = {}
    last_use: dict[int, int] = {}
    infos = []
    for i, op in enumerate(ops):
        found = info(op)
        if found is None:
            raise MissingSemantics(
                f"no target can execute '{op.name}'; lower it first (a pass of the pipeline "
                "is missing)"
            )
        infos.append(found)
        for r in op.results:
            producer[index[r]] = i
        for v in op.operands:
            last_use[index[v]] = i
    results = tuple(index[v] for v in ret.arguments)

    # Buffers a step may overwrite once their value dies: results of steps that allocate them
    # (not views), never function arguments (the caller's) nor anything a view was taken of.
    owned: set[int] = set()
    viewed: set[int] = set()
    for op, op_info in zip(ops, infos, strict=True):
        if op_info.view:
            viewed.add(index[op.operands[0]])
        else:
            owned.update(index[r] for r in op.results)
    storage = {i: i for i in range(len(ssa))}
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
                and last_use.get(target) == i
                and inputs.count(target) == 1
                and ssa[target].type == op.results[0].type
            ):
                inplace = op_info.inplace
                storage[outputs[0]] = storage[target]
        if op_info.view:
            storage[outputs[0]] = storage[inputs[0]]
        dies = sorted({v for v in inputs if last_use.get(v) == i} - set(results))
        dies += [v for v in outputs if v not in last_use and v not in results]
        steps.append(
            Step(i, op, inputs, outputs, op_info.params(op), inplace, op_info.view, tuple(dies))
        )
    names = _names(ssa)
    values = tuple(
        Value(
            i,
            names[i],
            v.type,
            producer.get(i),
            last_use.get(i),
            i in results,
            storage[i],
        )
        for i, v in enumerate(ssa)
    )
    return Plan(f.sym_name.data, values, tuple(steps), tuple(range(len(f.args))), results)
