"""The dataset wildcard's constraint on a modality's outputs (genoprep.cards.dataset_constraint, issue 15).

The constraint must accept exactly the modality's card ids among the run's cards, in the two
places Snakemake uses it: inside an output path's regular expression (Snakemake's own
``regex_from_filepattern``, then matched against concrete paths) and on a bare wildcard value
(``Rule.get_wildcards`` checks ``constraint.match(value)``). It is the shorter of two forms, so
both forms are exercised: a modality with few of the ids gets the ids, one with most of them
"any id but the others".
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from snakemake.io import regex_from_filepattern

from genoprep.cards import DATASET_ID, dataset_constraint, ids_regex
from tests.unit.test_dag_jobs import COUNTS, EXPECTED, FASTA, parse_jobs

REPO = Path(__file__).resolve().parents[2]

IDS = st.text(alphabet="ab.-_1", min_size=1, max_size=5).filter(lambda i: DATASET_ID.match(i) is not None)


def test_the_shorter_form_by_hand() -> None:
    # one modality only: any dataset id (no other card to refuse)
    assert dataset_constraint(["d1", "d2"], []) == "[A-Za-z0-9_-][A-Za-z0-9._-]*"
    # few of the ids: the ids themselves
    assert dataset_constraint(["a"], ["b", "c", "d"]) == "a"
    assert dataset_constraint([], ["b"]) == "(?!)"
    # most of them: refuse the others' ids, followed by the end of the path segment or the value
    many = [f"d{i:03d}" for i in range(100)]
    assert dataset_constraint(many, ["x1"]) == "(?!(?:x1)(?:/|$))[A-Za-z0-9_-][A-Za-z0-9._-]*"
    assert dataset_constraint(many, ["x1"]) != ids_regex(many)


def test_a_hub_of_mostly_one_modality_gets_a_short_pattern() -> None:
    """10,000 DNA ids among 10,010 cards: ~60 characters, not the 25 kB of the DNA ids' trie."""
    dna = [f"d{i:05d}" for i in range(10_000)]
    scrna = [f"pbmc{i}" for i in range(10)]
    assert len(ids_regex(dna)) > 20_000
    assert len(dataset_constraint(dna, scrna)) < 120
    assert dataset_constraint(scrna, dna) == ids_regex(scrna)


@settings(max_examples=300, deadline=None)
@given(cards=st.sets(IDS, max_size=14), data=st.data())
def test_the_constraint_accepts_exactly_the_modalitys_ids(cards: set[str], data: st.DataObject) -> None:
    ids = data.draw(st.sets(st.sampled_from(sorted(cards))) if cards else st.just(set()))
    others = cards - ids
    constraint = dataset_constraint(ids, others)
    path = re.compile(regex_from_filepattern(f"out/{{dataset,{constraint}}}/qc.json"))
    value = re.compile(constraint)
    for dataset_id in sorted(cards):
        matched = path.match(f"out/{dataset_id}/qc.json")
        assert (matched is not None) == (dataset_id in ids), (sorted(ids), sorted(others), dataset_id, constraint)
        if matched is not None:
            assert matched.group("dataset") == dataset_id
        if dataset_id in others:  # a bare wildcard value of another modality's card is refused
            assert value.match(dataset_id) is None or value.match(dataset_id).end() < len(dataset_id)
    # never the hidden work folder, nor a path deeper than one segment
    assert path.match("out/.work/qc.json") is None
    assert all(path.match(f"out/{i}/x/qc.json") is None for i in cards)


def test_a_hub_of_mostly_dna_plans_each_dna_card_as_the_recorded_one(tmp_path: Path) -> None:
    """Eight DNA cards and a bulk card: the DNA outputs take the "any id but the others" form,
    and each dataset's jobs (rule, inputs, outputs) are those recorded for the DNA card
    ``seqs`` and the bulk card ``expr`` in tests/unit/dag_jobs.json (ids put back)."""
    dna_ids = [
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
        "foxtrot",
        "golf",
        "expression",
    ]  # "expression" starts with the bulk id
    assert dataset_constraint(dna_ids, ["expr"]).startswith("(?!")  # the form this test is about
    cards = tmp_path / "cards"
    cards.mkdir()
    (tmp_path / "seqs.fa").write_text(FASTA, encoding="utf-8")
    (tmp_path / "counts.tsv").write_text(COUNTS, encoding="utf-8")
    for dataset_id in dna_ids:
        (cards / f"{dataset_id}.yaml").write_text(
            f"dataset_id: {dataset_id}\nname: tiny DNA\nmodality: dna\ninput:\n  path: ../seqs.fa\n", encoding="utf-8"
        )
    (cards / "expr.yaml").write_text(
        "dataset_id: expr\nname: tiny bulk\nmodality: bulk\ninput:\n  path: ../counts.tsv\n  format: tsv\n",
        encoding="utf-8",
    )
    results = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--forceall", "--cores", "1", "--config", f"datasets={cards}"]
        + [f"results={results}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = parse_jobs(done.stdout, {str(results): "RESULTS", str(tmp_path): "CARDS"})
    recorded = json.loads(EXPECTED.read_text(encoding="utf-8"))

    def of_dataset(job_list: list[dict], dataset_id: str) -> list[str]:
        mine = re.compile(rf"^RESULTS/(?:\.work/)?{re.escape(dataset_id)}/")
        return sorted(json.dumps(job, sort_keys=True) for job in job_list if any(mine.match(f) for f in job["output"]))

    expected_dna = of_dataset(recorded, "seqs")
    assert expected_dna and any('"dna_ingest"' in job for job in expected_dna)
    for dataset_id in dna_ids:
        renamed = [
            json.loads(
                json.dumps(job)
                .replace(f"/{dataset_id}/", "/seqs/")
                .replace(f"CARDS/cards/{dataset_id}.yaml", "CARDS/cards/seqs.yaml")
            )
            for job in jobs
        ]
        assert of_dataset(renamed, "seqs") == expected_dna, dataset_id
    assert of_dataset(jobs, "expr") == of_dataset(recorded, "expr")
    assert len(jobs) == len(dna_ids) * len(expected_dna) + len(of_dataset(recorded, "expr")) + 1  # and rule all
