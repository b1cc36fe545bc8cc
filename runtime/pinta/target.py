"""The PINTA targets: a lowered module (`lower-to-pinta`) as an artifact and on the simulator.

`pinta` and `pinta-sim` build the same executable: `@train_step` runs on the simulator
(`PintaStep`), `@predict` and `@exact` on the NumPy runtime (the host evaluates the network).
`write(DIR)` writes the artifact `pintac compile` produces:

    DIR/program.bin     the instructions (`runtime/pinta/program.py` format)
    DIR/program.pasm    their assembly, with what each does for the step as a comment
    DIR/dram.img        the host's part of the initial DRAM (raw float32 words from address
                        0): parameters initialized with the problem's seed, zero optimizer
                        state; working space (zeros) and constant pool follow from the manifest
    DIR/manifest.json   the pipeline, DRAM homes, roles, constants, counts and predicted
                        cycles, and the files
    DIR/problem.mlir    the problem, for the host's sampling and evaluation (`pintac sim`)
    DIR/hardware.toml   the hardware configuration the program was compiled for
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.printer import Printer

from pintac.dialects import pinn, pinta
from pintac.runtime.errors import UserError
from pintac.runtime.files import atomic_write, check_directory
from pintac.runtime.init import init_params
from pintac.runtime.numpy_target import NumpyTarget
from pintac.runtime.pinta.asm import disassemble_word
from pintac.runtime.pinta.config import HardwareConfig, config_toml, load_config
from pintac.runtime.pinta.lowered import HostTensor, LoweredStep, PintaStep
from pintac.runtime.pinta.program import read_program
from pintac.runtime.pinta.report import StepReport
from pintac.runtime.pinta.simulator import Simulator
from pintac.runtime.targets import Executable, Target

MANIFEST_FORMAT = "pintac-pinta-program"
MANIFEST_VERSION = 1
FILES = {
    "program": "program.bin",
    "assembly": "program.pasm",
    "dram": "dram.img",
    "manifest": "manifest.json",
    "problem": "problem.mlir",
    "hardware": "hardware.toml",
}


@dataclass(frozen=True)
class HardwareOptions:
    """A hardware configuration file (None: the defaults) and `section.key=value` overrides."""

    config: str | None = None
    overrides: tuple[str, ...] = field(default_factory=tuple)

    def load(self) -> HardwareConfig:
        return load_config(self.config, list(self.overrides))

    def lowering(self, batch: Mapping[str, int] | None = None) -> str:
        """The `lower-to-pinta` pass with these options (and batch sizes, by loss term)."""
        options = []
        if batch:
            options.append(f'batch="{",".join(f"{k}={v}" for k, v in batch.items())}"')
        if self.config:
            options.append(f'config="{self.config}"')
        if self.overrides:
            options.append(f'set="{",".join(self.overrides)}"')
        return "lower-to-pinta" + ("{" + " ".join(options) + "}" if options else "")


def homes_end(step: LoweredStep) -> int:
    """The DRAM words the host's tensors take (they come first in DRAM)."""
    return max((t.address + t.size for t in step.tensors), default=0)


def initial_homes(step: LoweredStep, problem: pinn.ProblemOp, seed: int | None) -> np.ndarray:
    """The host's part of the DRAM before the first step: parameters from their inits, zero
    optimizer state, points and losses. The rest of the DRAM is working space (zeros) and the
    constant pool (from the program)."""
    homes = np.zeros(homes_end(step), np.float32)
    params = init_params(problem, seed)
    for t in step.tensors:
        if t.kind == "param":
            homes[t.address : t.address + t.size] = params[t.key].reshape(-1)
    return homes


def assembly(step: LoweredStep, title: str) -> str:
    """The program's assembly text: a header, then one instruction per line with its note."""
    words = step.program.words
    lines = [f"; {line}" for line in title.splitlines()]
    lines.append(f"; {len(words)} instructions; DRAM homes:")
    lines += [f";   {t.name}: {t.kind} {t.key} at {t.address}, {_shape(t)}" for t in step.tensors]
    for word, note in zip(words, step.notes, strict=True):
        text = disassemble_word(word)
        lines.append(f"{text}  ; {note}" if note else text)
    return "\n".join(lines) + "\n"


def _shape(t: HostTensor) -> str:
    return "x".join(map(str, t.shape)) or "scalar"


def problem_text(module: ModuleOp) -> str:
    problem = next(op for op in module.ops if isinstance(op, pinn.ProblemOp))
    out = StringIO()
    Printer(stream=out).print_op(problem)
    return out.getvalue() + "\n"


