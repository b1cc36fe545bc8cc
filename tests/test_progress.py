"""The training progress bar, with a fake stream and a fake clock."""

import io

from pintac.progress import Progress, format_duration, format_rate


class Clock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def tick(self, dt: float) -> None:
        self.t += dt


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(stream, clock, total=1000, dt=0.5, start=0, extra=None):
    p = Progress(total, start_step=start, stream=stream, clock=clock)
    for step in range(start + 1, total + 1):
        clock.tick(dt)
        p.update(step, 1.0 / step, extra)
    p.close()
    return p


def test_line_format():
    clock = Clock()
    p = Progress(1000, stream=io.StringIO(), clock=clock)
    for step in range(1, 121):
        clock.tick(0.5)
        p.update(step, 1.234e-2)
    line = p.render(120, 1.234e-2)
    assert line == "step 120/1000 [##..................] 12% loss 1.234e-02 2.0 step/s ETA 07:20"


def test_extra_values():
    p = Progress(10, stream=io.StringIO(), clock=Clock())
    line = p.render(5, 0.5, {"err": 3.25e-3, "lr": 1e-3, "epoch": 2, "phase": "warm"})
    assert "loss 5.000e-01 err 3.250e-03 lr 1.000e-03 epoch 2 phase warm" in line


def test_log_lines_every_five_percent_and_the_last_step():
    out = io.StringIO()
    run(out, Clock(), total=1000)
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    steps = [int(line.split()[1].split("/")[0]) for line in lines]
    assert steps == [1] + list(range(50, 1001, 50))
    assert lines[-1].startswith("step 1000/1000 [####################] 100% loss 1.000e-03")
    assert lines[-1].endswith("ETA 00:00")


def test_log_with_few_steps_prints_every_step():
    out = io.StringIO()
    run(out, Clock(), total=7)
    assert len(out.getvalue().splitlines()) == 7


def test_tty_redraws_one_line_at_most_ten_times_a_second():
    out, clock = TTY(), Clock()
    run(out, clock, total=1000, dt=0.01)  # 100 steps/s for 10 s
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    draws = text.count("\r")
    assert 95 <= draws <= 102  # ~10 per second, plus the first and the last
    assert text.rstrip("\n").split("\r")[-1].startswith("step 1000/1000")


def test_tty_pads_shorter_lines():
    out, clock = TTY(), Clock()
    p = Progress(10, stream=out, clock=clock)
    p.update(1, 123.0, {"note": "a long extra value"})
    clock.tick(1)
    p.update(2, 1.0)
    p.close()
    first, second = out.getvalue().rstrip("\n").split("\r")[1:]
    assert len(second) == len(first) and second.rstrip() != second


def test_close_shows_the_pending_state_once():
    out, clock = io.StringIO(), Clock()
    p = Progress(1000, stream=out, clock=clock)
    for step in range(1, 31):
        clock.tick(1)
        p.update(step, 0.5)
    p.close()
    p.close()
    steps = [line.split()[1] for line in out.getvalue().splitlines()]
    assert steps == ["1/1000", "30/1000"]  # interrupted at step 30: the log says so


def test_disabled_prints_nothing():
    out = io.StringIO()
    p = Progress(10, stream=out, enabled=False, clock=Clock())
    p.update(10, 1.0)
    p.close()
    assert out.getvalue() == ""


def test_eta_follows_recent_step_times():
    out, clock = io.StringIO(), Clock()
    p = Progress(1000, stream=out, clock=clock, window=10)
    clock.tick(30)  # a slow first step (compilation)
    p.update(1, 1.0)
    for step in range(2, 101):
        clock.tick(0.1)
        p.update(step, 1.0)
    rate = p.rate()
    assert abs(rate - 10.0) < 1e-9
    assert abs(p.eta(100) - 90.0) < 1e-6


def test_resumed_run_counts_from_the_start_step():
    out, clock = io.StringIO(), Clock()
    p = run(out, clock, total=100, start=60, dt=2.0)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("step 61/100 [############........] 61%")
    assert "0.5 step/s" in lines[0] and "ETA 01:18" in lines[0]
    assert lines[-1].startswith("step 100/100")
    assert p.rate() == 0.5


def test_unknown_rate_and_formats():
    p = Progress(10, stream=io.StringIO(), clock=Clock())
    assert p.render(0, float("nan")).endswith("loss nan -- step/s ETA --:--")
    assert format_duration(3725) == "1:02:05" and format_duration(59.6) == "01:00"
    assert format_rate(2.14) == "2.1" and format_rate(1234.5) == "1234"
    assert format_rate(0.0123) == "0.012"
