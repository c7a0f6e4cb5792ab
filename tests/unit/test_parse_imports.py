"""What parsing the workflow imports: no heavy library (issue 15, `snakemake -n` over many cards).

Every `snakemake` command, a dry run over a hub of cards included, parses the Snakefile and
rules/*.smk; a library imported there (numba ~1.1 s, Biopython ~0.6 s, anndata, h5py) is
paid by every run whatever its cards. The workflow imports them where they are used: in
the scripts, or on the first job that needs them (rules/common.smk's _ImportOnCall and
options_of with a "module:Class" name).

The test runs, in a fresh interpreter, the top-level import statements of every workflow file
(found by the same rule a reader would use: lines starting with ``import``/``from`` at column
0, with their parenthesised continuation), then what a DNA card needs to build its jobs (its
artifact names and step options), and lists the heavy modules that got imported.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# pandas and pyarrow are not listed: genoprep.tasks.steps (the task bundles, whose artifact names every
# card's job graph needs) imports pandas, and Snakemake itself imports both. scipy is (0.2-0.7 s): the
# task modules import it where a bundle or baseline is made
HEAVY = ("numba", "Bio", "anndata", "h5py", "scipy", "sklearn", "matplotlib", "torch", "numcodecs", "zarr")


def workflow_imports() -> list[str]:
    """The top-level import statements of the Snakefile and rules/*.smk."""
    files = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]
    statements = []
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            if re.match(r"(import|from)\s", line) and not line.startswith("from snakemake"):
                statement = [line.split("#")[0].rstrip()]
                while statement[-1].endswith("(") or (statement[0].count("(") > "".join(statement).count(")")):
                    i += 1
                    statement.append(lines[i].split("#")[0].rstrip())
                statements.append("\n".join(statement))
            i += 1
    return statements


def test_workflow_files_import_statements_are_found():
    statements = workflow_imports()
    # the ones the workflow is known to rely on: the finder must see them, or the test below proves nothing
    joined = "\n".join(statements)
    assert "genoprep.cards" in joined
    assert "genoprep.dna.options" in joined
    assert "genoprep.tasks.params" in joined  # a parenthesised, multi-line import in rules/scrna.smk
    assert all(s.count("(") == s.count(")") for s in statements)


def test_parsing_the_workflow_imports_no_heavy_library(tmp_path):
    (tmp_path / "seqs.fa").write_text(">s1\nACGT\n", encoding="utf-8")
    card = tmp_path / "d1.yaml"
    card.write_text("dataset_id: d1\nname: tiny\nmodality: dna\ninput:\n  path: seqs.fa\n", encoding="utf-8")
    probe = "\n".join(
        [
            "import json, sys",
            *workflow_imports(),
            "from genoprep.cards import load_card",
            "import genoprep.dna.options as dna_options",
            f"card = load_card({str(card)!r})",
            # what the DNA rules compute per dataset when Snakemake builds the jobs
            "names = dna_options.artifact_names(card)",
            "assert names, names",
            "for options in (dna_options.IngestOptions, dna_options.FactsOptions):",
            "    options.from_card(card.data).as_params()",
            "dna_options.SchemeOptions.from_card(card.data, 'kmer_counts').as_params()",
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, env={"PYTHONPATH": str(REPO)}
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []
