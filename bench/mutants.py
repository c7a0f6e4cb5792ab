"""`make mutants`: mutation testing of the science modules with the unit tests alone (mutmut).

    python bench/mutants.py --sample 20            # sample(20) of every module group (`make mutants`)
    python bench/mutants.py --sample 50 --seed 1 filters textio
    python bench/mutants.py --all                  # every mutant (`make mutants-all`), cached and incremental
    python bench/mutants.py --report               # no run: the report from the verdicts cached so far
    python bench/mutants.py --judge NAME "reason"  # record a survivor as equivalent (its function's current hash)

The sample (docs/testing.md, the rule every mutation helper uses): the group's mutant names ordered by the SHA-256
of ``"<seed>:<name>"`` (seed 2026 by default), the first K: sample(K) is contained in sample(2K), and a code change
elsewhere in the group leaves it alone. The names come
from mutmut's mutant generation alone (``GENERATE``: no test runs), so a group's sample is known before its first
run. Mutants of the sample that have a cached verdict for an unchanged function are not run again; the others
are run in one ``mutmut run NAME...`` (one clean pass of the tests they reach).

One mutmut folder per module group, ``mutants/<group>/`` (git-ignored), with its own ``pyproject.toml``: the
group's files are the only ones mutated, and the group's unit test files are the only tests run (for the stats
pass that maps tests to functions, and for each mutant, only the tests of that map that reach the mutated
function). The rest of the configuration is the ``[tool.mutmut]`` table of the repository's ``pyproject.toml``.

The report (bench/out/mutants.txt), per group and in total: sampled / run / killed / survived / judged equivalent
(``bench/mutants_equivalent.tsv``: mutant, its function's hash, reason; an entry whose function changed since is
"to re-judge" and counts as a survivor), the score over the non-equivalent mutants with its Wilson 95 % interval,
the score counting the equivalents as survivors, then each mutant not killed with its diff. Exit status 1 when a
group's score is under 95 %. mutmut runs niced; two groups run side by side (``--jobs``, ``MUTANTS_JOBS``), each
1 mutant at a time (``MUTANTS_CHILDREN``: the cores over the jobs).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out" / "mutants.txt"
RUNS = REPO / "mutants"
MUTMUT = Path(sys.executable).with_name("mutmut")
#: surviving mutants judged equivalent: mutant, the hash mutmut records for its function, the reason
EQUIVALENTS = REPO / "bench" / "mutants_equivalent.tsv"
#: the issue's target: at least this share of the non-equivalent mutants killed, per group
TARGET = 0.95
#: ``make mutants``: sample(K) of each group (see docs/testing.md for what fits in 10 minutes)
DEFAULT_SAMPLE = 20
#: groups run side by side: one per core of this 2-core machine (a group's stats and clean passes use one core)
DEFAULT_JOBS = 2

#: group -> (files mutated, unit test files run). Each test file listed imports the group's
#: modules directly; tests that reach a module only through another one are left out on purpose
#: (a mutant should be killed by the tests written for its module).
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "filters": (["genoprep/filters.py"], ["tests/unit/test_killers_filters.py"]),
    "textio": (
        ["genoprep/textio.py"],
        ["tests/unit/test_killers_textio.py", "tests/unit/test_killers_textio_large.py"],
    ),
    "tables": (["genoprep/tables.py"], ["tests/unit/test_tables.py", "tests/unit/test_killers_tables.py"]),
    "cards": (["genoprep/cards.py"], ["tests/unit/test_cards.py", "tests/unit/test_killers_cards.py"]),
    "provenance": (
        ["genoprep/provenance.py"],
        ["tests/unit/test_provenance_demo.py", "tests/unit/test_killers_provenance.py"],
    ),
    "bulk": (["genoprep/bulk/*"], ["tests/unit/test_bulk_*.py", "tests/unit/test_killers_bulk.py"]),
    "dna": (["genoprep/dna/*"], ["tests/unit/test_dna_*.py", "tests/unit/test_killers_dna.py"]),
    "variants": (["genoprep/variants/*"], ["tests/unit/test_variants_*.py", "tests/unit/test_killers_variants.py"]),
    # scrna, one group per module (a few minutes each, not one run over ~3,800 lines), each with its own killer file.
    # Left out: the numba kernels and plots.py (see pyproject.toml), and the glue modules (chain, steps, export,
    # annotate, options, tokens/chunks, parquet, source, workflow), reached by no unit test of their own.
    "scrna_qc": (["genoprep/scrna/qc.py"], ["tests/unit/test_scrna_qc.py", "tests/unit/test_killers_scrna_qc.py"]),
    # the splitting killers of select_hvg_on_train reach preprocess.select_hvg too
    "scrna_preprocess": (
        ["genoprep/scrna/preprocess.py"],
        [
            "tests/unit/test_scrna_preprocess.py",
            "tests/unit/test_killers_scrna_preprocess.py",
            "tests/unit/test_killers_scrna_splitting.py",
        ],
    ),
    "scrna_splitting": (
        ["genoprep/scrna/splitting.py"],
        ["tests/unit/test_scrna_splitting.py", "tests/unit/test_killers_scrna_splitting.py"],
    ),
    "scrna_augment": (
        ["genoprep/scrna/augment.py"],
        ["tests/unit/test_augment.py", "tests/unit/test_killers_scrna_augment.py"],
    ),
    "scrna_tokens": (
        ["genoprep/scrna/tokens/geneformer.py", "genoprep/scrna/tokens/scgpt.py", "genoprep/scrna/tokens/rank.py"],
        [
            "tests/unit/test_scrna_tokens.py",
            "tests/unit/test_scrna_tokens_properties.py",
            "tests/unit/test_killers_scrna_tokens.py",
        ],
    ),
    "scrna_io": (
        ["genoprep/scrna/io.py", "genoprep/scrna/convert.py"],
        ["tests/unit/test_scrna_io.py", "tests/unit/test_scrna_ooc_formats.py", "tests/unit/test_killers_scrna_io.py"],
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
            "tests/unit/test_killers_scrna_ooc.py",
        ],
    ),
    "scrna_shard": (
        ["genoprep/scrna/shard.py"],
        [
            "tests/unit/test_scrna_shard.py",
            "tests/unit/test_scrna_shard_hvg.py",
            "tests/unit/test_scrna_shard_split.py",
            "tests/unit/test_scrna_resources_disk.py",
            "tests/unit/test_killers_scrna_shard.py",
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
            "tests/unit/test_killers_scrna_resources.py",
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
        if link.is_symlink() and os.readlink(link) != str(entry):
            link.unlink()  # a folder copied from another checkout: point it at this one
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


#: mutmut's mutant generation alone (no test runs), run inside mutants/<group>/: what ``mutmut run`` does before its
#: stats pass, so that a group's mutant names exist (in its ``*.py.meta`` files) before its first run. Prints whether
#: the cached verdicts were made under another test configuration (mutmut resets them when it next runs).
GENERATE = """
import json, os
import mutmut.__main__ as m
from mutmut.configuration import config
from mutmut.state import state
from mutmut.stats import load_stats
os.makedirs("mutants", exist_ok=True)
m.set_mutant_under_test("mutant_generation")
m.copy_src_dir(); m.copy_also_copy_files(); m.setup_source_paths(); m.store_lines_covered_by_tests()
m.create_mutants(1)
loaded = load_stats()
old = state().old_config_fingerprint if loaded else {}
print(json.dumps({"stats": loaded, "config_changed": bool(old) and old != config().config_fingerprint()}))
"""


#: ``mutmut run [NAME...]`` (mutmut's own ``_run``) without its clean pass when its stats pass ran in full just before:
#: that pass ran every test of the group on the unmutated code and stops the run unless they all pass, so the clean
#: pass (the same tests, the same code) would repeat it. After cached stats the clean pass runs as in mutmut.
RUN = """
import sys
import tempfile
import mutmut.__main__ as m
full_stats = []
stats_collection, mutant_runner = m.run_stats_collection, m.get_mutant_runner

