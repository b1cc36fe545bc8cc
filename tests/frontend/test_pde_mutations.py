"""Mutated examples never crash the frontend: each either builds and verifies or is a
UserError located in the file (`NAME:LINE:COL: error: ...` with the line and a caret, or
`NAME: error: ...` for what has no place)."""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pde_helpers import EXAMPLES

from pintac.core.errors import UserError
from pintac.diagnostics import Source, verify
from pintac.frontend import build_pde

SOURCES = [p.read_text() for p in sorted(EXAMPLES.glob("*.pde"))]
PIECES = [
    "(", ")", "[", "]", ",", ":", "=", "+", "-", "*", "/", "^", "**", "×", "..", "#", "\n",
    "0", "1", "-1", "0.5", "1e999", "99999999999999999999999", "1e-400", ".", "x", "x9", "t",
    "u", "q", "pi", "e", "in", "on", "weight", "batch", "problem", "space", "time", "domain",
    "let", "network", "exact", "train", "derivatives", "d(u, t)", "grad(u)", "laplacian(u)",
    "sin(", "mlp(width 2, depth 1)", "ball(0, 1)", "sphere(0, 1)", "boundary(q)", "\t", "é",
]  # fmt: skip
LOCATED = re.compile(r"m\.pde:(\d+):(\d+): error: [^\n]+\n[^\n]*\n *\^+$|m\.pde: error: [^\n]+$")


@st.composite
def mutants(draw) -> str:
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "replace"]))
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
        elif kind == "insert":
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at:]
        else:
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at + draw(st.integers(1, 4)) :]
    return text


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutants())
def test_mutated_examples_build_or_fail_located(text):
    try:
        verify(build_pde(Source("m.pde", text)))
    except UserError as e:
        assert LOCATED.fullmatch(str(e)), str(e)
