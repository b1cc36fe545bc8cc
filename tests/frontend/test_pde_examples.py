"""The examples in the PDE language are the hand-written .mlir examples: the same IR (up to
SSA names and the order of independent ops) and the same training, bit for bit."""

import numpy as np
import pytest
from pde_helpers import EXAMPLES, normalized
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, i64

import pintac.api as pt
from pintac.diagnostics import read_source, verify
from pintac.frontend import build_pde

TWINS = [
    "poisson2d", "hjb20d", "heat100d", "heat1d", "poisson2d_small", "heat10d_small",
    "poisson_classic", "poisson2d_exact",
]  # fmt: skip
PDE_EXAMPLES = sorted(EXAMPLES.glob("*.pde"))


def load_pde(path) -> pt.Problem:
    parsed = build_pde(read_source(str(path)))
    verify(parsed)
    return pt.Problem(parsed)


def test_every_twin_is_there():
    assert {p.stem for p in PDE_EXAMPLES} >= set(TWINS)


@pytest.mark.parametrize("name", TWINS)
def test_same_ir_as_the_handwritten_example(name):
    written = pt.load(EXAMPLES / f"{name}.mlir")
    generated = load_pde(EXAMPLES / f"{name}.pde")
    assert normalized(generated.op) == normalized(written.op)


def small_steps(problem: pt.Problem) -> pt.Program:
    """The problem with 4 Stein pairs and 8 points per term, compiled: a few steps take
    milliseconds whatever the example's own sizes."""
    train = problem.op.train
    config = dict(train.config.data)
    config["pairs"] = IntegerAttr(4, i64)
    config["batch"] = DictionaryAttr({t: IntegerAttr(8, i64) for t in config["batch"].data})
    train.config = DictionaryAttr(config)
    return problem.compile("fp32")


@pytest.mark.parametrize("name", TWINS)
def test_trains_bit_identically(name):
    runs = []
    for problem in (pt.load(EXAMPLES / f"{name}.mlir"), load_pde(EXAMPLES / f"{name}.pde")):
        program = small_steps(problem)
        trainer = pt.Trainer(program)
        initial = trainer.state.copy()
        trainer.train(3)
        x = program.evaluation_points(64, 1)
        runs.append(
            (
                {k: v.tobytes() for k, v in initial.params.items()},
                [h["loss"] for h in trainer.history],
                {k: v.tobytes() for k, v in trainer.state.params.items()},
                program.exact_values(x).tobytes(),
            )
        )
    assert runs[0] == runs[1]


@pytest.mark.parametrize("path", PDE_EXAMPLES, ids=lambda p: p.stem)
def test_each_example_fits_in_25_lines_and_trains(path):
    assert len(path.read_text().splitlines()) <= 25
    program = small_steps(load_pde(path))
    trainer = pt.Trainer(program)
    trainer.train(2)
    assert all(np.isfinite(h["loss"]) for h in trainer.history)
    assert np.isfinite(trainer.evaluate(points=64).rel_l2)


def test_the_comparison_sees_a_difference():
    """`normalized` hides op order and SSA names, nothing else: poisson2d_small's IR with one
    operand order swapped (sin · 0.5 -> 0.5 · sin in the exact solution) differs."""
    written = pt.load(EXAMPLES / "poisson2d_small.mlir")
    swapped = (EXAMPLES / "poisson2d_small.mlir").read_text()
    last = swapped.rindex("arith.mulf %sin, %half")
    swapped = (
        swapped[:last] + "arith.mulf %half, %sin" + swapped[last + len("arith.mulf %sin, %half") :]
    )
    assert normalized(pt.loads(swapped, "swapped.mlir").op) != normalized(written.op)
