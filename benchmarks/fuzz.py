"""Fuzz pintac's command line: random argument vectors for every subcommand and mutated IR.

    python benchmarks/fuzz.py                          # 10 000 cases, seed 0
    python benchmarks/fuzz.py --count 20000 --seed 7 --json fuzz.json

Every case calls `pintac.cli.main(argv)` in this process, in a sandbox directory holding
inputs, trained checkpoints and reports, and paths that are directories, missing, under a
file or unwritable (`/proc`). Values are drawn by hypothesis from each option's domain and its
edges: negative, zero, huge, beyond 64 bits, not numbers, empty. Mutated IR comes from the
problems in `examples/`: truncated, bytes flipped, tokens swapped or duplicated, numbers
replaced by extreme ones, nested absurdly deep.

A case passes when `main` returns 0 or 1 and prints no traceback; an exception escaping `main`
is a traceback. The script prints how many cases ended how (exit 0, exit 1 by the kind of
error reported, tracebacks with their first lines) and exits 1 if any case failed.
`tests/cli/test_fuzz.py` runs the same generators for a few hundred cases under pytest.

Training is kept to a step or two of tiny problems (`TINY`, `TINY_HEAT`), so most of the time
goes to `pintac opt` and `pintac compile` cases.
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


# ------------------------------------------------------------------ the sandbox


@dataclass
class Sandbox:
    """A directory with everything the cases use. Paths in argument vectors are relative to it
    (the cases run with it as the working directory)."""

    root: Path
    pipelines: list[str] = field(default_factory=list)
    passes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

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
        self.pipelines = list(PIPELINES)
        for name, factory in sorted(available_passes().items()):
            cls = factory()
            self.passes[name] = [
                (f.name.replace("_", "-"), option_type_name(cls, f)) for f in pass_options(cls)
            ]
        return self


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
        "--eval-points": int_texts("1", "5", "64"),
        "--eval-every": any_int_texts(),
        "--smoothed": None,
        "--no-eval": None,
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
        "--eval-points": st.sampled_from(["5", "64"]),
        "--eval-every": st.sampled_from(["0", "1", "7"]),
        "--smoothed": None,
        "--no-eval": None,
    }

    @st.composite
    def case(draw):
        argv = ["run", draw(st.sampled_from(RUN_INPUTS)), "--quiet"]
        if draw(st.booleans()):
            argv[1] = draw(st.sampled_from(["inputs/tiny.mlir", "inputs/tiny_heat.mlir"]))
        argv += _options(draw, spec, 6, valid)
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
    spec = {
        "--pipeline": pipelines(sandbox),
        "--target": st.sampled_from(["mlir", "numpy", "c", "", "NUMPY"]),
        "-o": paths(OUT_FILES, (".py", ".mlir", "")),
        "--print-op-generic": None,
        "--print-ir-after-all": None,
        "--pass-timing": None,
        "--reproducer": paths(OUT_FILES, (".mlir",)),
    }

    valid = {
        "--pipeline": st.sampled_from(["fp32", *sandbox.pipelines]),
        "--target": st.sampled_from(["mlir", "numpy"]),
        "-o": st.sampled_from(["out/step.py", "out/ir.mlir", "-"]),
        "--print-op-generic": None,
        "--pass-timing": None,
        "--reproducer": st.just("out/repro.mlir"),
    }

    @st.composite
    def case(draw):
        argv = ["compile", draw(st.sampled_from(IR_INPUTS)), *_options(draw, spec, 5, valid)]
        return Case(argv)

    return case()


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
    texts = [p.read_bytes() for p in (sources or SOURCES)] + [TINY.encode(), TINY_HEAT.encode()]
    mutation = st.tuples(
        st.sampled_from(MUTATIONS),
        st.floats(0, 1, exclude_max=True),
        st.floats(0, 1, exclude_max=True),
        st.integers(0, 10**6),
        st.binary(max_size=8) | st.sampled_from([b"}", b"{", b"%", b"@", b"\xff", "Δ".encode()]),
    )

    @st.composite
    def case(draw):
        data = draw(st.sampled_from(texts))
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
        else:
            argv = ["compile", "mut/case.mlir"]
        return Case(argv, {"mut/case.mlir": data})

    return case()


GENERATORS = {
    "ir": ir_cases,
    "opt": opt_cases,
    "compile": compile_cases,
    "run": run_cases,
    "predict": predict_cases,
    "plot": plot_cases,
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


def classify(stderr: str) -> str:
    """The kind of error a failed case reported, from its first line."""
    first = stderr.strip().splitlines()[0] if stderr.strip() else ""
    text = stderr.lower()
    if LOCATED.match(first):
        return "located error in the input (parse or verify)"
    if "pass '" in first and "failed" in first:
        return "pass failure"
    if "usage:" in text or ": error: argument" in text or "unrecognized arguments" in text:
        return "usage (options)"
    if any(
        s in first
        for s in (
            "bad option",
            "invalid pass pipeline",
            "unknown pass",
            "unknown pipeline",
            "pass '",
        )
    ):
        return "pass pipeline or pass option"
    if "cannot write" in first:
        return "output cannot be written"
    if "checkpoint" in first:
        return "checkpoint"
    if any(
        s in first
        for s in (
            "no such file",
            "is a directory",
            "permission denied",
            "not valid utf-8",
            "nul byte",
            "not a directory",
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

# Share of the cases per generator: mostly opt/compile, training kept rare.
SHARES = {"ir": 0.56, "opt": 0.2, "compile": 0.1, "run": 0.07, "predict": 0.05, "plot": 0.02}


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
