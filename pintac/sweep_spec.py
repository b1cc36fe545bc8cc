"""The sweep specification (`pintac sweep SPEC.toml`): what each point runs and over what.

A spec is TOML (docs/sweep.md):

    problem = "poisson2d_small.mlir"   # relative to the spec's directory
    run = "cost"                       # "cost": a compiled PINTA step's cycles, energy and
                                       # traffic; "train": NumPy training steps; "simulate":
                                       # training steps on the PINTA simulator
    [fixed]                            # settings every point shares
    pipeline = "smx-diff"
    [grid]                             # every combination of these lists
    seed = [0, 1]
    "gemm.pes" = [8, 16]               # a hardware key, "section.key"
    [random]                           # `samples` draws, each setting from its list
    samples = 4
    seed = 0
    [random.choices]
    "memory.spm_bytes" = [1048576, 4194304]

`load` checks all of it before any point runs — keys, value types, the problem (parsed),
pipeline names, hardware keys and values — and names the spec's line in each error. Points
are dicts of settings in a fixed order; `point_id` names one by its settings alone, which is
how an interrupted sweep recognizes the points it has finished.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pintac.core.errors import UserError

RUNS = ("cost", "train", "simulate")
TARGETS = ("numpy", "numpy-exact", "numpy-fast")
#: Settings (besides hardware keys) by run kind, with their types.
SETTINGS: dict[str, dict[str, type]] = {
    "cost": {"pipeline": str, "seed": int},
    "train": {"pipeline": str, "seed": int, "steps": int, "target": str},
    "simulate": {"pipeline": str, "seed": int, "steps": int},
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "cost": {"pipeline": "fp32", "seed": 0},
    "train": {"pipeline": "fp32", "seed": 0, "steps": 10, "target": "numpy"},
    "simulate": {"pipeline": "fp32", "seed": 0, "steps": 2},
}
#: Settings of the problem's training configuration (`pinn.train`), for every run kind.
PROBLEM_SETTINGS: dict[str, type | tuple[type, ...]] = {
    "pairs": int,
    "sigma": (int, float),
    "sigma_t": (int, float),
    "lr": (int, float),
    "derivatives": str,
    "samples": int,
    "optimizer": str,
    "schedule": str,
    "beta1": float,
    "beta2": float,
    "eps": (int, float),
}
#: Run kinds that run on PINTA, and so take hardware keys.
ON_PINTA = ("cost", "simulate")
MAX_POINTS = 100_000


@dataclass(frozen=True)
class SweepSpec:
    path: Path
    problem: Path
    run: str
    fixed: dict[str, Any]
    grid: dict[str, list[Any]]
    samples: int
    random_seed: int
    choices: dict[str, list[Any]]

    @property
    def swept(self) -> list[str]:
        """The settings that vary, in the spec's order: the CSV's first columns."""
        return [*self.grid, *self.choices]

    def points(self) -> list[dict[str, Any]]:
        """Every point's settings: the grid's combinations (in order, the last key fastest),
        each with every random draw."""
        combos = [
            dict(zip(self.grid, values, strict=True))
            for values in itertools.product(*self.grid.values())
        ]
        draws: list[dict[str, Any]] = [{}]
        if self.samples:
            gen = random.Random(self.random_seed)
            draws = [
                {key: gen.choice(values) for key, values in self.choices.items()}
                for _ in range(self.samples)
            ]
        base = {**DEFAULTS[self.run], **self.fixed}
        return [{**base, **combo, **draw} for combo in combos for draw in draws]


def point_id(point: dict[str, Any]) -> str:
    """A short name of a point from its settings alone."""
    text = json.dumps(point, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def is_pass_option(key: str) -> bool:
    """Whether a dotted key is a pass option (`smx-quantize.act`) rather than a hardware key
    (`gemm.pes`): its first part names a pass."""
    from pintac.registry import available_passes

    return "." in key and key.split(".", 1)[0] in available_passes()


def hardware_overrides(point: dict[str, Any]) -> tuple[str, ...]:
    """The point's hardware keys as `section.key=value` overrides."""
    return tuple(
        f"{k}={_toml_value(v)}" for k, v in point.items() if "." in k and not is_pass_option(k)
    )


def problem_options(point: dict[str, Any]) -> dict[str, Any]:
    """The point's settings of the problem's training configuration."""
    return {k: v for k, v in point.items() if k in PROBLEM_SETTINGS}


