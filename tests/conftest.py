"""Shared fixtures: where the real data are, and running the workflow through its contract.

Strict mode: with ``GENOPREP_STRICT_TESTS=1`` (``.ci/run`` sets it) a missing real-data
file or reference tool FAILS the test instead of skipping it, so that CI cannot go green
while the comparisons with real data and with bcftools/plink2 silently did not run.
:func:`shared_data` and :func:`require_tool` fail by themselves; a skip raised elsewhere
whose reason says that data or a tool is missing is turned into a failure by the report
hook below. ``make test`` for users keeps skipping, with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
#: the real test data: ../shared/data beside the checkout, or the folder GENOPREP_SHARED_DATA names
SHARED_DATA = Path(os.environ.get("GENOPREP_SHARED_DATA") or REPO.parent / "shared" / "data")


#: strict mode (see the module docstring)
STRICT = os.environ.get("GENOPREP_STRICT_TESTS", "") not in ("", "0")

#: skip reasons that mean "a data file or a tool is missing" (turned into failures in strict mode)
MISSING = re.compile(r"not installed|not found|not present|shared data|shared/data|no such (file|tool)", re.I)


def _missing(reason: str) -> None:
    if STRICT:
        pytest.fail(f"strict mode (GENOPREP_STRICT_TESTS=1): {reason}", pytrace=False)
    pytest.skip(reason)


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test (with the reason) when it is absent; strict mode fails."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        _missing(f"real test data not found: {path} (the ../shared/data folder beside the checkout)")
    return path


def require_tool(name: str) -> str:
    """The path of a reference tool (bcftools, plink2, ...), or skip saying so; strict mode fails."""
    found = shutil.which(name)
    if found is None:
        _missing(f"{name} not installed (make tools, or apt-get install -y bcftools tabix plink2)")
    return str(found)


#: ``bench/mutants.py`` sets this for mutmut only: each hypothesis test runs at most this many examples
#: per mutant (a surviving mutant otherwise pays the full 60 examples of each property test, most of a
#: scRNA tokens mutant's time). ``make test`` and CI never set it: every test keeps its own max_examples.
MUTANT_EXAMPLES = int(os.environ.get("GENOPREP_MUTANT_EXAMPLES", "0") or 0)


#: mutmut's phase in this process (it sets ``MUTANT_UNDER_TEST``): "stats" in its first pass (which test reaches
#: which function), a mutant's name (``...__mutmut_N``) in each mutant's run, unset in ``make test`` and CI
def mutmut_phase() -> str:
    return os.environ.get("MUTANT_UNDER_TEST", "")


#: set-up and teardown seconds of each test in mutmut's stats pass, beside mutmut's own ``mutmut-stats.json`` (whose
#: ``duration_by_test`` has the call phase only: a test whose fixture builds a VCF or runs scanpy looks free there)
SETUP_COSTS = "mutmut-setup-durations.json"
_setup_seconds: dict[str, float] = {}


@pytest.hookimpl(trylast=True)  # after pytest's own reordering (by higher-scoped parametrized fixtures)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if MUTANT_EXAMPLES:
        cap_examples(items, MUTANT_EXAMPLES)
    if "__mutmut_" in mutmut_phase():
        items[:] = cheapest_first(items, Path.cwd())


def cap_examples(items: list[pytest.Item], limit: int) -> None:
    from hypothesis import settings

    for item in items:
        test = getattr(item, "obj", None)
        current = getattr(test, "_hypothesis_internal_use_settings", None)
        if current is not None and current.max_examples > limit:
            # hypothesis reads this attribute when the test is called (the test's own @settings put it there)
            test._hypothesis_internal_use_settings = settings(current, max_examples=limit)


def cheapest_first(items: list[pytest.Item], folder: Path) -> list[pytest.Item]:
    """A mutant's tests ordered by what each cost in mutmut's stats pass (set-up + call + teardown), so that ``-x``
    ends a killed mutant at its cheapest failing test. mutmut passes the ids ordered by the call alone; a test
    missing from both files keeps its place after the known ones (a stable sort on +inf)."""
    import json

    costs: dict[str, float] = {}
    for name, key in (("mutmut-stats.json", "duration_by_test"), (SETUP_COSTS, None)):
        try:
            data = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for test, seconds in (data[key] if key else data).items():
            costs[test] = costs.get(test, 0.0) + float(seconds)
    if not costs:
        return items
    return sorted(items, key=lambda item: costs.get(item.nodeid, float("inf")))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when in ("setup", "teardown") and mutmut_phase() == "stats":
        _setup_seconds[report.nodeid] = _setup_seconds.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """mutmut's stats pass: add this run's set-up costs to the file (an incremental pass measures only new tests)."""
    if mutmut_phase() != "stats" or not _setup_seconds:
        return
    import json

    target = Path.cwd() / SETUP_COSTS
    try:
        known = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    known.update(_setup_seconds)
    _setup_seconds.clear()
    target.write_text(json.dumps(known, indent=1, sort_keys=True), encoding="utf-8")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Strict mode: a skip whose reason says data or a tool is missing counts as a failure."""
    outcome = yield
    report = outcome.get_result()
    if not (STRICT and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if MISSING.search(reason):
        report.outcome = "failed"
        report.longrepr = f"strict mode (GENOPREP_STRICT_TESTS=1): {reason}"


def write_card(folder: Path, card: dict) -> Path:
    """Write a dataset card into ``folder`` as <dataset_id>.yaml.

    A scRNA-seq card that does not say ``params.umap`` gets ``umap: false``: umap-learn compiles
    its numba code in every job (about 20 CPU-seconds), which the many small e2e runs would pay
    again and again. The default (``umap: true``) runs in the demo run (``test_contract``) and
    where a test asks for it explicitly (``test_report_expression``)."""
    if card.get("modality") == "scrna":
        card = {**card, "params": {"umap": False, **(card.get("params") or {})}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{card['dataset_id']}.yaml"
    path.write_text(yaml.safe_dump(card, sort_keys=False), encoding="utf-8")
    return path


def run_workflow(
    datasets: Path | str, results: Path | str, *extra: str, cores: int = 2, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``snakemake --cores N --config datasets=DIR results=OUT`` from the repository root."""
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        str(cores),
        "--config",
        f"datasets={datasets}",
        f"results={results}",
        *extra,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}")
    return done


def artifact_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of a dataset's output folder except logs and benchmarks (timings differ)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).parts[0] not in ("logs", "benchmarks")
    }


def leftovers(folder: Path) -> list[str]:
    """The files a failed run left in a dataset folder (paths relative to it, sorted), apart from
    its ``logs/`` and ``benchmarks/``: a refused input must leave none (no half-written artifact).
    A folder that does not exist has none."""
    if not folder.exists():
        return []
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).parts[0] not in ("logs", "benchmarks")
    )


def from_other_folder(
    workdir: Path, cards: Path | str, results: Path, *extra: str, cores: int = 1
) -> subprocess.CompletedProcess[str]:
    """The workflow run from another working directory (as a second checkout or user would)."""
    workdir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--cores",
        str(cores),
        "--config",
        f"datasets={cards}",
        f"results={results}",
        *extra,
    ]
    return subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}
    )
