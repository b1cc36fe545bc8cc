"""lower-to-pinta: the simulator runs the lowered step bit for bit like the NumPy runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pintac.api as pt
from pintac.dialects import pinta
from pintac.passes.lower_to_pinta import LowerToPintaPass
from pintac.registry import make_context
from pintac.runtime.errors import UserError
from pintac.runtime.pinta.config import load_config
from pintac.runtime.pinta.lowered import LoweredStep, PintaStep

ROOT = Path(__file__).resolve().parents[2]
SMALL = ROOT / "examples" / "poisson2d_small.mlir"


def lowered(program: pt.Program, **options) -> LoweredStep:
    module = program.module.clone()
    LowerToPintaPass(**options).apply(make_context(), module)
    op = next(o for o in module.ops if isinstance(o, pinta.ProgramOp))
    return LoweredStep.of(op)


def same_bits(a, b) -> bool:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def run_both(program: pt.Program, step: LoweredStep, steps: int, config=None):
    """Train `steps` steps with the runtime and with the simulator from the same state; the
    roles whose values differ in any bit, per step."""
    sim = PintaStep(step, config)
    state = program.initial_state(0)
    for _ in range(steps):
        args = program.step_arguments(state, 0, program.batch(0, state.step))
        expected = program.train_step(*args)
        got = sim(*args)
        differ = [
            r
            for r, a, b in zip(program.result_roles, expected, got, strict=True)
            if not same_bits(a, b)
        ]
        assert not differ, f"step {state.step}: {differ}"
        state, _ = program.step(state, 0)
    return sim


@pytest.mark.parametrize("pipeline", ["fp32", "smx-diff"])
@pytest.mark.parametrize("example", ["poisson2d_small", "heat10d_small"])
def test_small_problems_train_bit_for_bit_on_the_simulator(example, pipeline):
    """20 steps: parameters, optimizer state and losses equal bit for bit (for fp32, to the
    runtime following the arithmetic contract, exact GEMMs)."""
    problem = pt.load(ROOT / "examples" / f"{example}.mlir")
    program = problem.compile(pipeline, target="numpy-exact")
    run_both(program, lowered(program), steps=20)


def test_tiles_and_both_halves_of_the_buffers_give_the_same_bits():
    """A small SPM and ACC: every big op runs in many tiles alternating between the halves,
    GEMMs accumulate over row tiles, loads run ahead of compute."""
    program = pt.load(SMALL).compile("smx-diff", target="numpy-exact")
    overrides = "memory.spm_bytes=65536,memory.acc_bytes=16384"
    step = lowered(program, set=overrides)
    gemms = [i for i in step.instructions if i.mnemonic == "GEMM"]
    assert any(not g.init for g in gemms), "weight gradients accumulate over tiles"
    assert len(gemms) > 40
    run_both(program, step, steps=1, config=load_config(None, overrides.split(",")))


def test_a_config_too_small_for_a_layer_names_the_op():
    program = pt.load(SMALL).compile("fp32", target="numpy-exact")
    with pytest.raises(
        UserError, match=r"'stein.perturb' computing %batch: one tile needs \d+ bytes of SPM"
    ):
        lowered(program, set="memory.spm_bytes=1024")
