"""Targets: what turns a compiled module into functions that run, and into files.

A target builds the module's functions (`@train_step`, `@predict`, `@exact`) into callables on
NumPy arrays, with the arguments and results their `train.role`s describe, and writes the
artifact `pintac compile --target NAME` produces. Targets: the NumPy runtime (`numpy`, and
`numpy-exact` under the arithmetic contract) and PINTA (`pinta`, `pinta-sim`: microcode run
by the simulator, after the driver runs the target's `lowering`, `lower-to-pinta`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from pintac.core.errors import UserError

Function = Callable[..., tuple[Any, ...]]


class Executable(ABC):
    """A built module: its functions by name, and its artifact."""

    functions: dict[str, Function]

    @abstractmethod
    def write(self, output: str | None) -> None:
        """Write the artifact to `output` (a path; None: standard output, where it is text)."""


class Target(ABC):
    name: ClassVar[str]
    description: ClassVar[str]

    def lowering(self, batch: Mapping[str, int]) -> str | None:
        """A pass pipeline the driver runs on a copy of the compiled module before `build`
        (the target's own lowering, for these batch sizes by loss term), or None."""
        del batch
        return None

    @abstractmethod
    def build(self, module: ModuleOp, title: str, pipeline: str = "") -> Executable:
        """Build every `func.func` of `module`; `title` heads the artifact (problem, pipeline);
        `pipeline` names the pipeline that compiled it."""


def functions_of(module: ModuleOp) -> dict[str, func.FuncOp]:
    return {f.sym_name.data: f for f in module.ops if isinstance(f, func.FuncOp)}


def _numpy() -> type[Target]:
    from pintac.runtime.numpy_target import NumpyTarget

    return NumpyTarget


def _numpy_exact() -> type[Target]:
    from pintac.runtime.numpy_target import NumpyExactTarget

    return NumpyExactTarget


def _numpy_fast() -> type[Target]:
    from pintac.runtime.numpy_target import NumpyFastTarget

    return NumpyFastTarget


def _pinta() -> type[Target]:
    from pintac.runtime.pinta.target import PintaTarget

    return PintaTarget


def _pinta_sim() -> type[Target]:
    from pintac.runtime.pinta.target import PintaSimTarget

    return PintaSimTarget


# Target name -> factory (modules are imported on first use).
TARGETS: dict[str, Callable[[], type[Target]]] = {
    "numpy": _numpy,
    "numpy-exact": _numpy_exact,
    "numpy-fast": _numpy_fast,
    "pinta": _pinta,
    "pinta-sim": _pinta_sim,
}
HARDWARE_TARGETS = ("pinta", "pinta-sim")


def get_target(name: str, hw: Any = None) -> Target:
    """The target `name`; `hw` (a `pinta.target.HardwareOptions`) configures PINTA's."""
    factory = TARGETS.get(name)
    if factory is None:
        raise UserError(f"error: unknown target '{name}'; targets: {', '.join(TARGETS)}")
    return factory()(hw) if name in HARDWARE_TARGETS else factory()()
