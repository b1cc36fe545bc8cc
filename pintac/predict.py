"""`pintac predict CHECKPOINT`: evaluate a trained model at given points or on a grid.

    pintac predict runs/p/checkpoint.npz --grid 101x101 -o u.npz
    pintac predict runs/heat/checkpoint.npz --grid 201 --time 0.5 -o u.csv
    pintac predict runs/p/checkpoint.npz --points x.npy -o u.npz

The problem comes from the checkpoint, which keeps the source text it was trained on, or from
`--problem FILE`; it is compiled with the checkpoint's pipeline and the checkpoint's tensors
must fit it. A point is a row of coordinates: the spatial ones, then time for a
time-dependent problem. `--points` reads `.npy` (an n x C array), `.npz` (its only array, or
the one named `x` or `points`) or `.csv` (one point per line, comma-separated; a first line
that is not numbers is a header). `--grid N0xN1...` spans the bounding box of the problem's
first residual domain with N_i points along spatial coordinate i (a ball's box includes points
outside the ball); a time-dependent problem needs `--time T` as well.

The output (`-o`) is `.npz` (arrays `x`, `u` and, if the problem has an exact solution,
`exact`) or `.csv` (columns x0, x1, ..., t, u, exact); without `-o`, CSV goes to standard output.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pintac.cli_util import ArgumentParser, check_output, float_option, write_output
from pintac.core.errors import UserError
from pintac.core.limits import MAX_PREDICT_POINTS
from pintac.runtime.files import atomic_write, refuse_overwriting_inputs
from pintac.runtime.inputs import read_bytes

OUTPUT_KINDS = (".npz", ".csv")
# The largest file of points read (10^7 points of 25 float32 coordinates as .npy; a CSV of as
# many numbers is about 5 times larger): a larger file is refused from its size, unread.
MAX_POINTS_BYTES = 1 << 30


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac predict",
        description="Evaluate a trained model (a checkpoint) at given points or on a grid.",
        epilog="example: pintac predict runs/p/checkpoint.npz --grid 101x101 -o u.npz",
    )
    ap.add_argument("checkpoint", help="a checkpoint written by pintac run or Trainer.save")
    ap.add_argument("--points", metavar="FILE", help="points to evaluate: .npy, .npz or .csv")
    ap.add_argument(
        "--grid",
        metavar="N0xN1",
        help="a grid over the domain's bounding box, N_i points along spatial coordinate i",
    )
    ap.add_argument(
        "--time", type=float_option, metavar="T", help="with --grid: the time of the grid"
    )
    ap.add_argument(
        "--problem",
        metavar="FILE",
        help="the problem file (default: the source kept in the checkpoint)",
    )
    ap.add_argument(
        "-o", "--output", metavar="FILE", help="write here: .npz or .csv (default: CSV on stdout)"
    )
    return ap


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if (args.points is None) == (args.grid is None):
        raise UserError("pintac predict: error: give --points FILE or --grid N0xN1 (one of them)")
    if args.time is not None and args.grid is None:
        raise UserError("pintac predict: error: --time goes with --grid (points carry their time)")
    refuse_overwriting_inputs(
        [(args.output, "predictions")],
        [args.checkpoint, args.points, args.problem],
        "pintac predict",
    )
    check_output(args.output, "predictions")
    if args.output not in (None, "-") and Path(args.output).suffix.lower() not in OUTPUT_KINDS:
        raise UserError(f"{args.output}: error: the output must be a .npz or .csv file")
    sizes = parse_grid(args.grid) if args.grid is not None else None

    program, params = load_model(args.checkpoint, args.problem)
    domain = program.domain
    if sizes is not None:
        x = grid_points(domain, sizes, args.time)
    else:
        x = read_points(args.points, domain.num_coords, coordinate_names(domain))
    u = program.predict_batched(params, x)
    exact = program.exact_values(x)
    write_predictions(args.output, x, u, exact, coordinate_names(domain))
    return 0


def load_model(checkpoint_path: str, problem_path: str | None = None):
    """The compiled program of a checkpoint and its trained parameters."""
    import pintac.api as pt

    checkpoint = pt.read_checkpoint(checkpoint_path)
    problem = pt.load(problem_path) if problem_path is not None else checkpoint.problem()
    if problem.name != checkpoint.problem_name:
        raise UserError(
            f"{checkpoint_path}: error: the checkpoint belongs to problem "
            f"'{checkpoint.problem_name}', not '{problem.name}'"
        )
    program = problem.compile(checkpoint.pipeline, steps=checkpoint.steps)
    checkpoint.check_tensors(program)
    return program, checkpoint.params


def coordinate_names(domain) -> list[str]:
    names = [f"x{i}" for i in range(domain.spatial_dim)]
    return names + (["t"] if domain.has_time else [])


def parse_grid(text: str) -> list[int]:
    """`101x101` -> [101, 101]: one size per spatial coordinate, each at least 1."""
    parts = text.lower().split("x")
    if not all(re.fullmatch(r"[0-9]{1,9}", p) for p in parts) or not all(
        int(p) >= 1 for p in parts
    ):
        raise UserError(
            f"pintac predict: error: --grid {text!r}: give one size of at least 1 per spatial "
            "coordinate, separated by x (e.g. 101x101)"
        )
    sizes = [int(p) for p in parts]
    total = int(np.prod(sizes, dtype=np.float64))
    if total > MAX_PREDICT_POINTS:
        raise UserError(
            f"pintac predict: error: --grid {text} has {total} points; at most {MAX_PREDICT_POINTS}"
        )
    return sizes


def bounding_box(domain) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper corners of the domain's spatial bounding box (float64)."""
    if domain.kind == "box":
        return np.asarray(domain.lower, np.float64), np.asarray(domain.upper, np.float64)
    center = np.asarray(domain.center, np.float64)
    return center - domain.radius, center + domain.radius


