"""Every example under every named pipeline trains on PINTA's simulator bit for bit like the
NumPy runtime (`numpy-exact`, the arithmetic contract), at small sizes.

The matrix comes from the examples directory and the pipeline table, so an example or a
pipeline added without coverage fails here: each example needs its small settings in `SMALL`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import pintac.api as pt
from pintac.core.errors import UserError
from pintac.pipelines import PIPELINES

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
STEPS = 2


@dataclass(frozen=True)
class Small:
    """An example made small and kept in shape (its terms, dimensions and network type):
    `batch` points for every loss term, `pairs` Stein pairs and, for the paper-size
    networks, their hidden width `width[0]` made `width[1]`."""

    batch: int
    pairs: int | None = None  # None: the example uses no Stein pairs
    width: tuple[int, int] | None = None

    def apply(self, text: str) -> str:
        text = _substitute(r"batch = \{([^}]*)\}", self._batch, text, "batch")
        if self.pairs is not None:
            text = _substitute(r"pairs = \d+", f"pairs = {self.pairs}", text, "pairs")
        if self.width is not None:
            wide, narrow = self.width
            text = _substitute(rf"(?<=[<x]){wide}(?=x)", str(narrow), text, "width")
        return text

    def _batch(self, match: re.Match) -> str:
        terms = [item.partition("=")[0].strip() for item in match.group(1).split(",")]
        return "batch = {" + ", ".join(f"{t} = {self.batch}" for t in terms) + "}"


def _substitute(pattern: str, replacement, text: str, what: str) -> str:
    """`text` with `pattern` replaced; an example the pattern no longer matches fails."""
    new, count = re.subn(pattern, replacement, text)
    assert count, f"the small settings' {what} ({pattern}) match nothing in the example"
    return new


SMALL = {
    "heat1d": Small(batch=4, pairs=4),
    "heat10d_small": Small(batch=4, pairs=4),
    "poisson2d_small": Small(batch=4, pairs=4),
    "poisson2d": Small(batch=4, pairs=4, width=(256, 16)),
    "hjb20d": Small(batch=4, pairs=4, width=(256, 16)),
    "heat100d": Small(batch=4, pairs=4, width=(256, 16)),
    "poisson_classic": Small(batch=4, pairs=None, width=(50, 16)),
    "poisson2d_exact": Small(batch=4, pairs=None, width=(256, 16)),
}
NAMES = sorted(path.stem for path in EXAMPLES.glob("*.mlir"))


def test_every_example_has_small_settings():
    assert sorted(SMALL) == NAMES


def _chooses_jets(problem: pt.Problem) -> bool:
    """Whether the problem's pinn.train chooses a strategy DiffQuant cannot rewrite."""
    train = problem.train
    return train is not None and train.get("derivatives") in ("taylor", "stde")


def _bits(x) -> np.ndarray:
    return np.asarray(x, np.float32).view(np.uint32)


@pytest.mark.parametrize("pipeline", list(PIPELINES))
@pytest.mark.parametrize("example", NAMES)
def test_example_trains_on_the_simulator_like_the_runtime(example, pipeline):
    """`STEPS` steps from the same state: every parameter, optimizer slot and loss of each
    step equal in every bit."""
    if example not in SMALL:
        pytest.fail(f"examples/{example}.mlir has no small settings in SMALL")
    path = EXAMPLES / f"{example}.mlir"
    problem = pt.loads(SMALL[example].apply(path.read_text()), str(path))
    if _chooses_jets(problem) and "stein-difference" in PIPELINES[pipeline][0]:
        with pytest.raises(UserError, match="stein-difference"):
            problem.compile(pipeline, target="pinta-sim")
        return
    simulator = problem.compile(pipeline, target="pinta-sim")
    # the same compiled step on the runtime (the pipeline once: it is most of the time)
    runtime = pt.Program(
        simulator.module,
        pipeline,
        simulator.spec,
        simulator.source_name,
        "numpy-exact",
        problem=problem,
    )
    state = runtime.initial_state(0)
    for _ in range(STEPS):
        args = runtime.step_arguments(state, 0, runtime.batch(0, state.step))
        expected = runtime.train_step(*args)
        got = simulator.train_step(*args)
        differ = [
            role
            for role, a, b in zip(runtime.result_roles, expected, got, strict=True)
            if not np.array_equal(_bits(a), _bits(b))
        ]
        assert not differ, f"step {state.step}: {differ}"
        state, _ = runtime.step(state, 0)
