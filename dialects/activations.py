"""The activation functions pintac knows: one table entry each, read by every part of pintac.

An activation is a unary elementwise function a network (or a residual) applies with an
upstream `math` op on tensors, e.g. `math.tanh`. Its entry says everything the compiler and
both targets need:

- `op`: the upstream op class that applies it;
- `fn`: its NumPy implementation, `fn(z, out=None)`, in the operand's dtype. This is the SFU
  model: every target evaluates the function with this same code;
- `saves`: what the backward pass keeps alive, the op's `"input"` z or its `"output"` y,
  whichever the derivative is cheaper from;
- `derivative`: φ'(z) from the saved value, a fresh array;
- `jet`: φ'(z) and φ''(z) for Taylor-mode derivatives, as a formula in the input z, the
  output y = φ(z) and `apply(name, v)` (another activation of the table applied to v). The
  formula is written with Python arithmetic and evaluated on IR values by `pinn-build-loss`,
  which builds it from `arith` ops and activations so that reverse mode differentiates it
  with their rules. None: the activation has no Taylor-mode rule.

The numerics (all but `op`) live in `pintac.core.activation_functions`, which the targets
read by name; `register` adds an entry to both tables. From these follow the rest: the gradient rule (`train.activation_grad NAME %saved, %dy`),
its kernel φ'·dy, the DiffQuant difference form φ(z_b + z_d) − φ(z_b)
(`stein.diff_activation`) and the Taylor-mode jet y' = φ'(z) z', y'' = φ'(z) z'' + φ''(z) z'²
(`pintac.passes.layer_lowerings`). Adding an activation is adding one entry with `register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from xdsl.dialects import math
from xdsl.ir import Operation

from pintac.core.activation_functions import FUNCTIONS, Functions


@dataclass(frozen=True)
class Activation:
    name: str
    op: type[Operation]
    fn: Callable[..., np.ndarray]
    saves: Literal["input", "output"]
    derivative: Callable[[np.ndarray], np.ndarray]
    # (z, y, apply) -> (φ'(z), φ''(z)); see the module doc.
    jet: Callable[[Any, Any, Callable[[str, Any], Any]], tuple[Any, Any]] | None = None


ACTIVATIONS: dict[str, Activation] = {}


def register(activation: Activation) -> Activation:
    """Add an activation to the table (its name and op must be new)."""
    if activation.name in ACTIVATIONS or activation_of(activation.op) is not None:
        raise ValueError(f"activation '{activation.name}' ({activation.op.name}) exists already")
    ACTIVATIONS[activation.name] = activation
    a = activation
    FUNCTIONS[a.name] = Functions(a.name, a.fn, a.saves, a.derivative, a.jet)
    return activation


def unregister(name: str) -> None:
    del ACTIVATIONS[name]
    del FUNCTIONS[name]


def activation_of(op_type: type[Operation]) -> Activation | None:
    """The activation applied by an op class, if it is one."""
    return next((a for a in ACTIVATIONS.values() if a.op is op_type), None)


_OPS = {
    "tanh": math.TanhOp,
    "sin": math.SinOp,
    "cos": math.CosOp,
    "exp": math.ExpOp,
    "log": math.LogOp,
    "sqrt": math.SqrtOp,
}
for _name, _op in _OPS.items():
    _f = FUNCTIONS[_name]
    register(Activation(_name, _op, _f.fn, _f.saves, _f.derivative, _f.jet))
