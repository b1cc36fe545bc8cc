"""Collocation sampling: the sets, their distributions, determinism, errors."""

from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects.builtin import StringAttr

from pintac.core.errors import UserError
from pintac.diagnostics import Source, parse_source, verify
from pintac.dialects import pinn
from pintac.registry import make_context
from pintac.runtime import rng
from pintac.runtime.sampling import (
    DomainSpec,
    box_face_probabilities,
    sample_points,
)

EPS32 = float(np.finfo(np.float32).eps)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
UNIT_SQUARE = DomainSpec.box([0.0, 0.0], [1.0, 1.0], name="omega")


def example_domain(name: str) -> pinn.DomainOp:
    text = (EXAMPLES / f"{name}.mlir").read_text()
    parsed = parse_source(make_context(), Source(name, text))
    verify(parsed)
    return next(op for op in parsed.module.walk() if isinstance(op, pinn.DomainOp))


# ---------------------------------------------------------------- box


def test_box_interior_is_uniform_in_the_box():
    spec = DomainSpec.box([-1.0, 0.0, 2.0], [1.0, 0.5, 6.0])
    x = sample_points(spec, "interior", 20000, 0, 0, rng.STREAM_COLLOCATION)
    assert x.dtype == np.float32 and x.shape == (20000, 3)
    lo, hi = np.float32(spec.lower), np.float32(spec.upper)
    assert np.all(x >= lo) and np.all(x <= hi)
    side = np.array(spec.upper) - np.array(spec.lower)
    center = (np.array(spec.upper) + np.array(spec.lower)) / 2
    # standard error of the mean of a uniform: side / sqrt(12 n); allow 5 of them
    assert np.all(np.abs(x.mean(0) - center) < 5 * side / np.sqrt(12 * len(x)))
    np.testing.assert_allclose(x.var(0), side**2 / 12, rtol=0.05)


def test_box_interior_word_layout():
    """Coordinates are lo + (hi − lo)·u with u the stream's words in row-major order."""
    spec = DomainSpec.box([0.0, 1.0], [2.0, 5.0])
    x = sample_points(spec, "interior", 7, 3, 4, 5)
    u = rng.uniform(3, 4, 5, (7, 2))
    expected = np.array(spec.lower) + (np.array(spec.upper) - np.array(spec.lower)) * u
    assert np.array_equal(x, expected.astype(np.float32))


def test_unit_square_boundary_sets_one_coordinate_to_zero_or_one():
    x = sample_points(UNIT_SQUARE, "boundary", 4000, 1, 2, rng.STREAM_COLLOCATION + 1)
    on_face = (x == 0.0) | (x == 1.0)
    assert np.all(on_face.any(axis=1))
    assert np.all((x >= 0) & (x <= 1))
    # each of the 4 sides gets ~1/4 of the points
    counts = [np.sum(x[:, i] == v) for i in range(2) for v in (0.0, 1.0)]
    expected = len(x) / 4
    chi2 = sum((c - expected) ** 2 / expected for c in counts)
    assert chi2 < 20, counts  # 3 degrees of freedom: P(chi2 > 20) ≈ 2e-4


def test_box_boundary_face_frequencies_follow_the_areas():
    spec = DomainSpec.box([0.0, 0.0, 0.0], [2.0, 1.0, 0.5])
    probs = box_face_probabilities(spec.lower, spec.upper)
    # faces orthogonal to x0 have area 0.5, to x1: 1, to x2: 2 (two faces each)
    np.testing.assert_allclose(probs, np.repeat([0.5, 1.0, 2.0], 2) / 7.0)
    n = 14000
    x = sample_points(spec, "boundary", n, 0, 9, 77)
    lo, hi = np.float32(spec.lower), np.float32(spec.upper)
    counts = []
    for i in range(3):
        for bound in (lo[i], hi[i]):
            counts.append(int(np.sum(x[:, i] == bound)))
    assert sum(counts) == n  # every point is on exactly one face (corners have measure 0)
    expected = probs * n
    chi2 = float(np.sum((np.array(counts) - expected) ** 2 / expected))
    assert chi2 < 25, counts  # 5 degrees of freedom: P(chi2 > 25) ≈ 1e-4
    # uniform on the face: on the faces x2 = 0.5, x0 and x1 have their box means
    top = x[x[:, 2] == hi[2]]
    np.testing.assert_allclose(top[:, :2].mean(0), [1.0, 0.5], atol=0.05)


