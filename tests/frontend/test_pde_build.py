"""The builder: each construct becomes the pinn IR it should, verified, every op located."""

import math

import pytest
from pde_helpers import HEADER, build, names, problem_of, region_ops
from xdsl.dialects import arith
from xdsl.dialects import math as xmath

import pintac.api as pt
from pintac.core.errors import UserError
from pintac.diagnostics import Source
from pintac.dialects import pinn
from pintac.frontend import build_pde, is_pde


def term(equation: str, header: str = HEADER) -> list:
    return region_ops(f"{header}pde: {equation} in q\n")


def constants(ops) -> list[float]:
    return [op.value.value.data for op in ops if isinstance(op, pinn.ConstantOp)]


def test_derivatives_of_the_network():
    ops = term("d(u, t) + laplacian(u) + sum(grad(u)) + d(u, x1) + d2(u, x2) + d(u, x1, x1) = 0")
    partials = [op.dim.value.data for op in ops if isinstance(op, pinn.PartialOp)]
    assert partials == [2, 0]  # t is the column after x1, x2
    laplacians = [op.dim_range() for op in ops if isinstance(op, pinn.LaplacianOp)]
    # Δ over space, ∂²/∂x2², ∂²/∂x1² (d(u, x1, x1) is d2(u, x1))
    assert laplacians == [(0, 2), (1, 2), (0, 1)]
    (grad,) = [op for op in ops if isinstance(op, pinn.GradOp)]
    assert grad.dim_range() == (0, 2) and grad.output.type.get_shape()[1] == 2


def test_without_time_the_space_operators_cover_every_column():
    header = (
        "problem p\nspace x[1..2]\ndomain q: x in [0, 1]^2\nnetwork u = mlp(width 4, depth 1)\n"
    )
    ops = term("laplacian(u) + sum(grad(u)) + sum(x) = 0", header)
    for op in ops:
        if isinstance(op, pinn.LaplacianOp | pinn.GradOp | pinn.SumOp):
            assert op.dim_lo is None and op.dim_hi is None  # printed without `dims`


def test_the_equation_is_lhs_minus_rhs():
    ops = term("u = x1")
    assert names(ops) == ["pinn.eval", "pinn.slice", "arith.subf", "pinn.yield"]
    sub = ops[2]
    assert (sub.lhs, sub.rhs) == (ops[0].results[0], ops[1].results[0])
    assert names(term("u = 0")) == ["pinn.eval", "pinn.yield"]


def test_coordinates_are_columns_of_the_points():
    ops = term("u = x2 + t")
    slices = [op.dim_range() for op in ops if isinstance(op, pinn.SliceOp)]
    assert slices == [(1, 2), (2, 3)]


def test_sum_and_norm2_of_coordinates_read_the_columns():
    ops = term("u = sum(x) + norm2(x)")
    sums = [op for op in ops if isinstance(op, pinn.SumOp)]
    assert [s.dim_range() for s in sums] == [(0, 2), (0, 2)]
    square = sums[1].input.owner  # the squares of the points, as examples/heat100d.mlir has
    assert isinstance(square, arith.MulfOp) and square.lhs is square.rhs
    assert not any(isinstance(op, pinn.SliceOp) for op in ops)


def test_norm_is_the_square_root_of_norm2():
    ops = term("norm(grad(u)) = 1")
    assert names(ops)[:4] == ["pinn.grad", "arith.mulf", "pinn.sum", "math.sqrt"]


def test_constant_subexpressions_fold_in_double_precision():
    ops = term("u = 2 * pi^2 * x1 + sqrt(2) / 3 + e")
    # ((2π²·x1) + √2/3) + e: what varies is added in the order written
    assert constants(ops) == [2 * math.pi**2, math.sqrt(2) / 3, math.e]
    assert constants(term("u = x1 + (sqrt(2) / 3 + e)")) == [math.sqrt(2) / 3 + math.e]


@pytest.mark.parametrize(
    ("equation", "op", "constant"),
    [
        ("u - -2 = 0", arith.AddfOp, 2.0),  # a − (−2) = a + 2 exactly
        ("u + -2 = 0", arith.SubfOp, 2.0),
        ("u / 4 = 0", arith.MulfOp, 0.25),  # x / 2^k = x · 2^-k exactly
        ("u / 3 = 0", arith.DivfOp, 3.0),
        ("u = -2", arith.AddfOp, 2.0),
    ],
)
def test_rewrites_that_keep_the_numbers(equation, op, constant):
    ops = term(equation)
    assert constants(ops) == [constant]
    assert any(isinstance(o, op) for o in ops)


