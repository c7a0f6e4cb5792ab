"""genoprep init on every real input of ../shared/data: a card that validates, with the data's own evidence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from genoprep.cards import load_card
from genoprep.cli import main
from tests.conftest import shared_data

INPUTS = [
    ("scrna", "cellbench_dropseq_3celllines_counts_genes_x_cells.csv.gz"),
    ("scrna", "linnarsson_mouse_drg_20x20_example.loom"),
    ("scrna", "onek1k_pbmc_7811cells_40donors_4celltypes_rawcounts.h5ad"),
    ("scrna", "pbmc4k_10x_v2_soupx_toy_filtered"),
    ("scrna", "pbmc5k_citeseq_200cells_rawcounts_mtgenes.h5ad"),
    ("scrna", "pbmc68k_reduced_700cells_rawcounts_celltype_labels.h5ad"),
    ("scrna", "pbmc68k_reduced_scanpy2018_scaled_notcounts.h5ad"),
    ("scrna", "pbmc_10x_v3_chr21_filtered_feature_bc_matrix"),
    ("scrna", "starmap_mouse_mpfc_3704cells_celltypes.loom"),
    ("bulk", "gse96870_mouse_cerebellum_counts_genes_x_22samples.csv"),
    ("bulk", "mouse_12samples_rpkm_genes_x_samples.csv"),
    ("bulk", "mov10_human_hek293_counts_genes_x_8samples.tsv"),
    ("dna", "dnabert_sample_ft_dev_1000seqs_6mer_binary_labels.tsv"),
    ("dna", "ecoli_sigma_promoters_81bp_positive_2860.fasta"),
    ("dna", "gue_prom_core_tata_train.csv"),
    ("dna", "lady_slipper_orchids_its_94seqs_genus_labels.fasta"),
    ("vcf", "1kg_beagle_imputed_chr20_14samples_987variants.vcf"),
    ("vcf", "1kg_nygc30x_grch38_chr22_100samples_100variants.vcf.gz"),
    ("vcf", "1kg_phase3_chr21_2504samples_600variants_phased.vcf.gz"),
    ("variant_effect", "clinvar_mt_snv_20220525_labels.vcf"),
]
MODALITY = {"scrna": "scrna", "bulk": "bulk", "dna": "dna", "vcf": "variants", "variant_effect": "variants"}


def draft(tmp_path: Path, folder: str, name: str) -> tuple[Path, dict, str]:
    card = tmp_path / f"{name.split('.')[0]}.yaml"
    assert main(["init", str(shared_data(folder, name)), "-o", str(card)]) == 0
    text = card.read_text()
    return card, yaml.safe_load(text), text


@pytest.mark.parametrize(("folder", "name"), INPUTS, ids=[n for _, n in INPUTS])
def test_every_real_input_gets_a_valid_card_of_its_modality(tmp_path: Path, folder: str, name: str) -> None:
    card, _, _ = draft(tmp_path, folder, name)
    loaded = load_card(card)  # the workflow's own checks
    assert loaded.modality == MODALITY[folder]
    assert loaded.input_paths() == [shared_data(folder, name)]


def test_targeted_panel_gets_thresholds_from_its_own_distribution(tmp_path: Path) -> None:
    import h5py

    _, data, text = draft(tmp_path, "scrna", "starmap_mouse_mpfc_3704cells_celltypes.loom")
    with h5py.File(shared_data("scrna", "starmap_mouse_mpfc_3704cells_celltypes.loom")) as loom:
        matrix = loom["matrix"][:]  # loom: genes x cells, read here with h5py alone
    genes_per_cell = (matrix > 0).sum(axis=0)
    assert data["params"]["min_genes"] == int(np.floor(np.percentile(genes_per_cell, 5))) < 200
    assert data["params"]["n_top_genes"] == ((matrix > 0).sum(axis=1) >= 3).sum() // 2
    assert data["params"]["max_genes"] is None
    assert (
        f"# genes per cell: 5th percentile {np.percentile(genes_per_cell, 5):.4g}, median "
        f"{np.median(genes_per_cell):.4g}" in text
    )
    assert data["columns"]["cell_type"] == "Clusters"


def test_table_orientation_metadata_and_organism_from_the_ids(tmp_path: Path) -> None:
    _, data, text = draft(tmp_path, "scrna", "cellbench_dropseq_3celllines_counts_genes_x_cells.csv.gz")
    assert data["input"]["orientation"] == "genes_x_cells"
    assert "# orientation: genes_x_cells: the first column holds Ensembl gene ids" in text
    assert data["metadata"]["path"] == str(shared_data("scrna", "cellbench_dropseq_3celllines_metadata.csv.gz"))
    assert data["columns"] == {"cell_type": "cell_line"} and data["organism"] == "Homo sapiens"

    _, data, _ = draft(tmp_path, "bulk", "gse96870_mouse_cerebellum_counts_genes_x_22samples.csv")
    assert (data["input"]["value_type"], data["organism"]) == ("counts", "Mus musculus")
    assert data["metadata"]["path"] == str(shared_data("bulk", "gse96870_mouse_cerebellum_sample_metadata.csv"))
    _, data, _ = draft(tmp_path, "bulk", "mouse_12samples_rpkm_genes_x_samples.csv")
    assert data["input"]["value_type"] == "rpkm"


def test_what_needs_a_human_is_marked(tmp_path: Path) -> None:
    _, _, text = draft(tmp_path, "scrna", "pbmc68k_reduced_scanpy2018_scaled_notcounts.h5ad")
    assert "# CHECK: the values are not raw counts" in text
    _, _, text = draft(tmp_path, "dna", "ecoli_sigma_promoters_81bp_positive_2860.fasta")
    assert "# CHECK: labels: a FASTA file has none by itself" in text
    _, data, _ = draft(tmp_path, "vcf", "1kg_nygc30x_grch38_chr22_100samples_100variants.vcf.gz")
    assert data["organism"] == "Homo sapiens"


def test_a_folder_that_is_not_10x_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["init", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"genoprep: error: {tmp_path}: a folder, but not a 10x matrix folder (no matrix.mtx): name a file\n"
    )
