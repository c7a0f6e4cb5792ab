"""genoprep.progress with a fake clock: when lines are said and what they say (hand-computed)."""

from __future__ import annotations

import logging

import pytest

from genoprep.progress import Progress, format_duration, track


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lines_at_the_interval_with_rate_and_time_left() -> None:
    clock, lines = FakeClock(), []
    progress = Progress("reading records", total=1000, unit="records", interval=10, clock=clock, emit=lines.append)
    for _ in range(4):  # 40 records in 4 s: no line yet
        clock.now += 1
        progress.update(10)
    assert lines == []
    clock.now += 6.0  # 10 s after the start
    progress.update(160)
    # 200 of 1000 in 10 s -> 20 records/s, 800 left -> 40 s
    assert lines == ["reading records: 200 of 1,000 records (20.0%), 20 records/s, about 40 s left"]
    clock.now += 9.5
    progress.update(100)
    assert len(lines) == 1  # 9.5 s since the last line
    clock.now += 0.5
    progress.update(0)
    # 300 in 20 s -> 15/s, 700 left -> 46.7 s -> 47 s
    assert lines[-1] == "reading records: 300 of 1,000 records (30.0%), 15 records/s, about 47 s left"
    clock.now += 50
    progress.update(700)
    assert lines[-1] == "reading records: 1,000 of 1,000 records (100.0%), 14 records/s"
    assert progress.finish() == "reading records: done, 1,000 records in 1 min 10 s (14 records/s)"


def test_without_a_total_only_count_and_rate() -> None:
    clock, lines = FakeClock(), []
    progress = Progress("scanning", interval=5, clock=clock, emit=lines.append)
    clock.now += 8
    progress.update(3)
    assert lines == ["scanning: 3 items, 0.38 items/s"]


def test_track_counts_an_iterable_and_logs_by_default(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()

    def records():
        for i in range(5):
            clock.now += 3
            yield i

    with caplog.at_level(logging.INFO, logger="genoprep.progress"):
        assert list(track(records(), "tokenising", total=5, unit="sequences", interval=5, clock=clock)) == [
            0,
            1,
            2,
            3,
            4,
        ]
    messages = [r.getMessage() for r in caplog.records]
    # lines after items 2 (6 s), 4 (12 s); then the final line at 15 s
    assert messages == [
        "tokenising: 2 of 5 sequences (40.0%), 0.33 sequences/s, about 9 s left",
        "tokenising: 4 of 5 sequences (80.0%), 0.33 sequences/s, about 3 s left",
        "tokenising: done, 5 sequences in 15 s (0.33 sequences/s)",
    ]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (59.4, "59 s"),
        (59.6, "1 min 00 s"),
        (125, "2 min 05 s"),
        (3600, "1 h 00 min"),
        (7445, "2 h 04 min"),
        (-3, "0 s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
