"""Writing output files atomically: a failed or interrupted write never damages what was there.

Every file pintac writes (IR, generated code, reports, checkpoints) goes through
`atomic_write`: the bytes go to a temporary file in the destination's directory, which is
flushed, fsync'ed, given the permissions a plain `open()` would give (0666 less the umask)
and renamed over the destination. On any failure the temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from pintac.runtime.errors import UserError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, fill: Callable[[BinaryIO], None], what: str = "output") -> None:
    """Create or replace `path` with what `fill(stream)` writes, atomically.

    Raises a UserError naming the path and what it is for when it cannot be written.
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: error: cannot write the {what}: it is a directory")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as stream:
            fill(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise UserError(f"{path}: error: cannot write the {what}: {e.strerror}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    with contextlib.suppress(OSError):  # make the rename itself durable where possible
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_text(path: Path, text: str, what: str = "output") -> None:
    atomic_write(path, lambda stream: stream.write(text.encode("utf-8")), what)
