"""The activation functions pintac knows: one table entry each, read by every part of pintac.

An activation is a unary elementwise function a network (or a residual) applies with an
upstream `math` op on tensors, e.g. `math.tanh`. Its entry says everything the compiler and
both targets need:

- `op`: the upstream op class that applies it;
- `fn`: its NumPy implementation, `fn(z, out=None)`, in the operand's dtype. This is the SFU
  model: every target evaluates the function with this same code;
- `saves`: what the backward pass keeps alive, the op's `"input"` z or its `"output"` y,
  whichever the derivative is cheaper from;
- `derivative`: φ'(z) from the saved value, a fresh array.

From these follow the rest: the gradient rule (`train.activation_grad NAME %saved, %dy`),
its kernel φ'·dy, and the DiffQuant difference form φ(z_b + z_d) − φ(z_b)
(`stein.diff_activation`). Adding an activation is adding one entry with `register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from xdsl.dialects import math
from xdsl.ir import Operation


@dataclass(frozen=True)
class Activation:
    name: str
    op: type[Operation]
    fn: Callable[..., np.ndarray]
    saves: Literal["input", "output"]
    derivative: Callable[[np.ndarray], np.ndarray]


ACTIVATIONS: dict[str, Activation] = {}


def register(activation: Activation) -> Activation:
    """Add an activation to the table (its name and op must be new)."""
    if activation.name in ACTIVATIONS or activation_of(activation.op) is not None:
        raise ValueError(f"activation '{activation.name}' ({activation.op.name}) exists already")
    ACTIVATIONS[activation.name] = activation
    return activation


def unregister(name: str) -> None:
    del ACTIVATIONS[name]


def activation_of(op_type: type[Operation]) -> Activation | None:
    """The activation applied by an op class, if it is one."""
    return next((a for a in ACTIVATIONS.values() if a.op is op_type), None)


def _one_minus_square(y: np.ndarray) -> np.ndarray:
    d = np.multiply(y, y)
    return np.subtract(1, d, out=d)


def _minus_sin(z: np.ndarray) -> np.ndarray:
    d = np.sin(z)
    return np.negative(d, out=d)


def _half_reciprocal(y: np.ndarray) -> np.ndarray:
    return np.divide(y.dtype.type(0.5), y)


for _activation in (
    Activation("tanh", math.TanhOp, np.tanh, "output", _one_minus_square),
    Activation("sin", math.SinOp, np.sin, "input", np.cos),
    Activation("cos", math.CosOp, np.cos, "input", _minus_sin),
    Activation("exp", math.ExpOp, np.exp, "output", np.copy),
    Activation("log", math.LogOp, np.log, "input", np.reciprocal),
    Activation("sqrt", math.SqrtOp, np.sqrt, "output", _half_reciprocal),
):
    register(_activation)
