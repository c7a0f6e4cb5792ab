"""Each variants rule gets only its slice of the card, so an edit reruns only what it changes.

A completed run, then ``snakemake -n`` after editing the card: a new ``description``
schedules only ``write_card``; a new ``min_maf`` schedules ``variants_gather`` (and the
card) but not the plan or the chunk jobs; a new ``records_per_chunk`` replans.
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
    table = text[text.index("Job stats:"):]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


@pytest.fixture(scope="module")
def completed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("variants_params")
    vcf = write_vcf(root / "p.vcf", [f"S{i}" for i in range(8)], _random_records(np.random.default_rng(4), 8, 40))
    card = {"dataset_id": "tiny", "name": "tiny", "modality": "variants", "organism": "Homo sapiens",
            "description": "first", "input": {"path": str(vcf)},
            "params": {"records_per_chunk": 15, "max_sample_missing": None, "max_variant_missing": None,
                       "min_fraction_kept": None}}
    path = write_card(root / "cards", card)
    run_workflow(root / "cards", root / "out")
    return path, root


def _edit(path: Path, change) -> str:
    card = yaml.safe_load(path.read_text())
    original = yaml.safe_dump(card, sort_keys=False)
    change(card)
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    return original


@pytest.mark.parametrize("edit, expected", [
    (lambda c: c.update(description="second"), {"write_card": 1}),
    (lambda c: c["params"].update(min_maf=0.2), {"variants_gather": 1, "write_card": 1}),
    (lambda c: c["params"].update(records_per_chunk=7), {"variants_plan": 1}),
], ids=["description", "min_maf", "records_per_chunk"])
def test_an_edit_reruns_only_the_steps_that_read_it(completed, edit, expected):
    path, root = completed
    original = _edit(path, edit)
    try:
        done = run_workflow(root / "cards", root / "out", "-n")
        jobs = scheduled(done)
        if "variants_plan" in expected:  # the chunk jobs are known only after the checkpoint reruns
            assert jobs.get("variants_plan") == 1 and jobs.get("variants_chunk", 0) == 0, jobs
        else:
            assert jobs == {**expected, **({"all": 1} if "all" in jobs else {})}, done.stdout[-2000:]
    finally:
        path.write_text(original)