def run_stats_collection(runner, tests=None):
    full_stats.append(not tests)
    return stats_collection(runner, tests)

def get_mutant_runner(*args, **kwargs):
    runner = mutant_runner(*args, **kwargs)
    clean = runner.run_clean_tests

    def run_clean_tests(tests):
        if any(full_stats):
            print("    clean pass skipped: the full stats pass just ran these tests on the unmutated code")
            return 0
        return clean(tests)

    runner.run_clean_tests = run_clean_tests
    return runner

m.run_stats_collection, m.get_mutant_runner = run_stats_collection, get_mutant_runner
m._run(sys.argv[2:], int(sys.argv[1]))
"""


def call(command: list[str], cwd: Path, env: dict[str, str], stdout=None, stderr=None) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """Run a command; (its exit status, the CPU seconds of it and every descendant it waited for).

    Measured with ``wait4`` on that one process, so two groups running side by side each get their own CPU
    (``os.times()`` of this process sums every child of every group)."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=stdout, stderr=stderr)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime


def generate(folder: Path, env: dict[str, str]) -> tuple[dict[str, bool], float]:
    """Generate the group's mutants without running a test; ({"stats": cached stats exist, "config_changed": ...},
    CPU seconds)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        code, cpu_s = call([sys.executable, "-c", GENERATE], folder, env, out, err)
        out.seek(0)
        err.seek(0)
        if code != 0:
            raise SystemExit(f"genoprep: error: mutant generation failed in {folder}:\n{err.read()[-2000:]}")
        return json.loads(out.read().strip().splitlines()[-1]), cpu_s


def read_meta(folder: Path) -> tuple[dict[str, int | None], dict[str, str]]:
    """The group's mutants and their cached exit codes, and each function's hash, from mutmut's ``*.py.meta`` files.

    Returns ({mutant name: exit code or None}, {"genoprep.mod.x_func": hash}); the function of a mutant is
    ``function_of(name)``."""
    codes: dict[str, int | None] = {}
    hashes: dict[str, str] = {}
    root = folder / "mutants"
    for meta in sorted(root.rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        module = ".".join(meta.relative_to(root).with_suffix("").with_suffix("").parts)
        module = module.removesuffix(".__init__")
        codes.update(data.get("exit_code_by_key", {}))
        hashes.update({f"{module}.{func}": h for func, h in data.get("hash_by_function_name", {}).items()})
    return codes, hashes


def function_of(name: str) -> str:
    """``genoprep.scrna.qc.x_filter_cells__mutmut_3`` -> ``genoprep.scrna.qc.x_filter_cells``."""
    return name.split("__mutmut_")[0]


def sample_key(name: str, seed: int = 2026) -> str:
    """A mutant's place in the sample order: SHA-256 of ``"<seed>:<name>"`` (hex), a function of the name alone."""
    return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()


