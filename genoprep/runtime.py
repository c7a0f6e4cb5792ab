"""Running a workflow step: logging into the step's log file and one-line errors.

Used by the thin adapters in ``scripts/``; knows nothing of Snakemake itself.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable

from genoprep.errors import InputError

#: the terminal while a step runs (stderr is sent to the step's log)
_CONSOLE = sys.stderr


def console(line: str) -> None:
    """Say ``genoprep: <line>`` on the terminal and in the step's log (for what the user must see,
    e.g. what the filters removed); everything else goes to the log through ``logging``."""
    text = f"genoprep: {line}"
    print(text, file=_CONSOLE, flush=True)
    if sys.stderr is not _CONSOLE:
        print(text, file=sys.stderr, flush=True)


def run_step(log_path: str, step: Callable[[], None]) -> None:
    """Run ``step`` with stderr and logging sent to ``log_path``.

    An :class:`InputError` is written as one line to the log and to the terminal
    (``genoprep: error: <file>: <record>: <problem>``) and the process exits with 1;
    any other exception also leaves its full traceback in the log.
    """
    global _CONSOLE
    terminal = _CONSOLE = sys.stderr
    with open(log_path, "w", encoding="utf-8") as log:
        sys.stderr = log
        logging.basicConfig(
            stream=log, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True
        )
        try:
            step()
        except InputError as err:
            line = f"genoprep: error: {err}"
            print(line, file=log, flush=True)
            print(line, file=terminal, flush=True)
            sys.exit(1)
        except Exception as err:  # noqa: BLE001 - reported, then re-raised as exit status
            traceback.print_exc(file=log)
            print(f"genoprep: internal error ({type(err).__name__}: {err}); see {log_path}", file=terminal, flush=True)
            sys.exit(1)
        finally:
            sys.stderr = terminal
