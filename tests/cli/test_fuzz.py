"""Fuzzing the command line: `pintac.cli.main` must return 0 or 1 and never raise.

The generators are those of `benchmarks/fuzz.py` (which runs 10⁴ and more cases): argument
vectors of every subcommand with values at the edges of each option's domain, IR from
`examples/` truncated, flipped, swapped, nested, and PINTA program directories, assembly,
program files and hardware configurations damaged. Here a few hundred cases, derandomized so that
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


# Cases per generator: most are cheap (opt, IR, disasm); run, sim and plot are the slow ones.
COUNTS = {
    "ir": 150,
    "opt": 100,
    "compile": 25,
    "run": 20,
    "predict": 30,
    "plot": 5,
    "sim": 25,
    "asm": 30,
    "disasm": 40,
}


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
    # the PINTA commands
    kinds = {
        "p.pasm:3:6: error: GEMM has no field 'q' (fields: acc, a, b)": "located error in the "
        "assembly",
        "PINTA trap at PC 3: bad opcode 15\n    3: .word 0x0f": "PINTA trap",
        "hw.toml:2: 'gemm.pes' must be an integer, got 'x'": "PINTA hardware configuration",
        "override 'gemm.pe=4': unknown key 'pe' in [gemm] (known: pes)": "PINTA hardware",
        "x.pinta/manifest.json: error: a damaged manifest: no key 'pipeline'": "PINTA program "
        "directory",
        "p.bin is truncated: the header announces 3 instructions": "PINTA program file",
        "t.mlir: error: pass 'lower-to-pinta{batch=\"pde=8\"}' failed: 'stein.perturb' "
        "computing %batch: one tile needs 64 bytes of SPM": "PINTA lowering",
    }
    for stderr, kind in kinds.items():
        assert fuzz.classify(stderr).startswith(kind), stderr
    # what --pass-timing prints comes before the error
    timing = "===---===\n  pintac pass execution timing\n  0.01  total\n"
    assert fuzz.classify(timing + "t.mlir: error: pass 'lower-to-pinta' failed: x").startswith(
        "PINTA lowering"
    )


def test_a_raising_case_is_a_traceback(sandbox, monkeypatch):
    import pintac.cli

    def boom(argv):
        raise RuntimeError("a bug")

    monkeypatch.setitem(pintac.cli.COMMANDS, "opt", boom)
    outcome = fuzz.run_case(fuzz.Case(["opt", "x.mlir"]), sandbox)
    assert outcome.kind == "traceback" and "RuntimeError: a bug" in outcome.detail
