"""The NumPy kernels: the reference semantics of every op the NumPy runtime executes.

A kernel is a NumPy function `fn(*operands, **params) -> result | tuple[results]`; its
keyword parameters are the op's static parameters (`pintac.runtime.ops`). Kernels that may
write their result into a dead operand's buffer take it as `out=`. Arrays are float32 unless
an op says otherwise. Kernels of a dialect live in `runtime/kernels_<dialect>.py` and register
themselves with `@kernel(OpClass)`; activations (`pintac.dialects.activations`) need no
registration: their kernel is their table entry's `fn`. The generated NumPy code imports each
kernel by its module and name, so those must be importable.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from xdsl.ir import Operation

from pintac.dialects.activations import activation_of
from pintac.runtime.ops import info
from pintac.runtime.plan import MissingSemantics

KERNELS: dict[type[Operation], Callable[..., Any]] = {}

# Modules that register kernels, imported on first lookup.
KERNEL_MODULES = (
    "pintac.runtime.kernels_core",
    "pintac.runtime.kernels_stein",
    "pintac.runtime.kernels_smx",
    "pintac.runtime.kernels_taylor",
    "pintac.runtime.kernels_tile",
)


def kernel(op_type: type[Operation]):
    """Register `fn` as the NumPy kernel of `op_type`."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if op_type in KERNELS:
            raise ValueError(f"two kernels for {op_type.name}")
        KERNELS[op_type] = fn
        return fn

    return register


_loaded = False


def _load_all() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for name in KERNEL_MODULES:
            importlib.import_module(name)


def kernel_for(op: Operation) -> Callable[..., Any]:
    _load_all()
    found = KERNELS.get(type(op))
    if found is None and (act := activation_of(type(op))) is not None:
        found = act.fn
    if found is None:
        raise MissingSemantics(
            f"the NumPy runtime cannot execute '{op.name}'; lower it first "
            "(a pass of the pipeline is missing)"
        )
    return found


def run_op(op: Operation, *operands: Any) -> tuple[Any, ...]:
    """Execute one op on NumPy operands (the slow, reference path); always returns a tuple."""
    op_info = info(op)
    if op_info is None:
        raise MissingSemantics(f"no target can execute '{op.name}'")
    out = kernel_for(op)(*operands, **op_info.params(op))
    return out if isinstance(out, tuple) else (out,)
