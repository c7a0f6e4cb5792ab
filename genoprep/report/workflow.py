"""What rules/report.smk needs from a card (plain functions: the rule file holds only rules)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genoprep.dna.tokenize import get_scheme


def task_bundles(artifacts: list[str]) -> list[str]:
    """The task bundles among a dataset's artifact names that the task figure draws: those with a
    ``tasks/<task>/rows.tsv``, in artifact order."""
    return [name.split("/")[1] for name in artifacts if name.startswith("tasks/") and name.endswith("/rows.tsv")]


def report_task_inputs(folder: str, artifacts: list[str], split_qc: list[str] | None = None) -> dict[str, list[str]]:
    """``{"rows": [...], "baselines": [...], "split_qc": [...]}`` paths of the task figure's inputs (a
    baseline only where the artifacts list one; ``split_qc`` the file holding the split's leakage checks)."""
    tasks = task_bundles(artifacts)
    return {
        "split_qc": list(split_qc or []),
        "rows": [f"{folder}/tasks/{task}/rows.tsv" for task in tasks],
        "baselines": [
            f"{folder}/tasks/{task}/baseline.json" for task in tasks if f"tasks/{task}/baseline.json" in artifacts
        ],
    }


def token_files(params: Mapping[str, Any]) -> list[str]:
    """The token file (first artifact) of each tokenization scheme of a DNA card, in its order."""
    return [get_scheme(name).artifacts(params[name])[0] for name in params["tokenizers"]]


def token_settings(params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{scheme: its settings} of a DNA card, in its order (pad ids and file names depend on them)."""
    return {name: dict(params[name]) for name in params["tokenizers"]}
