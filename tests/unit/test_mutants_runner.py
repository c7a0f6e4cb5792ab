"""bench/mutants.py (``make mutants``): the pieces that decide what a mutation run sees."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import random
import re
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import conftest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mutants():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("genoprep_bench_mutants", REPO / "bench" / "mutants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_package_data_copy_follows_the_checkout(mutants, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # mutmut copied the schemas when it generated the group's mutants; one changed since, one was
    # added; code files in the copy are mutmut's (mutated) and must not be touched
    package = tmp_path / "repo" / "genoprep"
    (package / "schemas" / "modality").mkdir(parents=True)
    (package / "schemas" / "card.schema.yaml").write_text("new: 1\n")
    (package / "schemas" / "modality" / "dna.schema.yaml").write_text("added: 1\n")
    (package / "x.py").write_text("checkout = True\n")
    copy = tmp_path / "run" / "mutants" / "genoprep"
    (copy / "schemas").mkdir(parents=True)
    (copy / "schemas" / "card.schema.yaml").write_text("old: 1\n")
    (copy / "x.py").write_text("mutated = True\n")
    monkeypatch.setattr(mutants, "REPO", tmp_path / "repo")
    mutants.refresh_package_data(tmp_path / "run")
    assert (copy / "schemas" / "card.schema.yaml").read_text() == "new: 1\n"
    assert (copy / "schemas" / "modality" / "dna.schema.yaml").read_text() == "added: 1\n"
    assert (copy / "x.py").read_text() == "mutated = True\n"
    mutants.refresh_package_data(tmp_path / "nothing generated yet")  # no copy: nothing to do, no error


def test_group_config_narrows_only_the_mutmut_table(mutants) -> None:  # type: ignore[no-untyped-def]
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    narrowed = mutants.group_config(text, ["genoprep/filters.py"], ["tests/unit/t.py"], ["tests/unit/t.py::slow"])
    new, old = tomllib.loads(narrowed), tomllib.loads(text)
    table = new["tool"]["mutmut"]
    assert table["only_mutate"] == ["genoprep/filters.py"]
    assert table["pytest_add_cli_args_test_selection"] == ["tests/unit/t.py"]
    assert table["pytest_add_cli_args"] == [
        *old["tool"]["mutmut"]["pytest_add_cli_args"],
        "--deselect=tests/unit/t.py::slow",
    ]
    assert {k: v for k, v in new.items() if k != "tool"} == {k: v for k, v in old.items() if k != "tool"}
    assert {k: v for k, v in new["tool"].items() if k != "mutmut"} == {
        k: v for k, v in old["tool"].items() if k != "mutmut"
    }


def test_a_run_without_the_real_data_is_refused(mutants, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GENOPREP_SHARED_DATA", str(REPO / "no such folder"))
    assert mutants.main(["filters"]) == 2
    assert "real test data not found" in capsys.readouterr().err


def test_the_sample_is_the_shared_rule_nested_and_seeded(mutants) -> None:  # type: ignore[no-untyped-def]
    keys = [f"genoprep.m.x_f{i % 7}__mutmut_{i}" for i in range(1, 301)]
    given = list(reversed(keys))  # the order the names come in does not matter

    def rule(names: list[str], seed: int) -> list[str]:  # the rule as docs/testing.md writes it, with hashlib
        return sorted(names, key=lambda n: hashlib.sha256(f"{seed}:{n}".encode()).hexdigest())

    order = rule(keys, 2026)
    assert order != sorted(keys)
    assert mutants.sample(given, 40) == order[:40]
    assert mutants.sample(set(keys), 40) == order[:40]
    assert mutants.sample(keys, 20) == mutants.sample(keys, 40)[:20]  # nested: sample(20) is in sample(40)
    assert mutants.sample(keys, 1000) == order  # K above the group's size: every mutant
    assert mutants.sample(keys, None) == order
    assert mutants.sample(keys, 40, seed=7) == rule(keys, 7)[:40] != order[:40]


def test_the_sample_stays_put_when_the_group_changes_elsewhere(mutants) -> None:  # type: ignore[no-untyped-def]
    keys = [f"genoprep.m.x_f{i % 7}__mutmut_{i}" for i in range(1, 301)]
    before = mutants.sample(keys, 40)
    # a new function's mutants appear, another function's vanish (an edit renumbers them): the sample keeps
    # every name that is still there, and takes in only new names (each one pushes out one old name at the end)
    added = [f"genoprep.m.x_new__mutmut_{i}" for i in range(1, 31)]
    gone = {k for k in keys if k.startswith("genoprep.m.x_f3__")}
    after = mutants.sample([k for k in keys if k not in gone] + added, 40)
    kept = [k for k in before if k not in gone]
    assert [k for k in after if k in set(before)] == kept[: len([k for k in after if k in set(before)])]
    new_in = [k for k in after if k not in set(before)]
    assert set(new_in) <= set(added) | (set(keys) - gone)
    assert len(set(before) & set(after)) >= 40 - len(gone & set(before)) - len(set(added) & set(after))
    # against the shuffle of sorted names it replaces: one extra name redraws most of that sample
    order = sorted(keys)
    random.Random(2026).shuffle(order)
    grown = sorted([*keys, "genoprep.m.x_a__mutmut_1"])
    random.Random(2026).shuffle(grown)
    assert len(set(order[:40]) & set(grown[:40])) < 20
    assert len(set(mutants.sample(keys, 40)) & set(mutants.sample([*keys, "genoprep.m.x_a__mutmut_1"], 40))) >= 39


def test_wilson_interval_against_hand_computed_values(mutants) -> None:  # type: ignore[no-untyped-def]
    # 19 of 20, z = 1.96: centre 0.95 + 3.8416/40 = 1.04604, half-width 1.96 * sqrt(0.002375 + 0.002401) = 0.135453,
    # divided by 1 + 3.8416/20 = 1.19208 -> 0.76387 .. 0.99112
    low, high = mutants.wilson(19, 20)
    assert low == pytest.approx(0.76387, abs=2e-5) and high == pytest.approx(0.99112, abs=2e-5)
    # all killed: the lower end is n / (n + z^2) = 10 / 13.8415, the upper end 1
    low, high = mutants.wilson(10, 10)
    assert low == pytest.approx(10 / (10 + 1.959963984540054**2)) and high == pytest.approx(1.0)
    assert all(math.isnan(v) for v in mutants.wilson(0, 0))


def test_equivalents_count_only_for_the_function_they_were_judged_on(mutants, tmp_path) -> None:  # type: ignore[no-untyped-def]
    table = tmp_path / "equivalent.tsv"
    table.write_text(
        "# comment\nmutant\tfunction_hash\treason\n"
        "g.m.x_f__mutmut_1\taaa\tthe default dtype\n"
        "g.m.x_g__mutmut_2\told\tjudged before x_g changed\n"
        "g.m.x_f__mutmut_3\taaa\tlisted, but a new test kills it\n",
        encoding="utf-8",
    )
    equivalents = mutants.read_equivalents(table)
    codes = {
        "g.m.x_f__mutmut_1": 0,  # survived, judged equivalent, x_f unchanged
        "g.m.x_g__mutmut_2": 0,  # survived, judged on another x_g: to re-judge
        "g.m.x_f__mutmut_3": 1,  # killed
        "g.m.x_f__mutmut_4": 0,  # survived, not judged
        "g.m.x_f__mutmut_5": 33,  # no tests: not killed
        "g.m.x_f__mutmut_6": 1,
        "g.m.x_g__mutmut_7": None,  # no verdict yet: not run
    }
    hashes = {"g.m.x_f": "aaa", "g.m.x_g": "new"}
    tally, verdicts = mutants.judge(sorted(codes), codes, hashes, equivalents)
    assert (tally.sampled, tally.run, tally.killed, tally.survived, tally.equivalent, tally.rejudge) == (
        7,
        6,
        2,
        4,
        1,
        1,
    )
    assert tally.score() == pytest.approx(2 / 5) and tally.score_all() == pytest.approx(2 / 6)
    assert tally.interval() == mutants.wilson(2, 5)
    assert verdicts["g.m.x_f__mutmut_1"] == "equivalent"
    assert "to re-judge" in verdicts["g.m.x_g__mutmut_2"] and "old" in verdicts["g.m.x_g__mutmut_2"]
    assert verdicts["g.m.x_f__mutmut_4"] == "survived" and verdicts["g.m.x_f__mutmut_5"] == "no tests"
    assert "g.m.x_f__mutmut_3" not in verdicts
    table.write_text("mutant\tfunction_hash\treason\ng.m.x_f__mutmut_1\taaa\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="line 2: expected mutant, hash and reason"):
        mutants.read_equivalents(table)


def test_cached_survivors_not_judged_equivalent_are_run_again(mutants, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A killer written after a run does not change mutmut's cached verdict: the runner runs those mutants again."""
    table = tmp_path / "equivalent.tsv"
    table.write_text(
        "mutant\tfunction_hash\treason\ng.m.x_f__mutmut_1\taaa\tequivalent\ng.m.x_g__mutmut_2\told\tjudged before\n",
        encoding="utf-8",
    )
    codes = {
        "g.m.x_f__mutmut_1": 0,  # survived, judged equivalent for the current x_f: not again
        "g.m.x_g__mutmut_2": 0,  # survived, judged for an older x_g: again
        "g.m.x_f__mutmut_3": 1,  # killed: not again
        "g.m.x_f__mutmut_4": 0,  # survived, not judged: again
        "g.m.x_f__mutmut_5": 33,  # no tests: again (a new test may reach it)
        "g.m.x_f__mutmut_6": 36,  # timeout counts as killed: not again
        "g.m.x_g__mutmut_7": None,  # not run: the sample's own business, not a re-run
    }
    hashes = {"g.m.x_f": "aaa", "g.m.x_g": "new"}
    again = mutants.unjudged_survivors(sorted(codes), codes, hashes, mutants.read_equivalents(table))
    assert again == ["g.m.x_f__mutmut_4", "g.m.x_f__mutmut_5", "g.m.x_g__mutmut_2"]
    assert mutants.unjudged_survivors(["g.m.x_f__mutmut_1"], codes, hashes, mutants.read_equivalents(table)) == []


