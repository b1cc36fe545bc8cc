"""The hardware configuration of PINTA: sizes, rates, latencies and energies.

A configuration is a TOML file (`pinta.toml` beside this module holds the defaults, with every
key documented); `load_config(path, overrides)` reads one, checks every key and value, and
returns a `HardwareConfig`. Keys missing from a file keep their defaults. Overrides are
`"section.key=value"` strings (the value in TOML syntax), e.g. `"gemm.pes=32"` or
`"sfu.cycles.tanh=4"`, given on the command line as `--hw-set`.

Every mistake is a `UserError` that starts with where the value came from: `FILE:LINE: error:`
for a file, `--hw-set KEY=VALUE: error:` for an override. A configuration remembers where each
key was set, so that a later check (the simulator's: the DRAM image does not fit) names it too
(`HardwareConfig.key_error`).

The schema below is the one source of the keys, their defaults, units and meanings: the
bundled TOML (`config_toml()`) and the table of docs/pinta-hardware.md (`config_markdown()`)
are generated from it.
"""

from __future__ import annotations

import dataclasses
import math
import re
import shlex
import textwrap
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pintac.core.errors import UserError
from pintac.runtime.inputs import check_nesting, plain, read_text, shown
from pintac.runtime.pinta.codes import ADDRESS_BITS, SFU_FUNCTIONS

DEFAULT_PATH = Path(__file__).with_name("pinta.toml")
MIB = 1 << 20
# The largest integer a key takes: the timing and energy model divides and scales counts as
# floats, which hold integers exactly up to here (and overflow far beyond).
MAX_INTEGER = 2**53
# The largest configuration file read (the bundled one, every key documented, is 5 KB).
MAX_CONFIG_BYTES = 1 << 20


def _key(default: Any, doc: str, unit: str = "", minimum: float | None = None):
    """A configuration key: its default, meaning, unit and smallest valid value."""
    meta = {"doc": doc, "unit": unit, "min": minimum}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=meta)
    return field(default=default, metadata=meta)


def _per_function(values: list[int | float]) -> dict[str, int | float]:
    return dict(zip(SFU_FUNCTIONS, values, strict=True))


@dataclass(frozen=True)
class ClockConfig:
    """The clock."""

    mhz: float = _key(500.0, "clock frequency; converts cycles to time", "MHz", 1e-3)


@dataclass(frozen=True)
class GemmConfig:
    """The array of SMX tile-PEs and its precision-scalable multipliers."""

    pes: int = _key(16, "number of tile-PEs; each computes one output tile at a time", "", 1)
    pe_rows: int = _key(4, "output rows of a PE's tile (lanes along m)", "lanes", 1)
    pe_cols: int = _key(4, "output columns of a PE's tile (lanes along n)", "lanes", 1)
    slices: int = _key(
        12,
        "4x4-bit multiplier slices per lane; an a x b-bit product takes "
        "ceil(a/4)*ceil(b/4) of them (12: 3 INT8xINT8, 2 INT12xINT8 or 4/3 INT12xINT12 "
        "multiply-adds per lane per cycle)",
        "slices",
        1,
    )
    f32_cycles_per_mac: int = _key(
        4, "cycles of one float32 multiply-add per lane (the slow f32 mode)", "cycles", 1
    )
    latency: int = _key(8, "pipeline fill and drain of a GEMM instruction", "cycles", 0)


@dataclass(frozen=True)
class MemoryConfig:
    """On-chip buffers and the DRAM capacity."""

    spm_bytes: int = _key(
        4 * MIB,
        "scratchpad size (float32 words; at most 2^20 words, the SPM address width)",
        "bytes",
        4,
    )
    acc_bytes: int = _key(
        4 * MIB, "accumulator buffer size (at most 2^20 accumulators)", "bytes", 8
    )
    acc_word_bytes: int = _key(
        8, "bytes of one accumulator (its width for capacity, traffic and energy)", "bytes", 4
    )
    acc_words_per_cycle: int = _key(
        16, "accumulators ACCRD rounds and writes to the SPM per cycle", "words/cycle", 1
    )
    acc_latency: int = _key(4, "pipeline latency of ACCRD", "cycles", 0)
    copy_words_per_cycle: int = _key(
        16, "words an on-chip copy (LOAD or STORE with local=1) moves per cycle", "words/cycle", 1
    )
    copy_latency: int = _key(4, "latency of an on-chip copy", "cycles", 0)
    dram_bytes: int = _key(
        1024 * MIB, "DRAM capacity (at most 2^32 words); a DRAM image must fit", "bytes", 4
    )
    const_entries: int = _key(
        4096,
        "entries (64-bit) of the on-chip constant buffer the host fills from the constant "
        "pool (at most 2^12, the constant-address width)",
        "entries",
        0,
    )


