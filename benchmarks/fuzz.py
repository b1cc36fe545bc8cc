"""Fuzz pintac's command line: random argument vectors for every subcommand, mutated IR,
program directories that lie, inputs that are not regular files, outputs that are inputs.

    python benchmarks/fuzz.py                          # 10 000 cases, seed 0
    python benchmarks/fuzz.py --count 20000 --seed 7 --json fuzz.json

Every case calls `pintac.cli.main(argv)` in this process, in a sandbox directory holding
inputs, trained checkpoints and reports, PINTA program directories, assembly and hardware
configurations, and paths that are directories, missing, under a file or unwritable (`/proc`).
Values are drawn by hypothesis from each option's domain and its edges: negative, zero, huge,
beyond 64 bits, not numbers, empty. Mutated IR comes from the problems in `examples/`:
truncated, bytes flipped, tokens swapped or duplicated, numbers replaced by extreme ones,
nested absurdly deep; mutated problems in the PDE language (`examples/*.pde`) must build
or fail with an error located in the file. The PINTA commands get program directories with a file missing,
truncated, corrupted or edited to nonsense, programs whose instructions have fields changed
(still valid encodings, so the simulator's checks see them), assembly with unknown mnemonics,
fields and out-of-range operands, and hardware configurations with unknown keys and bad or
extreme values.

Three generators attack what a user has. `progdir` gives `pintac sim` program directories
that lie: the program of the other pipeline, the manifest's pipeline or instruction count or
the problem's learning rate (and other training settings) edited, a program that only halts,
two tensors at one address or one past the DRAM, constants beyond any float, a manifest or
hardware configuration nested 100 000 deep (also as `--hw` of compile, run and sim), files
missing; and, as the control, the directory as compiled. `filetype` gives every
command inputs that are a FIFO, a device, a directory, a symbolic link (to a copy outside the
sandbox, or to nothing) or a sparse 4 GiB file, and outputs that are symbolic links to a file
outside the sandbox. `aliasing` points every output option of every command at one of its
inputs: by its name, another spelling, a hard or a symbolic link, `compile problem.mlir -o .`.

A case fails when
- `main` raises or prints a traceback, or returns a status other than 0 or 1;
- it runs past the time limit (`--time-limit`): a hang;
- it changes an input: every file a case can read, and the files outside the sandbox that
  links point to, are hashed when the sandbox is set up (sha256 of the bytes, the mode, a
  link's target); after each case every input whose `lstat` changed is hashed again, and one
  that differs is reported and put back;
- it runs out of memory on a small or endless input (the address space is capped, so reading
  `/dev/zero` ends in a MemoryError instead of taking the machine's memory);
- a case built to be refused (damage, an output onto an input) exits 0, or is refused only
  by the option parser (the option it attacks does not exist);
- a control (the attacked command with a regular, undamaged input) does not exit 0.

The script prints how many cases ended how (exit 0, exit 1 by the kind of error reported),
the failures by kind with reproducers, the slowest cases, and exits 1 if any case failed.
`tests/cli/test_fuzz.py` runs the same generators for a few hundred cases under pytest.

Training is kept to a step or two of tiny problems (`TINY`, `TINY_HEAT`), and PINTA
programs are compiled from them, so most of the time goes to `pintac opt` and `pintac compile`
cases.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import time
import traceback
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.mlir"))


def _cli_helpers():
    """`tests/cli/cli_helpers.py`: the tiny problem the command-line tests use."""
    spec = importlib.util.spec_from_file_location(
        "pintac_cli_helpers", ROOT / "tests" / "cli" / "cli_helpers.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# A 2-D Poisson problem small enough that compiling, a step and an evaluation take milliseconds.
tiny_text = _cli_helpers().tiny_text
TINY = tiny_text(4)

# The same network in 1-D with time: u_t = u_xx.
TINY_HEAT = (
    """pinn.problem @tiny_heat {
  pinn.domain @q box [0.0] to [1.0] time [0.0, 1.0]
"""
    + TINY[TINY.index("  pinn.param") : TINY.index("  pinn.residual")]
    + """  pinn.residual @pde on @q weight 1.0 (%p : tensor<?x2xf32>) {
    %ut = pinn.partial @u(%p) dim 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    %uxx = pinn.laplacian @u(%p) dims 0 to 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    %r = arith.subf %ut, %uxx : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.boundary @initial on initial(@q) weight 10.0 (%p : tensor<?x2xf32>) {
    %u = pinn.eval @u(%p) : tensor<?x2xf32> -> tensor<?x1xf32>
    %x = pinn.slice %p dims 0 to 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    %r = arith.subf %u, %x : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.exact of @u (%p : tensor<?x2xf32>) {
    %x = pinn.slice %p dims 0 to 1 : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %x : tensor<?x1xf32>
  }
  pinn.train {optimizer = "adam", lr = 1.0e-2, schedule = "constant", steps = 2,
              batch = {pde = 8, initial = 8}, pairs = 2, sigma = 0.1, eval_points = 64}
}
"""
)

# ------------------------------------------------------------------ values at the edges

OUT_OF_RANGE = [
    "-1",
    "-5",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "1" + "0" * 30,
    "-" + "9" * 40,
    "9" * 5000,
]
NOT_INTEGERS = [
    "",
    " ",
    "abc",
    "1e3",
    "1.5",
    "0x10",
    "nan",
    "inf",
    "-inf",
    "1_000",
    "٣",
    "２",
    "1 2",
    "--",
    "-0.0",
]
ANY_INTS = ["0", "-0", "1", "+2", "3", "17", "100", "4294967295", "18446744073709551615"]
FLOATS = ["0.5", "1e-3", "1.0e-3", "0", "-1", "1", "nan", "inf", "-inf", "1e999", "x", "", ".5"]


def int_texts(*valid: str):
    """Integers as text: the valid ones given, and every kind of invalid one."""
    return st.one_of(
        st.sampled_from(valid) if valid else st.nothing(),
        st.sampled_from(OUT_OF_RANGE + NOT_INTEGERS),
        st.integers(-(2**70), -1).map(str),
        st.integers(2**64, 2**80).map(str),
        st.text(max_size=6),
    )


def any_int_texts():
    """Integers for options where every valid value is cheap (seeds, intervals)."""
    return st.one_of(
        int_texts(*ANY_INTS), st.integers(0, 2**64 - 1).map(str), st.integers().map(str)
    )


# PINTA hardware configurations (hw/NAME in the sandbox): one good, the others wrong in one way.
HW_FILES = {
    "good.toml": "[gemm]\npes = 8\n\n[dram]\nbytes_per_cycle = 32\n\n[sfu.cycles]\ntanh = 3\n",
    "unknown.toml": "[gemm]\npe = 4\n",
    "section.toml": "[gemmm]\npes = 4\n",
    "toplevel.toml": "pes = 4\n[gemm]\n",
    "badvalue.toml": '[gemm]\npes = "many"\n',
    "negative.toml": "[dram]\nlatency = -1\n",
    "small.toml": "[memory]\nspm_bytes = 64\n",  # too small to hold a layer
    "huge.toml": "[memory]\nspm_bytes = 1099511627776\n",  # beyond the SPM address width
    "extreme.toml": "[clock]\nmhz = 1e-3\n[energy]\ndram_64b = 1e308\nspm_64b = 1e308\n",
    "invalid.toml": "[gemm\npes = \n",
    "empty.toml": "",
}
HW_PATHS = [f"hw/{name}" for name in [*HW_FILES, "binary.toml"]] + [
    "missing.toml",
    "dir",
    "file",
    "inputs/tiny.mlir",
    "",
]
# `--hw-set KEY=VALUE`: keys that exist and keys that do not, values of every kind.
HW_KEYS = [
    "gemm.pes",
    "gemm.pe_rows",
    "gemm.slices",
    "gemm.latency",
    "memory.spm_bytes",
    "memory.acc_bytes",
    "memory.acc_word_bytes",
    "memory.dram_bytes",
    "memory.const_entries",
    "dram.bytes_per_cycle",
    "dram.latency",
    "vector.lanes",
    "sfu.lanes",
    "sfu.cycles.tanh",
    "sfu.grad_cycles.sin",
    "quant.lanes",
    "rng.normals_per_cycle",
    "clock.mhz",
    "energy.dram_64b",
    "energy.fp32_mult",
]
BAD_HW_KEYS = [
    "gemm.pe",
    "gemm",
    "nosuch.key",
    "gemm.pes.x",
    "sfu.cycles",
    "sfu.cycles.relu",
    "",
    ".",
    "GEMM.PES",
    "memory..spm_bytes",
    "clock.mhz.x",
    "énergie.x",
]
HW_VALUES = [
    "1",
    "2",
    "4",
    "8",
    "32",
    "64",
    "1048576",
    "0",
    "-1",
    "3",
    "1.5",
    "8.0",
    "1e3",
    "0.001",
    "1e-300",
    "1e308",
    "1e400",
    "nan",
    "inf",
    "-inf",
    "true",
    '"8"',
    "[8]",
    "{a = 1}",
    "1979-05-27",
    "",
    "x",
    "0x10",
    "1_000",
    "4294967296",
    "18446744073709551616",
    "9" * 40,
    "9" * 5000,
]
VALID_HW_SETS = [
    "gemm.pes=8",
    "gemm.pes=1",
    "dram.bytes_per_cycle=32",
    "dram.latency=0",
    "sfu.cycles.tanh=4",
    "clock.mhz=250.0",
    "memory.spm_bytes=1048576",
    "memory.spm_bytes=64",
    "energy.dram_64b=0",
]


def hw_sets():
    """`--hw-set` values: a key (known or not) = a value (of any kind), or something that is
    not KEY=VALUE at all."""
    return st.one_of(
        st.tuples(st.sampled_from(HW_KEYS + BAD_HW_KEYS), st.sampled_from(HW_VALUES)).map("=".join),
        st.sampled_from(VALID_HW_SETS),
        st.sampled_from(["gemm.pes", "=", "==", "gemm.pes==4", " gemm.pes = 4 ", "a=b=c"]),
    )


def _more_hw_sets(draw, argv: list[str], values) -> list[str]:
    """`--hw-set` repeats: sometimes one or two more."""
    for _ in range(draw(st.integers(0, 6)) // 3):
        argv += ["--hw-set", draw(values)]
    return argv


# ------------------------------------------------------------------ the sandbox


@dataclass
class Sandbox:
    """A directory with everything the cases use. Paths in argument vectors are relative to it
    (the cases run with it as the working directory)."""

    root: Path
    pipelines: list[str] = field(default_factory=list)
    passes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    program: dict[str, bytes] = field(default_factory=dict)  # the files of prog/tiny.pinta
    assembly: dict[str, bytes] = field(default_factory=dict)  # pasm/*.pasm
    # the files of the tiny problem compiled by each of BASE_PIPELINES (prog/tiny*.pinta)
    bases: dict[str, dict[str, bytes]] = field(default_factory=dict)
    halt: bytes = b""  # a program file that only halts
    inputs: Inputs | None = None  # every file the cases read, fingerprinted

    @property
    def outside(self) -> Path:
        """A directory beside the sandbox, which symbolic links in it point into."""
        return self.root.with_name(self.root.name + "-outside")

    def resolve(self, text: str) -> str:
        """An argument or a link target with `@root/` or `@outside/` made an absolute path."""
        for prefix, path in (("@root/", self.root), ("@outside/", self.outside)):
            if text.startswith(prefix):
                return str(path / text[len(prefix) :])
        return text

    def setup(self) -> Sandbox:
        from pintac.cli import main
        from pintac.pass_manager import option_type_name, pass_options
        from pintac.pipelines import PIPELINES
        from pintac.registry import available_passes

        r = self.root
        for sub in ("inputs", "dir", "out", "tmp", "mut"):
            (r / sub).mkdir(parents=True, exist_ok=True)
        (r / "file").write_text("a regular file\n")
        for example in EXAMPLES:
            (r / "inputs" / example.name).write_bytes(example.read_bytes())
        (r / "inputs" / "tiny.mlir").write_text(TINY)
        (r / "inputs" / "tiny_heat.mlir").write_text(TINY_HEAT)
        start = TINY.index("  pinn.exact")
        end = TINY.index("  pinn.train")
        (r / "inputs" / "noexact.mlir").write_text(TINY[:start] + TINY[end:])
        (r / "inputs" / "broken.mlir").write_text(TINY[: len(TINY) // 2])
        (r / "inputs" / "binary.mlir").write_bytes(bytes(range(256)))
        with _quiet():
            for name, problem in (("tiny", "tiny"), ("heat", "tiny_heat")):
                argv = ["run", f"inputs/{problem}.mlir", "--quiet", "--steps", "2"]
                argv += ["--report", f"trained/{name}.json", "--checkpoint", f"trained/{name}"]
                with _cwd(r):
                    code = main(argv)
                if code != 0:
                    raise RuntimeError(f"setting up the fuzz sandbox failed: {argv}")
        (r / "trained" / "bad.json").write_text("{not json")
        (r / "trained" / "bad.npz").write_bytes(b"PK\x03\x04 not really a zip")
        points = np.random.default_rng(0).random((16, 2), dtype=np.float64).astype(np.float32)
        np.save(r / "inputs" / "points.npy", points)
        np.savez(r / "inputs" / "points.npz", x=points)
        np.save(r / "inputs" / "points3.npy", np.zeros((4, 3), np.float32))
        np.save(r / "inputs" / "nan.npy", np.full((4, 2), np.nan, np.float32))
        np.save(r / "inputs" / "objects.npy", np.zeros((2, 2), np.complex64))
        (r / "inputs" / "points.csv").write_text("x0,x1\n0.1,0.2\n0.3,0.4\n")
        (r / "inputs" / "bad.csv").write_text("0.1,0.2\n0.3\nx,y\n")
        (r / "inputs" / "empty.csv").write_text("")
        self._setup_pinta()
        self.pipelines = list(PIPELINES)
        for name, factory in sorted(available_passes().items()):
            cls = factory()
            self.passes[name] = [
                (f.name.replace("_", "-"), option_type_name(cls, f)) for f in pass_options(cls)
            ]
        self._setup_program_bases()
        self._setup_file_types()
        self._setup_aliases()
        self.inputs = Inputs()
        self.inputs.add_tree(r, skip=OUTPUT_AREAS)
        self.inputs.add_tree(self.outside)
        return self

    def _setup_pinta(self) -> None:
        """Program directories compiled from the tiny problems, and damaged copies of one;
        their assembly and program files; hardware configurations good and bad."""
        from pintac.cli import main

        r = self.root
        for sub in ("prog", "pasm", "bin", "hw"):
            (r / sub).mkdir(parents=True, exist_ok=True)
        for name, text in HW_FILES.items():
            (r / "hw" / name).write_text(text)
        (r / "hw" / "binary.toml").write_bytes(bytes(range(256)))
        with _quiet(), _cwd(r):
            for argv in (
                ["compile", "inputs/tiny.mlir", "--pipeline", BASE_PIPELINES[0]]
                + ["-o", "prog/tiny.pinta"],
                ["compile", "inputs/tiny_heat.mlir", "--pipeline", "smx-diff"]
                + ["-o", "prog/heat.pinta"],
                ["disasm", "prog/tiny.pinta/program.bin", "-o", "pasm/canonical.pasm"],
            ):
                if main(argv) != 0:
                    raise RuntimeError(f"setting up the fuzz sandbox failed: {argv}")
        good = r / "prog" / "tiny.pinta"
        self.program = {p.name: p.read_bytes() for p in sorted(good.iterdir())}
        damaged = {
            "truncated": {"program.bin": self.program["program.bin"][:-5]},
            "corrupted": {"program.bin": _flip(self.program["program.bin"], 40)},
            "nonsense": {"manifest.json": b'{"format": "pintac-pinta-program", "version": 1}'},
            "notjson": {"manifest.json": b"{manifest"},
            "shortdram": {"dram.img": self.program["dram.img"][:-4]},
            **{f"no-{name.replace('.', '-')}": {name: None} for name in self.program},
            **{f"dir-{name.replace('.', '-')}": {name: b"/"} for name in self.program},
        }
        for name, changes in damaged.items():
            directory = r / "prog" / f"{name}.pinta"
            directory.mkdir(exist_ok=True)
            for file, data in {**self.program, **changes}.items():
                if data == b"/":  # a directory where the file should be
                    (directory / file).mkdir()
                elif data is not None:
                    (directory / file).write_bytes(data)
        (r / "prog" / "empty.pinta").mkdir(exist_ok=True)
        canonical = (r / "pasm" / "canonical.pasm").read_bytes()
        lines = canonical.decode().splitlines()
        self.assembly = {
            "annotated.pasm": self.program["program.pasm"],
            "canonical.pasm": canonical,
            "short.pasm": ("\n".join(lines[:24]) + "\nHALT\n").encode(),
        }
        for name, data in self.assembly.items():
            (r / "pasm" / name).write_bytes(data)
        program = self.program["program.bin"]
        for name, data in {
            "tiny.bin": program,
            "empty.bin": b"",
            "header.bin": program[:16],
            "truncated.bin": program[:-5],
            "flipped.bin": _flip(program, 40),
            "undecodable.bin": _with_crc(_flip(program, 16, 0x0F)),
            "zero.bin": b"PNTA\x01\x00\x10\x00" + bytes(8),
        }.items():
            (r / "bin" / name).write_bytes(data)

    def _setup_program_bases(self) -> None:
        """The tiny problem compiled by each of BASE_PIPELINES, and a program that only
        halts."""
        from pintac.cli import main

        r = self.root
        (r / "bin" / "halt.pasm").write_text("HALT\n")
        with _quiet(), _cwd(r):
            for pipeline in BASE_PIPELINES[1:]:
                argv = ["compile", "inputs/tiny.mlir", "--pipeline", pipeline]
                if main([*argv, "-o", f"prog/tiny-{pipeline}.pinta"]) != 0:
                    raise RuntimeError(f"setting up the fuzz sandbox failed: {argv}")
            if main(["asm", "bin/halt.pasm", "-o", "bin/halt.bin"]) != 0:
                raise RuntimeError("setting up the fuzz sandbox failed: pintac asm bin/halt.pasm")
        self.bases = {BASE_PIPELINES[0]: self.program}
        for pipeline in BASE_PIPELINES[1:]:
            directory = r / "prog" / f"tiny-{pipeline}.pinta"
            self.bases[pipeline] = {p.name: p.read_bytes() for p in sorted(directory.iterdir())}
        self.halt = (r / "bin" / "halt.bin").read_bytes()
        for files in self.bases.values():
            problem = files["problem.mlir"].decode()
            for old, _ in [*TRAINING_EDITS.values(), *NEUTRAL_EDITS.values()]:
                assert old in problem, f"the compiled problem has no {old!r} to edit"

    def _setup_file_types(self) -> None:
        """`ft/KIND.SUFFIX`, an input of each kind of FILE_KINDS for each kind of input, and
        `ft/KIND-STEM.pinta`, the tiny program directory with its file STEM.* of that kind;
        the copies the `outside` links point to, and the file output links point to
        (`@outside/victim.txt`)."""
        r, outside = self.root, self.outside
        (r / "ft").mkdir()
        copies = outside / "copies"
        copies.mkdir(parents=True)
        (outside / "victim.txt").write_text(
            "outside the sandbox: no pintac command may change it\n"
        )
        for suffix, regular in REGULAR_INPUTS.items():
            source = r / regular
            copy = copies / source.name
            if source.is_dir():
                shutil.copytree(source, copy)
            else:
                shutil.copy(source, copy)
            for kind in FILE_KINDS:
                _make_file_of_kind(r / "ft" / f"{kind}.{suffix}", kind, copy)
        for name in PROGRAM_FILES:
            for kind in FILE_KINDS:
                directory = r / "ft" / f"{kind}-{name.split('.')[0]}.pinta"
                shutil.copytree(r / "prog" / "tiny.pinta", directory)
                (directory / name).unlink()
                _make_file_of_kind(directory / name, kind, copies / "tiny.pinta" / name)
        os.mkfifo(r / "ft" / "fifo-out.mlir")

    def _setup_aliases(self) -> None:
        """`alias/`: inputs for outputs to point at, with hard and symbolic links to some."""
        r = self.root
        a = r / "alias"
        (a / "proj").mkdir(parents=True)
        (a / "proj" / "problem.mlir").write_text(TINY)
        (a / "f.mlir").write_text(TINY)
        (a / "x.pasm").write_bytes(self.assembly["canonical.pasm"])
        (a / "prog.bin").write_bytes(self.assembly["canonical.pasm"])  # assembly named .bin
        (a / "p.bin").write_bytes(self.program["program.bin"])
        (a / "h.toml").write_text(HW_FILES["good.toml"])
        shutil.copytree(r / "prog" / "tiny.pinta", a / "D.pinta")
        (a / "D-sym.pinta").symlink_to("D.pinta")
        (a / "ck").mkdir()
        shutil.copy(r / "trained" / "tiny" / "checkpoint.npz", a / "ck" / "checkpoint.npz")
        shutil.copy(r / "trained" / "tiny.json", a / "r.json")
        shutil.copy(r / "inputs" / "points.npz", a / "points.npz")
        shutil.copy(r / "inputs" / "points.csv", a / "points.csv")
        (a / "ckproblem").mkdir()
        (a / "ckproblem" / "checkpoint.npz").write_text(TINY)  # a problem named like a checkpoint
        for name, (hard, sym) in ALIAS_LINKS.items():
            os.link(r / name, r / hard)
            (r / sym).symlink_to(Path(name).name)


# The pipelines of the tiny program directories of `progdir` (prog/tiny.pinta is the first's).
BASE_PIPELINES = ["fp32", "smx-diff"]
# Where the cases write: not inputs, so not fingerprinted (the rest of the sandbox is).
OUTPUT_AREAS = {"out", "dir", "tmp", "mut", "traps", "systemp", "ck", "ck2", "plots", "plots2"}
# The files `pintac sim` reads from a program directory.
PROGRAM_FILES = ["program.bin", "manifest.json", "dram.img", "hardware.toml", "problem.mlir"]
# Kinds of file that are not the regular file an input should be.
FILE_KINDS = {
    "fifo": "a FIFO nobody writes",
    "devzero": "a symbolic link to /dev/zero",
    "devnull": "a symbolic link to /dev/null",
    "dir": "a directory",
    "outside": "a symbolic link to a copy of the regular input outside the sandbox",
    "dangling": "a symbolic link to nothing",
    "sparse4g": "a sparse 4 GiB file",
}
# The regular input of each kind (by suffix) in the sandbox: the control of `filetype`.
REGULAR_INPUTS = {
    "mlir": "inputs/tiny.mlir",
    "toml": "hw/empty.toml",
    "pasm": "pasm/canonical.pasm",
    "bin": "bin/tiny.bin",
    "npz": "trained/tiny/checkpoint.npz",
    "json": "trained/tiny.json",
    "npy": "inputs/points.npy",
    "csv": "inputs/points.csv",
    "pinta": "prog/tiny.pinta",
}
# Inputs of `aliasing` and their hard and symbolic links.
ALIAS_LINKS = {
    "alias/x.pasm": ("alias/x-hard.pasm", "alias/x-sym.pasm"),
    "alias/p.bin": ("alias/p-hard.bin", "alias/p-sym.bin"),
    "alias/f.mlir": ("alias/f-hard.mlir", "alias/f-sym.mlir"),
    "alias/ck/checkpoint.npz": ("alias/ck/hard.npz", "alias/ck/sym.npz"),
}


def _make_file_of_kind(path: Path, kind: str, copy: Path) -> None:
    """Make `path` a file of `kind` (FILE_KINDS); `copy` is where an `outside` link points."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind in ("devzero", "devnull"):
        path.symlink_to(f"/dev/{kind[3:]}")
    elif kind == "dir":
        path.mkdir()
    elif kind == "outside":
        path.symlink_to(copy)
    elif kind == "dangling":
        path.symlink_to(path.name + ".nowhere")
    else:
        with open(path, "wb") as f:
            f.truncate(4 << 30)  # sparse: takes no disk


# ------------------------------------------------------------------ the inputs, fingerprinted

HASH_LIMIT = 64 << 20  # larger files (the sparse ones) are fingerprinted by their stat


def fingerprint(path: Path) -> tuple:
    """What `path` is: its kind and mode, and a file's sha256, a link's target. Opens
    nothing but a regular file."""
    try:
        st = os.lstat(path)
    except OSError:
        return ("missing",)
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return ("symlink", os.readlink(path))
    if stat.S_ISREG(st.st_mode):
        if st.st_size > HASH_LIMIT:  # reading a sparse 4 GiB file takes seconds
            return ("file", mode, st.st_size, st.st_blocks, st.st_mtime_ns)
        return ("file", mode, hashlib.sha256(path.read_bytes()).hexdigest())
    if stat.S_ISDIR(st.st_mode):
        return ("directory", mode)
    if stat.S_ISFIFO(st.st_mode):
        return ("fifo", mode)
    return ("special", mode, st.st_rdev)


def _stat_key(path: Path) -> tuple | None:
    """What changes whenever the file at `path` does (the kernel sets ctime on every write)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_mode, st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _copy(path: Path) -> tuple:
    """Enough of `path` to make it again (`_put_back`)."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        return fingerprint(path)
    if st.st_size > HASH_LIMIT:
        return ("sparse", stat.S_IMODE(st.st_mode), st.st_size)
    return ("file", stat.S_IMODE(st.st_mode), path.read_bytes())


class Inputs:
    """Files the cases read, fingerprinted: `changed()` lists those no longer as they were,
    `restore` puts them back."""

    def __init__(self):
        self.fingerprints: dict[Path, tuple] = {}
        self.stats: dict[Path, tuple | None] = {}
        self.copies: dict[Path, tuple] = {}
        self.roots: list[Path] = []

    def add(self, path: Path, keep: bool = True) -> None:
        self.fingerprints[path] = fingerprint(path)
        self.stats[path] = _stat_key(path)
        if keep:
            self.copies[path] = _copy(path)

    def add_tree(self, root: Path, skip=frozenset()) -> None:
        """Everything under `root` (not following links) but the entries of `root` in
        `skip`."""
        self.roots.append(root)
        for directory, dirs, files in os.walk(root):
            here = Path(directory)
            if here == root:
                dirs[:] = [d for d in dirs if d not in skip]
                files = [f for f in files if f not in skip]
            for name in dirs + files:
                self.add(here / name)

    def changed(self) -> list[Path]:
        """The inputs that are not as they were (hashed again where their stat changed)."""
        changed = []
        for path, expected in self.fingerprints.items():
            key = _stat_key(path)
            if key == self.stats[path]:
                continue
            if fingerprint(path) == expected:
                self.stats[path] = key
            else:
                changed.append(path)
        return changed

    def restore(self, paths: list[Path]) -> None:
        """Make `paths` again as they were; directories first."""
        for _ in range(3):  # a directory made anew is empty: its files, the next round
            for path in sorted(paths, key=lambda p: len(p.parts)):
                root = next(r for r in self.roots if path.is_relative_to(r))
                _put_back(path, self.copies[path], root)
                self.fingerprints[path] = fingerprint(path)  # a sparse file's mtime is new
                self.stats[path] = _stat_key(path)
            paths = self.changed()
            if not paths:
                return


def _put_back(path: Path, copy: tuple, root: Path) -> None:
    kind = copy[0]
    if kind == "directory" and path.is_dir() and not path.is_symlink():
        os.chmod(path, copy[1])
        return
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    _make_directory(path.parent, root)
    if kind == "file":
        path.write_bytes(copy[2])
    elif kind == "sparse":
        with open(path, "wb") as f:
            f.truncate(copy[2])
    elif kind == "symlink":
        os.symlink(copy[1], path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    if kind != "symlink":
        os.chmod(path, copy[1])


def _make_directory(directory: Path, root: Path) -> None:
    """Make `directory` (under `root`) a directory, removing what stands in its way."""
    current = root
    for part in directory.relative_to(root).parts:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            current.unlink()
        if not current.exists():
            current.mkdir()


def _flip(data: bytes, i: int, mask: int = 0xFF) -> bytes:
    return data[:i] + bytes([data[i] ^ mask]) + data[i + 1 :]


def _with_crc(data: bytes) -> bytes:
    """A program file's bytes with the header's checksum fixed to match its body."""
    body = data[16:]
    return data[:12] + zlib.crc32(body).to_bytes(4, "little") + body


@contextlib.contextmanager
def _cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@contextlib.contextmanager
def _quiet():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


# Paths, relative to the sandbox.
INPUTS = ["inputs/tiny.mlir", "missing.mlir", "dir", "file", "", "-", "inputs/binary.mlir"]
RUN_INPUTS = [*INPUTS, "inputs/tiny_heat.mlir", "inputs/noexact.mlir", "inputs/broken.mlir"]
IR_INPUTS = [*RUN_INPUTS, *(f"inputs/{e.name}" for e in EXAMPLES)]
OUT_FILES = [
    "out/result",
    "out/new/deeper/result",
    "dir",
    "file/result",
    "/proc/pintac-fuzz",
    "",
    "-",
    ".",
    "/",
    "missing/a/b/result",
]
DIRECTORIES = ["ck", "ck2", "dir", "file", "file/sub", "/proc", "missing/deep/ck", ""]
CHECKPOINTS = [
    "trained/tiny/checkpoint.npz",
    "trained/heat/checkpoint.npz",
    "trained/bad.npz",
    "trained/tiny.json",
    "missing.npz",
    "dir",
    "file",
    "",
]
REPORTS = ["trained/tiny.json", "trained/heat.json", "trained/bad.json", "file", "dir", ""]
POINTS = [
    "inputs/points.npy",
    "inputs/points.npz",
    "inputs/points.csv",
    "inputs/points3.npy",
    "inputs/nan.npy",
    "inputs/objects.npy",
    "inputs/bad.csv",
    "inputs/empty.csv",
    "missing.npy",
    "dir",
    "inputs/tiny.mlir",
]


# Compiling these for PINTA takes seconds: `compile` cases for PINTA use the others.
SLOW_FOR_PINTA = {"inputs/poisson2d.mlir", "inputs/heat100d.mlir", "inputs/hjb20d.mlir"}
PINTA_INPUTS = [p for p in IR_INPUTS if p not in SLOW_FOR_PINTA]
# Program directories (for PINTA `-o`), never `/`: the sandbox runs as whoever runs it.
DIRECTORY_OUTPUTS = [p for p in OUT_FILES if p != "/"] + ["out/p.pinta", "prog"]
PROGRAMS = ["prog/tiny.pinta", "prog/heat.pinta"]
DAMAGED_PROGRAMS = [
    "prog/truncated.pinta",
    "prog/corrupted.pinta",
    "prog/nonsense.pinta",
    "prog/notjson.pinta",
    "prog/shortdram.pinta",
    "prog/no-program-bin.pinta",
    "prog/no-manifest-json.pinta",
    "prog/no-dram-img.pinta",
    "prog/no-hardware-toml.pinta",
    "prog/no-problem-mlir.pinta",
    "prog/dir-program-bin.pinta",
    "prog/dir-manifest-json.pinta",
    "prog/dir-dram-img.pinta",
    "prog/dir-hardware-toml.pinta",
    "prog/dir-problem-mlir.pinta",
    "prog/empty.pinta",
    "prog/missing.pinta",
    "prog/tiny.pinta/program.bin",
    "inputs/tiny.mlir",
    "file",
    "dir",
    "/proc",
    "",
    "-",
]
ASM_INPUTS = [
    "pasm/annotated.pasm",
    "pasm/canonical.pasm",
    "pasm/short.pasm",
    "missing.pasm",
    "bin/tiny.bin",
    "inputs/tiny.mlir",
    "inputs/binary.mlir",
    "hw/good.toml",
    "dir",
    "file",
    "",
    "-",
]
BIN_INPUTS = [
    "bin/tiny.bin",
    "bin/empty.bin",
    "bin/header.bin",
    "bin/truncated.bin",
    "bin/flipped.bin",
    "bin/undecodable.bin",
    "bin/zero.bin",
    "prog/heat.pinta/program.bin",
    "pasm/canonical.pasm",
    "inputs/binary.mlir",
    "prog/tiny.pinta",
    "missing.bin",
    "dir",
    "file",
    "",
    "-",
]


def paths(pool: list[str], suffixes: tuple[str, ...] = ("",)):
    return st.tuples(st.sampled_from(pool), st.sampled_from(suffixes)).map(
        lambda p: p[0] + p[1] if p[0] not in ("", "-", ".", "/", "dir", "file") else p[0]
    )


# ------------------------------------------------------------------ argument vectors


# What a case must do (besides never raising, hanging or changing an input).
ANY = "exit 0 or 1"
BOUNDED = "exit 0 or 1, without running out of memory"  # its inputs are small or endless
REFUSED = "refused"  # exit 1 for what it attacks, not a usage error, in bounded memory
SUCCEEDS = "exit 0"  # a control: the attacked command with a regular, undamaged input
LOCATED_OR_SUCCEEDS = "exit 0, or exit 1 with an error located in the file"


@dataclass
class Case:
    """An argument vector; files (under `mut/`) and symbolic links (under `traps/`) to make
    before running it; the sandbox directory it runs in; what it must do. `@root/` and
    `@outside/` in arguments and link targets are absolute paths (`Sandbox.resolve`)."""

    argv: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    cwd: str = ""
    expect: str = ANY
    note: str = ""

    def __repr__(self) -> str:  # what hypothesis shows for a failing case
        text = f"cd {self.cwd} && " if self.cwd else ""
        text += "pintac " + " ".join(map(_shell, self.argv))
        if self.files:
            text += f" (+ files {_listed(sorted(self.files))})"
        if self.links:
            text += " (+ links " + ", ".join(f"{k} -> {v}" for k, v in self.links.items()) + ")"
        if self.expect != ANY:
            text += f" [{self.expect}]"
        return text + (f"  # {self.note}" if self.note else "")


def _listed(names: list[str]) -> str:
    """Paths, those of one directory in braces: `mut/case.pinta/{dram.img,manifest.json}`."""
    by_directory: dict[str, list[str]] = {}
    for name in names:
        directory, _, base = name.rpartition("/")
        by_directory.setdefault(directory, []).append(base)
    return ", ".join(
        f"{d}/{{{','.join(b)}}}" if len(b) > 1 else f"{d}/{b[0]}" if d else b[0]
        for d, b in by_directory.items()
    )


def _shell(text: str) -> str:
    return text if re.fullmatch(r"[\w./=,{}:+@-]+", text) else repr(text)


def pipelines(sandbox: Sandbox, named: bool = True):
    """Pipeline strings: named ones, and passes with options drawn from their types' edges."""

    def option(name_type: tuple[str, str]):
        name, kind = name_type
        if "int" in kind:
            values = int_texts("1", "2", "8")
        elif "float" in kind:
            values = st.sampled_from(FLOATS)
        elif "bool" in kind:
            values = st.sampled_from(["true", "false", "1", "yes", ""])
        else:
            values = st.sampled_from(["adam", "sgd", "linear-decay", "constant", "x", '"q"', ""])
        return values.map(lambda v: f"{name}={v}" if v != "" else name)

    @st.composite
    def one_pass(draw):
        name = draw(st.sampled_from(sorted(sandbox.passes)))
        opts = sandbox.passes[name]
        if not opts or draw(st.booleans()):
            return name
        chosen = draw(st.lists(st.sampled_from(opts), min_size=1, max_size=3, unique=True))
        return name + "{" + " ".join(draw(option(o)) for o in chosen) + "}"

    composed = st.lists(one_pass(), min_size=1, max_size=4).map(",".join)
    junk = st.sampled_from(["", ",", "cse{", "cse}", "{}", "fp64", "a,,b", "cse{x=1", "(", "é"])
    choices = [composed, junk]
    if named:
        choices.append(st.sampled_from(sandbox.pipelines))
    return st.one_of(*choices)


def _options(draw, spec: dict[str, object], max_size: int = 5, valid=None) -> list[str]:
    """Draw a few options of `spec` (flag -> strategy of values, or None for a flag). Half the
    time, with `valid` given, only options and values from `valid`: cases that get past the
    option checks, into the code behind them."""
    if valid is not None and draw(st.booleans()):
        spec = valid
    names = draw(st.lists(st.sampled_from(sorted(spec)), max_size=max_size, unique=True))
    argv: list[str] = []
    for name in names:
        values = spec[name]
        if values is None:
            argv.append(name)
        elif spec is not valid and draw(st.integers(0, 9)) == 0:
            argv.append(name)  # the value missing
        elif draw(st.booleans()):
            argv.append(f"{name}={draw(values)}")
        else:
            argv += [name, draw(values)]
    return argv


def run_cases(sandbox: Sandbox):
    """`pintac run`: at most 3 steps and 64 held-out points of the tiny problems."""
    safe_pipelines = st.one_of(
        st.sampled_from(
            ["fp32", "stein-expand{pairs=2},pinn-build-loss,pinn-autodiff,optimizer-lower"]
        ),
        pipelines(sandbox, named=False).filter(lambda p: "pairs=" not in p),
    )
    spec = {
        "--steps": int_texts("1", "2", "3", "+1"),
        "--seed": any_int_texts(),
        "--pipeline": safe_pipelines,
        "--report": paths(OUT_FILES, (".json", "")),
        "--checkpoint": st.sampled_from(DIRECTORIES),
        "--checkpoint-every": any_int_texts(),
        "--resume": None,
        "--overwrite": None,
        "--init-from": st.sampled_from([*CHECKPOINTS, "trained/tiny"]),
        "--eval-points": int_texts("1", "5", "64"),
        "--eval-every": any_int_texts(),
        "--smoothed": None,
        "--no-eval": None,
        "--target": st.sampled_from(["numpy", "numpy-exact", "pinta-sim", "pinta", "mlir", ""]),
        "--hw": st.sampled_from(HW_PATHS),
        "--hw-set": hw_sets(),
        "--bogus": None,
    }

    valid = {
        "--steps": st.sampled_from(["1", "2", "3"]),
        "--seed": st.sampled_from(["0", "7", str(2**64 - 1)]),
        "--pipeline": st.just("fp32"),
        "--report": st.sampled_from(["out/r.json", "out/new/r.json"]),
        "--checkpoint": st.sampled_from(["ck", "ck2"]),
        "--checkpoint-every": st.sampled_from(["1", "2", "100"]),
        "--resume": None,
        "--overwrite": None,
        "--init-from": st.sampled_from(["trained/tiny", "trained/tiny/checkpoint.npz"]),
        "--eval-points": st.sampled_from(["5", "64"]),
        "--eval-every": st.sampled_from(["0", "1", "7"]),
        "--smoothed": None,
        "--no-eval": None,
        "--target": st.sampled_from(["numpy", "numpy-exact", "pinta-sim", "pinta-sim"]),
        "--hw": st.sampled_from(["hw/good.toml", "hw/empty.toml"]),
        "--hw-set": st.sampled_from(VALID_HW_SETS),
    }

    @st.composite
    def case(draw):
        argv = ["run", draw(st.sampled_from(RUN_INPUTS)), "--quiet"]
        if draw(st.booleans()):
            argv[1] = draw(st.sampled_from(["inputs/tiny.mlir", "inputs/tiny_heat.mlir"]))
        argv += _options(draw, spec, 6, valid)
        if _value(argv, "--target") == "pinta-sim":
            argv = _more_hw_sets(draw, argv, hw_sets())
        if draw(st.integers(0, 19)) == 0:
            argv += ["--plot", draw(st.sampled_from(["plots", "file", "/proc/p", "dir"]))]
        if draw(st.integers(0, 29)) == 0:
            argv.append("--help")
        return Case(argv)

    return case()


def opt_cases(sandbox: Sandbox):
    spec = {
        "-p": pipelines(sandbox, named=False),
        "-o": paths(OUT_FILES, (".mlir", "")),
        "--print-op-generic": None,
        "--verify-each": None,
        "--no-verify-each": None,
        "--print-ir-after-all": None,
        "--print-ir-before-all": None,
        "--print-ir-after": st.sampled_from(sorted(sandbox.passes) + ["nope", "", "cse,,x"]),
        "--print-ir-before": st.sampled_from(sorted(sandbox.passes) + ["nope", ""]),
        "--pass-timing": None,
        "--reproducer": paths(OUT_FILES, (".mlir",)),
        "--split-input-file": None,
        "--verify-diagnostics": None,
        "--allow-unregistered-dialect": None,
        "--list-passes": None,
        "--frobnicate": None,
    }

    valid = {
        "-p": st.sampled_from(["cse,dce", "canonicalize", "stein-expand", "stein-expand{pairs=2}"]),
        "-o": st.sampled_from(["out/o.mlir", "-"]),
        "--print-op-generic": None,
        "--print-ir-after-all": None,
        "--pass-timing": None,
        "--reproducer": st.just("out/repro.mlir"),
        "--split-input-file": None,
        "--verify-diagnostics": None,
    }

    @st.composite
    def case(draw):
        argv = ["opt"]
        if draw(st.integers(0, 9)):
            argv.append(draw(st.sampled_from(IR_INPUTS)))
        argv += _options(draw, spec, 5, valid)
        if draw(st.integers(0, 39)) == 0:
            argv.append("--help")
        return Case(argv)

    return case()


def compile_cases(sandbox: Sandbox):
    """`pintac compile`: for PINTA (the default; a program directory) with hardware files and
    overrides, for NumPy or as IR."""
    spec = {
        "--pipeline": pipelines(sandbox),
        "--target": st.sampled_from(
            ["pinta", "mlir", "numpy", "numpy-exact", "pinta-sim", "c", "", "NUMPY"]
        ),
        "-o": paths(DIRECTORY_OUTPUTS, (".pinta", ".py", ".mlir", "")),
        "--hw": st.sampled_from(HW_PATHS),
        "--hw-set": hw_sets(),
        "--report": None,
        "--print-op-generic": None,
        "--print-ir-after-all": None,
        "--pass-timing": None,
        "--reproducer": paths(OUT_FILES, (".mlir",)),
    }

    valid = {
        "--pipeline": st.sampled_from(["fp32", *sandbox.pipelines]),
        "--target": st.sampled_from(["pinta", "pinta", "mlir", "numpy", "numpy-exact"]),
        "-o": st.sampled_from(["out/TARGET", "out/new/TARGET", "-"]),  # one path per target
        "--hw": st.sampled_from(["hw/good.toml", "hw/empty.toml", "hw/small.toml"]),
        "--hw-set": st.sampled_from(VALID_HW_SETS),
        "--report": None,
        "--print-op-generic": None,
        "--pass-timing": None,
        "--reproducer": st.just("out/repro.mlir"),
    }

    @st.composite
    def case(draw):
        options = _options(draw, spec, 6, valid)
        target = _value(options, "--target", "pinta")
        options = [o.replace("TARGET", str(target)) for o in options]
        pinta = target in ("pinta", None)
        argv = ["compile", draw(st.sampled_from(PINTA_INPUTS if pinta else IR_INPUTS))]
        return Case(_more_hw_sets(draw, argv + options, hw_sets()))

    return case()


def _value(argv: list[str], option: str, default: str | None = None) -> str | None:
    """The value `argv` gives `option` (as `--o V` or `--o=V`); None if it gives the option
    without one."""
    for i, arg in enumerate(argv):
        if arg.startswith(option + "="):
            return arg[len(option) + 1 :]
        if arg == option:
            return argv[i + 1] if i + 1 < len(argv) else None
    return default


def predict_cases(sandbox: Sandbox):
    grids = st.one_of(
        st.sampled_from(["5x5", "5", "3x4x5", "0x5", "axb", "", "x", "3x", "100000x100000"]),
        st.lists(st.integers(-3, 40), min_size=1, max_size=3).map(lambda s: "x".join(map(str, s))),
    )
    spec = {
        "--points": st.sampled_from(POINTS),
        "--grid": grids,
        "--time": st.sampled_from(FLOATS),
        "--problem": st.sampled_from(
            [
                "inputs/tiny.mlir",
                "inputs/tiny_heat.mlir",
                "inputs/broken.mlir",
                "missing.mlir",
                "inputs/poisson2d_small.mlir",
                "dir",
            ]
        ),
        "-o": paths(OUT_FILES, (".npz", ".csv", ".txt", "")),
    }

    @st.composite
    def case(draw):
        if draw(st.booleans()):  # hostile: anything goes
            checkpoint = draw(st.sampled_from(CHECKPOINTS))
            return Case(["predict", checkpoint, *_options(draw, spec, 4)])
        heat = draw(st.booleans())
        argv = ["predict", f"trained/{'heat' if heat else 'tiny'}/checkpoint.npz"]
        if draw(st.booleans()):
            argv += ["--grid", draw(st.sampled_from(["7", "1"] if heat else ["5x5", "1x3"]))]
            if heat:
                argv += ["--time", draw(st.sampled_from(["0", "0.5", "-3", "1e30"]))]
        else:
            points = ["inputs/points.npy", "inputs/points.npz", "inputs/points.csv"]
            argv += ["--points", draw(st.sampled_from(points))]
        if draw(st.booleans()):
            argv += ["--problem", "inputs/tiny_heat.mlir" if heat else "inputs/tiny.mlir"]
        argv += draw(st.sampled_from([[], ["-o", "out/u.npz"], ["-o", "out/u.csv"]]))
        return Case(argv)

    return case()


def plot_cases(sandbox: Sandbox):
    spec = {
        "--checkpoint": st.sampled_from(CHECKPOINTS),
        "-o": st.sampled_from(["plots", "plots2", "file", "file/sub", "/proc/p", "dir", ""]),
        "--format": st.sampled_from(["png", "svg", "pdf", "jpg", ""]),
    }

    valid = {
        "--checkpoint": st.sampled_from(
            ["trained/tiny/checkpoint.npz", "trained/heat/checkpoint.npz"]
        ),
        "-o": st.sampled_from(["plots", "plots2"]),
        "--format": st.sampled_from(["png", "svg"]),
    }

    @st.composite
    def case(draw):
        argv = ["plot", draw(st.sampled_from(REPORTS)), *_options(draw, spec, 3, valid)]
        return Case(argv)

    return case()


# ------------------------------------------------------------------ mutated IR


EDGE_NUMBERS = [
    "1.0e999",
    "-1.0e999",
    "-0.0",
    "0",
    "-1",
    "0.0",
    "nan",
    "99999999999999999999999",
    "18446744073709551615",
    "9223372036854775808",
    "1.0e-45",
    "-3",
]
SOURCES = [*EXAMPLES]


def _mutate(data: bytes, kind: str, a: float, b: float, n: int, payload: bytes) -> bytes:
    """One mutation of `data`; a, b in [0, 1) pick positions, n a size."""
    if not data:
        return payload
    i, j = int(a * len(data)), int(b * len(data))
    if kind == "truncate":
        return data[:i]
    if kind == "flip":
        return data[:i] + bytes([data[i] ^ (1 + n % 255)]) + data[i + 1 :]
    if kind == "insert":
        return data[:i] + payload + data[i:]
    if kind == "delete":
        return data[:i] + data[max(i, j) :][: len(data)]
    if kind == "nest":
        opener = [b"(", b"{", b"[", b"<", b"tensor<", b"pinn.problem @p {\n"][n % 6]
        return data[:i] + opener * (1 + n * 37 % 20000) + data[i:]
    tokens = re.split(rb"(\s+)", data)
    words = [k for k, t in enumerate(tokens) if t.strip()]
    if not words:
        return data
    x, y = words[int(a * len(words))], words[int(b * len(words))]
    if kind == "swap":
        tokens[x], tokens[y] = tokens[y], tokens[x]
    elif kind == "copy":
        tokens[x] = tokens[y]
    elif kind == "number":
        numbers = [k for k in words if re.fullmatch(rb"-?[0-9][0-9.e+-]*,?", tokens[k])]
        if numbers:
            k = numbers[int(a * len(numbers))]
            tail = b"," if tokens[k].endswith(b",") else b""
            tokens[k] = EDGE_NUMBERS[n % len(EDGE_NUMBERS)].encode() + tail
    elif kind == "line":
        lines = data.split(b"\n")
        k = int(a * len(lines))
        return b"\n".join(lines[:k] + [lines[k]] * (1 + n % 3) + lines[k + 1 :])
    return b"".join(tokens)


MUTATIONS = ["truncate", "flip", "insert", "delete", "nest", "swap", "copy", "number", "line"]


def ir_cases(sandbox: Sandbox, sources: list[Path] | None = None):
    """A problem from `examples/` (or the tiny ones), mutated, then parsed by `pintac opt` (and
    sometimes transformed, or compiled)."""
    problems = sources or SOURCES
    texts = [p.read_bytes() for p in problems] + [TINY.encode(), TINY_HEAT.encode()]
    # the problems that compile for PINTA in well under a second
    small = [f"inputs/{p.name}" not in SLOW_FOR_PINTA for p in problems] + [True, True]
    mutation = st.tuples(
        st.sampled_from(MUTATIONS),
        st.floats(0, 1, exclude_max=True),
        st.floats(0, 1, exclude_max=True),
        st.integers(0, 10**6),
        st.binary(max_size=8) | st.sampled_from([b"}", b"{", b"%", b"@", b"\xff", "Δ".encode()]),
    )

    @st.composite
    def case(draw):
        source = draw(st.integers(0, len(texts) - 1))
        data = texts[source]
        for m in draw(st.lists(mutation, min_size=1, max_size=3)):
            data = _mutate(data, *m)
        command = draw(st.integers(0, 19))
        if command < 13:
            argv = ["opt", "mut/case.mlir"]
        elif command < 15:
            argv = ["opt", "mut/case.mlir", "--split-input-file", "--verify-diagnostics"]
        elif command < 18:
            argv = [
                "opt",
                "mut/case.mlir",
                "-p",
                draw(st.sampled_from(["cse,dce", "canonicalize", "stein-expand"])),
            ]
        elif small[source] and draw(st.integers(0, 3)) == 0:
            argv = ["compile", "mut/case.mlir", "-o", "out/mut.pinta"]  # for PINTA
        else:
            argv = ["compile", "mut/case.mlir", "--target", "mlir"]
        return Case(argv, {"mut/case.mlir": data})

    return case()


PDE_SOURCES = sorted((ROOT / "examples").glob("*.pde"))
# Pieces of the PDE language a mutation inserts: its tokens, keywords, edge numbers.
PDE_PIECES = [
    b"(", b")", b"[", b"]", b",", b":", b"=", b"^", b"**", "\u00d7".encode(), b"..", b"#", b"\n",
    b"1e999", b"99999999999999999999999", b"1e-400", b"x9", b"t", b"u", b"q", b"pi", b"in",
    b"on", b"weight", b"batch", b"problem", b"space", b"time", b"domain", b"let", b"network",
    b"exact", b"train", b"derivatives", b"d(u, t)", b"grad(u)", b"laplacian(u)", b"d2(u, x1)",
    b"sin(", b"mlp(width 2, depth 1)", b"ball(0, 1)", b"boundary(q)", b"final(q)",
    b"taylor", b"stde(samples 0)", b"stein(pairs 0)", b"\xff",
]  # fmt: skip


def pde_cases(sandbox: Sandbox):
    """A problem in the PDE language (`examples/*.pde`), mutated (as IR is, and with the
    language's own tokens), then read by `pintac opt`, `import` or `compile --target mlir`:
    it builds, or its error is located in the file."""
    texts = [p.read_bytes() for p in PDE_SOURCES]
    mutation = st.tuples(
        st.sampled_from(MUTATIONS),
        st.floats(0, 1, exclude_max=True),
        st.floats(0, 1, exclude_max=True),
        st.integers(0, 10**6),
        st.sampled_from(PDE_PIECES),
    )

    @st.composite
    def case(draw):
        data = texts[draw(st.integers(0, len(texts) - 1))]
        for m in draw(st.lists(mutation, min_size=1, max_size=3)):
            data = _mutate(data, *m)
        argv = draw(
            st.sampled_from(
                [
                    ["opt", "mut/case.pde"],
                    ["import", "mut/case.pde"],
                    ["compile", "mut/case.pde", "--target", "mlir"],
                ]
            )
        )
        return Case(argv, {"mut/case.pde": data}, expect=LOCATED_OR_SUCCEEDS)

    return case()


# ------------------------------------------------------------------ PINTA programs

# Field values that do not fit, are not numbers or name nothing; mnemonics that do not exist.
PASM_VALUES = [
    "-1",
    "0x",
    "0b2",
    "1_",
    "_1",
    "9" * 40,
    "0x" + "f" * 40,
    "1048575",
    "1048576",
    "65535",
    "65536",
    "4095",
    "4096",
    "4294967296",
    "1e3",
    "1.5",
    "nan",
    "f32",
    "int8",
    "q8b4",
    "q99b4",
    "rne",
    "",
    "٣",
]
PASM_MNEMONICS = ["LAOD", "FOO", "gemm", "Load", "NOP", "HALT", "X", "1LOAD", ".word", ".byte"]
PASM_FIELDS = ["dts", "q", "DST", "", "pop_prev", "push_next", "fmt", "rows", "queue", "_"]
PASM_WORDS = [
    "0x0",
    "0xf",
    "0x" + "f" * 32,
    "0x1" + "0" * 32,
    "340282366920938463463374607431768211456",
    "0x",
    "-1",
    "",
]
PASM_MUTATIONS = ["mnemonic", "operand", "field", "word", "positional", "separator"]


def _mutate_pasm(data: bytes, kind: str, a: float, b: float, n: int, payload: bytes) -> bytes:
    """One mutation of assembly text: those of IR (`_mutate`), or one aimed at the assembler:
    a mnemonic, an operand's value or a field's name replaced, a raw `.word` inserted, a named
    operand made positional, separators changed."""
    if kind not in PASM_MUTATIONS:
        return _mutate(data, kind, a, b, n, payload)
    lines = data.split(b"\n")
    code = [k for k, line in enumerate(lines) if line.strip() and not line.startswith(b";")]
    if not code:
        return data + b"\n" + PASM_MNEMONICS[n % len(PASM_MNEMONICS)].encode()
    k = code[int(a * len(code))]
    tokens = lines[k].split(b" ")
    named = [i for i, t in enumerate(tokens) if b"=" in t]
    i = named[int(b * len(named))] if named else 0
    if kind == "mnemonic":
        tokens[0] = PASM_MNEMONICS[n % len(PASM_MNEMONICS)].encode()
    elif kind == "operand" and named:
        name = tokens[i].split(b"=")[0]
        tokens[i] = name + b"=" + PASM_VALUES[n % len(PASM_VALUES)].encode()
    elif kind == "field" and named:
        value = tokens[i].split(b"=", 1)[1]
        tokens[i] = PASM_FIELDS[n % len(PASM_FIELDS)].encode() + b"=" + value
    elif kind == "word":
        lines.insert(k, b".word " + PASM_WORDS[n % len(PASM_WORDS)].encode())
        return b"\n".join(lines)
    elif kind == "positional" and named:
        tokens[i] = tokens[i].split(b"=", 1)[1]
    elif kind == "separator":
        tokens = [b", ,".join(tokens)] if n % 3 == 0 else [t + b"," for t in tokens]
    lines[k] = b" ".join(tokens)
    return b"\n".join(lines)


def _mutations(kinds: list[str]):
    """A mutation: its kind, two positions in [0, 1), a size and a few bytes."""
    return st.tuples(
        st.sampled_from(kinds),
        st.floats(0, 1, exclude_max=True),
        st.floats(0, 1, exclude_max=True),
        st.integers(0, 10**6),
        st.binary(max_size=8) | st.sampled_from([b"=", b",", b";", b"\r", b"\x00", b"\xff"]),
    )


def _edited_program(draw, program: bytes) -> bytes:
    """A program file changed in a way its checks may or may not see: instructions with a
    field changed (still valid encodings), dropped, repeated or swapped, with the checksum
    fixed; or bytes changed, the checksum fixed or not."""
    from pintac.core.errors import UserError
    from pintac.runtime.pinta import isa
    from pintac.runtime.pinta.program import Program

    words = Program.of(program).words
    how = draw(st.sampled_from(["field", "field", "field", "drop", "repeat", "swap", "bytes"]))
    if how == "bytes":
        data = program
        for m in draw(st.lists(_mutations(["truncate", "flip", "insert", "delete"]), max_size=2)):
            data = _mutate(data, *m)
        return _with_crc(data) if len(data) >= 16 and draw(st.booleans()) else data
    i = draw(st.integers(0, len(words) - 1))
    j = draw(st.integers(0, len(words) - 1))
    if how == "drop":
        words = words[:i] + words[i + 1 :]
    elif how == "repeat":
        words = words[:i] + [words[i]] * draw(st.integers(2, 3)) + words[i + 1 :]
    elif how == "swap":
        words[i], words[j] = words[j], words[i]
    else:
        for _ in range(draw(st.integers(1, 3))):
            k = draw(st.integers(0, len(words) - 1))
            ins = isa.decode(words[k])
            f = draw(st.sampled_from(list(ins.spec.by_name.values())))
            if f.kind in ("enum", "pow2"):
                value = draw(st.sampled_from(list(f.codes)))
            else:
                edges = [f.minimum, f.minimum + 1, f.top // 2, f.top - 1, f.top]
                value = draw(st.sampled_from(edges) | st.integers(f.minimum, f.top))
            with contextlib.suppress(UserError):  # a combination the encoder refuses
                words[k] = isa.encode(ins._replace(**{f.name: value}))
    return Program(words).to_bytes()


def _edited_manifest(draw, manifest: bytes) -> bytes:
    """A manifest with a key removed or set to a value of the wrong kind or size, or its text
    mutated, or replaced by something that is not a manifest."""
    how = draw(st.integers(0, 9))
    if how == 0:
        return draw(st.sampled_from([b"[]", b"null", b"42", b'"x"', b"{}", b"", bytes(range(256))]))
    if how == 1:
        data = manifest
        for m in draw(st.lists(_mutations(MUTATIONS), min_size=1, max_size=2)):
            data = _mutate(data, *m)
        return data
    obj = json.loads(manifest)
    hostile = [None, -1, 0, 1, 2**31, 2**64, 10**30, -(10**30), 1.5, float("nan"), "x", ""]
    hostile += [[], {}, [-1], [2**40, 2**40], [0], True, "smx-diff", "nope{", "loss", "param"]
    for _ in range(draw(st.integers(1, 2))):
        key = draw(st.sampled_from(sorted(obj)))
        target, name = obj, key
        if isinstance(obj[key], list) and obj[key] and draw(st.booleans()):
            target, name = obj[key], draw(st.integers(0, len(obj[key]) - 1))
            if isinstance(target[name], dict) and draw(st.booleans()):
                target, name = target[name], draw(st.sampled_from(sorted(target[name])))
        if isinstance(target, dict) and draw(st.integers(0, 4)) == 0:
            del target[name]
        else:
            target[name] = draw(st.sampled_from(hostile))
    return json.dumps(obj).encode()


def _edited_problem(draw, problem: bytes) -> bytes:
    """The program's problem replaced by another (other shapes, batches, schedule, terms) or
    mutated."""
    if draw(st.booleans()):
        data = problem
        for m in draw(st.lists(_mutations(MUTATIONS), min_size=1, max_size=2)):
            data = _mutate(data, *m)
        return data
    wide = tiny_text(8)
    start, end = TINY.index("  pinn.exact"), TINY.index("  pinn.train")
    return draw(
        st.sampled_from(
            [
                TINY,
                TINY_HEAT,
                wide,
                TINY[:start] + TINY[end:],
                TINY.replace("pde = 8", "pde = 16"),
                TINY.replace("pairs = 4", "pairs = 3"),
                TINY.replace('"linear_decay"', '"constant"'),
                TINY.replace("steps = 4", "steps = 1"),
                TINY.replace('"adam"', '"sgd"'),
                TINY.replace("seed = 0", "seed = 18446744073709551615"),
                TINY.replace("weight 30.0", "weight 1.0e38"),
                TINY.replace("math.sin", "math.cos"),
            ]
        )
    ).encode()


def _edited_dram(draw, image: bytes) -> bytes:
    words = len(image) // 4
    return draw(
        st.sampled_from(
            [
                image[:-4],
                image + bytes(4),
                image[: len(image) // 2],
                b"",
                np.full(words, np.nan, "<f4").tobytes(),
                np.full(words, np.inf, "<f4").tobytes(),
                np.full(words, 3e38, "<f4").tobytes(),
                np.full(words, 1e-45, "<f4").tobytes(),
                image[:-1],
            ]
        )
    )


def _edited_hardware(draw, text: bytes) -> bytes:
    if draw(st.booleans()):
        return draw(st.sampled_from(list(HW_FILES.values()))).encode()
    data = text
    for m in draw(st.lists(_mutations(MUTATIONS), min_size=1, max_size=2)):
        data = _mutate(data, *m)
    return data


def _edited_directory(draw, sandbox: Sandbox) -> dict[str, bytes]:
    """The files of a program directory, `mut/case.pinta`, one of them edited."""
    files = dict(sandbox.program)
    name = draw(
        st.sampled_from(
            ["program.bin"] * 4
            + ["manifest.json"] * 3
            + ["dram.img", "hardware.toml"] * 2
            + ["problem.mlir"] * 2
        )
    )
    edit = {
        "program.bin": _edited_program,
        "manifest.json": _edited_manifest,
        "dram.img": _edited_dram,
        "hardware.toml": _edited_hardware,
        "problem.mlir": _edited_problem,
    }[name]
    files[name] = edit(draw, files[name])
    return {f"mut/case.pinta/{k}": v for k, v in files.items()}


def _steps(text: str) -> bool:
    """Whether `text` is a number of steps that would take long on a constant schedule."""
    return bool(re.fullmatch(r"\+?[0-9]{1,10}", text)) and 3 < int(text) < 2**32


def sim_cases(sandbox: Sandbox):
    """`pintac sim DIR`: the compiled tiny problems with options at their edges; directories
    that are missing, damaged or not directories; programs, manifests, DRAM images, hardware
    and problems edited (`mut/case.pinta`)."""
    spec = {
        "--steps": int_texts("1", "2", "3", "+1").filter(lambda t: not _steps(t)),
        "--seed": any_int_texts(),
        "--hw-set": hw_sets(),
        "--report": paths(OUT_FILES, (".json", "")),
        "--trace": paths(OUT_FILES, (".json", "")),
        "--no-eval": None,
        "--quiet": None,
        "--bogus": None,
    }

    valid = {
        "--steps": st.sampled_from(["1", "2"]),
        "--seed": st.sampled_from(["0", "7", str(2**64 - 1)]),
        "--hw-set": st.sampled_from(VALID_HW_SETS),
        "--report": st.sampled_from(["out/sim.json", "out/new/sim.json"]),
        "--trace": st.just("out/trace.json"),
        "--no-eval": None,
        "--quiet": None,
    }

    @st.composite
    def case(draw):
        kind = draw(st.integers(0, 9))
        if kind < 4:
            argv = ["sim", draw(st.sampled_from(PROGRAMS)), *_options(draw, spec, 5, valid)]
            if _value(argv, "--steps", "") == "" and draw(st.integers(0, 3)):
                argv += ["--steps", "1"]  # not the default 10: past the tiny problem's decay
            return Case(_more_hw_sets(draw, argv, hw_sets()))
        if kind < 6:
            argv = ["sim", draw(st.sampled_from(DAMAGED_PROGRAMS))]
            argv += _options(draw, spec, 3, valid)
            return Case(argv)
        files = _edited_directory(draw, sandbox)
        steps = draw(st.sampled_from(["1", "1", "2"]))
        argv = ["sim", "mut/case.pinta", "--steps", steps, "--quiet"]
        argv += draw(st.sampled_from([[], [], ["--no-eval"], ["--report", "out/m.json"]]))
        return Case(argv, files)

    return case()


def asm_cases(sandbox: Sandbox):
    """`pintac asm`: the assembly `pintac compile` writes and its canonical form, mutated
    (`mut/case.pasm`); inputs that are not assembly; outputs that cannot be written."""
    texts = list(sandbox.assembly.values())
    spec = {
        "-o": paths([*OUT_FILES, "/dev/null"], (".bin", "")),
        "--output": st.sampled_from(["out/o.bin", "dir", ""]),
    }

    @st.composite
    def case(draw):
        if draw(st.integers(0, 3)):
            data = draw(st.sampled_from(texts))
            kinds = [*MUTATIONS, *PASM_MUTATIONS, *PASM_MUTATIONS]
            for m in draw(st.lists(_mutations(kinds), min_size=1, max_size=3)):
                data = _mutate_pasm(data, *m)
            out = draw(st.sampled_from([[], ["-o", "out/case.bin"], ["-o", "/dev/null"]]))
            return Case(["asm", "mut/case.pasm", *out], {"mut/case.pasm": data})
        argv = ["asm", draw(st.sampled_from(ASM_INPUTS)), *_options(draw, spec, 2)]
        return Case(argv + draw(st.sampled_from([[]] * 9 + [["--bogus"]])))

    return case()


def disasm_cases(sandbox: Sandbox):
    """`pintac disasm`: program files good, truncated, corrupted, foreign, edited
    (`mut/case.bin`, the checksum fixed or not)."""
    program = sandbox.program["program.bin"]
    spec = {
        "-o": paths([*OUT_FILES, "/dev/null"], (".pasm", "")),
    }

    @st.composite
    def case(draw):
        if draw(st.booleans()):
            data = _edited_program(draw, program)
            if draw(st.integers(0, 3)) == 0:  # the header: magic, version, size, count
                start, size = draw(st.sampled_from([(0, 4), (4, 2), (6, 2), (8, 4)]))
                value = draw(st.integers(0, 2 ** (8 * size) - 1))
                data = data[:start] + value.to_bytes(size, "little") + data[start + size :]
            out = draw(st.sampled_from([[], ["-o", "out/case.pasm"]]))
            return Case(["disasm", "mut/case.bin", *out], {"mut/case.bin": data})
        argv = ["disasm", draw(st.sampled_from(BIN_INPUTS)), *_options(draw, spec, 1)]
        return Case(argv + draw(st.sampled_from([[]] * 9 + [["--bogus"]])))

    return case()


# ------------------------------------------------------------------ program directories that lie

DEPTH = 100_000  # nesting of the manifests and hardware configurations nested absurdly deep
ONE_STEP = ["--steps", "1", "--no-eval", "--quiet"]
CHECKPOINT = "trained/tiny/checkpoint.npz"
SENTINEL = "@@fuzz@@"

# Edits of the problem a program was compiled from (its problem.mlir) that change training,
# and edits that do not.
TRAINING_EDITS = {
    "lr": ("lr = 0.01", "lr = 0.02"),
    "sigma": ("sigma = 0.1", "sigma = 0.2"),
    "steps": ("steps = 4", "steps = 3"),
    "schedule": ('"linear_decay"', '"constant"'),
    "weight": ("weight 30.0", "weight 3.0"),
    "pairs": ("pairs = 4", "pairs = 3"),
    "optimizer": ('"adam"', '"sgd"'),
    "source term": ("math.sin", "math.cos"),
}
NEUTRAL_EDITS = {
    "eval_points": ("eval_points = 200", "eval_points = 100"),
    "a comment": ("pinn.problem", "// edited by hand\npinn.problem"),
}
OVERFLOWING = ["1" + "0" * 400, "-1" + "0" * 400, "1e400", "-1e400", "Infinity", "-Infinity", "NaN"]
HUGE_FINITE = ["18446744073709551616", "1" + "0" * 300, "1e308", "-1e308", "3.5e38", "1e-320"]
HUGE_HARDWARE = [
    "[memory]\nspm_bytes = " + "9" * 5000 + "\n",
    "[memory]\ndram_bytes = 1" + "0" * 30 + "\n",
    "[memory]\nconst_entries = 4294967296\n",
    "[gemm]\npes = 9223372036854775807\n",
    "[dram]\nlatency = 18446744073709551616\n",
    "[sfu.cycles]\ntanh = 4294967296\n",
    "[clock]\nmhz = 1e-300\n",
    "[clock]\nmhz = 1e308\n",
    "[clock]\nmhz = inf\n",
    "[energy]\ndram_64b = 1e308\nspm_64b = 1e308\n",
]


def _nested_toml(draw) -> bytes:
    """A hardware configuration nested DEPTH deep: arrays, inline tables, dotted keys or a
    table header."""
    how = draw(st.sampled_from(["array", "inline table", "dotted key", "header"]))
    if how == "array":
        return ("[gemm]\npes = " + "[" * DEPTH + "]" * DEPTH + "\n").encode()
    if how == "inline table":
        return ("[gemm]\npes = " + "{a = " * DEPTH + "1" + "}" * DEPTH + "\n").encode()
    if how == "dotted key":
        return ("[sfu]\ncycles." + ".".join(["a"] * DEPTH) + " = 1\n").encode()
    return ("[" + ".".join(["sfu"] + ["a"] * DEPTH) + "]\nx = 1\n").encode()


def _size(tensor: dict) -> int:
    return int(np.prod(tensor["shape"], dtype=np.int64))


@dataclass
class Directory:
    """A tiny program directory being edited into a lie: its files (None: removed) and its
    manifest, parsed (written back by `lie`)."""

    base: str  # its pipeline, of BASE_PIPELINES
    files: dict[str, bytes | None]
    manifest: dict

    def write_manifest(self) -> None:
        self.files["manifest.json"] = json.dumps(self.manifest).encode()

    def set_manifest_text(self, path: list, token: str) -> None:
        """Set the manifest's value at `path` (keys and indices) to the JSON text `token`,
        which may be what json cannot write (10**400, nesting DEPTH deep)."""
        obj = json.loads(json.dumps(self.manifest))
        target = obj
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = SENTINEL
        text = json.dumps(obj, indent=1).replace(json.dumps(SENTINEL), token)
        self.files["manifest.json"] = text.encode()


# Each lie edits a Directory and says what the case must do and what it did.


def _as_compiled(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    return SUCCEEDS, "as compiled"


def _program_of_other_pipeline(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    other = draw(st.sampled_from([p for p in BASE_PIPELINES if p != d.base]))
    d.files["program.bin"] = sandbox.bases[other]["program.bin"]
    return REFUSED, f"the program.bin of {other}"


def _pipeline_edited(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    pipeline = draw(st.sampled_from([p for p in sandbox.pipelines if p != d.base] + ["FP32"]))
    d.manifest["pipeline"] = pipeline
    d.write_manifest()
    return REFUSED, f"its manifest's pipeline {pipeline}"


def _overflowing_constant(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    i = draw(st.integers(0, len(d.manifest["constants"]) - 1))
    token = draw(st.sampled_from(OVERFLOWING))
    d.set_manifest_text(["constants", i], token)
    return REFUSED, f"constants[{i}] = {token[:12]}"


def _huge_constant(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    i = draw(st.integers(0, len(d.manifest["constants"]) - 1))
    token = draw(st.sampled_from(HUGE_FINITE))
    d.set_manifest_text(["constants", i], token)
    return BOUNDED, f"constants[{i}] = {token[:12]}"


def _nested_manifest(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    where = draw(st.sampled_from(["the file", "constants", "tensors[0].shape", "title"]))
    array = "[" * DEPTH + "]" * DEPTH
    if where == "the file":
        d.files["manifest.json"] = array.encode()
    elif where == "title":
        d.set_manifest_text(["title"], '{"a": ' * DEPTH + "1" + "}" * DEPTH)
    else:
        d.set_manifest_text(
            ["constants"] if where == "constants" else ["tensors", 0, "shape"], array
        )
    return REFUSED, f"{where} of its manifest nested {DEPTH} deep"


def _tensors_overlapping(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    tensors = d.manifest["tensors"]
    i = draw(st.integers(0, len(tensors) - 1))
    j = draw(st.integers(0, len(tensors) - 2))
    j += j >= i
    address = tensors[i]["address"] + draw(st.integers(0, _size(tensors[i]) - 1))
    tensors[j]["address"] = address
    d.write_manifest()
    return REFUSED, f"tensors[{j}] at {address}, in tensors[{i}]"


def _tensor_past_dram(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    j = draw(st.integers(0, len(d.manifest["tensors"]) - 1))
    end = d.manifest["dram_words"]
    tensor = d.manifest["tensors"][j]
    tensor["address"] = draw(st.sampled_from([end, end - _size(tensor) + 1, 2**32, 2**64]))
    d.write_manifest()
    return REFUSED, f"tensors[{j}] at {tensor['address']} (DRAM: {end} words)"


def _dram_size(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    m = d.manifest
    used = max(
        m["const_base"] + 2 * len(m["constants"]),
        *(t["address"] + _size(t) for t in m["tensors"]),
    )
    m["dram_words"] = draw(st.sampled_from([0, used - 1, 2**40, 2**64]))
    d.write_manifest()
    return REFUSED, f"dram_words {m['dram_words']} (its tensors and constants take {used})"


def _only_halt(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    d.files["program.bin"] = sandbox.halt
    if draw(st.booleans()):
        d.manifest["instructions"], d.manifest["instructions_by_class"] = 1, {"HALT": 1}
        d.write_manifest()
        return REFUSED, "a program that only halts (and a manifest that says so)"
    return REFUSED, "a program that only halts"


def _instruction_count(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    d.manifest["instructions"] += draw(st.sampled_from([-1, 1, 1000]))
    d.write_manifest()
    return REFUSED, f"instructions {d.manifest['instructions']} in its manifest"


def _problem_edited(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    edits = {**TRAINING_EDITS, **NEUTRAL_EDITS}
    name = draw(st.sampled_from(sorted(edits)))
    old, new = edits[name]
    d.files["problem.mlir"] = d.files["problem.mlir"].replace(old.encode(), new.encode())
    return REFUSED if name in TRAINING_EDITS else BOUNDED, f"its problem.mlir's {name} edited"


def _nested_hardware(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    d.files["hardware.toml"] = _nested_toml(draw)
    return REFUSED, f"its hardware.toml nested {DEPTH} deep"


def _huge_hardware(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    d.files["hardware.toml"] = draw(st.sampled_from(HUGE_HARDWARE)).encode()
    return BOUNDED, "extreme values in its hardware.toml"


def _file_missing(draw, d: Directory, sandbox: Sandbox) -> tuple[str, str]:
    name = draw(st.sampled_from([*PROGRAM_FILES, "program.pasm"]))
    d.files[name] = None
    return REFUSED if name in PROGRAM_FILES else BOUNDED, f"no {name}"


LIES = {
    "none": _as_compiled,
    "program": _program_of_other_pipeline,
    "pipeline": _pipeline_edited,
    "overflowing constant": _overflowing_constant,
    "huge constant": _huge_constant,
    "nested manifest": _nested_manifest,
    "overlapping tensors": _tensors_overlapping,
    "past DRAM": _tensor_past_dram,
    "DRAM size": _dram_size,
    "only halt": _only_halt,
    "instruction count": _instruction_count,
    "problem": _problem_edited,
    "nested hardware": _nested_hardware,
    "huge hardware": _huge_hardware,
    "missing file": _file_missing,
    "--hw": None,  # not a directory: `--hw` of compile, run and sim (_hardware_option_case)
}


def _lying_directory(draw, sandbox: Sandbox, how: str) -> tuple[dict[str, bytes | None], str, str]:
    """The files of a tiny program directory edited by the lie `how`; what the case must do;
    what was done."""
    base = draw(st.sampled_from(BASE_PIPELINES))
    d = Directory(base, dict(sandbox.bases[base]), json.loads(sandbox.bases[base]["manifest.json"]))
    expect, note = LIES[how](draw, d, sandbox)
    return d.files, expect, f"{base}: {note}"


def _seed(draw) -> list[str]:
    """Sometimes a seed of the points (any 64-bit one)."""
    return ["--seed", str(draw(st.integers(0, 2**64 - 1)))] if draw(st.booleans()) else []


def progdir_cases(sandbox: Sandbox, lies=tuple(LIES)):
    """`pintac sim` on program directories that lie (`lies`, of LIES); `--hw` configurations
    of compile, run and sim nested DEPTH deep or with extreme values."""

    @st.composite
    def case(draw):
        how = draw(st.sampled_from(lies))
        if how == "--hw":
            return _hardware_option_case(draw)
        files, expect, note = _lying_directory(draw, sandbox, how)
        argv = ["sim", "mut/case.pinta", "--steps", "1", "--quiet", *_seed(draw)]
        argv += draw(st.sampled_from([[], ["--no-eval"], ["--report", "out/pd.json"]]))
        written = {f"mut/case.pinta/{k}": v for k, v in files.items() if v is not None}
        return Case(argv, written, expect=expect, note=note)

    return case()


def _hardware_option_case(draw) -> Case:
    nested = draw(st.booleans())
    data = _nested_toml(draw) if nested else draw(st.sampled_from(HUGE_HARDWARE)).encode()
    argv = draw(
        st.sampled_from(
            [
                ["compile", "inputs/tiny.mlir", "--hw", "mut/hw.toml", "-o", "out/pd"],
                ["run", "inputs/tiny.mlir", "--target", "pinta-sim", "--hw", "mut/hw.toml"],
                ["sim", "prog/tiny.pinta", "--hw", "mut/hw.toml"],
            ]
        )
    )
    if argv[0] != "compile":
        argv = [*argv, *ONE_STEP]
    note = f"--hw nested {DEPTH} deep" if nested else "--hw with extreme values"
    return Case(argv, {"mut/hw.toml": data}, expect=REFUSED if nested else BOUNDED, note=note)


# ------------------------------------------------------------------ inputs that are not files

# Every input of every command, with X standing for it: its argument vector and the suffix
# of X (REGULAR_INPUTS); `sim D/NAME` is the tiny program directory with its file NAME of the
# kind.
INPUT_SLOTS = {
    "opt": (["opt", "X", "-o", "out/ft.mlir"], "mlir"),
    "compile": (["compile", "X", "-o", "out/ft.pinta"], "mlir"),
    "compile --target mlir": (["compile", "X", "--target", "mlir", "-o", "out/ft.mlir"], "mlir"),
    "compile --hw": (["compile", "inputs/tiny.mlir", "--hw", "X", "-o", "out/ft.pinta"], "toml"),
    "run": (["run", "X", *ONE_STEP], "mlir"),
    "run --hw": (
        ["run", "inputs/tiny.mlir", "--target", "pinta-sim", "--hw", "X", *ONE_STEP],
        "toml",
    ),
    "run --init-from": (["run", "inputs/tiny.mlir", "--init-from", "X", *ONE_STEP], "npz"),
    "sim": (["sim", "X", *ONE_STEP], "pinta"),
    "sim --hw": (["sim", "prog/tiny.pinta", "--hw", "X", *ONE_STEP], "toml"),
    **{f"sim D/{name}": (["sim", "X", *ONE_STEP], name) for name in PROGRAM_FILES},
    "asm": (["asm", "X", "-o", "out/ft.bin"], "pasm"),
    "disasm": (["disasm", "X", "-o", "out/ft.pasm"], "bin"),
    "predict": (["predict", "X", "--grid", "3x3", "-o", "out/ft.npz"], "npz"),
    "predict --points (.npy)": (["predict", CHECKPOINT, "--points", "X"], "npy"),
    "predict --points (.csv)": (["predict", CHECKPOINT, "--points", "X"], "csv"),
    "predict --problem": (["predict", CHECKPOINT, "--grid", "3x3", "--problem", "X"], "mlir"),
    "plot": (["plot", "X", "-o", "out/ftplots"], "json"),
    "plot --checkpoint": (
        ["plot", "trained/tiny.json", "--checkpoint", "X", "-o", "out/ftplots"],
        "npz",
    ),
}
# Outputs that are symbolic links to a file outside the sandbox, which must stay as it is
# (the link itself may be replaced): argument vectors and the links.
VICTIM = "@outside/victim.txt"
OUTPUT_TRAPS = {
    "opt -o": (["opt", "inputs/tiny.mlir", "-o", "traps/o.mlir"], ["traps/o.mlir"]),
    "opt --reproducer": (
        ["opt", "inputs/tiny.mlir", "-p", "tt-partial-reconstruct", "--reproducer", "traps/r.mlir"],
        ["traps/r.mlir"],
    ),
    "compile --target mlir -o": (
        ["compile", "inputs/tiny.mlir", "--target", "mlir", "-o", "traps/o.mlir"],
        ["traps/o.mlir"],
    ),
    "compile -o DIR": (
        ["compile", "inputs/tiny.mlir", "-o", "traps/d.pinta"],
        [f"traps/d.pinta/{name}" for name in [*PROGRAM_FILES, "program.pasm"]],
    ),
    "run --report": (
        ["run", "inputs/tiny.mlir", *ONE_STEP, "--report", "traps/r.json"],
        ["traps/r.json"],
    ),
    "run --checkpoint": (
        ["run", "inputs/tiny.mlir", *ONE_STEP, "--checkpoint", "traps/ck", "--overwrite"],
        ["traps/ck/checkpoint.npz"],
    ),
    "sim --report": (
        ["sim", "prog/tiny.pinta", *ONE_STEP, "--report", "traps/r.json"],
        ["traps/r.json"],
    ),
    "sim --trace": (
        ["sim", "prog/tiny.pinta", *ONE_STEP, "--trace", "traps/t.json"],
        ["traps/t.json"],
    ),
    "sim --checkpoint": (
        ["sim", "prog/tiny.pinta", *ONE_STEP, "--checkpoint", "traps/ck"],
        ["traps/ck/checkpoint.npz"],
    ),
    "asm -o": (["asm", "pasm/canonical.pasm", "-o", "traps/o.bin"], ["traps/o.bin"]),
    "disasm -o": (["disasm", "bin/tiny.bin", "-o", "traps/o.pasm"], ["traps/o.pasm"]),
    "predict -o": (["predict", CHECKPOINT, "--grid", "3x3", "-o", "traps/o.npz"], ["traps/o.npz"]),
    "plot -o": (
        ["plot", "trained/tiny.json", "--checkpoint", CHECKPOINT, "-o", "traps/plots"],
        [f"traps/plots/{name}.png" for name in ("loss", "error", "solution")],
    ),
    "opt -o FIFO": (["opt", "inputs/tiny.mlir", "-o", "ft/fifo-out.mlir"], []),
}


def _input_of_kind(slot: str, kind: str) -> tuple[str, str]:
    """The path X of `slot` for a file of `kind` ("regular" or FILE_KINDS), and what the case
    must do."""
    suffix = INPUT_SLOTS[slot][1]
    if kind == "regular":
        return REGULAR_INPUTS.get(suffix, REGULAR_INPUTS["pinta"]), SUCCEEDS
    if suffix in PROGRAM_FILES:
        path = f"ft/{kind}-{suffix.split('.')[0]}.pinta"
    else:
        path = f"ft/{kind}.{suffix}"
    in_program = suffix in PROGRAM_FILES or suffix == "pinta"  # only regular files belong
    if kind == "outside" or (kind in ("fifo", "devnull") and not in_program):
        return path, BOUNDED  # it may be read (a pipe or /dev/null is empty), but not hang
    return path, REFUSED


def filetype_cases(sandbox: Sandbox, kinds=("regular", *FILE_KINDS), links: bool = True):
    """Every input of every command (INPUT_SLOTS) a FIFO, a device, a directory, a symbolic
    link or a sparse 4 GiB file (of `kinds`: FILE_KINDS, or "regular", the control); with
    `links`, outputs that are symbolic links to a file outside the sandbox (OUTPUT_TRAPS)."""

    @st.composite
    def case(draw):
        if links and (not kinds or draw(st.integers(0, 4)) == 0):
            name = draw(st.sampled_from(sorted(OUTPUT_TRAPS)))
            argv, traps = OUTPUT_TRAPS[name]
            extra = _seed(draw) if argv[0] in ("run", "sim") else []
            return Case([*argv, *extra], links=dict.fromkeys(traps, VICTIM), expect=BOUNDED)
        slot = draw(st.sampled_from(sorted(INPUT_SLOTS)))
        case = input_case(slot, draw(st.sampled_from(kinds)))
        if case.argv[0] in ("run", "sim"):
            case.argv += _seed(draw)
        return case

    return case()


def input_case(slot: str, kind: str) -> Case:
    """The case of INPUT_SLOTS[slot] with its input a file of `kind`."""
    path, expect = _input_of_kind(slot, kind)
    argv = [path if a == "X" else a for a in INPUT_SLOTS[slot][0]]
    return Case(argv, expect=expect, note=f"{slot}: {FILE_KINDS.get(kind, 'a regular file')}")


# ------------------------------------------------------------------ outputs onto inputs


def _spelled(draw, path: str) -> str:
    """`path`, or another spelling of it: `./`, a detour through `..`, `/./`, absolute."""
    head, _, rest = path.partition("/")
    return draw(
        st.sampled_from(
            [path, f"./{path}", f"{head}/../{path}", f"{head}/./{rest}", f"@root/{path}"]
        )
    )


def _aliased(draw, path: str) -> str:
    """A name of the file `path`: a spelling of it, or a hard or a symbolic link to it."""
    return draw(st.sampled_from([_spelled(draw, path), *ALIAS_LINKS.get(path, ())]))


def _outputs_onto_inputs(draw) -> Case:
    """One command with one output onto one of its inputs (or, where noted, beside them)."""
    ck = "alias/ck/checkpoint.npz"
    sim = ["sim", "alias/D.pinta", *ONE_STEP]
    run = ["run", "alias/f.mlir", *ONE_STEP]
    how = draw(st.integers(0, 18))
    if how == 0:
        source = draw(st.sampled_from(["alias/x.pasm", "alias/x-sym.pasm"]))
        return _onto(["asm", source, "-o", _aliased(draw, "alias/x.pasm")])
    if how == 1:
        return _onto(["asm", _spelled(draw, "alias/prog.bin")], note="the default output is it")
    if how == 2:
        source = draw(st.sampled_from(["alias/p.bin", "alias/p-sym.bin"]))
        return _onto(["disasm", source, "-o", _aliased(draw, "alias/p.bin")])
    if how == 3:
        option = draw(st.sampled_from(["-o", "--reproducer"]))
        return _onto(["opt", "alias/f.mlir", "-p", "cse", option, _aliased(draw, "alias/f.mlir")])
    if how == 4:
        target = draw(st.sampled_from(["mlir", "numpy"]))
        option = draw(st.sampled_from(["-o", "--reproducer"]))
        out = _aliased(draw, "alias/f.mlir")
        return _onto(["compile", "alias/f.mlir", "--target", target, option, out])
    if how == 5:
        out = draw(st.sampled_from([".", "./", "../proj", "@root/alias/proj"]))
        return _onto(["compile", "problem.mlir", "-o", out], cwd="alias/proj")
    if how == 6:
        out = draw(st.sampled_from(["alias/D.pinta", "alias/D-sym.pinta", "@root/alias/D.pinta"]))
        return _onto(["compile", "alias/D.pinta/problem.mlir", "-o", out])
    if how == 7:
        hw = "alias/D.pinta/hardware.toml"
        return _onto(["compile", "alias/f.mlir", "--hw", hw, "-o", "alias/D.pinta"])
    if how == 8:
        option = draw(st.sampled_from(["--report", "--trace"]))
        directory = draw(
            st.sampled_from(["alias/D.pinta", "alias/D-sym.pinta", "@root/alias/D.pinta"])
        )
        name = draw(st.sampled_from(PROGRAM_FILES))
        return _onto([*sim, *_seed(draw), option, f"{directory}/{name}"])
    if how == 9:
        return _onto([*sim, "--checkpoint", "alias/D.pinta/manifest.json"])
    if how == 10:
        option = draw(st.sampled_from(["--report", "--trace"]))
        return _onto([*sim, "--hw", "alias/h.toml", option, _spelled(draw, "alias/h.toml")])
    if how == 11:
        return _onto([*run, *_seed(draw), "--report", _aliased(draw, "alias/f.mlir")])
    if how == 12:
        return _onto([*run, "--init-from", ck, "--checkpoint", "alias/ck", "--overwrite"])
    if how == 13:
        return _onto([*run, "--init-from", "alias/ck", "--report", _aliased(draw, ck)])
    if how == 14:
        problem = "alias/ckproblem/checkpoint.npz"  # a problem file named like a checkpoint
        return _onto(["run", problem, *ONE_STEP, "--checkpoint", "alias/ckproblem", "--overwrite"])
    if how == 15:
        argv = [*run, "--target", "pinta-sim", "--hw", "alias/h.toml"]
        return _onto([*argv, "--report", _spelled(draw, "alias/h.toml")])
    if how == 16:
        points = draw(st.sampled_from(["alias/points.npz", "alias/points.csv"]))
        if draw(st.booleans()):
            return _onto(["predict", ck, "--grid", "3x3", "-o", _aliased(draw, ck)])
        return _onto(["predict", ck, "--points", points, "-o", _spelled(draw, points)])
    if how == 17:
        if draw(st.booleans()):
            return _onto(["plot", "alias/r.json", "-o", _spelled(draw, "alias/r.json")])
        return _onto(["plot", "alias/r.json", "--checkpoint", ck, "-o", _aliased(draw, ck)])
    # beside the inputs, not onto them: nothing to refuse, nothing to destroy
    argv = draw(
        st.sampled_from(
            [
                [*sim, "--checkpoint", "alias/D.pinta"],
                ["plot", "alias/r.json", "--checkpoint", ck, "-o", "alias/ck"],
                ["plot", "alias/r.json", "-o", "alias"],
            ]
        )
    )
    return Case(argv, expect=BOUNDED)


def _onto(argv: list[str], **kwargs) -> Case:
    return Case(argv, expect=REFUSED, **kwargs)


def aliasing_cases(sandbox: Sandbox):
    """Every output option of every command pointed at one of its inputs (`alias/`): by its
    name or another spelling, a hard or a symbolic link, `-o .` where the input is
    problem.mlir. Refused, the input unchanged; where the output only lies beside the inputs,
    the inputs unchanged."""

    return st.composite(_outputs_onto_inputs)()


GENERATORS = {
    "ir": ir_cases,
    "opt": opt_cases,
    "compile": compile_cases,
    "run": run_cases,
    "predict": predict_cases,
    "plot": plot_cases,
    "sim": sim_cases,
    "asm": asm_cases,
    "disasm": disasm_cases,
    "progdir": progdir_cases,
    "filetype": filetype_cases,
    "aliasing": aliasing_cases,
    "pde": pde_cases,
}


# ------------------------------------------------------------------ running a case

LOCATED = re.compile(r"^[^\n:]+:\d+:\d+: error:")


class CaseTimeout(BaseException):
    """A case ran longer than its time limit."""


# How a case can fail.
TRACEBACK = "traceback"
HANG = "hang (over the time limit)"
MODIFIED = "input modified"
OUT_OF_MEMORY = "out of memory on a small or endless input"
ACCEPTED = "damage accepted (exit 0)"
PARSER_ONLY = "refused by the option parser only (the attack never got in)"
CONTROL_FAILED = "control failed (a valid case did not exit 0)"
OTHER_EXIT = "exit status other than 0 or 1"
UNLOCATED = "error not located in the file (FILE:LINE:COL or FILE: error)"
FAILURES = [
    TRACEBACK,
    HANG,
    MODIFIED,
    OUT_OF_MEMORY,
    ACCEPTED,
    PARSER_ONLY,
    CONTROL_FAILED,
    OTHER_EXIT,
    UNLOCATED,
]


@dataclass
class Outcome:
    kind: str  # "exit 0", "exit 1: <kind of error>", "traceback", "hang", "exit N"
    detail: str = ""
    failures: tuple[str, ...] = ()  # of FAILURES
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


# Phrases of the PINTA hardware configuration's errors (`runtime/pinta/config.py`).
HARDWARE_ERRORS = (
    "PINTA configuration",
    "invalid TOML",
    "override '",
    "unknown section",
    "unknown key '",
    "lies outside any section",
    "must name a function",
    "' must be",
    "address fields reach",
)
PROGRAM_FILE_ERRORS = (
    "is not a PINTA program",
    "is a PINTA program of format",
    "cannot read the PINTA program",
    " is truncated: ",
    " is corrupted",
)


def classify(stderr: str) -> str:
    """The kind of error a failed case reported, from its first line."""
    lines = stderr.strip().splitlines()
    # the first line that reports the error (--pass-timing and the like print before it)
    first = next((line for line in lines if "error" in line or "PINTA trap" in line), "")
    first = first or (lines[0] if lines else "")
    text = stderr.lower()
    if first.startswith("PINTA trap"):
        return "PINTA trap (the simulator refuses the program)"
    if LOCATED.match(first):
        if re.match(r"[^:]*\.pasm:", first):
            return "located error in the assembly"
        return "located error in the input (parse or verify)"
    if ("pass 'lower-to-pinta" in first and "failed" in first) or any(
        s in first for s in ("more than the constant buffer holds", "than the configured DRAM")
    ):
        return "PINTA lowering (the step does not fit the hardware, or an op has no lowering)"
    if "pass '" in first and "failed" in first:
        return "pass failure"
    if "usage:" in text or ": error: argument" in text or "unrecognized arguments" in text:
        return "usage (options)"
    if any(
        s in first
        for s in (
            "--hw and --hw-set configure",
            "give the output with -o",
            "writes a program directory, not",
            "train past the end",
        )
    ):
        return "usage (options)"
    if any(s in first for s in HARDWARE_ERRORS):
        return "PINTA hardware configuration"
    if any(
        s in first
        for s in (
            "bad option",
            "invalid pass pipeline",
            "unknown pipeline",
            "unknown pass",
            "pass '",
        )
    ):
        return "pass pipeline or pass option"
    if "would overwrite the input" in first:
        return "output refused: it is an input"
    if "out of memory" in first:
        return "out of memory"
    if "cannot write" in first or re.search(
        r"the (path of|directory for) the (?!input).* is empty", first
    ):
        return "output cannot be written"
    if any(s in first for s in PROGRAM_FILE_ERRORS):
        return "PINTA program file (truncated, corrupted, foreign)"
    if re.match(r"[^:]*(\.pinta|/manifest\.json)(/|:)|.*(not a|no) program directory", first):
        return "PINTA program directory (a file missing, damaged or not its problem's)"
    if "checkpoint" in first:
        return "checkpoint"
    if re.match(r"pintac \w+: error: (--|give )", first):
        return "usage (options)"
    if "not a pintac report" in first:
        return "report (the input of pintac plot)"
    if "no pinn.exact solution" in first:
        return "problem without an exact solution (its error cannot be measured)"
    if "the loss became" in first or "training stopped" in first:
        return "training diverged"
    if any(
        s in first
        for s in (
            "no such file",
            "is a directory",
            "permission denied",
            "not valid utf-8",
            "nul byte",
            "not a directory",
            "the path of the input is empty",
        )
    ):
        return "input cannot be read"
    return "other error"


def run_case(case: Case, sandbox: Sandbox, time_limit: float | None = None) -> Outcome:
    """Run one case in the sandbox and judge it; never raises. Inputs it changed are put
    back."""
    from pintac.cli import main

    own_inputs = _prepare(case, sandbox)
    argv = [sandbox.resolve(a) for a in case.argv]
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(b""))
    code: int | str | None = None
    crash = ""
    started = time.perf_counter()
    try:
        with (
            _cwd(sandbox.root / case.cwd),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _time_limit(time_limit),
        ):
            code = main(argv)
    except CaseTimeout:
        pass
    except BaseException as e:  # anything escaping main is a traceback
        crash = "".join(traceback.format_exception(e))
    finally:
        _disarm()
        sys.stdin = old_stdin
    if _Clock.expired:
        code, crash = "hang", ""
    seconds = time.perf_counter() - started
    changed = own_inputs.changed()
    if sandbox.inputs is not None:
        changed_here = sandbox.inputs.changed()
        sandbox.inputs.restore(changed_here)
        changed += changed_here
    outcome = _judge(case, code, crash, err.getvalue(), [_shown(p, sandbox) for p in changed])
    outcome.seconds = seconds
    return outcome


def _prepare(case: Case, sandbox: Sandbox) -> Inputs:
    """Make the case's files (in a fresh `mut/`) and links (in a fresh `traps/`); its files,
    fingerprinted."""
    root = sandbox.root
    for area, wanted in (("mut", case.files), ("traps", case.links)):
        if wanted:
            shutil.rmtree(root / area, ignore_errors=True)
    own = Inputs()
    for name, data in case.files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        own.add(path, keep=False)
    for name, target in case.links.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(sandbox.resolve(target))
    return own


def _shown(path: Path, sandbox: Sandbox) -> str:
    for prefix, root in (("", sandbox.root), ("@outside/", sandbox.outside)):
        if path.is_relative_to(root):
            return prefix + str(path.relative_to(root))
    return str(path)


def _judge(case: Case, code, crash: str, stderr: str, changed: list[str]) -> Outcome:
    """What a case's ending (`code`: the exit status or "hang") makes of it."""
    failures = []
    if crash or "Traceback (most recent call last)" in stderr:
        kind = "traceback"
        failures.append(TRACEBACK)
    elif code == "hang":
        kind = "hang"
        failures.append(HANG)
    elif code in (0, 1):
        kind = "exit 0" if code == 0 else f"exit 1: {classify(stderr)}"
    else:
        kind = f"exit {code}"
        failures.append(OTHER_EXIT)
    if changed:
        failures.append(MODIFIED)
    if code == 1 and case.expect != ANY and "out of memory" in stderr:
        failures.append(OUT_OF_MEMORY)
    if case.expect == REFUSED and code == 0:
        failures.append(ACCEPTED)
    if case.expect == REFUSED and code == 1 and "usage: pintac" in stderr:
        failures.append(PARSER_ONLY)
    if case.expect == SUCCEEDS and code == 1 and OUT_OF_MEMORY not in failures:
        failures.append(CONTROL_FAILED)
    if case.expect == LOCATED_OR_SUCCEEDS and code == 1 and not _located_in(stderr, case):
        failures.append(UNLOCATED)
    if not failures:
        return Outcome(kind, stderr[:300])
    detail = repr(case)
    if changed:
        detail += "\n  changed: " + ", ".join(changed)
    detail += "\n" + (_shortened(crash) or _first_lines(stderr) or f"({kind})")
    return Outcome(kind, detail, tuple(failures))


def _located_in(stderr: str, case: Case) -> bool:
    """Whether the error's first line names one of the case's files, with a line and column
    or as the file at fault."""
    first = stderr.lstrip().partition("\n")[0]
    return any(re.match(rf"{re.escape(name)}:(\d+:\d+:)? error: ", first) for name in case.files)


def _shortened(traceback_text: str) -> str:
    """A traceback's last lines, where it failed (a RecursionError's has thousands)."""
    lines = traceback_text.rstrip().splitlines()
    if len(lines) > 12:
        lines = [lines[0], f"  ... ({len(lines) - 11} lines)", *lines[-10:]]
    return "\n".join(lines)


def _first_lines(text: str, n: int = 4) -> str:
    """The first lines of `text`, each at most 200 characters (no binary echoed)."""
    lines = [line[:200] for line in text.strip().splitlines()[:n]]
    return "\n".join("  " + line for line in lines)


class _Clock:
    """The time limit of the case running: armed, and whether it ran out."""

    armed = False
    expired = False


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Raise CaseTimeout in the main thread after `seconds` (a FIFO's open or read is
    interrupted too), and again every second after: an exception raised where it is ignored
    (in a garbage collector's callback) comes back. As a last resort, should the case be
    stuck where no signal is seen, faulthandler prints every thread's stack and ends the
    process."""
    _Clock.expired = False
    if not seconds:
        yield
        return
    signal.signal(signal.SIGALRM, _alarm)
    faulthandler.dump_traceback_later(3 * seconds + 30, exit=True, file=sys.__stderr__)
    _Clock.armed = True
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        _disarm()


def _disarm() -> None:
    _Clock.armed = False
    signal.setitimer(signal.ITIMER_REAL, 0)
    faulthandler.cancel_dump_traceback_later()


def _alarm(signum, frame):
    if _Clock.armed:
        _Clock.expired = True
        raise CaseTimeout


def check_case(case: Case, sandbox: Sandbox, time_limit: float | None = None) -> Outcome:
    """For pytest: the case's outcome (`ok` when it did what it must)."""
    return run_case(case, sandbox, time_limit)


# The address space the cases may take beyond what the process holds when they start: enough
# for any legitimate case, less than 4 GiB (a sparse file read whole fails at once).
MEMORY_HEADROOM = 2 << 30


@contextlib.contextmanager
def memory_cap(headroom: int = MEMORY_HEADROOM):
    """Cap this process's address space at what it uses now plus `headroom` (where the system
    allows): a case reading an endless or huge input ends in a MemoryError, not in taking
    the machine's memory."""
    try:
        import resource

        pages = int(Path("/proc/self/statm").read_text().split()[0])
        used = pages * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError):
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = used + headroom
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# ------------------------------------------------------------------ the benchmark

# Share of the cases per generator: mostly opt/compile and the PINTA commands, training kept
# rare.
SHARES = {
    "ir": 0.22,
    "opt": 0.10,
    "compile": 0.07,
    "run": 0.06,
    "predict": 0.04,
    "plot": 0.02,
    "sim": 0.06,
    "asm": 0.05,
    "disasm": 0.03,
    "progdir": 0.06,
    "filetype": 0.05,
    "aliasing": 0.04,
    "pde": 0.20,
}
# Seconds a case may take: about 3x the slowest legitimate case seen on 2 shared cores
# (7.2 s, `pintac run --plot`: matplotlib; a compile of a tiny problem takes under a second).
TIME_LIMIT = 20.0


@dataclass
class Results:
    """What the cases of a run did."""

    counts: dict[str, Counter] = field(default_factory=dict)  # generator -> kind -> cases
    seconds: dict[str, float] = field(default_factory=dict)  # generator -> seconds
    failures: list[tuple[str, str]] = field(default_factory=list)  # (a FAILURES kind, detail)
    slowest: list[tuple[float, str]] = field(default_factory=list)  # cases that passed

    def add(self, generator: str, case: Case, outcome: Outcome) -> None:
        self.counts.setdefault(generator, Counter())[outcome.kind] += 1
        self.failures += [(failure, outcome.detail) for failure in outcome.failures]
        if outcome.ok:
            self.slowest = sorted([*self.slowest, (outcome.seconds, repr(case))])[-5:]

    def failure_counts(self) -> Counter:
        return Counter(kind for kind, _ in self.failures)


def fuzz(
    count: int,
    seed: int,
    root: Path,
    time_limit: float = TIME_LIMIT,
    progress=None,
    keep: Path | None = None,
) -> Results:
    sandbox = Sandbox(root).setup()
    results = Results()
    with memory_cap():
        for name, share in SHARES.items():
            started = time.perf_counter()
            n = max(1, round(count * share))
            _fuzz_one(name, n, seed, sandbox, results, time_limit, progress, keep)
            results.seconds[name] = round(time.perf_counter() - started, 1)
    return results


def _fuzz_one(name, n, seed, sandbox, results, time_limit, progress, keep) -> None:
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis_seed(seed)
    @given(GENERATORS[name](sandbox))
    def one(case: Case) -> None:
        outcome = run_case(case, sandbox, time_limit)
        results.add(name, case, outcome)
        if not outcome.ok and keep is not None:  # the case's input files, to reproduce it
            for file, data in case.files.items():
                target = keep / f"case{len(results.failures)}" / file
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        if progress is not None:
            progress()

    one()


def report(results: Results, seed: int, seconds: float, examples: int = 3) -> str:
    """The summary: cases by generator and kind of ending, the failures by kind with
    reproducers, the slowest cases that passed."""
    total: Counter = Counter()
    lines = [
        f"pintac fuzz: seed {seed}, {sum(sum(c.values()) for c in results.counts.values())} cases, "
    ]
    lines[0] += f"{seconds:.0f} s"
    for name, counter in results.counts.items():
        lines.append(f"\n{name} ({sum(counter.values())} cases, {results.seconds.get(name)} s)")
        for kind, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {n:6d}  {kind}")
        total.update(counter)
    lines.append("\nall")
    for kind, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {n:6d}  {kind}")
    failed = results.failure_counts()
    lines.append("\nfailures")
    lines += [f"  {failed[kind]:6d}  {kind}" for kind in FAILURES]
    for kind in FAILURES:
        details = [d for k, d in results.failures if k == kind]
        if details:
            lines.append(f"\n{kind}: {len(details)} case(s), for example")
            lines += ["  " + d.replace("\n", "\n  ") for d in details[:examples]]
    lines.append("\nslowest cases that passed")
    lines += [f"  {s:6.2f} s  {case}" for s, case in reversed(results.slowest)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000, help="number of cases (10000)")
    ap.add_argument("--seed", type=int, default=0, help="hypothesis seed (0)")
    ap.add_argument("--json", metavar="FILE", help="also write the counts and failures here")
    ap.add_argument(
        "--time-limit", type=float, default=TIME_LIMIT, help=f"seconds per case ({TIME_LIMIT:g})"
    )
    ap.add_argument("--keep", metavar="DIR", help="save the input files of failing cases here")
    args = ap.parse_args(argv)
    done = [0]
    started = time.perf_counter()

    def progress() -> None:
        done[0] += 1
        if done[0] % 500 == 0:
            rate = done[0] / (time.perf_counter() - started)
            print(f"  {done[0]} cases, {rate:.1f}/s", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="pintac-fuzz-") as tmp:
        old_tempdir = tempfile.tempdir
        tempfile.tempdir = str(Path(tmp) / "sandbox" / "systemp")  # reproducers stay inside
        Path(tempfile.tempdir).mkdir(parents=True)
        try:
            keep = Path(args.keep) if args.keep else None
            root = Path(tmp) / "sandbox"
            results = fuzz(args.count, args.seed, root, args.time_limit, progress, keep)
        finally:
            tempfile.tempdir = old_tempdir
    sys.stdout.write(report(results, args.seed, time.perf_counter() - started))
    if args.json:
        data = {
            "seed": args.seed,
            "cases": sum(sum(c.values()) for c in results.counts.values()),
            "counts": {name: dict(c) for name, c in results.counts.items()},
            "seconds": results.seconds,
            "failures": [{"kind": k, "case": d} for k, d in results.failures],
        }
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
