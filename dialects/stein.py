"""The `stein` dialect: Stein's-estimator (SE) derivatives of a network, at estimator level.

`stein-expand` rewrites each `pinn` derivative op into this dialect: draw K antithetic pairs of
Gaussian perturbations per collocation point (`stein.sample`), evaluate the network on the
perturbed batch (`stein.perturb`, then `pinn.eval`), and combine the 2K+1 values with an estimator
(`stein.grad`, `stein.laplacian`, `stein.center`, `stein.smoothed`). For difference-based
quantization (DiffQuant) the network is evaluated as a base stream plus difference streams
(`stein.difference_streams`, `stein.diff_activation`) and the estimators take their
*difference form*, which reads the 2K differences g(x±δ_k) − g(x) instead of the values.
Every estimator is linear in the values (or differences); its transpose, the vector-Jacobian
product `pinn-autodiff` back-propagates through, is `stein.grad_vjp`, `stein.laplacian_vjp`,
`stein.center_vjp` or `stein.smoothed_vjp`.

Shapes. N is the number of points (the batch dimension, usually dynamic `?`), D the number of
coordinates of a point (time last, when present), K the number of antithetic pairs. All tensors
are f32.

    x         tensor<N x D>           collocation points, one per row
    delta     tensor<N x K x D>       perturbations δ_k, k = 0..K-1
    batch     tensor<N x 2K+1 x D>    [x, x+δ_0 .. x+δ_{K-1}, x−δ_0 .. x−δ_{K-1}] along axis 1
    values    tensor<N x 2K+1 x 1>    network values on `batch`, in the same order
    diffs     tensor<N x 2K x 1>      [g(x+δ_k) − g(x) for k], then [g(x−δ_k) − g(x) for k]

The NumPy semantics in each op's docstring is the contract the reference runtime implements;
arrays are float32 and `K`, `D` are read from the operand types.
"""

from __future__ import annotations

import math

from xdsl.dialects.builtin import (
    I64,
    Float64Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    SymbolRefAttr,
    TensorType,
    UnitAttr,
    f64,
    i64,
)
from xdsl.ir import Attribute, Dialect, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from pintac.dialects import pinn
from pintac.dialects.support import (
    DYNAMIC,
    compatible,
    dim_str,
    f32_shape,
    f32_tensor,
    join,
    static,
)
from pintac.dialects.train import ActivationAttr

# Philox keys a stream with one 32-bit word.
MAX_STREAM = 2**32 - 1


# ---------------------------------------------------------------------------------------------
# Shapes (shared by the builders, the verifiers and the passes)
# ---------------------------------------------------------------------------------------------


def points_shape(x: SSAValue | Operation | Attribute) -> tuple[int, int]:
    """(N, D) of collocation points `tensor<N x D x f32>`; D must be static."""
    n, d = f32_shape(x, 2, "the points", "a tensor<N x D x f32> (points x coordinates)")
    return n, static(d, "the number of coordinates D (dimension 1 of the points)")


def delta_shape(delta: SSAValue | Operation | Attribute) -> tuple[int, int, int]:
    """(N, K, D) of perturbations `tensor<N x K x D x f32>`; K and D must be static, K >= 1."""
    n, k, d = f32_shape(
        delta,
        3,
        "the perturbations",
        "a tensor<N x K x D x f32> (points x pairs x coordinates)",
    )
    static(k, "the number of pairs K (dimension 1 of the perturbations)")
    static(d, "the number of coordinates D (dimension 2 of the perturbations)")
    if k < 1:
        raise VerifyException(f"the perturbations hold {k} pairs; at least 1 is needed")
    return n, k, d


def sample_type(x: SSAValue | Operation | Attribute, pairs: int) -> TensorType:
    """Result type of `stein.sample` on points `x`: tensor<N x K x D x f32>."""
    n, d = points_shape(x)
    return f32_tensor(n, pairs, d)


def perturb_type(
    x: SSAValue | Operation | Attribute, delta: SSAValue | Operation | Attribute
) -> TensorType:
    """Result type of `stein.perturb`: tensor<N x 2K+1 x D x f32>."""
    n, d = points_shape(x)
    dn, k, dd = delta_shape(delta)
    _check_batch(n, dn, "the points", "the perturbations")
    if d != dd:
        raise VerifyException(f"the points have {d} coordinates but the perturbations have {dd}")
    return f32_tensor(join(n, dn), 2 * k + 1, d)


def difference_streams_type(delta: SSAValue | Operation | Attribute) -> TensorType:
    """Result type of `stein.difference_streams`: tensor<N x 2K x D x f32>."""
    n, k, d = delta_shape(delta)
    return f32_tensor(n, 2 * k, d)


def estimate_type(
    values: SSAValue | Operation | Attribute,
    delta: SSAValue | Operation | Attribute | None = None,
    width: int = 1,
) -> TensorType:
    """Result type of an estimator: tensor<N x width x f32>, N joined over the operands.

    `width` is b - a for `stein.grad ... dims a to b`, 1 for every other estimator.
    """
    n = _values_shape(values)[0]
    if delta is not None:
        n = join(n, delta_shape(delta)[0])
    return f32_tensor(n, width)


def values_type(n: int, pairs: int, differences: bool = False) -> TensorType:
    """The network values of K pairs: tensor<N x 2K+1 x 1 x f32>, or N x 2K x 1 (differences)."""
    return f32_tensor(n, 2 * pairs + (0 if differences else 1), 1)


def _values_shape(values: SSAValue | Operation | Attribute) -> tuple[int, int]:
    """(N, M) of network values `tensor<N x M x 1 x f32>`; M must be static."""
    n, m, out = f32_shape(
        values,
        3,
        "the network values",
        "a tensor<N x M x 1 x f32> (points x evaluations x one output)",
    )
    static(m, "the number of evaluations per point (dimension 1 of the network values)")
    if out != 1:
        raise VerifyException(
            f"the estimators take a scalar network: the network values must have 1 output, "
            f"got {dim_str(out)}"
        )
    return n, m


