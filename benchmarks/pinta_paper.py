"""One training step of each paper example on PINTA: what `pintac compile` reports.

For each example and pipeline: compile for PINTA (default hardware unless --hw-set), and
record how the step was lowered (whole, or tiled by points to fit the DRAM: points a tile),
the instructions, the DRAM it uses, cycles, PE utilization, energy (total and DRAM's share)
and the DRAM bytes moved, from the step's static report (the cost of a step is deterministic
per program). Records go to `benchmarks/results/pinta_paper.json`.

    python benchmarks/pinta_paper.py                                  # 3 examples x 3 pipelines
    python benchmarks/pinta_paper.py --example poisson2d --pipeline full --hw-set memory.acc_bytes=4194304
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import records  # benchmarks/records.py

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "pinta_paper.json"
EXAMPLES = ("poisson2d", "hjb20d", "heat100d")
PIPELINES = ("fp32", "smx-diff", "full")


def measure(example: str, pipeline: str, overrides: list[str]) -> dict:
    import pintac.api as pt
    from pintac.dialects import pinta
    from pintac.runtime.pinta.target import HardwareOptions

    problem = pt.load(ROOT / "examples" / f"{example}.mlir")
    started = time.perf_counter()
    program = problem.compile(
        pipeline, target="pinta", hw=HardwareOptions(overrides=tuple(overrides))
    )
    executable = program.executable
    report = executable.report
    seconds = time.perf_counter() - started
    op = next(o for o in program.lowered.walk() if isinstance(o, pinta.ProgramOp))
    tiles = op.attributes.get("tiles")
    moved = sum(report.bytes.get("dram", {}).values())
    energy = report.energy_by_category()
    return {
        "example": example,
        "pipeline": pipeline,
        "hw_set": overrides,
        "tiles": {k: v.value.data for k, v in tiles.data.items()} if tiles else None,
        "instructions": len(executable.step.instructions),
        "dram_used_bytes": 4 * executable.step.dram_words,
        "cycles": report.cycles,
        "pe_utilization": report.pe_utilization,
        "energy_mj": report.total_energy_pj / 1e9,
        "dram_energy_share": energy["dram"] / report.total_energy_pj,
        "dram_bytes_moved": moved,
        "compile_seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", action="append", choices=EXAMPLES)
    parser.add_argument("--pipeline", action="append")
    parser.add_argument("--hw-set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    for example in args.example or EXAMPLES:
        for pipeline in args.pipeline or PIPELINES:
            row = measure(example, pipeline, args.hw_set)
            records.append(RESULTS, row)
            print(
                f"{example:10} {pipeline:9} tiles {row['tiles']} instructions "
                f"{row['instructions']:,} DRAM used {row['dram_used_bytes'] / 1e6:,.0f} MB, "
                f"cycles {row['cycles']:,}, PE {row['pe_utilization']:.1%}, "
                f"{row['energy_mj']:,.1f} mJ (DRAM {row['dram_energy_share']:.0%}), "
                f"moved {row['dram_bytes_moved'] / 1e9:,.2f} GB ({row['compile_seconds']} s)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
