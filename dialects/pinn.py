"""The `pinn` dialect: a PDE problem as the user writes it.

A `pinn.problem` holds domains, parameters, networks, loss terms (PDE residuals and boundary /
initial conditions), the exact solution and the training configuration. Networks and
parameters are symbols; derivative operators (`pinn.grad`, `pinn.laplacian`, `pinn.partial`)
are ops applied to a network symbol, so passes can rewrite them (e.g. into Stein estimators).

Points are rows of a `tensor<?xDxf32>`: the spatial coordinates first, then time (if the
domain has a time interval). Elementwise math uses upstream `arith` / `math` ops on tensors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    I64,
    ArrayAttr,
    DictionaryAttr,
    Float32Type,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    SymbolRefAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.ir import Attribute, Dialect, Operation, Region, SSAValue, TypeAttribute
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    lazy_traits_def,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import (
    HasParent,
    IsolatedFromAbove,
    IsTerminator,
    NoTerminator,
    Pure,
    SymbolOpInterface,
    SymbolTable,
)
from xdsl.utils.exceptions import VerifyException

from pintac.core.inits import PARAM_INITS, default_init
from pintac.core.limits import MAX_EVAL_POINTS, MAX_SEED, MAX_STEPS
from pintac.core.training import OPTIMIZERS, SCHEDULES
from pintac.dialects.support import (
    DYNAMIC,
    compatible,
    float_array,
    floats_of,
    format_float,
    parse_real,
    parse_real_list,
    print_real_list,
    shape_str,
    tensor_shape,
)
from pintac.dialects.train import format_config, python_value
from pintac.dialects.tt import check_chain

#: Points per loss term when `pinn.train` gives no batch sizes.
DEFAULT_BATCH = 100

# ---------------------------------------------------------------- helpers


def require_points(value_type: Attribute, what: str) -> list[int]:
    """A batch of points: a rank-2 f32 tensor (rows = points). Returns its shape."""
    shape = tensor_shape(value_type)
    if (
        shape is None
        or len(shape) != 2
        or not isinstance(value_type.get_element_type(), Float32Type)
    ):
        raise VerifyException(f"{what} must be a rank-2 f32 tensor of points, got {value_type}")
    return shape


def lookup(op: Operation, ref: SymbolRefAttr) -> Operation | None:
    """Resolve a symbol from the nearest enclosing symbol table (the problem)."""
    try:
        return SymbolTable.lookup_symbol(op, ref)
    except ValueError:  # no symbol table above: nothing to check against
        return None


def lookup_kind(op: Operation, ref: SymbolRefAttr, kind: type[Operation], role: str) -> Operation:
    """Resolve `ref` and insist it names a `kind` op, with a message saying what it is instead."""
    target = lookup(op, ref)
    name = ref.string_value()
    if target is None:
        raise VerifyException(f"{role} @{name} is not defined in this problem")
    if not isinstance(target, kind):
        raise VerifyException(
            f"{role} @{name} must be a '{kind.name}', but it is a '{target.name}'"
        )
    return target


def check_dim_range(lo: int, hi: int, width: int, what: str) -> None:
    if not 0 <= lo < hi <= width:
        raise VerifyException(
            f"{what} range {lo} to {hi} is not within the {width} coordinates of the points"
        )


# ---------------------------------------------------------------- problem


@irdl_op_definition
class ProblemOp(IRDLOperation):
    """One PDE problem: `pinn.problem @name { domains, params, networks, terms, exact, train }`."""

    name = "pinn.problem"
    sym_name = prop_def(StringAttr)
    body = region_def("single_block")
    traits = traits_def(SymbolOpInterface(), SymbolTable(), NoTerminator(), IsolatedFromAbove())

    def __init__(self, sym_name: str, body: Region):
        super().__init__(properties={"sym_name": StringAttr(sym_name)}, regions=[body])

    @classmethod
    def parse(cls, parser: Parser) -> ProblemOp:
        name = parser.parse_symbol_name()
        attrs = parser.parse_optional_attr_dict_with_keyword()
        body = parser.parse_region()
        if not body.blocks:
            body.add_block(_empty_block())
        op = cls(name.data, body)
        if attrs is not None:
            op.attributes |= attrs.data
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        if self.attributes:
            printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False, print_empty_block=False)

    def verify_(self) -> None:
        allowed = (DomainOp, ParamOp, NetworkOp, ResidualOp, BoundaryOp, ExactOp, TrainOp)
        counts = {ExactOp: 0, TrainOp: 0}
        for op in self.body.block.ops:
            if not isinstance(op, allowed):
                raise VerifyException(
                    f"'{op.name}' cannot appear directly in a problem; a problem holds "
                    "domains, params, networks, residual and boundary terms, exact, train"
                )
            if type(op) in counts:
                counts[type(op)] += 1
                if counts[type(op)] > 1:
                    raise VerifyException(f"a problem has at most one '{op.name}'")

    # -- queries used by passes and the runtime
    def ops_of(self, kind: type[Operation]) -> list[Operation]:
        return [op for op in self.body.block.ops if isinstance(op, kind)]

    @property
    def terms(self) -> list[ResidualOp | BoundaryOp]:
        return [op for op in self.body.block.ops if isinstance(op, ResidualOp | BoundaryOp)]

    @property
    def train(self) -> TrainOp | None:
        return next(iter(self.ops_of(TrainOp)), None)

    @property
    def exact(self) -> ExactOp | None:
        return next(iter(self.ops_of(ExactOp)), None)


def _empty_block():
    from xdsl.ir import Block

    return Block()


# ---------------------------------------------------------------- domains


@irdl_op_definition
class DomainOp(IRDLOperation):
    """A sampling domain: a box or a ball in space, optionally times a time interval.

    pinn.domain @omega box [0.0, 0.0] to [1.0, 1.0]
    pinn.domain @cube box [0.0] to [1.0] dim 20 time [0.0, 1.0]    // bounds broadcast to 20 dims
    pinn.domain @ball ball center [0.0] radius 1.0 dim 100 time [0.0, 1.0]

    Points have the spatial coordinates first and time last.
    """

    name = "pinn.domain"
    sym_name = prop_def(StringAttr)
    kind = prop_def(StringAttr)  # "box" | "ball"
    lower = opt_prop_def(ArrayAttr[FloatAttr])  # box
    upper = opt_prop_def(ArrayAttr[FloatAttr])  # box
    center = opt_prop_def(ArrayAttr[FloatAttr])  # ball
    radius = opt_prop_def(FloatAttr)  # ball
    dim = opt_prop_def(IntegerAttr[I64])  # broadcast length-1 bounds / centre to this many dims
    time = opt_prop_def(ArrayAttr[FloatAttr])  # [t0, t1]
    traits = lazy_traits_def(lambda: (SymbolOpInterface(), HasParent(ProblemOp)))

    KINDS: ClassVar[tuple[str, ...]] = ("box", "ball")

    @staticmethod
    def box(
        name: str,
        lower: Sequence[float],
        upper: Sequence[float],
        dim: int | None = None,
        time: tuple[float, float] | None = None,
    ) -> DomainOp:
        props: dict[str, Attribute] = {
            "sym_name": StringAttr(name),
            "kind": StringAttr("box"),
            "lower": float_array(lower),
            "upper": float_array(upper),
        }
        return DomainOp._build(props, dim, time)

    @staticmethod
    def ball(
        name: str,
        center: Sequence[float],
        radius: float,
        dim: int | None = None,
        time: tuple[float, float] | None = None,
    ) -> DomainOp:
        props: dict[str, Attribute] = {
            "sym_name": StringAttr(name),
            "kind": StringAttr("ball"),
            "center": float_array(center),
            "radius": FloatAttr(float(radius), f64),
        }
        return DomainOp._build(props, dim, time)

    @staticmethod
    def _build(props: dict[str, Attribute], dim: int | None, time) -> DomainOp:
        if dim is not None:
            props["dim"] = IntegerAttr(dim, i64)
        if time is not None:
            props["time"] = float_array(time)
        return DomainOp.create(properties=props)

    @classmethod
    def parse(cls, parser: Parser) -> DomainOp:
        name = parser.parse_symbol_name().data
        kind = parser.parse_identifier(" (domain kind: box or ball)")
        if kind == "box":
            lower = parse_real_list(parser, "box lower bounds")
            parser.parse_keyword("to")
            upper = parse_real_list(parser, "box upper bounds")
            dim, time = cls._parse_suffix(parser)
            op = cls.box(name, lower, upper, dim, time)
        elif kind == "ball":
            parser.parse_keyword("center")
            center = parse_real_list(parser, "ball center")
            parser.parse_keyword("radius")
            radius = parse_real(parser, "ball radius")
            dim, time = cls._parse_suffix(parser)
            op = cls.ball(name, center, radius, dim, time)
        else:
            parser.raise_error(f"unknown domain kind '{kind}'; expected one of: box, ball")
        attrs = parser.parse_optional_attr_dict()
        op.attributes |= attrs
        return op

    @staticmethod
    def _parse_suffix(parser: Parser) -> tuple[int | None, tuple[float, float] | None]:
        dim = parser.parse_integer() if parser.parse_optional_keyword("dim") else None
        time = None
        if parser.parse_optional_keyword("time"):
            bounds = parse_real_list(parser, "time interval")
            if len(bounds) != 2:
                parser.raise_error("a time interval is written [t0, t1]")
            time = (bounds[0], bounds[1])
        return dim, time

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        printer.print_string(f" {self.kind.data} ")
        if self.kind.data == "box":
            print_real_list(printer, floats_of(self.lower))
            printer.print_string(" to ")
            print_real_list(printer, floats_of(self.upper))
        else:
            printer.print_string("center ")
            print_real_list(printer, floats_of(self.center))
            printer.print_string(f" radius {format_float(self.radius.value.data)}")
        if self.dim is not None:
            printer.print_string(f" dim {self.dim.value.data}")
        if self.time is not None:
            printer.print_string(" time ")
            print_real_list(printer, floats_of(self.time))
        if self.attributes:
            printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        kind = self.kind.data
        if kind not in self.KINDS:
            raise VerifyException(f"unknown domain kind '{kind}'; expected one of: box, ball")
        fields = {"box": ("lower", "upper"), "ball": ("center", "radius")}[kind]
        for f in ("lower", "upper", "center", "radius"):
            present = getattr(self, f) is not None
            if present != (f in fields):
                raise VerifyException(
                    f"a {kind} domain {'needs' if not present else 'has no'} '{f}'"
                )
        if self.dim is not None and self.dim.value.data < 1:
            raise VerifyException(f"domain dimension must be at least 1, got {self.dim.value.data}")
        vectors = [("lower", self.lower), ("upper", self.upper), ("center", self.center)]
        for label, attr in vectors:
            if attr is None:
                continue
            values = floats_of(attr)
            if not values:
                raise VerifyException(f"domain {label} is empty")
            if not all(math.isfinite(v) for v in values):
                raise VerifyException(f"domain {label} must be finite")
            if self.dim is not None and len(values) not in (1, self.dim.value.data):
                raise VerifyException(
                    f"domain {label} has {len(values)} entries; with dim "
                    f"{self.dim.value.data} give 1 (broadcast) or {self.dim.value.data}"
                )
        if kind == "box":
            lo, hi = self.bounds()
            if len(floats_of(self.lower)) != len(floats_of(self.upper)) and self.dim is None:
                raise VerifyException(
                    f"box bounds differ in length: {len(floats_of(self.lower))} lower, "
                    f"{len(floats_of(self.upper))} upper"
                )
            for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
                if not a < b:
                    raise VerifyException(
                        f"box lower bound must be below the upper bound in coordinate {i}: "
                        f"{format_float(a)} >= {format_float(b)}"
                    )
        else:
            r = self.radius.value.data
            if not (math.isfinite(r) and r > 0):
                raise VerifyException(f"ball radius must be positive, got {format_float(r)}")
        if self.time is not None:
            t = floats_of(self.time)
            if len(t) != 2 or not all(math.isfinite(v) for v in t) or not t[0] < t[1]:
                raise VerifyException(
                    "time interval must be [t0, t1] with finite t0 < t1, got "
                    + ", ".join(format_float(v) for v in t)
                )

    # -- queries
    @property
    def spatial_dim(self) -> int:
        if self.dim is not None:
            return self.dim.value.data
        ref = self.lower if self.kind.data == "box" else self.center
        return len(ref.data)

    @property
    def has_time(self) -> bool:
        return self.time is not None

    @property
    def num_coords(self) -> int:
        """Columns of a point: spatial coordinates, plus time if the domain has it."""
        return self.spatial_dim + (1 if self.has_time else 0)

    def _broadcast(self, attr: ArrayAttr) -> list[float]:
        values = floats_of(attr)
        return values * self.spatial_dim if len(values) == 1 else values

    def bounds(self) -> tuple[list[float], list[float]]:
        """Box lower and upper bounds, broadcast to every spatial coordinate."""
        return self._broadcast(self.lower), self._broadcast(self.upper)

    def ball_center(self) -> list[float]:
        return self._broadcast(self.center)

    def time_interval(self) -> tuple[float, float] | None:
        return None if self.time is None else tuple(floats_of(self.time))


# ---------------------------------------------------------------- parameters


@irdl_op_definition
class ParamOp(IRDLOperation):
    """A trainable parameter: `pinn.param @W0 : tensor<2x256xf32> init xavier_normal`.

    Inits (the table `pintac.core.inits.PARAM_INITS`): zeros, ones, constant(value), normal(std),
    uniform(low, high), and for weight matrices xavier_normal (Glorot) and xavier_uniform with
    the rows as fan-in and the columns as fan-out. Without `init`, a matrix is xavier_normal and
    a vector zeros; a tensor of another rank (a TT core) needs an explicit init. A derived init
    (`tt_svd`) computes the values from the parameter its `source` attribute names:

        pinn.param @W1_G0 : tensor<1x4x4x8xf32> init tt_svd {source = @W1}
    """

    name = "pinn.param"
    sym_name = prop_def(StringAttr)
    type = prop_def(TypeAttribute)
    init = prop_def(StringAttr)
    init_args = prop_def(ArrayAttr[FloatAttr])
    traits = lazy_traits_def(lambda: (SymbolOpInterface(), HasParent(ProblemOp)))

    def __init__(
        self,
        sym_name: str,
        type: TensorType,
        init: str = "xavier_normal",
        init_args: Sequence[float] = (),
    ):
        super().__init__(
            properties={
                "sym_name": StringAttr(sym_name),
                "type": type,
                "init": StringAttr(init),
                "init_args": float_array(init_args),
            }
        )

    @classmethod
    def parse(cls, parser: Parser) -> ParamOp:
        name = parser.parse_symbol_name().data
        parser.parse_punctuation(":")
        type_start = parser.pos
        t = parser.parse_type()
        type_end = parser.pos
        args: list[float] = []
        if parser.parse_optional_keyword("init") is None:
            init = default_init(tensor_shape(t) or [])
            if init is None:
                parser.raise_error(
                    f"a parameter of type {t} needs an init, e.g. `init normal(0.1)` (a "
                    "matrix defaults to xavier_normal, a vector to zeros)",
                    type_start,
                    type_end,
                )
        else:
            init = parser.parse_identifier(" (parameter init: " + ", ".join(PARAM_INITS) + ")")
        if parser.parse_optional_punctuation("(") is not None:
            args.append(parse_real(parser, "init argument"))
            while parser.parse_optional_punctuation(",") is not None:
                args.append(parse_real(parser, "init argument"))
            parser.parse_punctuation(")")
        op = cls.create(
            properties={
                "sym_name": StringAttr(name),
                "type": t,
                "init": StringAttr(init),
                "init_args": float_array(args),
            }
        )
        op.attributes |= parser.parse_optional_attr_dict()
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        printer.print_string(" : ")
        printer.print_attribute(self.type)
        printer.print_string(f" init {self.init.data}")
        args = floats_of(self.init_args)
        if args:
            printer.print_string("(" + ", ".join(format_float(a) for a in args) + ")")
        if self.attributes:
            printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        t = self.type
        shape = tensor_shape(t)
        if shape is None or not isinstance(t.get_element_type(), Float32Type):
            raise VerifyException(f"a parameter must be an f32 tensor, got {t}")
        if DYNAMIC in shape or any(d <= 0 for d in shape) or not shape:
            raise VerifyException(f"a parameter needs a static, non-empty shape, got {t}")
        init = self.init.data
        rule = PARAM_INITS.get(init)
        if rule is None:
            raise VerifyException(
                f"unknown init '{init}'; expected one of: {', '.join(PARAM_INITS)}"
            )
        args = floats_of(self.init_args)
        if len(args) != len(rule.args):
            raise VerifyException(
                f"init '{init}' takes {len(rule.args)} argument(s), got {len(args)}"
            )
        if not all(math.isfinite(a) for a in args):
            raise VerifyException(f"init '{init}' arguments must be finite")
        if (problem := rule.check(args, shape)) is not None:
            raise VerifyException(problem)
        if rule.derived:
            self._verify_source(init)

    def _verify_source(self, init: str) -> None:
        """A derived init names a matrix parameter of the problem as its `source`; the params
        deriving from it (program order) are the chain of TT cores of that matrix."""
        ref = self.attributes.get("source")
        if not isinstance(ref, SymbolRefAttr):
            raise VerifyException(
                f"init '{init}' computes the values from another parameter: name it with an "
                "attribute {source = @W}"
            )
        source = lookup_kind(self, ref, ParamOp, "the source")
        name = ref.string_value()
        if len(source.shape) != 2 or PARAM_INITS[source.init.data].derived:
            raise VerifyException(
                f"the source @{name} of init '{init}' must be a matrix with an init of its "
                f"own, got {source.type} init {source.init.data}"
            )
        problem = self.parent_op()
        if not isinstance(problem, ProblemOp):
            return
        chain = [
            p
            for p in problem.ops_of(ParamOp)
            if PARAM_INITS.get(p.init.data, PARAM_INITS["zeros"]).derived
            and p.attributes.get("source") == ref
        ]
        labels = [f"@{p.sym_name.data}" for p in chain]
        try:
            shape = check_chain([p.type for p in chain], labels)
        except VerifyException as e:
            raise VerifyException(f"the TT cores of @{name} ({', '.join(labels)}): {e}") from None
        if [shape.in_width, shape.out_width] != source.shape:
            raise VerifyException(
                f"the TT cores of @{name} ({', '.join(labels)}) make a "
                f"{shape.in_width}x{shape.out_width} matrix, but @{name} is {source.type}"
            )

    @property
    def shape(self) -> list[int]:
        return list(self.type.get_shape())


# ---------------------------------------------------------------- networks


def _parse_signature(parser: Parser) -> tuple[list[Parser.Argument], Attribute]:
    """`(%x : tensor<..>)` then optionally `-> type`; returns (arguments, result type or None)."""
    args = parser.parse_comma_separated_list(
        parser.Delimiter.PAREN, lambda: parser.parse_argument(expect_type=True)
    )
    result = parser.parse_type() if parser.parse_optional_punctuation("->") is not None else None
    return args, result


def _print_args(printer: Printer, region: Region) -> None:
    printer.print_string("(")
    for i, arg in enumerate(region.block.args):
        if i:
            printer.print_string(", ")
        printer.print_ssa_value(arg)
        printer.print_string(" : ")
        printer.print_attribute(arg.type)
    printer.print_string(")")


@irdl_op_definition
class NetworkOp(IRDLOperation):
    """A network u: points -> values, built from params. Its region ends in `pinn.return`.

    pinn.network @u(%x : tensor<?x2xf32>) -> tensor<?x1xf32> { ... pinn.return %y : ... }
    """

    name = "pinn.network"
    sym_name = prop_def(StringAttr)
    result_type = prop_def(TypeAttribute)
    body = region_def("single_block")
    traits = lazy_traits_def(lambda: (SymbolOpInterface(), HasParent(ProblemOp)))

    def __init__(self, sym_name: str, result_type: TensorType, body: Region):
        super().__init__(
            properties={"sym_name": StringAttr(sym_name), "result_type": result_type},
            regions=[body],
        )

    @classmethod
    def parse(cls, parser: Parser) -> NetworkOp:
        name = parser.parse_symbol_name().data
        args, result = _parse_signature(parser)
        if result is None:
            parser.raise_error("a network declares its result type: `-> tensor<?x1xf32>`")
        attrs = parser.parse_optional_attr_dict_with_keyword()
        op = cls(name, result, parser.parse_region(args))
        if attrs is not None:
            op.attributes |= attrs.data
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        _print_args(printer, self.body)
        printer.print_string(" -> ")
        printer.print_attribute(self.result_type)
        if self.attributes:
            printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    def verify_(self) -> None:
        block = self.body.block
        if len(block.args) != 1:
            raise VerifyException(
                f"a network takes exactly one batch of points, got {len(block.args)} arguments"
            )
        require_points(block.args[0].type, "the network input")
        out = require_points(self.result_type, "the network result")
        last = block.last_op
        if not isinstance(last, ReturnOp):
            raise VerifyException("a network must end with 'pinn.return'")
        if len(last.values) != 1:
            raise VerifyException("a network returns exactly one value")
        got = tensor_shape(last.values[0].type)
        if got is None or len(got) != 2 or not compatible(got[1], out[1]):
            raise VerifyException(
                f"the network returns {last.values[0].type} but declares {self.result_type}"
            )

    @property
    def input_type(self) -> TensorType:
        return self.body.block.args[0].type

    @property
    def input_width(self) -> int:
        return self.input_type.get_shape()[1]

    @property
    def output_width(self) -> int:
        return self.result_type.get_shape()[1]


@irdl_op_definition
class ReturnOp(IRDLOperation):
    """Terminates a `pinn.network`."""

    name = "pinn.return"
    values = var_operand_def(TensorType)
    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(NetworkOp)))
    assembly_format = "$values attr-dict `:` type($values)"

    def __init__(self, *values: SSAValue | Operation):
        super().__init__(operands=[list(values)])


@irdl_op_definition
class DenseOp(IRDLOperation):
    """A dense layer `y = x · W + b` with parameters named by symbol (bias optional).

    %h = pinn.dense %x, @W0, @b0 : tensor<?x2xf32> -> tensor<?x256xf32>
    """

    name = "pinn.dense"
    input = operand_def(TensorType)
    weight = prop_def(SymbolRefAttr)
    bias = opt_prop_def(SymbolRefAttr)
    output = result_def(TensorType)
    traits = lazy_traits_def(lambda: (Pure(), HasParent(NetworkOp)))
    assembly_format = (
        "$input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `->` type($output)"
    )

    def __init__(
        self, input: SSAValue | Operation, weight: str, bias: str | None, result_type: TensorType
    ):
        props: dict[str, Attribute] = {"weight": SymbolRefAttr(weight)}
        if bias is not None:
            props["bias"] = SymbolRefAttr(bias)
        super().__init__(operands=[input], result_types=[result_type], properties=props)

    def verify_(self) -> None:
        x = require_points(self.input.type, "the dense-layer input")
        y = require_points(self.output.type, "the dense-layer result")
        if not compatible(x[0], y[0]):
            raise VerifyException(
                f"the dense layer keeps the number of points: {shape_str(x)} -> {shape_str(y)}"
            )
        w = lookup_kind(self, self.weight, ParamOp, "the weight")
        ws = w.shape
        if len(ws) != 2:
            raise VerifyException(
                f"the weight @{self.weight.string_value()} must be a matrix, got {w.type}"
            )
        if not compatible(x[1], ws[0]) or not compatible(y[1], ws[1]):
            raise VerifyException(
                f"the weight @{self.weight.string_value()} is {shape_str(ws)}, but the layer "
                f"maps {x[1]} to {y[1]} features"
            )
        if self.bias is not None:
            b = lookup_kind(self, self.bias, ParamOp, "the bias")
            if b.shape != [ws[1]]:
                raise VerifyException(
                    f"the bias @{self.bias.string_value()} must be tensor<{ws[1]}xf32>, got {b.type}"
                )


# ---------------------------------------------------------------- applying networks


class _NetworkApplication(IRDLOperation):
    """Shared by ops written `@net(%x)`: a network symbol applied to a batch of points."""

    network = prop_def(SymbolRefAttr)
    input = operand_def(TensorType)
    output = result_def(TensorType)

    def target(self) -> NetworkOp:
        target = lookup(self, self.network)
        name = self.network.string_value()
        if target is None:
            raise VerifyException(f"@{name} is not defined in this problem")
        if not isinstance(target, NetworkOp):
            raise VerifyException(
                f"can only be applied to a network, but @{name} is a '{target.name}'"
            )
        return target


@irdl_op_definition
class EvalOp(_NetworkApplication):
    """Evaluate a network at points; extra leading dims are mapped over.

    %u = pinn.eval @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    %g = pinn.eval @u(%xs) : tensor<?x1025x2xf32> -> tensor<?x1025x1xf32>
    """

    name = "pinn.eval"
    traits = traits_def(Pure())
    assembly_format = "$network `` `(` $input `)` attr-dict `:` type($input) `->` type($output)"

    def __init__(self, network: str, input: SSAValue | Operation, result_type: TensorType):
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={"network": SymbolRefAttr(network)},
        )

    def verify_(self) -> None:
        x, y = tensor_shape(self.input.type), tensor_shape(self.output.type)
        if x is None or y is None or len(x) < 2 or len(x) != len(y):
            raise VerifyException(
                f"evaluates a batch of points (rank >= 2) to a batch of the same rank, got "
                f"{self.input.type} -> {self.output.type}"
            )
        if not all(compatible(a, b) for a, b in zip(x[:-1], y[:-1], strict=True)):
            raise VerifyException(
                f"the leading dims of the result must match the input: {shape_str(x)} -> {shape_str(y)}"
            )
        net = self.target()
        if not compatible(x[-1], net.input_width):
            raise VerifyException(
                f"@{net.sym_name.data} takes points with {net.input_width} coordinates, got {x[-1]}"
            )
        if not compatible(y[-1], net.output_width):
            raise VerifyException(
                f"@{net.sym_name.data} returns {net.output_width} values per point, got {y[-1]}"
            )


class _DerivativeOp(_NetworkApplication):
    """A derivative of a scalar network w.r.t. its input coordinates, at each point."""

    traits = traits_def(Pure())

    def _check(self) -> tuple[list[int], list[int], NetworkOp]:
        x = require_points(self.input.type, f"the input of '{self.name}'")
        y = require_points(self.output.type, f"the result of '{self.name}'")
        if not compatible(x[0], y[0]):
            raise VerifyException(
                f"the result has one row per point: {shape_str(x)} -> {shape_str(y)}"
            )
        net = self.target()
        if not compatible(x[1], net.input_width):
            raise VerifyException(
                f"@{net.sym_name.data} takes points with {net.input_width} coordinates, got {x[1]}"
            )
        if net.output_width != 1:
            raise VerifyException(
                f"needs a scalar network, but @{net.sym_name.data} returns "
                f"{net.output_width} values per point"
            )
        return x, y, net


class _RangeDerivativeOp(_DerivativeOp):
    """A derivative over a range of coordinates: `dims lo to hi` (default: all of them)."""

    dim_lo = opt_prop_def(IntegerAttr[I64])
    dim_hi = opt_prop_def(IntegerAttr[I64])

    def __init__(
        self,
        network: str,
        input: SSAValue | Operation,
        result_type: TensorType,
        dims: tuple[int, int] | None = None,
    ):
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={"network": SymbolRefAttr(network), **self.range_props(dims)},
        )

    def dim_range(self, width: int | None = None) -> tuple[int, int]:
        if width is None:
            width = self.input.type.get_shape()[1]
        lo = 0 if self.dim_lo is None else self.dim_lo.value.data
        hi = width if self.dim_hi is None else self.dim_hi.value.data
        return lo, hi

    def _check_range(self) -> tuple[int, int, list[int]]:
        x, y, _ = self._check()
        if (self.dim_lo is None) != (self.dim_hi is None):
            raise VerifyException("write a coordinate range as `dims lo to hi`")
        if x[1] == DYNAMIC:
            raise VerifyException("the number of coordinates of the points must be static")
        lo, hi = self.dim_range(x[1])
        check_dim_range(lo, hi, x[1], "the coordinate")
        return lo, hi, y

    @staticmethod
    def range_props(dims: tuple[int, int] | None) -> dict[str, Attribute]:
        if dims is None:
            return {}
        return {"dim_lo": IntegerAttr(dims[0], i64), "dim_hi": IntegerAttr(dims[1], i64)}


_RANGE_FORMAT = (
    "$network `` `(` $input `)` (`dims` $dim_lo^ `to` $dim_hi)? attr-dict "
    "`:` type($input) `->` type($output)"
)


@irdl_op_definition
class GradOp(_RangeDerivativeOp):
    """∇u over coordinates [lo, hi): one column per coordinate.

    %g = pinn.grad @u(%x) dims 0 to 20 : tensor<?x21xf32> -> tensor<?x20xf32>
    """

    name = "pinn.grad"
    assembly_format = _RANGE_FORMAT

    def verify_(self) -> None:
        lo, hi, y = self._check_range()
        if not compatible(y[1], hi - lo):
            raise VerifyException(
                f"the gradient over coordinates {lo} to {hi} has {hi - lo} columns, got {y[1]}"
            )


@irdl_op_definition
class LaplacianOp(_RangeDerivativeOp):
    """Δu = Σ ∂²u/∂x_i² over coordinates [lo, hi).

    %lap = pinn.laplacian @u(%x) : tensor<?x2xf32> -> tensor<?x1xf32>
    """

    name = "pinn.laplacian"
    assembly_format = _RANGE_FORMAT

    def verify_(self) -> None:
        _, _, y = self._check_range()
        if not compatible(y[1], 1):
            raise VerifyException(f"the Laplacian has one column, got {y[1]}")


@irdl_op_definition
class PartialOp(_DerivativeOp):
    """∂u/∂x_i for one coordinate i (e.g. time).

    %ut = pinn.partial @u(%x) dim 20 : tensor<?x21xf32> -> tensor<?x1xf32>
    """

    name = "pinn.partial"
    dim = prop_def(IntegerAttr[I64])
    assembly_format = (
        "$network `` `(` $input `)` `dim` $dim attr-dict `:` type($input) `->` type($output)"
    )

    def __init__(
        self, network: str, input: SSAValue | Operation, dim: int, result_type: TensorType
    ):
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={"network": SymbolRefAttr(network), "dim": IntegerAttr(dim, i64)},
        )

    def verify_(self) -> None:
        x, y, _ = self._check()
        d = self.dim.value.data
        if x[1] != DYNAMIC and not 0 <= d < x[1]:
            raise VerifyException(
                f"coordinate {d} does not exist: the points have {x[1]} coordinates"
            )
        if not compatible(y[1], 1):
            raise VerifyException(f"a partial derivative has one column, got {y[1]}")


# ---------------------------------------------------------------- per-point helpers


@irdl_op_definition
class RngKeyOp(IRDLOperation):
    """The key of the counter-based RNG for this training step: the run's seed and the step.

    %seed, %step = pinn.rng_key : i64, i64

    Random numbers drawn inside a step (Stein perturbations, stochastic rounding) are a pure
    function of (seed, step, stream), so a step is reproducible and a resumed run draws
    exactly what an uninterrupted one would.
    """

    name = "pinn.rng_key"
    seed = result_def(i64)
    step = result_def(i64)
    traits = traits_def(Pure())
    assembly_format = "attr-dict `:` type($seed) `,` type($step)"

    def __init__(self):
        super().__init__(result_types=[i64, i64])


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """A tensor filled with one value; `?` dims take the number of points where it is used.

    %c = pinn.constant 2.0 : tensor<?x1xf32>
    """

    name = "pinn.constant"
    value = prop_def(FloatAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())

    def __init__(self, value: float, result_type: TensorType):
        super().__init__(
            result_types=[result_type], properties={"value": FloatAttr(float(value), f64)}
        )

    @classmethod
    def parse(cls, parser: Parser) -> ConstantOp:
        value = parse_real(parser, "the constant")
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        op = cls(value, parser.parse_type())
        op.attributes |= attrs
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(f" {format_float(self.value.value.data)}")
        if self.attributes:
            printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.result.type)

    def verify_(self) -> None:
        if not isinstance(self.result.type.get_element_type(), Float32Type):
            raise VerifyException(f"a constant is an f32 tensor, got {self.result.type}")
        if not math.isfinite(self.value.value.data):
            raise VerifyException("a constant must be finite")


class _ColumnOp(IRDLOperation):
    """Reads columns [lo, hi) of a batch of points (default: all)."""

    input = operand_def(TensorType)
    output = result_def(TensorType)
    dim_lo = opt_prop_def(IntegerAttr[I64])
    dim_hi = opt_prop_def(IntegerAttr[I64])
    traits = traits_def(Pure())
    assembly_format = (
        "$input (`dims` $dim_lo^ `to` $dim_hi)? attr-dict `:` type($input) `->` type($output)"
    )

    def __init__(
        self,
        input: SSAValue | Operation,
        result_type: TensorType,
        dims: tuple[int, int] | None = None,
    ):
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties=_RangeDerivativeOp.range_props(dims),
        )

    def dim_range(self) -> tuple[int, int]:
        width = self.input.type.get_shape()[1]
        lo = 0 if self.dim_lo is None else self.dim_lo.value.data
        hi = width if self.dim_hi is None else self.dim_hi.value.data
        return lo, hi

    def _check(self) -> tuple[int, int, list[int]]:
        x = require_points(self.input.type, f"the input of '{self.name}'")
        y = require_points(self.output.type, f"the result of '{self.name}'")
        if (self.dim_lo is None) != (self.dim_hi is None):
            raise VerifyException("write a column range as `dims lo to hi`")
        if not compatible(x[0], y[0]):
            raise VerifyException(
                f"the result has one row per point: {shape_str(x)} -> {shape_str(y)}"
            )
        if x[1] == DYNAMIC:
            raise VerifyException("the number of columns of the input must be static")
        lo, hi = self.dim_range()
        check_dim_range(lo, hi, x[1], "the column")
        return lo, hi, y


@irdl_op_definition
class SumOp(_ColumnOp):
    """Row sums over columns [lo, hi): `%s = pinn.sum %x : tensor<?x2xf32> -> tensor<?x1xf32>`."""

    name = "pinn.sum"

    def verify_(self) -> None:
        _, _, y = self._check()
        if not compatible(y[1], 1):
            raise VerifyException(f"a row sum has one column, got {y[1]}")


@irdl_op_definition
class SliceOp(_ColumnOp):
    """Columns [lo, hi): `%t = pinn.slice %x dims 20 to 21 : tensor<?x21xf32> -> tensor<?x1xf32>`."""

    name = "pinn.slice"

    def verify_(self) -> None:
        lo, hi, y = self._check()
        if not compatible(y[1], hi - lo):
            raise VerifyException(f"columns {lo} to {hi} are {hi - lo} columns, got {y[1]}")


# ---------------------------------------------------------------- loss terms


class _TermOp(IRDLOperation):
    """A loss term: weight · mean over its points of the squared residual it yields."""

    sym_name = prop_def(StringAttr)
    domain = prop_def(SymbolRefAttr)
    weight = prop_def(FloatAttr)
    body = region_def("single_block")
    traits = lazy_traits_def(lambda: (SymbolOpInterface(), HasParent(ProblemOp)))

    def _verify_term(self) -> DomainOp:
        dom = lookup_kind(self, self.domain, DomainOp, "the domain")
        w = self.weight.value.data
        if not (math.isfinite(w) and w > 0):
            raise VerifyException(f"a loss weight must be positive, got {format_float(w)}")
        block = self.body.block
        if len(block.args) != 1:
            raise VerifyException(
                f"a loss term takes one batch of points, got {len(block.args)} arguments"
            )
        x = require_points(block.args[0].type, "the points of a loss term")
        if not compatible(x[1], dom.num_coords):
            time = " (space, then time)" if dom.has_time else ""
            raise VerifyException(
                f"points of @{dom.sym_name.data} have {dom.num_coords} coordinates{time}, "
                f"but the term takes {x[1]}"
            )
        last = block.last_op
        if not isinstance(last, YieldOp) or len(last.values) != 1:
            raise VerifyException("a loss term must end with 'pinn.yield' of its residual")
        r = require_points(last.values[0].type, "the residual")
        if not compatible(r[0], x[0]):
            raise VerifyException("the residual has one row per point")
        return dom

    def _print_term(self, printer: Printer, set_text: str) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        printer.print_string(f" on {set_text} weight {format_float(self.weight.value.data)} ")
        _print_args(printer, self.body)
        if self.attributes:
            printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    @classmethod
    def _parse_term(cls, parser: Parser, parse_set) -> _TermOp:
        name = parser.parse_symbol_name().data
        parser.parse_keyword("on")
        set_kind, domain = parse_set()
        parser.parse_keyword("weight")
        weight = parse_real(parser, "the loss weight")
        args, _ = _parse_signature(parser)
        attrs = parser.parse_optional_attr_dict_with_keyword()
        body = parser.parse_region(args)
        props = {"sym_name": StringAttr(name), "domain": domain, "weight": FloatAttr(weight, f64)}
        if set_kind is not None:
            props["on"] = StringAttr(set_kind)
        op = cls.create(properties=props, regions=[body])
        if attrs is not None:
            op.attributes |= attrs.data
        return op


@irdl_op_definition
class ResidualOp(_TermOp):
    """A PDE residual on the interior of a domain; the loss is weight · mean(r²).

    pinn.residual @pde on @omega weight 1.0 (%x : tensor<?x2xf32>) { ... pinn.yield %r : ... }
    """

    name = "pinn.residual"

    @classmethod
    def parse(cls, parser: Parser) -> ResidualOp:
        return cls._parse_term(parser, lambda: (None, SymbolRefAttr(parser.parse_symbol_name())))

    def print(self, printer: Printer) -> None:
        self._print_term(printer, f"@{self.domain.string_value()}")

    def verify_(self) -> None:
        self._verify_term()


BOUNDARY_SETS = ("boundary", "initial", "final")


@irdl_op_definition
class BoundaryOp(_TermOp):
    """A condition on part of a domain's boundary; the loss is weight · mean(r²).

    `on boundary(@d)`: the spatial boundary (times the time interval, if any);
    `on initial(@d)` / `on final(@d)`: the domain at its first / last time.

    pinn.boundary @bc on boundary(@omega) weight 300.0 (%x : tensor<?x2xf32>) { ... }
    """

    name = "pinn.boundary"
    on = prop_def(StringAttr)

    @classmethod
    def parse(cls, parser: Parser) -> BoundaryOp:
        def parse_set() -> tuple[str, SymbolRefAttr]:
            kind = parser.parse_identifier(" (boundary set: boundary, initial or final)")
            if kind not in BOUNDARY_SETS:
                parser.raise_error(
                    f"unknown boundary set '{kind}'; expected boundary(@d), initial(@d) or final(@d)"
                )
            parser.parse_punctuation("(")
            dom = parser.parse_symbol_name()
            parser.parse_punctuation(")")
            return kind, SymbolRefAttr(dom)

        return cls._parse_term(parser, parse_set)

    def print(self, printer: Printer) -> None:
        self._print_term(printer, f"{self.on.data}(@{self.domain.string_value()})")

    def verify_(self) -> None:
        if self.on.data not in BOUNDARY_SETS:
            raise VerifyException(
                f"unknown boundary set '{self.on.data}'; expected one of: {', '.join(BOUNDARY_SETS)}"
            )
        dom = self._verify_term()
        if self.on.data in ("initial", "final") and not dom.has_time:
            raise VerifyException(
                f"'{self.on.data}(@{dom.sym_name.data})' needs a domain with a time interval"
            )


@irdl_op_definition
class ExactOp(IRDLOperation):
    """The exact solution of a network's problem, for measuring the error.

    pinn.exact of @u (%x : tensor<?x2xf32>) { ... pinn.yield %u : tensor<?x1xf32> }
    """

    name = "pinn.exact"
    network = prop_def(SymbolRefAttr)
    body = region_def("single_block")
    traits = lazy_traits_def(lambda: (HasParent(ProblemOp),))

    @classmethod
    def parse(cls, parser: Parser) -> ExactOp:
        parser.parse_keyword("of")
        net = SymbolRefAttr(parser.parse_symbol_name())
        args, _ = _parse_signature(parser)
        attrs = parser.parse_optional_attr_dict_with_keyword()
        op = cls.create(properties={"network": net}, regions=[parser.parse_region(args)])
        if attrs is not None:
            op.attributes |= attrs.data
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(f" of @{self.network.string_value()} ")
        _print_args(printer, self.body)
        if self.attributes:
            printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)

    def verify_(self) -> None:
        net = lookup_kind(self, self.network, NetworkOp, "the network")
        block = self.body.block
        if len(block.args) != 1:
            raise VerifyException("the exact solution takes one batch of points")
        x = require_points(block.args[0].type, "the points of the exact solution")
        if not compatible(x[1], net.input_width):
            raise VerifyException(
                f"@{net.sym_name.data} takes points with {net.input_width} coordinates, "
                f"but the exact solution takes {x[1]}"
            )
        last = block.last_op
        if not isinstance(last, YieldOp) or len(last.values) != 1:
            raise VerifyException("the exact solution must end with 'pinn.yield' of one value")
        y = require_points(last.values[0].type, "the exact solution")
        if not compatible(y[1], net.output_width):
            raise VerifyException(
                f"@{net.sym_name.data} returns {net.output_width} values per point, "
                f"but the exact solution yields {y[1]}"
            )


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Terminates a loss term (its residual) or `pinn.exact` (the solution)."""

    name = "pinn.yield"
    values = var_operand_def(TensorType)
    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(ResidualOp, BoundaryOp, ExactOp)))
    assembly_format = "$values attr-dict `:` type($values)"

    def __init__(self, *values: SSAValue | Operation):
        super().__init__(operands=[list(values)])


