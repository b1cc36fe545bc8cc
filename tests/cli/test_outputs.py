"""What the commands write: never one of their inputs, never through a symbolic link, nothing
left behind by a failed command; and how they speak: every error is `pintac <command>: error:`
or located at a file, and never sends raw binary bytes to the terminal."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest
from cli_helpers import tiny_text

import pintac.runtime.files as files
from pintac.cli import main
from pintac.core.errors import UserError

VOICE = re.compile(r"(pintac [a-z]+: error: |[^\s:][^\n]*?(:\d+:\d+)?: error: )")
# control characters a terminal acts on (newline and tab are text)
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def call(argv, capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def snapshot(directory: Path) -> dict[str, object]:
    """Every entry under `directory`: a file's bytes, a link's target, a directory's mark."""
    entries: dict[str, object] = {}
    for path in sorted(directory.rglob("*")):
        key = str(path.relative_to(directory))
        if path.is_symlink():
            entries[key] = ("link", os.readlink(path))
        elif path.is_dir():
            entries[key] = "dir"
        else:
            entries[key] = path.read_bytes()
    return entries


def alias(path: Path, spelling: str) -> str:
    """Another name of the existing file `path`."""
    if spelling == "same":
        return str(path)
    if spelling == "dot":
        return f"{path.parent}/./{path.name}"
    if spelling == "dotdot":
        return f"{path.parent}/../{path.parent.name}/{path.name}"
    link = path.with_name(f"{spelling}-{path.name}")
    if spelling == "symlink":
        link.symlink_to(path.name)
    else:
        os.link(path, link)
    return str(link)


SPELLINGS = ["same", "dot", "dotdot", "symlink", "hardlink"]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A problem, an assembly file, a program file, points and a checkpoint (made once)."""
    d = tmp_path_factory.mktemp("template")
    (d / "tiny.mlir").write_text(tiny_text())
    (d / "x.pasm").write_text("HALT\n")
    assert main(["asm", str(d / "x.pasm"), "-o", str(d / "p.bin")]) == 0
    (d / "x.csv").write_text("x0,x1\n0.5,0.5\n")
    argv = ["run", d / "tiny.mlir", "--steps", 1, "--quiet", "--no-eval", "--checkpoint", d / "ck"]
    assert main([str(a) for a in argv]) == 0
    return d


@pytest.fixture
def work(template: Path, tmp_path: Path, capsys) -> Path:
    """A fresh copy of the template's files for one test."""
    d = tmp_path / "work"
    shutil.copytree(template, d)
    capsys.readouterr()
    return d


# (command line, the input its output aliases): `OUT` is replaced by the alias
ALIASING = {
    "asm": (["asm", "x.pasm", "-o", "OUT"], "x.pasm"),
    "disasm": (["disasm", "p.bin", "-o", "OUT"], "p.bin"),
    "opt": (["opt", "tiny.mlir", "-o", "OUT"], "tiny.mlir"),
    "opt-reproducer": (["opt", "tiny.mlir", "--reproducer", "OUT"], "tiny.mlir"),
    "compile-mlir": (["compile", "tiny.mlir", "--target", "mlir", "-o", "OUT"], "tiny.mlir"),
    "compile-numpy": (["compile", "tiny.mlir", "--target", "numpy", "-o", "OUT"], "tiny.mlir"),
    "compile-reproducer": (["compile", "tiny.mlir", "--reproducer", "OUT", "-o", "d"], "tiny.mlir"),
    "run-report": (["run", "tiny.mlir", "--steps", "1", "--report", "OUT"], "tiny.mlir"),
    "run-report-init": (
        ["run", "tiny.mlir", "--steps", "1", "--init-from", "ck", "--report", "OUT"],
        "ck/checkpoint.npz",
    ),
    "predict-checkpoint": (
        ["predict", "ck/checkpoint.npz", "--grid", "2x2", "-o", "OUT"],
        "ck/checkpoint.npz",
    ),
    "predict-points": (["predict", "ck/checkpoint.npz", "--points", "x.csv", "-o", "OUT"], "x.csv"),
}


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("case", sorted(ALIASING))
def test_an_output_that_is_an_input_is_refused(case, spelling, work, capsys, monkeypatch):
    monkeypatch.chdir(work)
    argv, source = ALIASING[case]
    output = alias(work / source, spelling)
    before = snapshot(work)
    code, out, err = call([output if a == "OUT" else a for a in argv], capsys)
    assert code == 1, out + err
    assert err.startswith(f"pintac {argv[0]}: error: the "), err
    assert f"{output} would overwrite the input" in err and "give another output path" in err
    assert snapshot(work) == before


def test_compile_into_the_directory_of_its_source_refuses(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "problem.mlir").write_text(tiny_text())
    before = snapshot(tmp_path)
    code, _, err = call(["compile", "problem.mlir", "-o", "."], capsys)
    assert code == 1
    assert err.startswith("pintac compile: error: ") and "the input problem.mlir" in err
    assert snapshot(tmp_path) == before


