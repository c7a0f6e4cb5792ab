"""Safety of the results folder: one writer at a time, and no writing through links that leave it.

Snakemake locks outputs per working directory (``.snakemake/locks``), so two checkouts, or
two working directories, running into one results folder would both write there. genoprep
takes its own lock, an ``fcntl`` lock on ``<results>/.genoprep.lock``, for the duration of a
run (the Snakefile's ``onstart``): the kernel releases it when the process ends, however it
ends (``kill -9`` included), so a stale lock never blocks the next run. A dry run takes no
lock.

Before anything is written, :func:`check_links` refuses a dataset folder, or a file in it,
that is a symbolic link leading out of the results folder: Snakemake would write through
it and overwrite the target.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from typing import IO

from genoprep.errors import InputError

LOCK_NAME = ".genoprep.lock"

#: the folder under the results folder for working files (see ``work()`` in rules/common.smk)
WORK_FOLDER = ".work"


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _refuse_link(path: str, real_results: str, results: str) -> None:
    target = os.path.realpath(path)
    if not _inside(target, real_results):
        raise InputError(
            path,
            f"a symbolic link to {os.readlink(path)}, outside the results folder {results}; "
            f"genoprep does not write through it (remove the link, or choose another results "
            f"folder)",
        )


def check_links(results: str | os.PathLike[str], dataset_ids: Iterable[str]) -> None:
    """Refuse symbolic links that would make a run write outside ``results``.

    Looks at ``results/<id>`` and ``results/.work/<id>`` of each dataset and, where they
    exist, at everything inside them. The results folder itself may be a link (e.g. to a
    scratch disk): "outside" means outside its real location. Raises one
    :class:`InputError` line naming the link and where it leads.
    """
    results = os.fspath(results)
    if not os.path.isdir(results):
        return
    real_results = os.path.realpath(results)
    for dataset_id in dataset_ids:
        for folder in (os.path.join(results, dataset_id), os.path.join(results, WORK_FOLDER, dataset_id)):
            if os.path.islink(folder):
                _refuse_link(folder, real_results, results)
            if not os.path.isdir(folder):
                continue
            for root, dirs, files in os.walk(folder):
                for name in dirs + files:
                    path = os.path.join(root, name)
                    if os.path.islink(path):
                        _refuse_link(path, real_results, results)


class ResultsLock:
    """genoprep's lock on a results folder (see the module docstring)."""

    def __init__(self, results: str | os.PathLike[str]) -> None:
        self.results = os.fspath(results)
        self.path = os.path.join(self.results, LOCK_NAME)
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise one :class:`InputError` line saying who holds it."""
        os.makedirs(self.results, exist_ok=True)
        if os.path.islink(self.path):
            raise InputError(self.path, "a symbolic link; genoprep's lock file must be a plain file (remove it)")
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the whole run
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = " ".join(handle.read().split()) or "another process"
            handle.close()
            raise InputError(
                self.results,
                f"another genoprep run is writing to this results folder ({holder}); "
                f"wait for it to end, or use another results folder",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} in {os.getcwd()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Give the lock up (also done by the kernel when the process ends)."""
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    @property
    def held(self) -> bool:
        return self._handle is not None
