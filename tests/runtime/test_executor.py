"""The execution plan and the NumPy target: generated code equals the reference interpreter."""

from pathlib import Path

import numpy as np
import pytest

import pintac.api as pt
from pintac.runtime.numpy_target import interpret
from pintac.runtime.plan import build_plan

ROOT = Path(__file__).resolve().parents[2]


def small_program(pipeline: str = "fp32"):
    return pt.load(ROOT / "examples" / "poisson2d_small.mlir").compile(pipeline)


@pytest.mark.parametrize("pipeline", ["fp32", "smx-diff", "full"])
def test_compiled_step_equals_the_reference_interpreter_bit_for_bit(pipeline):
    """The generated code, including what it arranges beyond the plan (smx-diff: each
    difference activation keeps the value its VJP reads), runs the reference's arithmetic."""
    program = small_program(pipeline)
    if pipeline == "smx-diff":
        source = program.executable.source
        layers = source.count("# stein.diff_activation\n")
        assert layers >= 2 and source.count("keep=True") == layers
        assert source.count("_for_vjp)  # stein.diff_activation_vjp") == layers
    state = program.initial_state(seed=5)
    args = program.step_arguments(state, 5, program.batch(5, 0))
    compiled = program.train_step(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    reference = interpret(program.functions["train_step"], args)
    assert len(compiled) == len(reference)
    for c, r in zip(compiled, reference, strict=True):
        assert np.asarray(c).tobytes() == np.asarray(r).tobytes()


def test_the_plan_reuses_dead_buffers_but_never_arguments_or_viewed_values():
    plan = build_plan(small_program().functions["train_step"])
    reused = [s for s in plan.steps if s.inplace is not None]
    assert reused, "elementwise steps write into dead operands"
    viewed = {s.inputs[0] for s in plan.steps if s.view}
    for step in reused:
        target = step.inputs[step.inplace]
        assert target not in plan.arguments and target not in viewed
        assert plan.values[target].last_use == step.index
        assert plan.values[step.outputs[0]].storage == plan.values[target].storage
    for step in plan.steps:
        if step.view:
            assert plan.values[step.outputs[0]].storage == plan.values[step.inputs[0]].storage
    # every value dies exactly once, at its last use, unless it is a result or an argument
    died = [v for s in plan.steps for v in s.dies]
    assert len(died) == len(set(died))
    for v in plan.values:
        if v.index in plan.results:
            assert v.index not in died
        elif v.producer is not None:
            assert v.index in died


def test_inputs_are_not_modified():
    program = small_program()
    state = program.initial_state(seed=1)
    before = {k: v.copy() for k, v in state.params.items()}
    program.step(state, seed=1)
    for k, v in state.params.items():
        assert np.array_equal(v, before[k])
