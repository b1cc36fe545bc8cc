"""Fuzzing the command line: `pintac.cli.main` must return 0 or 1 and never raise, hang or
change an input.

The generators are those of `benchmarks/fuzz.py` (which runs 10⁴ and more cases): argument
vectors of every subcommand with values at the edges of each option's domain, IR from
`examples/` truncated, flipped, swapped, nested, PINTA program directories, assembly, program
files and hardware configurations damaged; program directories that lie, inputs that are
FIFOs, devices, links or sparse 4 GiB files, outputs onto inputs. Here a few hundred cases,
seeded so that every run tries the same ones. A case passes when main returns 0 (it
worked) or 1 (a user mistake, reported with a message), printed no traceback, ended within the
time limit, left every input as it was, and did what its generator built it for (refused the
damage, or as a control succeeded).
"""

import importlib.util
import os
import shutil
import sys
import tempfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

from pintac.core.errors import UserError

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
        box = fuzz.Sandbox(root).setup()
        with fuzz.memory_cap():
            yield box
    finally:
        tempfile.tempdir = old


def fuzz_settings(n: int, label: str):
    """`n` cases, the same every run (a seed of `label`)."""

    def decorate(test):
        test = settings(
            max_examples=n,
            database=None,
            deadline=None,
            phases=[Phase.generate],  # every failing case is listed; none is shrunk
            suppress_health_check=list(HealthCheck),
        )(test)
        return seed(zlib.crc32(label.encode()))(test)

    return decorate


# Cases per generator: most are cheap (opt, IR, disasm); run, sim and plot are the slow ones.
# `progdir` and `filetype` run below: each lie, each kind of file as every input.
COUNTS = {
    "ir": 90,
    "opt": 60,
    "compile": 20,
    "run": 20,
    "predict": 25,
    "plot": 5,
    "sim": 20,
    "asm": 30,
    "disasm": 30,
    "aliasing": 25,
    "pde": 60,
}


def _run_all(cases, sandbox) -> None:
    """Run the cases; fail listing every case that failed, and how."""
    failed = []
    for case in cases:
        outcome = fuzz.check_case(case, sandbox, fuzz.TIME_LIMIT)
        if not outcome.ok:
            failed.append(f"{', '.join(outcome.failures)}: {outcome.detail}")
    assert not failed, f"{len(failed)} case(s) failed:\n\n" + "\n\n".join(failed)


def _check_cases(strategy, n: int, sandbox, label: str) -> None:
    """Run `n` cases of `strategy` (drawn first, run after: every failure is listed)."""
    cases = []

    @fuzz_settings(n, label)
    @given(case=strategy)
    def draw(case):
        cases.append(case)

    draw()
    _run_all(cases, sandbox)


@pytest.mark.parametrize("name", list(COUNTS))
def test_main_returns_0_or_1_and_never_raises_hangs_or_destroys(name, sandbox):
    _check_cases(fuzz.GENERATORS[name](sandbox), COUNTS[name], sandbox, name)


@pytest.mark.parametrize("lie", fuzz.LIES)
def test_a_program_directory_that_lies_is_refused(lie, sandbox):
    _check_cases(fuzz.progdir_cases(sandbox, [lie]), 2, sandbox, lie)


@pytest.mark.parametrize("kind", ["fifo", "devzero", "devnull", "dir", "dangling", "sparse4g"])
def test_every_input_of_every_command_that_is_not_a_regular_file_is_refused_in_time(kind, sandbox):
    _run_all([fuzz.input_case(slot, kind) for slot in fuzz.INPUT_SLOTS], sandbox)


@pytest.mark.parametrize("kind", ["regular", "outside"])
def test_a_regular_input_or_a_link_to_one_is_read(kind, sandbox):
    _check_cases(fuzz.filetype_cases(sandbox, (kind,), links=False), 3, sandbox, kind)


def test_no_output_is_written_through_a_link_out_of_the_sandbox(sandbox):
    _check_cases(fuzz.filetype_cases(sandbox, (), links=True), 8, sandbox, "links")


def test_the_classifier_names_the_kinds_of_error():
    assert fuzz.classify("x.mlir:3:4: error: unknown operation") == (
        "located error in the input (parse or verify)"
    )
    assert fuzz.classify("pintac run: error: argument --steps: must be") == "usage (options)"
    assert fuzz.classify("out: error: cannot write the report: it is a directory").startswith(
        "output"
    )
    assert fuzz.classify(
        "pintac asm: error: the program x.pasm would overwrite the input x.pasm; give another"
    ).startswith("output refused")
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