class PintaExecutable(Executable):
    """`@train_step` on the simulator, `@predict`/`@exact` on NumPy; the artifact directory."""

    def __init__(self, module: ModuleOp, title: str, config: HardwareConfig, pipeline: str = ""):
        op = next((o for o in module.ops if isinstance(o, pinta.ProgramOp)), None)
        if op is None:
            raise UserError("error: the module has no pinta.program (run lower-to-pinta first)")
        self.module = module
        self.title = title
        self.config = config
        self.pipeline = pipeline
        self.step = LoweredStep.of(op)
        host = NumpyTarget().build(module, title)
        self._train_step: PintaStep | None = None
        self.functions = dict(host.functions)
        self.functions["train_step"] = self._call_train_step

    @property
    def simulator(self) -> PintaStep:
        """The simulator running `@train_step` (made on the first call)."""
        if self._train_step is None:
            self._train_step = PintaStep(self.step, self.config)
        return self._train_step

    def _call_train_step(self, *args: Any) -> tuple[np.ndarray, ...]:
        return self.simulator(*args)

    @functools.cached_property
    def report(self) -> StepReport:
        """Cycles, traffic and energy of a step, from the program alone."""
        image = np.zeros(self.step.dram_words, np.float32)  # untouched pages cost nothing
        sim = Simulator(
            self.step.instructions,
            self.config,
            image,
            const_base=self.step.const_base,
            const_entries=len(self.step.constants),
        )
        return sim.report()

    def usage(self) -> dict[str, int]:
        """Bytes of the SPM and ACC the program addresses (the highest word used)."""
        high = {"spm": 0, "acc": 0}
        for ins in self.step.instructions:
            for a in ins.spec.accesses(ins, self.config):
                if a.memory in high and a.extent:
                    high[a.memory] = max(high[a.memory], a.start + a.extent)
        return {"spm": 4 * high["spm"], "acc": self.config.memory.acc_word_bytes * high["acc"]}

    def manifest(self, report: StepReport, seed: int | None) -> dict[str, Any]:
        step = self.step
        return {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "title": self.title,
            "pipeline": self.pipeline,
            "seed": seed,
            "arg_roles": step.arg_roles,
            "result_roles": step.result_roles,
            "tensors": [
                {
                    "name": t.name,
                    "kind": t.kind,
                    "key": t.key,
                    "address": t.address,
                    "shape": list(t.shape),
                }
                for t in step.tensors
            ],
            "constants": step.constants,
            "const_base": step.const_base,
            "dram_words": step.dram_words,
            "instructions": len(step.instructions),
            "instructions_by_class": dict(Counter(i.mnemonic for i in step.instructions)),
            "cycles_per_step": report.cycles,
            "clock_mhz": report.clock_mhz,
            "files": FILES,
        }

    def write(self, output: str | None) -> None:
        directory = Path(output if output not in (None, "-") else "pinta-program")
        check_directory(directory, "program directory")
        directory.mkdir(parents=True, exist_ok=True)
        problem = next(op for op in self.module.ops if isinstance(op, pinn.ProblemOp))
        seed = problem.train.get("seed") if problem.train is not None else None
        report = self.report
        homes = initial_homes(self.step, problem, seed)
        outputs = {
            "program": self.step.program.to_bytes(),
            "assembly": assembly(self.step, self.title).encode(),
            "dram": homes.astype("<f4").tobytes(),
            "manifest": (json.dumps(self.manifest(report, seed), indent=2) + "\n").encode(),
            "problem": problem_text(self.module).encode(),
            "hardware": config_toml(self.config).encode(),
        }
        for key, data in outputs.items():
            atomic_write(directory / FILES[key], lambda f, d=data: f.write(d), FILES[key])


class PintaTarget(Target):
    name = "pinta"
    description = "microcode for the PINTA accelerator, run by the bundled simulator"

    def __init__(self, hw: HardwareOptions | None = None):
        self.hw = hw or HardwareOptions()

    def lowering(self, batch: Mapping[str, int]) -> str | None:
        return self.hw.lowering(batch)

    def build(self, module: ModuleOp, title: str, pipeline: str = "") -> PintaExecutable:
        return PintaExecutable(module, title, self.hw.load(), pipeline)


class PintaSimTarget(PintaTarget):
    name = "pinta-sim"
    description = "as pinta, training on the simulator (pintac run)"


