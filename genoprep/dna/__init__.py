"""DNA modality: read sequences, tokenize them with published schemes, QC, write artifacts.

Modules:

* :mod:`~genoprep.dna.alphabet` — alphabets, vocabularies, byte lookup tables (the data);
* :mod:`~genoprep.dna.ingest` — FASTA / sequence-table readers, label rules, batching;
* :mod:`~genoprep.dna.tokenize` — ``char``, ``kmer_counts``, ``dnabert``,
  ``nucleotide_transformer``, ``hyenadna`` and ``kmer_tokenize``; the ``SCHEMES`` registry;
* :mod:`~genoprep.dna.qc` — per-sequence composition and dataset hazards;
* :mod:`~genoprep.dna.io` — streaming writers (Parquet, ``.npy``, ``.npz``);
* :mod:`~genoprep.dna.steps` — the workflow steps (one per rule of ``rules/dna.smk``).
"""

from .ingest import (
    DnaRecord,
    batched,
    iter_fasta_bytes,
    kmers_to_sequence,
    label_from_header,
    read_fasta,
    read_fasta_biopython,
    read_labelled_fastas,
    read_sequence_table,
    read_sequences,
)
from .io import tokens_table, write_fixed_tokens, write_kmer_counts, write_parquet, write_variable_tokens
from .qc import dataset_qc, sequence_stats
from .tokenize import (
    SCHEMES,
    RaggedTokens,
    TokenScheme,
    char_encode,
    decode,
    dnabert_encode,
    encode,
    get_scheme,
    hyenadna_encode,
    kmer_counts,
    kmer_names,
    kmer_text,
    kmer_tokenize,
    nucleotide_transformer_encode,
)

__all__ = [
    "SCHEMES",
    "DnaRecord",
    "RaggedTokens",
    "TokenScheme",
    "batched",
    "char_encode",
    "dataset_qc",
    "decode",
    "dnabert_encode",
    "encode",
    "get_scheme",
    "hyenadna_encode",
    "iter_fasta_bytes",
    "kmer_counts",
    "kmer_names",
    "kmer_text",
    "kmer_tokenize",
    "kmers_to_sequence",
    "label_from_header",
    "nucleotide_transformer_encode",
    "read_fasta",
    "read_fasta_biopython",
    "read_labelled_fastas",
    "read_sequence_table",
    "read_sequences",
    "sequence_stats",
    "tokens_table",
    "write_fixed_tokens",
    "write_kmer_counts",
    "write_parquet",
    "write_variable_tokens",
]
