"""`pintac opt`: the pass-pipeline debugging flags users expect from mlir-opt / xdsl-opt."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.passes import ModulePass

import pintac.opt
from pintac.cli import main
from pintac.registry import available_passes, make_context

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "examples" / "poisson2d_small.mlir"

FUNC = """func.func @f(%a: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %b = math.tanh %a : tensor<?x2xf32>
  %c = math.tanh %a : tensor<?x2xf32>
  %d = arith.addf %b, %c : tensor<?x2xf32>
  func.return %d : tensor<?x2xf32>
}
"""


@pytest.fixture
def func_file(tmp_path: Path) -> Path:
    path = tmp_path / "f.mlir"
    path.write_text(FUNC)
    return path


def run(argv, capsys):
    code = main(["opt", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_no_pipeline_prints_the_verified_input(capsys):
    code, out, err = run([SMALL], capsys)
    assert code == 0 and err == ""
    assert out.startswith("builtin.module {\n  pinn.problem @poisson2d_small {")


def test_pipeline_runs_passes_in_order(func_file, capsys):
    code, out, _ = run([func_file, "-p", "cse"], capsys)
    assert code == 0
    assert out.count("math.tanh") == 1  # cse merged the two identical tanh ops


def test_output_file(func_file, tmp_path, capsys):
    target = tmp_path / "out.mlir"
    code, out, _ = run([func_file, "-p", "cse", "-o", target], capsys)
    assert code == 0 and out == ""
    assert target.read_text().count("math.tanh") == 1


def test_failed_run_leaves_existing_output_untouched(tmp_path, capsys):
    target = tmp_path / "out.mlir"
    target.write_text("previous result\n")
    bad = tmp_path / "bad.mlir"
    bad.write_text("pinn.frob\n")
    code, _, _ = run([bad, "-o", target], capsys)
    assert code == 1
    assert target.read_text() == "previous result\n"


def test_an_empty_input_or_output_path_is_named_as_such(func_file, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # "" is not read as the current directory
    code, _, err = run([""], capsys)
    assert code == 1 and err == "pintac opt: error: the path of the input is empty\n"
    code, _, err = run([func_file, "-o", ""], capsys)
    assert code == 1 and err == "pintac opt: error: the path of the output is empty\n"
    code, _, err = run([func_file, "--reproducer", ""], capsys)
    assert code == 1 and err == "pintac opt: error: the path of the reproducer is empty\n"


def test_generic_output(func_file, capsys):
    code, out, _ = run([func_file, "--print-op-generic"], capsys)
    assert code == 0
    assert '"func.func"() <{sym_name = "f"' in out
    assert '"math.tanh"(%a)' in out


def test_print_ir_after_all(func_file, capsys):
    code, out, err = run([func_file, "-p", "cse,canonicalize", "--print-ir-after-all"], capsys)
    assert code == 0
    assert "// -----// IR Dump After cse //----- //" in err
    assert "// -----// IR Dump After canonicalize //----- //" in err
    assert err.index("After cse") < err.index("After canonicalize")
    assert "IR Dump Before" not in err


def test_print_ir_before_and_after_named_passes(func_file, capsys):
    argv = [
        func_file,
        "-p",
        "cse,canonicalize,dce",
        "--print-ir-before=cse",
        "--print-ir-after",
        "canonicalize,dce",
    ]
    code, _, err = run(argv, capsys)
    assert code == 0
    dumps = [line for line in err.splitlines() if line.startswith("// -----// IR Dump")]
    assert dumps == [
        "// -----// IR Dump Before cse //----- //",
        "// -----// IR Dump After canonicalize //----- //",
        "// -----// IR Dump After dce //----- //",
    ]
    before_cse = err.split("// -----// IR Dump After")[0]
    assert before_cse.count("math.tanh") == 2  # the dump really is the IR before cse


def test_print_ir_names_an_unknown_pass(func_file, capsys):
    code, _, err = run([func_file, "-p", "cse", "--print-ir-after=csee"], capsys)
    assert code == 1
    assert "unknown pass 'csee'" in err and "available passes:" in err


def test_pass_timing(func_file, capsys):
    code, _, err = run([func_file, "-p", "cse,dce", "--pass-timing"], capsys)
    assert code == 0
    assert "pass execution timing" in err
    rows = [
        line.split()[-1]
        for line in err.splitlines()
        if line.strip().endswith(("cse", "dce", "total"))
    ]
    assert rows == ["cse", "dce", "total"]


def test_list_passes_without_an_input(capsys):
    code, out, _ = run(["--list-passes"], capsys)
    assert code == 0
    for name in ("canonicalize", "cse", "dce"):
        assert f"\n  {name} " in out
    # every listed pass has a one-line description
    for line in out.splitlines()[1:]:
        if line.startswith("  ") and not line.startswith("      "):
            assert len(line.split(None, 1)) == 2, line


def test_unknown_pass_suggests_and_lists(func_file, capsys):
    code, out, err = run([func_file, "-p", "canonicalise"], capsys)
    assert code == 1 and out == ""
    assert "unknown pass 'canonicalise'; did you mean 'canonicalize'?" in err
    assert "available passes: canonicalize, cse, dce" in err


def test_bad_pass_option_names_the_valid_ones(func_file, capsys):
    code, _, err = run([func_file, "-p", "canonicalize{max-iterations=3}"], capsys)
    assert code == 1
    assert "pass 'canonicalize' has no option 'max-iterations'" in err
    assert "its options are:" in err


def test_malformed_pipeline_string(func_file, capsys):
    code, _, err = run([func_file, "-p", "cse{"], capsys)
    assert code == 1
    assert "invalid pass pipeline 'cse{'" in err
    assert "Traceback" not in err


def test_unknown_flag_is_a_usage_error(capsys):
    code, _, err = run(["--frobnicate"], capsys)
    assert code == 1
    assert "unrecognized arguments: --frobnicate" in err


def test_unknown_command(capsys):
    assert main(["optt"]) == 1
    assert "unknown command 'optt'" in capsys.readouterr().err


# ---------------------------------------------------------------- a pass that fails


@dataclass(frozen=True)
class CrashingPass(ModulePass):
    """Always fails (a stand-in for a buggy pass)."""

    name = "test-crash"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        # Damage the IR first, so the reproducer must hold the IR *before* the pass.
        for f in op.walk():
            if isinstance(f, func.FuncOp):
                f.sym_name = builtin.StringAttr("damaged")
        raise RuntimeError("something went wrong inside the pass")


@dataclass(frozen=True)
class BreakingPass(ModulePass):
    """Produces IR that does not verify."""

    name = "test-break"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for f in list(op.walk()):
            if isinstance(f, func.ReturnOp):
                f.detach()
                f.erase()


@pytest.fixture
def test_passes(monkeypatch):
    passes = {
        **available_passes(),
        "test-crash": lambda: CrashingPass,
        "test-break": lambda: BreakingPass,
    }
    monkeypatch.setattr(pintac.opt, "available_passes", lambda: passes)


def test_failing_pass_writes_a_reproducer(func_file, tmp_path, capsys, test_passes):
    repro = tmp_path / "repro.mlir"
    code, out, err = run([func_file, "-p", "cse,test-crash", "--reproducer", repro], capsys)
    assert code == 1 and out == ""
    assert (
        f"{func_file}: error: pass 'test-crash' failed: internal error: RuntimeError: "
        "something went wrong inside the pass" in err
    )
    assert f"the IR before this pass was written to {repro}" in err
    text = repro.read_text()
    assert '"func.func"() <{sym_name = "f"' in text  # not the damaged IR
    assert text.count('"math.tanh"') == 1  # but after cse
    # the reproducer parses back and reproduces the failure
    code, _, err = run([repro, "-p", "test-crash"], capsys)
    assert code == 1 and "something went wrong" in err


def test_reproducer_goes_to_a_temp_file_by_default(func_file, capsys, test_passes):
    code, _, err = run([func_file, "-p", "test-crash"], capsys)
    assert code == 1
    path = Path(err.split("was written to ")[1].split("\n")[0])
    assert path.is_file() and path.name.endswith(".reproducer.mlir")
    path.unlink()


def test_verify_each_catches_a_pass_that_breaks_the_ir(func_file, tmp_path, capsys, test_passes):
    repro = tmp_path / "r.mlir"
    code, _, err = run([func_file, "-p", "test-break", "--reproducer", repro], capsys)
    assert code == 1
    assert "pass 'test-break' failed: produced IR that does not verify" in err
    assert '"func.return"' in repro.read_text()


def test_no_verify_each_lets_it_through(func_file, capsys, test_passes):
    code, out, _ = run([func_file, "-p", "test-break", "--no-verify-each"], capsys)
    assert code == 0
    assert "func.return" not in out


def test_split_input_file_and_verify_diagnostics(tmp_path, capsys):
    path = tmp_path / "split.mlir"
    path.write_text(FUNC + "// -----\npinn.frob\n// -----\n" + FUNC)
    code, out, _ = run([path, "--split-input-file", "--verify-diagnostics"], capsys)
    assert code == 0
    chunks = out.split("// -----\n")
    assert len(chunks) == 3
    assert "func.func @f" in chunks[0] and "func.func @f" in chunks[2]
    assert chunks[1].startswith(f"{path}:8:1: error: unknown operation 'pinn.frob'")


def test_context_knows_all_pintac_dialects():
    ctx = make_context()
    for name in ("builtin", "func", "arith", "math", "pinn", "stein", "tt", "smx"):
        assert name in ctx.registered_dialect_names


def test_pass_timing_columns_add_up(func_file, capsys):
    code, _, err = run([func_file, "-p", "cse,dce,canonicalize", "--pass-timing"], capsys)
    assert code == 0
    lines = err.splitlines()
    header = next(line for line in lines if "verify" in line and "%" in line).split()
    assert [h for h in header if h != "(s)"][:4] == ["pass", "verify", "total", "%"], header
    rows = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 5 and parts[-1] in ("cse", "dce", "canonicalize", "total"):
            rows[parts[-1]] = [float(p.rstrip("%")) for p in parts[:4]]
    assert set(rows) == {"cse", "dce", "canonicalize", "total"}
    grand = rows.pop("total")
    for column in range(3):  # pass, verify and total seconds each add up to the total row
        assert sum(r[column] for r in rows.values()) == pytest.approx(grand[column], abs=3e-4)
    for passed, verified, total, pct in rows.values():
        assert total == pytest.approx(passed + verified, abs=2e-4)
        assert pct == pytest.approx(100 * total / grand[2], abs=0.5 + 100 * 2e-4 / grand[2])
    assert grand[3] == 100.0
