"""A dependency-free progress bar for training loops.

    progress = Progress(total_steps=1000)
    for step in range(1000):
        loss = train_step(...)
        progress.update(step + 1, loss, {"err": err})
    progress.close()

shows

    step 120/1000 [##..................] 12% loss 1.234e-02 err 3.1e-03 2.1 step/s ETA 07:03

`update(step, ...)` takes the number of steps *completed* (so the last call is
`update(total_steps, ...)`). On a terminal the line is redrawn in place with `\\r`, at most
every `min_interval` seconds (plus the first and the last step); otherwise (a log file, a
pipe) a full line is printed each time another ~5% of the steps is done, and at the last step,
so logs stay readable. The speed and the ETA come from the last `window` updates (a moving
average over recent step times), not from the whole run, so a slow first step (compilation,
warm-up) does not distort them for long.
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TextIO


def format_duration(seconds: float) -> str:
    """`MM:SS`, or `H:MM:SS` from one hour on; `--:--` when unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def format_rate(rate: float) -> str:
    if not math.isfinite(rate) or rate <= 0:
        return "--"
    if rate >= 100:
        return f"{rate:.0f}"
    if rate >= 1:
        return f"{rate:.1f}"
    return f"{rate:.2g}"


def format_value(value) -> str:
    if isinstance(value, bool | int):
        return str(value)
    if isinstance(value, float) or hasattr(value, "__float__"):
        try:
            return f"{float(value):.3e}"
        except (TypeError, ValueError):
            pass
    return str(value)


class Progress:
    """A one-line progress bar (TTY) or periodic progress lines (logs). See the module doc."""

    def __init__(
        self,
        total_steps: int,
        start_step: int = 0,
        stream: TextIO | None = None,
        enabled: bool = True,
        *,
        clock: Callable[[], float] = time.monotonic,
        tty: bool | None = None,
        bar_width: int = 20,
        min_interval: float = 0.1,
        log_every: float = 0.05,
        window: int = 50,
    ):
        self.total = max(0, int(total_steps))
        self.start = int(start_step)
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.clock = clock
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            try:
                tty = bool(isatty()) if isatty is not None else False
            except (ValueError, OSError):  # a closed stream
                tty = False
        self.tty = tty
        self.bar_width = bar_width
        self.min_interval = min_interval
        self.log_every = log_every
        self._samples: deque[tuple[float, int]] = deque(maxlen=max(2, window))
        self._samples.append((clock(), self.start))
        self._last_draw: float | None = None
        self._last_bucket: int | None = None
        self._line_width = 0
        self._pending: str | None = None  # the latest state, if not shown yet
        self._closed = False

    # -- state
    def rate(self) -> float:
        """Steps per second over the recent window (nan before two distinct samples)."""
        (t0, s0), (t1, s1) = self._samples[0], self._samples[-1]
        if t1 <= t0 or s1 <= s0:
            return math.nan
        return (s1 - s0) / (t1 - t0)

    def eta(self, step: int) -> float:
        rate = self.rate()
        remaining = max(0, self.total - step)
        if remaining == 0:
            return 0.0
        return remaining / rate if math.isfinite(rate) and rate > 0 else math.nan

    def render(self, step: int, loss: float, extra: dict | None = None) -> str:
        total = self.total
        frac = 1.0 if total == 0 else min(1.0, max(0.0, step / total))
        filled = int(frac * self.bar_width)
        bar = "#" * filled + "." * (self.bar_width - filled)
        parts = [
            f"step {step}/{total}",
            f"[{bar}]",
            f"{int(frac * 100)}%",
            f"loss {format_value(float(loss))}",
        ]
        for key, value in (extra or {}).items():
            parts.append(f"{key} {format_value(value)}")
        parts.append(f"{format_rate(self.rate())} step/s")
        parts.append(f"ETA {format_duration(self.eta(step))}")
        return " ".join(parts)

    # -- output
    def update(self, step: int, loss: float, extra: dict | None = None) -> None:
        """Record that `step` steps are done (of `total_steps`) with the current loss."""
        if self._closed:
            return
        now = self.clock()
        step = int(step)
        if step != self._samples[-1][1]:
            self._samples.append((now, step))
        if not self.enabled:
            return
        last = step >= self.total
        line = self.render(step, loss, extra)
        if self.tty:
            due = self._last_draw is None or now - self._last_draw >= self.min_interval
            if due or last:
                self._draw(line)
                self._last_draw = now
                self._pending = None
            else:
                self._pending = line
        else:
            bucket = self._bucket(step)
            if self._last_bucket is None or bucket > self._last_bucket or last:
                self._print(line)
                self._last_bucket = bucket
                self._pending = None
            else:
                self._pending = line

    def close(self) -> None:
        """Show the latest state if it was not shown, and end the line."""
        if self._closed:
            return
        self._closed = True
        if not self.enabled:
            return
        if self.tty:
            if self._pending is not None:
                self._draw(self._pending)
            if self._line_width:
                self.stream.write("\n")
        elif self._pending is not None:
            self._print(self._pending)
        self._pending = None
        self._flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _bucket(self, step: int) -> int:
        if self.total == 0:
            return 0
        return int(math.floor(step / self.total / self.log_every + 1e-9))

    def _draw(self, line: str) -> None:
        pad = " " * max(0, self._line_width - len(line))
        self.stream.write("\r" + line + pad)
        self._line_width = len(line)
        self._flush()

    def _print(self, line: str) -> None:
        self.stream.write(line + "\n")
        self._flush()

    def _flush(self) -> None:
        flush = getattr(self.stream, "flush", None)
        if flush is not None:
            flush()