def test_box_boundary_in_one_dimension_is_the_two_end_points():
    spec = DomainSpec.box([-2.0], [3.0])
    x = sample_points(spec, "boundary", 2000, 0, 0, 0)
    assert set(np.unique(x).tolist()) == {-2.0, 3.0}
    assert abs(np.mean(x == 3.0) - 0.5) < 0.05


def test_box_bounds_broadcast_from_the_op():
    op = pinn.DomainOp.box("q", [0.0], [1.0], dim=20, time=(0.0, 1.0))
    spec = DomainSpec.from_op(op)
    assert spec.spatial_dim == 20 and spec.num_coords == 21 and spec.name == "q"
    x = sample_points(op, "boundary", 500, 0, 0, 0)
    assert x.shape == (500, 21)
    space = x[:, :20]
    assert np.all(((space == 0) | (space == 1)).sum(axis=1) >= 1)
    assert np.array_equal(x, sample_points(spec, "boundary", 500, 0, 0, 0))


# ---------------------------------------------------------------- ball


def test_ball_interior_is_uniform_in_the_ball():
    d, r = 3, 2.0
    c = np.array([1.0, -1.0, 0.5])
    spec = DomainSpec.ball(c, r)
    x = sample_points(spec, "interior", 20000, 0, 0, 0).astype(np.float64)
    dist = np.linalg.norm(x - c, axis=1)
    assert np.all(dist <= r * (1 + 4 * EPS32))
    # P(|x − c| <= ρ r) = ρ^D
    for rho in (0.25, 0.5, 0.8):
        assert abs(np.mean(dist <= rho * r) - rho**d) < 0.015
    assert np.all(np.abs(x.mean(0) - c) < 0.05)


def test_ball_boundary_is_on_the_sphere():
    spec = DomainSpec.ball([0.0] * 5, 1.0)
    x = sample_points(spec, "boundary", 5000, 2, 0, 0)
    norm = np.linalg.norm(x.astype(np.float64), axis=1)
    assert np.all(np.abs(norm - 1.0) <= 2 * EPS32)
    # uniform directions: mean ≈ 0, each coordinate has variance 1/D
    assert np.all(np.abs(x.mean(0)) < 0.05)
    np.testing.assert_allclose(x.var(0), 1 / 5, rtol=0.1)


def test_heat100d_sphere():
    op = example_domain("heat100d")
    assert op.kind.data == "ball" and op.spatial_dim == 100
    x = sample_points(op, "boundary", 200, 0, 0, rng.STREAM_COLLOCATION + 2)
    assert x.shape == (200, 101)
    norm = np.linalg.norm(x[:, :100].astype(np.float64), axis=1)
    assert np.all(np.abs(norm - 1.0) <= 4 * EPS32)
    t0, t1 = op.time_interval()
    assert np.all((x[:, 100] >= t0) & (x[:, 100] <= t1))


def test_ball_in_one_dimension():
    spec = DomainSpec.ball([1.0], 0.5)
    b = sample_points(spec, "boundary", 1000, 0, 0, 0)
    assert set(np.unique(b).tolist()) == {0.5, 1.5}
    i = sample_points(spec, "interior", 1000, 0, 0, 0)
    assert np.all((i >= 0.5) & (i <= 1.5))


# ---------------------------------------------------------------- time