@dataclass(frozen=True)
class DramConfig:
    """The DRAM channel the LOAD and STORE DMAs share."""

    bytes_per_cycle: int = _key(16, "DRAM bandwidth", "bytes/cycle", 1)
    latency: int = _key(100, "latency from a DMA's start to its first data", "cycles", 0)


@dataclass(frozen=True)
class VectorConfig:
    """The float32 vector unit (VEC, VCOL, PERM, RED, STEIN, UPDATE)."""

    lanes: int = _key(16, "float32 lanes", "lanes", 1)
    latency: int = _key(4, "pipeline latency of a vector instruction", "cycles", 0)
    div_cycles: int = _key(4, "cycles per element group of a division", "cycles", 1)
    adam_cycles: int = _key(6, "cycles per element group of an Adam update (sgd: 1)", "cycles", 1)


@dataclass(frozen=True)
class SfuConfig:
    """The special-function unit (activations)."""

    lanes: int = _key(8, "function evaluators", "lanes", 1)
    latency: int = _key(8, "pipeline latency of an SFU instruction", "cycles", 0)
    cycles: dict = _key(
        _per_function([2, 2, 2, 2, 2, 1]),
        "cycles per element group of each function's evaluation (initiation interval)",
        "cycles",
        1,
    )
    grad_cycles: dict = _key(
        _per_function([1, 2, 2, 1, 1, 1]),
        "cycles per element group of each function's derivative from its saved value",
        "cycles",
        1,
    )
    ops: dict = _key(
        _per_function([8, 8, 8, 6, 8, 4]),
        "float32 multiply-adds per evaluation, for energy (polynomial or iteration steps)",
        "ops",
        0,
    )
    grad_ops: dict = _key(
        _per_function([1, 8, 8, 0, 4, 4]),
        "float32 multiply-adds per derivative evaluation, for energy",
        "ops",
        0,
    )


@dataclass(frozen=True)
class QuantConfig:
    """The SMX quantizer (QUANT)."""

    lanes: int = _key(16, "elements per cycle of each of its two passes (amax, round)", "", 1)
    latency: int = _key(4, "pipeline latency of a QUANT", "cycles", 0)


@dataclass(frozen=True)
class RngConfig:
    """The Philox4x32-10 generator and its Box-Muller unit (RNG, stochastic QUANT)."""

    words_per_cycle: int = _key(4, "32-bit random words per cycle (one Philox block)", "", 1)
    normals_per_cycle: int = _key(2, "Gaussians per cycle (one Box-Muller pair)", "", 1)
    latency: int = _key(12, "pipeline latency (ten Philox rounds and Box-Muller)", "cycles", 0)


@dataclass(frozen=True)
class EnergyConfig:
    """Energy per action in pJ. Arithmetic and memory numbers are Horowitz, "Computing's
    energy problem" (ISSCC 2014), 45 nm; the others are stated assumptions."""

    int8_mult: float = _key(
        0.2, "INT8 x INT8 multiply (Horowitz); an a x b-bit one costs this * a*b/64", "pJ", 0
    )
    int8_add: float = _key(0.03, "INT8 add (Horowitz)", "pJ", 0)
    int32_add: float = _key(
        0.1, "32-bit integer add (Horowitz): the accumulation of one integer MAC", "pJ", 0
    )
    fp32_mult: float = _key(3.7, "float32 multiply (Horowitz)", "pJ", 0)
    fp32_add: float = _key(0.9, "float32 add (Horowitz)", "pJ", 0)
    fp32_div: float = _key(
        14.8, "float32 divide or square root (assumption: four multiplies)", "pJ", 0
    )
    quant_element: float = _key(
        0.09, "quantizing one element: compare, shift-round, saturate (3 INT8 adds)", "pJ", 0
    )
    spm_64b: float = _key(
        50.0,
        "64-bit SPM access (Horowitz: 10 pJ at 8 KB, 20 pJ at 32 KB, 100 pJ at 1 MB; a 4 MiB "
        "SPM in 64 KiB banks)",
        "pJ",
        0,
    )
    acc_64b: float = _key(50.0, "64-bit accumulator-buffer access (as the SPM)", "pJ", 0)
    const_64b: float = _key(
        20.0, "64-bit constant-buffer access (Horowitz: 20 pJ for a 32 KB SRAM)", "pJ", 0
    )
    dram_64b: float = _key(
        1300.0, "64-bit DRAM access (Horowitz: 1.3-2.6 nJ; the low end)", "pJ", 0
    )
    rng_word: float = _key(
        15.5,
        "one Philox4x32-10 word: 10 rounds of two 32-bit multiplies per 4 words "
        "(Horowitz 32-bit multiply 3.1 pJ)",
        "pJ",
        0,
    )
    rng_normal: float = _key(
        20.0, "one Box-Muller Gaussian (assumption: log, sqrt, sin/cos share)", "pJ", 0
    )


