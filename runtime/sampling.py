"""Collocation points: uniform samples of a domain's interior, boundary, initial and final sets.

`sample_points(domain, on, n, seed, step, stream)` is a pure function of its arguments: every
random number comes from `pintac.runtime.rng` under (seed, step, stream), so a resumed run
draws exactly the points an uninterrupted one would. By convention the runtime passes
`rng.STREAM_COLLOCATION + term index` as the stream and the training step as the step
(held-out evaluation points: `rng.STREAM_EVAL`, step 0).

Points are float32 rows: the spatial coordinates first, then time (if the domain has a time
interval), as in the `pinn` dialect.

The sets (`on`):

| set        | space                      | time              |
|------------|----------------------------|-------------------|
| `interior` | uniform in the domain      | uniform in [t0, t1] |
| `boundary` | uniform on its boundary    | uniform in [t0, t1] |
| `initial`  | uniform in the domain      | t0 (exactly)      |
| `final`    | uniform in the domain      | t1 (exactly)      |

Box interior: `lo + (hi − lo)·u`. Box boundary: the 2D faces are ordered (coordinate 0 at
its lower bound, coordinate 0 at its upper bound, coordinate 1 lower, ...); a face is chosen
with probability proportional to its (D−1)-volume, then the point is uniform on it and the
face's coordinate is set to the bound exactly. Ball interior: a Gaussian direction normalised,
times `radius·U^(1/D)`, plus the centre; ball boundary: the direction times the radius, plus
the centre. A Gaussian vector that is exactly zero (probability ~2⁻²⁴ per point in 2-D: the
Box–Muller radius of a uniform equal to 1) takes the direction of coordinate 0.

Random words of the one stream are laid out as follows (n points, D spatial coordinates;
`rng.uniform` / `rng.normal` read words from 0, so a segment starting at word s is read as
the tail of a longer draw):

- box: words [0, nD) are the coordinates (row-major (n, D)); a boundary sample then uses the
  next n words for the face choice; the time coordinate uses the n words after those.
- ball: `rng.normal(seed, step, stream, (n, D))` (words [0, 2⌈nD/2⌉)) gives the directions;
  an interior sample then uses the next n words for the radius; time uses the n words after.

All arithmetic is in float64; the points are rounded to float32 once at the end (a box face
coordinate is the float32 bound exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pintac.core.errors import UserError
from pintac.runtime import rng

KINDS = ("box", "ball")
SETS = ("interior", "boundary", "initial", "final")


@dataclass(frozen=True)
class DomainSpec:
    """A sampling domain as plain Python values (the runtime keeps no xDSL ops around).

    `lower`/`upper` (box) and `center` (ball) have one entry per spatial coordinate (already
    broadcast); `time` is `(t0, t1)` or None.
    """

    kind: str
    spatial_dim: int
    lower: tuple[float, ...] = ()
    upper: tuple[float, ...] = ()
    center: tuple[float, ...] = ()
    radius: float = 0.0
    time: tuple[float, float] | None = None
    name: str = ""

    @staticmethod
    def box(
        lower: Sequence[float],
        upper: Sequence[float],
        time: tuple[float, float] | None = None,
        name: str = "",
    ) -> DomainSpec:
        lower, upper = tuple(map(float, lower)), tuple(map(float, upper))
        if len(lower) != len(upper):
            raise ValueError(f"box bounds differ in length: {len(lower)} and {len(upper)}")
        t = None if time is None else (float(time[0]), float(time[1]))
        return DomainSpec("box", len(lower), lower=lower, upper=upper, time=t, name=name)

    @staticmethod
    def ball(
        center: Sequence[float],
        radius: float,
        time: tuple[float, float] | None = None,
        name: str = "",
    ) -> DomainSpec:
        center = tuple(map(float, center))
        t = None if time is None else (float(time[0]), float(time[1]))
        return DomainSpec(
            "ball", len(center), center=center, radius=float(radius), time=t, name=name
        )

    @staticmethod
    def from_op(op) -> DomainSpec:
        """The spec of a `pinn.domain` op (bounds and centre broadcast to every coordinate)."""
        kind = op.kind.data
        name = op.sym_name.data
        time = op.time_interval()
        if kind == "box":
            lower, upper = op.bounds()
            return DomainSpec.box(lower, upper, time, name)
        if kind == "ball":
            return DomainSpec.ball(op.ball_center(), op.radius.value.data, time, name)
        raise UserError(_unknown_kind_message(kind, name))

    @property
    def has_time(self) -> bool:
        return self.time is not None

    @property
    def num_coords(self) -> int:
        return self.spatial_dim + (1 if self.has_time else 0)

    @property
    def label(self) -> str:
        return f"domain @{self.name}" if self.name else "domain"


def _unknown_kind_message(kind: str, name: str = "") -> str:
    where = f"domain @{name}" if name else "domain"
    return (
        f"{where}: cannot sample a domain of kind '{kind}'; the sampler knows: {', '.join(KINDS)}"
    )


def sample_points(domain, on: str, n: int, seed: int, step: int, stream: int) -> np.ndarray:
    """`n` points of set `on` of `domain` (a `pinn.domain` op or a DomainSpec), float32 (n, C).

    C is the domain's number of coordinates (space, then time). Deterministic in
    (domain, on, n, seed, step, stream).
    """
    spec = domain if isinstance(domain, DomainSpec) else DomainSpec.from_op(domain)
    if spec.kind not in KINDS:
        raise UserError(_unknown_kind_message(spec.kind, spec.name))
    if on not in SETS:
        raise UserError(
            f"{spec.label}: cannot sample the set '{on}'; the sampler knows: {', '.join(SETS)}"
        )
    if on in ("initial", "final") and not spec.has_time:
        raise UserError(
            f"{spec.label}: '{on}' points need a domain with a time interval, and this one has none"
        )
    n = int(n)
    if n < 0:
        raise ValueError(f"number of points must be non-negative, got {n}")
    d = spec.spatial_dim
    out = np.empty((n, spec.num_coords), dtype=np.float32)
    if n == 0:
        return out

    if spec.kind == "box":
        space, used = _box(spec, on == "boundary", n, seed, step, stream)
    else:
        space, used = _ball(spec, on == "boundary", n, seed, step, stream)
    out[:, :d] = space

    if spec.has_time:
        t0, t1 = spec.time
        if on == "initial":
            out[:, d] = np.float32(t0)
        elif on == "final":
            out[:, d] = np.float32(t1)
        else:
            u = _uniform_segment(seed, step, stream, used, n)
            out[:, d] = t0 + (t1 - t0) * u
    return out


def _uniform_segment(seed: int, step: int, stream: int, start: int, count: int) -> np.ndarray:
    """Uniforms of words [start, start + count) of the stream (float64 in (0, 1])."""
    return rng.uniform(seed, step, stream, count, start=start)


def _box(spec: DomainSpec, boundary: bool, n: int, seed, step, stream) -> tuple[np.ndarray, int]:
    d = spec.spatial_dim
    lo = np.asarray(spec.lower, dtype=np.float64)
    hi = np.asarray(spec.upper, dtype=np.float64)
    words = n * d + (n if boundary else 0)
    u = rng.uniform(seed, step, stream, words)
    x = (lo + (hi - lo) * u[: n * d].reshape(n, d)).astype(np.float32)
    if boundary:
        face = box_faces(lo, hi, u[n * d :])
        coord = face // 2
        upper_side = (face % 2).astype(bool)
        rows = np.arange(n)
        x[rows, coord] = np.where(upper_side, hi[coord], lo[coord]).astype(np.float32)
    return x, words


def box_faces(lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Face indices (2i: coordinate i at its lower bound, 2i+1: at its upper bound) for
    uniforms `u` in (0, 1], each face with probability proportional to its (D−1)-volume."""
    probs = box_face_probabilities(lo, hi)
    cum = np.cumsum(probs)
    cum[-1] = 1.0
    return np.minimum(np.searchsorted(cum, u, side="left"), len(probs) - 1)