@dataclass
class ProgramDirectory:
    """A program directory written by `pintac compile` (`PintaExecutable.write`), read back."""

    path: Path
    manifest: dict[str, Any]
    step: LoweredStep
    image: np.ndarray
    config: HardwareConfig
    problem_text: str

    @classmethod
    def read(cls, path: str | Path, overrides: tuple[str, ...] = ()) -> ProgramDirectory:
        """Read and check every file; a missing or damaged one is a `UserError` naming it.
        `overrides` change the hardware configuration the program was compiled for."""
        if str(path) == "":  # Path("") is the current directory
            raise UserError("error: no program directory given (the path is empty)")
        path = Path(path)
        if not path.is_dir():
            raise UserError(f"{path}: error: not a program directory (pintac compile writes one)")
        manifest_path = path / FILES["manifest"]
        try:
            manifest = json.loads(manifest_path.read_text())
        except OSError as e:
            raise UserError(f"{manifest_path}: error: cannot read it: {e.strerror}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UserError(f"{manifest_path}: error: not a JSON manifest: {e}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            raise UserError(f"{manifest_path}: error: not a manifest of a PINTA program")
        if manifest.get("version") != MANIFEST_VERSION:
            raise UserError(
                f"{manifest_path}: error: manifest version {manifest.get('version')}; this "
                f"pintac reads version {MANIFEST_VERSION} (compile the problem again)"
            )
        try:
            step = _manifest_step(manifest, path / FILES["program"])
        except _Damaged as e:
            raise UserError(f"{manifest_path}: error: a damaged manifest: {e}") from None
        step.notes = [""] * len(step.instructions)
        image_path = path / FILES["dram"]
        try:
            data = image_path.read_bytes()
        except OSError as e:
            raise UserError(f"{image_path}: error: cannot read it: {e.strerror}") from None
        if len(data) % 4:
            raise UserError(f"{image_path}: error: {len(data)} bytes, not whole 4-byte words")
        homes = np.frombuffer(data, dtype="<f4").astype(np.float32)
        if homes.size != homes_end(step):
            raise UserError(
                f"{image_path}: error: {homes.size} words; the program's tensors take "
                f"{homes_end(step)}"
            )
        config = load_config(path / FILES["hardware"], list(overrides))
        if step.dram_words > config.dram_words:
            raise UserError(
                f"{manifest_path}: error: the program takes {step.dram_words} DRAM words, more "
                f"than the hardware has ({config.dram_words} words, memory.dram_bytes)"
            )
        image = step.image()
        image[: homes.size] = homes
        where = path / FILES["problem"]
        try:
            problem = where.read_text()
        except OSError as e:
            raise UserError(f"{where}: error: cannot read it: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise UserError(f"{where}: error: not UTF-8 text (byte {e.start})") from None
        return cls(path, manifest, step, image, config, problem)


TENSOR_KINDS = ("param", "state", "points", "loss")


class _Damaged(Exception):
    """A key of a manifest missing, or with a value of the wrong kind (the message names it)."""


def _entry(table: Any, key: str, ok, expected: str, where: str = "") -> Any:
    """`table[key]` if `ok(value)`; else `_Damaged` naming the key, the value and what it
    should be."""
    if not isinstance(table, dict) or key not in table:
        raise _Damaged(f"no key '{where}{key}'")
    value = table[key]
    if not ok(value):
        shown = json.dumps(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise _Damaged(f"'{where}{key}' is {shown}, expected {expected}")
    return value


def _is_count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _manifest_step(manifest: dict[str, Any], program: Path) -> LoweredStep:
    """The lowered step a manifest describes, with its program's instructions; `_Damaged` for
    a key missing or out of range: every tensor and the constant pool must lie in the
    program's DRAM."""
    _entry(manifest, "pipeline", lambda v: isinstance(v, str) and v, "a pipeline")
    if manifest.get("seed") is not None:
        _entry(manifest, "seed", lambda v: _is_count(v) and v < 2**64, "null or 0 to 2^64-1")
    arg_roles = _entry(manifest, "arg_roles", _is_strings, "a list of roles")
    result_roles = _entry(manifest, "result_roles", _is_strings, "a list of roles")
    numbers = _entry(
        manifest,
        "constants",
        lambda v: isinstance(v, list) and all(type(c) in (int, float) for c in v),
        "a list of numbers",
    )
    const_base = _entry(manifest, "const_base", _is_count, "a DRAM address")
    dram_words = _entry(manifest, "dram_words", _is_count, "a number of DRAM words")
    tensors = []
    for i, t in enumerate(_entry(manifest, "tensors", lambda v: isinstance(v, list), "a list")):
        where = f"tensors[{i}]."
        tensor = HostTensor(
            _entry(t, "name", lambda v: isinstance(v, str), "a name", where),
            _entry(t, "kind", lambda v: v in TENSOR_KINDS, " or ".join(TENSOR_KINDS), where),
            _entry(t, "key", lambda v: isinstance(v, str), "a name", where),
            _entry(t, "address", _is_count, "a DRAM address", where),
            tuple(
                _entry(
                    t,
                    "shape",
                    lambda v: isinstance(v, list) and all(type(d) is int and d > 0 for d in v),
                    "a list of sizes",
                    where,
                )
            ),
        )
        if tensor.address + tensor.size > dram_words:
            raise _Damaged(
                f"'{where}address': the tensor {tensor.name} (words {tensor.address} to "
                f"{tensor.address + tensor.size}) lies outside the program's {dram_words} "
                "DRAM words"
            )
        tensors.append(tensor)
    constants = [float(c) for c in numbers]
    if const_base + 2 * len(constants) > dram_words:
        raise _Damaged(
            f"'const_base': the constant pool (words {const_base} to "
            f"{const_base + 2 * len(constants)}) lies outside the program's {dram_words} DRAM "
            "words"
        )
    return LoweredStep(
        name="train_step",
        arg_roles=list(arg_roles),
        result_roles=list(result_roles),
        instructions=read_program(program).instructions(),
        notes=[],
        tensors=tensors,
        constants=constants,
        const_base=const_base,
        dram_words=dram_words,
    )
