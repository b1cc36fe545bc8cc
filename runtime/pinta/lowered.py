"""A lowered training step (`pinta.program`) as the host runs it on the simulator.

`LoweredStep.of(op)` reads a `pinta.program`: its instructions (encoded through the ISA
table, which checks every field), the DRAM homes of the host's tensors, the constant pool.
`PintaStep` holds the simulator and the DRAM image across steps and calls like the NumPy
target's `@train_step`: arguments and results in the order of their `train.role`s. Before a
step the host writes the parameters, optimizer state and points (it samples them, as it does
for the NumPy target); after it, it reads the new parameters, state and losses out of DRAM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pintac.core.errors import UserError
from pintac.dialects import pinta
from pintac.runtime.pinta import isa
from pintac.runtime.pinta.config import HardwareConfig
from pintac.runtime.pinta.program import Program
from pintac.runtime.pinta.report import StepReport
from pintac.runtime.pinta.simulator import Simulator


@dataclass(frozen=True)
class HostTensor:
    name: str
    kind: str  # param, state, points, loss
    key: str
    address: int
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1


@dataclass
class LoweredStep:
    """A training step for PINTA: program, host tensors, constant pool, DRAM size."""

    name: str
    arg_roles: list[str]
    result_roles: list[str]
    instructions: list[isa.Instruction]
    notes: list[str]
    tensors: list[HostTensor]
    constants: list[float]
    const_base: int
    dram_words: int

    @classmethod
    def of(cls, op: pinta.ProgramOp) -> LoweredStep:
        instructions, notes = [], []
        for pc, ins in enumerate(op.instructions):
            try:
                decoded = isa.make(ins.MNEMONIC, **ins.values)
                isa.validate(decoded, pc)
            except (TypeError, ValueError) as e:
                raise UserError(f"error: instruction {pc} ({ins.name}): {e}") from None
            instructions.append(decoded)
            note = ins.attributes.get("note")
            notes.append(note.data if note is not None else "")
        tensors = [
            HostTensor(
                t.sym_name.data, t.kind.data, t.key.data, t.address.value.data, t.shape_values
            )
            for t in op.tensors
        ]
        args, results = op.roles
        return cls(
            op.sym_name.data,
            args,
            results,
            instructions,
            notes,
            tensors,
            op.constant_values,
            op.const_base.value.data,
            op.dram_words.value.data,
        )

    @property
    def program(self) -> Program:
        return Program.of(self.instructions)

    def tensor(self, kind: str, key: str) -> HostTensor:
        for t in self.tensors:
            if t.kind == kind and t.key == key:
                return t
        raise KeyError(f"{kind} {key}")

    def image(self) -> np.ndarray:
        """A DRAM image: zeros, and the constant pool at `const_base`."""
        image = np.zeros(self.dram_words, np.float32)
        pool = np.array(self.constants, dtype="<f8").view("<f4")
        image[self.const_base : self.const_base + pool.size] = pool
        return image


def _role_tensor(role: str) -> tuple[str, str] | None:
    """The (kind, key) of the host tensor behind a `train.role`; None for seed and step."""
    kind, _, key = role.partition(":")
    if kind in ("param", "points"):
        return kind, key
    if kind == "state":
        return "state", key
    if kind == "term":
        return "loss", key
    if role == "loss":
        return "loss", "loss"
    return None


class PintaStep:
    """`@train_step` on the simulator, called like the NumPy target's function."""

    def __init__(self, lowered: LoweredStep, config: HardwareConfig | None = None):
        self.lowered = lowered
        self.arg_roles = lowered.arg_roles
        self.result_roles = lowered.result_roles
        self.image = lowered.image()
        self.simulator = Simulator(
            lowered.instructions,
            config,
            self.image,
            const_base=lowered.const_base,
            const_entries=len(lowered.constants),
        )
        self.last_report: StepReport | None = None

    def _view(self, t: HostTensor) -> np.ndarray:
        return self.simulator.dram[t.address : t.address + t.size].reshape(t.shape)

    def __call__(self, *args: Any) -> tuple[np.ndarray, ...]:
        seed = step = 0
        for role, value in zip(self.arg_roles, args, strict=True):
            if role == "seed":
                seed = int(value)
                continue
            if role == "step":
                step = int(value)
                continue
            kind, key = _role_tensor(role)
            t = self.lowered.tensor(kind, key)
            array = np.asarray(value, dtype=np.float32)
            if array.shape != t.shape:
                raise UserError(
                    f"error: {role} has shape {array.shape}; the PINTA program was compiled "
                    f"for {t.shape}"
                )
            self._view(t)[...] = array
        self.last_report = self.simulator.run_step(seed, step)
        results = []
        for role in self.result_roles:
            kind, key = _role_tensor(role)
            t = self.lowered.tensor(kind, key)
            out = self._view(t).copy()
            results.append(out if t.shape else out.reshape(()))
        return tuple(results)
