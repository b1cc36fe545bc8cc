"""The examples: verify, round-trip (custom and generic), and the generic form is valid MLIR."""

import glob
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from xdsl.printer import Printer

from pintac.diagnostics import Source, parse_source, read_source, verify
from pintac.registry import make_context

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.mlir"))


def parse(text: str, name: str = "example"):
    parsed = parse_source(make_context(), Source(name, text))
    verify(parsed)
    return parsed.module


def render(module, generic: bool) -> str:
    out = StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(module)
    return out.getvalue()


def test_the_paper_benchmarks_are_there():
    names = {p.stem for p in EXAMPLES}
    assert {"poisson2d", "hjb20d", "heat100d", "poisson2d_small"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_round_trip(path: Path):
    module = parse(read_source(str(path)).text, str(path))
    custom = render(module, generic=False)
    generic = render(module, generic=True)
    for text in (custom, generic):
        again = parse(text)
        assert again.is_structurally_equivalent(module)
        assert render(again, generic=False) == custom


def find_mlir_opt() -> str | None:
    found = shutil.which("mlir-opt")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/llvm-*/bin/mlir-opt"))
    return candidates[-1] if candidates else None


@pytest.mark.skipif(
    find_mlir_opt() is None, reason="mlir-opt is not installed (.ci/run installs it)"
)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_generic_form_is_valid_mlir(path: Path):
    module = parse(read_source(str(path)).text, str(path))
    result = subprocess.run(
        [find_mlir_opt(), "--allow-unregistered-dialect", "-"],
        input=render(module, generic=True),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert '"pinn.problem"' in result.stdout
