"""The parser: every construct of the language becomes the syntax tree it should, with its
position."""

import pytest

from pintac.diagnostics import Source
from pintac.frontend import syntax as ast
from pintac.frontend.parse import parse


def statements(text: str) -> list:
    return parse(Source("test.pde", text))


def one(text: str):
    (statement,) = statements(text)
    return statement


def expr(text: str) -> ast.Expr:
    return one(f"let a = {text}").expr


def shape(e) -> str:
    """An expression as a fully parenthesized string (its tree)."""
    if isinstance(e, ast.Number):
        return repr(e.value)
    if isinstance(e, ast.Name):
        return e.name
    if isinstance(e, ast.Negate):
        return f"(-{shape(e.operand)})"
    if isinstance(e, ast.Binary):
        return f"({shape(e.left)} {e.op} {shape(e.right)})"
    if isinstance(e, ast.Call):
        return f"{e.name}[{', '.join(shape(a) for a in e.args)}]"
    if isinstance(e, ast.Tuple):
        return f"<{', '.join(shape(a) for a in e.items)}>"
    if isinstance(e, ast.Setting):
        return f"{e.key}={e.value.describe()}"
    raise AssertionError(e)


def test_problem_space_and_time():
    problem, space, time = statements("problem heat\nspace x[1..20], y\ntime t")
    assert problem == ast.Problem(8, 4, "heat")
    assert space.coordinates == (
        ast.CoordinateDecl(19, 1, "x", 1, 20),
        ast.CoordinateDecl(29, 1, "y"),
    )
    assert time.name == "t" and time.pos == 36


def test_domain_clauses_and_sets():
    domain = one(
        "domain q: x in [0, 1] × [0, 2] * [-1, 1], (y, z) in ball((0, 0), 1), t in [0,1]^3"
    )
    assert domain.name == "q"
    first, second, third = domain.clauses
    assert [n.name for n in first.coordinates] == ["x"]
    assert [(shape(f.lo), shape(f.hi), f.power) for f in first.factors] == [
        ("0.0", "1.0", None),
        ("0.0", "2.0", None),
        ("(-1.0)", "1.0", None),
    ]
    assert [n.name for n in second.coordinates] == ["y", "z"]
    assert [shape(f) for f in second.factors] == ["ball[<0.0, 0.0>, 1.0]"]
    assert third.factors[0].power == 3


def test_let_network_exact():
    let, network, exact = statements(
        "let g = sin(x)\nnetwork u = mlp(width 8, depth 2, init normal(0.1)) + 10\nexact u = g"
    )
    assert (let.name, shape(let.expr)) == ("g", "sin[x]")
    assert shape(network.expr) == "(mlp[width=8, depth=2, init=normal(0.1)] + 10.0)"
    assert (exact.network, shape(exact.expr)) == ("u", "g")


def test_terms_with_placements_and_options():
    pde, bc, ic = statements(
        "pde: d(u, t) = laplacian(u) in q\n"
        "bc: u = 0 on boundary(q) weight 300 batch 50\n"
        "ic: u = 1 on initial(q) batch 20 weight 2"
    )
    assert (pde.name, shape(pde.lhs), shape(pde.rhs)) == ("pde", "d[u, t]", "laplacian[u]")
    assert pde.placement == ast.Placement(pde.placement.pos, 2, "q", pde.placement.pos + 3)
    assert pde.weight is None and pde.batch is None
    assert (bc.placement.part, bc.placement.domain) == ("boundary", "q")
    assert (shape(bc.weight), shape(bc.batch)) == ("300.0", "50.0")
    assert (ic.placement.part, shape(ic.weight), shape(ic.batch)) == ("initial", "2.0", "20.0")
    assert pde.equals == len("pde: d(u, t) ")


def test_train_and_derivatives_settings():
    train, derivatives = statements(
        "train optimizer adam, lr 1e-3, seed 18446744073709551615\n"
        "derivatives stein(pairs 512, sigma 0.01)"
    )
    assert [(s.key, s.value.describe()) for s in train.settings] == [
        ("optimizer", "adam"),
        ("lr", "0.001"),
        ("seed", "18446744073709551615"),
    ]
    assert train.settings[2].value.integer == 2**64 - 1  # digits kept exactly
    assert derivatives.strategy == "stein"
    assert [s.key for s in derivatives.settings] == ["pairs", "sigma"]
    assert one("derivatives stein").settings == ()
    assert one("derivatives stein()").settings == ()


def test_setting_values_with_negative_arguments():
    network = one("network u = mlp(init uniform(-0.5, 0.5))")
    (setting,) = network.expr.args
    assert (setting.value.name, setting.value.args) == ("uniform", (-0.5, 0.5))


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a - b - c", "((a - b) - c)"),
        ("a / b * c", "((a / b) * c)"),
        ("a + b * c", "(a + (b * c))"),
        ("-x^2", "(-(x ^ 2.0))"),
        ("a^b^c", "(a ^ (b ^ c))"),
        ("2^-1", "(2.0 ^ (-1.0))"),
        ("x**2", "(x ^ 2.0)"),
        ("(a + b) * c", "((a + b) * c)"),
        ("- - a", "(-(-a))"),
        ("f()", "f[]"),
        ("d(u, x1, x1)", "d[u, x1, x1]"),
        ("norm2(grad(u)) * .5e1", "(norm2[grad[u]] * 5.0)"),
        ("(1, 2)", "<1.0, 2.0>"),
    ],
)
def test_expression_precedence(text, tree):
    assert shape(expr(text)) == tree


def test_expression_positions():
    e = expr("x1 + sin(t)")
    assert (e.pos, e.length, e.start, e.end) == (11, 1, 8, 19)
    call = e.right
    assert (call.pos, call.length, call.start) == (13, 3, 13)


def test_comments_and_line_breaks_are_spaces():
    (problem, let) = statements("# a comment\nproblem p # after\nlet a =\n  1 +\n  2\n")
    assert problem.name == "p"
    assert shape(let.expr) == "(1.0 + 2.0)"


def test_a_vector_range_is_not_a_number():
    (space,) = statements("space x[1..2]")
    assert (space.coordinates[0].first, space.coordinates[0].last) == (1, 2)