def sample(keys: list[str] | set[str], k: int | None, seed: int = 2026) -> list[str]:
    """The shared sample rule: the names ordered by ``sample_key``, the first k (nested in k); None: all.

    A name's place depends on the name alone, so adding or removing mutants elsewhere in the group (any code
    change) moves each sample by at most the mutants added or removed; a shuffle of the sorted names drew a
    new sample whenever the group's size changed."""
    order = sorted(set(keys), key=lambda name: (sample_key(name, seed), name))
    return order if k is None else order[:k]


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval of a proportion (95 % by default); (nan, nan) for n = 0."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return (centre - half) / scale, (centre + half) / scale


@dataclass(frozen=True)
class Equivalent:
    name: str
    function_hash: str
    reason: str


def read_equivalents(path: Path | None = None) -> dict[str, Equivalent]:
    """bench/mutants_equivalent.tsv: ``mutant<TAB>hash of its function<TAB>reason`` (a header, ``#`` comments)."""
    path = path or EQUIVALENTS
    found: dict[str, Equivalent] = {}
    if not path.exists():
        return found
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#") or line.startswith("mutant\t"):
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not all(f.strip() for f in fields):
            raise SystemExit(f"genoprep: error: {path.name}: line {number}: expected mutant, hash and reason (3 tabs)")
        name, function_hash, reason = (f.strip() for f in fields)
        if name in found:
            raise SystemExit(f"genoprep: error: {path.name}: line {number}: {name} listed twice")
        found[name] = Equivalent(name, function_hash, reason)
    return found


def status_of(code: int | None) -> str:
    from mutmut.stats import status_by_exit_code

    return status_by_exit_code[code]