SECTIONS = {
    "clock": ClockConfig,
    "gemm": GemmConfig,
    "memory": MemoryConfig,
    "dram": DramConfig,
    "vector": VectorConfig,
    "sfu": SfuConfig,
    "quant": QuantConfig,
    "rng": RngConfig,
    "energy": EnergyConfig,
}


@dataclass(frozen=True)
class HardwareConfig:
    """A complete PINTA configuration (`load_config` builds one; the defaults are pinta.toml)."""

    clock: ClockConfig = field(default_factory=ClockConfig)
    gemm: GemmConfig = field(default_factory=GemmConfig)
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    dram: DramConfig = field(default_factory=DramConfig)
    vector: VectorConfig = field(default_factory=VectorConfig)
    sfu: SfuConfig = field(default_factory=SfuConfig)
    quant: QuantConfig = field(default_factory=QuantConfig)
    rng: RngConfig = field(default_factory=RngConfig)
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    # where each key not at its default was set ("hw.toml:3", "--hw-set gemm.pes=8"): not
    # part of the configuration's value
    origins: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def spm_words(self) -> int:
        return self.memory.spm_bytes // 4

    @property
    def acc_words(self) -> int:
        return self.memory.acc_bytes // self.memory.acc_word_bytes

    @property
    def dram_words(self) -> int:
        return self.memory.dram_bytes // 4

    @property
    def lanes(self) -> int:
        """Multiply-add lanes of the PE array."""
        return self.gemm.pes * self.gemm.pe_rows * self.gemm.pe_cols

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}

    def replace(self, **values: Any) -> HardwareConfig:
        """A copy with `"section.key": value` entries changed (checked like a file's)."""
        data, origins = self.as_dict(), dict(self.origins)
        for dotted, value in values.items():
            where = f"replace({dotted}={shown(value)})"
            _set(data, dotted, value, where)
            origins[dotted] = where
        return _build(data, origins)

    def key_error(self, key: str, message: str) -> UserError:
        """A UserError about the value of `key` ("memory.dram_bytes"; `message` names it),
        starting with where it was set: `FILE:LINE: error:`, `--hw-set KEY=VALUE: error:`, or
        `error:` for a default."""
        where = self.origins.get(key)
        return UserError(f"{where}: error: {message}" if where else f"error: {message}")


# --------------------------------------------------------------------------------- loading


