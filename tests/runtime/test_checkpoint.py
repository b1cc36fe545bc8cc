"""Checkpoints: bit-exact round trips, atomic writes, and a clear error for every bad file."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from pintac.core.errors import UserError
from pintac.runtime import checkpoint
from pintac.runtime.checkpoint import load_checkpoint, save_checkpoint


def sample_arrays():
    r = np.random.default_rng(0)  # a local generator: test data only
    weird = np.array([np.nan, -0.0, np.inf, -np.inf, 1e-45, 3.4e38], dtype=np.float32)
    return {
        "W0": r.standard_normal((3, 5)).astype(np.float32),
        "b0": np.zeros(5, dtype=np.float32),
        "adam.m.W0": weird,
        "step": np.array(17, dtype=np.int64),
        "counts": np.arange(6, dtype=np.int32).reshape(2, 3),
        "flags": np.array([True, False]),
        "f64": np.array([np.pi], dtype=np.float64),
    }


META = {"step": 17, "seed": 3, "loss": 1.25e-3, "pipeline": "fp32", "batch": {"pde": 100}}


def test_round_trip_is_bit_exact(tmp_path):
    path = tmp_path / "ckpt.npz"
    arrays = sample_arrays()
    save_checkpoint(path, arrays, META)
    got, meta = load_checkpoint(path)
    assert meta == META
    assert list(got) == list(arrays)
    for name, value in arrays.items():
        assert got[name].dtype == value.dtype and got[name].shape == value.shape
        assert got[name].tobytes() == value.tobytes(), name


def test_meta_with_numpy_scalars_and_nan(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {}, {"loss": np.float32(0.5), "n": np.int64(3), "bad": float("nan")})
    arrays, meta = load_checkpoint(path)
    assert arrays == {} and meta["loss"] == 0.5 and meta["n"] == 3 and np.isnan(meta["bad"])


def test_overwrite_replaces_and_leaves_no_temporaries(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, {"a": np.ones(3, np.float32)}, {"step": 1})
    save_checkpoint(path, {"a": np.zeros(4, np.float32)}, {"step": 2})
    arrays, meta = load_checkpoint(path)
    assert meta == {"step": 2} and arrays["a"].shape == (4,)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]


def test_path_is_used_as_given(tmp_path):
    path = tmp_path / "run.ckpt"
    save_checkpoint(str(path), {"x": np.ones(1, np.float32)}, {})
    assert path.is_file() and not (tmp_path / "run.ckpt.npz").exists()
    assert load_checkpoint(str(path))[1] == {}


def test_a_crash_while_writing_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, {"a": np.ones(3, np.float32)}, {"step": 1})
    before = path.read_bytes()

    def crash(file, **payload):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of the write

    monkeypatch.setattr(checkpoint.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"a": np.zeros(3, np.float32)}, {"step": 2})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]


def test_the_file_is_complete_before_it_is_renamed(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    seen = {}
    real_replace = os.replace

    def spy(src, dst):
        seen["ok"] = load_checkpoint(src)[1] == {"step": 5}  # readable before the rename
        seen["fsynced"] = seen.get("fsync", False)
        real_replace(src, dst)

    real_fsync = os.fsync

    def fsync(fd):
        seen["fsync"] = True
        real_fsync(fd)

    monkeypatch.setattr(checkpoint.os, "replace", spy)
    monkeypatch.setattr(checkpoint.os, "fsync", fsync)
    save_checkpoint(path, {"a": np.ones(2, np.float32)}, {"step": 5})
    assert seen == {"ok": True, "fsync": True, "fsynced": True}


def test_the_file_has_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        save_checkpoint(tmp_path / "c.npz", {}, {})
    finally:
        os.umask(old)
    assert (tmp_path / "c.npz").stat().st_mode & 0o777 == 0o644


def test_reserved_and_object_arrays_are_refused(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        save_checkpoint(tmp_path / "c.npz", {"__pintac_meta__": np.zeros(1)}, {})
    with pytest.raises(TypeError, match="dtype object"):
        save_checkpoint(tmp_path / "c.npz", {"a": np.array([None])}, {})
    assert not list(tmp_path.iterdir())


def test_missing_directories_are_created(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "c.npz"
    save_checkpoint(path, {"a": np.ones(2, np.float32)}, {"step": 1})
    assert load_checkpoint(path)[1] == {"step": 1}


def test_unwritable_destinations_are_user_errors(tmp_path):
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(UserError, match=r"d.npz: error: cannot write the checkpoint: "):
        save_checkpoint(tmp_path / "d.npz", {}, {})
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match=r"c.npz: error: cannot write the checkpoint: .*f is not a"):
        save_checkpoint(tmp_path / "f" / "c.npz", {}, {})
    with pytest.raises(UserError) as info:
        save_checkpoint("/proc/c.npz", {}, {})
    assert "cannot write the checkpoint" in str(info.value)
    assert "does not exist" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz", "f"]  # no temporary left


def test_the_header_lists_every_array(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, sample_arrays(), META)
    with np.load(path) as npz:
        header = json.loads(npz["__pintac_meta__"].tobytes())
    tensors = {t["name"]: (tuple(t["shape"]), np.dtype(t["dtype"])) for t in header["tensors"]}
    assert tensors == {k: (v.shape, v.dtype) for k, v in sample_arrays().items()}


def test_an_array_that_contradicts_the_header_is_detected(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"W0": np.zeros((2, 3), np.float32)}, META)
    with np.load(path) as npz:
        entries = {k: npz[k] for k in npz.files}
    entries["W0"] = np.zeros((3, 3), np.float32)
    np.savez(path, **entries)
    expect_error(path, "'W0' is a 3x3 float32 array, but the checkpoint's header says 2x3 float32")
    entries.pop("W0")
    np.savez(path, **entries)
    expect_error(path, "'W0' is missing")


def test_metadata_keeps_the_order_of_its_keys(tmp_path):
    path = tmp_path / "c.npz"
    meta = {"step": 1, "loss": 2.0, "loss_pde": 1.0, "loss_bc": 0.5, "a": 0}
    save_checkpoint(path, {}, meta)
    assert list(load_checkpoint(path)[1]) == list(meta)


# ---------------------------------------------------------------- bad files


def expect_error(path, fragment):
    with pytest.raises(UserError) as info:
        load_checkpoint(path)
    text = str(info.value)
    assert text.startswith(f"{path}: error: "), text
    assert fragment in text, text
    return text


def test_missing_file(tmp_path):
    expect_error(tmp_path / "nope.npz", "no such checkpoint file")


def test_directory(tmp_path):
    expect_error(tmp_path, "is a directory")


def test_empty_file(tmp_path):
    path = tmp_path / "c.npz"
    path.write_bytes(b"")
    expect_error(path, "empty")


def test_random_bytes(tmp_path):
    path = tmp_path / "c.npz"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    expect_error(path, "not an .npz (zip) archive")


def test_a_plain_npy_file(tmp_path):
    path = tmp_path / "c.npz"
    np.save(path.open("wb"), np.zeros(3))
    expect_error(path, "not an .npz (zip) archive")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, 0.99])
def test_truncated(tmp_path, keep):
    path = tmp_path / "c.npz"
    save_checkpoint(path, sample_arrays(), META)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    expect_error(path, "truncated or corrupt")


def test_corrupted_array_data_is_detected(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, {"w": np.ones(1000, np.float32)}, META)
    data = bytearray(path.read_bytes())
    at = data.find(np.ones(8, np.float32).tobytes())
    data[at + 3] ^= 0xFF  # flip bits inside the array payload: the zip CRC catches it
    path.write_bytes(bytes(data))
    expect_error(path, "truncated or corrupt")


def test_valid_npz_without_meta(tmp_path):
    path = tmp_path / "c.npz"
    np.savez(path, W0=np.zeros((2, 2), np.float32))
    expect_error(path, "no pintac metadata")


def test_zip_that_is_not_an_npz(tmp_path):
    path = tmp_path / "c.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    expect_error(path, "not a NumPy array")


def write_header(path, header: bytes):
    np.savez(path, a=np.ones(2), __pintac_meta__=np.frombuffer(header, dtype=np.uint8))


def test_wrong_version(tmp_path):
    path = tmp_path / "c.npz"
    write_header(
        path, json.dumps({"format": "pintac-checkpoint", "version": 99, "meta": {}}).encode()
    )
    expect_error(
        path, "checkpoint format version 99 is not supported (this pintac reads version 2)"
    )


def test_version_1_is_refused_as_written_by_an_older_pintac(tmp_path):
    path = tmp_path / "c.npz"
    write_header(
        path, json.dumps({"format": "pintac-checkpoint", "version": 1, "meta": {}}).encode()
    )
    expect_error(path, "version 1 is not supported (this pintac reads version 2): it was written")


def test_wrong_format(tmp_path):
    path = tmp_path / "c.npz"
    write_header(path, json.dumps({"format": "other", "version": 1, "meta": {}}).encode())
    expect_error(path, "not a pintac checkpoint")


def test_corrupt_meta(tmp_path):
    path = tmp_path / "c.npz"
    write_header(path, b"{not json")
    expect_error(path, "metadata is corrupt")


def test_pickled_object_arrays_are_not_loaded(tmp_path):
    path = tmp_path / "c.npz"
    buf = io.BytesIO()
    np.savez(buf, a=np.array([{"x": 1}], dtype=object))
    path.write_bytes(buf.getvalue())
    expect_error(path, "truncated or corrupt")
