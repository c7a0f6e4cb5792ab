"""bench/mutants.py (``make mutants``): the pieces that decide what a mutation run sees."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mutants():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("genoprep_bench_mutants", REPO / "bench" / "mutants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
