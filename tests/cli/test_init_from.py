"""`pintac run --init-from CKPT`: a new run starting from a checkpoint's parameters, e.g. a TT
model from a trained dense one (compress, then fine-tune)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import pintac.api as pt
from pintac.cli import main
from pintac.runtime import tt

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "poisson2d_small.mlir"
TAIL = "stein-expand,pinn-build-loss,pinn-autodiff,optimizer-lower,cse,dce"
FULL_RANK_SVD = f"tt-compress{{ranks=16 init=svd}},{TAIL}"


def call(argv, capsys) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err


@pytest.fixture(scope="module")
def dense_checkpoint(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("dense")
    argv = ["run", EXAMPLE, "--steps", 5, "--quiet", "--no-eval", "--checkpoint", directory]
    assert main([str(a) for a in argv]) == 0
    return directory / "checkpoint.npz"


def test_tt_layers_start_from_the_dense_weights(dense_checkpoint, tmp_path, capsys):
    report = tmp_path / "r.json"
    argv = ["run", EXAMPLE, "--pipeline", FULL_RANK_SVD, "--init-from", dense_checkpoint.parent]
    code, err = call([*argv, "--steps", 2, "--quiet", "--report", report], capsys)
    assert code == 0, err
    assert json.loads(report.read_text())["initialized_from"] == str(dense_checkpoint.parent)

    dense = pt.read_checkpoint(dense_checkpoint).params
    program = pt.load(EXAMPLE).compile(FULL_RANK_SVD)
    params = pt.Trainer(program, initial_values=dense).state.params
    assert "W1" not in params  # the source of the cores is not trained
    for name in ("W0", "b0", "b1", "W2", "b2"):
        assert np.array_equal(params[name], dense[name]), name
    cores = [params[f"W1_G{k}"] for k in range(3)]
    # full ranks: the TT-SVD reproduces the trained weight, not the fresh init
    np.testing.assert_allclose(tt.reconstruct(cores), dense["W1"], rtol=0, atol=1e-5)
    fresh = pt.Trainer(program).state.params
    assert not np.allclose(tt.reconstruct([fresh[f"W1_G{k}"] for k in range(3)]), dense["W1"])


def test_compressing_without_svd_names_the_fix(dense_checkpoint, capsys):
    argv = ["run", EXAMPLE, "--pipeline", "fp32-tt", "--init-from", dense_checkpoint]
    code, err = call([*argv, "--steps", 1, "--quiet"], capsys)
    assert code == 1
    assert f"{dense_checkpoint}: error: cannot start from this checkpoint" in err
    assert "'W1', which is not a parameter" in err and "tt-compress{init=svd}" in err


def test_init_from_a_mismatched_or_missing_checkpoint(dense_checkpoint, tiny, tmp_path, capsys):
    code, err = call(["run", tiny, "--init-from", dense_checkpoint, "--quiet"], capsys)
    assert code == 1 and "cannot start from this checkpoint" in err and "has shape" in err
    missing = tmp_path / "none.npz"
    code, err = call(["run", EXAMPLE, "--init-from", missing, "--quiet"], capsys)
    assert code == 1 and str(missing) in err


def test_init_from_and_resume_exclude_each_other(dense_checkpoint, capsys):
    argv = ["run", EXAMPLE, "--init-from", dense_checkpoint, "--resume"]
    code, err = call([*argv, "--checkpoint", dense_checkpoint.parent], capsys)
    assert code == 1 and "--resume and --init-from exclude each other" in err
