"""DNA modality: read sequences, tokenize them with published schemes, QC, write artifacts.

- :mod:`genoprep.dna.alphabet` — alphabets, vocabularies, byte lookup tables (the data);
- :mod:`genoprep.dna.io` — the readers: FASTA files, sequence tables, label rules, the
  sequence filters, batching;
- :mod:`genoprep.dna.tokenize` — ``char``, ``kmer_counts``, ``dnabert``,
  ``nucleotide_transformer``, ``hyenadna`` and ``kmer_tokenize``; the ``SCHEMES`` registry;
- :mod:`genoprep.dna.qc` — per-sequence composition and dataset hazards;
- :mod:`genoprep.dna.artifacts` — the streaming writers (Parquet, ``.npy``, ``.npz``, text);
- :mod:`genoprep.dna.options` — each step's slice of the card;
- :mod:`genoprep.dna.steps` — the workflow steps, one per rule of ``rules/dna.smk``.
"""