def _check_batch(a: int, b: int, what_a: str, what_b: str) -> None:
    if not compatible(a, b):
        raise VerifyException(f"point counts differ: {what_a} have {a} rows, {what_b} have {b}")


def _check_result(op: IRDLOperation, expected: TensorType) -> None:
    """The result must have the expected type, up to a dynamic-vs-static batch dimension."""
    got = op.results[0].type
    ok = (
        isinstance(got, TensorType)
        and got.get_element_type() == expected.get_element_type()
        and got.get_num_dims() == expected.get_num_dims()
        and compatible(got.get_shape()[0], expected.get_shape()[0])
        and got.get_shape()[1:] == expected.get_shape()[1:]
    )
    if not ok:
        raise VerifyException(f"result type {got} does not match the expected {expected}")


def _check_sigma(value: float, name: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise VerifyException(f"{name} must be a positive number, got {value}")


def _check_pairs(pairs: int) -> None:
    if pairs < 1:
        raise VerifyException(f"pairs must be at least 1, got {pairs}")


def _count_form(m: int, k: int, differences: bool) -> None:
    """M evaluations per point must match K pairs: 2K+1 values, or 2K differences."""
    if differences:
        if m != 2 * k:
            hint = (
                "; these look like the 2K+1 values: drop the 'differences' keyword"
                if m == 2 * k + 1
                else ""
            )
            raise VerifyException(
                f"the difference form expects 2K = {2 * k} differences per point for "
                f"{k} pairs, got {m}{hint}"
            )
    elif m != 2 * k + 1:
        hint = "; for DiffQuant differences add the 'differences' keyword" if m == 2 * k else ""
        raise VerifyException(
            f"expects 2K+1 = {2 * k + 1} network values per point for {k} pairs "
            f"(g(x), then g(x+δ_k), then g(x−δ_k)), got {m}{hint}"
        )


def _check_odd_count(m: int) -> None:
    if m < 3 or m % 2 == 0:
        hint = " (2K differences need the 'differences' form)" if m >= 2 and m % 2 == 0 else ""
        raise VerifyException(
            f"expects 2K+1 network values per point (g(x), then g(x+δ_k), then g(x−δ_k)), "
            f"got {m}{hint}"
        )


# ---------------------------------------------------------------------------------------------
# Sampling and perturbed batches
# ---------------------------------------------------------------------------------------------


@irdl_op_definition
class SampleOp(IRDLOperation):
    """Draw K antithetic-pair perturbations per point from the counter-based RNG.

        %delta = stein.sample %x, %seed, %step pairs 512 sigma 1.000000e-02 stream 0
                   : tensor<?x2xf32> -> tensor<?x512x2xf32>
        %tile = stein.sample %xt, %seed, %step at %first pairs 512 sigma 1.000000e-02 stream 0
                   : tensor<?x2xf32> -> tensor<?x512x2xf32>

    `sigma_t S` (optional, after `sigma`) gives the last coordinate (time) its own standard
    deviation. `at %first` (optional, an `index`) says x holds rows first .. first + N − 1 of
    a larger batch (a tile of it); without it first = 0. Semantics, with N, D = x.shape (only
    the shape of x is read):

        z = philox_normal(seed, step, stream, N * K * D, start=first * K * D)
        z = z.reshape(N, K, D)                                              # float32
        scale = np.full(D, sigma, np.float32)
        if sigma_t is not None: scale[-1] = sigma_t
        delta = z * scale

    `philox_normal` is the runtime's generator (Philox4x32-10 keyed by (seed, step, stream),
    Box–Muller on its uniforms), `start` its first draw. Draw number ((first + n)*K + k)*D + j
    becomes delta[n, k, j], so a point's perturbations depend on its row index in the batch
    only, not on N: a tile's sample is bit for bit the same rows of the batch's sample.
    Deterministic in (seed, step, stream, first), hence Pure: two samples with the same
    operands and stream are the same sample set; distinct sets in one step need distinct
    streams.
    """

    name = "stein.sample"
    x = operand_def(TensorType)
    # Any type here: verify_ explains what it must be (irdl's message would not).
    seed = operand_def()
    step = operand_def()
    first = opt_operand_def()
    delta = result_def(TensorType)
    pairs = prop_def(IntegerAttr[I64])
    sigma = prop_def(FloatAttr[Float64Type])
    sigma_t = opt_prop_def(FloatAttr[Float64Type])
    stream = prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())

    def __init__(
        self,
        x: SSAValue | Operation,
        seed: SSAValue | Operation,
        step: SSAValue | Operation,
        pairs: int,
        sigma: float,
        stream: int = 0,
        sigma_t: float | None = None,
        result_type: Attribute | None = None,
        first: SSAValue | Operation | None = None,
    ):
        props: dict[str, Attribute] = {
            "pairs": IntegerAttr(pairs, i64),
            "sigma": FloatAttr(sigma, f64),
        }
        if sigma_t is not None:
            props["sigma_t"] = FloatAttr(sigma_t, f64)
        props["stream"] = IntegerAttr(stream, i64)
        super().__init__(
            operands=[x, seed, step, [] if first is None else [first]],
            result_types=[result_type or sample_type(x, pairs)],
            properties=props,
        )

    def sigma_of_dim(self, dim: int) -> tuple[str, float]:
        """Which property gives coordinate `dim` its standard deviation, and its value."""
        n_coords = points_shape(self.x)[1]
        if self.sigma_t is not None and dim == n_coords - 1:
            return "sigma_t", self.sigma_t.value.data
        return "sigma", self.sigma.value.data

    def verify_(self) -> None:
        pairs = self.pairs.value.data
        _check_pairs(pairs)
        _check_sigma(self.sigma.value.data, "sigma")
        if self.sigma_t is not None:
            _check_sigma(self.sigma_t.value.data, "sigma_t")
        for role, value in (("seed", self.seed), ("step", self.step)):
            if value.type != i64:
                raise VerifyException(f"the {role} must be an i64 scalar, got {value.type}")
        if self.first is not None and not isinstance(self.first.type, IndexType):
            raise VerifyException(
                f"the first row (after 'at') must be an index, got {self.first.type}"
            )
        stream = self.stream.value.data
        if not 0 <= stream <= MAX_STREAM:
            raise VerifyException(f"stream must be in [0, 2^32), got {stream}")
        _, d = points_shape(self.x)
        if self.sigma_t is not None and d < 2:
            raise VerifyException(
                "sigma_t applies to the last coordinate (time), so the points need at least "
                f"one more coordinate; they have {d}"
            )
        _check_result(self, sample_type(self.x, pairs))

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_list([self.x, self.seed, self.step], printer.print_ssa_value)
        if self.first is not None:
            printer.print_string(" at ")
            printer.print_ssa_value(self.first)
        printer.print_string(f" pairs {self.pairs.value.data} sigma ")
        printer.print_float(self.sigma.value.data, f64)
        if self.sigma_t is not None:
            printer.print_string(" sigma_t ")
            printer.print_float(self.sigma_t.value.data, f64)
        printer.print_string(f" stream {self.stream.value.data}")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.x.type)
        printer.print_string(" -> ")
        printer.print_attribute(self.delta.type)

    @classmethod
    def parse(cls, parser: Parser) -> SampleOp:
        x = parser.parse_unresolved_operand()
        parser.parse_punctuation(",")
        seed = parser.resolve_operand(parser.parse_unresolved_operand(), i64)
        parser.parse_punctuation(",")
        step = parser.resolve_operand(parser.parse_unresolved_operand(), i64)
        first = None
        if parser.parse_optional_keyword("at"):
            first = parser.resolve_operand(parser.parse_unresolved_operand(), IndexType())
        parser.parse_keyword("pairs")
        pairs = parser.parse_integer()
        parser.parse_keyword("sigma")
        sigma = float(parser.parse_number())
        sigma_t = None
        if parser.parse_optional_keyword("sigma_t"):
            sigma_t = float(parser.parse_number())
        parser.parse_keyword("stream")
        stream = parser.parse_integer()
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        x_val = parser.resolve_operand(x, parser.parse_type())
        parser.parse_punctuation("->")
        op = cls(x_val, seed, step, pairs, sigma, stream, sigma_t, parser.parse_type(), first)
        op.attributes.update(attrs)
        return op


