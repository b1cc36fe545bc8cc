"""Guards for the repository layout (see the README's table of folders)."""

import re
import tomllib
from pathlib import Path

import pintac.dialects
from pintac.dialects import get_all_dialects
from pintac.passes import get_all_passes

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_packages_are_discovered_from_package_dir():
    # A `packages` list or `packages.find` table would switch auto-discovery off and
    # silently drop subpackages from non-editable installs.
    assert "packages" not in SETUPTOOLS
    for pkg, folder in SETUPTOOLS["package-dir"].items():
        assert (ROOT / folder / "__init__.py").is_file(), f"{pkg}: no {folder}/__init__.py"


def test_mapped_packages_come_from_their_folders():
    for sub in ("dialects", "passes", "runtime"):
        assert not (ROOT / "pintac" / sub).exists(), f"pintac/{sub}/ would shadow pintac.{sub}"
    assert Path(pintac.dialects.__file__).parent == ROOT / "dialects"


def test_no_bare_imports():
    bare = re.compile(r"^\s*(from|import)\s+(dialects|passes|runtime)\b", re.M)
    for folder in ("pintac", "dialects", "passes", "runtime", "tests", "benchmarks"):
        for f in (ROOT / folder).rglob("*.py"):
            assert not bare.search(f.read_text()), f"{f}: import pintac.<pkg> instead"


def test_one_dialect_per_file():
    for name, factory in get_all_dialects().items():
        dialect = factory()
        assert dialect.name == name
        assert (ROOT / "dialects" / f"{name}.py").is_file()
        for op in dialect.operations:
            assert op.__module__ == f"pintac.dialects.{name}", op


def test_one_pass_per_file_with_a_golden_test():
    for name, factory in get_all_passes().items():
        cls = factory()
        assert cls.name == name
        assert cls.__module__ == "pintac.passes." + name.replace("-", "_")
        assert (ROOT / "tests" / "filecheck" / "passes" / f"{name}.mlir").is_file(), name