def _run_as(monkeypatch, sandbox, command, case: "fuzz.Case", time_limit=None):
    """The outcome of `case` with its command replaced by `command(argv)`."""
    import pintac.cli

    monkeypatch.setitem(pintac.cli.COMMANDS, case.argv[0], command)
    return fuzz.run_case(case, sandbox, time_limit)


def test_a_raising_case_is_a_traceback(sandbox, monkeypatch):
    def boom(argv):
        raise RuntimeError("a bug")

    outcome = _run_as(monkeypatch, sandbox, boom, fuzz.Case(["opt", "x.mlir"]))
    assert outcome.kind == "traceback" and "RuntimeError: a bug" in outcome.detail
    assert outcome.failures == (fuzz.TRACEBACK,)


def test_a_case_blocked_opening_a_fifo_is_a_hang_and_the_next_case_runs(sandbox, monkeypatch):
    def read_fifo(argv):
        return len(Path("ft/fifo.mlir").read_bytes())  # blocks in open(): nobody writes

    cwd = Path.cwd()
    outcome = _run_as(monkeypatch, sandbox, read_fifo, fuzz.Case(["opt", "x"]), time_limit=0.3)
    assert outcome.kind == "hang" and outcome.failures == (fuzz.HANG,)
    assert Path.cwd() == cwd
    monkeypatch.undo()
    assert fuzz.run_case(fuzz.Case(["opt", "inputs/tiny.mlir"]), sandbox, 60).kind == "exit 0"


def test_a_changed_input_is_reported_and_put_back(sandbox, monkeypatch):
    source = sandbox.root / "inputs" / "tiny.mlir"
    program = sandbox.root / "prog" / "tiny.pinta"
    before = {p.name: p.read_bytes() for p in program.iterdir()}

    def destroy(argv):
        source.write_text("lost")
        shutil.rmtree(program)
        return 0

    outcome = _run_as(monkeypatch, sandbox, destroy, fuzz.Case(["opt", "inputs/tiny.mlir"]))
    assert outcome.failures == (fuzz.MODIFIED,)
    assert "inputs/tiny.mlir" in outcome.detail and "prog/tiny.pinta/program.bin" in outcome.detail
    assert source.read_text() == fuzz.TINY
    assert {p.name: p.read_bytes() for p in program.iterdir()} == before
    assert sandbox.inputs.changed() == []


def test_writing_through_a_link_out_of_the_sandbox_is_reported(sandbox, monkeypatch):
    def write_through(argv):
        with open(argv[-1], "w") as f:  # follows the link
            f.write("overwritten")
        return 0

    case = fuzz.Case(["opt", "-o", "traps/o.mlir"], links={"traps/o.mlir": fuzz.VICTIM})
    outcome = _run_as(monkeypatch, sandbox, write_through, case)
    assert outcome.failures == (fuzz.MODIFIED,) and "@outside/victim.txt" in outcome.detail
    assert (sandbox.outside / "victim.txt").read_text().startswith("outside the sandbox")


def test_a_refused_case_must_be_refused_for_its_damage(sandbox, monkeypatch):
    def succeed(argv):
        return 0

    def refuse_usage(argv):
        raise UserError("pintac opt: error: unrecognized arguments: --x\nusage: pintac opt [-h]")

    case = fuzz.Case(["opt", "x"], expect=fuzz.REFUSED)
    assert _run_as(monkeypatch, sandbox, succeed, case).failures == (fuzz.ACCEPTED,)
    assert _run_as(monkeypatch, sandbox, refuse_usage, case).failures == (fuzz.PARSER_ONLY,)
    control = fuzz.Case(["opt", "x"], expect=fuzz.SUCCEEDS)
    assert _run_as(monkeypatch, sandbox, refuse_usage, control).failures == (fuzz.CONTROL_FAILED,)


def test_reading_dev_zero_ends_in_memory_error_under_the_cap(sandbox, monkeypatch):
    def read_endlessly(argv):
        return len(Path("ft/devzero.mlir").read_bytes())

    case = fuzz.Case(["opt", "ft/devzero.mlir"], expect=fuzz.REFUSED)
    with fuzz.memory_cap(256 << 20):
        outcome = _run_as(monkeypatch, sandbox, read_endlessly, case, time_limit=60)
    assert outcome.failures == (fuzz.OUT_OF_MEMORY,)


def test_the_sandbox_holds_every_kind_of_file_the_filetype_cases_name(sandbox):
    for slot in fuzz.INPUT_SLOTS:
        for kind in ["regular", *fuzz.FILE_KINDS]:
            path, _ = fuzz._input_of_kind(slot, kind)
            assert os.path.lexists(sandbox.root / path), (slot, kind, path)
