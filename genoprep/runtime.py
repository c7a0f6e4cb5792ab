"""Running a workflow step: logging into the step's log file and one-line errors.

Used by the thin adapters in ``scripts/``; knows nothing of Snakemake itself.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import sys
import traceback
from collections.abc import Callable
from typing import Any, TextIO

from genoprep.errors import InputError

#: the terminal while a step runs (stderr is sent to the step's log); None outside run_step
_CONSOLE: TextIO | None = None


def console(line: str) -> None:
    """Say ``genoprep: <line>`` on the terminal and in the step's log (for what the user must see,
    e.g. what the filters removed); everything else goes to the log through ``logging``."""
    text = f"genoprep: {line}"
    terminal = sys.stderr if _CONSOLE is None else _CONSOLE  # outside a step: today's stderr
    print(text, file=terminal, flush=True)
    if sys.stderr is not terminal:
        print(text, file=sys.stderr, flush=True)


#: errno values of a full disk or an exhausted quota, and how to say them
_DISK_FULL = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "the disk quota is exceeded"}


def _disk_full(err: BaseException) -> OSError | None:
    """The full-disk error in ``err``'s chain (h5py and pyarrow wrap it), or None."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and (
            current.errno in _DISK_FULL or any(os.strerror(code) in str(current) for code in _DISK_FULL)
        ):
            return current
        current = current.__cause__ or current.__context__
    return None


def _free_space(path: str) -> str:
    folder = os.path.dirname(os.path.abspath(path)) or "."
    while not os.path.isdir(folder) and folder != os.path.dirname(folder):
        folder = os.path.dirname(folder)
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return "free space unknown"
    return f"{free / 2**20:,.1f} MiB free in {folder}"


def disk_full_line(err: OSError, outputs: list[str]) -> str:
    """One line for a full disk: the file that could not be written, and the free space there."""
    code = err.errno if err.errno in _DISK_FULL else next(c for c in _DISK_FULL if os.strerror(c) in str(err))
    if err.filename:
        path = where = os.fspath(err.filename)
    elif outputs:
        path = outputs[0]
        where = path if len(outputs) == 1 else f"{path} (or another output: {', '.join(outputs[1:])})"
    else:
        path, where = ".", "an output file"
    return f"{where}: cannot be written: {_DISK_FULL[code]} ({_free_space(path)})"


def _outputs_of(step: Callable[[], Any]) -> list[str]:
    """The output files of the Snakemake job running ``step`` (the script's ``snakemake`` object)."""
    job = getattr(step, "__globals__", {}).get("snakemake") or getattr(sys.modules.get("__main__"), "snakemake", None)
    try:
        return [os.fspath(p) for p in job.output] if job is not None else []
    except TypeError:
        return []


def run_step(log_path: str, step: Callable[[], None]) -> None:
    """Run ``step`` with stderr and logging sent to ``log_path``.

    An :class:`InputError` is written as one line to the log and to the terminal
    (``genoprep: error: <file>: <record>: <problem>``) and the process exits with 1;
    so is a full disk or quota (``OSError`` ENOSPC/EDQUOT), naming the file that could
    not be written and the free space there (the traceback goes to the log only). Any
    other exception also leaves its full traceback in the log.
    """
    global _CONSOLE
    terminal = _CONSOLE = sys.stderr
    try:
        log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed below, even on a full disk
    except OSError as err:
        if _disk_full(err) is None:
            raise
        print(f"genoprep: error: {disk_full_line(err, [log_path])}", file=terminal, flush=True)
        sys.exit(1)
    status = 0
    sys.stderr = log
    try:
        logging.basicConfig(
            stream=log, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True
        )
        step()
    except InputError as err:
        line = f"genoprep: error: {err}"
        _to_log(log, line)
        print(line, file=terminal, flush=True)
        status = 1
    except Exception as err:  # noqa: BLE001 - reported, then turned into the exit status
        full = _disk_full(err)
        _to_log(log, traceback.format_exc())
        if full is not None:
            line = f"genoprep: error: {disk_full_line(full, _outputs_of(step))}"
            _to_log(log, line)
            print(line, file=terminal, flush=True)
        else:
            print(f"genoprep: internal error ({type(err).__name__}: {err}); see {log_path}", file=terminal, flush=True)
        status = 1
    finally:
        sys.stderr = terminal
        logging.basicConfig(stream=terminal, force=True)
        with contextlib.suppress(OSError):  # a full disk: the log cannot be flushed; the terminal has the line
            log.close()
    if status:
        sys.exit(status)


def _to_log(log: Any, text: str) -> None:
    """Write to the step's log, unless the disk that is full holds the log too."""
    with contextlib.suppress(OSError):
        print(text.rstrip("\n"), file=log, flush=True)
