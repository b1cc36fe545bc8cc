"""Training checkpoints: named arrays plus JSON metadata in one `.npz`, written atomically.

Format (version 1): an uncompressed NumPy `.npz` (a zip of `.npy` files) holding one entry per
array, plus the entry `__pintac_meta__`: a uint8 array of UTF-8 JSON
`{"format": "pintac-checkpoint", "version": 1, "meta": {...}}`. Array names must not start
with `__` (reserved). Arrays are stored bit for bit (no pickling: object arrays are refused).

Writing goes to a temporary file in the same directory, which is flushed, fsync'ed and then
renamed over the destination with `os.replace` (atomic on POSIX and Windows); the directory is
fsync'ed afterwards where the platform allows. A crash at any point leaves either the old
checkpoint or the new one, never a half-written file (at worst a stray `.*.tmp` file).

Every problem reading a checkpoint is a `UserError` `"{path}: error: ..."`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from pintac.runtime.errors import UserError

FORMAT = "pintac-checkpoint"
VERSION = 1
META_KEY = "__pintac_meta__"


def _json_default(value: Any):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"checkpoint metadata: {type(value).__name__} is not JSON-serializable")


def save_checkpoint(path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write `arrays` and `meta` (JSON-serializable) to `path` atomically."""
    path = Path(path)
    if not isinstance(meta, dict):
        raise TypeError(f"checkpoint metadata must be a dict, got {type(meta).__name__}")
    payload: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name.startswith("__"):
            raise ValueError(f"checkpoint array name {name!r} is empty or reserved")
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise TypeError(f"checkpoint array {name!r} has dtype object; store numbers only")
        payload[name] = arr
    text = json.dumps(
        {"format": FORMAT, "version": VERSION, "meta": meta}, default=_json_default, sort_keys=True
    )
    payload[META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)

    directory = path.parent
    try:
        tmp, fd = _create_temp(directory, path.name)
    except OSError as e:
        raise _write_error(path, e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError):  # disk full, destination is a directory, ...
            raise _write_error(path, e) from None
        raise
    _fsync_directory(directory)


def _write_error(path: Path, e: OSError) -> UserError:
    reason = e.strerror or str(e)
    if isinstance(e, FileNotFoundError):
        reason = f"directory {str(path.parent)!r} does not exist"
    return UserError(f"{path}: error: cannot write the checkpoint: {reason}")


def _create_temp(directory: Path, name: str) -> tuple[Path, int]:
    """A new file next to the destination (mode 0666 minus the umask, like a normal file)."""
    while True:
        tmp = directory / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
            )
        except FileExistsError:
            continue
        return tmp, fd


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(path) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays (in the order they were saved) and the metadata of a checkpoint."""
    shown = str(path)

    def fail(message: str) -> UserError:
        return UserError(f"{shown}: error: {message}")

    try:
        with open(path, "rb") as f:
            head = f.read(4)
            f.seek(0, os.SEEK_END)
            size = f.tell()
    except FileNotFoundError:
        raise fail("no such checkpoint file") from None
    except IsADirectoryError:
        raise fail("is a directory, not a checkpoint file") from None
    except PermissionError:
        raise fail("permission denied") from None
    except OSError as e:
        raise fail(f"cannot read the checkpoint: {e.strerror or e}") from None
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
    except (ValueError, UnicodeDecodeError) as e:
        raise fail(f"the checkpoint metadata is corrupt ({_reason(e)})") from None
    if header.get("format") != FORMAT:
        raise fail(f"not a pintac checkpoint (format {header.get('format')!r})")
    version = header.get("version")
    if version != VERSION:
        raise fail(
            f"checkpoint format version {version!r} is not supported "
            f"(this pintac reads version {VERSION})"
        )
    meta = header.get("meta")
    if not isinstance(meta, dict):
        raise fail("the checkpoint metadata has no 'meta' object")
    return arrays, meta


def _reason(e: BaseException) -> str:
    if isinstance(e, zipfile.BadZipFile) and "not a zip file" in str(e):
        return "the zip directory at its end is missing or damaged"
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
