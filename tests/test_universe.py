"""The `xdsl.universe` entry point lets plain `xdsl-opt` read pintac IR."""

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

from xdsl.ir import Dialect
from xdsl.universe import Universe

from pintac.registry import available_passes

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "poisson2d_small.mlir"


def dialects_defined_in_the_dialects_folder() -> list[Dialect]:
    """Every `Dialect` a module of dialects/ defines, found by importing each file."""
    found = []
    for path in sorted((ROOT / "dialects").glob("*.py")):
        module = importlib.import_module(f"pintac.dialects.{path.stem}")
        found += [v for v in vars(module).values() if isinstance(v, Dialect)]
    return found


def test_multiverse_knows_every_pintac_dialect():
    defined = {d.name: d for d in dialects_defined_in_the_dialects_folder()}
    assert len(defined) >= 6, sorted(defined)
    universe = Universe.get_multiverse()
    for name, dialect in defined.items():
        assert name in universe.all_dialects, f"dialect {name} is not in the xdsl.universe plugin"
        assert universe.all_dialects[name]() is dialect


def test_multiverse_knows_every_pintac_pass():
    universe = Universe.get_multiverse()
    for name, factory in available_passes().items():
        assert name in universe.all_passes, f"pass {name} is not in the xdsl.universe plugin"
        assert universe.all_passes[name]() is factory()


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
