"""`snakemake --report` on real-data cards: every figure of every dataset is in the archive,
under its category and dataset, with the bytes the run wrote; the figures draw the artifacts.

One run of two small real datasets: DNA (94 orchid ITS sequences, genus from the FASTA header
by label_regex, char and DNABERT tokens) and variants (the NYGC 30x chr22 VCF, 100 samples).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import artifact_bytes, run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e

FIGURES = {
    "orchids": ("DNA", ["report_dna_sequences.png", "report_dna_tokens.png"]),
    "kg22": ("Variants", ["report_variants_qc.png", "report_variants_filters.png"]),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("report")
    cards = base / "cards"
    write_card(
        cards,
        {
            "dataset_id": "orchids",
            "name": "Lady slipper orchid ITS",
            "modality": "dna",
            "input": {
                "path": str(shared_data("dna", "lady_slipper_orchids_its_94seqs_genus_labels.fasta")),
                "label_regex": r"^\S+ ([A-Z])\.",
            },
            "license": "CC-BY-4.0",
            "params": {"tokenizers": ["char", "dnabert"]},
        },
    )
    write_card(
        cards,
        {
            "dataset_id": "kg22",
            "name": "1000 Genomes NYGC 30x chr22",
            "modality": "variants",
            "input": {"path": str(shared_data("vcf", "1kg_nygc30x_grch38_chr22_100samples_100variants.vcf.gz"))},
            "license": "CC0-1.0",
            # 84 of its 100 samples miss > 10 % of these genotypes: the figure shows that filter at work
            "params": {"min_fraction_kept": {"samples": 0.1}},
        },
    )
    run_workflow(cards, base / "out")
    return cards, base / "out"


def embedded(html: str, name: str) -> dict:
    """The JSON object Snakemake's report embeds as ``var <name> = {...};``."""
    match = re.search(rf'<script id="{name}">\s*var {name} = (\{{.*?\}});\s*</script>', html, re.DOTALL)
    assert match, f"no {name} in the report"
    return json.loads(match.group(1))


def test_report_archive_holds_every_figure_of_every_dataset(run: tuple[Path, Path], tmp_path: Path) -> None:
    cards, out = run
    archive = tmp_path / "report.zip"
    run_workflow(cards, out, "--report", str(archive))
    with zipfile.ZipFile(archive) as zipped:
        members = set(zipped.namelist())
        html = zipped.read("report/report.html").decode("utf-8")
        results, categories = embedded(html, "results"), embedded(html, "categories")
        expected = {
            (category, dataset, str(out / dataset / name))
            for dataset, (category, names) in FIGURES.items()
            for name in names
        } | {
            ("Run summary", dataset, str(out / ".work" / dataset / "report" / "run_summary.png")) for dataset in FIGURES
        }
        tables = {
            ("Completed cards", dataset, str(out / ".work" / dataset / "report" / "card.html")) for dataset in FIGURES
        }
        listed = {
            (category, dataset, path)
            for category, by_dataset in categories.items()
            for dataset, paths in by_dataset.items()
            for path in paths
        }
        assert listed == expected | tables
        for _, dataset, path in sorted(tables):  # the completed card as a table: every checksum it lists
            page = zipped.read("report/" + results[path]["data_uri"]).decode("utf-8")
            card = yaml.safe_load((out / dataset / "card.yaml").read_text())
            for key in ("artifacts_sha256", "figures_sha256"):
                for name, digest in card["computed"][key].items():
                    assert f"<code>computed.{key}.{name}</code></td><td>{digest}<" in page
        for _, dataset, path in sorted(expected):
            entry = results[path]
            assert entry["job_properties"]["wildcards"] == f"dataset={dataset}"
            assert f"<strong>{dataset}</strong>" in entry["caption"]  # the caption names its dataset
            member = "report/" + entry["data_uri"]
            assert member in members
            data = zipped.read(member)
            assert data == Path(path).read_bytes()  # the figure the run drew, not a placeholder
            image = matplotlib.image.imread(io.BytesIO(data), format="png")
            assert image.shape[0] > 200 and image.shape[1] > 600
            assert image[..., :3].std() > 0.05  # something drawn, not a blank canvas
    # the deterministic figures are checksummed by the completed card (every file of the folder);
    # the run summary (benchmark timings) is outside the dataset folder and the card never lists it
    for dataset, (_, names) in FIGURES.items():
        card = (out / dataset / "card.yaml").read_text()
        for name in names:
            assert f"{name}: {hashlib.sha256((out / dataset / name).read_bytes()).hexdigest()}" in card
        assert not (out / dataset / "run_summary.png").exists()
        assert "run_summary" not in (out / dataset / "card.yaml").read_text()


def test_figures_are_redrawn_with_the_same_bytes_and_the_card_is_unchanged(run: tuple[Path, Path]) -> None:
    cards, out = run
    before = {dataset: artifact_bytes(out / dataset) for dataset in FIGURES}
    rules = ["report_dna_sequences", "report_dna_tokens", "report_variants_qc", "report_variants_filters"]
    done = run_workflow(cards, out, "--forcerun", *rules)
    for rule in rules:
        assert f"rule {rule}:" in done.stdout + done.stderr
    for dataset in FIGURES:
        assert artifact_bytes(out / dataset) == before[dataset]


def test_dna_figures_draw_the_artifacts(run: tuple[Path, Path]) -> None:
    _, out = run
    card = yaml.safe_load((out / "orchids" / "card.yaml").read_text())
    obs = pd.read_csv(out / "orchids" / "obs.tsv", sep="\t", keep_default_na=False)
    assert obs["label"].value_counts().to_dict() == {"P": 76, "C": 17, "M": 1}
    # the token files hold what the token-length figure counts: char rows are max_len (512) wide
    # and every ITS sequence is longer, DNABERT has L - 6 + 1 k-mers + [CLS] + [SEP]
    from genoprep.report.dna import token_lengths

    char = token_lengths(out / "orchids" / "tokens_char.npy", "char", card["params"]["char"])
    assert (char == np.minimum(obs["length"].to_numpy(), card["params"]["char"]["max_len"])).all()
    dnabert = token_lengths(out / "orchids" / "tokens_dnabert.parquet", "dnabert", card["params"]["dnabert"])
    assert (dnabert == obs["length"].to_numpy() - card["params"]["dnabert"]["k"] + 1 + 2).all()


def test_long_loops_log_their_progress(run: tuple[Path, Path]) -> None:
    """The token and VCF loops write progress lines (items, rate, and the total at the end) into
    their rules' logs; the counts are the artifacts' own."""
    _, out = run
    n_sequences = len(pd.read_csv(out / "orchids" / "obs.tsv", sep="\t"))
    for scheme in ("char", "dnabert"):
        log = (out / "orchids" / "logs" / f"dna_tokens_{scheme}.log").read_text()
        assert re.search(rf"{scheme} tokens: done, {n_sequences} sequences in \d+ s \([\d,.]+ sequences/s\)", log), log
    logs = "".join(p.read_text() for p in (out / "kg22" / "logs").glob("variants_*.log"))
    vcf = "1kg_nygc30x_grch38_chr22_100samples_100variants.vcf.gz"
    assert re.search(rf"reading {re.escape(vcf)}: done, [\d,]+ bytes of VCF text in \d+ s", logs), logs
