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
