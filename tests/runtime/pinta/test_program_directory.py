"""A program directory (`pintac compile` for PINTA) is checked whole before it runs, and is
written whole or not at all."""

import hashlib
import json
import os
import shutil
import time

import pytest
from deadline import no_hang
from pinta_helpers import ROOT

import pintac.api as pt
from pintac.core.errors import UserError
from pintac.runtime.pinta import isa
from pintac.runtime.pinta import target as pinta_target
from pintac.runtime.pinta.config import load_config
from pintac.runtime.pinta.program import Program, read_program, write_program
from pintac.runtime.pinta.target import HardwareOptions, ProgramDirectory

SMALL = ROOT / "examples" / "poisson2d_small.mlir"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """poisson2d_small compiled for PINTA with two pipelines (once for the module)."""
    problem = pt.load(SMALL)
    out = {}
    for pipeline in ("smx-diff", "fp32"):
        directory = tmp_path_factory.mktemp(pipeline) / "p.pinta"
        problem.compile(pipeline, target="pinta").write(str(directory))
        out[pipeline] = directory
    return out


@pytest.fixture
def directory(compiled, tmp_path):
    """A copy of the smx-diff program directory, to damage."""
    copy = tmp_path / "p.pinta"
    shutil.copytree(compiled["smx-diff"], copy, symlinks=True)
    return copy


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_of(directory) -> dict:
    return json.loads((directory / "manifest.json").read_text())


def edit_manifest(directory, change) -> None:
    manifest = manifest_of(directory)
    change(manifest)
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))


def reseal(directory) -> None:
    """Record the directory's files in its manifest as they now are (as a user who edits the
    manifest by hand to match would), so that the checks behind the hashes are reached."""
    program = read_program(directory / "program.bin")

    def change(m):
        m["instructions"] = len(program)
        m["program_sha256"] = sha256(directory / "program.bin")
        m["dram_image_bytes"] = (directory / "dram.img").stat().st_size
        m["dram_image_sha256"] = sha256(directory / "dram.img")
        m["problem_sha256"] = sha256(directory / "problem.mlir")
        m["identity"] = hashlib.sha256(
            f"{m['pipeline']}\n".encode() + (directory / "problem.mlir").read_bytes()
        ).hexdigest()

    edit_manifest(directory, change)


def refused(directory, pattern: str) -> str:
    start = time.perf_counter()
    with no_hang(), pytest.raises(UserError, match=pattern) as e:
        ProgramDirectory.read(directory)
    assert time.perf_counter() - start < 5
    return str(e.value)


# ------------------------------------------------------------------------------ the manifest


def test_the_manifest_records_the_program_the_image_and_the_problem(directory):
    manifest = manifest_of(directory)
    assert manifest["version"] == 2
    assert manifest["program_sha256"] == sha256(directory / "program.bin")
    assert manifest["instructions"] == len(read_program(directory / "program.bin"))
    assert manifest["dram_image_bytes"] == (directory / "dram.img").stat().st_size
    assert manifest["dram_image_sha256"] == sha256(directory / "dram.img")
    assert manifest["problem_sha256"] == sha256(directory / "problem.mlir")
    identity = hashlib.sha256(b"smx-diff\n" + (directory / "problem.mlir").read_bytes())
    assert manifest["identity"] == identity.hexdigest()
    d = ProgramDirectory.read(directory)
    assert len(d.step.instructions) == manifest["instructions"]
    reseal(directory)  # the test's reseal agrees with what pintac records
    assert manifest_of(directory) == manifest


def test_an_older_manifest_asks_to_compile_again(directory):
    edit_manifest(directory, lambda m: m.update(version=1))
    refused(directory, "manifest.json: error: manifest version 1; this pintac reads version 2 ")


