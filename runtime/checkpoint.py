"""Training checkpoints: named arrays plus JSON metadata in one `.npz`, written atomically.

Format (version 2): an uncompressed NumPy `.npz` (a zip of `.npy` files) holding one entry per
array, plus the entry `__pintac_meta__`: a uint8 array of UTF-8 JSON

    {"format": "pintac-checkpoint", "version": 2,
     "tensors": [{"name": "W0", "shape": [2, 16], "dtype": "float32"}, ...],
     "meta": {...}}

`tensors` lists every array in the order saved; reading checks each entry against it, so a
file whose arrays were edited, removed or added behind pintac's back is refused. `meta` is the
caller's (the Python API keeps the problem's identity, the pipeline, the step, the RNG position
and the loss history there; see `pintac.api`). Array names must not start with `__`
(reserved). Arrays are stored bit for bit (no pickling: object arrays are refused). Version 1
files (without `tensors`) are refused with a message saying they come from an older pintac.

Writing goes through `pintac.runtime.files.atomic_write`: a temporary file in the same
directory, flushed, fsync'ed and renamed over the destination. A crash or Ctrl-C at any point
leaves either the old checkpoint or the new one, never a half-written file, and no temporary
file. Missing directories are created.

Every problem reading or writing a checkpoint is a `UserError` `"{path}: error: ..."`.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from pintac.core.errors import UserError
from pintac.runtime.files import atomic_write
from pintac.runtime.inputs import input_size

FORMAT = "pintac-checkpoint"
VERSION = 2
META_KEY = "__pintac_meta__"


def _json_default(value: Any):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"checkpoint metadata: {type(value).__name__} is not JSON-serializable")


def describe_array(shape, dtype) -> str:
    """`2x16 float32`, `scalar int64`."""
    dims = "x".join(str(int(d)) for d in shape) if len(shape) else "scalar"
    return f"{dims} {np.dtype(dtype).name}"


def save_checkpoint(path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write `arrays` and `meta` (JSON-serializable; key order is kept) to `path` atomically."""
    path = Path(path)
    if not isinstance(meta, dict):
        raise TypeError(f"checkpoint metadata must be a dict, got {type(meta).__name__}")
    payload: dict[str, np.ndarray] = {}
    tensors = []
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name.startswith("__"):
            raise ValueError(f"checkpoint array name {name!r} is empty or reserved")
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise TypeError(f"checkpoint array {name!r} has dtype object; store numbers only")
        payload[name] = arr
        tensors.append({"name": name, "shape": list(arr.shape), "dtype": arr.dtype.str})
    header = {"format": FORMAT, "version": VERSION, "tensors": tensors, "meta": meta}
    text = json.dumps(header, default=_json_default)
    payload[META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda stream: np.savez(stream, **payload), "checkpoint")


def load_checkpoint(path) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays (in the order they were saved) and the metadata of a checkpoint."""
    shown = str(path)

    def fail(message: str) -> UserError:
        return UserError(f"{shown}: error: {message}")

    if not os.path.lexists(path):
        raise fail("no such checkpoint file")
    size = input_size(path, "the checkpoint")  # a regular file: a FIFO would block the read
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise fail(f"cannot read the checkpoint: {(e.strerror or str(e)).lower()}") from None
    if size == 0:
        raise fail("the checkpoint file is empty")
    if head[:2] != b"PK":
        raise fail("not a checkpoint: the file is not an .npz (zip) archive")

    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            for name in names:
                value = npz[name]
                if not isinstance(value, np.ndarray):
                    raise fail(f"entry '{name}' is not a NumPy array: not a checkpoint")
                arrays[name] = value
    except (zipfile.BadZipFile, EOFError, zlib.error, KeyError, ValueError, OSError) as e:
        raise fail(f"the checkpoint is truncated or corrupt ({_reason(e)})") from None
    except MemoryError:
        raise fail(
            "the checkpoint is corrupt (an entry claims more memory than there is)"
        ) from None

    raw = arrays.pop(META_KEY, None)
    if raw is None:
        raise fail(
            f"no pintac metadata ('{META_KEY}'): the .npz was not written by pintac's "
            "save_checkpoint"
        )
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError("not a byte string")
        header = json.loads(raw.tobytes().decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise fail(f"the checkpoint metadata is corrupt ({_reason(e)})") from None
    if header.get("format") != FORMAT:
        raise fail(f"not a pintac checkpoint (format {header.get('format')!r})")
    version = header.get("version")
    if version != VERSION:
        older = (
            ": it was written by an older pintac; start the run again (pintac run --overwrite)"
            if isinstance(version, int) and not isinstance(version, bool) and version < VERSION
            else ""
        )
        raise fail(
            f"checkpoint format version {version!r} is not supported "
            f"(this pintac reads version {VERSION}){older}"
        )
    meta = header.get("meta")
    if not isinstance(meta, dict):
        raise fail("the checkpoint metadata has no 'meta' object")
    _check_manifest(header.get("tensors"), arrays, fail)
    return arrays, meta


def _check_manifest(tensors, arrays: dict[str, np.ndarray], fail) -> None:
    """The arrays are exactly those the header lists, with their shapes and dtypes."""
    try:
        listed = {
            t["name"]: (tuple(int(d) for d in t["shape"]), np.dtype(t["dtype"])) for t in tensors
        }
        if len(listed) != len(tensors) or not all(isinstance(n, str) for n in listed):
            raise ValueError
    except (TypeError, KeyError, ValueError):
        raise fail("the checkpoint header has no valid tensor list: the file is damaged") from None
    for name, (shape, dtype) in listed.items():
        if name not in arrays:
            raise fail(f"the array '{name}' is missing: the file was edited or damaged")
        arr = arrays[name]
        if arr.shape != shape or arr.dtype != dtype:
            raise fail(
                f"the array '{name}' is a {describe_array(arr.shape, arr.dtype)} array, but the "
                f"checkpoint's header says {describe_array(shape, dtype)}: the file was edited "
                "or damaged"
            )
    extra = [name for name in arrays if name not in listed]
    if extra:
        raise fail(
            f"the array '{extra[0]}' is not in the checkpoint's header: the file was edited "
            "or damaged"
        )


def _reason(e: BaseException) -> str:
    if isinstance(e, zipfile.BadZipFile) and "not a zip file" in str(e):
        return "the zip directory at its end is missing or damaged"
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