def grid_points(domain, sizes: Sequence[int], time: float | None) -> np.ndarray:
    """The grid's points as float32 rows (coordinate 0 varies slowest), time last."""
    if len(sizes) != domain.spatial_dim:
        grid = "x".join(map(str, sizes))
        raise UserError(
            f"pintac predict: error: --grid {grid} has {len(sizes)} size(s), but the problem "
            f"has {domain.spatial_dim} spatial coordinates"
        )
    if domain.has_time and time is None:
        t0, t1 = domain.time
        raise UserError(
            f"pintac predict: error: the problem is time-dependent: give the grid's time with "
            f"--time T (its interval is [{t0:g}, {t1:g}])"
        )
    if not domain.has_time and time is not None:
        raise UserError("pintac predict: error: --time: the problem has no time coordinate")
    lower, upper = bounding_box(domain)
    axes = [np.linspace(lo, hi, n) for lo, hi, n in zip(lower, upper, sizes, strict=True)]
    mesh = np.meshgrid(*axes, indexing="ij")
    columns = [m.reshape(-1) for m in mesh]
    if domain.has_time:
        columns.append(np.full(columns[0].shape, time))
    return np.stack(columns, axis=1).astype(np.float32)


def read_points(path: str, coords: int, names: Sequence[str]) -> np.ndarray:
    """Points from a .npy, .npz or .csv file, checked: C coordinates per row, finite."""

    def fail(message: str) -> UserError:
        return UserError(f"{path}: error: {message}")

    suffix = Path(path).suffix.lower()
    if suffix not in (".npy", ".npz", ".csv"):
        raise fail("the points must be a .npy, .npz or .csv file")
    data = read_bytes(path, "the file of points", MAX_POINTS_BYTES)
    x = _read_csv(data, fail) if suffix == ".csv" else _read_numpy(data, suffix, fail)
    if x.ndim == 1 and coords == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2:
        raise fail(f"the points must be a 2-D array, one point per row; got shape {x.shape}")
    if x.shape[1] != coords:
        raise fail(
            f"the points have {x.shape[1]} coordinates per point, but the problem has {coords} "
            f"({', '.join(names)})"
        )
    if len(x) == 0:
        raise fail("there are no points")
    if len(x) > MAX_PREDICT_POINTS:
        raise fail(f"{len(x)} points; at most {MAX_PREDICT_POINTS}")
    if x.dtype.kind not in "biuf":
        raise fail(f"the points must be numbers, got dtype {x.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        x = x.astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if len(bad):
        raise fail(f"the points are not finite (as float32) in row {bad[0]}")
    return x


def _read_numpy(data: bytes, suffix: str, fail) -> np.ndarray:
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                keys = list(loaded.files)
                key = (
                    keys[0]
                    if len(keys) == 1
                    else next((k for k in ("x", "points") if k in keys), None)
                )
                if key is None:
                    raise fail(
                        f"the .npz holds {len(keys)} arrays ({', '.join(keys[:5])}); name the "
                        "points x or points, or keep only them"
                    )
                return np.asarray(loaded[key])
        return np.asarray(loaded)
    except UserError:
        raise
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, MemoryError) as e:
        text = str(e).strip().splitlines()
        raise fail(
            f"not a {suffix} file of points ({text[0] if text else type(e).__name__})"
        ) from None


def _read_csv(data: bytes, fail) -> np.ndarray:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise fail("not a text (UTF-8) file") from None
    rows: list[list[float]] = []
    first = True
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            if first:  # a header
                first = False
                continue
            bad = next(f for f in fields if not _is_number(f))
            raise fail(f"line {number}: {bad!r} is not a number") from None
        first = False
        if rows and len(values) != len(rows[0]):
            raise fail(
                f"line {number} has {len(values)} values, the lines before have {len(rows[0])}"
            )
        rows.append(values)
        if len(rows) > MAX_PREDICT_POINTS:
            raise fail(f"more than {MAX_PREDICT_POINTS} points")
    if not rows:
        raise fail("there are no points")
    return np.asarray(rows, dtype=np.float64)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_predictions(
    output: str | None,
    x: np.ndarray,
    u: np.ndarray,
    exact: np.ndarray | None,
    names: Sequence[str],
) -> None:
    """`x`, `u` (and `exact`) to `output` as .npz or .csv, or as CSV to standard output."""
    u = np.asarray(u).reshape(len(x), -1)
    if output is not None and output != "-" and Path(output).suffix.lower() == ".npz":
        arrays = {"x": x, "u": u}
        if exact is not None:
            arrays["exact"] = np.asarray(exact, dtype=np.float32).reshape(len(x), -1)
        atomic_write(Path(output), lambda f: np.savez(f, **arrays), "predictions")
        return
    columns = [x, u]
    header = list(names) + _value_names("u", u.shape[1])
    if exact is not None:
        exact = np.asarray(exact).reshape(len(x), -1)
        columns.append(exact)
        header += _value_names("exact", exact.shape[1])
    table = np.concatenate([np.asarray(c, dtype=np.float64) for c in columns], axis=1)
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    np.savetxt(out, table, delimiter=",", fmt="%.9g")
    if output is None or output == "-":
        sys.stdout.write(out.getvalue())
    else:
        write_output(out.getvalue(), output, "predictions")


def _value_names(name: str, width: int) -> list[str]:
    return [name] if width == 1 else [f"{name}{i}" for i in range(width)]
