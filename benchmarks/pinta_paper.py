"""One training step of each paper example on PINTA: what `pintac compile` reports.

For each example and pipeline: lower the step for PINTA (default hardware unless --hw-set;
`--placement dram`: every value in DRAM, the step whole), and record how it was lowered
(whole, or tiled by points: points a tile),
the instructions, the DRAM it uses, cycles, PE utilization, energy (total and DRAM's share)
and the DRAM bytes moved, from the step's static report (the cost of a step is deterministic
per program). Records go to `benchmarks/results/pinta_paper.json`.

    python benchmarks/pinta_paper.py                      # 3 paper examples x 3 pipelines
    python benchmarks/pinta_paper.py --example poisson2d_small --placement dram
    python benchmarks/pinta_paper.py --example poisson2d --hw-set memory.acc_bytes=4194304
    python benchmarks/pinta_paper.py --example poisson2d --pipeline smx-diff \
        --tiling 'tile-points{points=4},tile-streams{streams=32}' --hw-set memory.acc_bytes=4194304

`--tiling PASSES` appends passes to the pipeline (the step's tiles, which the lowering then
keeps); `--detail` also prints each queue's busy share and the energy by category.
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


def measure(
    example: str, pipeline: str, overrides: list[str], placement: str, tiling: str = ""
) -> dict:
    import numpy as np

    import pintac.api as pt
    from pintac.dialects import pinta
    from pintac.passes.lower_to_pinta import LowerToPintaPass
    from pintac.pipelines import pipeline_spec
    from pintac.registry import make_context
    from pintac.runtime.pinta.config import load_config
    from pintac.runtime.pinta.lowered import LoweredStep
    from pintac.runtime.pinta.simulator import Simulator

    problem = pt.load(ROOT / "examples" / f"{example}.mlir")
    started = time.perf_counter()
    spec = pipeline_spec(pipeline) + (f",{tiling}" if tiling else "")
    module = problem.compile(spec).module.clone()  # the pipeline's IR (untiled unless tiling)
    LowerToPintaPass(set=",".join(overrides), placement=placement).apply(make_context(), module)
    op = next(o for o in module.walk() if isinstance(o, pinta.ProgramOp))
    step = LoweredStep.of(op)
    cfg = load_config(None, overrides)
    image = np.zeros(step.dram_words, np.float32)  # the static cost: no values needed
    report = Simulator(
        step.instructions, cfg, image, const_base=step.const_base, const_entries=len(step.constants)
    ).report()
    seconds = time.perf_counter() - started
    tiles = op.attributes.get("tiles")
    streams = op.attributes.get("stream_tiles")
    moved = sum(report.bytes.get("dram", {}).values())
    energy = report.energy_by_category()
    return {
        "example": example,
        "pipeline": pipeline,
        "hw_set": overrides,
        "placement": placement,
        "tiling": tiling,
        "tiles": {k: v.value.data for k, v in tiles.data.items()} if tiles else None,
        "stream_tiles": {k: v.value.data for k, v in streams.data.items()} if streams else None,
        "instructions": len(step.instructions),
        "dram_used_bytes": 4 * step.dram_words,
        "cycles": report.cycles,
        "pe_utilization": report.pe_utilization,
        "energy_mj": report.total_energy_pj / 1e9,
        "dram_energy_share": energy["dram"] / report.total_energy_pj,
        "dram_bytes_moved": moved,
        "queue_busy": {q: s.busy / report.cycles for q, s in report.queues.items()},
        "unit_busy": {u: s.busy / report.cycles for u, s in report.units.items()},
        "energy_mj_by_category": {c: e / 1e9 for c, e in energy.items()},
        "compile_seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", action="append")
    parser.add_argument("--example", dest="examples", action="append")
    parser.add_argument("--hw-set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--placement", choices=("onchip", "dram"), default="onchip")
    parser.add_argument("--tiling", default="", metavar="PASSES")
    parser.add_argument("--detail", action="store_true")
    args = parser.parse_args(argv)
    from pintac.core.errors import UserError

    for example in args.examples or EXAMPLES:
        for pipeline in args.pipeline or PIPELINES:
            try:
                row = measure(example, pipeline, args.hw_set, args.placement, args.tiling)
            except UserError as e:  # recorded: e.g. the step needs more of a memory
                message = str(e).split(" failed: ")[-1].splitlines()[0]
                records.append(
                    RESULTS,
                    {
                        "example": example,
                        "pipeline": pipeline,
                        "hw_set": args.hw_set,
                        "tiling": args.tiling,
                        "error": message,
                    },
                )
                print(f"{example:10} {pipeline:9} error: {message}", flush=True)
                continue
            records.append(RESULTS, row)
            print(
                f"{example:10} {pipeline:9} tiles {row['tiles']} streams {row['stream_tiles']} "
                f"instructions "
                f"{row['instructions']:,} DRAM used {row['dram_used_bytes'] / 1e6:,.0f} MB, "
                f"cycles {row['cycles']:,}, PE {row['pe_utilization']:.1%}, "
                f"{row['energy_mj']:,.1f} mJ (DRAM {row['dram_energy_share']:.0%}), "
                f"moved {row['dram_bytes_moved'] / 1e9:,.2f} GB ({row['compile_seconds']} s)",
                flush=True,
            )
            if args.detail:
                busy = ", ".join(
                    f"{q} {b:.0%}" for q, b in (row["queue_busy"] | row["unit_busy"]).items()
                )
                energy = ", ".join(f"{c} {e:,.1f}" for c, e in row["energy_mj_by_category"].items())
                print(f"    busy: {busy}; mJ: {energy}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
