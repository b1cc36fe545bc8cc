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
  formula is written once with Python arithmetic and evaluated two ways: on NumPy arrays
  (`jet_factors`), and on IR values by `pinn-build-loss`, which builds it from `arith` ops and
  activations so that reverse mode differentiates it with their rules. None: the activation
  has no Taylor-mode rule.

From these follow the rest: the gradient rule (`train.activation_grad NAME %saved, %dy`),
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
    return activation


def unregister(name: str) -> None:
    del ACTIVATIONS[name]


def activation_of(op_type: type[Operation]) -> Activation | None:
    """The activation applied by an op class, if it is one."""
    return next((a for a in ACTIVATIONS.values() if a.op is op_type), None)


def jet_factors(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """φ'(z) and φ''(z) of the activation `name` by its `jet` formula, on NumPy arrays."""
    act = ACTIVATIONS[name]
    if act.jet is None:
        raise ValueError(f"activation '{name}' has no Taylor-mode (jet) rule")
    return act.jet(z, act.fn(z), lambda other, v: ACTIVATIONS[other].fn(v))


def _one_minus_square(y: np.ndarray) -> np.ndarray:
    d = np.multiply(y, y)
    return np.subtract(1, d, out=d)


def _minus_sin(z: np.ndarray) -> np.ndarray:
    d = np.sin(z)
    return np.negative(d, out=d)


def _half_reciprocal(y: np.ndarray) -> np.ndarray:
    return np.divide(y.dtype.type(0.5), y)


# The jet formulas: tanh'' = −2 y tanh', (sin, cos)'' = −(sin, cos), exp'' = exp,
# log'' = −(1/z)², sqrt'' = −1/(4 y³) = −sqrt'² / y.
def _tanh_jet(z, y, apply):
    d1 = 1 - y * y
    return d1, -2 * y * d1


def _log_jet(z, y, apply):
    d1 = 1 / z
    return d1, -(d1 * d1)


def _sqrt_jet(z, y, apply):
    d1 = 0.5 / y
    return d1, -(d1 * d1) / y


for _activation in (
    Activation("tanh", math.TanhOp, np.tanh, "output", _one_minus_square, _tanh_jet),
    Activation("sin", math.SinOp, np.sin, "input", np.cos, lambda z, y, f: (f("cos", z), -y)),
    Activation("cos", math.CosOp, np.cos, "input", _minus_sin, lambda z, y, f: (-f("sin", z), -y)),
    Activation("exp", math.ExpOp, np.exp, "output", np.copy, lambda z, y, f: (y, y)),
    Activation("log", math.LogOp, np.log, "input", np.reciprocal, _log_jet),
    Activation("sqrt", math.SqrtOp, np.sqrt, "output", _half_reciprocal, _sqrt_jet),
):
    register(_activation)
