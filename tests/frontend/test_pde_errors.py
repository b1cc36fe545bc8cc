"""Mistakes in a .pde file: each is a UserError `FILE:LINE:COL: error: ...` with the line
and a caret under the fault, never a traceback."""

import pytest
from pde_helpers import HEADER, error_of

from pintac.core.errors import UserError
from pintac.diagnostics import Source
from pintac.frontend import build_pde

# (statement appended to HEADER (5 lines), column, caret width, message)
CASES = {
    # syntax
    "missing operand": (
        "pde: u = = 0 in q", 10, 1,
        "unexpected '='; expected one of: '(', '-', a name, a number",
    ),
    "stray character": (
        "pde: u = 0 in q $", 17, 1,
        "unexpected character '$'; expected one of: 'batch', 'derivatives', 'domain', "
        "'exact', 'let', 'network', 'problem', 'space', 'time', 'train', 'weight', a name, "
        "the end of the file",
    ),
    "two numbers": (
        "pde: u = 2 3 in q", 12, 1,
        "unexpected number 3; expected one of: '*', '+', '-', '/', '^', 'in', 'on'",
    ),
    "number out of range": ("pde: u = 1e999 in q", 10, 5, "1e999 is out of range"),
    "weight twice": ("pde: u = 0 in q weight 1 weight 2", 26, 6, "'weight' is given twice"),
    # names and dimensions
    "undefined name": (
        "pde: u = y in q", 10, 1, "undefined name 'y'; the coordinates are x[1..2], time t",
    ),
    "suggestion": (
        "let kappa = 1\npde: u = kapa in q", 10, 4,
        "undefined name 'kapa' (did you mean 'kappa'?); the coordinates are x[1..2], time t",
    ),
    "component out of range": (
        "pde: laplacian(u) = x5 in q", 21, 2,
        "'x5' is not a coordinate: x has 2 components, x1 .. x2",
    ),
    "vector where a scalar is needed": (
        "pde: grad(u) = 0 in q", 14, 1,
        "an equation is between scalars, but this one has 2 components on each side: "
        "reduce a vector with sum(...) or norm2(...)",
    ),
    "vector and scalar": (
        "pde: grad(u) + x1 = 0 in q", 14, 1,
        "dimension mismatch: grad(u) (a vector of 2 components) + x1 (a scalar)",
    ),
    "a domain as a value": ("pde: u = q in q", 10, 1, "'q' is a domain, not a value"),
    "a function as a value": ("pde: u = sin in q", 10, 3, "'sin' is a function: write sin(...)"),
    "unknown function": (
        "pde: u = sn(x1) in q", 10, 2,
        "unknown function 'sn' (did you mean 'sin'?); functions: tanh, sin, cos, exp, log, "
        "sqrt, sum, norm2, norm, d, d2, grad, laplacian",
    ),
    "let in terms of itself": (
        "pde: u = g in q\nlet g = h\nlet h = g + 1", 9, 1, "'g' is defined in terms of itself",
    ),
    # derivatives
    "derivative of an expression": (
        "pde: d(u^2, x1) = 0 in q", 8, 3,
        "d(...) differentiates the network u, not u^2: derivatives of other expressions are "
        "not supported (write them out with d, d2, grad, laplacian of u)",
    ),
    "derivative of a coordinate": (
        "pde: grad(x) = 0 in q", 11, 1,
        "grad(...) differentiates the network u, not x: derivatives of other expressions are "
        "not supported (write them out with d, d2, grad, laplacian of u)",
    ),
    "derivative of a setting": (
        "pde: d(width 2, t) = 0 in q", 8, 5, "d(...) differentiates the network u: d(u, ...)",
    ),
    "derivative by a vector": (
        "pde: d(u, x) = 0 in q", 11, 1,
        "d(u, x) needs one coordinate, but x is a vector of 2; grad(u) gives all first "
        "derivatives, laplacian(u) the sum of the second ones",
    ),
    "mixed derivative": (
        "pde: d(u, x1, x2) = 0 in q", 6, 1,
        "the derivative strategy stein cannot evaluate the mixed derivative ∂²u/∂x1∂x2; it "
        "evaluates d(u, c), d2(u, c), grad(u), laplacian(u)",
    ),
    # terms
    "no such domain": ("pde: u = 0 in omega", 15, 5, "no domain 'omega'; domains: q"),
    "no such part": (
        "pde: u = 0 on edge(q)", 15, 4,
        "unknown part 'edge' of a domain; conditions are on boundary(q), initial(q), final(q)",
    ),
    "no network in the equation": (
        "pde: 1 = x1 in q", 8, 1, "the equation of term 'pde' does not involve the network u",
    ),
    "negative weight": ("pde: u = 0 in q weight -1", 24, 2, "a loss weight must be positive, got -1"),
    "fractional batch": (
        "pde: u = 0 in q batch 1.5", 23, 3,
        "a batch size must be an integer from 1 to 9223372036854775807, got 1.5",
    ),
    "a name used twice": (
        "q: u = 0 in q", 1, 1,
        "'q' is already the name of the domain (line 4); domains, the network, its "
        "parameters and loss terms need distinct names",
    ),
    # numbers
    "division by zero": ("pde: u = x1 / (2 - 2) in q", 13, 1, "division by zero"),
    "log of a negative number": ("pde: u = log(-1) in q", 10, 3, "this constant is not a finite real number"),
    "varying exponent": ("pde: u = x1 ^ t in q", 15, 1, "an exponent must be a constant number"),
    "fractional power": (
        "pde: u = x1 ^ 0.5 in q", 13, 1,
        "the power of an expression that varies is an integer from -16 to 16, got 0.5 "
        "(write sqrt(...) for a square root)",
    ),
    "constant beyond f32": (
        "pde: u = x1 / 1e-300 in q", 13, 1,
        "the constant 1e-300 is out of the range of f32, the precision the problem is "
        "computed in (magnitudes from about 1.4e-45 to 3.4e38)",
    ),
    # the exact solution and the network
    "exact uses the network": ("exact u = u", 11, 1, "the exact solution cannot use the network u"),
    "exact of another name": ("exact v = 0", 7, 1, "'v' is not the network; write `exact u = ...`"),
    "mlp in a term": (
        "pde: u = mlp(width 3) in q", 10, 3,
        "mlp(...) defines the network: it belongs in `network u = mlp(...)`",
    ),
    "list as a value": ("pde: u = (x1, x2) in q", 11, 2, "a list of values (a, b, ...) is only the centre of a ball"),
    # domains
    "set of the wrong dimension": (
        "domain r: x in [0, 1]^3, t in [0, 1]", 17, 1,
        "the set has 3 dimension(s), but x are 2 coordinate(s)",
    ),
    "domain without time": (
        "domain r: x in [0, 1]^2", 8, 1,
        "domain 'r' gives no range for t: every coordinate (x[1..2], time t) needs one",
    ),
    "cylinder": (
        "domain r: x in ball(0, 1) × [0, 1], t in [0, 1]", 16, 4,
        "ball(...) is the whole set of x; it cannot be part of a product (a domain is a box "
        "or a ball, times a time interval)",
    ),
    "sphere": (
        "domain r: x in sphere(0, 1), t in [0, 1]", 16, 6,
        "a sphere is the boundary of a ball: declare the ball (`x in ball(0, 1)`) and put the "
        "condition on its boundary (`on boundary(q)`)",
    ),
    "bound that varies": (
        "domain r: x in [0, x1]^2, t in [0, 1]", 20, 2,
        "a bound must be a constant number, but 'x1' is a coordinate",
    ),
    # training settings
    "unknown optimizer": (
        "train optimizer adamw", 17, 5,
        "'optimizer' (adam or sgd) is one of: adam, sgd; got adamw",
    ),
    "steps out of range": (
        "train steps 1e30", 13, 4,
        "'steps' (number of training steps) is an integer from 1 to 4294967295, got 1e30",
    ),
    "seed out of range": (
        "train seed 18446744073709551615", 12, 20,
        "'seed' (random seed) is an integer from 0 to 9223372036854775807, got "
        "18446744073709551615",
    ),
    "strategy setting in train": (
        "train pairs 3", 7, 5,
        "'pairs' is a setting of the derivative strategy stein: `derivatives stein(pairs ...)`",
    ),
    "setting of another strategy": (
        "derivatives taylor(samples 4)", 20, 7,
        "'samples' is a setting of the derivative strategy stde: `derivatives stde(samples ...)`",
    ),
    "strategy without settings": (
        "derivatives taylor(order 2)", 20, 5,
        "unknown setting 'order'; taylor takes no settings",
    ),
    "precision in the file": (
        "train pipeline fp32", 7, 8,
        "'pipeline': the pipeline (precision, quantization, tensor-train layers) is chosen "
        "when compiling: `pintac run FILE.pde --pipeline smx-diff`",
    ),
    "unknown strategy": (
        "derivatives newton", 13, 6,
        "unknown derivative strategy 'newton'; pintac has: stein (Stein's estimator on "
        "antithetic Gaussian perturbations), taylor (exact derivatives by Taylor-mode forward "
        "jets), stde (Laplacians by the stochastic Taylor derivative estimator)",
    ),
    "strategy setting out of range": (
        "derivatives stein(pairs 0)", 25, 1,
        "'pairs' (Stein antithetic pairs K) is an integer from 1 to 9223372036854775807, got 0",
    ),
    "unknown setting": (
        "train learning_rate 0.1", 7, 13,
        "unknown setting 'learning_rate'; train takes: optimizer, lr, beta1, beta2, eps, "
        "schedule, steps, seed, eval_points",
    ),
    "second network": (
        "network v = mlp(width 2, depth 1)", 9, 1,
        "a problem has one 'network' statement; the first is at line 5",
    ),
    # limits
    "too deep": (
        "pde: u = " + "-" * 120 + "x1 in q", 30, 1, "expression nested more than 100 levels deep",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda k: k.replace(" ", "-"))
def test_error(case):
    statement, column, width, message = CASES[case]
    text = HEADER + statement + "\n"
    line = (
        text.count("\n") - statement.count("\n") + statement[: _line_start(statement)].count("\n")
    )
    lines = error_of(text).splitlines()
    source_line = text.splitlines()[line - 1]
    assert lines == [
        f"test.pde:{line}:{column}: error: {message}",
        source_line,
        " " * (column - 1) + "^" * width,
    ]


def _line_start(statement: str) -> int:
    """Where the last line of a multi-line statement starts: cases put the fault there."""
    return statement.rfind("\n") + 1


def test_the_file_ends_too_early():
    assert error_of(HEADER + "pde: u = 0 in\n").splitlines() == [
        "test.pde:6:14: error: the file ends too early; expected a name",
        "pde: u = 0 in",
        " " * 13 + "^",
    ]


def test_no_problem_statement():
    assert (
        error_of("space x\n")
        == "test.pde: error: no problem statement: a .pde file starts with `problem NAME`"
    )


def test_no_space():
    assert error_of("problem p\n").splitlines()[0] == (
        "test.pde:1:9: error: the problem declares no space coordinates: add `space x[1..d]` "
        "or `space x, y` after the problem statement"
    )


def test_no_network():
    assert error_of("problem p\nspace x\ndomain q: x in [0, 1]\n") == (
        "test.pde: error: the problem declares no network: add `network u = mlp(width 64, depth 3)`"
    )


@pytest.mark.parametrize(
    "text",
    [
        "\0",
        "problem",
        "problem p space x[2..1]",
        "problem p space x2[1..2]",
        "problem p space x, x",
        "problem p space x[1..0.5]",
        "problem p space pi",
        "problem p space x[1..200000]",
        "problem p space x time x",
        "problem p space x domain q: (x, x) in [0, 1]^2 network u = mlp(width 1, depth 1)",
        "problem p space x domain q: x in ball(0, 0) network u = mlp(width 1, depth 1)",
        "problem p space x domain q: x in [0, 1] network u = mlp(depth 1)",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1, tt 8)",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) + mlp(width 1, depth 1)",
        "problem p space x domain q: x in [0, 1] network u = x",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1, activation relu)",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1, init ones)",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1, init normal)",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) + u",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) let x = 1",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) pde: u = 0 on initial(q)",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) pde: u = sin(1, 2) in q",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) pde: u = x ^ 17 in q",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) pde: u = 10^400 in q",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) pde: u = ball(0, 1) in q",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) pde: d(u) = 0 in q",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) pde: laplacian(u, x) = 0 in q",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) pde: d(u, width 2) = 0 in q",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) train schedule cosine",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) train lr fast",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) train beta1 1",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) train lr 1, lr 2",
        "problem p space x domain q: x in [0, 1] network u = mlp(width 1, depth 1) derivatives stein(lr 1)",
        "problem p problem q",
    ],
)
def test_other_mistakes_are_located_errors(text):
    """Not a traceback: a UserError naming the file, with a position when there is one."""
    with pytest.raises(UserError) as info:
        from pintac.diagnostics import verify

        verify(build_pde(Source("m.pde", text)))
    assert str(info.value).startswith("m.pde:")
