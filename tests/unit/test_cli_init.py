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
        f"genoprep: error: {tmp_path}: a folder, but not a 10x matrix folder (no matrix.mtx) nor a Zarr store: "
        "name a file\n"
    )


def _new_format_inputs(tmp_path: Path) -> dict[str, Path]:
    """The new input formats, made from real files: Zarr, Cell Ranger .h5, .npy + id files, .npz, text, tokens."""
    import anndata as ad
    import pandas as pd

    from genoprep.dna.io import read_sequence_table
    from genoprep.dna.tokenize import char_encode
    from tests.e2e.test_scrna_formats_real import write_cellranger_h5

    made: dict[str, Path] = {}
    ad.read_h5ad(shared_data("scrna", "pbmc5k_citeseq_200cells_rawcounts_mtgenes.h5ad")).write_zarr(
        tmp_path / "pbmc5k.zarr"
    )
    made["zarr"] = tmp_path / "pbmc5k.zarr"
    made["10x_h5"] = write_cellranger_h5(
        shared_data("scrna", "pbmc_10x_v3_chr21_filtered_feature_bc_matrix"), tmp_path / "pbmc_chr21.h5"
    )
    frame = pd.read_csv(shared_data("bulk", "mov10_human_hek293_counts_genes_x_8samples.tsv"), sep="\t", index_col=0)
    (tmp_path / "npy").mkdir()
    np.save(tmp_path / "npy" / "mov10_counts.npy", frame.to_numpy().T)  # samples x genes
    (tmp_path / "npy" / "gene_ids.txt").write_text("\n".join(frame.index) + "\n", encoding="utf-8")
    (tmp_path / "npy" / "sample_ids.txt").write_text("\n".join(frame.columns) + "\n", encoding="utf-8")
    made["npy"] = tmp_path / "npy" / "mov10_counts.npy"
    np.savez(
        tmp_path / "mov10.npz",
        counts=frame.to_numpy(),
        gene_ids=frame.index.to_numpy(str),
        sample_ids=frame.columns.to_numpy(str),
    )
    made["npz"] = tmp_path / "mov10.npz"
    sequences = [r.sequence for r in read_sequence_table(shared_data("dna", "gue_prom_core_tata_dev.csv"))]
    (tmp_path / "tata.txt").write_text("\n".join(sequences) + "\n", encoding="utf-8")
    made["text"] = tmp_path / "tata.txt"
    np.save(tmp_path / "tata_char_tokens.npy", char_encode(sequences, max_len=80))
    made["tokens"] = tmp_path / "tata_char_tokens.npy"
    return made


def test_new_formats_get_cards_that_validate_and_read(tmp_path: Path) -> None:
    from genoprep.bulk.io import read_expression_array
    from genoprep.cards import check_inputs
    from genoprep.dna.io import read_entry
    from genoprep.scrna.io import read_matrix

    expected = {
        "zarr": ("scrna", "zarr"),
        "10x_h5": ("scrna", "10x_h5"),
        "npy": ("bulk", "npy"),
        "npz": ("bulk", "npz"),
        "text": ("dna", "text"),
        "tokens": ("dna", "tokens"),
    }
    for key, path in _new_format_inputs(tmp_path).items():
        card_path = tmp_path / f"{key}.yaml"
        assert main(["init", str(path), "-o", str(card_path)]) == 0
        card = load_card(card_path)
        check_inputs(card)
        spec = card.data["input"]
        assert (card.modality, spec["format"]) == expected[key], key
        if card.modality == "scrna":
            assert read_matrix(spec["path"], spec["format"]).n_obs > 0
        elif card.modality == "bulk":
            table = read_expression_array(
                spec["path"],
                spec["format"],
                orientation=spec["orientation"],
                value_type=spec["value_type"],
                gene_ids_path=spec.get("gene_ids_path"),
                sample_ids_path=spec.get("sample_ids_path"),
                arrays=spec["arrays"],
            )
            assert (len(table.samples), len(table.genes)) == (8, 23368), key
            assert table.genes[:2] == ["1/2-SBSRNA4", "A1BG"] and spec["value_type"] == "counts"
        else:
            records = list(read_entry(spec, spec["path"], card.data["columns"]))
            assert len(records) == 613 and records[0].sequence.startswith("TGCTTAAATACC"), key
    assert yaml.safe_load((tmp_path / "tokens.yaml").read_text())["input"]["tokens"]["scheme"] == "char"
