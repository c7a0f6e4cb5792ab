"""The job graph of a small hub of cards (issue 15): what `snakemake -n` plans, job by job.

Performance work on the rule files (inputs declared as ``rules.<rule>.output.<name>`` so that
Snakemake need not match them against every rule's outputs, include order, ...) must not
change what runs. ``dag_jobs.json`` holds the job list of one dry run over the scRNA-seq
demo card, a DNA card and a bulk RNA-seq card, recorded before those changes (each job:
its rule, inputs and outputs, with the results and card folders as placeholders); the test
makes the same dry run on the current workflow and compares. A change of the graph that is
meant (a new rule, another artifact) is recorded again with ``GENOPREP_RECORD_DAG=1``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).with_name("dag_jobs.json")

FASTA = ">s1 a\nACGTACGTACGTAACC\n>s2 b\nGGGCCCAATTGGCCAA\n>s3 a\nTTTTACGTAAACCCGG\n"
COUNTS = "gene\ts1\ts2\ts3\ts4\nA\t5\t0\t3\t8\nB\t1\t2\t0\t4\nC\t9\t7\t6\t5\n"


def write_cards(folder: Path) -> Path:
    cards = folder / "cards"
    cards.mkdir()
    (folder / "seqs.fa").write_text(FASTA, encoding="utf-8")
    (folder / "counts.tsv").write_text(COUNTS, encoding="utf-8")
    (cards / "seqs.yaml").write_text(
        "dataset_id: seqs\nname: tiny DNA\nmodality: dna\ninput:\n  path: ../seqs.fa\n", encoding="utf-8"
    )
    (cards / "expr.yaml").write_text(
        "dataset_id: expr\nname: tiny bulk\nmodality: bulk\ninput:\n  path: ../counts.tsv\n  format: tsv\n",
        encoding="utf-8",
    )
    return cards


def parse_jobs(output: str, replace: dict[str, str]) -> list[dict[str, object]]:
    """Each job of a dry run's listing: rule, sorted inputs and outputs (paths with placeholders)."""

    def files(line: str) -> list[str]:
        names = [name.strip() for name in line.split(":", 1)[1].split(",") if name.strip()]
        for old, new in replace.items():
            names = [name.replace(old, new) for name in names]
        return sorted(names)

    jobs = []
    for block in re.split(r"\n(?=(?:local)?(?:rule|checkpoint) \w+:)", output):
        head = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", block)
        if head is None:
            continue
        job: dict[str, object] = {"rule": head.group(1), "input": [], "output": []}
        for line in block.splitlines()[1:]:
            key = line.strip().split(":", 1)[0]
            if key in ("input", "output"):
                job[key] = files(line)
        jobs.append(job)
    return sorted(jobs, key=lambda job: json.dumps(job, sort_keys=True))


def dry_run_jobs(tmp_path: Path) -> list[dict[str, object]]:
    cards = write_cards(tmp_path)
    results = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--forceall",  # every job, whether or not `make run` already made the demo inputs in resources/demo
            "--cores",
            "1",
            "--config",
            f"datasets=[config/demo,{cards}]",  # relative: the demo input is made by a rule
            f"results={results}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return parse_jobs(done.stdout, {str(results): "RESULTS", str(tmp_path): "CARDS", str(REPO): "REPO"})


def test_the_dry_run_plans_the_recorded_jobs(tmp_path):
    jobs = dry_run_jobs(tmp_path)
    rules = {job["rule"] for job in jobs}
    # the parser saw every kind of job, or the comparison below proves little
    assert {"dna_ingest", "bulk_ingest", "scrna_process", "write_card", "fair_checksums", "all"} <= rules, rules
    if os.environ.get("GENOPREP_RECORD_DAG"):
        EXPECTED.write_text(json.dumps(jobs, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert len(jobs) == len(expected)
    assert jobs == expected
