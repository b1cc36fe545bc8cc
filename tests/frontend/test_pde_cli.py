"""The commands read .pde problems: `pintac import`, and `run`, `compile`, `opt` and the
checkpoints of `run` take a .pde file as they take its .mlir twin."""

import io
import json
import sys

import pytest
from pde_helpers import EXAMPLES, build

import pintac.api as pt
from pintac.cli import main
from pintac.import_pde import render

SMALL_PDE = EXAMPLES / "poisson2d_small.pde"
SMALL_MLIR = EXAMPLES / "poisson2d_small.mlir"
BAD = "problem p\nspace x\ndomain q: x in [0, 1]\nnetwork u = mlp(width 2, depth 1)\npde: u = y in q\n"


def cli(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_import_prints_the_ir(capsys):
    code, out, err = cli(["import", SMALL_PDE], capsys)
    assert (code, err) == (0, "")
    assert out == render(build(SMALL_PDE.read_text(), str(SMALL_PDE)))


def test_import_reads_standard_input(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(SMALL_PDE.read_bytes())))
    code, out, _ = cli(["import", "-"], capsys)
    assert code == 0 and "pinn.problem @poisson2d_small" in out


def test_run_trains_a_pde_as_its_mlir_twin(tmp_path, capsys):
    reports = []
    for source in (SMALL_PDE, SMALL_MLIR):
        report = tmp_path / f"{source.suffix[1:]}.json"
        code, _, err = cli(["run", source, "--steps", 5, "--quiet", "--report", report], capsys)
        assert (code, err) == (0, "")
        data = json.loads(report.read_text())
        reports.append(([h["loss"] for h in data["history"]], data["rel_l2"]))
    assert reports[0] == reports[1]


def test_a_pde_run_resumes_from_its_checkpoint(tmp_path, capsys):
    directory = tmp_path / "run"
    assert cli(["run", SMALL_PDE, "--steps", 4, "--quiet", "--no-eval",
                "--checkpoint", directory], capsys)[0] == 0  # fmt: skip
    code, _, err = cli(["run", SMALL_PDE, "--steps", 6, "--quiet", "--no-eval", "--resume",
                        "--checkpoint", directory], capsys)  # fmt: skip
    assert (code, err) == (0, "")
    # the checkpoint keeps the .pde text, and reads it back as a .pde
    checkpoint = pt.read_checkpoint(directory / "checkpoint.npz")
    assert checkpoint.problem_source == SMALL_PDE.read_text()
    assert checkpoint.problem().identity() == pt.load(SMALL_MLIR).identity()


def test_compile_and_opt_read_a_pde(capsys):
    code, out, _ = cli(["compile", SMALL_PDE, "--target", "mlir"], capsys)
    assert code == 0 and "func.func @train_step" in out
    code, out, _ = cli(["opt", SMALL_PDE], capsys)
    assert code == 0
    again = pt.loads(out, "opt.mlir")
    assert pt.canonical_text(again.op) == pt.canonical_text(pt.load(SMALL_MLIR).op)


@pytest.mark.parametrize("command", [["import"], ["run", "--quiet"], ["compile"], ["opt"]])
def test_a_mistake_in_a_pde_is_located_and_exits_1(command, tmp_path, capsys):
    source = tmp_path / "bad.pde"
    source.write_text(BAD)
    code, out, err = cli([command[0], source, *command[1:]], capsys)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"{source}:5:10: error: undefined name 'y'; the coordinates are x",
        "pde: u = y in q",
        "         ^",
    ]
