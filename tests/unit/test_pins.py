"""One set of pins: every conda env pins what requirements.lock pins, at the same version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: not an exact pin: {line}"
            pins[normalise(name)] = version
    return pins


ENVS = sorted((REPO / "envs").glob("*.yaml"))


@pytest.mark.parametrize("env", ENVS, ids=[e.name for e in ENVS])
def test_env_pins_match_the_lock(env: Path) -> None:
    spec = yaml.safe_load(env.read_text())
    assert spec["channels"][:2] == ["conda-forge", "bioconda"]
    pins = lock_pins()
    for dependency in spec["dependencies"]:
        name, _, version = dependency.partition("=")
        assert version, f"{env.name}: {dependency} is not pinned"
        if name == "python":
            assert version == "3.11"
            continue
        assert normalise(name) in pins, f"{env.name}: {name} is not in requirements.lock"
        assert pins[normalise(name)] == version, f"{env.name}: {name}={version}, lock has {pins[normalise(name)]}"


def test_every_rule_env_exists() -> None:
    referenced = set()
    for rules in (REPO / "rules").glob("*.smk"):
        referenced |= set(re.findall(r'"\.\./envs/([\w.-]+\.yaml)"', rules.read_text()))
    assert referenced, "no rule references a conda env"
    assert referenced <= {e.name for e in ENVS}


def test_every_third_party_import_of_the_package_is_a_declared_dependency() -> None:
    """``pip install .`` must bring what ``genoprep`` imports (issue 8): each third-party top-level
    module imported anywhere under ``genoprep/`` maps to a distribution listed in
    ``pyproject.toml``'s ``dependencies`` and pinned in ``requirements.lock``."""
    import ast
    import sys
    import tomllib
    from importlib.metadata import packages_distributions

    declared = {
        normalise(re.split(r"[<>=!~\[ ;]", spec, maxsplit=1)[0])
        for spec in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    modules: dict[str, str] = {}
    for path in sorted((REPO / "genoprep").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                modules.setdefault(name.split(".")[0], str(path.relative_to(REPO)))
    third_party = {m: p for m, p in modules.items() if m not in sys.stdlib_module_names and m != "genoprep"}
    assert third_party, "no third-party import found: the scan is broken"
    owners = packages_distributions()
    pins = lock_pins()
    missing = []
    for module, where in sorted(third_party.items()):
        dists = {normalise(d) for d in owners.get(module, [])}
        if not dists & declared:
            missing.append(f"{module} (imported in {where}; distributions {sorted(dists) or '?'})")
        for dist in dists & declared:
            assert dist in pins, f"{dist} is a dependency but not pinned in requirements.lock"
    assert not missing, "imported but not in pyproject dependencies: " + "; ".join(missing)
