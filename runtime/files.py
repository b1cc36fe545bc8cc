"""Writing output files atomically: a failed or interrupted write never damages what was there.

Every file pintac writes (IR, generated code, reports, checkpoints, reproducers, plots) goes
through `atomic_write`: the bytes go to a temporary file in the destination's directory, which
is flushed, fsync'ed, given the permissions a plain `open()` would give (0666 less the umask)
and renamed over the destination. On any failure — an error, a full disk, Ctrl-C — the
temporary file is removed and the destination is as it was. Missing parent directories are
created. A destination that is a symbolic link is replaced by the new file, never written
through: the file the link pointed to is left as it was. A destination that is (or links
to) a device or a pipe (`/dev/null`, `/dev/stdout`) is written in place: it cannot be
replaced.

`refuse_overwriting_inputs` is called by every command before it writes: an output that is,
or resolves to, one of the command's inputs is an error, so no command can destroy what it
was given.

`check_writable` and `check_directory` find out up front, without writing anything, whether an
output can be written, so that a long run does not discover at its end that its report cannot
be saved.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from pintac.runtime.errors import UserError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _reason(e: OSError, directory: Path | None = None) -> str:
    """Why an OSError happened, in words that name the culprit."""
    if e.errno == errno.ENOENT and directory is not None and directory.is_dir():
        return f"cannot create files in {directory}"
    if e.errno == errno.EROFS:
        return "the file system is read-only"
    if e.errno == errno.ENOSPC:
        return "no space left on the device"
    if e.errno in (errno.EACCES, errno.EPERM):
        where = f" in {directory}" if directory is not None else ""
        return f"permission denied{where}"
    return (e.strerror or str(e)).lower() if e.strerror else str(e)


def _existing_ancestor(path: Path) -> Path:
    """The nearest ancestor of `path` (or `path` itself) that exists, not following a missing
    component further than needed."""
    current = path
    while not os.path.lexists(current):
        parent = current.parent
        if parent == current:
            break
        current = parent
    return current


def _problem_with_directory(directory: Path) -> str | None:
    """Why files cannot be created in `directory` (created if missing), or None if they can.

    Nothing is left behind: a probe file is created and removed at once; directories that
    would have to be created are not created (their nearest existing ancestor is probed).
    """
    directory = Path(directory)
    base = _existing_ancestor(directory)
    if not base.is_dir():
        return f"{base} is not a directory"
    try:
        fd, probe = tempfile.mkstemp(dir=base, prefix=".pintac-probe-", suffix=".tmp")
    except OSError as e:
        return _reason(e, base)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None


def check_writable(path: str | Path, what: str = "output") -> None:
    """Raise a UserError naming `path` if the file `path` cannot be written (see the module
    doc). Writes nothing."""
    if str(path) == "":  # before Path(), which reads "" as "."
        raise UserError(f"error: the path of the {what} is empty")
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: error: cannot write the {what}: it is a directory")
    if path.exists() and not path.is_file():
        if not os.access(path, os.W_OK):
            raise UserError(f"{path}: error: cannot write the {what}: permission denied")
        return  # a device or a pipe: written in place
    problem = _problem_with_directory(path.parent)
    if problem is not None:
        raise UserError(f"{path}: error: cannot write the {what}: {problem}")


def check_directory(directory: str | Path, what: str = "output") -> None:
    """Raise a UserError if files for `what` cannot be created in `directory` (created if
    missing). Writes nothing."""
    if str(directory) == "":  # before Path(), which reads "" as "."
        raise UserError(f"error: the directory for the {what} is empty")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise UserError(f"{directory}: error: cannot write the {what}: it is not a directory")
    problem = _problem_with_directory(directory)
    if problem is not None:
        raise UserError(f"{directory}: error: cannot write the {what}: {problem}")


def _make_parents(path: Path, what: str) -> None:
    directory = path.parent
    if directory.is_dir():
        return
    base = _existing_ancestor(directory)
    if not base.is_dir():
        raise UserError(f"{path}: error: cannot write the {what}: {base} is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(
            f"{path}: error: cannot write the {what}: cannot create the directory "
            f"{directory}: {_reason(e, base)}"
        ) from None


def _special(path: Path) -> bool:
    """A device, a pipe or a socket: something to write into, not to replace."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def atomic_write(path: Path, fill: Callable[[BinaryIO], None], what: str = "output") -> None:
    """Create or replace `path` with what `fill(stream)` writes, atomically.

    Raises a UserError naming the path and what it is for when it cannot be written.
    """
    path = Path(path)
    if str(path) == "":
        raise UserError(f"error: the path of the {what} is empty")
    if path.is_dir():
        raise UserError(f"{path}: error: cannot write the {what}: it is a directory")
    if _special(path):
        _write_in_place(path, fill, what)
        return
    _make_parents(path, what)
    tmp = None
    try:
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as e:
            raise UserError(
                f"{path}: error: cannot write the {what}: {_reason(e, path.parent)}"
            ) from None
        with os.fdopen(fd, "wb") as stream:
            fill(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise UserError(
            f"{path}: error: cannot write the {what}: {_reason(e, path.parent)}"
        ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _fsync_directory(path.parent)


def _write_in_place(path: Path, fill: Callable[[BinaryIO], None], what: str) -> None:
    try:
        with open(path, "wb") as stream:
            fill(stream)
    except OSError as e:
        raise UserError(f"{path}: error: cannot write the {what}: {_reason(e)}") from None


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable where the platform allows (POSIX)."""
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_text(path: Path, text: str, what: str = "output") -> None:
    atomic_write(path, lambda stream: stream.write(text.encode("utf-8")), what)


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether paths `a` and `b` name one file (after symbolic links; hard links too)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they would resolve
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_overwriting_inputs(
    outputs: Iterable[tuple[str | Path, str]], inputs: Iterable[str | Path], command: str
) -> None:
    """A UserError if an output (a path and what it is for) is, or resolves to, an input.

    `command` is the prefix of the message (`pintac asm`). Standard streams (`-`, None) and
    devices or pipes (written in place, never replaced) are not files a command can destroy.
    """
    sources = [Path(i) for i in inputs if i not in (None, "", "-")]
    for output, what in outputs:
        if output in (None, "", "-") or _special(Path(output)):
            continue
        for source in sources:
            if same_file(output, source):
                raise UserError(
                    f"{command}: error: the {what} {output} would overwrite the input "
                    f"{source}; give another output path"
                )
