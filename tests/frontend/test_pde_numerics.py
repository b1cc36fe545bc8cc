"""Random expressions written in the PDE language, built as a problem's exact solution and
evaluated by the runtime, equal an independent NumPy evaluation of the language's rules bit
for bit: constant subexpressions in double precision, rounded to f32 once; everything that
varies in f32, in the order written."""

import math
import operator

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pintac.api as pt
from pintac.diagnostics import Source, verify
from pintac.frontend import build_pde

HEADER = """problem h
space x[1..2]
time t
domain q: x in [0, 1]^2, t in [0, 1]
network u = mlp(width 1, depth 1)
bc: u = 0 on boundary(q) batch 1
derivatives stein(pairs 1)
"""

POINTS = np.random.default_rng(0).uniform(-1.5, 1.5, size=(32, 3)).astype(np.float32)
COLUMNS = {"x1": 0, "x2": 1, "t": 2}


# An expression is (text, evaluate), where evaluate() returns a float (a constant, exact in
# double precision) or an f32 array of one value per point.
def _const(v: float):
    return (repr(v) if v >= 0 else f"({v!r})"), lambda: v


def _coordinate(name: str):
    return name, lambda: POINTS[:, COLUMNS[name]].copy()


def _f32(value):
    return np.float32(value) if isinstance(value, float) else value


PYTHON_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def _binary(op: str, a, b):
    (ta, fa), (tb, fb) = a, b

    def evaluate():
        va, vb = fa(), fb()
        if isinstance(va, float) and isinstance(vb, float):
            return PYTHON_OPS[op](va, vb)  # only `op`: 0.5 + (0.5 − 0.5) divides nothing
        va, vb = _f32(va), _f32(vb)
        with np.errstate(all="ignore"):
            return {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[op](va, vb)

    return f"({ta} {op} {tb})", evaluate


def _function(name: str, a):
    text, f = a
    double = {"sin": math.sin, "cos": math.cos, "tanh": math.tanh, "exp": math.exp}[name]
    single = {"sin": np.sin, "cos": np.cos, "tanh": np.tanh, "exp": np.exp}[name]

    def evaluate():
        v = f()
        if isinstance(v, float):
            return double(v)
        with np.errstate(all="ignore"):
            return single(v)

    return f"{name}({text})", evaluate


def _square(a):
    text, f = a

    def evaluate():
        v = f()
        return v * v if isinstance(v, float) else np.multiply(v, v)

    return f"({text})^2", evaluate


def _divided_by_positive(a, b):
    """a / (1 + b²): a denominator that never vanishes."""
    return _binary("/", a, _binary("+", _const(1.0), _square(b)))


leaves = st.one_of(
    st.sampled_from(sorted(COLUMNS)).map(_coordinate),
    st.sampled_from([0.5, 2.0, 3.0, -1.25, 0.1, 7.0]).map(_const),
)
expressions = st.recursive(
    leaves,
    lambda sub: st.one_of(
        st.tuples(st.sampled_from("+-*"), sub, sub).map(lambda p: _binary(*p)),
        st.tuples(sub, sub).map(lambda p: _divided_by_positive(*p)),
        st.tuples(st.sampled_from(["sin", "cos", "tanh"]), sub).map(lambda p: _function(*p)),
        sub.map(_square),
        st.tuples(sub, st.sampled_from([2.0, 4.0, 0.5])).map(
            lambda p: _binary("/", p[0], _const(p[1]))
        ),
    ),
    max_leaves=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_exact_solution_equals_numpy(expression):
    text, evaluate = expression
    parsed = build_pde(Source("h.pde", HEADER + f"exact u = {text}\n"))
    verify(parsed)
    program = pt.Problem(parsed).compile("fp32")
    got = program.exact_values(POINTS)[:, 0]
    want = np.broadcast_to(_f32(evaluate()), (len(POINTS),)).astype(np.float32)
    np.testing.assert_array_equal(got, want, err_msg=text)
