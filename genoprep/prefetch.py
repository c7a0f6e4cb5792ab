"""Iterate on a background thread, a few items ahead of the caller.

One piece for every reader that overlaps its I/O with the caller's work: the VCF readers inflate
BGZF blocks ahead of the genotype scan (:mod:`genoprep.variants`), the DNA Parquet steps read and
validate the next FASTA batch while the tokenizer kernel and the Parquet writer run
(:mod:`genoprep.dna.artifacts`). Both sides release the GIL in C code, so the stages overlap on the
machine's cores.

Items keep their order (one queue) and at most ``depth`` wait, so memory grows by ``depth`` items.
An exception on the thread (e.g. an :class:`~genoprep.errors.InputError` of the reader) is raised
by the caller's next ``next``. When the caller stops early (``close()``, an exception, a ``break``),
the thread stops at its next item, closes the source iterator and is joined: every put waits on
the stop flag, so a full queue never leaves it blocked.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import NamedTuple, TypeVar

T = TypeVar("T")


class _Failure(NamedTuple):
    error: BaseException


_END = object()


def prefetched(items: Iterable[T], depth: int, name: str) -> Iterator[T]:
    """``items``, produced on a thread called ``name`` at most ``depth`` items ahead."""
    waiting: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce(source: Iterator[T]) -> None:
        try:
            for item in source:
                if not put(item):
                    return
            put(_END)
        except BaseException as error:  # noqa: BLE001 - handed to the caller, raised there
            put(_Failure(error))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, args=(iter(items),), name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = waiting.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
