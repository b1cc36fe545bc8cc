"""The `xdsl.universe` entry point lets plain `xdsl-opt` read pintac IR."""

import shutil
import subprocess
import sys
from pathlib import Path

from xdsl.universe import Universe

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "poisson2d_small.mlir"


def test_multiverse_knows_pintac_dialects():
    universe = Universe.get_multiverse()
    for name in ("pinn", "stein", "tt", "smx"):
        assert name in universe.all_dialects


def test_xdsl_opt_parses_an_example():
    xdsl_opt = shutil.which("xdsl-opt", path=str(Path(sys.executable).parent))
    assert xdsl_opt, "xdsl-opt is installed with xdsl"
    result = subprocess.run([xdsl_opt, str(EXAMPLE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "pinn.problem @poisson2d_small" in result.stdout
    assert "pinn.laplacian @u" in result.stdout


def test_a_failing_pintac_pass_under_xdsl_opt_is_a_located_diagnostic(tmp_path):
    """A pass error reaches xdsl-opt's top level; pintac's plugin prints it without traceback."""
    text = EXAMPLE.read_text()
    xdsl_opt = shutil.which("xdsl-opt", path=str(Path(sys.executable).parent))
    # pinn-build-loss before stein-expand: the derivative ops have no lowering yet
    result = subprocess.run(
        [xdsl_opt, "-p", "pinn-build-loss"], input=text, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: 'pinn.laplacian @u' has no lowering here")
    # the op is marked in the printed IR
    lines = result.stderr.splitlines()
    marked = next(i for i, line in enumerate(lines) if "^^^^" in line)
    assert "pinn.laplacian @u" in lines[marked - 1]
    assert "run stein-expand before pinn-build-loss" in lines[marked + 1]