@irdl_op_definition
class PerturbOp(IRDLOperation):
    """The perturbed evaluation batch: each point followed by its 2K antithetic neighbours.

        %batch = stein.perturb %x, %delta
                   : tensor<?x2xf32>, tensor<?x512x2xf32> -> tensor<?x1025x2xf32>

    Semantics (this order is the runtime contract every estimator relies on):

        batch = np.concatenate([x[:, None, :], x[:, None, :] + delta, x[:, None, :] - delta],
                               axis=1)                                # (N, 2K+1, D)

    i.e. batch[:, 0] = x, batch[:, 1+k] = x + delta[:, k], batch[:, 1+K+k] = x - delta[:, k].
    """

    name = "stein.perturb"
    x = operand_def(TensorType)
    delta = operand_def(TensorType)
    batch = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$x `,` $delta attr-dict `:` type($x) `,` type($delta) `->` type($batch)"

    def __init__(self, x: SSAValue | Operation, delta: SSAValue | Operation):
        super().__init__(operands=[x, delta], result_types=[perturb_type(x, delta)])

    def verify_(self) -> None:
        _check_result(self, perturb_type(self.x, self.delta))


# ---------------------------------------------------------------------------------------------
# Derivative estimators and their transposes
# ---------------------------------------------------------------------------------------------
#
# Every estimator is linear in the network values g (or in the differences d), so its
# vector-Jacobian product is its transpose: for a cotangent `dout` of the estimate, the VJP is
# the `dg` with <E(g), dout> = <g, dg> for every g. `pinn-autodiff` uses these to carry the
# loss gradient from an estimate back to the perturbed batch's network values; δ and σ are
# constants there (the perturbations are not differentiated).


def _check_sigma_matches_sample(delta: SSAValue, sigma: float, lo: int, hi: int) -> None:
    """When `delta` comes straight from stein.sample, sigma must be the one it drew with."""
    sample = delta.owner
    if not isinstance(sample, SampleOp):
        return
    for dim in range(lo, hi):
        name, drawn = sample.sigma_of_dim(dim)
        if drawn != sigma:
            raise VerifyException(
                f"sigma {sigma} differs from the {name} {drawn} that coordinate {dim} of "
                "the perturbations was sampled with"
            )


class _CoordinateEstimatorBase(IRDLOperation):
    """What the derivative estimators and their transposes share: the perturbations δ, the σ
    they were drawn with, a half-open coordinate range [lo, hi) (`dims lo to hi`, all D
    coordinates when omitted, as in `scf.for ... to`) and the value or difference form.

    Syntax: `stein.OP [differences] %first, %delta sigma S [dims A to B] : T, Tδ -> R`.
    """

    delta = operand_def(TensorType)
    result = result_def(TensorType)
    sigma = prop_def(FloatAttr[Float64Type])
    dim_lo = opt_prop_def(IntegerAttr[I64])
    dim_hi = opt_prop_def(IntegerAttr[I64])
    differences = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())

    def __init__(
        self,
        first: SSAValue | Operation,
        delta: SSAValue | Operation,
        sigma: float,
        dims: tuple[int, int] | None = None,
        differences: bool = False,
        result_type: Attribute | None = None,
    ):
        full = (0, delta_shape(delta)[2])
        if dims is None:
            dims = full
        props: dict[str, Attribute | None] = {
            "sigma": FloatAttr(float(sigma), f64),
            "dim_lo": None if dims == full else IntegerAttr(dims[0], i64),
            "dim_hi": None if dims == full else IntegerAttr(dims[1], i64),
            "differences": UnitAttr() if differences else None,
        }
        super().__init__(
            operands=[first, delta],
            result_types=[result_type or self.infer_result_type(first, delta, dims, differences)],
            properties=props,
        )

    @classmethod
    def infer_result_type(
        cls,
        first: SSAValue | Operation | Attribute,
        delta: SSAValue | Operation | Attribute,
        dims: tuple[int, int],
        differences: bool,
    ) -> TensorType:
        raise NotImplementedError

    @property
    def dims(self) -> tuple[int, int]:
        """The half-open coordinate range [lo, hi) the estimate covers."""
        if self.dim_lo is None or self.dim_hi is None:
            return 0, self.delta.type.get_shape()[2]
        return self.dim_lo.value.data, self.dim_hi.value.data

    @property
    def is_difference_form(self) -> bool:
        return self.differences is not None

    def verify_(self) -> None:
        _check_sigma(self.sigma.value.data, "sigma")
        n_delta, k, d = delta_shape(self.delta)
        if (self.dim_lo is None) != (self.dim_hi is None):
            raise VerifyException("write a coordinate range as `dims lo to hi`")
        lo, hi = self.dims
        if not 0 <= lo < hi <= d:
            raise VerifyException(
                f"dims {lo} to {hi} is not a non-empty range within the {d} coordinates [0, {d})"
            )
        _check_sigma_matches_sample(self.delta, self.sigma.value.data, lo, hi)
        first = self.operands[0]
        self._verify_first(first, n_delta, k, (lo, hi))
        _check_result(
            self, self.infer_result_type(first, self.delta, (lo, hi), self.is_difference_form)
        )

    def _verify_first(self, first: SSAValue, n_delta: int, k: int, dims: tuple[int, int]):
        """Checks of the first operand (values or cotangent) against δ's N and K."""
        raise NotImplementedError