def test_integer_powers_are_repeated_multiplication():
    ops = term("u = x1^3")
    mulfs = [op for op in ops if isinstance(op, arith.MulfOp)]
    x = ops[1].results[0]
    assert [(m.lhs is x or m.lhs is mulfs[0].result, m.rhs is x) for m in mulfs] == [
        (True, True),
        (True, True),
    ]
    assert names(term("u = x1^-1"))[:5] == [
        "pinn.eval", "pinn.slice", "pinn.constant", "arith.divf", "arith.subf",
    ]  # fmt: skip
    assert names(term("u = x1^0")) == ["pinn.eval", "pinn.constant", "arith.subf", "pinn.yield"]


def test_a_repeated_subexpression_is_computed_once():
    ops = term("u * u + sin(x1) * sin(x1) = d(u, t) * d(u, t)")
    assert names(ops).count("pinn.eval") == 1
    assert names(ops).count("math.sin") == 1
    assert names(ops).count("pinn.partial") == 1


def test_lets_are_expanded_and_name_their_values():
    text = HEADER + "let g = sin(x1) / 2\nlet k = 0.1\npde: u = g + k in q\nexact u = g\n"
    ops = region_ops(text)
    assert [op.results[0].name_hint for op in ops if isinstance(op, arith.MulfOp)] == ["g"]
    assert [op.results[0].name_hint for op in ops if isinstance(op, pinn.ConstantOp)] == [
        "c",
        "k",
    ]
    assert names(region_ops(text, "exact")) == [
        "pinn.slice", "math.sin", "pinn.constant", "arith.mulf", "pinn.yield",
    ]  # fmt: skip


def test_vectors_combine_elementwise_with_numbers():
    ops = term("norm2(grad(u) - 1) = 0")
    (constant,) = [op for op in ops if isinstance(op, pinn.ConstantOp)]
    assert constant.result.type.get_shape()[1] == 2


def test_domains():
    problem = problem_of(
        build(
            "problem p\nspace x[1..3]\ntime t\n"
            "domain a: x in [0, 1]^3, t in [0, 2]\n"
            "domain b: x in [0, 1] × [0, 2] * [-pi, pi], t in [0, 1]\n"
            "domain c: x in ball(0, 2), t in [0, 1]\n"
            "domain d: (x1, x2, x3) in ball((1, 2, 3), 0.5), t in [0, 1]\n"
            "domain f: x3 in [0, 1], (t, x1) in [0, 1]^2, x2 in [5, 6]\n"
            "network u = mlp(width 2, depth 1)\n"
        )
    )
    a, b, c, d, f = problem.ops_of(pinn.DomainOp)
    assert (a.kind.data, a.bounds(), a.dim.value.data, a.time_interval()) == (
        "box", ([0.0] * 3, [1.0] * 3), 3, (0.0, 2.0),
    )  # fmt: skip
    assert b.bounds() == ([0.0, 0.0, -math.pi], [1.0, 2.0, math.pi]) and b.dim is None
    assert (c.kind.data, c.ball_center(), c.radius.value.data, c.dim.value.data) == (
        "ball", [0.0] * 3, 2.0, 3,
    )  # fmt: skip
    assert (d.ball_center(), d.dim) == ([1.0, 2.0, 3.0], None)
    assert (f.bounds(), f.time_interval()) == (([0.0, 5.0, 0.0], [1.0, 6.0, 1.0]), (0.0, 1.0))


def test_the_network():
    problem = problem_of(
        build(
            "problem p\nspace x[1..2]\ntime t\ndomain q: x in [0, 1]^2, t in [0, 1]\n"
            "network u = mlp(width 8, depth 2, activation sin, init normal(0.5)) * 2 + x1\n"
        )
    )
    params = problem.ops_of(pinn.ParamOp)
    assert [(p.sym_name.data, p.shape, p.init.data) for p in params] == [
        ("W0", [3, 8], "normal"), ("b0", [8], "zeros"),
        ("W1", [8, 8], "normal"), ("b1", [8], "zeros"),
        ("W2", [8, 1], "normal"), ("b2", [1], "zeros"),
    ]  # fmt: skip
    assert [p.init_args.data[0].value.data for p in params[::2]] == [0.5] * 3
    (network,) = problem.ops_of(pinn.NetworkOp)
    assert names(list(network.body.block.ops)) == [
        "pinn.dense", "math.sin", "pinn.dense", "math.sin", "pinn.dense",
        "pinn.constant", "arith.mulf", "pinn.slice", "arith.addf", "pinn.return",
    ]  # fmt: skip
    assert isinstance(network.body.block.ops.first.next_op, xmath.SinOp)