def box_face_probabilities(lo: Sequence[float], hi: Sequence[float]) -> np.ndarray:
    """Probability of each of the 2D faces of a box (order: coordinate 0 low, 0 high, 1 low,
    ...), proportional to the face's (D−1)-volume. In 1-D both end points have weight 1/2."""
    side = np.asarray(hi, dtype=np.float64) - np.asarray(lo, dtype=np.float64)
    d = len(side)
    # (D−1)-volume of the faces orthogonal to coordinate i: product of the other sides,
    # computed without dividing by side[i].
    area = np.array([np.prod(np.delete(side, i)) for i in range(d)], dtype=np.float64)
    if not np.all(np.isfinite(area)) or area.sum() <= 0:  # degenerate: treat faces alike
        area = np.ones(d)
    probs = np.repeat(area, 2)
    return probs / probs.sum()


def _ball(spec: DomainSpec, boundary: bool, n: int, seed, step, stream) -> tuple[np.ndarray, int]:
    d = spec.spatial_dim
    z = rng.normal(seed, step, stream, (n, d), dtype=np.float64)
    used = 2 * ((n * d + 1) // 2)
    norm = np.sqrt(np.einsum("ij,ij->i", z, z))
    zero = norm == 0.0
    if np.any(zero):
        z[zero] = 0.0
        z[zero, 0] = 1.0
        norm[zero] = 1.0
    direction = z / norm[:, None]
    r = spec.radius
    if boundary:
        radius = np.full(n, r)
    else:
        radius = r * _uniform_segment(seed, step, stream, used, n) ** (1.0 / d)
        used += n
    center = np.asarray(spec.center, dtype=np.float64)
    return (center + direction * radius[:, None]).astype(np.float32), used
