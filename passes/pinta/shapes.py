"""Concrete shapes of a training step's values for a given batch.

Compiled steps keep the batch as a dynamic leading dimension (`tensor<?x2xf32>`). PINTA
programs are static, so the lowering fixes every `?`, and `tile-points` finds each value's
rows per point from the shapes at one and at two points a term: the points of each term have their
batch size, and each op's result takes the leading size of its first operand with a dynamic
leading dimension that is not 1, except where an op changes it (flatten, unflatten,
permute). Constants written with a `?` broadcast, as in the runtime: they keep a size of 1
there, as do the values computed from constants only, and an op with such an operand takes the
leading size of its others.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from xdsl.dialects import func
from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType
from xdsl.ir import Operation, SSAValue

from pintac.core.errors import PassError
from pintac.dialects import pinn, tile, train
from pintac.dialects.smx import QuantizedTensorType

Shape = tuple[int, ...]


def declared_shape(value: SSAValue) -> Shape:
    t = value.type
    if isinstance(t, TensorType | QuantizedTensorType | tile.ExactType):
        return tuple(t.get_shape())
    return ()  # i64 scalars: the seed and the step


def _leading(op: Operation, shapes: Mapping[SSAValue, Shape]) -> int | None:
    """The leading size of the operands with a dynamic one, broadcast as in NumPy: a size of 1
    (a constant's, or a value computed from constants only) takes the others'."""
    sizes = [
        shapes[operand][0]
        for operand in op.operands
        if declared_shape(operand)[:1] == (DYNAMIC_INDEX,)
    ]
    if not sizes:
        return None
    return next((n for n in sizes if n != 1), 1)


def _result_shape(op: Operation, declared: Shape, shapes: Mapping[SSAValue, Shape]) -> Shape:
    if DYNAMIC_INDEX not in declared:
        return declared
    if DYNAMIC_INDEX in declared[1:]:
        raise PassError(
            f"'{op.name}' has a result with a dynamic dimension other than the batch",
            op,
        )
    if isinstance(op, train.FlattenOp):
        n, *inner, cols = shapes[op.input]
        return (n * math.prod(inner), cols)
    if isinstance(op, train.UnflattenOp):
        like = shapes[op.like]
        rows, cols = shapes[op.input]
        return (*like[:-1], cols)
    if isinstance(op, pinn.ConstantOp):
        return (1, *declared[1:])
    if isinstance(op, train.PermuteOp):  # the same elements, regrouped into rows
        return (math.prod(shapes[op.input]) // math.prod(declared[1:]), *declared[1:])
    leading = _leading(op, shapes)
    if leading is None:
        raise PassError(f"cannot tell the batch size of the result of '{op.name}'", op)
    return (leading, *declared[1:])


def concrete_shapes(f: func.FuncOp, batch: Mapping[str, int]) -> dict[SSAValue, Shape]:
    """Every value's shape in `f` with the batch sizes of its point sets (by term name)."""
    shapes: dict[SSAValue, Shape] = {}
    for arg, role in zip(f.args, train.arg_roles(f), strict=True):
        declared = declared_shape(arg)
        if declared and declared[0] == DYNAMIC_INDEX:
            kind, _, term = role.partition(":")
            if kind != "points":
                raise PassError(
                    f"argument %{arg.name_hint} of @{f.sym_name.data} (role '{role}') has a "
                    "dynamic size that is not the batch of a loss term"
                )
            if term not in batch:
                raise PassError(
                    f"the batch size of the points of '{term}' is not given: set it in "
                    f'pinn.train (batch = {{{term} = N}}) or as an option (batch="{term}=N")'
                )
            declared = (batch[term], *declared[1:])
        shapes[arg] = declared
    for op in f.body.block.ops:
        if isinstance(op, tile.LoopOp):
            shapes.update(_loop_result_shapes(op, shapes))
            continue
        for r in op.results:
            shapes[r] = _result_shape(op, declared_shape(r), shapes)
    return shapes


def _loop_result_shapes(loop: tile.LoopOp, shapes: Mapping[SSAValue, Shape]) -> dict:
    """A loop's results: its accumulators, and its gathered values as the body yields them
    for one tile of the whole batch (or, over streams, with all the streams)."""
    inner = body_shapes(loop, shapes[loop.points][0], shapes)
    return _results_of(loop, inner, shapes)


def _results_of(loop: tile.LoopOp, inner: Mapping, shapes: Mapping) -> dict:
    results = {r: inner[y] for r, y in zip(loop.outputs, loop.yield_op.operands, strict=True)}
    if loop.axis_index == 1:
        streams = shapes[loop.points][1]
        for r in loop.gathered_results:
            n, _, *rest = results[r]
            results[r] = (n, streams, *rest)
    return results


def body_shapes(
    loop: tile.LoopOp, rows: int, shapes: Mapping[SSAValue, Shape]
) -> dict[SSAValue, Shape]:
    """`shapes` (the step's, at its batch) with the shapes of `loop`'s body values for a tile
    of `rows` points (a loop over streams: for its tiles of streams of every point), nested
    loops' bodies and results included."""
    inner = dict(shapes)
    block = loop.body.block
    inner[loop.first] = ()
    points = shapes[loop.points]
    if loop.axis_index == 1:
        inner[loop.tile_rows] = (points[0], loop.tile_points, *points[2:])
    else:
        inner[loop.tile_rows] = (rows, *points[1:])
    for arg, init in zip(loop.carried, loop.inits, strict=True):
        inner[arg] = shapes[init]
    for op in list(block.ops)[:-1]:
        if isinstance(op, tile.LoopOp):
            nested = body_shapes(op, 0, inner)
            inner.update(nested)
            inner.update(_results_of(op, nested, inner))
            continue
        for r in op.results:
            inner[r] = _result_shape(op, declared_shape(r), inner)
    return inner
