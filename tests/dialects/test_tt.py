"""The tt dialect: building ops from Python, verifiers, and the documented semantics.

The NumPy reference below is written from docs/dialects/tt.md (the einsum strings of
tt.merge and tt.contract, the index formula of the TT-matrix). The tests check that these
definitions agree with each other, so the documentation is consistent.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import DYNAMIC_INDEX, ModuleOp, StringAttr, TensorType, f32, f64
from xdsl.ir import Block, Region
from xdsl.irdl import IRDLOperation, irdl_op_definition, prop_def, traits_def
from xdsl.traits import SymbolOpInterface
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.test_value import create_ssa_value

from pintac.dialects.pinn import NetworkOp, ParamOp, ProblemOp, ReturnOp
from pintac.dialects.tt import (
    ContractOp,
    LinearOp,
    MergeOp,
    ReconstructOp,
    TTMatrixShape,
    lookup_param_type,
)

# ---------------------------------------------------------------------------------------------
# NumPy reference, transcribed from the docs
# ---------------------------------------------------------------------------------------------


def ref_merge(*cores: np.ndarray) -> np.ndarray:
    """tt.merge: einsum "ajib,blkc->ajlikc", reshaped to (r_a, n n', m m', r_c), left to right."""
    out = cores[0]
    for g in cores[1:]:
        r_a, n, m, _ = out.shape
        _, n2, m2, r_c = g.shape
        out = np.einsum("ajib,blkc->ajlikc", out, g).reshape(r_a, n * n2, m * m2, r_c)
    return out


def ref_reconstruct(*cores: np.ndarray) -> np.ndarray:
    """tt.reconstruct: merge the whole chain, then drop the two rank-1 axes."""
    merged = ref_merge(*cores)
    return merged.reshape(merged.shape[1], merged.shape[2])


def ref_contract(a: np.ndarray, g: np.ndarray, prefix: int, suffix: int) -> np.ndarray:
    """tt.contract: einsum "xpbjq,bjic->xpicq" on the row-major (P, r, n, Q) view of a."""
    rows = a.shape[0]
    r, n, m, s = g.shape
    out = np.einsum("xpbjq,bjic->xpicq", a.reshape(rows, prefix, r, n, suffix), g)
    return out.reshape(rows, prefix * m * s * suffix)


def dense_by_index_formula(cores: list[np.ndarray]) -> np.ndarray:
    """W[(j_1..j_d), (i_1..i_d)] = G_1[:, j_1, i_1, :] @ ... @ G_d[:, j_d, i_d, :], row-major."""
    n = [g.shape[1] for g in cores]
    m = [g.shape[2] for g in cores]
    w = np.zeros((math.prod(n), math.prod(m)))
    for js in itertools.product(*(range(k) for k in n)):
        for is_ in itertools.product(*(range(k) for k in m)):
            prod = np.eye(1)
            for g, j, i in zip(cores, js, is_, strict=True):
                prod = prod @ g[:, j, i, :]
            w[np.ravel_multi_index(js, n), np.ravel_multi_index(is_, m)] = prod[0, 0]
    return w


def random_cores(
    rng: np.random.Generator, n: list[int], m: list[int], ranks: list[int]
) -> list[np.ndarray]:
    return [rng.standard_normal((ranks[k], n[k], m[k], ranks[k + 1])) for k in range(len(n))]


def contiguous_groupings(d: int):
    """Every way to cut cores 0..d-1 into consecutive groups (PRS with any g)."""
    for cuts in itertools.product([False, True], repeat=d - 1):
        groups, start = [], 0
        for k, cut in enumerate(cuts, start=1):
            if cut:
                groups.append(range(start, k))
                start = k
        groups.append(range(start, d))
        yield groups


# Non-uniform factors and ranks, so a swapped axis or a wrong reshape order shows up.
SHAPES = [
    ([6], [5], [1, 1]),
    ([2, 3], [3, 2], [1, 4, 1]),
    ([2, 3, 2], [3, 1, 4], [1, 2, 3, 1]),
    ([3, 2, 2, 2], [2, 2, 3, 1], [1, 3, 2, 4, 1]),
]

# ---------------------------------------------------------------------------------------------
# Semantics: the definitions agree
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "m", "ranks"), SHAPES)
def test_reconstruct_matches_index_formula(n, m, ranks):
    cores = random_cores(np.random.default_rng(0), n, m, ranks)
    np.testing.assert_allclose(ref_reconstruct(*cores), dense_by_index_formula(cores), rtol=1e-12)


@pytest.mark.parametrize(("n", "m", "ranks"), SHAPES)
def test_merge_then_reconstruct_is_reconstruct(n, m, ranks):
    """reconstruct(super-cores of any grouping) == reconstruct(cores): merging is exact."""
    cores = random_cores(np.random.default_rng(1), n, m, ranks)
    w = ref_reconstruct(*cores)
    for groups in contiguous_groupings(len(cores)):
        supers = [ref_merge(*(cores[k] for k in g)) for g in groups]
        np.testing.assert_allclose(ref_reconstruct(*supers), w, rtol=1e-12)


def test_merge_is_associative_and_keeps_boundary_ranks():
    rng = np.random.default_rng(2)
    a, b, c = (rng.standard_normal(s) for s in [(2, 3, 5, 4), (4, 2, 2, 3), (3, 2, 1, 6)])
    abc = ref_merge(a, b, c)
    assert abc.shape == (2, 12, 10, 6)
    np.testing.assert_allclose(ref_merge(ref_merge(a, b), c), abc, rtol=1e-12)
    np.testing.assert_allclose(ref_merge(a, ref_merge(b, c)), abc, rtol=1e-12)


@pytest.mark.parametrize(("n", "m", "ranks"), SHAPES)
def test_sequential_contraction_is_x_times_w(n, m, ranks):
    """Contracting x through the (super-)cores, with the documented prefix and suffix of each
    step, gives x @ W for every PRS grouping."""
    rng = np.random.default_rng(3)
    cores = random_cores(rng, n, m, ranks)
    x = rng.standard_normal((7, math.prod(n)))
    expected = x @ ref_reconstruct(*cores)
    for groups in contiguous_groupings(len(cores)):
        supers = [ref_merge(*(cores[k] for k in g)) for g in groups]
        shape = TTMatrixShape.from_core_shapes([s.shape for s in supers])
        a = x
        for k, g in enumerate(supers):
            a = ref_contract(a, g, *shape.contract_prefix_suffix(k))
        np.testing.assert_allclose(a, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("n", "m", "ranks"), SHAPES)
def test_contract_types_match_reference_shapes(n, m, ranks):
    """The result types the verifier accepts are the shapes the reference produces."""
    rng = np.random.default_rng(4)
    cores = random_cores(rng, n, m, ranks)
    shape = TTMatrixShape.from_core_shapes([g.shape for g in cores])
    x = rng.standard_normal((5, shape.in_width))
    act = create_ssa_value(TensorType(f32, [5, shape.in_width]))
    a = x
    for k, g in enumerate(cores):
        prefix, suffix = shape.contract_prefix_suffix(k)
        op = ContractOp(act, create_ssa_value(TensorType(f32, list(g.shape))), prefix, suffix)
        op.verify()
        a = ref_contract(a, g, prefix, suffix)
        assert op.output.type.get_shape() == a.shape
        act = op.output
    assert act.type.get_shape() == (5, shape.out_width)


# ---------------------------------------------------------------------------------------------
# Building ops from Python
# ---------------------------------------------------------------------------------------------


def paper_shape() -> TTMatrixShape:
    return TTMatrixShape(in_factors=(4, 8, 8), out_factors=(4, 8, 8), ranks=(1, 8, 8, 1))


def test_paper_scale_parameter_count():
    shape = paper_shape()
    assert shape.core_shapes() == [(1, 4, 4, 8), (8, 8, 8, 8), (8, 8, 8, 1)]
    assert shape.num_params == 4736
    assert round(shape.in_width * shape.out_width / shape.num_params, 1) == 13.8
    assert [shape.contract_prefix_suffix(k) for k in range(3)] == [(1, 64), (4, 8), (32, 1)]


def test_build_ssa_ops_and_print():
    shape = paper_shape()
    core_types = [TensorType(f32, list(s)) for s in shape.core_shapes()]
    x_type = TensorType(f32, [DYNAMIC_INDEX, 256])
    f = func.FuncOp("layer", ([x_type, *core_types], [x_type]))
    x, g0, g1, g2 = f.body.block.args
    for value, name in zip(f.body.block.args, ["x", "g0", "g1", "g2"], strict=True):
        value.name_hint = name
    merge = MergeOp([g0, g1])
    merge.result.name_hint = "s"
    recon = ReconstructOp([g0, g1, g2])
    c1 = ContractOp(x, merge.result, 1, 8)
    c2 = ContractOp(c1.output, g2, 32, 1)
    f.body.block.add_ops([merge, recon, c1, c2, func.ReturnOp(c2.output)])
    module = ModuleOp([f])
    module.verify()
    assert merge.result.type == TensorType(f32, [1, 32, 32, 8])
    assert recon.result.type == TensorType(f32, [256, 256])
    assert c1.output.type == TensorType(f32, [DYNAMIC_INDEX, 2048])
    assert c2.output.type == x_type
    text = str(module)
    assert (
        "tt.contract %x, %s prefix 1 suffix 8 role fwd : tensor<?x256xf32>, tensor<1x32x32x8xf32> "
        "-> tensor<?x2048xf32>"
    ) in text
    assert (
        "%s = tt.merge %g0, %g1 : tensor<1x4x4x8xf32>, tensor<8x8x8x8xf32> -> tensor<1x32x32x8xf32>"
    ) in text


def test_builders_reject_cores_that_do_not_chain():
    a = create_ssa_value(TensorType(f32, [1, 4, 4, 8]))
    b = create_ssa_value(TensorType(f32, [4, 8, 8, 1]))
    with pytest.raises(VerifyException, match="core #0 has output rank 8 but core #1 has input"):
        MergeOp([a, b])
    with pytest.raises(VerifyException, match="do not chain"):
        ReconstructOp([a, b])


def test_contract_verifier_checks_the_split():
    x = create_ssa_value(TensorType(f32, [3, 256]))
    g = create_ssa_value(TensorType(f32, [1, 4, 4, 8]))
    op = ContractOp(x, g, 1, 32)  # builder infers the result; the input width is wrong
    with pytest.raises(VerifyException, match="input width 256 must equal .* = 128"):
        op.verify()


def test_element_types_must_agree():
    a = create_ssa_value(TensorType(f32, [1, 2, 2, 3]))
    b = create_ssa_value(TensorType(f64, [3, 2, 2, 1]))
    op = MergeOp.create(operands=[a, b], result_types=[TensorType(f32, [1, 4, 4, 1])])
    with pytest.raises(VerifyException, match="same element type"):
        op.verify()


# ---------------------------------------------------------------------------------------------
# tt.linear: symbol resolution
# ---------------------------------------------------------------------------------------------


def tt_problem(core_shapes, bias_shape=None, width_in=256, width_out=256) -> LinearOp:
    """A pinn.problem with params @G0.. (and @b), and a network applying one tt.linear."""
    params = [ParamOp(f"G{k}", TensorType(f32, list(s))) for k, s in enumerate(core_shapes)]
    if bias_shape is not None:
        params.append(ParamOp("b", TensorType(f32, list(bias_shape)), init="zeros"))
    x_type = TensorType(f32, [DYNAMIC_INDEX, width_in])
    y_type = TensorType(f32, [DYNAMIC_INDEX, width_out])
    body = Block(arg_types=[x_type])
    linear = LinearOp(
        body.args[0],
        [f"G{k}" for k in range(len(core_shapes))],
        y_type,
        bias=None if bias_shape is None else "b",
    )
    body.add_ops([linear, ReturnOp(linear.output)])
    net = NetworkOp("u", y_type, Region(body))
    problem = ProblemOp("p", Region(Block([*params, net])))
    ModuleOp([problem])
    return linear


def test_linear_in_a_problem_resolves_and_verifies():
    linear = tt_problem(paper_shape().core_shapes(), bias_shape=[256])
    linear.verify()
    assert [t.get_shape() for t in linear.core_types()] == paper_shape().core_shapes()
    assert lookup_param_type(linear, linear.bias) == TensorType(f32, [256])


@pytest.mark.parametrize(
    ("cores", "bias", "message"),
    [
        (
            [(1, 4, 4, 8), (4, 8, 8, 8), (8, 8, 8, 1)],
            None,
            "core @G0 has output rank 8 but core @G1",
        ),
        ([(1, 4, 4, 8), (8, 8, 8, 8), (8, 8, 8, 2)], None, "last TT core must have output rank 1"),
        ([(1, 4, 4, 8), (8, 8, 8, 1)], None, r"input factors \[4, 8\] multiply to 32"),
        (paper_shape().core_shapes(), [128], "bias @b must be tensor<256xf32>"),
    ],
)
def test_linear_in_a_problem_rejects(cores, bias, message):
    linear = tt_problem(cores, bias_shape=bias)
    with pytest.raises(VerifyException, match=message):
        linear.verify()


def test_linear_unresolved_outside_a_problem_is_not_checked():
    """No symbol table, or a builtin.module without the symbols: the core checks are skipped."""
    x_type = TensorType(f32, [DYNAMIC_INDEX, 256])
    f = func.FuncOp("f", ([x_type], []))
    linear = LinearOp(f.body.block.args[0], ["G0", "G1"], x_type, bias="b")
    linear.verify()  # detached: no symbol table at all
    assert linear.core_types() == [None, None]
    f.body.block.add_ops([linear, func.ReturnOp()])
    ModuleOp([f]).verify()


@irdl_op_definition
class TensorSymbolOp(IRDLOperation):
    """Not a pinn op: any symbol with a tensor `type` property serves as a parameter."""

    name = "testtt.tensor_symbol"
    sym_name = prop_def(StringAttr)
    type = prop_def(TensorType)
    traits = traits_def(SymbolOpInterface())


def test_linear_accepts_any_symbol_with_a_tensor_type():
    def build(core_shapes):
        syms = [
            TensorSymbolOp.create(
                properties={"sym_name": StringAttr(f"G{k}"), "type": TensorType(f32, list(s))}
            )
            for k, s in enumerate(core_shapes)
        ]
        x_type = TensorType(f32, [4, 6])
        f = func.FuncOp("f", ([x_type], [x_type]))
        linear = LinearOp(f.body.block.args[0], [f"G{k}" for k in range(len(core_shapes))], x_type)
        f.body.block.add_ops([linear, func.ReturnOp(linear.output)])
        return ModuleOp([*syms, f])

    build([(1, 2, 3, 2), (2, 3, 2, 1)]).verify()
    with pytest.raises(VerifyException, match="output factors \\[3, 3\\] multiply to 9"):
        build([(1, 2, 3, 2), (2, 3, 3, 1)]).verify()