def test_the_equivalents_file_is_well_formed(mutants) -> None:  # type: ignore[no-untyped-def]
    equivalents = mutants.read_equivalents()
    assert len(equivalents) > 100
    for name, listed in equivalents.items():
        assert re.fullmatch(r"genoprep\.[\w.ǁ]+__mutmut_\d+", name), name
        assert re.fullmatch(r"[0-9a-f]{12}", listed.function_hash), name


def test_exit_status_is_1_when_a_group_scores_under_95_percent(mutants, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # 19 killed of 20 (95 %) passes; 18 of 20 with one judged equivalent (18/19 = 94.7 %) fails
    def fake(killed: int, equivalent: bool):  # type: ignore[no-untyped-def]
        codes = {f"g.m.x_f__mutmut_{i}": (1 if i <= killed else 0) for i in range(1, 21)}
        return lambda *args: (sorted(codes), codes, {"g.m.x_f": "aaa"}, "g: fake", 0)

    (tmp_path / "filters").mkdir()
    monkeypatch.setattr(mutants, "RUNS", tmp_path)
    monkeypatch.setattr(mutants, "REPO", tmp_path)
    monkeypatch.setattr(mutants, "OUT", tmp_path / "out" / "mutants.txt")
    monkeypatch.setattr(mutants, "MUTMUT", Path("/bin/true"))
    monkeypatch.setenv("GENOPREP_SHARED_DATA", str(tmp_path))
    monkeypatch.setattr(mutants, "run_group", fake(19, False))
    assert mutants.main(["filters"]) == 0
    table = tmp_path / "equivalent.tsv"
    table.write_text("g.m.x_f__mutmut_20\taaa\tthe same\n", encoding="utf-8")
    monkeypatch.setattr(mutants, "EQUIVALENTS", table)
    monkeypatch.setattr(mutants, "run_group", fake(18, True))
    assert mutants.main(["filters"]) == 1
    report = (tmp_path / "out" / "mutants.txt").read_text(encoding="utf-8")
    assert re.search(r"filters\s+20\s+20\s+18\s+2\s+1\s+0\s+94\.7%", report), report
    assert "## g.m.x_f__mutmut_19: survived" in report and "mutmut_20: " not in report


def test_two_groups_run_side_by_side_and_report_in_group_order(mutants, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    both_running = threading.Barrier(2, timeout=30)  # broken unless the two groups are in run_group at once
    calls = []

    def fake(group, env, children, k, seed, report_only, to_log):  # type: ignore[no-untyped-def]
        calls.append((group, children, to_log))
        both_running.wait()
        codes = {f"g.{group}.x_f__mutmut_{i}": 1 for i in range(1, 4)}
        return sorted(codes), codes, {f"g.{group}.x_f": "aaa"}, f"{group}: fake", 0

    monkeypatch.setattr(mutants, "RUNS", tmp_path)
    monkeypatch.setattr(mutants, "OUT", tmp_path / "out" / "mutants.txt")
    monkeypatch.setenv("GENOPREP_SHARED_DATA", str(tmp_path))
    monkeypatch.delenv("MUTANTS_CHILDREN", raising=False)
    monkeypatch.setattr(mutants.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(mutants, "run_group", fake)
    assert mutants.main(["--jobs", "2", "filters", "variants"]) == 0
    # each group gets one of the two cores (which thread records first is a race: the order is checked below)
    assert sorted(c[0] for c in calls) == ["filters", "variants"] and {c[1:] for c in calls} == {("1", True)}
    table = [line.split()[0] for line in (tmp_path / "out" / "mutants.txt").read_text().splitlines() if line]
    assert table.index("filters") < table.index("variants") < table.index("total")  # GROUPS order
    # one at a time: the barrier would time out; the group gets both cores and writes to the terminal
    alone = []

    def one_at_a_time(group, env, children, k, seed, report_only, to_log):  # type: ignore[no-untyped-def]
        alone.append((group, children, to_log))
        return [], {}, {}, f"{group}: fake", 0

    monkeypatch.setattr(mutants, "run_group", one_at_a_time)
    assert mutants.main(["--jobs", "1", "filters", "variants"]) == 0
    # variants has more test code: it is submitted first
    assert alone == [("variants", "2", False), ("filters", "2", False)]


def test_a_report_with_no_group_run_yet_is_an_empty_table(mutants, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(mutants, "RUNS", tmp_path / "mutants")  # a fresh clone: no mutants/ folder
    monkeypatch.setattr(mutants, "OUT", tmp_path / "out" / "mutants.txt")
    monkeypatch.delenv("MUTANTS_CHILDREN", raising=False)
    assert mutants.main(["--report"]) == 0
    report = (tmp_path / "out" / "mutants.txt").read_text(encoding="utf-8")
    assert re.search(r"^total\s+0\s+0\s+0\s+0", report, re.M), report


def test_the_cpu_of_a_command_counts_its_descendants(mutants, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the child forks a grandchild that burns 0.3 s of its own CPU; the child itself sleeps: the CPU must be the
    # grandchild's, read from the child's wait4 (not this process's os.times(), shared by every group)
    script = (
        "import os, time\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    while time.process_time() < 0.3: pass\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "raise SystemExit(3)\n"
    )
    before = os.times()
    code, cpu_s = mutants.call([sys.executable, "-c", script], tmp_path, dict(os.environ))
    after = os.times()
    assert code == 3
    assert cpu_s >= 0.3
    assert (after.children_user + after.children_system) - (before.children_user + before.children_system) >= 0.3


def test_a_folder_copied_from_another_checkout_is_pointed_at_this_one(mutants, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(mutants, "RUNS", tmp_path)
    folder = tmp_path / "filters"
    folder.mkdir()
    elsewhere = tmp_path / "other-checkout"
    (elsewhere / "genoprep").mkdir(parents=True)
    (folder / "genoprep").symlink_to(elsewhere / "genoprep")  # as `cp -a` of another worktree's mutants/ leaves it
    (folder / "mutants").mkdir()  # mutmut's own folder (its cache) is kept
    mutants.prepare("filters")
    assert os.readlink(folder / "genoprep") == str(mutants.REPO / "genoprep")
    assert os.readlink(folder / "Snakefile") == str(mutants.REPO / "Snakefile")
    assert (folder / "mutants").is_dir() and not (folder / "mutants").is_symlink()


def test_generation_alone_names_every_mutant_without_running_a_test(mutants, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(mutants, "RUNS", tmp_path)
    folder = mutants.prepare("filters")
    state, cpu_s = mutants.generate(folder, dict(os.environ))
    assert state == {"stats": False, "config_changed": False}
    assert cpu_s > 0.1  # the child's own CPU (python start-up and libcst over filters.py), not this process's
    codes, hashes = mutants.read_meta(folder)
    # every mutant function mutmut wrote into its copy of filters.py, read from that file, not from its bookkeeping
    written = re.findall(r"^def (x_\w+__mutmut_\d+)\(", (folder / "mutants/genoprep/filters.py").read_text(), re.M)
    assert sorted(codes) == sorted(f"genoprep.filters.{name}" for name in written) and len(codes) > 50
    assert set(codes.values()) == {None}  # no verdict: no test ran
    assert set(hashes) == {mutants.function_of(name) for name in codes}
    assert not (folder / "mutants" / "mutmut-stats.json").exists()


def test_cheapest_first_orders_by_set_up_and_call(tmp_path) -> None:
    stats = {"duration_by_test": {"t::a": 0.5, "t::b": 0.1, "t::c": 0.2, "t::d": 0.3}}
    (tmp_path / "mutmut-stats.json").write_text(json.dumps(stats), encoding="utf-8")
    items = [SimpleNamespace(nodeid=n) for n in ("t::a", "t::new", "t::b", "t::c", "t::d")]
    # only the calls: b, c, d, a; a test mutmut never timed goes last
    assert [i.nodeid for i in conftest.cheapest_first(items, tmp_path)] == ["t::b", "t::c", "t::d", "t::a", "t::new"]
    # with the set-up times of the stats pass: b's fixture costs 1 s
    (tmp_path / conftest.SETUP_COSTS).write_text(json.dumps({"t::b": 1.0, "t::c": 0.05}), encoding="utf-8")
    assert [i.nodeid for i in conftest.cheapest_first(items, tmp_path)] == ["t::c", "t::d", "t::a", "t::b", "t::new"]
    assert conftest.cheapest_first(items, tmp_path / "nothing") == items


def test_the_mutant_hooks_act_only_under_mutmut(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "mutmut-stats.json").write_text(json.dumps({"duration_by_test": {"t::a": 2, "t::b": 1}}))
    monkeypatch.chdir(tmp_path)
    items = [SimpleNamespace(nodeid="t::a"), SimpleNamespace(nodeid="t::b")]
    for phase in ("", "stats", "fail", "list_all_tests"):
        monkeypatch.setenv("MUTANT_UNDER_TEST", phase)
        order = list(items)
        conftest.pytest_collection_modifyitems(None, order)
        assert [i.nodeid for i in order] == ["t::a", "t::b"], phase
    monkeypatch.setenv("MUTANT_UNDER_TEST", "genoprep.filters.x_guard__mutmut_9")
    order = list(items)
    conftest.pytest_collection_modifyitems(None, order)
    assert [i.nodeid for i in order] == ["t::b", "t::a"]
    # the stats pass records set-up + teardown per test and adds them to what an earlier pass recorded
    (tmp_path / conftest.SETUP_COSTS).write_text(json.dumps({"t::old": 4.0}))
    for phase, when, seconds in (("", "setup", 9.0), ("stats", "setup", 0.25), ("stats", "call", 9.0)):
        monkeypatch.setenv("MUTANT_UNDER_TEST", phase)
        conftest.pytest_runtest_logreport(SimpleNamespace(nodeid="t::a", when=when, duration=seconds))
    monkeypatch.setenv("MUTANT_UNDER_TEST", "stats")
    conftest.pytest_runtest_logreport(SimpleNamespace(nodeid="t::a", when="teardown", duration=0.5))
    conftest.pytest_sessionfinish(None)
    assert json.loads((tmp_path / conftest.SETUP_COSTS).read_text()) == {"t::a": 0.75, "t::old": 4.0}
    monkeypatch.setenv("MUTANT_UNDER_TEST", "")
    (tmp_path / conftest.SETUP_COSTS).unlink()
    conftest.pytest_sessionfinish(None)  # make test: nothing written
    assert not (tmp_path / conftest.SETUP_COSTS).exists()


FAKE_MUTMUT = """
import json, sys
log = []

def run_stats_collection(runner, tests=None):
    log.append(["stats", sorted(tests or [])])

class Runner:
    def run_clean_tests(self, tests):
        log.append(["clean", sorted(tests)])
        return 0

def get_mutant_runner(max_children=1):
    return Runner()

def _run(names, max_children):
    # as mutmut's _run: stats (full when none are cached, else only for new tests), then the clean pass
    if "cold" in names:
        run_stats_collection(None)
    elif "new" in names:
        run_stats_collection(None, ["t::new"])
    code = get_mutant_runner(max_children).run_clean_tests(["t::a"])
    log.append(["run", list(names), max_children, code])
    json.dump(log, sys.stderr)
"""


@pytest.mark.parametrize(
    ("names", "clean"),
    [(["cold"], False), (["cached"], True), (["new"], True)],
)
def test_the_clean_pass_is_skipped_only_right_after_a_full_stats_pass(mutants, tmp_path, names, clean) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "mutmut").mkdir()
    (tmp_path / "mutmut" / "__init__.py").write_text("")
    (tmp_path / "mutmut" / "__main__.py").write_text(FAKE_MUTMUT)
    done = subprocess.run(
        [sys.executable, "-c", mutants.RUN, "2", *names],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    log = json.loads(done.stderr)
    assert log[-1] == ["run", names, 2, 0]
    assert (["clean", ["t::a"]] in log) == clean
    assert ("clean pass skipped" in done.stdout) == (not clean)


def test_judging_a_survivor_records_its_functions_current_hash(mutants, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    meta = tmp_path / "runs" / "grp" / "mutants" / "genoprep" / "m.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {"genoprep.m.x_f__mutmut_1": 0, "genoprep.m.x_f__mutmut_2": 1}
    meta.write_text(json.dumps({"exit_code_by_key": codes, "hash_by_function_name": {"x_f": "abc123abc123"}}))
    monkeypatch.setattr(mutants, "RUNS", tmp_path / "runs")
    table = tmp_path / "equivalent.tsv"
    table.write_text("mutant\tfunction_hash\treason\ngenoprep.m.x_f__mutmut_1\told000old000\tjudged before\n")
    mutants.judge_equivalent("genoprep.m.x_f__mutmut_1", "the default dtype ", table)
    rows = table.read_text().splitlines()
    assert rows == ["mutant\tfunction_hash\treason", "genoprep.m.x_f__mutmut_1\tabc123abc123\tthe default dtype"]
    assert mutants.read_equivalents(table)["genoprep.m.x_f__mutmut_1"].function_hash == "abc123abc123"
    with pytest.raises(SystemExit, match="killed in grp"):
        mutants.judge_equivalent("genoprep.m.x_f__mutmut_2", "a reason", table)
    with pytest.raises(SystemExit, match="no mutant of that name"):
        mutants.judge_equivalent("genoprep.m.x_f__mutmut_3", "a reason", table)
    with pytest.raises(SystemExit, match="one line"):
        mutants.judge_equivalent("genoprep.m.x_f__mutmut_1", "a\treason", table)