def load_config(path: str | Path | None = None, overrides=()) -> HardwareConfig:
    """Read a configuration TOML (None: the defaults of the schema, which the bundled
    pinta.toml spells out) and apply `overrides` ("section.key=value", the value in TOML
    syntax). Unknown keys and bad values are `UserError`s naming the key, and for a file
    its path and line, for an override the `--hw-set` option."""
    data = HardwareConfig().as_dict()
    origins: dict[str, str] = {}
    if path is not None:
        file = Path(path)
        text = read_text(file, "the hardware configuration", MAX_CONFIG_BYTES)
        check_nesting(text, str(file), "toml")
        try:
            parsed = tomllib.loads(text)
        except ValueError as e:  # a TOMLDecodeError, or an integer too long to convert
            raise UserError(f"{file}: error: invalid TOML: {e}") from None
        for section, body in parsed.items():
            if not isinstance(body, dict):
                line = _line_of(text, None, section)
                raise UserError(
                    f"{file}:{line}: error: the key {shown(section)} lies outside any section; "
                    f"keys belong to one of [{'], ['.join(SECTIONS)}]"
                )
            if section not in SECTIONS:
                line = _line_of(text, section, None)
                raise UserError(
                    f"{file}:{line}: error: unknown section [{plain(section)}] (known: "
                    f"{', '.join(SECTIONS)})"
                )
            for key, value in _flatten(body):
                dotted = f"{section}.{key}"
                where = f"{file}:{_line_of(text, section, key)}"
                _set(data, dotted, value, where)
                origins[dotted] = where
    for item in overrides:
        where = f"--hw-set {_option_text(item)}"
        if "=" not in item:
            raise UserError(f"{where}: error: not KEY=VALUE (e.g. gemm.pes=32)")
        dotted, raw = (s.strip() for s in item.split("=", 1))
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except ValueError:  # a TOMLDecodeError, or an integer too long to convert
            raise UserError(
                f"{where}: error: {shown(raw)} is not a TOML value (numbers as 12 or 0.5, "
                "strings quoted)"
            ) from None
        _set(data, dotted, value, where)
        origins[dotted] = where
    return _build(data, origins)


def _option_text(item: str) -> str:
    """An override as the user would type it after --hw-set (quoted where the shell needs
    it), or escaped if it holds characters a terminal would interpret."""
    if item.isprintable() and len(item) <= 60:
        return shlex.quote(item)
    return shown(item, 60)


def _flatten(body: dict, prefix: str = ""):
    for key, value in body.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield prefix + key, value


def _line_of(text: str, section: str | None, key: str | None) -> int:
    """The line of `[section]` (key None) or of `key = ...` in it (section None: before any
    section); best effort, 1 if not found."""
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = re.match(r"\[\s*([^\]]+?)\s*\]", stripped)
        if header:
            current = header.group(1)
            if key is None and current == section:
                return number
            continue
        if key is None or "=" not in stripped:
            continue
        # "a.b = 1" in [section], or "b = 1" in [section.a]
        name = stripped.split("=", 1)[0].strip()
        full = name if current is None else f"{current}.{name}"
        want = key if section is None else f"{section}.{key}"
        if full == want and (section is None) == (current is None):
            return number
    return 1


def _fields(section: str) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(SECTIONS[section])}


def _set(data: dict, dotted: str, value: Any, where: str) -> None:
    """Check one "section.key[.function]" value set at `where` and store it into `data`."""
    parts = dotted.split(".")
    section = parts[0]
    if len(parts) < 2:
        raise UserError(
            f"{where}: error: {shown(dotted)} is not a key: a key is section.key (e.g. "
            f"gemm.pes); the sections are {', '.join(SECTIONS)}"
        )
    if section not in SECTIONS:
        raise UserError(
            f"{where}: error: unknown section {shown(section)} (known: {', '.join(SECTIONS)})"
        )
    fields = _fields(section)
    if parts[1] not in fields:
        raise UserError(
            f"{where}: error: unknown key {shown('.'.join(parts[1:]))} in [{section}] (known: "
            f"{', '.join(fields)})"
        )
    f = fields[parts[1]]
    default = getattr(SECTIONS[section](), f.name)
    if isinstance(default, dict):
        if len(parts) != 3 or parts[2] not in SFU_FUNCTIONS:
            raise UserError(
                f"{where}: error: {shown(dotted)} must name a function: "
                f"{section}.{f.name}.<function>, one of {', '.join(SFU_FUNCTIONS)}"
            )
        data[section][f.name][parts[2]] = _check_value(dotted, value, default[parts[2]], f, where)
        return
    if len(parts) != 2:
        raise UserError(f"{where}: error: unknown key {shown(dotted)}")
    data[section][f.name] = _check_value(dotted, value, default, f, where)


def _check_value(dotted: str, value: Any, default: Any, f: dataclasses.Field, where: str):
    want_int = isinstance(default, int)
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and want_int and not isinstance(value, int):
        ok = float(value).is_integer()
    if not ok:
        kind = "an integer" if want_int else "a number"
        raise UserError(f"{where}: error: '{dotted}' must be {kind}, got {shown(value)}")
    if not want_int and not math.isfinite(value):
        raise UserError(f"{where}: error: '{dotted}' must be a finite number, got {value!r}")
    value = int(value) if want_int else float(value)
    low = f.metadata["min"]
    if low is not None and value < low:
        raise UserError(f"{where}: error: '{dotted}' must be at least {low:g}, got {value}")
    if want_int and value > MAX_INTEGER:
        raise UserError(f"{where}: error: '{dotted}' must be at most 2^53, got {value:.3g}")
    return value