class _DerivativeEstimator(_CoordinateEstimatorBase):
    """`stein.grad` and `stein.laplacian`: the values (or differences) first."""

    values = operand_def(TensorType)
    assembly_format = (
        "(`differences` $differences^)? $values `,` $delta `sigma` $sigma "
        "(`dims` $dim_lo^ `to` $dim_hi)? attr-dict "
        "`:` type($values) `,` type($delta) `->` type($result)"
    )

    def _verify_first(self, first: SSAValue, n_delta: int, k: int, dims: tuple[int, int]):
        n_values, m = _values_shape(first)
        _check_batch(n_values, n_delta, "the network values", "the perturbations")
        _count_form(m, k, self.is_difference_form)


@irdl_op_definition
class GradOp(_DerivativeEstimator):
    """Antithetic Stein estimate of the gradient of the smoothed network, coordinates [a, b).

        %du = stein.grad %g, %delta sigma 1.000000e-02 dims 0 to 2
                : tensor<?x1025x1xf32>, tensor<?x512x3xf32> -> tensor<?x2xf32>
        %du = stein.grad differences %d, %delta sigma 1.000000e-02 dims 0 to 2
                : tensor<?x1024x1xf32>, tensor<?x512x3xf32> -> tensor<?x2xf32>

    Semantics (K = delta.shape[1]; a one-coordinate range `dims i to i+1` is ∂u/∂x_i, e.g. the
    time derivative with `sigma` = the sample's sigma_t):

        if differences: plus, minus = d[:, :K, 0], d[:, K:, 0]          # g(x±δ) − g(x)
        else:           plus, minus = g[:, 1:K+1, 0], g[:, K+1:, 0]     # g(x±δ)
        grad = np.einsum("nk,nkj->nj", plus - minus, delta[:, :, a:b]) / (2 * K * sigma**2)

    i.e. mean_k δ_k (g(x+δ_k) − g(x−δ_k)) / (2σ²); the two forms agree since the g(x) cancel.
    """

    name = "stein.grad"

    @classmethod
    def infer_result_type(cls, first, delta, dims, differences) -> TensorType:
        return estimate_type(first, delta, dims[1] - dims[0])


@irdl_op_definition
class LaplacianOp(_DerivativeEstimator):
    """Antithetic Stein estimate, with control variate, of the Laplacian over coordinates [a, b).

        %lap = stein.laplacian %g, %delta sigma 1.000000e-02 dims 0 to 2
                 : tensor<?x1025x1xf32>, tensor<?x512x3xf32> -> tensor<?x1xf32>
        %lap = stein.laplacian differences %d, %delta sigma 1.000000e-02 dims 0 to 2
                 : tensor<?x1024x1xf32>, tensor<?x512x3xf32> -> tensor<?x1xf32>

    Semantics (K = delta.shape[1], Dr = b - a; every coordinate in [a, b) must have been drawn
    with this sigma):

        if differences: second = d[:, :K, 0] + d[:, K:, 0]
        else:           second = g[:, 1:K+1, 0] + g[:, K+1:, 0] - 2 * g[:, :1, 0]
        weight = np.sum(delta[:, :, a:b] ** 2, axis=2) - Dr * sigma**2          # (N, K)
        lap = np.sum(weight * second, axis=1, keepdims=True) / (2 * K * sigma**4)

    i.e. mean_k (‖δ_k‖² − Dr σ²)(g(x+δ_k) + g(x−δ_k) − 2g(x)) / (2σ⁴), norms over [a, b).
    The runtime evaluates the value form's `second` as (g(x+δ_k) − g(x)) + (g(x−δ_k) − g(x)):
    equal in exact arithmetic; in float32 both differences are exact whenever g(x±δ_k) is
    within a factor 2 of g(x) (Sterbenz), so only their O(σ²) sum is rounded, not g₊ + g₋ at
    the scale of g.
    """

    name = "stein.laplacian"

    @classmethod
    def infer_result_type(cls, first, delta, dims, differences) -> TensorType:
        return estimate_type(first, delta)


