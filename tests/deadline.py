"""A guard for tests of inputs that could block: a read that hangs fails the test instead."""

import contextlib
import signal


@contextlib.contextmanager
def no_hang(seconds: int = 5):
    """Turn a read that blocks (a FIFO without a writer) into a test failure."""

    def timeout(signum, frame):
        raise AssertionError(f"blocked for {seconds} s")

    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