# ---------------------------------------------------------------- training configuration

# key: (expected kind, description); kinds: "int+", "float+", "float01", "str:<choices>", "dict"
TRAIN_KEYS: dict[str, tuple[str, str]] = {
    "optimizer": ("str", "adam or sgd"),
    "lr": ("float+", "learning rate"),
    "schedule": ("str", "constant or linear_decay"),
    "steps": ("int+", "number of training steps"),
    "batch": ("dict", "points per loss term, e.g. {pde = 100, bc = 100}"),
    "seed": ("int", "random seed"),
    "eval_points": ("int+", "held-out points for the error"),
    "pairs": ("int+", "Stein antithetic pairs K"),
    "sigma": ("float+", "Stein smoothing σ"),
    "sigma_t": ("float+", "Stein smoothing σ for time"),
    "derivatives": ("str", "derivative strategy: stein, taylor or stde (the pipeline's if absent)"),
    "samples": ("int+", "STDE sampled coordinates per point"),
    "beta1": ("float01", "Adam β1"),
    "beta2": ("float01", "Adam β2"),
    "eps": ("float+", "Adam ε"),
}


@irdl_op_definition
class TrainOp(IRDLOperation):
    """Training configuration of the problem.

    pinn.train {optimizer = "adam", lr = 1.0e-3, schedule = "linear_decay", steps = 1000,
                batch = {pde = 100, bc = 100}}
    """

    name = "pinn.train"
    config = prop_def(DictionaryAttr)
    traits = lazy_traits_def(lambda: (HasParent(ProblemOp),))

    def __init__(self, config: dict[str, Attribute]):
        super().__init__(properties={"config": DictionaryAttr(config)})

    @classmethod
    def parse(cls, parser: Parser) -> TrainOp:
        config = parser.parse_optional_dictionary_attr_dict()
        return cls(config)

    def print(self, printer: Printer) -> None:
        printer.print_string(" " + format_config(self.config))

    def verify_(self) -> None:
        cfg = self.config.data
        for key, value in cfg.items():
            if key not in TRAIN_KEYS:
                raise VerifyException(
                    f"unknown training option '{key}'; known options: {', '.join(TRAIN_KEYS)}"
                )
            kind, desc = TRAIN_KEYS[key]
            _check_option(key, value, kind, desc)
        if "optimizer" in cfg and cfg["optimizer"].data not in OPTIMIZERS:
            raise VerifyException(
                f"unknown optimizer '{cfg['optimizer'].data}'; expected one of: {', '.join(OPTIMIZERS)}"
            )
        if "schedule" in cfg and cfg["schedule"].data not in SCHEDULES:
            raise VerifyException(
                f"unknown schedule '{cfg['schedule'].data}'; expected one of: {', '.join(SCHEDULES)}"
            )
        if "batch" in cfg:
            problem = self.parent_op()
            terms = (
                [t.sym_name.data for t in problem.terms] if isinstance(problem, ProblemOp) else []
            )
            batch = cfg["batch"].data
            for name, size in batch.items():
                if terms and name not in terms:
                    raise VerifyException(
                        f"batch names '{name}', which is not a loss term; terms: {', '.join(terms)}"
                    )
                if not isinstance(size, IntegerAttr) or size.value.data < 1:
                    raise VerifyException(f"batch size of '{name}' must be a positive integer")
            missing = [t for t in terms if t not in batch]
            if missing:
                raise VerifyException(f"batch gives no size for loss term(s): {', '.join(missing)}")
        # What the runtime cannot honour, caught here so that the error points at pinn.train
        # (the limits are those of `pintac run` and the Python API, `pintac.core.limits`).
        schedule = cfg.get("schedule")
        decays = isinstance(schedule, StringAttr) and schedule.data == "linear_decay"
        if decays and "steps" not in cfg:
            raise VerifyException(
                "a linear_decay schedule needs 'steps' (the number of steps the learning rate "
                "decays over)"
            )
        limits = {"steps": MAX_STEPS, "eval_points": MAX_EVAL_POINTS}
        for key, limit in limits.items():
            if key in cfg and cfg[key].value.data > limit:
                _, desc = TRAIN_KEYS[key]
                raise VerifyException(
                    f"training option '{key}' ({desc}) must be at most {limit}, "
                    f"got {cfg[key].value.data}"
                )
        if "seed" in cfg and cfg["seed"].value.data < 0:
            raise VerifyException(
                f"training option 'seed' (random seed) must be from 0 to {MAX_SEED}, "
                f"got {cfg['seed'].value.data}"
            )

    def get(self, key: str, default=None):
        """A configuration value as a Python value (ints, floats, strings, dicts)."""
        attr = self.config.data.get(key)
        return default if attr is None else python_value(attr)


