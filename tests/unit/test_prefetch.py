"""genoprep.prefetch: the background reader the VCF and DNA readers share."""

from __future__ import annotations

import threading
from contextlib import closing

import pytest

from genoprep.prefetch import prefetched


def _alive(name: str) -> bool:
    return any(t.name == name for t in threading.enumerate())


def test_order_kept_and_the_source_error_reaches_the_caller() -> None:
    def source():
        yield from range(5)
        raise ValueError("bad record 5")

    got = []
    with pytest.raises(ValueError, match="bad record 5"):
        for item in prefetched(source(), 2, "t-error"):
            got.append(item)
    assert got == [0, 1, 2, 3, 4]
    assert not _alive("t-error")


def test_a_caller_that_stops_with_the_queue_full_and_the_source_done_does_not_hang() -> None:
    # depth 2, 3 items: while the caller holds item 0, items 1 and 2 fill the queue and the thread has
    # only its end marker left to put; closing must still stop and join the thread (the VCF reader's
    # previous version put that marker without watching the stop flag: its join never returned)
    closed = []

    def source():
        try:
            yield from range(3)
        finally:
            closed.append(True)

    with closing(prefetched(source(), 2, "t-full")) as items:
        assert next(items) == 0
        for _ in range(100):  # let the thread fill the queue and reach the end of the source
            if not _alive("t-full") or closed:
                break
            threading.Event().wait(0.01)
    assert not _alive("t-full")
    assert closed == [True]