@dataclass
class Tally:
    """One group's (or the total's) counts over its sample."""

    sampled: int = 0
    run: int = 0
    killed: int = 0
    survived: int = 0  # every verdict that is not a kill: survived, no tests, suspicious, ...
    equivalent: int = 0  # survivors judged equivalent, for the function as judged (hash unchanged)
    rejudge: int = 0  # survivors judged equivalent for a function that changed since (counted as survivors)

    def add(self, other: Tally) -> None:
        for key in vars(self):
            setattr(self, key, getattr(self, key) + getattr(other, key))

    def score(self) -> float:
        """Killed over the non-equivalent mutants run."""
        base = self.run - self.equivalent
        return self.killed / base if base else math.nan

    def score_all(self) -> float:
        """Killed over every mutant run (equivalents counted as survivors)."""
        return self.killed / self.run if self.run else math.nan

    def interval(self) -> tuple[float, float]:
        return wilson(self.killed, self.run - self.equivalent)


def judge(
    names: list[str], codes: dict[str, int | None], hashes: dict[str, str], equivalents: dict[str, Equivalent]
) -> tuple[Tally, dict[str, str]]:
    """Count a sample's verdicts: the tally, and {mutant not killed: its status, "equivalent" or "... to re-judge"}."""
    tally = Tally(sampled=len(names))
    verdicts: dict[str, str] = {}
    for name in names:
        status = status_of(codes.get(name))
        if status in NOT_RUN:
            continue
        tally.run += 1
        if status in KILLED:
            tally.killed += 1
            continue
        tally.survived += 1
        listed = equivalents.get(name)
        if listed is None:
            verdicts[name] = status
        elif listed.function_hash == hashes.get(function_of(name)):
            tally.equivalent += 1
            verdicts[name] = "equivalent"
        else:
            tally.rejudge += 1
            verdicts[name] = f"{status}, to re-judge (judged equivalent for function hash {listed.function_hash})"
    return tally, verdicts


def percent(value: float) -> str:
    return "-" if math.isnan(value) else f"{100 * value:.1f}%"


def row(label: str, t: Tally) -> str:
    low, high = t.interval()
    interval = "-" if math.isnan(low) else f"{100 * low:.1f}-{100 * high:.1f}%"
    return (
        f"{label:18} {t.sampled:7d} {t.run:6d} {t.killed:6d} {t.survived:8d} {t.equivalent:6d} {t.rejudge:9d} "
        f"{percent(t.score()):>7} {interval:>13} {percent(t.score_all()):>9}"
    )


HEADER = (
    f"{'group':18} {'sampled':>7} {'run':>6} {'killed':>6} {'survived':>8} {'equiv':>6} {'re-judge':>9} "
    f"{'score':>7} {'Wilson 95%':>13} {'score all':>9}"
)


def run_mutmut(folder: Path, names: list[str], env: dict[str, str], children: str, log=None) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """``mutmut run`` of the named mutants (one invocation: one clean pass of the tests they reach); (exit status,
    CPU seconds). ``log``: a file for mutmut's output (groups run side by side), else the terminal."""
    command = ["nice", "-n", "10", sys.executable, "-c", RUN, children, *names]
    return call(command, folder, env, log, subprocess.STDOUT if log else None)


def say(line: str) -> None:
    """One progress line, written whole: print() writes the text and its newline apart, so two groups' lines ran
    together."""
    sys.stdout.write(f"genoprep: {line}\n")
    sys.stdout.flush()


def stats_weight(group: str) -> int:
    """The bytes of the group's test files: a stand-in for the length of its stats pass, known before any run."""
    return sum(path.stat().st_size for pattern in GROUPS[group][1] for path in REPO.glob(pattern))