def pipeline_of(point: dict[str, Any]) -> str:
    """The point's pipeline with its pass options set (`smx-quantize.act = 6` sets option
    `act` of every `smx-quantize` pass in it); a `UserError` for a pass it lacks or a value
    the pass refuses."""
    from xdsl.utils.arg_spec import ArgSpec

    from pintac.pass_manager import parse_pipeline_spec
    from pintac.pipelines import pipeline_spec
    from pintac.registry import available_passes

    options = {k: v for k, v in point.items() if is_pass_option(k)}
    if not options:
        return point["pipeline"]
    passes = parse_pipeline_spec(pipeline_spec(point["pipeline"]), available_passes())
    specs = [p.pipeline_pass_spec() for p in passes]
    for key, value in options.items():
        name, option = key.split(".", 1)
        if not any(s.name == name for s in specs):
            raise UserError(f"error: pipeline {point['pipeline']} has no pass '{name}'")
        specs = [
            ArgSpec(s.name, {**s.parameters, option: (value,)}) if s.name == name else s
            for s in specs
        ]
    text = ",".join(str(s) for s in specs)
    parse_pipeline_spec(text, available_passes())  # the passes' own checks of the values
    return text


def _toml_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class _Locator:
    """Errors at the line of a key in the spec's text."""

    def __init__(self, path: Path, text: str):
        self.path, self.lines = path, text.splitlines()

    def line_of(self, table: str, key: str | None = None) -> int | None:
        current = ""
        header = re.compile(r"\s*\[+\s*([^\]]+?)\s*\]+")
        for number, line in enumerate(self.lines, 1):
            found = header.match(line)
            if found:
                current = found.group(1).replace('"', "").replace(" ", "")
                if key is None and current == table:
                    return number
                continue
            if key is not None and current == table:
                name = line.split("=", 1)[0].strip().strip("\"'")
                if "=" in line and name == key:
                    return number
        return None

    def error(self, message: str, table: str = "", key: str | None = None) -> UserError:
        line = self.line_of(table, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        return UserError(f"{where}: error: {message}")


def load(path: str | Path) -> SweepSpec:
    """The spec at `path`, checked whole (a `UserError` naming the line of what is wrong)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UserError(f"{path}: error: cannot read the sweep spec: {e.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: error: the sweep spec is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line = re.search(r"line (\d+)", str(e))
        where = f"{path}:{line.group(1)}" if line else str(path)
        raise UserError(f"{where}: error: not valid TOML: {e}") from None
    at = _Locator(path, text)
    unknown = set(data) - {"problem", "run", "fixed", "grid", "random"}
    if unknown:
        key = sorted(unknown)[0]
        raise at.error(
            f"unknown key '{key}' (a spec has problem, run, [fixed], [grid], [random])", "", key
        )
    run = data.get("run", "cost")
    if run not in RUNS:
        raise at.error(f"run must be one of {', '.join(RUNS)}, got {run!r}", "", "run")
    if not isinstance(data.get("problem"), str):
        raise at.error('the spec names its problem file: problem = "FILE.mlir"', "", "problem")
    problem = (path.parent / data["problem"]).resolve()
    if not problem.is_file():
        raise at.error(f"no problem file {data['problem']} (next to the spec)", "", "problem")

    fixed = _table(data, "fixed", at)
    grid = _table(data, "grid", at)
    rand = _table(data, "random", at)
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise at.error(f"grid.{key} must be a non-empty list of values", "grid", key)
    samples, random_seed, choices = 0, 0, {}
    if rand:
        extra = set(rand) - {"samples", "seed", "choices"}
        if extra:
            key = sorted(extra)[0]
            raise at.error(
                f"unknown key '{key}' in [random] (samples, seed, [random.choices])", "random", key
            )
        samples, random_seed = rand.get("samples"), rand.get("seed", 0)
        if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
            raise at.error("random.samples must be a positive integer", "random", "samples")
        if not isinstance(random_seed, int) or isinstance(random_seed, bool):
            raise at.error("random.seed must be an integer", "random", "seed")
        choices = rand.get("choices", {})
        if not isinstance(choices, dict) or not choices:
            raise at.error("[random.choices] lists the values each draw picks from", "random")
        for key, values in choices.items():
            if not isinstance(values, list) or not values:
                raise at.error(
                    f"random.choices.{key} must be a non-empty list", "random.choices", key
                )
    spec = SweepSpec(path, problem, run, fixed, grid, samples, random_seed, choices)
    seen: dict[str, str] = {}
    for table, settings in _tables(spec):
        for key in settings:
            if key in seen:
                raise at.error(f"'{key}' is set in both [{seen[key]}] and [{table}]", table, key)
            seen[key] = table
            _check_setting(run, key, settings[key], table, at)
    count = math.prod(len(values) for values in grid.values()) * max(1, samples)
    if count > MAX_POINTS:
        raise at.error(f"{count} points: more than {MAX_POINTS:,}", "grid")
    _check_points(spec, at)
    return spec


def _table(data: dict, name: str, at: _Locator) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise at.error(f"'{name}' must be a table ([{name}])", "", name)
    return value


def _check_setting(run: str, key: str, value: Any, table: str, at: _Locator) -> None:
    values = value if table != "fixed" else [value]
    if "." in key:  # a pass option, or a hardware key
        if run not in ON_PINTA and not is_pass_option(key):
            raise at.error(
                f"hardware key '{key}' in a sweep of {run} points (cost and simulate points "
                "run on PINTA)",
                table,
                key,
            )
        for v in values:
            if not isinstance(v, int | float | bool | str):
                raise at.error(f"{key} takes a number, true/false or a string", table, key)
        return
    kinds = {**SETTINGS[run], **PROBLEM_SETTINGS}
    if key not in kinds:
        known = ", ".join(kinds)
        raise at.error(
            f"unknown setting '{key}' for {run} points (settings: {known}; pass options "
            "'pass.option'" + ("; hardware keys 'section.key')" if run in ON_PINTA else ")"),
            table,
            key,
        )
    for v in values:
        kind = kinds[key]
        if not isinstance(v, kind) or isinstance(v, bool):
            name = "number" if isinstance(kind, tuple) else kind.__name__
            raise at.error(f"{key} takes {name} values, got {v!r}", table, key)
        if key == "target" and v not in TARGETS:
            raise at.error(f"target must be one of {', '.join(TARGETS)}, got {v!r}", table, key)
        if key in ("steps", "seed") and v < (1 if key == "steps" else 0):
            raise at.error(f"{key} must be {'positive' if key == 'steps' else '>= 0'}", table, key)


def _check_points(spec: SweepSpec, at: _Locator) -> None:
    """What only the problem, the passes and the hardware model can tell: the problem
    parses and takes each point's training options, each pipeline exists and takes its pass
    options, each hardware setting is a valid configuration."""
    import pintac.api as pt
    from pintac.pipelines import pipeline_spec

    problem = pt.load(spec.problem)
    points = spec.points()
    locate = {key: table for table, keys in _tables(spec) for key in keys}
    configs = {tuple(problem_options(p).items()) for p in points}
    for config in sorted(configs, key=str):
        try:
            problem.with_config(**dict(config))
        except UserError as e:
            key = next((k for k, _ in config if f"'{k}'" in str(e)), config[0][0])
            message = str(e).splitlines()[0].split(" error: ", 1)[-1]
            raise at.error(message, locate.get(key, ""), key) from None
    options = [k for k in locate if is_pass_option(k)]
    checked = set()
    for point in points:
        settings = (point["pipeline"], *(point[k] for k in options))
        if settings in checked:
            continue
        checked.add(settings)
        try:
            pipeline_spec(point["pipeline"])
        except UserError as e:
            key = "pipeline" if "pipeline" in locate else None
            message = str(e).removeprefix("error: ")
            raise at.error(message, locate.get("pipeline", ""), key) from None
        try:
            pipeline_of(point)
        except UserError as e:
            key = next((k for k in options if k.split(".")[0] in str(e)), None)
            message = str(e).removeprefix("error: ").splitlines()[0]
            raise at.error(message, locate.get(key, ""), key) from None
    if spec.run in ON_PINTA:
        from pintac.runtime.pinta.target import HardwareOptions

        hardware = {hardware_overrides(p) for p in points}
        for overrides in sorted(hardware):
            try:
                HardwareOptions(None, overrides).load()
            except UserError as e:
                key = next((o.split("=")[0] for o in overrides if o.split("=")[0] in str(e)), None)
                table = locate.get(key, "") if key else ""
                message = str(e).removeprefix("error: ")
                raise at.error(f"{message} (in {', '.join(overrides)})", table, key) from None


def _tables(spec: SweepSpec):
    return (("fixed", spec.fixed), ("grid", spec.grid), ("random.choices", spec.choices))
