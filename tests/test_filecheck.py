"""Run every lit golden-IR test under tests/filecheck as its own pytest case."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FILECHECK_DIR = Path(__file__).parent / "filecheck"
TESTS = sorted(p for p in FILECHECK_DIR.rglob("*.mlir") if "inputs" not in p.parts)
BIN = Path(sys.executable).parent  # the environment's bin: lit, pintac, filecheck


def lit_command() -> list[str]:
    # `python -m lit.main` would silently run nothing; the console script exits 1 on failure.
    lit = shutil.which("lit", path=str(BIN)) or shutil.which("lit")
    assert lit, "the `lit` console script is not installed (pip install -e '.[dev]')"
    return [lit, "-v"]


def run_lit(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([*lit_command(), str(path)], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("path", TESTS, ids=lambda p: str(p.relative_to(FILECHECK_DIR)))
def test_lit(path: Path):
    result = run_lit(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed: 1" in result.stdout or "PASS:" in result.stdout, result.stdout


def test_lit_fails_on_a_broken_test(tmp_path: Path):
    """The bridge must not be a silent no-op: a test whose CHECK cannot match must fail."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "lit.cfg").write_text((FILECHECK_DIR / "lit.cfg").read_text())
    broken = suite / "broken.mlir"
    broken.write_text(
        "// RUN: pintac opt %s | filecheck %s\n"
        "func.func @f() {\n  func.return\n}\n"
        "// CHECK: this text is not in the output\n"
    )
    result = run_lit(broken)
    assert result.returncode != 0, result.stdout
    assert "FAIL" in result.stdout
