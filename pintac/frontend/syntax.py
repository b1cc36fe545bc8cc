"""The syntax tree of a `.pde` problem: what the parser makes and the builder reads.

Every node knows where it is in the source: `pos` is the character offset its diagnostics
point at (an operator for a binary expression, the name for a call or a statement) and
`length` how many characters the caret underlines; `start` and `end` bound the whole text of
an expression, which messages quote.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Node:
    pos: int
    length: int


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Expr(Node):
    start: int
    end: int
    # Nesting depth, so that absurdly deep input is refused before anything recurses on it.
    depth: int


@dataclass(frozen=True)
class Number(Expr):
    value: float


@dataclass(frozen=True)
class Name(Expr):
    name: str


@dataclass(frozen=True)
class Negate(Expr):
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    op: str  # + - * / ^
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Tuple(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Setting(Node):
    """`key value` in a settings list: `width 256`, `activation tanh`, `init normal(0.1)`."""

    key: str
    value: Value


@dataclass(frozen=True)
class Value(Node):
    """A setting's value: a number, a name, or a name with numeric arguments."""

    number: float | None = None
    integer: int | None = None  # the exact value of a number written with digits only
    name: str | None = None
    args: tuple[float, ...] | None = None  # `normal(0.1)`: name "normal", args (0.1,)

    def describe(self) -> str:
        if self.integer is not None:
            return str(self.integer)
        if self.number is not None:
            return _number_text(self.number)
        if self.args is not None:
            return f"{self.name}({', '.join(_number_text(a) for a in self.args)})"
        return str(self.name)


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)


@dataclass(frozen=True)
class Call(Expr):
    name: str
    args: tuple[Expr | Setting, ...]


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class Problem(Node):
    name: str


@dataclass(frozen=True)
class CoordinateDecl(Node):
    """`x` (one coordinate) or `x[1..20]` (a vector x of components x1 .. x20)."""

    name: str
    first: int | None = None  # the first component's number, for a vector
    last: int | None = None


@dataclass(frozen=True)
class Space(Node):
    coordinates: tuple[CoordinateDecl, ...]


@dataclass(frozen=True)
class Time(Node):
    name: str


@dataclass(frozen=True)
class Interval(Node):
    """`[lo, hi]`, or `[lo, hi]^n`: n coordinates with the same bounds."""

    lo: Expr
    hi: Expr
    power: int | None = None


@dataclass(frozen=True)
class Clause(Node):
    """`x in SET`, `(x, y) in SET`: the coordinates and the product of sets they range over."""

    coordinates: tuple[Name, ...]
    factors: tuple[Interval | Call, ...]


@dataclass(frozen=True)
class Domain(Node):
    name: str
    clauses: tuple[Clause, ...]


@dataclass(frozen=True)
class Let(Node):
    name: str
    expr: Expr


@dataclass(frozen=True)
class Network(Node):
    name: str
    expr: Expr


@dataclass(frozen=True)
class Placement(Node):
    """`in q` (part None: the interior) or `on boundary(q)` / `initial(q)` / `final(q)`."""

    domain: str
    domain_pos: int
    part: str | None = None


@dataclass(frozen=True)
class Term(Node):
    """`NAME: lhs = rhs  in q | on part(q)  [weight W] [batch N]`."""

    name: str
    lhs: Expr
    rhs: Expr
    equals: int  # offset of `=`
    placement: Placement
    weight: Expr | None = None
    batch: Expr | None = None


@dataclass(frozen=True)
class Exact(Node):
    network: str
    network_pos: int
    expr: Expr


@dataclass(frozen=True)
class Train(Node):
    settings: tuple[Setting, ...]


@dataclass(frozen=True)
class Derivatives(Node):
    strategy: str
    settings: tuple[Setting, ...] = field(default=())


Statement = Problem | Space | Time | Domain | Let | Network | Term | Exact | Train | Derivatives
