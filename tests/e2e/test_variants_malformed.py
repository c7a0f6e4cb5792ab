"""The malformed-VCF catalogue of tests/unit/test_variants_malformed.py through the workflow.

One ``snakemake --keep-going`` run over a card per case (the datasets fail or succeed
independently): the run exits non-zero; each bad input gives exactly one
``genoprep: error:`` line on the terminal that names its file and problem, and its dataset
folder holds nothing but logs; each awkward-but-valid input (BOM, CRLF, ...) completes with
clean sample ids. A filter that removes most of the data stops the run with the guard's line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import leftovers, run_workflow, write_card
from tests.unit.test_variants_malformed import (
    BAD,
    COLUMNS,
    GOOD,
    GOOD_DOSAGE,
    HEADER,
    NO_FILTERS,
    Case,
    write_case,
)

#: 20 samples, 10 variants; samples S00-S15 miss half of their calls: --mind 0.1 removes 16 of 20
N_SAMPLES, N_VARIANTS, N_MISSING_SAMPLES = 20, 10, 16


def _mostly_missing() -> str:
    samples = [f"S{i:02d}" for i in range(N_SAMPLES)]
    lines = [HEADER + COLUMNS + "\t" + "\t".join(samples)]
    for v in range(N_VARIANTS):
        calls = [
            "./." if (i < N_MISSING_SAMPLES and v % 2 == 0) else ("0/1" if (i + v) % 3 else "1/1")
            for i in range(N_SAMPLES)
        ]
        lines.append("\t".join(["1", str(100 * (v + 1)), f"v{v}", "A", "G", ".", "PASS", ".", "GT", *calls]))
    return "\n".join(lines) + "\n"


GUARD = Case(
    "mostly_missing",
    "mostly_missing.vcf",
    lambda _: _mostly_missing().encode(),
    "the filters kept 4 of 20 samples (20.0%, below params.min_fraction_kept 0.5); mind "
    "(max_sample_missing 0.1: missing rate > threshold removed) removed the most: 16 of 20; "
    "missing rate per sample: median 0.5",
    card_params={"min_fraction_kept": 0.5},
)


@pytest.fixture(scope="module")
def catalogue_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("variants_malformed")
    inputs = root / "inputs"
    inputs.mkdir()
    paths = {}
    for case in [*BAD, *GOOD, GUARD]:
        paths[case.name] = write_case(case, inputs)
        params = {**(NO_FILTERS if case in GOOD else {}), **case.card_params}
        card = {
            "dataset_id": case.name,
            "name": case.name,
            "modality": "variants",
            "organism": "Homo sapiens",
            "input": {"path": str(paths[case.name]), **case.card_input},
            "params": params,
        }
        write_card(root / "cards", card)
    done = run_workflow(root / "cards", root / "out", "--keep-going", check=False)
    return done, root / "out", paths


@pytest.mark.parametrize("case", [*BAD, GUARD], ids=[c.name for c in [*BAD, GUARD]])
def test_bad_input_fails_with_one_line_and_leaves_nothing(catalogue_run, case):
    done, out, paths = catalogue_run
    assert done.returncode != 0
    path = paths[case.name]
    lines = [line for line in done.stderr.splitlines() if line.startswith("genoprep: error:") and f"{path}:" in line]
    assert len(lines) == 1, (lines, done.stderr[-3000:])
    assert lines[0].startswith(f"genoprep: error: {path}: ")
    assert case.problem in lines[0]
    assert leftovers(out / case.name) == []


@pytest.mark.parametrize("case", GOOD, ids=[c.name for c in GOOD])
def test_awkward_but_valid_input_completes_with_clean_ids(catalogue_run, case):
    _, out, _ = catalogue_run
    folder = out / case.name
    samples = pd.read_csv(folder / "samples.tsv", sep="\t", dtype=str)
    assert samples["sample_id"].tolist() == ["A", "B", "C"]
    assert np.load(folder / "dosage.npy").tolist() == GOOD_DOSAGE
    assert (folder / "card.yaml").exists()


def test_filter_summary_is_said_on_the_terminal(catalogue_run):
    done, _, _ = catalogue_run
    assert "genoprep: crlf: no filters ran" in done.stderr
    assert "genoprep: mostly_missing: kept 4 of 20 samples (mind -16)" in done.stderr
