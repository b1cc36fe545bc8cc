"""`pintac plot REPORT.json`: look at a run: its losses, its error and the solution it learned.

    pintac run examples/poisson2d_small.mlir --report run.json --checkpoint runs/p
    pintac plot run.json --checkpoint runs/p/checkpoint.npz -o plots

writes into the output directory (default: next to the report, `<report name>-plots`)

- `loss.png`: the loss and each term's mean squared residual over the steps (log scale);
- `error.png`: the relative L2 error measured during training (`pintac run --eval-every`) and
  at the end;
- `solution.png` (needs the checkpoint: the report does not hold the trained parameters): for
  a problem with one or two spatial coordinates, the prediction, the exact solution and the
  pointwise error on a grid over the domain's bounding box; with time, at three times (start,
  middle, end of the interval).

`pintac run --plot DIR` draws the same at the end of a run. PNG by default (`--format svg` or
`pdf`). matplotlib is an optional dependency: `pip install 'pintac[plot]'`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from pintac.cli_util import ArgumentParser
from pintac.core.errors import UserError
from pintac.runtime.files import (
    Output,
    atomic_write_all,
    check_directory,
    refuse_overwriting_inputs,
)
from pintac.runtime.inputs import MAX_SOURCE_BYTES, read_bytes

FORMATS = ("png", "svg", "pdf")
# A report of the most steps pintac trains is far smaller; a larger file is not one.
MAX_REPORT_BYTES = MAX_SOURCE_BYTES
GRID_2D = 101  # points per coordinate of a 2-D solution plot
GRID_1D = 401


def require_matplotlib() -> None:
    """A clear UserError when matplotlib, an optional dependency, is missing."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        raise UserError(
            "error: plotting needs matplotlib, which is not installed; install it with "
            "pip install 'pintac[plot]' (or pip install matplotlib)"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac plot",
        description="Draw a run's losses and error, and with its checkpoint the solution.",
        epilog="example: pintac plot run.json --checkpoint runs/p/checkpoint.npz -o plots",
    )
    ap.add_argument("report", help="a JSON report of pintac run (--report)")
    ap.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="the run's checkpoint (DIR/checkpoint.npz): also draw the solution",
    )
    ap.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="directory for the images (default: <report name>-plots next to the report)",
    )
    ap.add_argument("--format", choices=FORMATS, default="png", help="image format (png)")
    return ap


def plot_files(out: Path, fmt: str = "png") -> list[Path]:
    """Every file a plot into `out` may write."""
    return [out / f"{name}.{fmt}" for name in ("loss", "error", "solution")]


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.report == "":  # before Path(), which reads "" as "."
        raise UserError("pintac plot: error: the path of the report is empty")
    out = Path(args.output) if args.output else _default_directory(Path(args.report))
    refuse_overwriting_inputs(
        [(path, "plot") for path in plot_files(out, args.format)],
        [args.report, args.checkpoint],
        "pintac plot",
    )
    report = read_report(args.report)
    check_directory(out, "plots")
    require_matplotlib()
    model = None
    if args.checkpoint is not None:
        import pintac.api as pt
        from pintac.predict import load_model

        checkpoint = pt.read_checkpoint(args.checkpoint)
        if checkpoint.problem_name != report["problem"]:
            raise UserError(
                f"{args.checkpoint}: error: the checkpoint belongs to problem "
                f"'{checkpoint.problem_name}', but the report {args.report} is of "
                f"'{report['problem']}'"
            )
        model = load_model(args.checkpoint)
    else:
        sys.stderr.write(
            "note: give the run's checkpoint (--checkpoint DIR/checkpoint.npz) to draw the "
            "solution too\n"
        )
    drawings = draw_report(report, out, args.format)
    if model is not None:
        drawings += draw_solution(model[0], model[1], out, args.format)
    for path in write_drawings(drawings):
        sys.stdout.write(f"wrote {path}\n")
    return 0


def _default_directory(report: Path) -> Path:
    return report.with_name(report.stem + "-plots")


