"""The numerics of the activation functions, by name: what every target evaluates.

Each entry is an activation's NumPy function `fn(z, out=None)` in the operand's dtype (the
SFU model: the runtime's kernels and PINTA's simulator evaluate it with this same code), what
its backward pass keeps (`saves`: the input z or the output y), its derivative from that
value and its Taylor-mode jet formula. `pintac.dialects.activations` pairs each entry with
the IR op that applies it; registering an activation there adds its entry here, so the
targets, which never read IR, find it by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True)
class Functions:
    name: str
    fn: Callable[..., np.ndarray]
    saves: Literal["input", "output"]
    derivative: Callable[[np.ndarray], np.ndarray]
    # (z, y, apply) -> (φ'(z), φ''(z)); see `pintac.dialects.activations`.
    jet: Callable[[Any, Any, Callable[[str, Any], Any]], tuple[Any, Any]] | None = None


FUNCTIONS: dict[str, Functions] = {}


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


for _functions in (
    Functions("tanh", np.tanh, "output", _one_minus_square, _tanh_jet),
    Functions("sin", np.sin, "input", np.cos, lambda z, y, f: (f("cos", z), -y)),
    Functions("cos", np.cos, "input", _minus_sin, lambda z, y, f: (-f("sin", z), -y)),
    Functions("exp", np.exp, "output", np.copy, lambda z, y, f: (y, y)),
    Functions("log", np.log, "input", np.reciprocal, _log_jet),
    Functions("sqrt", np.sqrt, "output", _half_reciprocal, _sqrt_jet),
):
    FUNCTIONS[_functions.name] = _functions