class _DerivativeEstimatorVjp(_CoordinateEstimatorBase):
    """`stein.grad_vjp` and `stein.laplacian_vjp`: the cotangent of the estimate first, with
    the properties of the estimator they transpose (same σ, same range, same form)."""

    dout = operand_def(TensorType)
    assembly_format = (
        "(`differences` $differences^)? $dout `,` $delta `sigma` $sigma "
        "(`dims` $dim_lo^ `to` $dim_hi)? attr-dict "
        "`:` type($dout) `,` type($delta) `->` type($result)"
    )

    @classmethod
    def infer_result_type(cls, first, delta, dims, differences) -> TensorType:
        """The estimator's values type: tensor<N x 2K+1 x 1 x f32> (N x 2K x 1 with
        `differences`), N joined over the cotangent and the perturbations."""
        n, _ = f32_shape(first, 2, "the cotangent", "a tensor<N x R x f32>")
        dn, k, _ = delta_shape(delta)
        _check_batch(n, dn, "the cotangents", "the perturbations")
        return values_type(join(n, dn), k, differences)

    @classmethod
    def cotangent_width(cls, dims: tuple[int, int]) -> int:
        """Columns of the cotangent: those of the estimate it is the cotangent of."""
        raise NotImplementedError

    def _verify_first(self, first: SSAValue, n_delta: int, k: int, dims: tuple[int, int]):
        width = self.cotangent_width(dims)
        n, r = f32_shape(first, 2, "the cotangent", "a tensor<N x R x f32>")
        static(r, "the width of the cotangent (dimension 1)")
        if r != width:
            lo, hi = dims
            what = f"dims {lo} to {hi}" if self.name == "stein.grad_vjp" else "the Laplacian"
            raise VerifyException(f"the cotangent must have {width} column(s) for {what}, got {r}")
        _check_batch(n, n_delta, "the cotangents", "the perturbations")


@irdl_op_definition
class GradVjpOp(_DerivativeEstimatorVjp):
    """Transpose of `stein.grad` w.r.t. the network values: the gradient's VJP.

        %dg = stein.grad_vjp %dout, %delta sigma 1.000000e-02 dims 0 to 2
                : tensor<?x2xf32>, tensor<?x512x3xf32> -> tensor<?x1025x1xf32>
        %dd = stein.grad_vjp differences %dout, %delta sigma 1.000000e-02 dims 0 to 2
                : tensor<?x2xf32>, tensor<?x512x3xf32> -> tensor<?x1024x1xf32>

    `dout` is the cotangent of `stein.grad ... dims a to b` (tensor<N x (b−a)>); the result
    `dg` satisfies <grad(g), dout> = <g, dg> for every g. Semantics (K = delta.shape[1]):

        s = np.einsum("nj,nkj->nk", dout, delta[:, :, a:b]) / (2 * K * sigma**2)   # (N, K)
        if differences: dg = np.concatenate([s, -s], axis=1)[:, :, None]             # (N, 2K, 1)
        else:           dg = np.concatenate([np.zeros_like(s[:, :1]), s, -s],
                                            axis=1)[:, :, None]                     # (N, 2K+1, 1)

    Row 0 (g(x)) gets 0: the two g(x) of the antithetic difference cancel.
    """

    name = "stein.grad_vjp"

    @classmethod
    def cotangent_width(cls, dims: tuple[int, int]) -> int:
        return dims[1] - dims[0]


@irdl_op_definition
class LaplacianVjpOp(_DerivativeEstimatorVjp):
    """Transpose of `stein.laplacian` w.r.t. the network values: the Laplacian's VJP.

        %dg = stein.laplacian_vjp %dout, %delta sigma 1.000000e-02 dims 0 to 2
                : tensor<?x1xf32>, tensor<?x512x3xf32> -> tensor<?x1025x1xf32>
        %dd = stein.laplacian_vjp differences %dout, %delta sigma 1.000000e-02 dims 0 to 2
                : tensor<?x1xf32>, tensor<?x512x3xf32> -> tensor<?x1024x1xf32>

    `dout` is the cotangent of `stein.laplacian ... dims a to b` (tensor<N x 1>); the result
    `dg` satisfies <laplacian(g), dout> = <g, dg> for every g. Semantics (K = delta.shape[1],
    Dr = b − a):

        weight = np.sum(delta[:, :, a:b] ** 2, axis=2) - Dr * sigma**2              # (N, K)
        c = weight * dout / (2 * K * sigma**4)                                       # (N, K)
        if differences: dg = np.concatenate([c, c], axis=1)[:, :, None]              # (N, 2K, 1)
        else:           dg = np.concatenate([-2 * np.sum(c, axis=1, keepdims=True), c, c],
                                            axis=1)[:, :, None]                     # (N, 2K+1, 1)

    Row 0 (g(x)) gets the control variate's coefficient, −2 Σ_k c_k.
    """

    name = "stein.laplacian_vjp"

    @classmethod
    def cotangent_width(cls, dims: tuple[int, int]) -> int:
        return 1


# ---------------------------------------------------------------------------------------------
# Value estimators and their transposes
# ---------------------------------------------------------------------------------------------


@irdl_op_definition
class CenterOp(IRDLOperation):
    """The unperturbed value g(x) out of the perturbed batch's values.

        %u = stein.center %g : tensor<?x1025x1xf32> -> tensor<?x1xf32>

    Semantics: `u = g[:, 0, :]`. There is no difference form: under DiffQuant g(x) is the base
    stream itself.
    """

    name = "stein.center"
    values = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$values attr-dict `:` type($values) `->` type($result)"

    def __init__(self, values: SSAValue | Operation):
        super().__init__(operands=[values], result_types=[estimate_type(values)])

    def verify_(self) -> None:
        _, m = _values_shape(self.values)
        _check_odd_count(m)
        _check_result(self, estimate_type(self.values))


