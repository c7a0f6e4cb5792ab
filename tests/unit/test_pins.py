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
