"""`make mutants`: mutation testing of the science modules with the unit tests alone (mutmut).

    python bench/mutants.py                 # every module group, one after the other
    python bench/mutants.py filters textio  # some groups (names: GROUPS below)
    python bench/mutants.py --report        # no run: the report from the results cached so far

One mutmut run per module group, each in its own folder ``mutants/<group>/`` (git-ignored) with
its own ``pyproject.toml``: the group's files are the only ones mutated, and the group's unit
test files are the only tests run (for the stats pass that maps tests to functions, and for each
mutant, only the tests of that map that reach the mutated function). Running the whole unit
suite for a mutant of ``bulk.qc`` would waste minutes on scRNA token tests that cannot reach it.
The rest of the configuration (pytest arguments, files copied, files never mutated, lines never
mutated) is the ``[tool.mutmut]`` table of the repository's ``pyproject.toml``.

Results are cached per group: a second run re-tests only the mutants of changed functions. The
report (score per module, run time and load of each group, then each surviving mutant's diff)
is written to bench/out/mutants.txt; equivalent survivors are judged by hand in docs/testing.md.
mutmut runs niced, 2 mutants at a time (``MUTANTS_CHILDREN``), one group at a time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "mutants.txt"
RUNS = REPO / "mutants"
MUTMUT = Path(sys.executable).with_name("mutmut")

#: group -> (files mutated, unit test files run). Each test file listed imports the group's
#: modules directly; tests that reach a module only through another one are left out on purpose
#: (a mutant should be killed by the tests written for its module).
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "filters": (["genoprep/filters.py"], ["tests/unit/test_killers_filters.py"]),
    "textio": (["genoprep/textio.py"], ["tests/unit/test_killers_textio.py"]),
    "tables": (["genoprep/tables.py"], ["tests/unit/test_tables.py", "tests/unit/test_killers_tables.py"]),
    "cards": (["genoprep/cards.py"], ["tests/unit/test_cards.py", "tests/unit/test_killers_cards.py"]),
    "provenance": (
        ["genoprep/provenance.py"],
        ["tests/unit/test_provenance_demo.py", "tests/unit/test_killers_provenance.py"],
    ),
    "bulk": (["genoprep/bulk/*"], ["tests/unit/test_bulk_*.py", "tests/unit/test_killers_bulk.py"]),
    "dna": (["genoprep/dna/*"], ["tests/unit/test_dna_*.py", "tests/unit/test_killers_dna.py"]),
    "variants": (["genoprep/variants/*"], ["tests/unit/test_variants_*.py", "tests/unit/test_killers_variants.py"]),
    # scrna, one group per module (a few minutes each, not one run over ~3,800 lines); every group also runs
    # the shared test_killers_scrna.py. Left out: the numba kernels and plots.py (see pyproject.toml), and the
    # glue modules (chain, steps, export, annotate, options, tokens/chunks, parquet, source, workflow), reached
    # by no unit test of their own.
    "scrna_qc": (["genoprep/scrna/qc.py"], ["tests/unit/test_scrna_qc.py", "tests/unit/test_killers_scrna.py"]),
    "scrna_preprocess": (
        ["genoprep/scrna/preprocess.py"],
        ["tests/unit/test_scrna_preprocess.py", "tests/unit/test_killers_scrna.py"],
    ),
    "scrna_splitting": (
        ["genoprep/scrna/splitting.py"],
        ["tests/unit/test_scrna_splitting.py", "tests/unit/test_killers_scrna.py"],
    ),
    "scrna_augment": (
        ["genoprep/scrna/augment.py"],
        ["tests/unit/test_augment.py", "tests/unit/test_killers_scrna.py"],
    ),
    "scrna_tokens": (
        ["genoprep/scrna/tokens/geneformer.py", "genoprep/scrna/tokens/scgpt.py", "genoprep/scrna/tokens/rank.py"],
        [
            "tests/unit/test_scrna_tokens.py",
            "tests/unit/test_scrna_tokens_properties.py",
            "tests/unit/test_killers_scrna.py",
        ],
    ),
    "scrna_io": (
        ["genoprep/scrna/io.py", "genoprep/scrna/convert.py"],
        ["tests/unit/test_scrna_io.py", "tests/unit/test_scrna_ooc_formats.py", "tests/unit/test_killers_scrna.py"],
    ),
    # the out-of-core path: its statistics passes (ooc.py) and its HVG selection from moments (ooc_hvg.py);
    # the shard tests import ooc/ooc_hvg themselves (the shard jobs call them)
    "scrna_ooc": (
        ["genoprep/scrna/ooc.py", "genoprep/scrna/ooc_hvg.py"],
        [
            "tests/unit/test_scrna_ooc.py",
            "tests/unit/test_scrna_ooc_formats.py",
            "tests/unit/test_scrna_ooc_hvg.py",
            "tests/unit/test_scrna_shard.py",
            "tests/unit/test_scrna_shard_hvg.py",
            "tests/unit/test_scrna_shard_split.py",
            "tests/unit/test_killers_scrna.py",
        ],
    ),
    "scrna_shard": (
        ["genoprep/scrna/shard.py"],
        [
            "tests/unit/test_scrna_shard.py",
            "tests/unit/test_scrna_shard_hvg.py",
            "tests/unit/test_scrna_shard_split.py",
            "tests/unit/test_scrna_resources_disk.py",
            "tests/unit/test_killers_scrna.py",
        ],
    ),
    "scrna_resources": (
        ["genoprep/scrna/resources.py"],
        [
            "tests/unit/test_scrna_resources.py",
            "tests/unit/test_scrna_resources_disk.py",
            "tests/unit/test_scrna_ooc.py",
            "tests/unit/test_scrna_shard.py",
            "tests/unit/test_scrna_shard_split.py",
            "tests/unit/test_killers_scrna.py",
        ],
    ),
}

#: group -> tests left out of that group's mutant runs only (``make test`` runs them): the real genes x cells CSV
#: converted in tiny blocks takes 150-290 s per run at load 10 (the other formats' conversions stay in)
DESELECT: dict[str, list[str]] = {
    group: [
        "tests/unit/test_scrna_ooc_formats.py::test_a_cells_x_genes_table_converts_in_order_and_equals_its_transpose",
        "tests/unit/test_scrna_ooc_formats.py::test_the_streaming_conversion_equals_the_in_memory_reader[csv-genes_x_cells]",
    ]
    for group in ("scrna_io", "scrna_ooc")
}

#: names that stand for several groups (``make mutants MODULES=scrna``)
ALIASES = {"scrna": [g for g in GROUPS if g.startswith("scrna_")]}

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


def test_files(patterns: list[str]) -> list[str]:
    """The test files the patterns name that exist (a group's killer file may not be written yet)."""
    found = sorted({str(p.relative_to(REPO)) for pattern in patterns for p in REPO.glob(pattern)})
    if not found:
        raise SystemExit(f"genoprep: error: no unit test file matches {patterns}")
    return found


def group_config(base_text: str, files: list[str], tests: list[str], deselect: list[str] | None = None) -> str:
    """The repository's pyproject.toml with [tool.mutmut] narrowed to one group."""
    base = tomllib.loads(base_text)["tool"]["mutmut"]
    table = dict(base, only_mutate=files, pytest_add_cli_args_test_selection=tests)
    if deselect:
        table["pytest_add_cli_args"] = [*base["pytest_add_cli_args"], *(f"--deselect={t}" for t in deselect)]
    body = "\n".join(f"{key} = {json.dumps(value)}" for key, value in table.items())
    start = base_text.index("[tool.mutmut]")
    following = re.search(r"^\[", base_text[start + 1 :], re.M)
    end = start + 1 + following.start() if following else len(base_text)
    return base_text[:start] + "[tool.mutmut]\n" + body + "\n" + base_text[end:]


def prepare(group: str) -> Path:
    """mutants/<group>/: links to the checkout's files, and the group's own pyproject.toml."""
    files, test_patterns = GROUPS[group]
    folder = RUNS / group
    folder.mkdir(parents=True, exist_ok=True)
    for entry in REPO.iterdir():
        if entry.name in {"mutants", "pyproject.toml", ".git"}:
            continue
        link = folder / entry.name
        if not link.is_symlink():
            link.symlink_to(entry)
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    config = group_config(text, files, test_files(test_patterns), DESELECT.get(group, []))
    target = folder / "pyproject.toml"
    if not target.exists() or target.read_text(encoding="utf-8") != config:
        target.write_text(config, encoding="utf-8")
    return folder


def refresh_package_data(folder: Path) -> None:
    """Bring mutmut's copy of the package's data files (the card schemas) up to date with the checkout.

    mutmut copies them once, when it first generates the group's mutants; a schema changed since then
    made every test of the group fail in its first pass (a default the code now reads was missing)."""
    copy = folder / "mutants" / "genoprep"
    if not copy.is_dir():
        return
    package = REPO / "genoprep"
    for source in package.rglob("*"):
        if not source.is_file() or source.suffix in {".py", ".pyc"} or "__pycache__" in source.parts:
            continue
        target = copy / source.relative_to(package)
        if not target.exists() or target.read_bytes() != source.read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)