@irdl_op_definition
class SmoothedOp(IRDLOperation):
    """Monte-Carlo value of the Gaussian-smoothed network f_σ(x) = E[g(x+δ)].

        %us = stein.smoothed %g : tensor<?x1025x1xf32> -> tensor<?x1xf32>
        %us = stein.smoothed differences %d base %u
                : tensor<?x1024x1xf32>, tensor<?x1xf32> -> tensor<?x1xf32>

    Semantics: the mean of the 2K perturbed values (g(x) itself is not included):

        if differences: us = base + np.mean(d, axis=1)        # base = g(x): (N, 1)
        else:           us = np.mean(g[:, 1:, :], axis=1)
    """

    name = "stein.smoothed"
    values = operand_def(TensorType)
    base = opt_operand_def(TensorType)
    result = result_def(TensorType)
    differences = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())

    def __init__(self, values: SSAValue | Operation, base: SSAValue | Operation | None = None):
        """The difference form when `base` (the base-stream output g(x)) is given."""
        super().__init__(
            operands=[values, base],
            result_types=[estimate_type(values)],
            properties={"differences": UnitAttr()} if base is not None else {},
        )

    @property
    def is_difference_form(self) -> bool:
        return self.differences is not None

    def verify_(self) -> None:
        n, m = _values_shape(self.values)
        if self.is_difference_form:
            if self.base is None:
                raise VerifyException(
                    "the difference form needs the base value g(x): "
                    "'stein.smoothed differences %d base %g0'"
                )
            if m < 2 or m % 2:
                raise VerifyException(
                    f"the difference form expects 2K differences per point, got {m}"
                )
            bn, bw = f32_shape(self.base, 2, "the base value", "a tensor<N x 1 x f32>")
            if bw != 1:
                raise VerifyException(f"the base value must have 1 output, got {dim_str(bw)}")
            _check_batch(n, bn, "the differences", "the base value")
        else:
            if self.base is not None:
                raise VerifyException("a base value is only taken by the 'differences' form")
            _check_odd_count(m)
        _check_result(self, estimate_type(self.values))

    # Hand-written: the base operand and its type come and go with the difference form.
    def print(self, printer: Printer) -> None:
        if self.is_difference_form:
            printer.print_string(" differences")
        printer.print_string(" ")
        printer.print_ssa_value(self.values)
        types = [self.values.type]
        if self.base is not None:
            printer.print_string(" base ")
            printer.print_ssa_value(self.base)
            types.append(self.base.type)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_list(types, printer.print_attribute)
        printer.print_string(" -> ")
        printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> SmoothedOp:
        differences = parser.parse_optional_keyword("differences") is not None
        operands: list[UnresolvedOperand] = [parser.parse_unresolved_operand()]
        if differences:
            parser.parse_keyword("base")
            operands.append(parser.parse_unresolved_operand())
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        pos = parser.pos
        types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
        resolved = parser.resolve_operands(operands, types, pos)
        parser.parse_punctuation("->")
        result_type = parser.parse_type()
        op = cls.create(
            operands=resolved,
            result_types=[result_type],
            properties={"differences": UnitAttr()} if differences else {},
            attributes=attrs,
        )
        return op


class _ValueEstimatorVjp(IRDLOperation):
    """`stein.center_vjp` and `stein.smoothed_vjp`: the transposes of the value estimates.

    Syntax: `stein.OP [differences] %dout pairs K : tensor<N x 1 x f32> -> TG`. The estimate has
    lost K, so the op carries it as a property (as `stein.sample` does); the result type must
    agree with it.
    """

    dout = operand_def(TensorType)
    result = result_def(TensorType)
    pairs = prop_def(IntegerAttr[I64])
    differences = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    assembly_format = (
        "(`differences` $differences^)? $dout `pairs` $pairs attr-dict "
        "`:` type($dout) `->` type($result)"
    )

    def __init__(self, dout: SSAValue | Operation, pairs: int, differences: bool = False):
        super().__init__(
            operands=[dout],
            result_types=[self.infer_result_type(dout, pairs, differences)],
            properties={
                "pairs": IntegerAttr(pairs, i64),
                "differences": UnitAttr() if differences else None,
            },
        )

    @staticmethod
    def infer_result_type(
        dout: SSAValue | Operation | Attribute, pairs: int, differences: bool = False
    ) -> TensorType:
        n, _ = f32_shape(dout, 2, "the cotangent", "a tensor<N x 1 x f32>")
        return values_type(n, pairs, differences)

    @property
    def is_difference_form(self) -> bool:
        return self.differences is not None

    def verify_(self) -> None:
        pairs = self.pairs.value.data
        _check_pairs(pairs)
        _, r = f32_shape(self.dout, 2, "the cotangent", "a tensor<N x 1 x f32>")
        static(r, "the width of the cotangent (dimension 1)")
        if r != 1:
            raise VerifyException(f"the cotangent of a value estimate has 1 column, got {r}")
        _check_result(self, self.infer_result_type(self.dout, pairs, self.is_difference_form))


@irdl_op_definition
class CenterVjpOp(_ValueEstimatorVjp):
    """Transpose of `stein.center` w.r.t. the network values.

        %dg = stein.center_vjp %dout pairs 512 : tensor<?x1xf32> -> tensor<?x1025x1xf32>

    Semantics (K = pairs; dout is the cotangent of g(x), tensor<N x 1>):

        dg = np.zeros((N, 2 * K + 1, 1), np.float32)
        dg[:, 0, :] = dout

    There is no difference form: under DiffQuant g(x) is the base stream itself, whose
    cotangent is dout.
    """

    name = "stein.center_vjp"

    def __init__(self, dout: SSAValue | Operation, pairs: int):
        super().__init__(dout, pairs)

    def verify_(self) -> None:
        if self.is_difference_form:
            raise VerifyException(
                "has no difference form: under DiffQuant g(x) is the base stream, whose "
                "cotangent is dout itself"
            )
        super().verify_()


@irdl_op_definition
class SmoothedVjpOp(_ValueEstimatorVjp):
    """Transpose of `stein.smoothed` w.r.t. the network values (or the differences).

        %dg = stein.smoothed_vjp %dout pairs 512 : tensor<?x1xf32> -> tensor<?x1025x1xf32>
        %dd = stein.smoothed_vjp differences %dout pairs 512
                : tensor<?x1xf32> -> tensor<?x1024x1xf32>

    Semantics (K = pairs; dout is the cotangent of f_σ(x), tensor<N x 1>):

        if differences: dg = np.broadcast_to(dout[:, None, :] / (2 * K), (N, 2 * K, 1))
        else:           dg = np.concatenate([np.zeros((N, 1, 1)),
                                             np.broadcast_to(dout[:, None, :] / (2 * K),
                                                             (N, 2 * K, 1))], axis=1)

    Row 0 (g(x)) gets 0: it is not averaged in. For the difference form
    `stein.smoothed differences %d base %u`, the cotangent of the base `%u` is `dout` itself.
    """

    name = "stein.smoothed_vjp"


