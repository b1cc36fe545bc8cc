"""The timing model: per-instruction cycle formulas, the token protocol, traps."""

import numpy as np
import pytest

from pintac.runtime import smx
from pintac.runtime.pinta import asm, isa
from pintac.runtime.pinta.config import HardwareConfig, load_config
from pintac.runtime.pinta.errors import PintaTrap
from pintac.runtime.pinta.program import ConstantPool
from pintac.runtime.pinta.simulator import Simulator

DEFAULT = HardwareConfig()


def cycles_of(ins, config=DEFAULT, dram_words=1 << 12, const_entries=8):
    """The step cycles of a one-instruction program (its own cycle count)."""
    sim = Simulator(
        [ins, isa.HALT()],
        config,
        np.zeros(dram_words, np.float32),
        const_entries=const_entries,
    )
    return sim.report().cycles


@pytest.mark.parametrize(
    "m, k, n, pa, pb, expected",
    [
        # latency 8 + waves * ceil(k * slices(a, b) / 12); 16 PEs of 4 x 4 lanes
        (16, 32, 16, "int8", "int8", 8 + 1 * 11),  # 16 tiles: one wave; 32*4/12 -> 11
        (64, 100, 64, "int12", "int8", 8 + 16 * 50),  # 256 tiles: 16 waves; 100*6/12 = 50
        (4, 4, 4, "int12", "int12", 8 + 3),  # 4*9/12 = 3
        (4, 3, 4, "int16", "int16", 8 + 4),  # 3*16/12 -> 4
        (4, 9, 4, "int4", "int2", 8 + 1),  # 9*1/12 -> 1
        (5, 7, 3, "f32", "f32", 8 + 7 * 4),  # 2 tiles, f32: 4 cycles per MAC
        (5, 7, 3, "int8", "f32", 8 + 7 * 4),  # either operand f32: the f32 mode
        (16, 0, 16, "int8", "int8", 8),
    ],
)
def test_gemm_cycles_follow_the_formula(m, k, n, pa, pb, expected):
    ins = isa.GEMM(acc=0, a=0, b=0, m=m, k=k, n=n, init=1, prec_a=pa, prec_b=pb)
    assert cycles_of(ins) == expected


def test_gemm_cycles_scale_with_the_config():
    cfg = load_config(
        overrides=[
            "gemm.pes=2",
            "gemm.pe_rows=2",
            "gemm.pe_cols=8",
            "gemm.slices=4",
            "gemm.latency=3",
        ]
    )
    ins = isa.GEMM(acc=0, a=0, b=0, m=8, k=10, n=8, init=1)
    # tiles ceil(8/2) * ceil(8/8) = 4 over 2 PEs: 2 waves of ceil(10 * 4 / 4) = 10
    assert cycles_of(ins, cfg) == 3 + 2 * 10


@pytest.mark.parametrize(
    "ins, expected",
    [
        # dram.latency 100 + ceil(bytes / 16)
        (isa.LOAD(fmt="f32", rows=10, cols=10, stride=10), 100 + 25),  # 400 bytes
        (isa.LOAD(fmt="q4b4", rows=10, cols=10, stride=10), 100 + 4),  # 50 + 9 blocks
        (isa.LOAD(fmt="q8r32", rows=5, cols=40, stride=40), 100 + 14),  # 200 + 5*2 blocks
        (isa.STORE(fmt="q12c32", rows=64, cols=3, stride=3), 100 + 19),  # 288 + 2*3 blocks
        (isa.STORE(fmt="f32", rows=3, cols=5, stride=100), 100 + 4),  # strided: 60 bytes
        (isa.LOAD(rows=0, cols=5), 100),
    ],
)
def test_dma_cycles_follow_the_formula(ins, expected):
    assert cycles_of(ins) == expected


