"""Pacing for the gateway threads: the rate limit, and the back-off after a failure."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

Clock = Callable[[], float]


class RateLimiter:
    """Token bucket: at most `rate` messages a second, in bursts of at most one second's
    worth (and at most `burst`, the gateway's batch size)."""

    def __init__(self, rate: float | None, burst: int, *, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst if rate is None else max(1, min(burst, int(rate)))
        self.clock = clock
        self.tokens = float(self.burst)
        self.updated = clock()

    def allowance(self) -> int:
        if self.rate is None:
            return self.burst
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return int(self.tokens)

    def spend(self, n: int) -> None:
        if self.rate is not None:
            self.tokens -= n

    def refund(self, n: int) -> None:
        """Messages counted but not handed over (the gateway was unreachable)."""
        if self.rate is not None:
            self.tokens = min(self.burst, self.tokens + n)

    def wait_time(self) -> float:
        """Seconds until one more message may go."""
        if self.rate is None or self.tokens >= 1:
            return 0.0
        return (1 - self.tokens) / self.rate


class Backoff:
    """Delays between tries: `first` seconds, doubling up to `most`, each shortened by up to
    20 % at random (jitter) so that workers that failed together do not retry together."""

    def __init__(self, first: float = 1.0, most: float = 60.0) -> None:
        self.first = first
        self.most = most
        self.failures = 0

    def next_delay(self) -> float:
        base = min(self.most, self.first * 2**self.failures)
        self.failures += 1
        return base * (1 - random.uniform(0, 0.2))

    def reset(self) -> None:
        self.failures = 0
