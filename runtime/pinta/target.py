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
                        cycles, the files, and what ties them together (below)
    DIR/problem.mlir    the problem, for the host's sampling and evaluation (`pintac sim`)
    DIR/hardware.toml   the hardware configuration the program was compiled for

Every file is computed before the first is written. A new directory appears whole: its files
are written into a temporary sibling, which is renamed into place. In an existing directory
each file is replaced atomically (a symbolic link is replaced, never written through), the
manifest last.

The manifest ties the files together: `instructions` and `program_sha256` (program.bin),
`dram_image_bytes` and `dram_image_sha256` (dram.img), `problem_sha256` (problem.mlir) and
`identity`, the SHA-256 of the pipeline, a newline and problem.mlir: what the program was
compiled from. `ProgramDirectory.read` checks a directory whole before it runs: every key of
the manifest (types, ranges, finite numbers; tensor homes disjoint, inside the DRAM and clear
of the constant pool), each file against it, and that the program writes every parameter and
every loss. Only regular files are read, each refused from its size before it is read.
Whatever does not match is a `UserError` naming the file and what differs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import secrets
import shutil
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.printer import Printer

from pintac.core.errors import UserError
from pintac.dialects import pinn, pinta
from pintac.runtime.files import atomic_write, check_directory
from pintac.runtime.init import init_params
from pintac.runtime.inputs import (
    MAX_SOURCE_BYTES,
    check_nesting,
    input_size,
    plain,
    read_bytes,
    read_text,
    shown,
)
from pintac.runtime.numpy_target import NumpyTarget
from pintac.runtime.pinta.asm import disassemble_word
from pintac.runtime.pinta.codes import ADDRESS_BITS
from pintac.runtime.pinta.config import HardwareConfig, config_toml, load_config
from pintac.runtime.pinta.lowered import HostTensor, LoweredStep, PintaStep
from pintac.runtime.pinta.program import MAX_INSTRUCTIONS, Program, read_program
from pintac.runtime.pinta.report import StepReport
from pintac.runtime.pinta.simulator import Simulator
from pintac.runtime.targets import Executable, Target

MANIFEST_FORMAT = "pintac-pinta-program"
MANIFEST_VERSION = 2
FILES = {
    "program": "program.bin",
    "assembly": "program.pasm",
    "dram": "dram.img",
    "manifest": "manifest.json",
    "problem": "problem.mlir",
    "hardware": "hardware.toml",
}
# The largest manifest read: pintac's are a few KB (a few hundred tensors, at most 4096
# constants).
MAX_MANIFEST_BYTES = 2 << 20


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


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def identity(pipeline: str, problem: bytes) -> str:
    """What a program was compiled from: the SHA-256 of its pipeline, a newline and the text
    of its problem (problem.mlir). Any edit of either changes it."""
    return sha256(pipeline.encode() + b"\n" + problem)


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

    def manifest(
        self, report: StepReport, seed: int | None, files: Mapping[str, bytes]
    ) -> dict[str, Any]:
        """The manifest of the program directory whose other files are `files` (by FILES
        key)."""
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
            "program_sha256": sha256(files["program"]),
            "dram_image_bytes": len(files["dram"]),
            "dram_image_sha256": sha256(files["dram"]),
            "problem_sha256": sha256(files["problem"]),
            "identity": identity(self.pipeline, files["problem"]),
            "instructions_by_class": dict(Counter(i.mnemonic for i in step.instructions)),
            "cycles_per_step": report.cycles,
            "clock_mhz": report.clock_mhz,
            "files": FILES,
        }

    def files(self) -> dict[str, bytes]:
        """The files of the program directory by FILES key, the manifest last."""
        problem = next(op for op in self.module.ops if isinstance(op, pinn.ProblemOp))
        seed = problem.train.get("seed") if problem.train is not None else None
        report = self.report
        files = {
            "program": self.step.program.to_bytes(),
            "assembly": assembly(self.step, self.title).encode(),
            "dram": initial_homes(self.step, problem, seed).astype("<f4").tobytes(),
            "problem": problem_text(self.module).encode(),
            "hardware": config_toml(self.config).encode(),
        }
        manifest = self.manifest(report, seed, files)
        files["manifest"] = (json.dumps(manifest, indent=2) + "\n").encode()
        return files

    def write(self, output: str | None) -> None:
        """Write the program directory `output` (see the module doc): all or nothing."""
        directory = Path(output if output not in (None, "-") else "pinta-program")
        check_directory(directory, "program directory")
        files = {FILES[key]: data for key, data in self.files().items()}
        if os.path.lexists(directory):
            for name, data in files.items():
                atomic_write(directory / name, lambda f, d=data: f.write(d), name)
        else:
            _create_directory(directory, files)