# ---------------------------------------------------------------------------------------------
# DiffQuant streams
# ---------------------------------------------------------------------------------------------


@irdl_op_definition
class DifferenceStreamsOp(IRDLOperation):
    """The input-layer difference stream of DiffQuant; the base stream is x itself.

        %d0 = stein.difference_streams %delta : tensor<?x512x2xf32> -> tensor<?x1024x2xf32>

    Semantics: `d = np.concatenate([delta, -delta], axis=1)`  # (N, 2K, D)
    Row j of d is batch row 1+j of `stein.perturb` minus x: the difference streams follow the
    perturbed batch's order, so the network's output differences feed the estimators'
    difference form directly.
    """

    name = "stein.difference_streams"
    delta = operand_def(TensorType)
    streams = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$delta attr-dict `:` type($delta) `->` type($streams)"

    def __init__(self, delta: SSAValue | Operation):
        super().__init__(operands=[delta], result_types=[difference_streams_type(delta)])

    def verify_(self) -> None:
        _check_result(self, difference_streams_type(self.delta))


@irdl_op_definition
class EvalStreamsOp(IRDLOperation):
    """A network evaluated as DiffQuant's base stream and difference streams.

        %gb, %gd = stein.eval_streams @u(%x, %d0)
                     : tensor<?x2xf32>, tensor<?x1024x2xf32> -> tensor<?x1xf32>, tensor<?x1024x1xf32>

    Semantics: `gb = u(x)` and `gd[:, m] = u(x + d[:, m]) − u(x)` for each of the M streams,
    computed layer by layer on the differences: a linear layer maps a difference stream d to
    d·W (W(h + d) − Wh = Wd, no bias), a nonlinearity to φ(z_b + z_d) − φ(z_b)
    (`stein.diff_activation`), so a σ-sized difference is carried by itself, never as a small
    change of a large value. `pinn-build-loss` lowers it with each layer's difference lowering.
    """

    name = "stein.eval_streams"
    network = prop_def(SymbolRefAttr)
    base = operand_def(TensorType)
    differences = operand_def(TensorType)
    base_out = result_def(TensorType)
    differences_out = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$network `` `(` $base `,` $differences `)` attr-dict `:` type($base) `,` "
        "type($differences) `->` type($base_out) `,` type($differences_out)"
    )

    def __init__(self, network: str, base: SSAValue | Operation, differences: SSAValue | Operation):
        n, _ = points_shape(base)
        dn, m, _ = f32_shape(differences, 3, "the difference streams", _STREAMS_LAYOUT)
        super().__init__(
            operands=[base, differences],
            result_types=[f32_tensor(n, 1), f32_tensor(dn, m, 1)],
            properties={"network": SymbolRefAttr(network)},
        )

    def verify_(self) -> None:
        n, d = points_shape(self.base)
        dn, m, dd = f32_shape(self.differences, 3, "the difference streams", _STREAMS_LAYOUT)
        _check_batch(n, dn, "the base stream", "the difference streams")
        if dd != d:
            raise VerifyException(
                f"the base stream has {d} coordinates but the difference streams have {dd}"
            )
        bn, bw = f32_shape(self.base_out, 2, "the base output", "a tensor<N x 1 x f32>")
        on, om, ow = f32_shape(self.differences_out, 3, "the output differences", _STREAMS_LAYOUT)
        if bw != 1 or ow != 1 or om != m or not compatible(bn, n) or not compatible(on, dn):
            raise VerifyException(
                f"a scalar network on {dim_str(n)} points with {m} streams gives "
                f"tensor<{dim_str(n)}x1xf32> and tensor<{dim_str(dn)}x{m}x1xf32>"
            )
        target = pinn.lookup(self, self.network)
        if target is not None and not isinstance(target, pinn.NetworkOp):
            raise VerifyException(
                f"@{self.network.string_value()} is a '{target.name}', not a network"
            )
        if isinstance(target, pinn.NetworkOp) and target.input_width not in (d, DYNAMIC):
            raise VerifyException(
                f"@{target.sym_name.data} takes points with {target.input_width} coordinates, "
                f"got {d}"
            )


_STREAMS_LAYOUT = "a tensor<N x M x D x f32> (points x streams x coordinates)"


_ZD_LAYOUT = "a tensor<N x M x H x f32> (points x streams x width)"


def _check_streams(zb: SSAValue, zd: SSAValue) -> None:
    """z_b (N x H) and z_d (N x M x H) of one layer's base and difference streams."""
    bn, bh = f32_shape(
        zb, 2, "the base pre-activation z_b", "a tensor<N x H x f32> (points x width)"
    )
    dn, _, dh = f32_shape(zd, 3, "the difference pre-activation z_d", _ZD_LAYOUT)
    _check_batch(bn, dn, "the base stream", "the difference stream")
    if not compatible(bh, dh):
        raise VerifyException(
            f"the base stream has width {dim_str(bh)} but the difference stream has {dim_str(dh)}"
        )


@irdl_op_definition
class DiffActivationOp(IRDLOperation):
    """A nonlinear layer on a difference stream: φ(z_b + z_d) − φ(z_b), evaluated in f32.

        %a = stein.diff_activation tanh %zb, %zd
               : tensor<?x256xf32>, tensor<?x1024x256xf32> -> tensor<?x1024x256xf32>

    Semantics (φ is the activation's NumPy function; z_b is broadcast over the stream axis):

        out = phi(zb[:, None, :] + zd) - phi(zb[:, None, :])              # (N, M, H)

    The base stream's own activation, φ(z_b), is the ordinary `math` op.
    """

    name = "stein.diff_activation"
    activation = prop_def(ActivationAttr)
    zb = operand_def(TensorType)
    zd = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$activation $zb `,` $zd attr-dict `:` type($zb) `,` type($zd) `->` type($result)"
    )

    def __init__(self, activation: str, zb: SSAValue | Operation, zd: SSAValue | Operation):
        f32_shape(zd, 3, "the difference pre-activation z_d", _ZD_LAYOUT)
        super().__init__(
            operands=[zb, zd],
            result_types=[SSAValue.get(zd).type],
            properties={"activation": ActivationAttr(activation)},
        )

    def verify_(self) -> None:
        _check_streams(self.zb, self.zd)
        if self.result.type != self.zd.type:
            raise VerifyException(
                f"result type {self.result.type} must equal the difference stream's type "
                f"{self.zd.type}"
            )


