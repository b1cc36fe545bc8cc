"""The compute queue's units: in-order issue, concurrent units, the scoreboard, in-order
retirement of tokens."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pintac.runtime.pinta import isa
from pintac.runtime.pinta.simulator import Simulator


def _schedule(program, dram_words=1 << 12):
    sim = Simulator([*program, isa.HALT()], dram_image=np.zeros(dram_words, np.float32))
    return sim, sim.schedule.slots


def _gemm(acc=0, a=0, b=256, m=16, k=64, n=16, **flags):
    return isa.GEMM(acc=acc, a=a, b=b, m=m, k=k, n=n, init=1, **flags)


def _tanh(dst, a, n=256, **flags):
    return isa.SFU(fn="tanh", kind="apply", dst=dst, a=a, rows=1, cols=n, **flags)


def test_independent_instructions_on_different_units_run_together():
    sim, slots = _schedule([_gemm(), _tanh(dst=2048, a=1024)])
    gemm, sfu = slots[:2]
    assert sfu.start == gemm.start + 1  # issued the cycle after the GEMM, beside it
    assert sfu.units == ("sfu",) and gemm.units == ("array",)
    assert sim.report().cycles == max(gemm.finish, sfu.finish) < sum(sim.cycles)


def test_an_instruction_waits_for_the_in_flight_one_whose_result_it_reads():
    # ACCRD reads the GEMM's ACC region; the SFU reads what the ACCRD writes
    _, slots = _schedule(
        [_gemm(acc=0), isa.ACCRD(dst=1024, acc=0, m=16, n=16), _tanh(dst=2048, a=1024)]
    )
    gemm, accrd, sfu = slots[:3]
    assert accrd.start == gemm.finish
    assert sfu.start == accrd.finish


def test_an_instruction_waits_before_overwriting_what_an_in_flight_one_reads():
    # the SFU writes the GEMM's operand A: it waits until the GEMM has read it
    _, slots = _schedule([_gemm(a=0), _tanh(dst=0, a=1024)])
    gemm, sfu = slots[:2]
    assert sfu.start == gemm.finish


def test_issue_is_in_order():
    # the second GEMM waits for the array; the SFU behind it waits for its issue
    _, slots = _schedule([_gemm(acc=0), _gemm(acc=512), _tanh(dst=2048, a=1024)])
    first, second, sfu = slots[:3]
    assert second.start == first.finish
    assert sfu.start == second.start + 1


def test_a_token_is_sent_when_every_earlier_compute_instruction_has_completed():
    # the short SFU completes long before the GEMM issued ahead of it; the STORE that pops
    # the SFU's token still waits for the GEMM
    sim, slots = _schedule(
        [
            _gemm(a=4096, b=20480, k=1024),
            _tanh(dst=2048, a=1024, push_next=1),
            isa.STORE(dst=0, src=2048, rows=1, cols=256, stride=256, pop_prev=1),
        ]
    )
    gemm, sfu, store = slots[:3]
    assert sfu.finish < gemm.finish
    assert store.start == gemm.finish


_REGIONS = [0, 256, 512, 768]


@st.composite
def _programs(draw):
    """Compute instructions on a few 256-word SPM regions and ACC regions, some sharing."""
    out = []
    for _ in range(draw(st.integers(2, 12))):
        kind = draw(st.sampled_from(["gemm", "accrd", "sfu", "quant", "vec"]))
        x, y, z = (draw(st.sampled_from(_REGIONS)) for _ in range(3))
        acc = draw(st.sampled_from([0, 256]))
        if kind == "gemm":
            out.append(isa.GEMM(acc=acc, a=x, b=y, m=16, k=16, n=16, init=1))
        elif kind == "accrd":
            out.append(isa.ACCRD(dst=x, acc=acc, m=16, n=16))
        elif kind == "sfu":
            out.append(_tanh(dst=x, a=y))
        elif kind == "quant":
            out.append(isa.QUANT(addr=x, rows=16, cols=16, bits=8, brows=4, bcols=4))
        else:
            out.append(isa.VEC(op="add", dst=x, a=y, b=z, rows=16, cols=16))
    return out


def _touch(sim, pc):
    return [(a.memory, a.start, a.start + a.extent, a.write) for a in sim.accesses[pc]]


@settings(max_examples=60, deadline=None)
@given(_programs())
def test_the_schedule_keeps_program_order_where_words_are_shared(program):
    """Any two compute instructions sharing a word, one writing, run in program order; a
    unit runs one instruction at a time; issue is in order."""
    sim = Simulator([*program, isa.HALT()])
    slots = sim.schedule.slots[: len(program)]
    for j, later in enumerate(slots):
        for i in range(j):
            earlier = slots[i]
            assert later.start > earlier.start  # in order, one a cycle
            if set(earlier.units) & set(later.units):
                assert later.start >= earlier.finish
            shared = any(
                m == n and (w or v) and s < f2 and t < f
                for m, s, f, w in _touch(sim, i)
                for n, t, f2, v in _touch(sim, j)
            )
            if shared:
                assert later.start >= earlier.finish