def _build(data: dict, origins: dict[str, str]) -> HardwareConfig:
    sections = {name: SECTIONS[name](**values) for name, values in data.items()}
    cfg = HardwareConfig(**sections, origins=origins)
    limits = [
        ("memory.spm_bytes", cfg.spm_words, ADDRESS_BITS["spm"], "SPM words"),
        ("memory.acc_bytes", cfg.acc_words, ADDRESS_BITS["acc"], "accumulators"),
        ("memory.dram_bytes", cfg.dram_words, ADDRESS_BITS["dram"], "DRAM words"),
        ("memory.const_entries", cfg.memory.const_entries, ADDRESS_BITS["const"], "entries"),
    ]
    for key, count, bits, what in limits:
        if count > 1 << bits:
            raise cfg.key_error(
                key,
                f"'{key}' gives {count} {what}, more than the {bits}-bit address fields reach "
                f"({1 << bits})",
            )
    for key, size, unit in (
        ("memory.spm_bytes", cfg.memory.spm_bytes, 4),
        ("memory.acc_bytes", cfg.memory.acc_bytes, cfg.memory.acc_word_bytes),
        ("memory.dram_bytes", cfg.memory.dram_bytes, 4),
    ):
        if size % unit:
            # the accumulator's width may be the key that was changed
            culprit = key if key in origins else "memory.acc_word_bytes"
            raise cfg.key_error(culprit, f"'{key}' ({size}) must be a multiple of {unit} bytes")
    return cfg


# ----------------------------------------------------------------------------- documentation


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _comment(text: str) -> list[str]:
    return ["# " + line for line in textwrap.wrap(text, 96)]


def config_toml(config: HardwareConfig | None = None) -> str:
    """A configuration as TOML, every key with its unit and meaning: by default the defaults
    (the bundled pinta.toml)."""
    if config is None:
        out = [
            "# PINTA hardware configuration: the defaults. Generated from the schema in",
            "# runtime/pinta/config.py by `python -m pintac.runtime.pinta docs`; the meaning of",
            "# every key is in docs/pinta-hardware.md. Copy this file to change a value, or",
            '# override one key with "section.key=value".',
        ]
    else:
        out = ["# PINTA hardware configuration (docs/pinta-hardware.md has every key)."]
    defaults = HardwareConfig() if config is None else config
    for name, cls in SECTIONS.items():
        section = getattr(defaults, name)
        out += ["", f"# {cls.__doc__.splitlines()[0]}", f"[{name}]"]
        tables = []
        for f in dataclasses.fields(cls):
            value = getattr(section, f.name)
            unit = f" [{f.metadata['unit']}]" if f.metadata["unit"] else ""
            if isinstance(value, dict):
                tables.append((f, value, unit))
                continue
            out += _comment(f.metadata["doc"] + unit)
            out.append(f"{f.name} = {_format_value(value)}")
        for f, value, unit in tables:
            out += ["", *_comment(f.metadata["doc"] + unit), f"[{name}.{f.name}]"]
            out += [f"{k} = {_format_value(v)}" for k, v in value.items()]
    return "\n".join(out) + "\n"


def config_markdown() -> str:
    """The table of every key for docs/pinta-hardware.md."""
    out = ["| key | default | unit | meaning |", "|---|---|---|---|"]
    defaults = HardwareConfig()
    for name, cls in SECTIONS.items():
        section = getattr(defaults, name)
        for f in dataclasses.fields(cls):
            value = getattr(section, f.name)
            if isinstance(value, dict):
                shown = ", ".join(f"{k} {_format_value(v)}" for k, v in value.items())
                key = f"`{name}.{f.name}.<fn>`"
            else:
                shown, key = _format_value(value), f"`{name}.{f.name}`"
            out.append(f"| {key} | {shown} | {f.metadata['unit']} | {f.metadata['doc']} |")
    return "\n".join(out) + "\n"