@pytest.mark.parametrize(
    "ins, expected",
    [
        # vector.latency 4 + ceil(n / 16) (* 4 for div)
        (isa.VEC(op="add", rows=10, cols=10), 4 + 7),
        (isa.VEC(op="div", rows=10, cols=10), 4 + 7 * 4),
        (isa.VEC(op="fill", rows=1, cols=1), 4 + 1),
        (isa.VCOL(op="colslice", rows=8, cols=6, lo=1, hi=3), 4 + 3),
        # vector.latency 4 + max(source lines, result lines): runs along the last axis of
        # each side, at most 16 words of a run per line
        (isa.PERM(dst=1000, n2=8, n3=8, p2=3, p3=2), 4 + 8),  # 8 x 8: runs of 8
        (isa.PERM(dst=1000, n1=10, n2=8, n3=8, p2=3, p3=2), 4 + 80),  # 10 of them
        (isa.PERM(dst=1000, n0=8, n1=2, n2=4, n3=4, p1=2, p2=1), 4 + 64),  # runs of 4 kept
        (isa.PERM(dst=1000, n2=3, n3=40, p2=3, p3=2), 4 + 40),  # reads 3*3, writes 40*1
        (isa.PERM(dst=1000, n2=40, n3=3, p2=3, p3=2), 4 + 40),  # and the other way round
        (isa.PERM(dst=1000, n3=100), 4 + 7),  # the identity: a copy
        (isa.PERM(dst=1000, n0=0, n3=5), 4),
        (isa.RED(kind="colsum", rows=33, cols=16, init=1), 4 + 33),
        (isa.RED(kind="wsum", rows=1, cols=3), 4 + 3),
        # memory.acc_latency 4 + ceil(m n / 16) (the region must exist: see below)
        # quant.latency 4 + ceil(n / 16) + max(ceil(n / 16), ceil(n / 4) if stochastic)
        (isa.QUANT(rows=8, cols=8), 4 + 4 + 4),
        (isa.QUANT(rows=8, cols=8, rounding="stochastic", tensor_cols=8), 4 + 4 + 16),
        # sfu.latency 8 + ceil(e / 8) * cycles[fn]
        (isa.SFU(fn="tanh", kind="apply", rows=4, streams=2, cols=10), 8 + 10 * 2),
        (isa.SFU(fn="sqrt", kind="grad", rows=4, streams=1, cols=10), 8 + 5 * 1),
        (isa.SFU(fn="sin", kind="diff_vjp", rows=2, streams=3, cols=4), 8 + 4 * 2),  # 24 + 8
        # rng.latency 12 + ceil(points K D / 2)
        (isa.RNG(points=3, pairs=5, coords=2), 12 + 15),
        # vector.latency 4 + ceil(count / 16) * (adam 6 | sgd 1)
        (isa.UPDATE(kind="adam", count=100), 4 + 7 * 6),
        (isa.UPDATE(kind="sgd", count=100), 4 + 7),
        (isa.NOP(), 1),
    ],
)
def test_compute_cycles_follow_the_formulas(ins, expected):
    assert cycles_of(ins) == expected


def test_accrd_cycles():
    sim = Simulator(
        [
            isa.GEMM(acc=0, a=0, b=0, m=5, k=1, n=7, init=1, prec_a="f32", prec_b="f32"),
            isa.ACCRD(dst=0, acc=0, m=5, n=7),
            isa.HALT(),
        ],
    )
    assert sim.schedule.slots[1].finish - sim.schedule.slots[1].start == 4 + 3


def test_the_dma_channel_is_shared_by_load_and_store():
    sim = Simulator(
        [
            isa.LOAD(dst=0, src=0, rows=1, cols=160, stride=160),
            isa.STORE(dst=200, src=1000, rows=1, cols=160, stride=160),
            isa.HALT(),
        ],
        dram_image=np.zeros(400, np.float32),
    )
    load, store = sim.schedule.slots[:2]
    assert (load.start, load.finish) == (0, 140)  # 100 + 640 / 16
    assert store.start == 0 and store.channel_wait == 40  # its data waits for the load's
    assert store.finish == 180
    assert sim.report().queues["store"].stall == 40


# ---------------------------------------------------------------------------- tokens


