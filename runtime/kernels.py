"""The reference semantics of every op the NumPy runtime executes: one kernel per op class.

A kernel is a NumPy function `fn(*operands, **params) -> result | tuple[results]` plus a
function reading the op's static parameters (shapes, σ, roles, ...) as plain Python values.
The executor (`pintac.runtime.executor`) compiles a function into straight-line Python that
calls these kernels with the parameters inlined, so the reference semantics and the fast path
are the same code. Arrays are float32 unless an op says otherwise.

Kernels of a dialect live in `runtime/kernels_<dialect>.py` and register themselves with
`@kernel(OpClass, params=...)`; `kernel_for(op)` imports them all on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xdsl.ir import Operation

Params = dict[str, Any]


@dataclass(frozen=True)
class Kernel:
    fn: Callable[..., Any]
    params: Callable[[Operation], Params]
    # The operand the kernel may overwrite with its result when called with `out=` that
    # operand (the executor does so when the operand dies at this op); None: never.
    inplace: int | None = None
    # The result shares memory with operand 0 (a reshape or slice), so that operand's
    # buffer must never be overwritten while the result lives.
    view: bool = False


KERNELS: dict[type[Operation], Kernel] = {}

# Modules that register kernels, imported on first lookup.
KERNEL_MODULES = (
    "pintac.runtime.kernels_core",
    "pintac.runtime.kernels_stein",
)


def kernel(
    op_type: type[Operation],
    params: Callable[[Operation], Params] | None = None,
    *,
    inplace: int | None = None,
    view: bool = False,
):
    """Register `fn` as the kernel of `op_type`; `params(op)` gives its static parameters.

    `inplace=i`: `fn(..., out=operands[i])` may write the result into operand i's buffer.
    `view=True`: the result is a view of operand 0.
    """

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if op_type in KERNELS:
            raise ValueError(f"two kernels for {op_type.name}")
        KERNELS[op_type] = Kernel(fn, params or (lambda op: {}), inplace, view)
        return fn

    return register


_loaded = False


def _load_all() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for name in KERNEL_MODULES:
            importlib.import_module(name)


class MissingKernel(Exception):
    """The NumPy runtime has no semantics for an op (it must be lowered first)."""


def kernel_for(op: Operation) -> Kernel:
    _load_all()
    found = KERNELS.get(type(op))
    if found is None:
        raise MissingKernel(
            f"the NumPy runtime cannot execute '{op.name}'; lower it first "
            "(a pass of the pipeline is missing)"
        )
    return found


def run_op(op: Operation, *operands: Any) -> tuple[Any, ...]:
    """Execute one op on NumPy operands (the slow, reference path); always returns a tuple."""
    k = kernel_for(op)
    out = k.fn(*operands, **k.params(op))
    return out if isinstance(out, tuple) else (out,)
