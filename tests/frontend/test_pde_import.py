"""`pintac import`: the IR of a .pde file as text that reads back to the same problem."""

from pathlib import Path

import pytest
from pde_helpers import EXAMPLES

import pintac.api as pt
from pintac.core.errors import UserError
from pintac.diagnostics import read_source, verify
from pintac.frontend import build_pde
from pintac.import_pde import LINE_WIDTH, render, run

PDE_EXAMPLES = sorted(EXAMPLES.glob("*.pde"))


def built(path: Path):
    parsed = build_pde(read_source(str(path)))
    verify(parsed)
    return parsed


@pytest.mark.parametrize("path", PDE_EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("generic", [False, True], ids=["custom", "generic"])
def test_the_text_reads_back_to_the_same_problem(path, generic):
    parsed = built(path)
    text = render(parsed, generic)
    again = pt.loads(text, "imported.mlir")
    assert pt.canonical_text(again.op) == pt.canonical_text(pt.Problem(parsed).op)


def test_the_text_reads_like_a_handwritten_example():
    lines = render(built(EXAMPLES / "heat1d.pde")).splitlines()
    assert lines[0] == "// 1-D heat equation, the problem of the tutorial (docs/tutorial.md):"
    assert f"// pinn IR written by `pintac import` from {EXAMPLES / 'heat1d.pde'}" in lines
    at = next(i for i, line in enumerate(lines) if line.startswith("  pinn.boundary @initial "))
    assert lines[at - 1] == "  // initial: u = sin(pi * x) on initial(q) weight 100 batch 32"
    exact = next(i for i, line in enumerate(lines) if line.startswith("  pinn.exact "))
    assert lines[exact - 1] == "  // exact u = exp(-kappa * pi^2 * t) * sin(pi * x)"
    train = next(i for i, line in enumerate(lines) if "pinn.train" in line)
    assert lines[train + 1].startswith(" " * len("  pinn.train {") + "batch = {")
    assert all(len(line) <= LINE_WIDTH for line in lines[train : train + 3])


def test_writes_the_output_file(tmp_path, capsys):
    out = tmp_path / "heat1d.mlir"
    assert run([str(EXAMPLES / "heat1d.pde"), "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert out.read_text() == render(built(EXAMPLES / "heat1d.pde"))


def test_prints_to_standard_output(capsys):
    assert run([str(EXAMPLES / "poisson2d_small.pde")]) == 0
    assert capsys.readouterr().out == render(built(EXAMPLES / "poisson2d_small.pde"))


def test_refuses_to_overwrite_the_input(tmp_path):
    source = tmp_path / "p.pde"
    source.write_text((EXAMPLES / "poisson2d_small.pde").read_text())
    with pytest.raises(UserError) as info:
        run([str(source), "-o", str(source)])
    assert str(info.value) == (
        f"pintac import: error: the output {source} would overwrite the input {source}; "
        "give another output path"
    )
    assert source.read_text() == (EXAMPLES / "poisson2d_small.pde").read_text()


def test_a_mistake_writes_nothing(tmp_path):
    source = tmp_path / "bad.pde"
    source.write_text(
        "problem p\nspace x\ndomain q: x in [0, 1]\nnetwork u = mlp(width 2, depth 1)\npde: u = y in q\n"
    )
    out = tmp_path / "out.mlir"
    with pytest.raises(UserError) as info:
        run([str(source), "-o", str(out)])
    assert str(info.value).startswith(f"{source}:5:10: error: undefined name 'y'")
    assert not out.exists()


def test_an_mlir_file_is_not_imported():
    mlir = EXAMPLES / "heat1d.mlir"
    with pytest.raises(UserError) as info:
        run([str(mlir)])
    assert str(info.value) == (
        f"pintac import: error: {mlir} is pinn IR already; import translates problems written "
        "in the PDE language (.pde)"
    )
