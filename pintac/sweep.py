"""`pintac sweep SPEC.toml`: run every point of a sweep, resumably, into one CSV.

Each point runs in a process of its own (`--jobs N` at a time), so a crash or a memory
blow-up ends that point only and its peak memory is its own. Rows are appended to
`results.csv` as points finish, each in one write, then flushed to disk: a sweep killed at any
moment leaves whole rows, and running the same command again runs only the points without a
row (a failed point has one, with its error; `--retry-failed` runs those again). The output
directory also keeps a copy of the spec; a directory holding another sweep's results is
refused rather than mixed. The format of a spec is in docs/sweep.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from pintac.cli_util import ArgumentParser, int_option
from pintac.core.errors import UserError
from pintac.sweep_points import result_columns, run_point
from pintac.sweep_spec import SweepSpec, load, point_id

RESULTS = "results.csv"
SPEC_COPY = "spec.toml"


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac sweep",
        description="Run every point of a sweep spec (a grid and/or random draws over "
        "pipelines, seeds and hardware keys) into one CSV; run it again to resume.",
        epilog="example: pintac sweep examples/sweep_small.toml --jobs 2 -o sweep_small/",
    )
    ap.add_argument("spec", help="the sweep spec (.toml; format in docs/sweep.md)")
    ap.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="directory of the results (default: SPEC's name with -results, here)",
    )
    ap.add_argument(
        "--jobs",
        type=int_option(1, 256),
        default=1,
        help="points run at once, each in its own process (default 1; with Ray, the CPUs "
        "of a local instance)",
    )
    ap.add_argument(
        "--retry-failed",
        action="store_true",
        help="also run again the points whose row holds an error (their rows are replaced)",
    )
    ap.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: processes on this machine (default); ray: tasks on a Ray cluster "
        "(pip install -e '.[ray]'), one CPU each",
    )
    ap.add_argument(
        "--address",
        metavar="ADDR",
        help="with --executor ray: the cluster to join (default: start a local instance of "
        "--jobs CPUs)",
    )
    return ap


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.address and args.executor != "ray":
        raise UserError("error: --address is for --executor ray")
    spec = load(args.spec)
    out = Path(args.output or f"{Path(args.spec).stem}-results")
    points = spec.points()
    columns = ["index", "point", *spec.swept, *result_columns(spec.run)]
    done = _prepare(out, spec, columns, args.retry_failed)
    todo = [(i, p) for i, p in enumerate(points) if point_id(p) not in done]
    on = f"{args.jobs} process(es)" if args.executor == "local" else "Ray"
    print(
        f"pintac sweep: {len(points)} points ({spec.run}), {len(points) - len(todo)} already "
        f"in {out / RESULTS}, {len(todo)} to run on {on}",
        file=sys.stderr,
    )
    if args.executor == "ray":
        from pintac.sweep_ray import execute
    else:
        execute = _execute_local
    finished = Finished(columns, out / RESULTS, len(todo))
    execute(spec, todo, finished, jobs=args.jobs, address=args.address)
    failed = finished.failed
    print(
        f"pintac sweep: done: {out / RESULTS}"
        + (f" ({failed} failed point(s): see their error column)" if failed else ""),
        file=sys.stderr,
    )
    return 0


def _prepare(out: Path, spec: SweepSpec, columns: list[str], retry_failed: bool) -> set[str]:
    """The output directory made or checked; the ids of the points it already holds (with
    `retry_failed`, the failed points' rows are dropped first)."""
    spec_text = spec.path.read_text(encoding="utf-8")
    results = out / RESULTS
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: error: not a directory")
    if not results.exists():
        out.mkdir(parents=True, exist_ok=True)
        (out / SPEC_COPY).write_text(spec_text, encoding="utf-8")
        _append(results, _csv_line(columns))
        return set()
    copy = out / SPEC_COPY
    if copy.exists() and copy.read_text(encoding="utf-8") != spec_text:
        raise UserError(
            f"{out}: error: holds the results of another spec ({copy} differs from "
            f"{spec.path}); give another directory with -o"
        )
    text = results.read_text(encoding="utf-8")
    if not text.endswith("\n"):  # a row cut short by a crash of the machine: drop it
        text = text[: text.rfind("\n") + 1]
        _replace(results, text)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or rows[0] != columns:
        raise UserError(f"{results}: error: its columns are not those of {spec.path}")
    error = columns.index("error")
    if retry_failed and any(row[error] for row in rows[1:]):
        rows = [rows[0], *(row for row in rows[1:] if not row[error])]
        _replace(results, "".join(_csv_line(row) for row in rows))
    return {row[1] for row in rows[1:] if len(row) > 1}


def _replace(path: Path, text: str) -> None:
    """Write `path` anew, all of `text` or nothing: never a half-written table."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class Finished:
    """Where finished points go: their rows appended to the results, progress on stderr."""

    def __init__(self, columns: list[str], results: Path, total: int):
        self.columns, self.results, self.total = columns, results, total
        self.count = self.failed = 0
        self.start = time.monotonic()

    def __call__(self, index: int, point: dict, result: dict) -> None:
        row = {"index": index, "point": point_id(point), **point, **result}
        _append(self.results, _csv_line([row.get(c, "") for c in self.columns]))
        self.count += 1
        self.failed += bool(result["error"])
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.count * (self.total - self.count)
        status = "failed: " + result["error"].splitlines()[0] if result["error"] else "ok"
        print(
            f"[{self.count}/{self.total}] point {index} ({row['point']}) {status} in "
            f"{result['wall_s']} s, ETA {_clock(eta)}",
            file=sys.stderr,
        )


def _execute_local(spec: SweepSpec, todo, finished: Finished, *, jobs: int, address=None):
    """Run the points `todo` ((index, settings) pairs) in processes of this machine, `jobs`
    at a time, each in a fresh process."""
    if not todo:
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, max_tasks_per_child=1) as pool:
        pending = {
            pool.submit(run_point, spec.run, str(spec.problem), point): (index, point)
            for index, point in todo
        }
        try:
            while pending:
                ready, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in ready:
                    index, point = pending.pop(future)
                    finished(index, point, future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _csv_line(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _append(path: Path, line: str) -> None:
    """Append one whole line in a single write, then flush it to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
