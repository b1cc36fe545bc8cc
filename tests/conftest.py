"""Shared fixtures."""

import glob
import shutil

import pytest


@pytest.fixture
def mlir_opt() -> str:
    """Path of LLVM's mlir-opt (`.ci/run` installs it); the test is skipped without it."""
    found = shutil.which("mlir-opt") or next(
        iter(sorted(glob.glob("/usr/lib/llvm-*/bin/mlir-opt"), reverse=True)), None
    )
    if found is None:
        pytest.skip("mlir-opt is not installed")
    return found
