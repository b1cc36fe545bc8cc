"""Fuzz pintac's command line: random argument vectors for every subcommand and mutated IR.

    python benchmarks/fuzz.py                          # 10 000 cases, seed 0
    python benchmarks/fuzz.py --count 20000 --seed 7 --json fuzz.json

Every case calls `pintac.cli.main(argv)` in this process, in a sandbox directory holding
inputs, trained checkpoints and reports, PINTA program directories, assembly and hardware
configurations, and paths that are directories, missing, under a file or unwritable (`/proc`).
Values are drawn by hypothesis from each option's domain and its edges: negative, zero, huge,
beyond 64 bits, not numbers, empty. Mutated IR comes from the problems in `examples/`:
truncated, bytes flipped, tokens swapped or duplicated, numbers replaced by extreme ones,
nested absurdly deep. The PINTA commands get program directories with a file missing,
truncated, corrupted or edited to nonsense, programs whose instructions have fields changed
(still valid encodings, so the simulator's checks see them), assembly with unknown mnemonics,
fields and out-of-range operands, and hardware configurations with unknown keys and bad or
extreme values.

A case passes when `main` returns 0 or 1 and prints no traceback; an exception escaping `main`
is a traceback. The script prints how many cases ended how (exit 0, exit 1 by the kind of
error reported, tracebacks with their first lines) and exits 1 if any case failed.
`tests/cli/test_fuzz.py` runs the same generators for a few hundred cases under pytest.

Training is kept to a step or two of tiny problems (`TINY`, `TINY_HEAT`), and PINTA
programs are compiled from them, so most of the time goes to `pintac opt` and `pintac compile`
cases.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import signal
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

# A 2-D Poisson problem small enough that compiling, a step and an evaluation take milliseconds.
TINY = """pinn.problem @tiny {
  pinn.domain @omega box [0.0, 0.0] to [1.0, 1.0]
  pinn.param @W0 : tensor<2x4xf32> init xavier_normal
  pinn.param @b0 : tensor<4xf32> init zeros
  pinn.param @W1 : tensor<4x1xf32> init xavier_normal
  pinn.param @b1 : tensor<1xf32> init zeros
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x2xf32> -> tensor<?x4xf32>
    %h0 = math.tanh %z0 : tensor<?x4xf32>
    %y = pinn.dense %h0, @W1, @b1 : tensor<?x4xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.residual @pde on @omega weight 1.0 (%x : tensor<?x2xf32>) {
    %lap = pinn.laplacian @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    %s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
    %f = math.sin %s : tensor<?x1xf32>
    %r = arith.addf %lap, %f : tensor<?x1xf32>
    pinn.yield %r : tensor<?x1xf32>
  }
  pinn.boundary @bc on boundary(@omega) weight 30.0 (%x : tensor<?x2xf32>) {
    %u = pinn.eval @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }
  pinn.exact of @u (%x : tensor<?x2xf32>) {
    %s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>
    %u = math.sin %s : tensor<?x1xf32>
    pinn.yield %u : tensor<?x1xf32>
  }
  pinn.train {optimizer = "adam", lr = 1.0e-2, schedule = "linear_decay", steps = 2,
              batch = {pde = 8, bc = 8}, pairs = 2, sigma = 0.1, seed = 0, eval_points = 64}
}
"""

# The same in 1-D with time: u_t = u_xx.
TINY_HEAT = """pinn.problem @tiny_heat {
  pinn.domain @q box [0.0] to [1.0] time [0.0, 1.0]
  pinn.param @W0 : tensor<2x4xf32>
  pinn.param @b0 : tensor<4xf32>
  pinn.param @W1 : tensor<4x1xf32>
  pinn.param @b1 : tensor<1xf32>
  pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> {
    %z0 = pinn.dense %x, @W0, @b0 : tensor<?x2xf32> -> tensor<?x4xf32>
    %h0 = math.tanh %z0 : tensor<?x4xf32>
    %y = pinn.dense %h0, @W1, @b1 : tensor<?x4xf32> -> tensor<?x1xf32>
    pinn.return %y : tensor<?x1xf32>
  }
  pinn.residual @pde on @q weight 1.0 (%p : tensor<?x2xf32>) {
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
                ["compile", "inputs/tiny.mlir", "-o", "prog/tiny.pinta"],
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


# Compiling these two for PINTA takes seconds: `compile` cases for PINTA use the others.
SLOW_FOR_PINTA = {"inputs/poisson2d.mlir", "inputs/heat100d.mlir"}
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


@dataclass
class Case:
    """An argument vector, and files to write before running it."""

    argv: list[str]
    files: dict[str, bytes] = field(default_factory=dict)

    def __repr__(self) -> str:  # what hypothesis shows for a failing case
        extra = f" (+ files {sorted(self.files)})" if self.files else ""
        return "pintac " + " ".join(map(_shell, self.argv)) + extra


def _shell(text: str) -> str:
    return text if re.fullmatch(r"[\w./=,{}:+-]+", text) else repr(text)


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
    from pintac.runtime.errors import UserError
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
    wide = TINY.replace("4xf32", "8xf32").replace("<4x1", "<8x1")
    start, end = TINY.index("  pinn.exact"), TINY.index("  pinn.train")
    return draw(
        st.sampled_from(
            [
                TINY,
                TINY_HEAT,
                wide,
                TINY[:start] + TINY[end:],
                TINY.replace("pde = 8", "pde = 16"),
                TINY.replace("pairs = 2", "pairs = 3"),
                TINY.replace('"linear_decay"', '"constant"'),
                TINY.replace("steps = 2", "steps = 1"),
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
}


# ------------------------------------------------------------------ running a case

LOCATED = re.compile(r"^[^\n:]+:\d+:\d+: error:")


class CaseTimeout(BaseException):
    """A case ran longer than its time limit (the benchmark only)."""


@dataclass
class Outcome:
    kind: str  # "exit 0", "exit 1: <kind of error>", "traceback", "timeout", "exit N"
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "exit 0" or self.kind.startswith("exit 1")


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
    """Run one case in the sandbox; never raises (a time-out is reported as such)."""
    from pintac.cli import main

    for name, data in case.files.items():
        path = sandbox.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(b""))
    if time_limit:
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, time_limit)
    try:
        with _cwd(sandbox.root), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(case.argv))
    except CaseTimeout:
        return Outcome("timeout", repr(case))
    except BaseException as e:  # anything escaping main is a traceback
        text = "".join(traceback.format_exception(e))
        return Outcome("traceback", f"{case!r}\n{text}")
    finally:
        if time_limit:
            signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdin = old_stdin
    stderr = err.getvalue()
    if "Traceback (most recent call last)" in stderr:
        return Outcome("traceback", f"{case!r}\n{stderr}")
    if code == 0:
        return Outcome("exit 0")
    if code == 1:
        return Outcome(f"exit 1: {classify(stderr)}", stderr[:300])
    return Outcome(f"exit {code}", f"{case!r}\n{stderr}")


def _alarm(signum, frame):
    raise CaseTimeout


def check_case(case: Case, sandbox: Sandbox) -> None:
    """For pytest: the case ends with exit 0 or 1 and no traceback."""
    outcome = run_case(case, sandbox)
    assert outcome.ok, f"{outcome.kind}: {outcome.detail}"


# ------------------------------------------------------------------ the benchmark

# Share of the cases per generator: mostly opt/compile and the PINTA commands, training kept
# rare.
SHARES = {
    "ir": 0.45,
    "opt": 0.16,
    "compile": 0.09,
    "run": 0.07,
    "predict": 0.04,
    "plot": 0.02,
    "sim": 0.07,
    "asm": 0.06,
    "disasm": 0.04,
}


def fuzz(
    count: int,
    seed: int,
    root: Path,
    time_limit: float = 60.0,
    progress=None,
    keep: Path | None = None,
) -> dict:
    sandbox = Sandbox(root).setup()
    counts: dict[str, Counter] = {}
    failures: list[str] = []
    for name, share in SHARES.items():
        n = max(1, round(count * share))
        counts[name] = Counter()
        started = time.perf_counter()
        _fuzz_one(
            GENERATORS[name](sandbox),
            n,
            seed,
            sandbox,
            counts[name],
            failures,
            time_limit,
            progress,
            keep,
        )
        counts[name]["seconds"] = round(time.perf_counter() - started, 1)
    return {"counts": counts, "failures": failures}


def _fuzz_one(strategy, n, seed, sandbox, counter, failures, time_limit, progress, keep) -> None:
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis_seed(seed)
    @given(strategy)
    def one(case: Case) -> None:
        outcome = run_case(case, sandbox, time_limit)
        counter[outcome.kind] += 1
        if not outcome.ok:
            failures.append(outcome.detail)
            if keep is not None:  # the case's input files, to reproduce it
                for name, data in case.files.items():
                    target = keep / f"case{len(failures)}-{Path(name).name}"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
        if progress is not None:
            progress()

    one()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000, help="number of cases (10000)")
    ap.add_argument("--seed", type=int, default=0, help="hypothesis seed (0)")
    ap.add_argument("--json", metavar="FILE", help="also write the counts here")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per case (60)")
    ap.add_argument("--keep", metavar="DIR", help="save the input files of failing cases here")
    args = ap.parse_args(argv)
    done = [0]
    started = time.perf_counter()

    def progress() -> None:
        done[0] += 1
        if done[0] % 500 == 0:
            rate = done[0] / (time.perf_counter() - started)
            print(f"  {done[0]} cases, {rate:.0f}/s", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="pintac-fuzz-") as tmp:
        old_tempdir = tempfile.tempdir
        tempfile.tempdir = str(Path(tmp) / "systemp")  # default reproducers land in the sandbox
        Path(tempfile.tempdir).mkdir()
        try:
            keep = Path(args.keep) if args.keep else None
            result = fuzz(args.count, args.seed, Path(tmp), args.time_limit, progress, keep)
        finally:
            tempfile.tempdir = old_tempdir
    total: Counter = Counter()
    print(
        f"pintac fuzz: seed {args.seed}, {sum(done)} cases, {time.perf_counter() - started:.0f} s"
    )
    for name, counter in result["counts"].items():
        seconds = counter.pop("seconds", 0)
        print(f"\n{name} ({sum(counter.values())} cases, {seconds} s)")
        for kind, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {n:6d}  {kind}")
        total.update(counter)
    print("\nall")
    for kind, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:6d}  {kind}")
    bad = sum(n for kind, n in total.items() if not Outcome(kind).ok)
    print(f"\n{bad} case(s) with a traceback, a time-out or another exit status")
    for detail in result["failures"][:20]:
        print("\n" + detail)
    if args.json:
        data = {
            "seed": args.seed,
            "cases": sum(total.values()),
            "counts": {name: dict(c) for name, c in result["counts"].items()},
            "total": dict(total),
            "failures": result["failures"],
        }
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