@irdl_op_definition
class DiffActivationVjpOp(IRDLOperation):
    """The transpose of `stein.diff_activation` (its two vector-Jacobian products).

        %dzb, %dzd = stein.diff_activation_vjp tanh %zb, %zd, %dout
                       : tensor<?x256xf32>, tensor<?x1024x256xf32>, tensor<?x1024x256xf32>
                       -> tensor<?x256xf32>, tensor<?x1024x256xf32>

    For out = φ(z_b + z_d) − φ(z_b) and the cotangent dout (shaped like z_d):

        p = phi_prime(zb[:, None, :] + zd)                              # (N, M, H)
        dzd = p * dout
        dzb = np.sum((p - phi_prime(zb)[:, None, :]) * dout, axis=1)    # (N, H)

    φ' comes from the activation's table entry (from φ(z_b + z_d) when it saves its output).
    """

    name = "stein.diff_activation_vjp"
    activation = prop_def(ActivationAttr)
    zb = operand_def(TensorType)
    zd = operand_def(TensorType)
    dout = operand_def(TensorType)
    dzb = result_def(TensorType)
    dzd = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$activation $zb `,` $zd `,` $dout attr-dict `:` type($zb) `,` type($zd) `,` "
        "type($dout) `->` type($dzb) `,` type($dzd)"
    )

    def __init__(
        self,
        activation: str,
        zb: SSAValue | Operation,
        zd: SSAValue | Operation,
        dout: SSAValue | Operation,
    ):
        super().__init__(
            operands=[zb, zd, dout],
            result_types=[SSAValue.get(zb).type, SSAValue.get(zd).type],
            properties={"activation": ActivationAttr(activation)},
        )

    def verify_(self) -> None:
        _check_streams(self.zb, self.zd)
        if self.dout.type != self.zd.type or self.dzd.type != self.zd.type:
            raise VerifyException("dout and the z_d gradient have the type of z_d")
        if self.dzb.type != self.zb.type:
            raise VerifyException("the z_b gradient has the type of z_b")


@irdl_op_definition
class DiffActivationVjpStreamsOp(IRDLOperation):
    """The z_d gradient of `stein.diff_activation_vjp` alone, for a tile of the streams.

        %dzd = stein.diff_activation_vjp_streams tanh %zb, %zd, %dout
                 : tensor<?x256xf32>, tensor<?x128x256xf32>, tensor<?x128x256xf32>
                 -> tensor<?x128x256xf32>

    dzd = phi_prime(zb[:, None, :] + zd) * dout, element by element, so a tile of the streams
    gives that tile of the whole's. The z_b gradient sums over all the streams: a loop over
    stream tiles runs on Σ dzd and Σ dout (`tile.accumulate_streams`) and
    `stein.diff_activation_vjp_center` finishes it.
    """

    name = "stein.diff_activation_vjp_streams"
    activation = prop_def(ActivationAttr)
    zb = operand_def(TensorType)
    zd = operand_def(TensorType)
    dout = operand_def(TensorType)
    dzd = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$activation $zb `,` $zd `,` $dout attr-dict `:` type($zb) `,` type($zd) `,` "
        "type($dout) `->` type($dzd)"
    )

    def __init__(
        self,
        activation: str,
        zb: SSAValue | Operation,
        zd: SSAValue | Operation,
        dout: SSAValue | Operation,
    ):
        super().__init__(
            operands=[zb, zd, dout],
            result_types=[SSAValue.get(zd).type],
            properties={"activation": ActivationAttr(activation)},
        )

    def verify_(self) -> None:
        _check_streams(self.zb, self.zd)
        if self.dout.type != self.zd.type or self.dzd.type != self.zd.type:
            raise VerifyException("dout and the z_d gradient have the type of z_d")


@irdl_op_definition
class DiffActivationVjpCenterOp(IRDLOperation):
    """The z_b gradient of `stein.diff_activation_vjp` from its two sums over the streams.

        %dzb = stein.diff_activation_vjp_center tanh %zb, %sum_dzd, %sum_dout
                 : tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x256xf32> -> tensor<?x256xf32>

    dzb = sum_dzd - phi_prime(zb) * sum_dout, with sum_dzd = Σ_streams dzd and sum_dout =
    Σ_streams dout, each summed in stream order: `stein.diff_activation_vjp`'s own arithmetic.
    """

    name = "stein.diff_activation_vjp_center"
    activation = prop_def(ActivationAttr)
    zb = operand_def(TensorType)
    sum_dzd = operand_def(TensorType)
    sum_dout = operand_def(TensorType)
    dzb = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$activation $zb `,` $sum_dzd `,` $sum_dout attr-dict `:` type($zb) `,` "
        "type($sum_dzd) `,` type($sum_dout) `->` type($dzb)"
    )

    def __init__(
        self,
        activation: str,
        zb: SSAValue | Operation,
        sum_dzd: SSAValue | Operation,
        sum_dout: SSAValue | Operation,
    ):
        super().__init__(
            operands=[zb, sum_dzd, sum_dout],
            result_types=[SSAValue.get(zb).type],
            properties={"activation": ActivationAttr(activation)},
        )

    def verify_(self) -> None:
        if not self.zb.type == self.sum_dzd.type == self.sum_dout.type == self.dzb.type:
            raise VerifyException("z_b, both sums and the z_b gradient have one type")


STEIN = Dialect(
    "stein",
    [
        SampleOp,
        PerturbOp,
        GradOp,
        LaplacianOp,
        CenterOp,
        SmoothedOp,
        GradVjpOp,
        LaplacianVjpOp,
        CenterVjpOp,
        SmoothedVjpOp,
        DifferenceStreamsOp,
        EvalStreamsOp,
        DiffActivationOp,
        DiffActivationVjpOp,
        DiffActivationVjpStreamsOp,
        DiffActivationVjpCenterOp,
    ],
    [],
)