def test_time_columns():
    spec = DomainSpec.box([0.0, 0.0], [1.0, 1.0], time=(0.5, 2.5))
    inner = sample_points(spec, "interior", 10000, 0, 0, 0)
    assert inner.shape == (10000, 3)
    t = inner[:, 2]
    assert np.all((t >= 0.5) & (t <= 2.5))
    assert abs(t.mean() - 1.5) < 0.03
    # time is independent of space
    assert abs(np.corrcoef(t, inner[:, 0])[0, 1]) < 0.05
    first = sample_points(spec, "initial", 100, 0, 0, 0)
    last = sample_points(spec, "final", 100, 0, 0, 0)
    assert np.all(first[:, 2] == np.float32(0.5)) and np.all(last[:, 2] == np.float32(2.5))
    assert np.all((first[:, :2] >= 0) & (first[:, :2] <= 1))
    # initial / final points are interior points in space
    assert np.array_equal(first[:, :2], inner[:100, :2])
    bnd = sample_points(spec, "boundary", 2000, 0, 0, 0)
    assert np.all(((bnd[:, :2] == 0) | (bnd[:, :2] == 1)).any(axis=1))
    assert abs(bnd[:, 2].mean() - 1.5) < 0.06
    assert len(np.unique(bnd[:, 2])) > 1900


def test_hjb20d_final_points():
    op = example_domain("hjb20d")
    x = sample_points(op, "final", 64, 0, 0, 0)
    assert x.shape == (64, op.num_coords)
    assert np.all(x[:, -1] == np.float32(op.time_interval()[1]))


# ---------------------------------------------------------------- determinism


@pytest.mark.parametrize("on", ["interior", "boundary", "initial", "final"])
@pytest.mark.parametrize(
    "spec",
    [
        DomainSpec.box([0.0, 0.0, 0.0], [1.0, 2.0, 3.0], time=(0.0, 1.0)),
        DomainSpec.ball([0.0, 0.0, 0.0], 1.0, time=(0.0, 1.0)),
    ],
    ids=["box", "ball"],
)
def test_same_arguments_same_points_others_differ(spec, on):
    a = sample_points(spec, on, 50, 11, 3, rng.STREAM_COLLOCATION + 1)
    assert np.array_equal(a, sample_points(spec, on, 50, 11, 3, rng.STREAM_COLLOCATION + 1))
    for args in ((12, 3, 1), (11, 4, 1), (11, 3, 2)):
        seed, step, term = args
        b = sample_points(spec, on, 50, seed, step, rng.STREAM_COLLOCATION + term)
        assert not np.array_equal(a[:, :3], b[:, :3])


def test_no_points():
    x = sample_points(UNIT_SQUARE, "boundary", 0, 0, 0, 0)
    assert x.shape == (0, 2) and x.dtype == np.float32


def test_numpy_global_rng_is_not_used():
    np.random.seed(0)
    state = np.random.get_state()[1].copy()
    sample_points(DomainSpec.ball([0.0, 0.0], 1.0), "interior", 100, 0, 0, 0)
    assert np.array_equal(np.random.get_state()[1], state)


# ---------------------------------------------------------------- errors


def test_unknown_set_names_the_known_ones():
    with pytest.raises(UserError, match=r"@omega.*'surface'.*interior, boundary, initial, final"):
        sample_points(UNIT_SQUARE, "surface", 10, 0, 0, 0)


@pytest.mark.parametrize("on", ["initial", "final"])
def test_initial_and_final_need_time(on):
    with pytest.raises(UserError, match=f"'{on}' points need a domain with a time interval"):
        sample_points(UNIT_SQUARE, on, 10, 0, 0, 0)


def test_unknown_kind_names_the_known_ones():
    spec = DomainSpec("torus", 3, name="t")
    with pytest.raises(UserError, match=r"domain @t: .*kind 'torus'.*box, ball"):
        sample_points(spec, "interior", 10, 0, 0, 0)
    op = pinn.DomainOp.box("weird", [0.0], [1.0])
    op.properties["kind"] = StringAttr("cylinder")
    with pytest.raises(UserError, match=r"domain @weird: .*kind 'cylinder'.*box, ball"):
        sample_points(op, "interior", 10, 0, 0, 0)
