"""One point of a sweep, run headless: its settings in, its measurements out.

`run_point` is what a sweep's executor calls in a worker process; it never raises for a
point that fails (a bad setting, a program that does not fit, training that diverges): the
error is part of the result, and the sweep goes on.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from pintac.core.errors import UserError
from pintac.sweep_spec import hardware_overrides, pipeline_of, problem_options

#: Result columns by run kind, after the swept settings.
COST_COLUMNS = (
    "cycles",
    "pe_utilization",
    "energy_pj",
    "energy_mac_pj",
    "energy_sram_pj",
    "energy_dram_pj",
    "energy_vector_sfu_pj",
    "energy_rng_pj",
    "dram_bytes",
    "instructions",
)
TRAIN_COLUMNS = ("steps", "loss", "rel_l2", "s_per_step")
COMMON_COLUMNS = ("peak_rss_mb", "wall_s", "error")


def result_columns(run: str) -> tuple[str, ...]:
    measured = {
        "cost": COST_COLUMNS,
        "train": TRAIN_COLUMNS,
        "simulate": (*TRAIN_COLUMNS, *COST_COLUMNS),
    }[run]
    return (*measured, *COMMON_COLUMNS)


def run_point(run: str, problem: str, point: dict[str, Any]) -> dict[str, Any]:
    """Measure one point; its error (a message, never a traceback for a user mistake) in
    `error` when it fails."""
    start = time.perf_counter()
    try:
        result = {"cost": _cost, "train": _train, "simulate": _simulate}[run](problem, point)
        result["error"] = ""
    except UserError as e:
        result = {"error": str(e)}
    except MemoryError:
        result = {"error": "out of memory"}
    except Exception as e:  # a bug: keep its trace in the results, go on with the sweep
        print(traceback.format_exc(), file=sys.stderr)
        result = {"error": f"internal error: {type(e).__name__}: {e}"}
    result["wall_s"] = round(time.perf_counter() - start, 3)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def _cost(problem: str, point: dict[str, Any]) -> dict[str, Any]:
    program = _problem(problem, point).compile(pipeline_of(point), target="pinta", hw=_hw(point))
    return _step_cost(program.executable)


def _problem(path: str, point: dict[str, Any]):
    """The problem with the point's settings of its training configuration."""
    import pintac.api as pt

    problem = pt.load(Path(path))
    options = problem_options(point)
    return problem.with_config(**options) if options else problem


def _hw(point: dict[str, Any]):
    from pintac.runtime.pinta.target import HardwareOptions

    return HardwareOptions(None, hardware_overrides(point))


def _step_cost(executable) -> dict[str, Any]:
    """The per-step cost of a PINTA program: a function of the program and hardware alone."""
    report = executable.report
    energy = report.energy_by_category()
    dram = report.bytes.get("dram", {})
    return {
        "cycles": report.cycles,
        "pe_utilization": round(report.pe_utilization, 6),
        "energy_pj": round(report.total_energy_pj, 3),
        **{f"energy_{c}_pj": round(v, 3) for c, v in energy.items()},
        "dram_bytes": int(dram.get("read", 0) + dram.get("write", 0)),
        "instructions": len(executable.step.instructions),
    }


def _simulate(problem: str, point: dict[str, Any]) -> dict[str, Any]:
    result, program = _trained(problem, point, "pinta-sim", _hw(point))
    return {**result, **_step_cost(program.executable)}


def _train(problem: str, point: dict[str, Any]) -> dict[str, Any]:
    return _trained(problem, point, point["target"])[0]


def _trained(problem: str, point: dict[str, Any], target: str, hw=None):
    """(what training the point measures, the program it trained)."""
    import pintac.api as pt

    steps = point["steps"]
    program = _problem(problem, point).compile(
        pipeline_of(point), target=target, steps=steps, hw=hw
    )
    trainer = pt.Trainer(program, seed=point["seed"])
    metrics = trainer.train(steps)
    result = {
        "steps": steps,
        "loss": metrics.get("loss", ""),
        "rel_l2": trainer.evaluate().rel_l2 if program.exact is not None else "",
        "s_per_step": round(statistics.median(trainer.step_seconds), 6),
    }
    return result, program