def _check_option(key: str, value: Attribute, kind: str, desc: str) -> None:
    bad = VerifyException(f"training option '{key}' ({desc}) got {value}")
    if kind == "str":
        if not isinstance(value, StringAttr):
            raise bad
    elif kind == "dict":
        if not isinstance(value, DictionaryAttr):
            raise bad
    elif kind.startswith("int"):
        if not isinstance(value, IntegerAttr) or isinstance(value.type, Float64Type):
            raise bad
        if kind == "int+" and value.value.data < 1:
            raise VerifyException(f"training option '{key}' ({desc}) must be positive")
    else:  # floats: integers are accepted too (`lr = 1` is a user's 1.0)
        if not isinstance(value, FloatAttr | IntegerAttr):
            raise bad
        v = float(value.value.data)
        if not math.isfinite(v) or v <= 0 or (kind == "float01" and v >= 1):
            rng = "in (0, 1)" if kind == "float01" else "positive"
            raise VerifyException(f"training option '{key}' ({desc}) must be {rng}, got {v}")


PINN = Dialect(
    "pinn",
    [
        ProblemOp,
        DomainOp,
        ParamOp,
        NetworkOp,
        ReturnOp,
        DenseOp,
        EvalOp,
        GradOp,
        LaplacianOp,
        PartialOp,
        RngKeyOp,
        ConstantOp,
        SumOp,
        SliceOp,
        ResidualOp,
        BoundaryOp,
        ExactOp,
        YieldOp,
        TrainOp,
    ],
    [],
)
