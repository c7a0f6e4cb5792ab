"""What the scRNA-seq token tests (unit and e2e) load and build, in one place.

The tests' own reading of the real Geneformer V1 pickles (a plain restricted unpickler, not
genoprep's), the V2-shaped dictionary built from a V1 one, Geneformer options without files,
and the real 10x chr21 matrix with its per-cell rows.
"""

from __future__ import annotations

import pickle

import numpy as np
from scipy import sparse

from genoprep.scrna.tokens import GeneformerOptions
from tests.conftest import shared_data
from tests.unit.test_scrna_tokens_reference import csr_rows

CHR21 = "pbmc_10x_v3_chr21_filtered_feature_bc_matrix"


class _Plain(pickle.Unpickler):
    """The tests' own reading of the trusted shared pickles (numpy scalars only)."""

    def find_class(self, module, name):
        assert (module, name) in {
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy", "dtype"),
        }, (module, name)
        return super().find_class(module.replace("numpy.core", "numpy._core"), name)


def v1_pickle(name: str) -> dict:
    """One of the real Geneformer V1 dictionaries (``../shared/data/geneformer_v1/<name>``) as plain values."""
    with open(shared_data("geneformer_v1", name), "rb") as handle:
        return {k: (v.item() if hasattr(v, "item") else v) for k, v in _Plain(handle).load().items()}


def v2_from_v1(tokens: dict[str, int]) -> dict[str, int]:
    """A V2-shaped dictionary from a V1 one: <pad> <mask> <cls> <eos> at 0-3, the genes shifted by 2."""
    genes = {gene: token + 2 for gene, token in tokens.items() if not gene.startswith("<")}
    return {"<pad>": 0, "<mask>": 1, "<cls>": 2, "<eos>": 3, **genes}


def geneformer_options(version="v1", size=None, specials=None, **files) -> GeneformerOptions:
    """Geneformer options; dictionary paths only where given (``token_dictionary=...``)."""
    fields = ("token_dictionary", "gene_median_dictionary", "gene_name_id_dictionary")
    return GeneformerOptions(
        version=version, model_input_size=size, special_tokens=specials, **{f: files.get(f) for f in fields}
    )


def read_chr21() -> tuple[object, sparse.csr_matrix, list]:
    """The real 10x chr21 matrix read by scanpy (Ensembl ids as names): (adata, float32 CSR counts, rows)."""
    import scanpy as sc  # (slow to import: only the real-data tests need it)

    adata = sc.read_10x_mtx(shared_data("scrna", CHR21), var_names="gene_ids")
    counts = sparse.csr_matrix(adata.X, dtype=np.float32)
    return adata, counts, csr_rows(counts)