def _double_buffered(tokens: bool):
    """Four 64 x 64 tiles of A streamed through two SPM buffers into one GEMM accumulation
    with B, then ACCRD and STORE; with tokens, loads of later tiles overlap the GEMMs."""
    t, k, n = 4, 64, 32
    rng = np.random.default_rng(0)
    a = smx.quantize_matrix(rng.standard_normal((64, t * k)).astype(np.float32), 8).values
    b = smx.quantize_matrix(rng.standard_normal((t * k, n)).astype(np.float32), 8).values
    dram = np.zeros(64 * t * k + t * k * n + 64 * n, np.float32)
    # A as t tiles of 64 x k, each contiguous
    for i in range(t):
        dram[i * 64 * k : (i + 1) * 64 * k] = a[:, i * k : (i + 1) * k].reshape(-1)
    b_at, out_at = 64 * t * k, 64 * t * k + t * k * n
    dram[b_at:out_at] = b.reshape(-1)
    buf, b_spm, c_spm = (0, 64 * k), 2 * 64 * k, 2 * 64 * k + t * k * n
    f = (lambda **kw: kw) if tokens else (lambda **kw: {})
    prog = [isa.LOAD(dst=b_spm, src=b_at, rows=t * k, cols=n, stride=n)]
    for i in range(t):
        reuse = i >= 2
        prog.append(
            isa.LOAD(
                dst=buf[i % 2],
                src=i * 64 * k,
                rows=64,
                cols=k,
                stride=k,
                **f(push_next=1, pop_next=int(reuse)),
            )
        )
    # program order: interleave so every LOAD precedes its GEMM
    loads = prog[1:]
    prog = [prog[0], loads[0], loads[1]]
    for i in range(t):
        prog.append(
            isa.GEMM(
                acc=0,
                a=buf[i % 2],
                b=b_spm + i * k * n,
                m=64,
                k=k,
                n=n,
                init=int(i == 0),
                **f(pop_prev=1, push_prev=int(i + 2 < t)),
            )
        )
        if i + 2 < t:
            prog.append(loads[i + 2])
    prog += [
        isa.ACCRD(dst=c_spm, acc=0, m=64, n=n, **f(push_next=1)),
        isa.STORE(dst=out_at, src=c_spm, rows=64, cols=n, stride=n, **f(pop_prev=1)),
        isa.HALT(),
    ]
    return prog, dram, smx.gemm(a, b), out_at


def test_tokens_overlap_dma_with_compute_and_results_are_exact():
    prog, dram, want, out_at = _double_buffered(tokens=True)
    sim = Simulator(prog, dram_image=dram)
    report = sim.run_step(0, 0)
    serial = sum(sim.cycles)
    assert report.cycles < serial
    gemms = [s for s, i in zip(sim.schedule.slots, prog, strict=False) if i.mnemonic == "GEMM"]
    loads = [s for s, i in zip(sim.schedule.slots, prog, strict=False) if i.mnemonic == "LOAD"]
    assert loads[3].start < gemms[1].finish  # the fourth tile loads during the second GEMM
    out = sim.dram[out_at : out_at + want.size].reshape(want.shape)
    assert np.array_equal(out.view(np.uint32), want.view(np.uint32))


def test_without_tokens_the_race_between_queues_traps():
    prog, dram, _, _ = _double_buffered(tokens=False)
    with pytest.raises(PintaTrap, match="race: this compute instruction reads SPM") as e:
        Simulator(prog, dram_image=dram)
    assert e.value.pc is not None and prog[e.value.pc].mnemonic == "GEMM"


def test_an_unsatisfiable_pop_traps_with_its_pc():
    source = """
    LOAD dst=0 src=0 rows=1 cols=4 stride=4 push_next=1
    GEMM m=1 k=1 n=1 init=1 pop_prev=1
    GEMM m=1 k=1 n=1 init=1 pop_prev=1
    HALT
    """
    with pytest.raises(PintaTrap) as e:
        Simulator(asm.assemble(source), dram_image=np.zeros(8, np.float32))
    assert e.value.pc == 2
    message = str(e.value)
    assert message.startswith("PINTA trap at PC 2: dependency deadlock")
    assert "the compute queue waits at PC 2 for a token from the load queue" in message
    assert message.endswith(
        "2: GEMM acc=0 a=0 b=0 m=1 k=1 n=1 ta=0 tb=0 init=1 prec_a=int8 prec_b=int8 pop_prev=1"
    )


