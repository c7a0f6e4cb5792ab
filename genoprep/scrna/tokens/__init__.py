"""Foundation-model inputs for scRNA-seq (issue 11): Geneformer V1/V2, scGPT and the plain rank.

Each scheme is a tokenizer object built once per dataset (its vocabulary mapped onto the
dataset's genes) whose ``tokenize_chunk(csr_chunk, first_cell)`` turns a chunk of cells into
a :class:`TokenChunk` (offsets + flat int32 ids [+ values]) with compiled kernels over the
CSR arrays, and accumulates the counters of its ``summary()`` (the scheme's section of
qc.json). :class:`TokenWriter` appends the chunks to the scheme's Parquet table.

=============  =====================  ==========================  ======================
scheme         input of the chunk     artifact                    columns
=============  =====================  ==========================  ======================
``geneformer`` raw counts, all genes  ``geneformer.parquet``      input_ids, length
``scgpt``      normalize_total+log1p  ``scgpt.parquet``           genes, values, length
``rank``       raw counts, all genes  ``rank.parquet``            input_ids, length
=============  =====================  ==========================  ======================
"""

from __future__ import annotations

from genoprep.scrna.tokens.chunks import TokenChunk, TokenStats
from genoprep.scrna.tokens.geneformer import (
    VERSIONS,
    GeneformerOptions,
    GeneformerTokenizer,
    GeneformerVocabulary,
    GeneMedianAccumulator,
    derived_token_dictionary,
)
from genoprep.scrna.tokens.parquet import LABELS, TokenWriter, write_tokens
from genoprep.scrna.tokens.rank import RankOptions, RankTokenizer
from genoprep.scrna.tokens.scgpt import ScgptOptions, ScgptTokenizer, ScgptVocabulary

# scheme -> (artifact name, what its chunks hold, tokenizer class)
SCHEMES = {
    "geneformer": ("geneformer.parquet", "counts", GeneformerTokenizer),
    "scgpt": ("scgpt.parquet", "log_normalized", ScgptTokenizer),
    "rank": ("rank.parquet", "counts", RankTokenizer),
}

__all__ = [
    "LABELS",
    "SCHEMES",
    "VERSIONS",
    "GeneMedianAccumulator",
    "GeneformerOptions",
    "GeneformerTokenizer",
    "GeneformerVocabulary",
    "RankOptions",
    "RankTokenizer",
    "ScgptOptions",
    "ScgptTokenizer",
    "ScgptVocabulary",
    "TokenChunk",
    "TokenStats",
    "TokenWriter",
    "derived_token_dictionary",
    "write_tokens",
]