def test_compile_from_a_program_directory_into_itself_refuses(work, capsys):
    directory = work / "tiny.pinta"
    assert call(["compile", work / "tiny.mlir", "-o", directory], capsys)[0] == 0
    before = snapshot(work)
    for argv in (
        ["compile", directory / "problem.mlir", "-o", directory],
        ["compile", work / "tiny.mlir", "--hw", directory / "hardware.toml", "-o", directory],
    ):
        code, _, err = call(argv, capsys)
        assert code == 1 and err.startswith("pintac compile: error: "), err
        assert "would overwrite the input" in err
        assert snapshot(work) == before


def test_asm_of_a_text_file_named_bin_refuses_its_default_output(work, capsys):
    source = work / "prog.bin"
    source.write_text("HALT\n")
    code, _, err = call(["asm", source], capsys)
    assert code == 1
    assert err == (
        f"pintac asm: error: the program {source} would overwrite the input {source}; give "
        "another output path\n"
    )
    assert source.read_text() == "HALT\n"


def test_run_outputs_never_overwrite_its_checkpoint(work, capsys):
    checkpoint = work / "ck" / "checkpoint.npz"
    before = snapshot(work)
    for argv, said in (
        # the checkpoint written would replace the one the run starts from
        (["--init-from", work / "ck", "--checkpoint", work / "ck", "--overwrite"], "the input"),
        # the report written at the end would replace the checkpoint resumed from
        (["--checkpoint", work / "ck", "--resume", "--report", checkpoint], "the input"),
        # two outputs of one run on one file
        (
            ["--checkpoint", work / "ck2", "--report", work / "ck2" / "checkpoint.npz"],
            "the checkpoint",
        ),
        (["--plot", work, "--report", work / "loss.png"], "the report"),
    ):
        code, _, err = call(["run", work / "tiny.mlir", "--steps", 2, "--quiet", *argv], capsys)
        assert code == 1 and err.startswith("pintac run: error: the "), err
        assert f"would overwrite {said}" in err
        assert snapshot(work) == before


def test_plot_never_overwrites_its_report(work, capsys):
    report = work / "loss.png"
    report.write_text(json.dumps({"problem": "tiny", "history": [{"step": 1, "loss": 1.0}]}))
    before = snapshot(work)
    code, _, err = call(["plot", report, "-o", work], capsys)
    assert code == 1
    assert err.startswith(f"pintac plot: error: the plot {report} would overwrite the input")
    assert snapshot(work) == before


# ------------------------------------------------------------------ how outputs are written


def test_an_output_that_is_a_symlink_is_replaced_not_written_through(work, capsys):
    other = work / "other.txt"
    other.write_text("someone else's file\n")
    link = work / "out.mlir"
    link.symlink_to(other)
    code, _, err = call(["opt", work / "tiny.mlir", "-o", link], capsys)
    assert code == 0, err
    assert other.read_text() == "someone else's file\n"
    assert not link.is_symlink() and link.read_text().startswith("builtin.module")


def test_atomic_write_replaces_a_symlink_and_keeps_its_target(tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"kept")
    link = tmp_path / "link"
    link.symlink_to(target)
    files.atomic_write(link, lambda f: f.write(b"new"))
    assert target.read_bytes() == b"kept"
    assert not link.is_symlink() and link.read_bytes() == b"new"


def test_a_failed_write_removes_the_directories_it_made(tmp_path):
    def fail(stream):
        stream.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(UserError, match="no space left"):
        files.atomic_write(tmp_path / "new" / "deeper" / "out.bin", fail)
    assert list(tmp_path.iterdir()) == []


def test_writing_several_files_is_all_or_nothing(tmp_path):
    first = tmp_path / "first"
    first.write_bytes(b"previous")

    def fail(stream):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(UserError, match=f"{tmp_path / 'new' / 'second'}: error: cannot write"):
        files.atomic_write_all(
            [(first, lambda f: f.write(b"new"), "a"), (tmp_path / "new" / "second", fail, "b")]
        )
    assert first.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first"]


def fail_fsync_after(monkeypatch, calls: int) -> None:
    """The disk fills up: every fsync after the first `calls` fails."""
    done = []

    def fsync(fd):
        done.append(fd)
        if len(done) > calls:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", fsync)