def run_group(
    group: str, env: dict[str, str], children: str, k: int | None, seed: int, report_only: bool, to_log: bool = False
) -> tuple[list[str], dict[str, int | None], dict[str, str], str, int]:
    """Bring the group's sample up to date (mutants without a cached verdict for an unchanged function are run).
    ``to_log``: mutmut's output goes to ``mutants/<group>/run.log`` (groups running side by side)."""
    folder = prepare(group)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    if report_only:
        codes, hashes = read_meta(folder)
        names = sample(codes, None if all(c is not None for c in codes.values()) else k, seed)
        return names, codes, hashes, f"{group}: cached results (not run now)", 0
    refresh_package_data(folder)
    state, cpu_s = generate(folder, env)
    codes, hashes = read_meta(folder)
    if all(code is not None for code in codes.values()) and not state["config_changed"]:
        k = None  # every mutant of the group has a verdict: the full count, not a sample
    names = sample(codes, k, seed)
    todo = names if state["config_changed"] else [n for n in names if codes[n] is None]
    # a cached survivor is run again: mutmut keeps a verdict when only the content of a test file changed, so a
    # killer written after the run would not count (the killers are written after the runs, for the survivors)
    again = [] if state["config_changed"] else unjudged_survivors(names, codes, hashes, read_equivalents())
    code = 0
    runs: list[list[str]] = []
    if todo and k is None:
        runs = [[], again] if again else [[]]  # every mutant: mutmut's own bookkeeping, cached
        todo = [*todo, *again]
    elif todo or again:
        todo = [*todo, *again]
        runs = [todo]
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(open(folder / "run.log", "w", encoding="utf-8")) if to_log else None
        for batch in runs:
            status, spent = run_mutmut(folder, batch, env, children, log)
            code, cpu_s = code or status, cpu_s + spent
    codes, hashes = read_meta(folder)
    line = (
        f"{group}: {len(todo)} of {len(names)} {'mutants (all)' if k is None else 'sampled mutants'} run now "
        f"({len(codes)} in the group), "
        f"{time.monotonic() - started:.0f} s wall, {cpu_s:.0f} CPU-s, load average {load_before:.1f} before / "
        f"{os.getloadavg()[0]:.1f} after on {os.cpu_count()} cores, mutmut exit {code}"
    )
    return names, codes, hashes, line, code


def unjudged_survivors(
    names: list[str], codes: dict[str, int | None], hashes: dict[str, str], equivalents: dict[str, Equivalent]
) -> list[str]:
    """The mutants of ``names`` whose cached verdict is survived or no tests, and which are not judged equivalent
    for their function's current hash."""
    found = []
    for name in names:
        if status_of(codes.get(name)) not in ("survived", "no tests"):
            continue
        listed = equivalents.get(name)
        if listed is None or listed.function_hash != hashes.get(function_of(name)):
            found.append(name)
    return found


def judge_equivalent(name: str, reason: str, path: Path | None = None) -> str:
    """Add (or re-judge) a row of the equivalents file: the mutant, its function's current hash in the group folder
    that holds it (``mutants/<group>/``), the reason. Returns the row."""
    path = path or EQUIVALENTS
    if not reason.strip() or "\t" in reason or "\n" in reason:
        raise SystemExit("genoprep: error: the reason must be one line of text without tabs")
    for folder in sorted(RUNS.glob("*")):
        codes, hashes = read_meta(folder)
        if name in codes:
            break
    else:
        raise SystemExit(f"genoprep: error: {name}: no mutant of that name in {RUNS}/*/ (run its group first)")
    if status_of(codes[name]) in KILLED:
        raise SystemExit(f"genoprep: error: {name}: killed in {folder.name}, not a survivor to judge")
    row = f"{name}\t{hashes[function_of(name)]}\t{reason.strip()}"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else ["mutant\tfunction_hash\treason"]
    lines = [line for line in lines if line.split("\t")[0] != name]
    path.write_text("\n".join([*lines, row]) + "\n", encoding="utf-8")
    return row


