"""The import direction of pintac's layers, read from every module's source.

    driver (pintac/)  ->  passes  ->  runtime  ->  dialects  ->  core
                      ->  frontend, runtime, dialects, core

`pintac.core` imports nothing of pintac outside itself; the dialects import only core and
dialects; the runtime only core, dialects and the runtime; the passes only core, dialects,
passes and the runtime (the passes reuse the runtime's numerics: TT shapes, SMX formats, the
execution plan, PINTA's ISA). No layer below the driver imports a driver module. The PINTA
simulator and ISA modules (runtime/pinta/) import no dialect except the target and the lowered
program, which read the IR, and the activation table, which they evaluate. Imports inside
functions count as much as those at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> its folder, as pyproject's package-dir maps them
FOLDERS = {
    "pintac.core": ROOT / "pintac" / "core",
    "pintac.dialects": ROOT / "dialects",
    "pintac.passes": ROOT / "passes",
    "pintac.runtime": ROOT / "runtime",
}
ALLOWED = {
    "pintac.core": {"pintac.core"},
    "pintac.dialects": {"pintac.core", "pintac.dialects"},
    "pintac.runtime": {"pintac.core", "pintac.dialects", "pintac.runtime"},
    "pintac.passes": {"pintac.core", "pintac.dialects", "pintac.passes", "pintac.runtime"},
}
PINTA = "pintac.runtime.pinta"
PINTA_DIALECT_IMPORTERS = {f"{PINTA}.target", f"{PINTA}.lowered"}
PINTA_DIALECT_ALLOWED = {"pintac.dialects.activations"}


def module_name(package: str, path: Path) -> str:
    parts = path.relative_to(FOLDERS[package]).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((package, *parts))


def imported_modules(path: Path, name: str) -> set[str]:
    """Every module an import anywhere in the file names (`from a import b` names a and a.b)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def layer_of(module: str) -> str | None:
    """The layer a pintac module belongs to: a package of FOLDERS, else the driver."""
    for package in FOLDERS:
        if module == package or module.startswith(package + "."):
            return package
    if module.startswith("pintac."):  # `pintac` itself is every layer's parent package
        return "pintac"
    return None


def layer_violations(package: str, name: str, imports: set[str]) -> list[str]:
    wrong = []
    for target in sorted(imports):
        layer = layer_of(target)
        if layer is not None and layer not in ALLOWED[package]:
            wrong.append(f"{name} imports {target}")
        if (
            name.startswith(PINTA + ".")
            and name not in PINTA_DIALECT_IMPORTERS
            and layer == "pintac.dialects"
            and target != "pintac.dialects"
            and not any(target == m or target.startswith(m + ".") for m in PINTA_DIALECT_ALLOWED)
        ):
            wrong.append(f"{name} (a PINTA simulator/ISA module) imports {target}")
    return wrong


def all_modules():
    for package, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            yield package, module_name(package, path), path


@pytest.mark.parametrize("package", list(FOLDERS))
def test_every_module_imports_only_the_layers_below_it(package):
    wrong = []
    for pkg, name, path in all_modules():
        if pkg == package:
            wrong += layer_violations(pkg, name, imported_modules(path, name))
    assert not wrong, "\n".join(wrong)


def test_the_layers_are_all_found():
    names = {name for _, name, _ in all_modules()}
    assert {"pintac.core.errors", "pintac.dialects.pinn", "pintac.passes.optimizer_lower"} <= names
    assert {"pintac.runtime.tt", "pintac.runtime.pinta.semantics"} <= names


@pytest.mark.parametrize(
    "package, name, source, fault",
    [
        ("pintac.core", "pintac.core.x", "from pintac.dialects import pinn", "pintac.dialects"),
        ("pintac.dialects", "pintac.dialects.x", "import pintac.runtime.tt", "pintac.runtime.tt"),
        ("pintac.dialects", "pintac.dialects.x", "from pintac import api", "pintac.api"),
        ("pintac.runtime", "pintac.runtime.x", "def f():\n    import pintac.passes", "passes"),
        ("pintac.runtime", "pintac.runtime.x", "from pintac.cli_util import a", "cli_util"),
        ("pintac.passes", "pintac.passes.x", "from pintac.pipelines import a", "pipelines"),
        ("pintac.runtime", "pintac.runtime.pinta.isa", "from ...dialects import pinn", "pinn"),
        ("pintac.runtime", "pintac.runtime.x", "from pintac.frontend import build", "frontend"),
    ],
)
def test_a_wrong_import_is_caught(tmp_path, package, name, source, fault):
    path = tmp_path / "x.py"
    path.write_text(source + "\n")
    wrong = layer_violations(package, name, imported_modules(path, name))
    assert any(fault in w for w in wrong), wrong


def test_allowed_imports_pass(tmp_path):
    path = tmp_path / "x.py"
    path.write_text("from pintac.core.errors import UserError\nfrom . import tt\nimport numpy\n")
    name = "pintac.runtime.pinta.isa"
    assert layer_violations("pintac.runtime", name, imported_modules(path, name)) == []