def test_a_plot_that_cannot_be_finished_leaves_nothing(work, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    report = work / "r.json"
    history = [{"step": 1, "loss": 1.0, "rel_l2": 0.5}, {"step": 2, "loss": 0.5, "rel_l2": 0.4}]
    report.write_text(json.dumps({"problem": "tiny", "history": history, "rel_l2": 0.4}))
    fail_fsync_after(monkeypatch, 1)  # loss.png is written, error.png is not
    code, _, err = call(["plot", report, "-o", work / "new" / "plots"], capsys)
    assert code == 1 and "error: cannot write the plot: no space left" in err
    assert not (work / "new").exists()


def test_a_run_whose_outputs_cannot_be_finished_leaves_none(work, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    fail_fsync_after(monkeypatch, 1)  # the report is written, a plot is not
    argv = ["--steps", 1, "--quiet", "--report", work / "r.json", "--plot", work / "new" / "p"]
    code, _, err = call(["run", work / "tiny.mlir", *argv], capsys)
    assert code == 1 and "no space left" in err
    assert not (work / "r.json").exists() and not (work / "new").exists()


def test_predictions_that_cannot_be_written_leave_no_directory(work, capsys, monkeypatch):
    fail_fsync_after(monkeypatch, 0)
    out = work / "new" / "u.npz"
    argv = ["predict", work / "ck" / "checkpoint.npz", "--grid", "2x2", "-o", out]
    code, _, err = call(argv, capsys)
    assert code == 1 and err.startswith(f"{out}: error: cannot write the predictions")
    assert not (work / "new").exists()


def test_an_output_pipe_nobody_reads_is_an_error_not_a_hang(work, capsys):
    fifo = work / "fifo"
    os.mkfifo(fifo)

    def hung(signum, frame):
        raise TimeoutError("the write to a pipe nobody reads hung")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        code, _, err = call(["opt", work / "tiny.mlir", "-o", fifo], capsys)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert code == 1
    assert err == f"{fifo}: error: cannot write the output: no process reads the pipe\n"


# ------------------------------------------------------------------ one voice


def test_a_message_without_a_location_is_given_its_command(capsys, monkeypatch):
    import pintac.cli as cli

    def raising(message):
        def command(argv):
            raise UserError(message)

        return command

    for message, shown in (
        ("error: the thing is wrong", "pintac fake: error: the thing is wrong\n"),
        ("bare words\nsecond line", "pintac fake: error: bare words\nsecond line\n"),
        ("f.toml: error: located", "f.toml: error: located\n"),
        ("f.mlir:3:4: error: located\n  x\n  ^", "f.mlir:3:4: error: located\n  x\n  ^\n"),
        ("pintac fake: error: voiced", "pintac fake: error: voiced\n"),
    ):
        monkeypatch.setitem(cli.COMMANDS, "fake", raising(message))
        assert call(["fake"], capsys) == (1, "", shown)


BAD_COMMAND_LINES = [
    ["opt", "TINY", "-p", "frob"],
    ["opt", "TINY", "--print-ir-after", "frob"],
    ["opt", ""],
    ["compile", "TINY", "--pipeline", "nope"],
    ["compile", "TINY", "--hw-set", "gemm"],
    ["compile", "TINY", "--target", "mlir", "--hw-set", "gemm.pes=2"],
    ["run", "TINY", "--pipeline", "nope"],
    ["run", "TINY", "--resume"],
    ["run", "TINY", "--checkpoint", ""],
    ["asm", ""],
    ["asm", "-"],
    ["disasm", "TINY"],
    ["predict", "TINY"],
    ["predict", "TINY", "--grid", "2x"],
    ["plot", "TINY"],
    ["plot", "missing.json"],
]


@pytest.mark.parametrize("argv", BAD_COMMAND_LINES, ids=" ".join)
def test_every_error_says_its_command_or_its_file(argv, tiny, capsys):
    code, _, err = call([str(tiny) if a == "TINY" else a for a in argv], capsys)
    assert code == 1
    assert VOICE.match(err), err


# ------------------------------------------------------------------ binary never echoed


def test_asm_of_a_binary_file_escapes_its_bytes(work, capsys):
    code, _, err = call(["asm", work / "p.bin", "-o", work / "q.bin"], capsys)
    assert code == 1 and err.startswith(f"{work / 'p.bin'}:")
    assert not RAW_CONTROL.search(err), repr(err)
    assert "\\x" in err


def test_opt_of_terminal_escapes_shows_them_escaped(tmp_path, capsys):
    source = tmp_path / "bin.mlir"
    source.write_bytes(b"abc\x1b[31mred\x07\x01 def\n")
    code, _, err = call(["opt", source], capsys)
    assert code == 1 and not RAW_CONTROL.search(err), repr(err)
    assert "abc\\x1b[31mred\\x07\\x01 def" in err


def test_command_line_words_are_shown_escaped(capsys):
    code, _, err = call(["\x1b[2Jrun"], capsys)
    assert code == 1 and err.startswith("pintac: error: unknown command '\\x1b[2Jrun'\n")
    code, _, err = call(["opt", "--frob\x07", "--x\udcff"], capsys)  # \udcff: an undecodable byte
    assert code == 1 and "unrecognized arguments: --frob\\x07 --x\\xff" in err
    assert not RAW_CONTROL.search(err)


def test_diagnostics_printed_as_output_escape_terminal_escapes(tmp_path, capsys):
    source = tmp_path / "bin.mlir"
    source.write_bytes(b"abc\x1b[31mred\n")
    code, out, _ = call(["opt", source, "--verify-diagnostics"], capsys)
    assert code == 0 and not RAW_CONTROL.search(out), repr(out)
    assert "abc\\x1b[31mred" in out