def _create_directory(directory: Path, files: Mapping[str, bytes]) -> None:
    """Create `directory` holding `files` (name: bytes), whole or not at all: they are written
    into a temporary sibling, which is renamed into place."""
    what = "program directory"
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = directory.parent / f".{directory.name}.{secrets.token_hex(4)}.tmp"
        staging.mkdir()  # with the permissions a plain mkdir gives
    except OSError as e:
        raise UserError(f"{directory}: error: cannot write the {what}: {e.strerror}") from None
    try:
        for name, data in files.items():
            atomic_write(staging / name, lambda f, d=data: f.write(d), name)
        os.rename(staging, directory)
        staging = None
    except OSError as e:  # the directory appeared meanwhile, with files in it
        raise UserError(f"{directory}: error: cannot write the {what}: {e.strerror}") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


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
    def read(
        cls,
        path: str | Path,
        overrides: tuple[str, ...] = (),
        *,
        hardware: str | Path | None = None,
    ) -> ProgramDirectory:
        """Read and check every file (see the module doc); whatever is missing, damaged or
        not what the manifest says is a `UserError` naming the file. The hardware is the
        directory's hardware.toml, or the file `hardware`, changed by `overrides`
        ("section.key=value")."""
        if str(path) == "":  # Path("") is the current directory
            raise UserError("error: no program directory given (the path is empty)")
        path = Path(path)
        if not path.is_dir():
            raise UserError(f"{path}: error: not a program directory (pintac compile writes one)")
        manifest_path = path / FILES["manifest"]
        manifest = _read_manifest(manifest_path)
        try:
            step = _manifest_step(manifest)
        except _Damaged as e:
            raise UserError(f"{manifest_path}: error: a damaged manifest: {e}") from None
        config = load_config(path / FILES["hardware"] if hardware is None else hardware, overrides)
        if step.dram_words > config.dram_words:
            raise UserError(
                f"{manifest_path}: error: the program takes {step.dram_words} DRAM words, more "
                f"than the hardware has ({config.dram_words} words, memory.dram_bytes)"
            )
        program_path = path / FILES["program"]
        step.instructions = _read_program(program_path, manifest).instructions()
        step.notes = [""] * len(step.instructions)
        image = step.image()
        homes = _read_image(path / FILES["dram"], manifest)
        image[: homes.size] = homes
        problem = _read_problem(path / FILES["problem"], manifest_path, manifest)
        _check_writes(step, config, program_path)
        return cls(path, manifest, step, image, config, problem)


