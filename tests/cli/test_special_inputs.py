"""Inputs that are not regular files — a FIFO nobody writes to, a device — are refused by
name at once, by every command that reads a checkpoint, a report or a file of points (a read
would block forever, or never end)."""

import os

import pytest
from deadline import no_hang

from pintac.cli import main


@pytest.fixture
def deadline():
    """Fail instead of hanging on an input that blocks."""
    with no_hang(10):
        yield


def run(argv, capsys):
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.npz"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "{fifo}", "--grid", "3x3"],
        ["plot", "{fifo}"],
        ["run", "{tiny}", "--init-from", "{fifo}", "--steps", "1", "--quiet"],
    ],
    ids=["predict-checkpoint", "plot-report", "run-init-from"],
)
def test_a_fifo_input_is_refused_not_waited_for(argv, fifo, tiny, capsys, deadline):
    code, err = run([a.format(fifo=fifo, tiny=tiny) for a in argv], capsys)
    assert code == 1
    assert f"{fifo}: error:" in err and "a FIFO (named pipe), not a regular file" in err


def test_a_fifo_of_points_is_refused(tmp_path, fifo, tiny, capsys, deadline):
    checkpoint = tmp_path / "ck"
    assert run(["run", tiny, "--steps", "1", "--quiet", "--checkpoint", checkpoint], capsys)[0] == 0
    points = tmp_path / "points.npy"
    os.mkfifo(points)
    code, err = run(["predict", checkpoint / "checkpoint.npz", "--points", points], capsys)
    assert code == 1 and f"{points}: error:" in err and "FIFO" in err


def test_a_device_as_checkpoint_is_refused(capsys, deadline):
    code, err = run(["predict", "/dev/zero", "--grid", "3x3"], capsys)
    assert code == 1 and "/dev/zero: error:" in err and "character device" in err


def test_a_huge_sparse_file_of_points_is_refused_from_its_size(tmp_path, tiny, capsys, deadline):
    checkpoint = tmp_path / "ck"
    assert run(["run", tiny, "--steps", "1", "--quiet", "--checkpoint", checkpoint], capsys)[0] == 0
    points = tmp_path / "points.csv"
    with open(points, "wb") as f:
        f.truncate(4 << 30)  # sparse: no disk, and nothing to read but zeros
    code, err = run(["predict", checkpoint / "checkpoint.npz", "--points", points], capsys)
    assert code == 1 and f"{points}: error: the file of points is {4 << 30} bytes, more" in err


def test_an_empty_report_path_is_named(capsys):
    code, err = run(["plot", ""], capsys)
    assert (code, err) == (1, "pintac plot: error: the path of the report is empty\n")