def read_report(path: str) -> dict[str, Any]:
    """A report of `pintac run --report`, checked for what plotting needs."""

    def fail(message: str) -> UserError:
        return UserError(f"{path}: error: {message}")

    data = read_bytes(path, "the report", MAX_REPORT_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise fail("not a pintac report (not UTF-8 text)") from None
    try:
        report = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise fail(f"not a pintac report (not JSON: {str(e).splitlines()[0]})") from None
    history = report.get("history") if isinstance(report, dict) else None
    ok = (
        isinstance(report, dict)
        and isinstance(report.get("problem"), str)
        and isinstance(history, list)
        and all(
            isinstance(h, dict) and _is_number(h.get("step")) and _is_number(h.get("loss"))
            for h in history
        )
    )
    if not ok:
        raise fail("not a pintac report (expected the JSON of pintac run --report)")
    if not history:
        raise fail("the report has no training history to plot (no steps were run)")
    # Keep only what plotting reads, and only numbers: a hand-edited report cannot trip it.
    report["history"] = [
        {
            k: float(v) if k != "step" else v
            for k, v in h.items()
            if (k in ("step", "loss", "rel_l2") or k.startswith("loss_")) and _is_number(v)
        }
        for h in history
    ]
    weights = report.get("term_weights")
    report["term_weights"] = (
        {k: w for k, w in weights.items() if _is_number(w)} if isinstance(weights, dict) else {}
    )
    for key in ("rel_l2", "steps", "eval_points", "eval_every_points"):
        if not _is_number(report.get(key)):
            report[key] = None
    return report


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ------------------------------------------------------------------ drawing


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


# a figure and where it goes: drawn into its file when written
Drawing = tuple[Path, Callable[[BinaryIO], None]]


def _drawing(fig, path: Path, fmt: str) -> Drawing:
    return path, lambda stream: fig.savefig(stream, format=fmt)


def write_drawings(drawings: Sequence[Drawing], before: Sequence[Output] = ()) -> list[Path]:
    """Write the `before` outputs and the drawings, all or none; the drawings' paths."""
    atomic_write_all([*before, *((path, fill, "plot") for path, fill in drawings)])
    return [path for path, _ in drawings]


def _positive(values: Sequence[float]) -> bool:
    return all(math.isfinite(v) and v > 0 for v in values)


def draw_report(report: dict[str, Any], out: Path, fmt: str = "png") -> list[Drawing]:
    """loss.FMT and, if the report has errors, error.FMT."""
    history = report["history"]
    steps = [h["step"] for h in history]
    title = f"{report['problem']} ({report.get('pipeline', '')}, seed {report.get('seed', '?')})"
    fig = _figure(8, 5)
    ax = fig.add_subplot()
    weights = report.get("term_weights") or {}
    series = [("loss (weighted sum)", [h["loss"] for h in history])]
    keys = [k for k in history[-1] if k.startswith("loss_")]
    for key in keys:
        name = key.removeprefix("loss_")
        w = weights.get(name)
        label = f"{name} (× {w:g} in the loss)" if isinstance(w, int | float) else name
        series.append((label, [h.get(key, math.nan) for h in history]))
    for label, values in series:
        ax.plot(steps, values, label=label, linewidth=1.2)
    if all(_positive([v for v in values if not math.isnan(v)]) for _, values in series):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("mean squared residual")
    ax.set_title(f"loss per term — {title}")
    ax.grid(True, alpha=0.3)
    ax.legend()
    drawings = [_drawing(fig, out / f"loss.{fmt}", fmt)]

    errors = [(h["step"], h["rel_l2"]) for h in history if _is_number(h.get("rel_l2"))]
    final = report.get("rel_l2")
    if errors or _is_number(final):
        fig = _figure(8, 5)
        ax = fig.add_subplot()
        if errors:
            points = report.get("eval_every_points")
            ax.plot(
                [s for s, _ in errors],
                [e for _, e in errors],
                marker="o",
                markersize=3,
                label=f"during training ({points} points)" if points else "during training",
            )
        if _is_number(final):
            ax.plot(
                [report["steps"] if report.get("steps") is not None else steps[-1]],
                [final],
                marker="*",
                markersize=12,
                linestyle="none",
                label=f"final: {final:.3e} ({report.get('eval_points')} points)",
            )
        values = [e for _, e in errors] + ([final] if _is_number(final) else [])
        if _positive(values):
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("relative L2 error")
        ax.set_title(f"error — {title}")
        ax.grid(True, alpha=0.3)
        ax.legend()
        drawings.append(_drawing(fig, out / f"error.{fmt}", fmt))
    else:
        sys.stderr.write("note: the report has no error measurements; no error plot\n")
    return drawings


def draw_solution(program, params, out: Path, fmt: str = "png") -> list[Drawing]:
    """solution.FMT: prediction, exact solution and pointwise error for 1 or 2 spatial
    coordinates (at three times for a time-dependent problem)."""
    from pintac.predict import bounding_box

    domain = program.domain
    d = domain.spatial_dim
    if d not in (1, 2):
        sys.stderr.write(
            f"note: the solution is drawn for problems with 1 or 2 spatial coordinates; "
            f"{program.name} has {d}\n"
        )
        return []
    times: list[float | None] = [None]
    if domain.has_time:
        t0, t1 = domain.time
        times = [t0, 0.5 * (t0 + t1), t1]
    lower, upper = bounding_box(domain)
    title = f"{program.name}: prediction"
    if program.exact is not None:
        title += ", exact solution and error"
    with np.errstate(all="ignore"):
        if d == 1:
            fig = _solution_1d(program, params, domain, lower, upper, times)
        else:
            fig = _solution_2d(program, params, domain, lower, upper, times)
    fig.suptitle(title)
    return [_drawing(fig, out / f"solution.{fmt}", fmt)]


def _evaluate(program, params, x: np.ndarray):
    u = program.predict_batched(params, x)[:, 0].astype(np.float64)
    exact = program.exact_values(x)
    return u, None if exact is None else np.asarray(exact)[:, 0].astype(np.float64)


def _solution_1d(program, params, domain, lower, upper, times):
    xs = np.linspace(lower[0], upper[0], GRID_1D)
    has_exact = program.exact is not None
    fig = _figure(11 if has_exact else 6, 4.5)
    axes = fig.subplots(1, 2 if has_exact else 1, squeeze=False)[0]
    for t in times:
        columns = [xs] if t is None else [xs, np.full_like(xs, t)]
        u, exact = _evaluate(program, params, np.stack(columns, axis=1).astype(np.float32))
        label = "" if t is None else f"t = {t:g}"
        line = axes[0].plot(xs, u, label=f"prediction {label}".strip())[0]
        if exact is not None:
            axes[0].plot(
                xs, exact, linestyle="--", color=line.get_color(), label=f"exact {label}".strip()
            )
            axes[1].plot(xs, np.abs(u - exact), color=line.get_color(), label=label or None)
    axes[0].set_xlabel("x0")
    axes[0].set_ylabel("u")
    axes[0].set_title("prediction (solid) and exact solution (dashed)" if has_exact else "u")
    axes[0].legend(fontsize="small")
    if has_exact:
        axes[1].set_xlabel("x0")
        axes[1].set_ylabel("|u − u*|")
        axes[1].set_title("pointwise error")
        if len(times) > 1:
            axes[1].legend(fontsize="small")
    for ax in axes:
        ax.grid(True, alpha=0.3)
    return fig


def _solution_2d(program, params, domain, lower, upper, times):
    n = GRID_2D
    a = np.linspace(lower[0], upper[0], n)
    b = np.linspace(lower[1], upper[1], n)
    ga, gb = np.meshgrid(a, b, indexing="xy")  # rows: coordinate 1, columns: coordinate 0
    outside = np.zeros(ga.shape, bool)
    if domain.kind == "ball":
        c = np.asarray(domain.center, np.float64)
        outside = (ga - c[0]) ** 2 + (gb - c[1]) ** 2 > domain.radius**2
    has_exact = program.exact is not None
    columns = 3 if has_exact else 1
    fig = _figure(4.2 * columns + 0.5, 3.6 * len(times) + 0.4)
    axes = fig.subplots(len(times), columns, squeeze=False)
    extent = (lower[0], upper[0], lower[1], upper[1])
    for row, t in zip(axes, times, strict=True):
        cols = [ga.reshape(-1), gb.reshape(-1)]
        if t is not None:
            cols.append(np.full(ga.size, t))
        u, exact = _evaluate(program, params, np.stack(cols, axis=1).astype(np.float32))
        panels = [("prediction", u.reshape(ga.shape), "viridis")]
        if exact is not None:
            panels.append(("exact", exact.reshape(ga.shape), "viridis"))
            panels.append(("|u − u*|", np.abs(u - exact).reshape(ga.shape), "magma"))
        low = np.nanmin([np.nanmin(p[1]) for p in panels[:2]]) if has_exact else None
        high = np.nanmax([np.nanmax(p[1]) for p in panels[:2]]) if has_exact else None
        for ax, (name, values, cmap) in zip(row, panels, strict=True):
            values = np.where(outside, np.nan, values)
            shared = name != "|u − u*|" and has_exact and np.isfinite([low, high]).all()
            image = ax.imshow(
                values,
                origin="lower",
                extent=extent,
                aspect="auto",
                cmap=cmap,
                vmin=low if shared else None,
                vmax=high if shared else None,
            )
            fig.colorbar(image, ax=ax, shrink=0.85)
            ax.set_title(name if t is None else f"{name}, t = {t:g}")
            ax.set_xlabel("x0")
            ax.set_ylabel("x1")
    return fig


def draw_run(summary: dict[str, Any], out: Path, program, params) -> list[Drawing]:
    """What `pintac run --plot DIR` draws: the report's curves and the solution."""
    require_matplotlib()
    drawings = draw_report(summary, out) if summary.get("history") else []
    return drawings + draw_solution(program, params, out)
