"""Running a workflow step: logging into the step's log file and one-line errors.

Used by the thin adapters in ``scripts/``; knows nothing of Snakemake itself.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable

from genoprep.errors import InputError


def run_step(log_path: str, step: Callable[[], None]) -> None:
    """Run ``step`` with stderr and logging sent to ``log_path``.

    An :class:`InputError` is written as one line to the log and to the terminal
    (``genoprep: error: <file>: <record>: <problem>``) and the process exits with 1;
    any other exception also leaves its full traceback in the log.
    """
    console = sys.stderr
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
            print(line, file=console, flush=True)
            sys.exit(1)
        except Exception as err:  # noqa: BLE001 - reported, then re-raised as exit status
            traceback.print_exc(file=log)
            print(f"genoprep: internal error ({type(err).__name__}: {err}); see {log_path}", file=console, flush=True)
            sys.exit(1)
        finally:
            sys.stderr = console
