"""Progress of long steps in their log: items done, rate and time left, at most every ``interval`` seconds.

    progress = Progress("reading records", total=n_records, unit="records")
    for record in records:
        ...
        progress.update()
    progress.finish()

or ``for record in track(records, "reading records", total=n)``. Lines go to the step's
log through ``logging`` (``run_step`` sends logging there), e.g.::

    reading records: 1,200,000 of 4,000,000 records (30.0%), 40,000 records/s, about 1 min 10 s left

The rate is the average since the start; the clock is injectable (tests use a fake one).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

log = logging.getLogger("genoprep.progress")

T = TypeVar("T")

#: seconds between two progress lines by default
DEFAULT_INTERVAL = 10.0


def format_duration(seconds: float) -> str:
    """``12 s``, ``3 min 05 s``, ``2 h 04 min`` (rounded to the second)."""
    whole = round(max(seconds, 0.0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def _rate_text(rate: float, unit: str) -> str:
    return f"{rate:,.0f} {unit}/s" if rate >= 10 else f"{rate:,.2f} {unit}/s"


class Progress:
    """Counts items and says how far a loop is, at most once per ``interval`` seconds."""

    def __init__(
        self,
        what: str,
        total: int | None = None,
        *,
        unit: str = "items",
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        emit: Callable[[str], None] | None = None,
    ) -> None:
        self.what = what
        self.total = total
        self.unit = unit
        self.interval = interval
        self.clock = clock
        self.emit = emit or log.info
        self.done = 0
        self.start = clock()
        self._last = self.start

    def rate(self, now: float) -> float:
        elapsed = now - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self, now: float) -> str:
        """The progress line at time ``now``."""
        rate = self.rate(now)
        if self.total is None:
            return f"{self.what}: {self.done:,} {self.unit}, {_rate_text(rate, self.unit)}"
        share = 100.0 * self.done / self.total if self.total else 100.0
        text = f"{self.what}: {self.done:,} of {self.total:,} {self.unit} ({share:.1f}%), {_rate_text(rate, self.unit)}"
        if rate > 0 and self.done < self.total:
            text += f", about {format_duration((self.total - self.done) / rate)} left"
        return text

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items; say where we are if ``interval`` seconds passed since the last line."""
        self.done += n
        now = self.clock()
        if now - self._last >= self.interval:
            self._last = now
            self.emit(self.line(now))

    def finish(self) -> str:
        """Say how many items took how long; returns the line."""
        now = self.clock()
        text = (
            f"{self.what}: done, {self.done:,} {self.unit} in {format_duration(now - self.start)} "
            f"({_rate_text(self.rate(now), self.unit)})"
        )
        self.emit(text)
        return text


def track(items: Iterable[T], what: str, total: int | None = None, **options: object) -> Iterator[T]:
    """Yield ``items``, counting them with a :class:`Progress` (``finish`` when they are exhausted)."""
    progress = Progress(what, total, **options)  # type: ignore[arg-type]
    for item in items:
        yield item
        progress.update()
    progress.finish()
