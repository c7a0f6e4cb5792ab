"""`make mutants`: mutation testing of the science modules with the unit tests alone (mutmut).

    python bench/mutants.py                 # every module [tool.mutmut] only_mutate lists
    python bench/mutants.py filters textio  # a subset: genoprep.filters*, genoprep.textio*
    python bench/mutants.py scrna.qc        # one file of a package

mutmut copies the repository into ./mutants (git-ignored), mutates the science modules
(pyproject.toml [tool.mutmut]) and runs, for each mutant, only the unit tests that reach the
mutated function. Results are cached in ./mutants: a second run re-tests only what changed.
The report of survivors (score per module, then each surviving mutant's diff) is written to
bench/out/mutants.txt. Equivalent survivors are judged by hand in docs/testing.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "mutants.txt"
MUTMUT = Path(sys.executable).with_name("mutmut")

#: mutmut's statuses that count as killed by the tests
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
#: statuses of mutants that were not run (excluded from the score)
NOT_RUN = {"skipped", "not checked"}


def module_of(name: str) -> str:
    """``genoprep.scrna.qc.x_filter_cells__mutmut_3`` -> ``genoprep.scrna.qc``."""
    head = name.split("__mutmut_")[0]
    parts = head.split(".")
    # the last part is the mangled function (x_f, xǁClassǁmethod); drop it
    return ".".join(parts[:-1])


def parse_results(text: str) -> dict[str, str]:
    """``    name: status`` lines of ``mutmut results --all true`` -> {name: status}."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"\s+(\S+__mutmut_\d+): (.+)$", line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def main(argv: list[str]) -> int:
    patterns = [f"genoprep.{m}*" for m in argv]
    env = dict(os.environ)
    # the real data beside the checkout (tests/conftest.py would look beside ./mutants otherwise)
    env.setdefault("GENOPREP_SHARED_DATA", str(REPO.parent / "shared" / "data"))
    started = time.monotonic()
    run = subprocess.run([str(MUTMUT), "run", *patterns], check=False, cwd=REPO, env=env)
    elapsed = time.monotonic() - started
    listed = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    results = parse_results(listed.stdout)
    if patterns:
        results = {
            k: v
            for k, v in results.items()
            if any(re.fullmatch(p.replace(".", r"\.").replace("*", ".*"), k) for p in patterns)
        }
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in results.items():
        by_module[module_of(name)][status] += 1
    header = (
        f"mutmut run {' '.join(patterns) or '(all science modules)'}: {elapsed:.0f} s wall "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores), exit {run.returncode}"
    )
    lines = [header, "", f"{'module':32} {'mutants':>7} {'killed':>7} {'survived':>8} {'no tests':>8} {'score':>6}"]
    total: Counter[str] = Counter()
    for module in sorted(by_module):
        counts = by_module[module]
        total.update(counts)
        lines.append(row(module, counts))
    lines += [row("total", total), "", "survivors (mutmut show NAME; apply with mutmut apply NAME):", ""]
    survivors = [k for k, v in sorted(results.items()) if v not in KILLED | NOT_RUN]
    for name in survivors:
        shown = subprocess.run(
            [str(MUTMUT), "show", name], check=False, cwd=REPO, env=env, capture_output=True, text=True
        )
        lines.append(f"## {name}: {results[name]}")
        lines.append(shown.stdout.rstrip())
        lines.append("")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[: len(by_module) + 4]))
    print(f"genoprep: {len(survivors)} surviving mutants listed in {OUT.relative_to(REPO)}")
    return 0 if run.returncode == 0 else run.returncode


def row(module: str, counts: Counter[str]) -> str:
    run = sum(v for k, v in counts.items() if k not in NOT_RUN)
    killed = sum(counts[k] for k in KILLED)
    score = f"{100 * killed / run:5.1f}%" if run else "   -"
    return f"{module:32} {run:7d} {killed:7d} {counts['survived']:8d} {counts['no tests']:8d} {score:>6}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
