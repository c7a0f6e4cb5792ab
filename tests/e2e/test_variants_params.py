"""Each variants rule gets only its slice of the card, so an edit reruns only what it changes.

A completed run, then ``snakemake -n`` after editing the card: a new ``description``
schedules only ``write_card``; a new ``min_maf`` changes the params of ``variants_gather``
alone (the chunk jobs run again only because their ``.npz`` files are temporary, and the
plan not at all); a new ``records_per_chunk`` changes the plan's params.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import run_workflow, write_card
from tests.unit.test_variants_tiny import _random_records, write_vcf


def scheduled(done) -> dict[str, int]:
    """Rule -> job count from the ``Job stats`` table of ``snakemake -n``."""
    text = done.stdout + done.stderr
    if "Nothing to be done" in text:
        return {}
    table = text[text.index("Job stats:") :]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


@pytest.fixture(scope="module")
def completed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("variants_params")
    vcf = write_vcf(root / "p.vcf", [f"S{i}" for i in range(8)], _random_records(np.random.default_rng(4), 8, 40))
    card = {
        "dataset_id": "tiny",
        "name": "tiny",
        "modality": "variants",
        "organism": "Homo sapiens",
        "description": "first",
        "input": {"path": str(vcf)},
        "params": {
            "records_per_chunk": 15,
            "max_sample_missing": None,
            "max_variant_missing": None,
            "min_fraction_kept": None,
        },
    }
    path = write_card(root / "cards", card)
    run_workflow(root / "cards", root / "out")
    return path, root


def params_changed(done) -> list[str]:
    """The rules Snakemake reruns because their params changed (its ``Reasons`` section)."""
    text = done.stdout + done.stderr
    match = re.search(r"params have changed since last execution:\n\s+(.+)\n", text)
    return sorted(match.group(1).replace(" ", "").split(",")) if match else []


def _edit(path: Path, change) -> str:
    card = yaml.safe_load(path.read_text())
    original = yaml.safe_dump(card, sort_keys=False)
    change(card)
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    return original


@pytest.mark.parametrize(
    "edit, changed, not_run",
    [
        (lambda c: c.update(description="second"), [], ["variants_plan", "variants_chunk", "variants_gather"]),
        (lambda c: c["params"].update(min_maf=0.2), ["variants_gather"], ["variants_plan"]),
        (lambda c: c["params"].update(records_per_chunk=7), ["variants_plan"], []),
    ],
    ids=["description", "min_maf", "records_per_chunk"],
)
def test_an_edit_reruns_only_the_steps_that_read_it(completed, edit, changed, not_run):
    path, root = completed
    original = _edit(path, edit)
    try:
        done = run_workflow(root / "cards", root / "out", "-n")
        jobs = scheduled(done)
        assert [rule for rule in params_changed(done) if rule != "write_card"] == changed, done.stdout[-3000:]
        assert jobs.get("write_card") == 1
        assert not [rule for rule in not_run if rule in jobs], jobs
    finally:
        path.write_text(original)