@pytest.mark.parametrize(
    "number, shown",
    [
        ("1" + "0" * 400, "10000000000"),
        ("1e400", "Infinity"),
        ("-1e400", "-Infinity"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
    ],
    ids=["10**400", "1e400", "-1e400", "NaN", "Infinity"],
)
def test_numbers_beyond_float32_or_not_finite_are_refused(directory, number, shown):
    path = directory / "manifest.json"
    text = path.read_text()
    manifest = json.loads(text)
    start = text.index('"constants": [') + len('"constants": [')
    first = json.dumps(manifest["constants"][0])
    at = text.index(first, start)
    path.write_text(text[:at] + number + text[at + len(first) :])
    message = refused(directory, f"^{path}: error: a damaged manifest: 'constants\\[0\\]' is ")
    assert shown in message and message.endswith("expected a finite number")


@pytest.mark.parametrize("name", ["manifest.json", "hardware.toml"])
def test_deep_nesting_is_a_located_error(directory, name):
    path = directory / name
    if name == "manifest.json":
        path.write_text('{"format": "pintac-pinta-program",\n"seed": ' + "[" * 100_000)
    else:
        path.write_text("[gemm]\npes = " + "[" * 100_000 + "]" * 100_000 + "\n")
    refused(directory, f"^{path}:2:[0-9]+: error: nests more than 32 levels deep$")


def test_tensors_given_one_address_are_refused_naming_both(directory):
    edit_manifest(directory, lambda m: m["tensors"][3].update(address=40))
    refused(
        directory,
        "manifest.json: error: a damaged manifest: 'tensors\\[3\\].address': b1 \\(DRAM words "
        "\\[40, 56\\)\\) overlaps b0 \\(DRAM words \\[32, 48\\)\\)$",
    )


def test_a_tensor_in_the_constant_pool_is_refused(directory):
    manifest = manifest_of(directory)
    base = manifest["const_base"]
    edit_manifest(directory, lambda m: m["tensors"][-1].update(address=base + 1))
    refused(
        directory,
        f"'tensors\\[22\\].address': loss_bc \\(DRAM word {base + 1}\\) overlaps the constant "
        f"pool \\(DRAM words \\[{base}, {base + 2 * len(manifest['constants'])}\\)\\)$",
    )


def test_the_manifest_is_read_only_from_a_regular_file(directory):
    path = directory / "manifest.json"
    path.unlink()
    os.mkfifo(path)
    refused(directory, f"^{path}: error: the manifest is a FIFO")


# ------------------------------------------------------------------------------- the program


def test_a_program_of_another_pipeline_is_refused(compiled, directory):
    fp32 = compiled["fp32"] / "program.bin"
    shutil.copy(fp32, directory / "program.bin")
    ours, theirs = manifest_of(directory)["instructions"], len(read_program(fp32))
    assert ours != theirs
    refused(
        directory,
        f"^{directory / 'program.bin'}: error: the program has {theirs} instructions; the "
        f"manifest says {ours}$",
    )


def test_a_program_of_the_same_length_with_other_instructions_is_refused(directory):
    path = directory / "program.bin"
    words = read_program(path).words
    words[0], words[1] = words[1], words[0]
    write_program(path, words)
    refused(
        directory,
        f"^{path}: error: not the program of this directory: its SHA-256 differs from the "
        "manifest's 'program_sha256'",
    )


def test_a_program_that_never_writes_a_parameter_is_refused(directory):
    write_program(directory / "program.bin", [isa.HALT()])
    reseal(directory)
    refused(
        directory,
        f"^{directory / 'program.bin'}: error: no instruction writes param W0 \\(DRAM words "
        "\\[0, 32\\)\\): the program cannot train it$",
    )


def test_a_program_that_never_writes_a_loss_is_refused(directory):
    path = directory / "program.bin"
    instructions = read_program(path).instructions()
    home = next(t for t in manifest_of(directory)["tensors"] if t["name"] == "loss_pde")
    config = load_config()

    def writes_loss(ins):
        return any(
            a.memory == "dram" and a.write and a.start <= home["address"] < a.start + a.extent
            for a in ins.spec.accesses(ins, config)
        )

    stores = [pc for pc, ins in enumerate(instructions) if writes_loss(ins)]
    assert stores
    for pc in stores:
        instructions[pc] = isa.NOP()
    write_program(path, Program.of(instructions))
    reseal(directory)
    refused(
        directory,
        f"error: no instruction writes loss pde \\(DRAM word {home['address']}\\): the program "
        "cannot report it$",
    )


def test_a_program_file_that_is_a_device_is_refused(directory):
    path = directory / "program.bin"
    path.unlink()
    path.symlink_to("/dev/zero")
    refused(directory, f"^{path}: error: the program is a character device, not a regular file")


# ------------------------------------------------------------------------- the problem


def test_the_pipeline_edited_in_the_manifest_is_refused(directory):
    edit_manifest(directory, lambda m: m.update(pipeline="fp32"))
    refused(
        directory,
        "manifest.json: error: the program was not compiled with the pipeline 'fp32' of the "
        "manifest \\(its 'identity' differs\\); compile the problem again$",
    )


def test_a_learning_rate_edited_in_the_problem_is_refused(directory):
    path = directory / "problem.mlir"
    text = path.read_text()
    assert "lr = 0.001," in text
    path.write_text(text.replace("lr = 0.001,", "lr = 0.5,"))
    refused(
        directory,
        f"^{path}: error: not the problem the program was compiled from: its SHA-256 differs "
        "from the manifest's 'problem_sha256'; compile the problem again$",
    )


# ------------------------------------------------------------------------- the DRAM image


def test_a_dram_image_that_is_a_fifo_or_a_device_is_refused_unread(directory):
    image = directory / "dram.img"
    image.unlink()
    os.mkfifo(image)
    refused(directory, f"^{image}: error: the DRAM image is a FIFO")
    image.unlink()
    image.symlink_to("/dev/zero")
    refused(directory, f"^{image}: error: the DRAM image is a character device")


def test_a_huge_sparse_dram_image_is_refused_from_its_size(directory):
    image = directory / "dram.img"
    expected = image.stat().st_size
    with open(image, "r+b") as f:
        f.truncate(4 << 30)
    refused(
        directory,
        f"^{image}: error: the DRAM image is 4294967296 bytes; the manifest says {expected}$",
    )


def test_a_dram_image_with_other_contents_is_refused(directory):
    image = directory / "dram.img"
    data = bytearray(image.read_bytes())
    data[:4] = b"\0\0\x80\x7f"  # W0[0, 0] = inf
    image.write_bytes(bytes(data))
    refused(
        directory,
        f"^{image}: error: not the DRAM image of this directory: its SHA-256 differs from the "
        "manifest's 'dram_image_sha256'",
    )


def test_another_hardware_file_can_be_given(directory, tmp_path):
    hw = tmp_path / "hw.toml"
    hw.write_text("[dram]\nbytes_per_cycle = 64\n")
    d = ProgramDirectory.read(directory, ("gemm.pes=8",), hardware=hw)
    assert d.config.dram.bytes_per_cycle == 64 and d.config.gemm.pes == 8
    os.mkfifo(tmp_path / "fifo.toml")
    with no_hang(), pytest.raises(UserError, match="hardware configuration is a FIFO"):
        ProgramDirectory.read(directory, hardware=tmp_path / "fifo.toml")


# ------------------------------------------------------------------------------- writing


def test_a_program_the_hardware_cannot_hold_leaves_nothing_behind(tmp_path):
    output = tmp_path / "p.pinta"
    program = pt.load(SMALL).compile("fp32", target="pinta")
    # the hardware the program is written for is smaller than the one it was lowered for
    program.executable.config = HardwareOptions(overrides=("memory.dram_bytes=4",)).load()
    with pytest.raises(UserError, match="^--hw-set memory.dram_bytes=4: error: the program's "):
        program.write(str(output))
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_preparing_the_files_creates_no_directory(tmp_path, monkeypatch):
    program = pt.load(SMALL).compile("fp32", target="pinta")

    def fail(config=None):
        raise UserError("error: no configuration today")

    monkeypatch.setattr(pinta_target, "config_toml", fail)
    with pytest.raises(UserError, match="no configuration today"):
        program.write(str(tmp_path / "new" / "p.pinta"))
    assert list(tmp_path.iterdir()) == []


def test_writing_over_a_directory_replaces_links_instead_of_following_them(compiled, tmp_path):
    directory = tmp_path / "p.pinta"
    shutil.copytree(compiled["fp32"], directory)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (directory / "program.pasm").unlink()
    (directory / "program.pasm").symlink_to(victim)
    pt.load(SMALL).compile("smx-diff", target="pinta").write(str(directory))
    assert victim.read_text() == "keep me"
    assert not (directory / "program.pasm").is_symlink()
    assert ProgramDirectory.read(directory).manifest["pipeline"] == "smx-diff"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.pinta", "victim.txt"]
