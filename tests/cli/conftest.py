"""Fixtures of the command-line tests: a tiny problem, and a private temporary directory so
that no test leaves files in the system's."""

import tempfile
from pathlib import Path

import pytest
from cli_helpers import call, tiny_text


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.mlir"
    path.write_text(tiny_text())
    return path


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path_factory, monkeypatch) -> Path:
    """Default reproducers and other temporary files go to a directory of this test."""
    path = tmp_path_factory.mktemp("systemp")
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


@pytest.fixture
def compiled(tiny, tmp_path, capsys) -> Path:
    """The tiny problem compiled for PINTA with smx-diff: its program directory."""
    directory = tmp_path / "tiny.pinta"
    code, out, _ = call(["compile", tiny, "--pipeline", "smx-diff", "-o", directory], capsys)
    assert code == 0, out
    return directory
