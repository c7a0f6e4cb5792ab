"""Files written whole or not at all: a temporary name beside the target, renamed into place when complete.

A streaming writer (Parquet row groups, ``np.savez`` of a shard) that is stopped half-way — an
error, a full disk, a killed job — must not leave a file under the artifact's name: a later run
would take it for finished work, and ``snakemake`` would not know to remove it. Every such
writer goes through :class:`Partial`:

- the data go to ``<target>.partial<ext>`` (the target's extension repeated, so that numpy,
  which appends ``.npy``/``.npz`` to a name without it, writes exactly that name);
- :meth:`Partial.commit` renames it onto the target (``os.replace``: atomic on one file system,
  and an existing target is replaced only by a complete file);
- :meth:`Partial.discard` removes it.

The partial name is the same on every run, so a run killed before it could discard its file
leaves one ``.partial`` file that the next run of the job overwrites, never one per attempt.
(``genoprep.download`` keeps its own ``.part`` file on purpose: an interrupted download resumes
from it.)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from genoprep.textio import StrPath

__all__ = ["Partial", "partial_path", "written_whole"]


def partial_path(target: StrPath) -> str:
    """``results/x/tokens.parquet`` -> ``results/x/tokens.parquet.partial.parquet``."""
    target = os.fspath(target)
    return f"{target}.partial{Path(target).suffix}"


class Partial:
    """The temporary file of one target: write to :attr:`path`, then :meth:`commit` or :meth:`discard`."""

    def __init__(self, target: StrPath) -> None:
        self.target = os.fspath(target)
        self.path = partial_path(self.target)

    def commit(self) -> None:
        """Move the complete file onto the target."""
        os.replace(self.path, self.target)

    def discard(self) -> None:
        """Remove the unfinished file (there may be none: the writer may have failed before creating it)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


@contextlib.contextmanager
def written_whole(target: StrPath) -> Iterator[str]:
    """Yield the partial path to write; on leaving, commit it, or discard it if the block raised."""
    partial = Partial(target)
    try:
        yield partial.path
    except BaseException:
        partial.discard()
        raise
    partial.commit()
