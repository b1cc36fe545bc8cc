"""`pintac sweep-report DIR`: the Pareto fronts of a sweep's results, as tables and plots.

A point is on the front of two measures (both lower is better: energy and error, cycles and
error) when no other point is at least as good on both and better on one. The fronts shown
are those the results have columns for: energy and cycles against the relative L2 error for
`simulate` points, seconds per step against the error for `train` points, energy against
cycles for `cost` points. Failed points and points without both values are left out.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from pintac.cli_util import ArgumentParser
from pintac.core.errors import UserError
from pintac.sweep import RESULTS
from pintac.sweep_points import COMMON_COLUMNS, COST_COLUMNS, TRAIN_COLUMNS

#: The fronts, in order, of the first pair of columns the results have.
FRONTS = (
    (("energy_pj", "rel_l2"), ("cycles", "rel_l2")),
    (("s_per_step", "rel_l2"),),
    (("cycles", "energy_pj"),),
)
_MEASURED = {*COST_COLUMNS, *TRAIN_COLUMNS, *COMMON_COLUMNS}


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="pintac sweep-report",
        description="Print the Pareto fronts of a sweep's results (energy, cycles or time "
        "against error; energy against cycles) as tables, and optionally plot them.",
        epilog="example: pintac sweep-report sweep_small-results --plot plots/",
    )
    ap.add_argument("results", help="a directory `pintac sweep` wrote (its results.csv)")
    ap.add_argument(
        "--plot", metavar="DIR", help="also draw each front into DIR (needs matplotlib)"
    )
    return ap


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    path = Path(args.results) / RESULTS
    columns, rows = read_results(path)
    swept = swept_columns(columns)
    pairs = next((f for f in FRONTS if all(set(p) <= set(columns) for p in f)), ())
    if not pairs:
        raise UserError(f"{path}: error: no pair of measures to draw a front of")
    fronts = [(x, y, pareto_front(rows, x, y)) for x, y in pairs]
    ok = sum(1 for r in rows if not r.get("error"))
    sys.stdout.write(f"{path}: {len(rows)} points, {ok} without error\n")
    for x, y, front in fronts:
        sys.stdout.write("\n" + front_table(front, swept, x, y))
    if args.plot:
        _plot(Path(args.plot), rows, fronts)
    return 0


def read_results(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            return list(reader.fieldnames or []), list(reader)
    except OSError as e:
        raise UserError(f"{path}: error: cannot read the results: {e.strerror}") from None


def swept_columns(columns: list[str]) -> list[str]:
    """The settings columns: after `index` and `point`, before the measures."""
    return [c for c in columns[2:] if c not in _MEASURED]


def measured(rows: list[dict[str, str]], x: str, y: str) -> list[tuple[float, float, dict]]:
    """(x, y, row) of the rows without error whose x and y are finite numbers."""
    valued = []
    for row in rows:
        if row.get("error"):
            continue
        try:
            vx, vy = float(row[x]), float(row[y])
        except (KeyError, ValueError):
            continue
        if math.isfinite(vx) and math.isfinite(vy):
            valued.append((vx, vy, row))
    return valued


def pareto_front(rows: list[dict[str, str]], x: str, y: str) -> list[dict[str, str]]:
    """The rows no other row dominates in (x, y), lower better on both, by x then y."""
    front, best = [], math.inf
    for _, vy, row in sorted(measured(rows, x, y), key=lambda item: item[:2]):
        if vy < best:
            front.append(row)
            best = vy
    return front


def front_table(front: list[dict[str, str]], swept: list[str], x: str, y: str) -> str:
    head = [*swept, x, y]
    lines = [
        f"Pareto front, {x} against {y} (lower is better on both): {len(front)} point(s)",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    lines += ["| " + " | ".join(row[c] for c in head) + " |" for row in front]
    return "\n".join(lines) + "\n"


def _plot(out: Path, rows: list[dict[str, str]], fronts) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError(
            "error: --plot needs matplotlib: pip install -e '.[plot]' (or pip install matplotlib)"
        ) from None
    out.mkdir(parents=True, exist_ok=True)
    for x, y, front in fronts:
        points = [(vx, vy) for vx, vy, _ in measured(rows, x, y)]
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.scatter(*zip(*points, strict=True), s=12, color="0.6", label="points")
        line = [(float(r[x]), float(r[y])) for r in front]
        ax.step(*zip(*line, strict=True), where="post", color="C0", label="Pareto front")
        ax.scatter(*zip(*line, strict=True), s=18, color="C0")
        ax.set(xlabel=x, ylabel=y, xscale="log", yscale="log")
        ax.legend()
        fig.tight_layout()
        path = out / f"pareto_{x}_{y}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        sys.stdout.write(f"wrote {path}\n")