def test_a_circular_wait_traps():
    prog = [
        isa.NOP(queue="compute", pop_next=1, push_next=1),
        isa.NOP(queue="store", pop_prev=1, push_prev=1),
        isa.HALT(),
    ]
    with pytest.raises(PintaTrap, match="at PC 0: dependency deadlock.*store queue waits at PC 1"):
        Simulator(prog)


def test_unconsumed_tokens_trap_at_the_pushing_instruction():
    prog = [isa.NOP(queue="load"), isa.NOP(queue="load", push_next=1), isa.HALT()]
    with pytest.raises(
        PintaTrap, match="at PC 1: unbalanced tokens: 1 token.* load queue to the compute queue"
    ):
        Simulator(prog)


# ---------------------------------------------------------------------------------- traps


@pytest.mark.parametrize(
    "ins, message",
    [
        (
            isa.LOAD(dst=(1 << 20) - 3, rows=1, cols=4, stride=4),
            "field 'dst' addresses SPM\\[1048573, 1048577\\), beyond the SPM \\(1048576 words\\)",
        ),
        (isa.LOAD(src=60, rows=2, cols=4, stride=4), "field 'src' addresses DRAM\\[60, 68\\)"),
        (isa.STORE(dst=0, rows=3, cols=4, stride=31), "field 'dst' addresses DRAM\\[0, 66\\)"),
        (isa.GEMM(acc=524286, m=2, k=1, n=2), "field 'acc' addresses ACC\\[524286, 524290\\)"),
        (
            isa.VEC(op="scale", rows=1, cols=1, const=2),
            "field 'const' addresses CONST\\[2, 3\\), beyond the constant pool \\(2 entries\\)",
        ),
    ],
)
def test_out_of_bounds_regions_trap(ins, message):
    with pytest.raises(PintaTrap, match=f"^PINTA trap at PC 1: address out of bounds: {message}"):
        Simulator(
            [isa.NOP(), ins, isa.HALT()], dram_image=np.zeros(64, np.float32), const_entries=2
        )


def test_bad_words_trap_with_their_pc():
    words = [isa.NOP().encode(), 0xF, isa.HALT().encode()]
    with pytest.raises(PintaTrap, match="^PINTA trap at PC 1: bad opcode 15\n    1: .word 0x"):
        Simulator(words)
    bad_flag = isa.LOAD().encode() | 1 << 4  # pop_prev on the load queue
    with pytest.raises(PintaTrap, match="at PC 0: field 'pop_prev' out of range: must be 0"):
        Simulator([bad_flag, isa.HALT().encode()])
    with pytest.raises(PintaTrap, match="at PC 1: the program ends without HALT"):
        Simulator([isa.NOP()])


def test_data_traps_happen_when_the_step_runs():
    sim = Simulator([isa.NOP(), isa.ACCRD(dst=0, acc=16, m=2, n=2), isa.HALT()])
    with pytest.raises(
        PintaTrap, match="at PC 1: ACCRD reads ACC\\[16, 20\\) as 2 x 2, which was never written"
    ):
        sim.run_step(0, 0)
    dram = np.array([1.0, np.nan, 0.0, 0.0], np.float32)
    sim = Simulator(
        [
            isa.LOAD(dst=0, src=0, rows=1, cols=4, stride=4, push_next=1),
            isa.QUANT(addr=0, rows=1, cols=4, brows=1, bcols=4, pop_prev=1),
            isa.HALT(),
        ],
        dram_image=dram,
    )
    with pytest.raises(PintaTrap, match="at PC 1: .*non-finite value \\(nan\\) at step 3"):
        sim.run_step(0, 3)


def test_constants_come_from_the_pool_in_dram():
    pool = ConstantPool()
    k = pool.add(2.5)
    dram = np.zeros(32, np.float32)
    dram[20:22] = pool.words()
    sim = Simulator(
        [
            isa.VEC(op="fill", dst=0, rows=1, cols=3, const=k, push_next=1),
            isa.STORE(dst=0, src=0, rows=1, cols=3, stride=3, pop_prev=1),
            isa.HALT(),
        ],
        dram_image=dram,
        const_base=20,
        const_entries=len(pool),
    )
    sim.run_step(0, 0)
    assert sim.dram[:3].tolist() == [2.5, 2.5, 2.5]
