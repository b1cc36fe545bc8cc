"""`pintac run` and `pintac compile`: training end to end, reports, determinism, checkpoints."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pintac.api as pt
from pintac.cli import main
from pintac.runtime.checkpoint import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "examples" / "poisson2d_small.mlir"


def run(argv, capsys):
    code = main(["run", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_training_reduces_the_error_well_below_the_initial_one(tmp_path, capsys):
    initial = pt.Trainer(pt.load(SMALL).compile(), seed=0).evaluate(points=10_000).rel_l2
    report = tmp_path / "report.json"
    code, out, _ = run([SMALL, "--steps", 200, "--quiet", "--report", report], capsys)
    assert code == 0
    data = json.loads(report.read_text())
    assert data["steps"] == 200 and data["eval_points"] == 10_000
    assert data["rel_l2"] < 0.15 * initial, (initial, data["rel_l2"])
    assert f"rel. L2 err  {data['rel_l2']:.4e}" in out
    losses = [h["loss"] for h in data["history"]]
    assert len(losses) == 200 and np.mean(losses[-20:]) < 0.1 * np.mean(losses[:20])


def test_same_seed_is_bit_identical(tmp_path, capsys):
    for name in ("a", "b"):
        assert (
            run([SMALL, "--steps", 15, "--quiet", "--checkpoint", tmp_path / name], capsys)[0] == 0
        )
    a, meta_a = load_checkpoint(tmp_path / "a" / "checkpoint.npz")
    b, meta_b = load_checkpoint(tmp_path / "b" / "checkpoint.npz")
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].tobytes() == b[key].tobytes(), key
    assert meta_a["history"] == meta_b["history"]


def test_different_seeds_differ(tmp_path, capsys):
    for name, seed in (("a", 1), ("b", 2)):
        run(
            [SMALL, "--steps", 3, "--quiet", "--seed", seed, "--checkpoint", tmp_path / name],
            capsys,
        )
    a, _ = load_checkpoint(tmp_path / "a" / "checkpoint.npz")
    b, _ = load_checkpoint(tmp_path / "b" / "checkpoint.npz")
    assert not np.array_equal(a["param:W0"], b["param:W0"])


def test_resumed_run_ends_bit_identical(tmp_path, capsys, monkeypatch):
    assert run([SMALL, "--steps", 30, "--quiet", "--checkpoint", tmp_path / "full"], capsys)[0] == 0

    # An interrupted run: stopped (as by Ctrl-C) in step 26, after the checkpoint of step 20.
    original = pt.Program.step

    def interrupting(self, state, seed):
        if state.step == 25:
            raise KeyboardInterrupt
        return original(self, state, seed)

    monkeypatch.setattr(pt.Program, "step", interrupting)
    argv = [
        SMALL,
        "--steps",
        30,
        "--quiet",
        "--checkpoint",
        tmp_path / "cut",
        "--checkpoint-every",
        10,
    ]
    assert run(argv, capsys)[0] == 130
    _, meta = load_checkpoint(tmp_path / "cut" / "checkpoint.npz")
    assert meta["step"] == 20
    monkeypatch.setattr(pt.Program, "step", original)

    code, _, err = run([*argv, "--resume"], capsys)
    assert code == 0, err
    full, meta_full = load_checkpoint(tmp_path / "full" / "checkpoint.npz")
    resumed, meta_resumed = load_checkpoint(tmp_path / "cut" / "checkpoint.npz")
    for key in full:
        assert full[key].tobytes() == resumed[key].tobytes(), key
    assert meta_full["history"] == meta_resumed["history"]


def test_progress_bar_shows_step_loss_and_eta(capsys):
    code, _, err = run([SMALL, "--steps", 20], capsys)
    assert code == 0
    assert "step 20/20" in err and "loss" in err and "ETA" in err


def test_diverging_loss_stops_with_the_step_and_checkpoint(tmp_path, capsys):
    text = SMALL.read_text().replace("lr = 1.0e-3", "lr = 1.0e30")
    problem = tmp_path / "diverge.mlir"
    problem.write_text(text)
    code, _, err = run(
        [
            problem,
            "--steps",
            50,
            "--quiet",
            "--checkpoint",
            tmp_path / "ck",
            "--checkpoint-every",
            1,
        ],
        capsys,
    )
    assert code == 1
    assert "error: the loss became" in err and "at step" in err
    assert f"the last good checkpoint is {tmp_path / 'ck' / 'checkpoint.npz'}" in err
    assert "Traceback" not in err


def test_problem_without_exact_solution(tmp_path, capsys):
    text = SMALL.read_text()
    start = text.index("  pinn.exact")
    end = text.index("  pinn.train")
    problem = tmp_path / "noexact.mlir"
    problem.write_text(text[:start] + text[end:])
    code, _, err = run([problem, "--steps", 2, "--quiet"], capsys)
    assert code == 1
    assert "has no pinn.exact solution" in err and "--no-eval" in err
    assert run([problem, "--steps", 2, "--quiet", "--no-eval"], capsys)[0] == 0


def test_domain_the_sampler_does_not_know(tmp_path, capsys):
    problem = tmp_path / "torus.mlir"
    problem.write_text(
        SMALL.read_text().replace(
            "pinn.domain @omega box [0.0, 0.0] to [1.0, 1.0]",
            '"pinn.domain"() <{sym_name = "omega", kind = "torus"}> : () -> ()',
        )
    )
    code, _, err = run([problem, "--steps", 2, "--quiet"], capsys)
    assert code == 1
    assert "unknown domain kind 'torus'; expected one of: box, ball" in err
    assert err.startswith(f"{problem}:")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04garbage"])
def test_unreadable_checkpoint(tmp_path, capsys, content):
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "checkpoint.npz").write_bytes(content)
    code, _, err = run([SMALL, "--quiet", "--checkpoint", tmp_path / "ck", "--resume"], capsys)
    assert code == 1
    assert str(tmp_path / "ck" / "checkpoint.npz") in err and "error:" in err
    assert "Traceback" not in err


def test_resume_without_a_checkpoint(tmp_path, capsys):
    code, _, err = run([SMALL, "--checkpoint", tmp_path / "none", "--resume"], capsys)
    assert code == 1 and "no checkpoint to resume from" in err


def test_checkpoint_of_another_problem_is_refused(tmp_path, capsys):
    run([SMALL, "--steps", 2, "--quiet", "--checkpoint", tmp_path / "ck"], capsys)
    other = tmp_path / "other.mlir"
    other.write_text(SMALL.read_text().replace("@poisson2d_small", "@other"))
    code, _, err = run([other, "--quiet", "--checkpoint", tmp_path / "ck", "--resume"], capsys)
    assert code == 1
    assert "belongs to problem 'poisson2d_small', not 'other'" in err
    # the same problem with a different initialization is a changed problem
    changed = tmp_path / "changed.mlir"
    changed.write_text(
        SMALL.read_text().replace(
            "pinn.param @b2 : tensor<1xf32> init zeros", "pinn.param @b2 : tensor<1xf32> init ones"
        )
    )
    code, _, err = run([changed, "--quiet", "--checkpoint", tmp_path / "ck", "--resume"], capsys)
    assert code == 1 and "has changed since the checkpoint" in err
    # and so is a different pipeline
    code, _, err = run(
        [
            SMALL,
            "--quiet",
            "--checkpoint",
            tmp_path / "ck",
            "--resume",
            "--pipeline",
            "stein-expand{pairs=8},pinn-build-loss,pinn-autodiff,optimizer-lower",
        ],
        capsys,
    )
    assert code == 1 and "was trained with pipeline" in err


def test_unknown_pipeline(capsys):
    code, _, err = run([SMALL, "--pipeline", "fp64"], capsys)
    assert code == 1 and "unknown pipeline 'fp64'" in err


def test_compile_numpy_target_writes_a_module_that_runs_in_a_fresh_interpreter(tmp_path, capsys):
    out = tmp_path / "step.py"
    assert main(["compile", str(SMALL), "--target", "numpy", "-o", str(out)]) == 0
    text = out.read_text()
    assert "def train_step(W0, b0, W1, b1, W2, b2, m_W0" in text
    assert "def predict(" in text and "def exact(" in text
    # One step in a fresh interpreter: the file imports its kernels from pintac by name.
    report = tmp_path / "report.json"
    assert run([SMALL, "--steps", 1, "--quiet", "--no-eval", "--report", report], capsys)[0] == 0
    first_loss = json.loads(report.read_text())["history"][0]["loss"]
    script = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("step", {str(out)!r})
step = importlib.util.module_from_spec(spec)
spec.loader.exec_module(step)
import pintac.api as pt
program = pt.load({str(SMALL)!r}).compile("fp32")
state = program.initial_state(0)
args = program.step_arguments(state, 0, program.batch(0, 0))
results = dict(zip(step.RESULT_ROLES["train_step"], step.train_step(*args)))
print(repr(float(results["loss"])))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == first_loss


def test_compile_mlir_target(capsys):
    assert main(["compile", str(SMALL), "--target", "mlir"]) == 0
    out = capsys.readouterr().out
    assert "func.func @train_step(" in out and "train.update adam" in out
    assert "role dgrad" in out and "role wgrad" in out


def test_smoothed_evaluation_is_close_to_the_raw_network():
    program = pt.load(SMALL).compile()
    trainer = pt.Trainer(program, seed=0)
    trainer.train(30)
    raw = trainer.evaluate(points=500).rel_l2
    smoothed = trainer.evaluate(points=500, smoothed=True).rel_l2
    assert smoothed != raw  # it really averages perturbed evaluations ...
    assert abs(smoothed - raw) < 0.05 * raw  # ... which differ from g by O(σ²) only
