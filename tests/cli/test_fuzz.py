"""Fuzzing the command line: `pintac.cli.main` must return 0 or 1 and never raise.

The generators are those of `benchmarks/fuzz.py` (which runs 10⁴ and more cases): argument
vectors of every subcommand with values at the edges of each option's domain, and IR from
`examples/` truncated, flipped, swapped, nested. Here a few hundred cases, derandomized so that
every run tries the same ones. A case passes when main returns 0 (it worked) or 1 (a user
mistake, reported with a message) and printed no traceback.
"""

import importlib.util
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("pintac_bench_fuzz", ROOT / "benchmarks" / "fuzz.py")
fuzz = importlib.util.module_from_spec(SPEC)
sys.modules[SPEC.name] = fuzz
SPEC.loader.exec_module(fuzz)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    old = tempfile.tempdir
    tempfile.tempdir = str(root / "tmp")  # default reproducers stay in the sandbox
    try:
        yield fuzz.Sandbox(root).setup()
    finally:
        tempfile.tempdir = old


def fuzz_settings(n: int):
    return settings(
        max_examples=n,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


# Cases per generator: most are cheap (opt, IR); run and plot are the slow ones.
COUNTS = {"ir": 150, "opt": 100, "compile": 20, "run": 20, "predict": 30, "plot": 5}


@pytest.mark.parametrize("name", list(COUNTS))
def test_main_returns_0_or_1_and_never_raises(name, sandbox):
    @fuzz_settings(COUNTS[name])
    @given(case=fuzz.GENERATORS[name](sandbox))
    def check(case):
        fuzz.check_case(case, sandbox)

    check()


def test_the_classifier_names_the_kinds_of_error():
    assert fuzz.classify("x.mlir:3:4: error: unknown operation") == (
        "located error in the input (parse or verify)"
    )
    assert fuzz.classify("pintac run: error: argument --steps: must be") == "usage (options)"
    assert fuzz.classify("out: error: cannot write the report: it is a directory").startswith(
        "output"
    )


def test_a_raising_case_is_a_traceback(sandbox, monkeypatch):
    import pintac.cli

    def boom(argv):
        raise RuntimeError("a bug")

    monkeypatch.setitem(pintac.cli.COMMANDS, "opt", boom)
    outcome = fuzz.run_case(fuzz.Case(["opt", "x.mlir"]), sandbox)
    assert outcome.kind == "traceback" and "RuntimeError: a bug" in outcome.detail
