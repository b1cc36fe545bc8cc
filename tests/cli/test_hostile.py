"""The run driver under hostile use: nothing lost, nothing damaged, no tracebacks.

Every test here is one way a user (or a full disk, or Ctrl-C) can misuse `pintac run`,
`pintac opt`, `pintac compile` or the Python API, and checks that it ends with a message
naming the file or option and what is wrong, exit status 1 (130 for Ctrl-C), and that what
was on disk before is intact.
"""

import builtins
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import SMALL, tiny_text

import pintac.api as pt
from pintac.cli import main
from pintac.core.errors import UserError
from pintac.runtime.checkpoint import load_checkpoint, save_checkpoint

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def call_main(argv):
    """main(argv), where Ctrl-C escaping main is a failure (not the end of the test session)."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        raise AssertionError("KeyboardInterrupt escaped pintac.cli.main") from None


def run(argv, capsys):
    code = call_main(["run", *map(str, argv)])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.out, out.err


def train_tiny(tiny, ck, capsys, *extra):
    code, out, err = run([tiny, "--quiet", "--checkpoint", ck, *extra], capsys)
    assert code == 0, err
    return out


def forbid_training(monkeypatch):
    def step(self, state, seed):
        raise AssertionError("training started although the run could not finish")

    monkeypatch.setattr(pt.Program, "step", step)


# ------------------------------------------------------------------ checkpoints: wrong results


def test_resume_names_the_first_tensor_that_differs(tmp_path, capsys):
    small = tmp_path / "w4.mlir"
    small.write_text(tiny_text(4))
    wide = tmp_path / "w8.mlir"
    wide.write_text(tiny_text(8))
    train_tiny(small, tmp_path / "ck", capsys)
    before = (tmp_path / "ck" / "checkpoint.npz").read_bytes()
    code, _, err = run([wide, "--quiet", "--checkpoint", tmp_path / "ck", "--resume"], capsys)
    assert code == 1
    assert "W0 is 2x4 in the checkpoint but 2x8 in the problem" in err
    assert (tmp_path / "ck" / "checkpoint.npz").read_bytes() == before


def test_edited_checkpoint_with_a_wrongly_shaped_tensor(tiny, tmp_path, capsys):
    ck = tmp_path / "ck" / "checkpoint.npz"
    train_tiny(tiny, tmp_path / "ck", capsys)
    arrays, meta = load_checkpoint(ck)
    arrays["param:W1"] = np.zeros((3, 3), np.float32)
    save_checkpoint(ck, arrays, meta)
    code, _, err = run([tiny, "--quiet", "--checkpoint", tmp_path / "ck", "--resume"], capsys)
    assert code == 1
    assert f"{ck}: error:" in err and "W1 is 3x3 in the checkpoint but 4x1 in the problem" in err


def test_checkpoint_whose_arrays_contradict_its_manifest(tiny, tmp_path, capsys):
    """An .npz edited with NumPy directly: the arrays no longer match what the file says."""
    ck = tmp_path / "ck" / "checkpoint.npz"
    train_tiny(tiny, tmp_path / "ck", capsys)
    with np.load(ck) as npz:
        entries = {k: npz[k] for k in npz.files}
    entries["param:b0"] = np.zeros(7, np.float32)
    with open(ck, "wb") as f:
        np.savez(f, **entries)
    code, _, err = run([tiny, "--quiet", "--checkpoint", tmp_path / "ck", "--resume"], capsys)
    assert code == 1
    assert err == (
        f"{ck}: error: the array 'param:b0' is a 7 float32 array, but the checkpoint's header "
        "says 4 float32: the file was edited or damaged\n"
    )


def test_existing_checkpoint_is_not_overwritten_without_resume_or_overwrite(
    tiny, tmp_path, capsys, monkeypatch
):
    train_tiny(tiny, tmp_path / "ck", capsys)
    before = (tmp_path / "ck" / "checkpoint.npz").read_bytes()
    forbid_training(monkeypatch)
    code, _, err = run([tiny, "--quiet", "--checkpoint", tmp_path / "ck", "--steps", 1], capsys)
    assert code == 1
    assert "already" in err and "--resume" in err and "--overwrite" in err
    assert (tmp_path / "ck" / "checkpoint.npz").read_bytes() == before


def test_overwrite_starts_over(tiny, tmp_path, capsys):
    train_tiny(tiny, tmp_path / "ck", capsys)
    train_tiny(tiny, tmp_path / "ck", capsys, "--steps", 2, "--overwrite")
    assert load_checkpoint(tmp_path / "ck" / "checkpoint.npz")[1]["step"] == 2


def test_resume_and_overwrite_exclude_each_other(tiny, tmp_path, capsys):
    code, _, err = run([tiny, "--checkpoint", tmp_path / "ck", "--resume", "--overwrite"], capsys)
    assert code == 1 and "--resume" in err and "--overwrite" in err


def history_of(path):
    return load_checkpoint(path)[1]["history"]


def test_resume_with_more_steps_extends_the_run(tiny, tmp_path, capsys):
    ck = tmp_path / "ck"
    train_tiny(tiny, ck, capsys)  # the problem's 4 steps
    out = train_tiny(tiny, ck, capsys, "--resume", "--steps", 7)
    arrays, meta = load_checkpoint(ck / "checkpoint.npz")
    assert meta["step"] == 7 and meta["steps"] == 7
    assert [h["step"] for h in meta["history"]] == [1, 2, 3, 4, 5, 6, 7]
    assert "steps        7" in out


def test_extended_run_is_deterministic(tiny, tmp_path, capsys, monkeypatch):
    """4 steps, then extended to 8: twice the same bits, and the same when the extension is
    itself interrupted and resumed."""
    for name in ("a", "b"):
        train_tiny(tiny, tmp_path / name, capsys)
        train_tiny(tiny, tmp_path / name, capsys, "--resume", "--steps", 8)
    train_tiny(tiny, tmp_path / "c", capsys)
    original = pt.Program.step

    def interrupting(self, state, seed):
        if state.step == 6:
            raise KeyboardInterrupt
        return original(self, state, seed)

    monkeypatch.setattr(pt.Program, "step", interrupting)
    argv = [tiny, "--quiet", "--checkpoint", tmp_path / "c", "--resume", "--steps", 8]
    assert run([*argv, "--checkpoint-every", 1], capsys)[0] == 130
    monkeypatch.setattr(pt.Program, "step", original)
    assert run(argv, capsys)[0] == 0

    a, meta_a = load_checkpoint(tmp_path / "a" / "checkpoint.npz")
    for other in ("b", "c"):
        b, meta_b = load_checkpoint(tmp_path / other / "checkpoint.npz")
        assert a.keys() == b.keys()
        for key in a:
            assert a[key].tobytes() == b[key].tobytes(), (other, key)
        assert meta_a["history"] == meta_b["history"]


def test_extension_restarts_the_linear_decay_over_the_new_total(tiny):
    program = pt.load(tiny).compile(steps=8)
    assert program.steps == 8 and program.schedule == "linear_decay"
    assert program.learning_rate(4) == pytest.approx(1e-2 * (1 - 4 / 8))


def test_resume_with_fewer_steps_than_done_is_refused(tiny, tmp_path, capsys):
    train_tiny(tiny, tmp_path / "ck", capsys)
    code, _, err = run(
        [tiny, "--quiet", "--checkpoint", tmp_path / "ck", "--resume", "--steps", 2], capsys
    )
    assert code == 1
    assert "the checkpoint is at step 4" in err and "--steps 4 or more" in err


def test_resume_of_a_finished_run_with_the_same_steps_only_evaluates(tiny, tmp_path, capsys):
    train_tiny(tiny, tmp_path / "ck", capsys)
    out = train_tiny(tiny, tmp_path / "ck", capsys, "--resume")
    assert "steps        4" in out and "rel. L2 err" in out


def test_resume_with_another_pipeline_names_both(tiny, tmp_path, capsys):
    train_tiny(tiny, tmp_path / "ck", capsys)
    other = "stein-expand{pairs=2},pinn-build-loss,pinn-autodiff,optimizer-lower"
    code, _, err = run(
        [tiny, "--quiet", "--checkpoint", tmp_path / "ck", "--resume", "--pipeline", other],
        capsys,
    )
    assert code == 1
    assert "stein-expand{pairs=2}" in err and "cse" in err  # the two differ visibly


def test_a_changed_problem_is_refused_but_a_comment_is_not(tiny, tmp_path, capsys):
    train_tiny(tiny, tmp_path / "ck", capsys, "--steps", 2)
    text = tiny.read_text()
    tiny.write_text("// a new comment\n" + text.replace("    %h0", "\n    %h0"))
    train_tiny(tiny, tmp_path / "ck", capsys, "--resume", "--steps", 3)
    tiny.write_text(text.replace("lr = 1.0e-2", "lr = 2.0e-2"))
    code, _, err = run([tiny, "--quiet", "--checkpoint", tmp_path / "ck", "--resume"], capsys)
    assert code == 1
    assert "problem 'tiny' has changed since the checkpoint" in err and "lr" in err


def test_old_checkpoint_format_is_refused(tiny, tmp_path, capsys):
    ck = tmp_path / "ck"
    ck.mkdir()
    header = {"format": "pintac-checkpoint", "version": 1, "meta": {"step": 3}}
    np.savez(
        ck / "checkpoint.npz",
        **{"param:W0": np.zeros((2, 4), np.float32)},
        __pintac_meta__=np.frombuffer(json.dumps(header).encode(), np.uint8),
    )
    code, _, err = run([tiny, "--quiet", "--checkpoint", ck, "--resume"], capsys)
    assert code == 1
    assert "version 1 is not supported" in err and "older pintac" in err


def test_checkpoint_records_what_resuming_checks(tiny, tmp_path, capsys):
    train_tiny(tiny, tmp_path / "ck", capsys, "--seed", 5)
    arrays, meta = load_checkpoint(tmp_path / "ck" / "checkpoint.npz")
    assert meta["problem"]["name"] == "tiny"
    assert (
        len(meta["problem"]["sha256"]) == 64 and "pinn.problem @tiny" in meta["problem"]["source"]
    )
    assert meta["pipeline"]["spec"].startswith("stein-expand,pinn-build-loss")
    assert meta["rng"] == {"seed": 5, "step": 4}
    assert meta["step"] == 4 and meta["steps"] == 4 and len(meta["history"]) == 4
    tensors = {t["name"]: (t["shape"], t["dtype"]) for t in meta["tensors"]}
    assert tensors["param:W0"] == ([2, 4], "float32")
    assert tensors["state:W0:m"] == ([2, 4], "float32")
    assert set(tensors) == set(arrays)


def test_api_training_past_a_linear_decay_schedule_is_refused(tiny):
    trainer = pt.Trainer(pt.load(tiny).compile(), seed=0)
    trainer.train(4)
    with pytest.raises(UserError, match="linear-decay schedule ends at step 4"):
        trainer.train(1)
    assert trainer.step == 4
    constant = pt.loads(tiny.read_text().replace('"linear_decay"', '"constant"')).compile()
    trainer = pt.Trainer(constant, seed=0)
    trainer.train(6)  # a constant learning rate has no end
    assert trainer.step == 6


@pytest.mark.parametrize("seed", [-1, 2**64, 2**70])
def test_seed_outside_64_bits_is_refused(tiny, seed, capsys):
    code, _, err = run([tiny, "--quiet", "--seed", seed], capsys)
    assert code == 1 and "--seed" in err and "18446744073709551615" in err
    with pytest.raises(UserError, match="seed"):
        pt.Trainer(pt.load(tiny).compile(), seed=seed)


def test_largest_seed_is_reported_as_given(tiny, tmp_path, capsys):
    report = tmp_path / "r.json"
    code, _, err = run(
        [tiny, "--quiet", "--seed", 2**64 - 1, "--steps", 1, "--report", report], capsys
    )
    assert code == 0, err
    assert json.loads(report.read_text())["seed"] == 2**64 - 1


def test_negative_seed_in_the_problem_is_a_located_error(tiny, capsys):
    tiny.write_text(tiny.read_text().replace("seed = 0", "seed = -1"))
    code, _, err = run([tiny, "--quiet"], capsys)
    assert code == 1
    assert err.startswith(f"{tiny}:") and "'pinn.train' op" in err and "seed" in err


# ------------------------------------------------------------------ outputs checked first


@pytest.mark.parametrize("kind", ["proc", "under-a-file", "directory"])
def test_unwritable_report_is_refused_before_training(tiny, tmp_path, capsys, monkeypatch, kind):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    report = {
        "proc": Path("/proc/pintac-report.json"),
        "under-a-file": tmp_path / "file" / "report.json",
        "directory": tmp_path / "dir",
    }[kind]
    forbid_training(monkeypatch)
    code, _, err = run([tiny, "--quiet", "--report", report], capsys)
    assert code == 1
    assert err.startswith(f"{report}: error: cannot write the report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "file", "tiny.mlir"]
    assert list((tmp_path / "dir").iterdir()) == []


@pytest.mark.parametrize("kind", ["proc", "under-a-file", "a-file"])
def test_unwritable_checkpoint_directory_is_refused_before_training(
    tiny, tmp_path, capsys, monkeypatch, kind
):
    (tmp_path / "file").write_text("x")
    ck = {
        "proc": Path("/proc"),
        "under-a-file": tmp_path / "file" / "ck",
        "a-file": tmp_path / "file",
    }[kind]
    forbid_training(monkeypatch)
    code, _, err = run([tiny, "--quiet", "--checkpoint", ck], capsys)
    assert code == 1
    assert err.startswith(f"{ck}") and "error: cannot write the checkpoint" in err
    assert "does not exist" not in err
    assert (tmp_path / "file").read_text() == "x"


@pytest.mark.skipif(IS_ROOT, reason="root may write to read-only directories")
def test_read_only_report_directory(tiny, tmp_path, capsys, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    forbid_training(monkeypatch)
    try:
        code, _, err = run([tiny, "--quiet", "--report", ro / "r.json"], capsys)
    finally:
        ro.chmod(0o755)
    assert code == 1 and "permission denied" in err.lower()


def test_missing_report_directory_is_created(tiny, tmp_path, capsys):
    report = tmp_path / "new" / "sub" / "r.json"
    code, _, err = run([tiny, "--quiet", "--steps", 1, "--report", report], capsys)
    assert code == 0, err
    assert json.loads(report.read_text())["steps"] == 1


@pytest.mark.parametrize("command", ["opt", "compile"])
def test_output_that_is_a_directory_leaves_nothing(command, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    target = ["--target", "mlir"] if command == "compile" else []  # pinta writes directories
    assert main([command, str(SMALL), "-o", str(out), *target]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{out}: error: cannot write") and "is a directory" in err
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and list(out.iterdir()) == []


@pytest.mark.parametrize("command", ["opt", "compile"])
def test_outputs_follow_the_umask(command, tmp_path, capsys):
    old = os.umask(0o027)
    try:
        target = ["--target", "mlir"] if command == "compile" else []
        assert main([command, str(SMALL), "-o", str(tmp_path / "o.mlir"), *target]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "o.mlir").stat().st_mode & 0o777 == 0o640


def test_report_and_checkpoint_follow_the_umask(tiny, tmp_path, capsys):
    old = os.umask(0o022)
    try:
        code, _, err = run(
            [
                tiny,
                "--quiet",
                "--steps",
                1,
                "--report",
                tmp_path / "r.json",
                "--checkpoint",
                tmp_path / "ck",
            ],
            capsys,
        )
    finally:
        os.umask(old)
    assert code == 0, err
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "ck" / "checkpoint.npz").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("kind", ["directory", "under-a-file", "proc"])
def test_unwritable_reproducer(kind, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    repro = {
        "directory": tmp_path / "dir",
        "under-a-file": tmp_path / "file" / "r.mlir",
        "proc": Path("/proc/pintac-repro.mlir"),
    }[kind]
    bad = tmp_path / "bad.mlir"
    bad.write_text(tiny_text())  # pinn-autodiff without pinn-build-loss before it fails
    code = main(["opt", str(bad), "-p", "pinn-autodiff", "--reproducer", str(repro)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.startswith(f"{repro}: error: cannot write the reproducer")


def test_trainer_save_creates_missing_directories(tiny, tmp_path):
    trainer = pt.Trainer(pt.load(tiny).compile(), seed=0)
    trainer.train(1)
    path = trainer.save(tmp_path / "a" / "b" / "checkpoint.npz")
    assert pt.Trainer.resume(trainer.program, path).step == 1


def test_api_pipeline_failure_leaves_no_reproducer_file(tiny, private_tempdir):
    with pytest.raises(UserError, match="pinn-autodiff"):
        pt.load(tiny).compile("pinn-autodiff")
    assert list(private_tempdir.iterdir()) == []


def test_cli_pipeline_failure_keeps_its_reproducer(tiny, private_tempdir, capsys):
    assert main(["opt", str(tiny), "-p", "pinn-autodiff"]) == 1
    err = capsys.readouterr().err
    assert "the IR before this pass was written to" in err
    assert len(list(private_tempdir.iterdir())) == 1


# ------------------------------------------------------------------ numeric options


@pytest.mark.parametrize(
    "option, value",
    [
        ("--steps", -5),
        ("--steps", 0),
        ("--steps", 2**32),
        ("--steps", 2**64),
        ("--steps", 10**30),
        ("--steps", "1e3"),
        ("--steps", ""),
        ("--steps", "9" * 5000),
        ("--eval-points", -5),
        ("--eval-points", 0),
        ("--eval-points", 2**63),
        ("--eval-points", 10**30),
        ("--eval-points", "many"),
        ("--checkpoint-every", 0),
        ("--checkpoint-every", 2**64),
        ("--eval-every", -1),
        ("--eval-every", 2**64),
        ("--seed", "0x10"),
    ],
)
def test_numeric_option_extremes(tiny, option, value, capsys, monkeypatch):
    forbid_training(monkeypatch)
    code, _, err = run([tiny, "--quiet", option, value], capsys)
    assert code == 1
    assert f"argument {option}:" in err


def test_steps_messages_are_consistent(tiny, capsys):
    _, _, minus = run([tiny, "--steps", -5], capsys)
    _, _, zero = run([tiny, "--steps", 0], capsys)
    assert "--steps: must be an integer from 1 to 4294967295, got '-5'" in minus
    assert "--steps: must be an integer from 1 to 4294967295, got '0'" in zero


def test_api_steps_checks(tiny):
    problem = pt.load(tiny)
    for steps in (0, -1, 2**32, 2**64):
        with pytest.raises(UserError, match="steps must be an integer from 1 to 4294967295"):
            problem.compile(steps=steps)
    trainer = pt.Trainer(problem.compile(), seed=0)
    with pytest.raises(UserError, match="steps"):
        trainer.train(-1)
    with pytest.raises(UserError, match="points"):
        trainer.evaluate(points=-3)


def test_problem_steps_beyond_the_limit_is_a_located_error(tiny, capsys, monkeypatch):
    forbid_training(monkeypatch)
    tiny.write_text(tiny.read_text().replace("steps = 4", f"steps = {2**40}"))
    code, _, err = run([tiny, "--quiet"], capsys)
    assert code == 1 and err.startswith(f"{tiny}:") and "'pinn.train' op" in err


# ------------------------------------------------------------------ problems that cannot train


def test_problem_without_loss_terms(tmp_path, capsys):
    text = tiny_text()
    start, end = text.index("  pinn.residual"), text.index("  pinn.exact")
    path = tmp_path / "noterms.mlir"
    path.write_text(text[:start] + text[end:])
    code, _, err = run([path, "--quiet"], capsys)
    assert code == 1
    assert err.startswith(f"{path}:") and "no loss terms" in err


def test_linear_decay_without_steps_is_a_located_error(tiny, capsys):
    tiny.write_text(tiny.read_text().replace("steps = 4,", ""))
    code, _, err = run([tiny, "--quiet"], capsys)
    assert code == 1
    assert err.startswith(f"{tiny}:")
    assert "'pinn.train' op a linear_decay schedule needs 'steps'" in err
    assert "reproducer" not in err


@pytest.mark.parametrize(
    "pipeline, fragment",
    [
        ("stein-expand{pairs=-3}", "pairs must be an integer >= 1, got -3"),
        ("stein-expand{pairs=0}", "pairs must be an integer >= 1, got 0"),
        ("stein-expand{pairs=99999999999999999999999}", "pairs"),
        ("stein-expand{sigma=-0.5}", "sigma must be a positive number, got -0.5"),
        ("stein-expand{sigma=abc}", "option sigma takes a number, got 'abc'"),
        ("stein-expand{pairs=1.5}", "option pairs takes an integer, got 1.5"),
        ("optimizer-lower{lr=0.0}", "lr"),
        ("optimizer-lower{steps=-1}", "steps"),
        ("optimizer-lower{kind=adagrad}", "adagrad"),
        ("optimizer-lower{schedule=cosine}", "cosine"),
        ("optimizer-lower{beta1=1.5}", "beta1"),
    ],
)
def test_bad_pass_options_are_reported_before_any_pass_runs(tiny, pipeline, fragment, capsys):
    assert main(["opt", str(tiny), "-p", pipeline]) == 1
    err = capsys.readouterr().err
    assert fragment in err, err
    assert "reproducer" not in err and "Traceback" not in err and "Incompatible types" not in err


def test_float_pass_option_with_a_bare_exponent(tiny, capsys):
    assert main(["opt", str(tiny), "-p", "stein-expand{sigma=1e-3 pairs=2}"]) == 0
    assert "sigma 1.000000e-03" in capsys.readouterr().out
    assert main(["opt", str(tiny), "-p", "stein-expand{sigma=1}"]) == 0


# ------------------------------------------------------------------ Ctrl-C


def test_ctrl_c_names_the_last_checkpoint_and_the_resume_command(
    tiny, tmp_path, capsys, monkeypatch
):
    original = pt.Program.step

    def interrupting(self, state, seed):
        if state.step == 3:
            raise KeyboardInterrupt
        return original(self, state, seed)

    monkeypatch.setattr(pt.Program, "step", interrupting)
    ck = tmp_path / "ck"
    code, _, err = run([tiny, "--quiet", "--checkpoint", ck, "--checkpoint-every", 2], capsys)
    assert code == 130
    assert (
        f"interrupted at step 3 of 4; the last checkpoint is {ck / 'checkpoint.npz'} (step 2)"
        in err
    )
    assert (
        f"resume with: pintac run {tiny} --quiet --checkpoint {ck} --checkpoint-every 2 --resume"
        in err
    )


def test_ctrl_c_without_a_checkpoint_says_so(tiny, capsys, monkeypatch):
    def interrupting(self, state, seed):
        raise KeyboardInterrupt

    monkeypatch.setattr(pt.Program, "step", interrupting)
    code, _, err = run([tiny, "--quiet"], capsys)
    assert code == 130
    assert "interrupted at step 0 of 4" in err and "no checkpoint" in err


@pytest.mark.parametrize("module", ["pintac.core.errors", "pintac.run", "pintac.api"])
def test_ctrl_c_during_start_up(module, tiny, capsys, monkeypatch):
    real_import = builtins.__import__

    def interrupted_import(name, *args, **kwargs):
        if name == module:
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    for name in (module, "pintac.run"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    try:
        code = call_main(["run", str(tiny), "--quiet"])
    finally:
        monkeypatch.setattr(builtins, "__import__", real_import)
    assert code == 130
    assert "interrupted" in capsys.readouterr().err


def test_ctrl_c_while_writing_the_report_leaves_nothing(tiny, tmp_path, capsys, monkeypatch):
    import pintac.runtime.files as files

    report = tmp_path / "r.json"
    report.write_text("the previous report\n")
    real_fsync = os.fsync

    def fsync(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "fsync", fsync)
    code, _, err = run([tiny, "--quiet", "--steps", 1, "--report", report], capsys)
    monkeypatch.setattr(files.os, "fsync", real_fsync)
    assert code == 130
    assert report.read_text() == "the previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "tiny.mlir"]


def test_help_returns_instead_of_exiting(capsys):
    for command in ("run", "opt", "compile"):
        assert main([command, "--help"]) == 0
    assert "usage: pintac compile" in capsys.readouterr().out


# ------------------------------------------------------------------ messages


def test_summary_says_the_loss_is_a_weighted_sum(tiny, tmp_path, capsys):
    report = tmp_path / "r.json"
    out = train_tiny(tiny, tmp_path / "ck", capsys, "--report", report)
    data = json.loads(report.read_text())
    line = next(line for line in out.splitlines() if line.startswith("loss"))
    pde, bc = data["term_losses"]["pde"], data["term_losses"]["bc"]
    assert f"= 1 × pde {pde:.3e} + 30 × bc {bc:.3e}" in line
    assert "weighted" in line
    assert data["term_weights"] == {"pde": 1.0, "bc": 30.0}
    assert data["loss"] == pytest.approx(pde + 30 * bc, rel=1e-5)


def test_resumed_run_prints_terms_in_problem_order(tiny, tmp_path, capsys):
    report = tmp_path / "r.json"
    train_tiny(tiny, tmp_path / "ck", capsys, "--steps", 2)
    out = train_tiny(tiny, tmp_path / "ck", capsys, "--resume", "--report", report)
    line = next(line for line in out.splitlines() if line.startswith("loss"))
    assert line.index("pde") < line.index("bc")
    data = json.loads(report.read_text())
    assert list(data["term_losses"]) == ["pde", "bc"]
    assert all(list(h)[:4] == ["step", "loss", "loss_pde", "loss_bc"] for h in data["history"])


def test_report_history_steps_are_integers(tiny, tmp_path, capsys):
    report = tmp_path / "r.json"
    train_tiny(tiny, tmp_path / "ck", capsys, "--report", report)
    text = report.read_text()
    steps = [h["step"] for h in json.loads(text)["history"]]
    assert steps == [1, 2, 3, 4] and all(type(s) is int for s in steps)
    assert '"step": 1.0' not in text


def test_error_is_measured_during_training(tiny, tmp_path, capsys):
    report = tmp_path / "r.json"
    code, _, err = run(
        [tiny, "--quiet", "--steps", 10, "--eval-every", 5, "--report", report], capsys
    )
    assert code == 0, err
    data = json.loads(report.read_text())
    errors = {h["step"]: h["rel_l2"] for h in data["history"] if "rel_l2" in h}
    assert sorted(errors) == [5, 10]
    assert data["eval_every"] == 5 and data["eval_every_points"] == 200
    default = tmp_path / "d.json"
    assert run([tiny, "--quiet", "--steps", 20, "--report", default], capsys)[0] == 0
    steps = [h["step"] for h in json.loads(default.read_text())["history"] if "rel_l2" in h]
    assert steps == list(range(2, 21, 2))  # every 10 % of the steps by default


@pytest.mark.parametrize("command", ["opt", "compile"])
def test_pass_option_with_thousands_of_digits(command, tiny, capsys):
    """Found by benchmarks/fuzz.py: xDSL's pipeline parser raised ValueError converting it."""
    digits = "9" * 5000
    flag = "-p" if command == "opt" else "--pipeline"
    code = call_main([command, str(tiny), flag, f"optimizer-lower{{steps={digits}}}"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "invalid pass pipeline" in err and len(err) < 1000
