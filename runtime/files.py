"""Writing output files atomically: a failed or interrupted write never damages what was there.

Every file pintac writes (IR, generated code, reports, checkpoints, reproducers, plots) goes
through `atomic_write` (one file) or `atomic_write_all` (the files of one command, all or
none): the bytes go to a temporary file in the destination's directory, which is flushed,
fsync'ed, given the permissions a plain `open()` would give (0666 less the umask) and renamed
over the destination. On any failure — an error, a full disk, Ctrl-C — the temporary files
and the directories made for them are removed and the destinations are as they were. A
destination that is a symbolic link is replaced by the new file, never written through: the
file the link pointed to is left as it was. A destination that is (or links to) a device or a
pipe (`/dev/null`, `/dev/stdout`) is written in place: it cannot be replaced; a pipe that no
process reads is an error rather than a wait forever.

`refuse_overwriting_inputs` is called by every command before it does any work: an output
that is, or resolves to, one of the command's inputs is an error, so no command can destroy
what it was given. `refuse_clashing_outputs` does the same for two outputs of one command.

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
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from pintac.core.errors import UserError


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


def _make_parents(path: Path, what: str) -> list[Path]:
    """Create the missing directories above `path`; return them, deepest first, so that a
    failed write can remove them again."""
    directory = path.parent
    missing: list[Path] = []
    current = directory
    while not os.path.lexists(current) and current.parent != current:
        missing.append(current)
        current = current.parent
    if not missing:
        if not directory.is_dir():
            raise UserError(
                f"{path}: error: cannot write the {what}: {directory} is not a directory"
            )
        return []
    if not current.is_dir():
        raise UserError(f"{path}: error: cannot write the {what}: {current} is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        _remove_directories(missing)
        raise UserError(
            f"{path}: error: cannot write the {what}: cannot create the directory "
            f"{directory}: {_reason(e, current)}"
        ) from None
    return missing


def _remove_directories(directories: Iterable[Path]) -> None:
    """Remove directories a failed write made (deepest first), if they are still empty."""
    for directory in directories:
        with contextlib.suppress(OSError):
            directory.rmdir()


def _special(path: Path) -> bool:
    """A device, a pipe or a socket: something to write into, not to replace."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


Fill = Callable[[BinaryIO], None]
Output = tuple[str | Path, Fill, str]  # a path, what writes its bytes, what it is for


def atomic_write(path: str | Path, fill: Fill, what: str = "output") -> None:
    """Create or replace `path` with what `fill(stream)` writes, atomically.

    Raises a UserError naming the path and what it is for when it cannot be written.
    """
    atomic_write_all([(path, fill, what)])


def atomic_write_all(outputs: Sequence[Output]) -> None:
    """Create or replace every `(path, fill, what)` of `outputs`, all or none.

    Each file is filled into its temporary file first; only when all are complete are they
    renamed over their destinations. On a failure the temporary files and the directories
    made for them are removed: every destination is as it was. (Devices and pipes are written
    in place as their turn comes.)
    """
    staged: list[tuple[Path, str, str]] = []  # destination, temporary file, what
    made: list[Path] = []
    complete = False
    try:
        for path, fill, what in outputs:
            path = _destination(path, what)
            if _special(path):
                _write_in_place(path, fill, what)
                continue
            made += _make_parents(path, what)
            staged.append((path, _stage(path, fill, what), what))
        for path, tmp, what in staged:
            try:
                os.replace(tmp, path)
            except OSError as e:
                raise UserError(
                    f"{path}: error: cannot write the {what}: {_reason(e, path.parent)}"
                ) from None
        complete = True
    finally:
        if not complete:
            for _, tmp, _ in staged:  # those not renamed yet
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            _remove_directories(made)
    for directory in {path.parent for path, _, _ in staged}:
        _fsync_directory(directory)


def _destination(path: str | Path, what: str) -> Path:
    if str(path) == "":  # before Path(), which reads "" as "."
        raise UserError(f"error: the path of the {what} is empty")
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: error: cannot write the {what}: it is a directory")
    return path


def _stage(path: Path, fill: Fill, what: str) -> str:
    """A complete temporary file next to `path` holding what `fill` writes; its name."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise UserError(
            f"{path}: error: cannot write the {what}: {_reason(e, path.parent)}"
        ) from None
    try:
        with os.fdopen(fd, "wb") as stream:
            fill(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise UserError(
                f"{path}: error: cannot write the {what}: {_reason(e, path.parent)}"
            ) from None
        raise
    return tmp


def _write_in_place(path: Path, fill: Fill, what: str) -> None:
    """Write into a device or a pipe. A pipe nobody reads is an error, not a wait forever."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as e:
        reason = "no process reads the pipe" if e.errno == errno.ENXIO else _reason(e)
        raise UserError(f"{path}: error: cannot write the {what}: {reason}") from None
    try:
        with os.fdopen(fd, "wb") as stream:
            os.set_blocking(fd, True)  # a reader is there: wait for it as for a file
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


def _replaceable(path: str | Path | None) -> bool:
    """Whether `path` names a file an output would replace: not a standard stream (`-`,
    None), nor a device or a pipe (written in place, never replaced)."""
    return path not in (None, "", "-") and not _special(Path(path))


def refuse_overwriting_inputs(
    outputs: Iterable[tuple[str | Path | None, str]],
    inputs: Iterable[str | Path | None],
    command: str,
) -> None:
    """A UserError if an output (a path and what it is for) is, or resolves to, an input.

    Any spelling counts: `./x`, `../d/x`, a symbolic or a hard link. `command` is the prefix
    of the message (`pintac asm`). Standard input (`-`) counts when it is redirected from a
    file. An input that does not exist is not compared: there is nothing to destroy, and
    reading it says what is wrong.
    """
    sources = [
        (name, path)
        for name, path in ((i, _stdin_as_file(i)) for i in inputs)
        if _replaceable(path) and os.path.exists(path)
    ]
    for output, what in outputs:
        if not _replaceable(output):
            continue
        for name, path in sources:
            if same_file(output, path):
                source = "standard input" if name == "-" else name
                raise UserError(
                    f"{command}: error: the {what} {output} would overwrite the input "
                    f"{source}; give another output path"
                )


def _stdin_as_file(path: str | Path | None) -> str | Path | None:
    """`-` as the file standard input is redirected from, where the platform names it."""
    return "/dev/stdin" if path == "-" and os.path.exists("/dev/stdin") else path


def refuse_clashing_outputs(outputs: Sequence[tuple[str | Path | None, str]], command: str) -> None:
    """A UserError if two outputs (a path and what it is for) of one command are one file."""
    named = [(path, what) for path, what in outputs if _replaceable(path)]
    for i, (first, first_what) in enumerate(named):
        for second, second_what in named[i + 1 :]:
            if same_file(first, second):
                raise UserError(
                    f"{command}: error: the {second_what} {second} would overwrite the "
                    f"{first_what} {first}; give another output path"
                )
