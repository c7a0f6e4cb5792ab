"""Run every benchmark in bench/ (bench_*.py) one after the other; exit 1 if any target is missed.

    make bench        # or: .venv/bin/python bench/run_all.py [name ...]

Benchmarks are scripts, not tests: each measures its contenders in one run on the same
generated input and states its targets as ratios against a reference measured in that run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main(names: list[str]) -> int:
    here = Path(__file__).resolve().parent
    scripts = sorted(here.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    status = {}
    for script in scripts:
        print(f"==> {script.name}", flush=True)
        status[script.name] = subprocess.run([sys.executable, str(script)]).returncode
    print(
        "\n".join(f"{name}: {'targets met' if code == 0 else f'MISSED (exit {code})'}" for name, code in status.items())
    )
    return 0 if all(code == 0 for code in status.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