def test_terms_weights_and_the_training_configuration():
    problem = problem_of(
        build(
            HEADER + "pde: d(u, t) = 0 in q weight 2 batch 10\n"
            "ic: u = 0 on initial(q)\nfc: u = 1 on final(q) weight 1/4\nbc: u = 0 on boundary(q)\n"
            "train seed 7, steps 20, lr 0.01, schedule linear_decay, optimizer sgd\n"
            "derivatives stein(sigma_t 0.02, pairs 8)\n"
        )
    )
    terms = problem.terms
    assert [(t.sym_name.data, t.weight.value.data) for t in terms] == [
        ("pde", 2.0), ("ic", 1.0), ("fc", 0.25), ("bc", 1.0),
    ]  # fmt: skip
    assert isinstance(terms[0], pinn.ResidualOp)
    assert [t.on.data for t in terms[1:]] == ["initial", "final", "boundary"]
    train = problem.train
    # pinn.train's order, batch sizes for every term once one is given
    assert list(train.config.data) == [
        "optimizer", "lr", "schedule", "steps", "batch", "pairs", "sigma_t", "seed",
    ]  # fmt: skip
    assert train.get("batch") == {"pde": 10, "ic": 100, "fc": 100, "bc": 100}
    assert (train.get("seed"), train.get("optimizer"), train.get("sigma_t")) == (7, "sgd", 0.02)


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("derivatives taylor", {"derivatives": "taylor"}),
        ("derivatives stde(samples 8)", {"derivatives": "stde", "samples": 8}),
        ("derivatives stein(pairs 8)", {"pairs": 8}),  # the default: no choice recorded
    ],
)
def test_the_derivative_strategy_is_the_problems_choice(statement, expected):
    problem = problem_of(build(HEADER + f"pde: d(u, t) = 0 in q\n{statement}\n"))
    assert {k: problem.train.get(k) for k in problem.train.config.data} == expected


def test_no_settings_no_train_op():
    problem = problem_of(build(HEADER + "pde: u = 0 in q\n"))
    assert problem.train is None


def test_every_op_is_located_in_the_source():
    text = HEADER + "pde: d(u, t) = sin(x1) in q\nexact u = x1\ntrain steps 3\n"
    parsed = build(text)
    for op in parsed.module.walk():
        if op is parsed.module:
            continue
        assert op in parsed.op_offsets, op.name
    problem = problem_of(parsed)
    (residual,) = problem.terms
    sin = next(op for op in residual.body.block.ops if isinstance(op, xmath.SinOp))
    assert text[parsed.op_offsets[sin] :].startswith("sin(x1)")
    assert text[parsed.op_offsets[residual] :].startswith("pde:")


def test_a_verifier_error_points_into_the_pde():
    with pytest.raises(UserError) as info:
        build(HEADER + "domain r: x in [1, 0]^2, t in [0, 1]\n", "bad.pde")
    assert str(info.value).splitlines() == [
        "bad.pde:6:8: error: 'pinn.domain' op box lower bound must be below the upper bound "
        "in coordinate 0: 1.0 >= 0.0",
        "domain r: x in [1, 0]^2, t in [0, 1]",
        "       ^^^^^^^^^^^",
    ]


def test_a_pass_error_points_into_the_pde():
    text = (
        "problem p\nspace x\ndomain q: x in [0, 1]\n"
        "network u = mlp(width 2, depth 1) * x\n"
        "pde: d2(u, x) = 0 in q batch 2\nderivatives stein(pairs 1)\n"
    )
    problem = pt.Problem(build(text, "diff.pde"))
    with pytest.raises(UserError) as info:
        problem.compile("smx-diff")
    first, line, caret = str(info.value).splitlines()[:3]
    assert first.startswith("diff.pde:4:35: error: pass 'pinn-build-loss' failed: 'arith.mulf'")
    assert line == "network u = mlp(width 2, depth 1) * x"
    assert caret.startswith(" " * 34 + "^")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("a.pde", "", True),
        ("A.PDE", "", True),
        ("a.mlir", "problem p", False),
        ("<stdin>", "# comment\n\n  problem heat", True),
        ("<stdin>", "pinn.problem @p {}", False),
        ("notes.txt", "problems", False),
    ],
)
def test_which_sources_are_pde(name, text, expected):
    assert is_pde(Source(name, text)) is expected


def test_build_does_not_verify():
    parsed = build_pde(Source("t.pde", HEADER + "domain r: x in [1, 0]^2, t in [0, 1]\n"))
    assert len(problem_of(parsed).ops_of(pinn.DomainOp)) == 2


def test_the_grammar_is_installed_with_the_package():
    """grammar.lark is read at run time: the wheel must carry it (pyproject's package-data)."""
    import tomllib

    from pde_helpers import ROOT

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "grammar.lark" in setuptools.get("package-data", {}).get("pintac.frontend", [])