def _read_manifest(path: Path) -> dict[str, Any]:
    """The manifest's JSON object, of this format and version."""
    text = read_text(path, "the manifest", MAX_MANIFEST_BYTES)
    check_nesting(text, str(path), "json")
    try:
        manifest = json.loads(text)
    except ValueError as e:  # a JSONDecodeError, or an integer too long to convert
        raise UserError(f"{path}: error: not a JSON manifest: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise UserError(f"{path}: error: not a manifest of a PINTA program")
    if manifest.get("version") != MANIFEST_VERSION:
        raise UserError(
            f"{path}: error: manifest version {_json(manifest.get('version'))}; this pintac "
            f"reads version {MANIFEST_VERSION} (compile the problem again)"
        )
    return manifest


def _read_program(path: Path, manifest: dict[str, Any]) -> Program:
    """program.bin, of the length and SHA-256 the manifest says."""
    program = read_program(path)
    if len(program) != manifest["instructions"]:
        raise UserError(
            f"{path}: error: the program has {len(program)} instructions; the manifest says "
            f"{manifest['instructions']}"
        )
    if sha256(program.to_bytes()) != manifest["program_sha256"]:  # the file's bytes, checked
        raise _differs(path, "program", "program_sha256")
    return program


def _read_image(path: Path, manifest: dict[str, Any]) -> np.ndarray:
    """dram.img, of the size and SHA-256 the manifest says, as float32 words."""
    size = input_size(path, "the DRAM image")
    if size % 4:
        raise UserError(f"{path}: error: the DRAM image is {size} bytes, not whole 4-byte words")
    if size != manifest["dram_image_bytes"]:
        raise UserError(
            f"{path}: error: the DRAM image is {size} bytes; the manifest says "
            f"{manifest['dram_image_bytes']}"
        )
    data = read_bytes(path, "the DRAM image", size)
    if sha256(data) != manifest["dram_image_sha256"]:
        raise _differs(path, "DRAM image", "dram_image_sha256")
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


def _read_problem(path: Path, manifest_path: Path, manifest: dict[str, Any]) -> str:
    """problem.mlir, the one the program was compiled from, with the manifest's pipeline."""
    text = read_text(path, "the problem", MAX_SOURCE_BYTES)
    data = text.encode()
    if sha256(data) != manifest["problem_sha256"]:
        raise UserError(
            f"{path}: error: not the problem the program was compiled from: its SHA-256 differs "
            "from the manifest's 'problem_sha256'; compile the problem again"
        )
    if identity(manifest["pipeline"], data) != manifest["identity"]:
        raise UserError(
            f"{manifest_path}: error: the program was not compiled with the pipeline "
            f"{shown(manifest['pipeline'])} of the manifest (its 'identity' differs); compile "
            "the problem again"
        )
    return text


def _differs(path: Path, what: str, key: str) -> UserError:
    return UserError(
        f"{path}: error: not the {what} of this directory: its SHA-256 differs from the "
        f"manifest's '{key}'"
    )


def _check_writes(step: LoweredStep, config: HardwareConfig, program: Path) -> None:
    """A UserError if no instruction writes some word of a parameter or loss home: such a
    program cannot train the parameter, or reports a loss it never computed."""
    end = homes_end(step)
    written = np.zeros(end, bool)
    for ins in step.instructions:
        for a in ins.spec.accesses(ins, config):
            if a.memory == "dram" and a.write and a.start < end and a.extent:
                _mark(written, a.start, a.rows, a.cols, a.stride)
    for t in step.tensors:
        if t.kind not in ("param", "loss"):
            continue
        missing = np.flatnonzero(~written[t.address : t.address + t.size])
        if missing.size == 0:
            continue
        name = "the loss" if (t.kind, t.key) == ("loss", "loss") else f"{t.kind} {plain(t.key)}"
        home = _words(t.address, t.size)
        if missing.size < t.size:
            name = f"{_words(t.address + int(missing[0]), 1)} of {name}"
        consequence = "train it" if t.kind == "param" else "report it"
        raise UserError(
            f"{program}: error: no instruction writes {name} ({home}): the program cannot "
            f"{consequence}"
        )


def _mark(written: np.ndarray, start: int, rows: int, cols: int, stride: int) -> None:
    """Mark the words of a DRAM region (`rows` runs of `cols` words, `stride` apart) that lie
    in `written`."""
    if rows == 1 or stride <= cols:  # the runs touch or overlap: one run
        written[start : start + (rows - 1) * stride + cols] = True
        return
    rows = min(rows, -(-(written.size - start) // stride))  # the rows that start inside
    words = (start + stride * np.arange(rows)[:, None] + np.arange(cols)).ravel()
    written[words[words < written.size]] = True


def _words(address: int, size: int) -> str:
    return f"DRAM word {address}" if size == 1 else f"DRAM words [{address}, {address + size})"


class _Damaged(Exception):
    """A key of a manifest missing, or with a value of the wrong kind (the message names it)."""


def _json(value: Any) -> str:
    """A manifest's value for a message: as JSON (escaped), at most 40 characters."""
    try:
        text = json.dumps(value)
    except ValueError:  # an integer too long to convert
        text = "an integer of thousands of digits"
    return text if len(text) <= 40 else text[:37] + "..."


def _entry(table: Any, key: str, ok, expected: str, where: str = "") -> Any:
    """`table[key]` if `ok(value)`; else `_Damaged` naming the key, the value and what it
    should be."""
    if not isinstance(table, dict) or key not in table:
        raise _Damaged(f"no key '{where}{key}'")
    value = table[key]
    if not ok(value):
        raise _Damaged(f"'{where}{key}' is {_json(value)}, expected {expected}")
    return value


def _is_count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and value.isprintable() and value != ""


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and all(_is_name(v) for v in value)


def _is_finite(value: Any) -> bool:
    if type(value) not in (int, float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer beyond any float
        return False


def _is_sha256(value: Any) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


MAX_RANK = 8
MAX_CONSTANTS = 1 << ADDRESS_BITS["const"]


def _is_shape(value: Any) -> bool:
    """Sizes of at most as many elements as a DRAM holds (so NumPy's product is exact)."""
    return (
        isinstance(value, list)
        and len(value) <= MAX_RANK
        and all(type(d) is int and d > 0 for d in value)
        and math.prod(value) <= 1 << ADDRESS_BITS["dram"]
    )


def _manifest_step(manifest: dict[str, Any]) -> LoweredStep:
    """The lowered step a manifest describes, without its instructions; `_Damaged` for a key
    missing, of the wrong type or out of range: every tensor and the constant pool must lie
    in the program's DRAM, apart from each other."""
    _entry(manifest, "pipeline", _is_name, "a pipeline")
    if manifest.get("seed") is not None:
        _entry(manifest, "seed", lambda v: _is_count(v) and v < 2**64, "null or 0 to 2^64-1")
    arg_roles = _entry(manifest, "arg_roles", _is_names, "a list of roles")
    result_roles = _entry(manifest, "result_roles", _is_names, "a list of roles")
    numbers = _entry(
        manifest,
        "constants",
        lambda v: isinstance(v, list) and len(v) <= MAX_CONSTANTS,
        f"a list of at most {MAX_CONSTANTS} numbers",
    )
    for i, number in enumerate(numbers):
        if not _is_finite(number):
            raise _Damaged(f"'constants[{i}]' is {_json(number)}, expected a finite number")
    const_base = _entry(manifest, "const_base", _is_count, "a DRAM address")
    dram_words = _entry(manifest, "dram_words", _is_count, "a number of DRAM words")
    _entry(
        manifest,
        "instructions",
        lambda v: _is_count(v) and 0 < v <= MAX_INSTRUCTIONS,
        f"a number of instructions, 1 to {MAX_INSTRUCTIONS}",
    )
    for key in ("program_sha256", "dram_image_sha256", "problem_sha256", "identity"):
        _entry(manifest, key, _is_sha256, "a SHA-256 (64 hexadecimal digits)")
    image_bytes = _entry(manifest, "dram_image_bytes", _is_count, "a number of bytes")
    tensors = []
    for i, t in enumerate(_entry(manifest, "tensors", lambda v: isinstance(v, list), "a list")):
        where = f"tensors[{i}]."
        tensor = HostTensor(
            _entry(t, "name", _is_name, "a name", where),
            _entry(
                t, "kind", lambda v: v in pinta.TENSOR_KINDS, " or ".join(pinta.TENSOR_KINDS), where
            ),
            _entry(t, "key", _is_name, "a name", where),
            _entry(t, "address", _is_count, "a DRAM address", where),
            tuple(_entry(t, "shape", _is_shape, "a list of sizes", where)),
        )
        if _end(tensor) > dram_words:
            raise _Damaged(
                f"'{where}address': the tensor {plain(tensor.name)} (words {tensor.address} to "
                f"{_end(tensor)}) lies outside the program's {dram_words} DRAM words"
            )
        tensors.append(tensor)
    constants = [float(c) for c in numbers]
    pool = 2 * len(constants)
    if const_base + pool > dram_words:
        raise _Damaged(
            f"'const_base': the constant pool (words {const_base} to {const_base + pool}) lies "
            f"outside the program's {dram_words} DRAM words"
        )
    _check_homes(tensors, const_base, pool)
    end = max((_end(t) for t in tensors), default=0)
    if pool and const_base < end:
        raise _Damaged(
            f"'const_base': the constant pool ({_words(const_base, pool)}) lies among the "
            f"tensors' homes, which the DRAM image (words 0 to {end}) overwrites"
        )
    if image_bytes != 4 * end:
        raise _Damaged(f"'dram_image_bytes' is {image_bytes}; the tensors take {4 * end} bytes")
    return LoweredStep(
        name="train_step",
        arg_roles=list(arg_roles),
        result_roles=list(result_roles),
        instructions=[],
        notes=[],
        tensors=tensors,
        constants=constants,
        const_base=const_base,
        dram_words=dram_words,
    )


def _check_homes(tensors: list[HostTensor], const_base: int, pool: int) -> None:
    """`_Damaged` naming two tensors whose DRAM homes overlap, or a tensor in the constant
    pool."""
    reach = None  # of the tensors so far, the index of the one that reaches furthest
    for i in sorted(range(len(tensors)), key=lambda i: (tensors[i].address, i)):
        t = tensors[i]
        where = f"'tensors[{i}].address'"
        home = f"{plain(t.name)} ({_words(t.address, t.size)})"
        if reach is not None and t.address < _end(tensors[reach]):
            other = tensors[reach]
            raise _Damaged(
                f"{where}: {home} overlaps {plain(other.name)} "
                f"({_words(other.address, other.size)})"
            )
        if pool and t.address < const_base + pool and const_base < _end(t):
            raise _Damaged(
                f"{where}: {home} overlaps the constant pool ({_words(const_base, pool)})"
            )
        if reach is None or _end(t) > _end(tensors[reach]):
            reach = i


def _end(t: HostTensor) -> int:
    return t.address + t.size
