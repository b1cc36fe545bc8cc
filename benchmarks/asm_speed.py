"""Speed of the PINTA assembler: lines of `.pasm` per second.

    python benchmarks/asm_speed.py [--lines 1000000] [--repeat 3] [--grammar-lines 20000]
                                   [--problem examples/poisson2d_small.mlir] [--pipeline smx-diff]

Assembles two generated programs of `--lines` lines:

- compiled: the annotated assembly `pintac compile` writes for the problem (program.pasm,
  each instruction with its note), its instruction lines repeated;
- random: as many valid instructions of every class, field values drawn uniformly from
  their ranges (a seeded generator), so most lines and many operands are new: the worst
  case for the assembler's memo of converted operands.

For each it reports lines per second, the median of `--repeat` runs, by the wall clock and
by the process's CPU time (on a machine shared with other jobs the CPU time is the steadier
figure), and for comparison the grammar alone (`assemble_by_grammar`, the assembler before
its fast path) on the first `--grammar-lines` lines, checking that both give the same words.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from pintac.runtime.pinta import asm, isa


def compiled_lines(problem: str, pipeline: str) -> list[str]:
    """The instruction lines of the assembly `pintac compile` writes for `problem`."""
    import pintac.api as pt
    from pintac.runtime.pinta.target import assembly

    executable = pt.load(problem).compile(pipeline, target="pinta").executable
    text = assembly(executable.step, executable.title)
    return [line for line in text.splitlines() if line and not line.startswith(";")]


def random_lines(count: int, seed: int = 0) -> list[str]:
    """`count` canonical lines of valid instructions with uniformly drawn field values."""
    rng = random.Random(seed)
    specs = list(isa.INSTRUCTIONS.values())
    lines: list[str] = []
    while len(lines) < count:
        spec = rng.choice(specs)
        values = {}
        for f in spec.fields:
            if f.kind in ("enum", "pow2"):
                values[f.name] = rng.choice(list(f.codes))
            else:
                values[f.name] = rng.randint(f.minimum, f.top)
        ins = spec.type(**values)
        if not isa.problems(ins):  # a draw that breaks a class rule is drawn again
            lines.append(isa.text(ins))
    return lines


def repeated(lines: list[str], count: int) -> str:
    return "\n".join((lines * (count // len(lines) + 1))[:count]) + "\n"


def lines_per_second(assemble, text: str, lines: int, repeat: int) -> tuple[float, float]:
    """Median lines per second by the wall clock and by CPU time."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        assemble(text, "bench.pasm")
        wall.append(lines / (time.perf_counter() - start))
        cpu.append(lines / (time.process_time() - start_cpu))
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--grammar-lines", type=int, default=20_000)
    parser.add_argument("--problem", default="examples/poisson2d_small.mlir")
    parser.add_argument("--pipeline", default="smx-diff")
    args = parser.parse_args()
    programs = {
        "compiled": compiled_lines(args.problem, args.pipeline),
        "random": random_lines(args.lines),
    }
    for name, lines in programs.items():
        text = repeated(lines, args.lines)
        sample = repeated(lines, min(args.grammar_lines, args.lines))
        if asm.assemble(sample) != asm.assemble_by_grammar(sample):
            raise SystemExit(f"{name}: the fast path and the grammar give different words")
        wall, cpu = lines_per_second(asm.assemble, text, args.lines, args.repeat)
        g_wall, g_cpu = lines_per_second(
            asm.assemble_by_grammar, sample, min(args.grammar_lines, args.lines), 1
        )
        print(
            f"{name:9s} {args.lines} lines ({len(set(lines))} distinct): "
            f"{wall:,.0f} lines/s wall, {cpu:,.0f} lines/s CPU (median of {args.repeat}); "
            f"grammar alone: {g_wall:,.0f} wall, {g_cpu:,.0f} CPU ({cpu / g_cpu:.0f}x)"
        )


if __name__ == "__main__":
    main()
