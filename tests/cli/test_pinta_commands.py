"""The PINTA commands: compile to a program directory, simulate it, assemble, disassemble;
bad programs, assembly and configurations are errors with exit 1, never tracebacks."""

from __future__ import annotations

import hashlib
import json

from cli_helpers import call, tiny_text

import pintac.api as pt


def test_compile_writes_a_program_directory_and_a_summary(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = call(["compile", tiny, "--pipeline", "smx-diff"], capsys)  # target pinta
    assert code == 0
    directory = tmp_path / "tiny.pinta"
    names = {p.name for p in directory.iterdir()}
    assert names == {
        "program.bin",
        "program.pasm",
        "dram.img",
        "manifest.json",
        "problem.mlir",
        "hardware.toml",
    }
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["pipeline"] == "smx-diff"
    assert f"for PINTA into {directory.name}/" in out
    assert f"instructions {manifest['instructions']}: " in out
    assert f"step         {manifest['cycles_per_step']} cycles" in out


def test_sim_trains_like_the_runtime(tiny, compiled, tmp_path, capsys):
    report = tmp_path / "sim.json"
    code, out, _ = call(["sim", compiled, "--steps", 3, "--report", report, "--quiet"], capsys)
    assert code == 0
    sim = json.loads(report.read_text())
    trainer = pt.Trainer(pt.load(tiny).compile("smx-diff"), seed=0)
    trainer.train(3)
    assert [h["loss"] for h in sim["history"]] == [h["loss"] for h in trainer.history]
    assert sim["rel_l2"] == trainer.evaluate().rel_l2
    assert sim["pinta"]["cycles"] > 0 and "PE utilization" in out


def test_run_on_the_simulator_equals_the_runtime(tiny, tmp_path, capsys):
    reports = {}
    for target in ("numpy", "pinta-sim"):
        reports[target] = tmp_path / f"{target}.json"
        argv = ["run", tiny, "--pipeline", "smx-diff", "--quiet", "--report", reports[target]]
        code, out, _ = call([*argv, "--target", target], capsys)
        assert code == 0
    numpy, sim = (json.loads(reports[t].read_text()) for t in ("numpy", "pinta-sim"))
    assert [h["loss"] for h in sim["history"]] == [h["loss"] for h in numpy["history"]]
    assert sim["rel_l2"] == numpy["rel_l2"]
    assert sim["pinta"]["cycles"] > 0 and numpy["pinta"] is None
    assert "PINTA        " in out and "cycles per step" in out


def test_disasm_and_asm_give_back_the_program(compiled, tmp_path, capsys):
    text = tmp_path / "again.pasm"
    binary = tmp_path / "again.bin"
    assert call(["disasm", compiled / "program.bin", "-o", text], capsys)[0] == 0
    assert call(["asm", text, "-o", binary], capsys)[0] == 0
    assert binary.read_bytes() == (compiled / "program.bin").read_bytes()
    # the annotated assembly pintac compile writes assembles to the same program
    assert call(["asm", compiled / "program.pasm", "-o", binary], capsys)[0] == 0
    assert binary.read_bytes() == (compiled / "program.bin").read_bytes()


def test_a_truncated_or_corrupted_program_is_refused(compiled, capsys):
    program = compiled / "program.bin"
    data = program.read_bytes()
    program.write_bytes(data[:-5])
    code, _, err = call(["sim", compiled, "--steps", 1], capsys)
    assert code == 1 and "program.bin" in err
    corrupted = bytearray(data)
    corrupted[40] ^= 0xFF
    program.write_bytes(bytes(corrupted))
    code, _, err = call(["sim", compiled, "--steps", 1], capsys)
    assert code == 1 and "program.bin" in err
    code, _, err = call(["disasm", program], capsys)
    assert code == 1 and "program.bin" in err


def test_bad_assembly_is_located(tmp_path, capsys):
    source = tmp_path / "bad.pasm"
    source.write_text("GEMM acc=0 a=0 b=0 m=1 k=1 n=1\nLAOD dst=0 src=0 rows=1 cols=1\nHALT\n")
    code, _, err = call(["asm", source], capsys)
    assert code == 1 and "bad.pasm:2:" in err and "LAOD" in err
    source.write_text("LOAD fmt=f32 dst=0 src=0 rows=70000 cols=1\nHALT\n")
    code, _, err = call(["asm", source], capsys)
    assert code == 1 and "bad.pasm:1:" in err and "rows" in err


def test_a_program_that_overflows_a_buffer_traps_with_the_instruction(compiled, capsys):
    text = (compiled / "program.pasm").read_text()
    # move the first load to the last words of the SPM: its rows run past the end
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("LOAD"))
    fields = lines[first].split(";")[0].split()
    lines[first] = " ".join("dst=1048575" if f.startswith("dst=") else f for f in fields)
    (compiled / "program.pasm").write_text("\n".join(lines) + "\n")
    assert call(["asm", compiled / "program.pasm", "-o", compiled / "program.bin"], capsys)[0] == 0
    manifest = json.loads((compiled / "manifest.json").read_text())  # as if compiled so
    manifest["program_sha256"] = hashlib.sha256((compiled / "program.bin").read_bytes()).hexdigest()
    (compiled / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = call(["sim", compiled, "--steps", 1], capsys)
    assert code == 1
    pc = sum(1 for line in lines[:first] if line.strip() and not line.lstrip().startswith(";"))
    assert f"PINTA trap at PC {pc}:" in err
    assert "out of bounds" in err and "LOAD" in err


def test_hardware_that_cannot_hold_a_layer_or_an_unknown_key(tiny, tmp_path, capsys):
    out = tmp_path / "x.pinta"
    code, _, err = call(["compile", tiny, "-o", out, "--hw-set", "memory.spm_bytes=64"], capsys)
    assert code == 1 and "computing %" in err and "SPM" in err
    code, _, err = call(["compile", tiny, "-o", out, "--hw-set", "gemm.pe=4"], capsys)
    assert code == 1 and "unknown key 'pe'" in err
    code, _, err = call(["run", tiny, "--hw-set", "gemm.pes=4"], capsys)
    assert code == 1 and "--target pinta-sim" in err


def test_compile_for_pinta_refuses_stdout_and_an_empty_directory(
    tiny, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    code, out, err = call(["compile", tiny, "-o", "-"], capsys)
    assert code == 1 and "-o -: --target pinta writes a program directory" in err
    code, out, err = call(["compile", tiny, "-o", ""], capsys)
    assert code == 1 and "-o: the path of the program directory is empty" in err
    assert out == "" and list(tmp_path.iterdir()) == [tiny]  # nothing written


def test_a_hardware_configuration_that_is_not_text(tiny, compiled, tmp_path, capsys):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(bytes(range(256)))
    code, _, err = call(["compile", tiny, "-o", tmp_path / "x.pinta", "--hw", binary], capsys)
    assert code == 1 and f"{binary}:" in err and "not UTF-8 text (byte 0x80)" in err
    (compiled / "hardware.toml").write_bytes(bytes(range(256)))
    code, _, err = call(["sim", compiled, "--steps", 1], capsys)
    assert code == 1 and f"{compiled / 'hardware.toml'}:" in err and "not UTF-8 text" in err


def test_hardware_numbers_beyond_any_hardware_are_refused(tiny, tmp_path, capsys):
    out = tmp_path / "x.pinta"
    code, _, err = call(["compile", tiny, "-o", out, "--hw-set", "gemm.pes=1e308"], capsys)
    assert code == 1 and "'gemm.pes' must be at most 2^53, got 1e+308" in err
    code, _, err = call(["compile", tiny, "-o", out, "--hw-set", "clock.mhz=nan"], capsys)
    assert code == 1 and "'clock.mhz' must be a finite number, got nan" in err
    assert not out.exists()


def test_a_manifest_edited_to_nonsense_is_refused_naming_the_key(compiled, capsys):
    path = compiled / "manifest.json"
    good = json.loads(path.read_text())

    def edited(change):
        manifest = json.loads(json.dumps(good))
        change(manifest)
        path.write_text(json.dumps(manifest))
        code, _, err = call(["sim", compiled, "--steps", 1, "--quiet"], capsys)
        assert code == 1 and "Warning" not in err
        return err

    def tensor(key, value):
        return lambda m: m["tensors"][0].__setitem__(key, value)

    damaged = f"{path}: error: a damaged manifest: "
    assert edited(lambda m: m.pop("pipeline")) == damaged + "no key 'pipeline'\n"
    assert edited(lambda m: m.update(pipeline=5)) == (
        damaged + "'pipeline' is 5, expected a pipeline\n"
    )
    assert edited(lambda m: m.update(seed="x")) == (
        damaged + "'seed' is \"x\", expected null or 0 to 2^64-1\n"
    )
    assert edited(tensor("shape", [0])) == (
        damaged + "'tensors[0].shape' is [0], expected a list of sizes\n"
    )
    assert edited(tensor("address", -1)).startswith(damaged + "'tensors[0].address' is -1")
    assert edited(lambda m: m.update(dram_words=3)).startswith(
        damaged + "'tensors[0].address': the tensor W0 (words 0 to 8) lies outside the "
        "program's 3 DRAM words"
    )
    assert edited(lambda m: m.update(const_base=2**40)).startswith(damaged + "'const_base'")
    assert "more than the hardware has" in edited(lambda m: m.update(dram_words=2**40))
    assert edited(lambda m: m.update(pipeline="nope")).startswith(
        f"{path}: error: the program was not compiled with the pipeline 'nope'"
    )
    mismatch = f"{path}: error: the program's tensors do not match its problem"
    assert edited(tensor("kind", "loss")).startswith(mismatch)
    assert edited(tensor("key", "x")).startswith(mismatch)
    assert edited(tensor("shape", [8])).startswith(mismatch)
    # a constant pool that makes the step divide by zero (Stein's sigma, 0.1, set to 0: the
    # Laplacian divides by sigma squared): a trap, no NumPy warnings
    assert edited(lambda m: m["constants"].__setitem__(m["constants"].index(0.1), 0)).startswith(
        "pintac sim: error: PINTA trap"
    )


def test_a_problem_or_dram_image_that_is_not_the_programs(compiled, capsys):
    problem = compiled / "problem.mlir"
    problem.write_text(tiny_text(8))  # a wider network
    code, _, err = call(["sim", compiled, "--steps", 1], capsys)
    assert code == 1 and err.startswith(
        f"{problem}: error: not the problem the program was compiled from"
    )
    problem.write_bytes(b"pinn.problem @p {\xff")
    code, _, err = call(["sim", compiled, "--steps", 1], capsys)
    assert code == 1 and f"{problem}:1:18: error: " in err and "not UTF-8 text" in err
    image = compiled / "dram.img"
    image.write_bytes(image.read_bytes() + b"\0\0\0")
    code, _, err = call(["sim", compiled, "--steps", 1], capsys)
    assert code == 1 and f"{image}: error: " in err and "not whole 4-byte words" in err


def test_sim_writes_a_trace_into_a_new_directory(compiled, tmp_path, capsys):
    trace = tmp_path / "new" / "deeper" / "trace.json"
    code, _, _ = call(["sim", compiled, "--steps", 1, "--quiet", "--trace", trace], capsys)
    assert code == 0 and "traceEvents" in json.loads(trace.read_text())


def test_empty_paths_name_what_is_missing(compiled, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = call(["sim", ""], capsys)
    assert code == 1 and err == (
        "pintac sim: error: no program directory given (the path is empty)\n"
    )
    code, _, err = call(["asm", ""], capsys)
    assert code == 1 and err == "pintac asm: error: the path of the input is empty\n"
    code, _, err = call(["asm", "/"], capsys)  # no file to name the default output after
    assert code == 1 and err == "/: error: is a directory, not an input file\n"
    code, _, err = call(["disasm", compiled / "program.bin", "-o", ""], capsys)
    assert code == 1 and err == "pintac disasm: error: the path of the output is empty\n"
