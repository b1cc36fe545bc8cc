"""The activation table: every part of pintac reads activations from it, so one entry is enough."""

from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import math
from xdsl.printer import Printer

import pintac.api as pt
from pintac.dialects.activations import ACTIVATIONS, Activation, register, unregister

SMALL = Path(__file__).resolve().parents[2] / "examples" / "poisson2d_small.mlir"


@pytest.fixture
def atan():
    """arctan, registered in the table only, for the duration of one test."""
    entry = register(Activation("atan", math.AtanOp, np.arctan, "input", lambda z: 1 / (1 + z * z)))
    yield entry
    unregister(entry.name)


def test_a_new_activation_is_one_table_entry(atan):
    text = SMALL.read_text().replace("math.tanh", "math.atan")
    program = pt.loads(text, "poisson2d_atan").compile("fp32")
    ir = StringIO()
    Printer(stream=ir).print_op(program.functions["train_step"])
    assert "math.atan" in ir.getvalue()
    assert "train.activation_grad atan" in ir.getvalue()  # its gradient rule
    assert "activation='atan'" in program.executable.source  # its kernel, by name
    trainer = pt.Trainer(program, seed=0)
    losses = [trainer.train(1)["loss"] for _ in range(8)]
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0]


def test_the_derivative_entries_match_finite_differences():
    z = np.linspace(-1.5, 1.5, 31) + 2.0  # log and sqrt need positive arguments
    h = 1e-6
    for act in ACTIVATIONS.values():
        saved = act.fn(z) if act.saves == "output" else z
        numeric = (act.fn(z + h) - act.fn(z - h)) / (2 * h)
        np.testing.assert_allclose(act.derivative(saved), numeric, rtol=1e-6, err_msg=act.name)


def test_names_and_ops_are_unique():
    with pytest.raises(ValueError, match="exists already"):
        register(Activation("tanh", math.AtanOp, np.arctan, "input", np.cos))
    with pytest.raises(ValueError, match="exists already"):
        register(Activation("my_tanh", math.TanhOp, np.tanh, "output", np.cos))
