"""Shared by the PDE-language tests: building sources, reading errors, comparing IR."""

from __future__ import annotations

from pathlib import Path

import pytest
from xdsl.ir import Block, Operation

import pintac.api as pt
from pintac.core.errors import UserError
from pintac.diagnostics import ParsedModule, Source, verify
from pintac.dialects import pinn
from pintac.frontend import build_pde

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

# A small time-dependent problem; tests append statements to it.
HEADER = """problem p
space x[1..2]
time t
domain q: x in [0, 1]^2, t in [0, 1]
network u = mlp(width 4, depth 1)
"""


def build(text: str, name: str = "test.pde") -> ParsedModule:
    """The verified module of a .pde text."""
    parsed = build_pde(Source(name, text))
    verify(parsed)
    return parsed


def problem_of(parsed: ParsedModule) -> pinn.ProblemOp:
    return next(op for op in parsed.module.ops if isinstance(op, pinn.ProblemOp))


def region_ops(text: str, term: str = "pde") -> list[Operation]:
    """The ops of one loss term's body (`exact` for the exact solution), yield included."""
    problem = problem_of(build(text))
    for op in problem.body.block.ops:
        if isinstance(op, pinn.ExactOp) and term == "exact":
            return list(op.body.block.ops)
        if isinstance(op, pinn.ResidualOp | pinn.BoundaryOp) and op.sym_name.data == term:
            return list(op.body.block.ops)
    raise KeyError(term)


def names(ops: list[Operation]) -> list[str]:
    return [op.name for op in ops]


def error_of(text: str, name: str = "test.pde") -> str:
    """The message of the UserError building and verifying `text` raises."""
    with pytest.raises(UserError) as info:
        build(text, name)
    return str(info.value)


def normalized(problem: pinn.ProblemOp) -> str:
    """The problem's canonical IR (`pintac.api.canonical_text`: generic form, no SSA names)
    with every block's ops in one order that depends only on the data flow: depth first
    from the values nothing uses, operands in order. Two problems that compute the same
    values the same way print the same, whatever order their independent ops were written in.
    """
    copy = problem.clone()
    _reorder(copy)
    return pt.canonical_text(copy)


def _reorder(op: Operation) -> None:
    for region in op.regions:
        for block in region.blocks:
            ops = list(block.ops)
            order: list[Operation] = []
            for root in ops:
                if not any(True for r in root.results for _ in r.uses):
                    _post_order(root, block, order)
            for o in ops:
                o.detach()
            for o in order:
                block.add_op(o)
                _reorder(o)


def _post_order(op: Operation, block: Block, order: list[Operation]) -> None:
    """`op` after the ops of `block` it depends on, each once, operands in order."""
    if op in order:
        return
    for v in op.operands:
        owner = v.owner
        if isinstance(owner, Operation) and owner.parent_block() is block:
            _post_order(owner, block, order)
    order.append(op)