def run_group(group: str, env: dict[str, str], children: str) -> tuple[dict[str, str], str, int]:
    folder = prepare(group)
    refresh_package_data(folder)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    command = ["nice", "-n", "10", str(MUTMUT), "run", "--max-children", children]
    run = subprocess.run(command, check=False, cwd=folder, env=env)
    elapsed = time.monotonic() - started
    load_after = os.getloadavg()[0]
    listed = subprocess.run(
        [str(MUTMUT), "results", "--all", "true"], cwd=folder, env=env, capture_output=True, text=True, check=False
    )
    line = (
        f"{group}: {elapsed:.0f} s wall, load average {load_before:.1f} before / {load_after:.1f} after "
        f"on {os.cpu_count()} cores, mutmut exit {run.returncode}"
    )
    return parse_results(listed.stdout), line, run.returncode


def cached_group(group: str, env: dict[str, str]) -> tuple[dict[str, str], str, int]:
    """The results mutmut cached in mutants/<group>/ (mutants never run count as not checked)."""
    command = [str(MUTMUT), "results", "--all", "true"]
    listed = subprocess.run(command, cwd=RUNS / group, env=env, capture_output=True, text=True, check=False)
    return parse_results(listed.stdout), f"{group}: cached results (not run now)", 0


def main(argv: list[str]) -> int:
    report_only = "--report" in argv
    argv = [a for a in argv if a != "--report"]
    groups = [g for name in argv for g in ALIASES.get(name, [name])] or list(GROUPS)
    if report_only:
        groups = [g for g in groups if (RUNS / g / "mutants").is_dir()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        known = " ".join([*GROUPS, *ALIASES])
        print(f"genoprep: error: unknown module group {unknown}; known: {known}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    # the real data beside the checkout (tests/conftest.py would look beside ./mutants otherwise)
    env.setdefault("GENOPREP_SHARED_DATA", str(REPO.parent / "shared" / "data"))
    if not report_only and not Path(env["GENOPREP_SHARED_DATA"]).is_dir():
        # without it the real-data tests skip, and a skip passes: every mutant only they would kill survives
        print(
            f"genoprep: error: real test data not found: {env['GENOPREP_SHARED_DATA']} "
            "(set GENOPREP_SHARED_DATA to the shared/data folder)",
            file=sys.stderr,
        )
        return 2
    # mutmut forks each mutant's process from one that has run numba's parallel kernels (scanpy's among
    # them); numba's default OpenMP layer (GNU libgomp) is not fork-safe: the child's first parallel kernel
    # kills it with SIGTERM ("fork() called from a process already using GNU OpenMP"), which mutmut counts
    # as "suspicious". The workqueue layer is fork-safe (the same number of threads, the same sums).
    env.setdefault("NUMBA_THREADING_LAYER", "workqueue")
    # hypothesis tests run at most 10 examples per mutant (tests/conftest.py reads this; `make test` keeps each
    # test's own max_examples): a surviving scRNA tokens mutant paid ~60 s of 60-example property tests at load 16
    env.setdefault("GENOPREP_MUTANT_EXAMPLES", "10")
    children = env.get("MUTANTS_CHILDREN", "2")
    results: dict[str, str] = {}
    folders: dict[str, Path] = {}
    timings = []
    worst = 0
    for group in groups:
        found, line, code = cached_group(group, env) if report_only else run_group(group, env, children)
        print(f"genoprep: {line}", flush=True)
        timings.append(line)
        worst = worst or code
        results.update(found)
        folders.update({name: RUNS / group for name in found})
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in results.items():
        by_module[module_of(name)][status] += 1
    columns = f"{'module':34} {'mutants':>7} {'killed':>7} {'survived':>8} {'no tests':>8} {'score':>6} {'not run':>7}"
    lines = [*timings, "", columns]
    total: Counter[str] = Counter()
    for module in sorted(by_module):
        counts = by_module[module]
        total.update(counts)
        lines.append(row(module, counts))
    lines += [row("total", total), "", "survivors (mutmut show NAME in mutants/<group>/):", ""]
    survivors = [k for k, v in sorted(results.items()) if v not in KILLED | NOT_RUN]
    for name in survivors:
        shown = subprocess.run(
            [str(MUTMUT), "show", name], check=False, cwd=folders[name], env=env, capture_output=True, text=True
        )
        lines.append(f"## {name}: {results[name]}")
        lines.append(shown.stdout.rstrip())
        lines.append("")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[: len(timings) + len(by_module) + 3]))
    print(f"genoprep: {len(survivors)} surviving mutants listed in {OUT.relative_to(REPO)}")
    return worst


def row(module: str, counts: Counter[str]) -> str:
    run = sum(v for k, v in counts.items() if k not in NOT_RUN)
    killed = sum(counts[k] for k in KILLED)
    score = f"{100 * killed / run:5.1f}%" if run else "   -"
    not_run = sum(counts[k] for k in NOT_RUN)
    return f"{module:34} {run:7d} {killed:7d} {counts['survived']:8d} {counts['no tests']:8d} {score:>6} {not_run:7d}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