def main(argv: list[str]) -> int:
    if argv[:1] == ["--judge"]:
        if len(argv) != 3:
            print('usage: bench/mutants.py --judge MUTANT "one-line reason"', file=sys.stderr)
            return 2
        print(f"genoprep: {judge_equivalent(argv[1], argv[2])}")
        return 0
    parser = argparse.ArgumentParser(prog="bench/mutants.py", description=__doc__.split("\n")[0])
    parser.add_argument("groups", nargs="*", help=f"module groups (default: all): {' '.join([*GROUPS, *ALIASES])}")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument(
        "--sample",
        type=int,
        default=DEFAULT_SAMPLE,
        metavar="K",
        help=f"sample(K) of each group (default {DEFAULT_SAMPLE})",
    )
    chosen.add_argument("--all", action="store_true", help="every mutant of each group")
    parser.add_argument("--seed", type=int, default=2026, help="the sample's seed (default 2026, the shared rule)")
    parser.add_argument("--report", action="store_true", help="no run: the report from the verdicts cached so far")
    parser.add_argument(
        "--jobs",
        type=int,
        default=int(os.environ.get("MUTANTS_JOBS", DEFAULT_JOBS)),
        metavar="N",
        help=f"groups run side by side (default {DEFAULT_JOBS}, or MUTANTS_JOBS); mutmut's output then goes to "
        "mutants/<group>/run.log",
    )
    args = parser.parse_args(argv)
    k = None if args.all else args.sample
    if k is not None and k < 1:
        parser.error("--sample needs K >= 1")
    if args.jobs < 1:
        parser.error("--jobs needs N >= 1")
    groups = [g for name in args.groups for g in ALIASES.get(name, [name])] or list(GROUPS)
    if args.report:
        groups = [g for g in groups if (RUNS / g / "mutants").is_dir()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        known = " ".join([*GROUPS, *ALIASES])
        print(f"genoprep: error: unknown module group {unknown}; known: {known}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    # the real data beside the checkout (tests/conftest.py would look beside ./mutants otherwise)
    env.setdefault("GENOPREP_SHARED_DATA", str(REPO.parent / "shared" / "data"))
    if not args.report and not Path(env["GENOPREP_SHARED_DATA"]).is_dir():
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
    jobs = max(1, min(args.jobs, len(groups)))  # a report of no cached group: no group to run
    # the cores shared between the groups running at once (2 cores, 2 groups: 1 mutant at a time each)
    children = env.get("MUTANTS_CHILDREN", str(max(1, (os.cpu_count() or 2) // jobs)))
    equivalents = read_equivalents()
    what = "every mutant" if k is None else f"sample({k}) of each group, seed {args.seed}"
    lines = [f"genoprep mutants: {what}", ""]
    table = [HEADER]
    total = Tally()
    listed: list[tuple[str, str, Path]] = []
    worst = 0

    def one(group: str) -> tuple[list[str], dict[str, int | None], dict[str, str], str, int]:
        if jobs > 1 and not args.report:
            say(f"{group}: started (mutmut's output: mutants/{group}/run.log)")
        result = run_group(group, env, children, k, args.seed, args.report, jobs > 1)
        say(result[3])
        return result

    # the groups with the most test code first (their stats passes are the longest), the report in GROUPS order
    with ThreadPoolExecutor(jobs) as pool:
        futures = {group: pool.submit(one, group) for group in sorted(groups, key=stats_weight, reverse=True)}
        results = {group: futures[group].result() for group in groups}
    for group in groups:
        names, codes, hashes, line, code = results[group]
        lines.append(line)
        worst = worst or code
        tally, verdicts = judge(names, codes, hashes, equivalents)
        total.add(tally)
        table.append(row(group, tally))
        if tally.run < tally.sampled:
            lines.append(f"{group}: {tally.sampled - tally.run} sampled mutants have no verdict (run stopped)")
        if not math.isnan(tally.score()) and tally.score() < TARGET:
            worst = worst or 1
        listed += [
            (name, verdict, RUNS / group) for name, verdict in sorted(verdicts.items()) if verdict != "equivalent"
        ]
    table.append(row("total", total))
    lines += ["", *table, ""]
    lines.append(
        "score = killed / (run - judged equivalent), with its Wilson 95 % interval; 'score all' counts the "
        f"equivalents as survivors; target {100 * TARGET:.0f} % per group; equivalents: {EQUIVALENTS.name}"
    )
    lines += ["", "not killed and not judged equivalent (mutmut show NAME in mutants/<group>/):", ""]
    summary = list(lines)
    for name, verdict, folder in listed:
        shown = subprocess.run(
            [str(MUTMUT), "show", name], check=False, cwd=folder, env=env, capture_output=True, text=True
        )
        lines += [f"## {name}: {verdict}", shown.stdout.rstrip(), ""]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(summary[: len(summary) - 3]))
    print(f"genoprep: {len(listed)} mutants not killed listed in {os.path.relpath(OUT, REPO)}")
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
