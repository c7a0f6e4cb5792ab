"""The DNA workflow steps: a card's inputs -> QC tables -> one artifact per tokenization scheme.

Each function here is one rule of ``rules/dna.smk``, named after it (``dna_ingest`` ->
:func:`ingest`); its script in ``scripts/`` only reads Snakemake's inputs and calls it with
the step's options (:mod:`genoprep.dna.options`). Every step reads the card's input files
itself, streaming (:func:`genoprep.dna.io.read_inputs`): records are never all in memory,
and no genome-sized intermediate file is written. ``dna_ingest`` runs first and validates
everything (sequences, labels, ids, checksums, the filters' guard); the token steps wait
for its ``qc.json``, so a bad input stops the run with one error line before any token
file is written.

Artifacts per dataset (:func:`genoprep.dna.options.artifact_names`): ``obs.tsv``,
``qc.json`` and, per scheme of ``params.tokenizers``, what its registry entry
(:data:`genoprep.dna.tokenize.SCHEMES`) names:

============================  ==========================================================
``char``, ``hyenadna``        ``tokens_<scheme>.npy`` (int32, sequences x max_len)
``dnabert``,                  ``tokens_<scheme>.parquet`` (id, label, length, input_ids)
``nucleotide_transformer``
``kmer_counts``               ``kmers_k<k>.npz`` (scipy CSR, int32) + ``kmers_k<k>.tsv``
``kmer_tokenize``             ``tokens_kmer_tokenize.tsv`` (sequence = k-mer text, label, id)
============================  ==========================================================

Rows of every artifact are the records kept by the filters, in input order (inputs in card
order, then file order), the same order as ``obs.tsv``.
"""

from __future__ import annotations

import csv
import json
import platform
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from genoprep.dna import artifacts
from genoprep.dna.alphabet import IUPAC_NUCLEOTIDES
from genoprep.dna.io import PIECE_BASES, DnaRecord, Piece, read_inputs, read_pieces
from genoprep.dna.options import FactsOptions, IngestOptions, SchemeOptions, window_size, window_stride
from genoprep.dna.qc import Summary, summarize_pieces, summary_qc
from genoprep.dna.tokenize import get_scheme
from genoprep.dna.windows import record_ends, record_windows
from genoprep.errors import InputError
from genoprep.filters import FilterStep, describe, guard, summary_line
from genoprep.jsonio import write_json
from genoprep.provenance import software_versions, verify_sha256
from genoprep.runtime import console
from genoprep.textio import check_readable

SOFTWARE = ("numpy", "scipy", "pyarrow", "biopython", "regex")
OBS_COLUMNS = ("id", "label", "length", "gc", "n_fraction")
_EXAMPLES = 3

StrPath = str | Path


# ----------------------------------------------------------------- rule dna_ingest


def _tsv_writer(handle: Any) -> Any:
    return csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)


class _FilterCounts:
    """What the sequence filters saw: every record's length and n_fraction, and what each removed."""

    def __init__(self, options: IngestOptions) -> None:
        self.keep = options.keep
        self.lengths: list[int] = []
        self.n_fractions: list[float] = []
        self.after_length = 0
        self.after_n = 0

    def passes(self, length: int, n_other: int) -> bool:
        self.lengths.append(length)
        self.n_fractions.append(n_other / length)
        if not self.keep.passes_length(length):
            return False
        self.after_length += 1
        if not self.keep.passes_n(n_other, length):
            return False
        self.after_n += 1
        return True

    def steps(self) -> list[FilterStep]:
        before = len(self.lengths)
        return [
            FilterStep(
                "min_length",
                "sequences",
                before,
                self.after_length,
                f"length >= {self.keep.min_length}",
                describe(self.lengths, "sequence length"),
            ),
            FilterStep(
                "max_n_fraction",
                "sequences",
                self.after_length,
                self.after_n,
                f"n_fraction <= {self.keep.max_n_fraction:g}",
                describe(self.n_fractions, "n_fraction"),
            ),
        ]


def ingest(
    options: IngestOptions,
    paths: Sequence[StrPath],
    obs_path: StrPath,
    qc_path: StrPath,
    *,
    piece_bases: int = PIECE_BASES,
) -> dict[str, Any]:
    """Rule ``dna_ingest``: check every input, filter, write ``obs.tsv`` and ``qc.json`` in one pass.

    Records are read in pieces (:func:`genoprep.dna.io.read_pieces`; memory bounded by
    ``piece_bases``, which changes nothing in the outputs).

    ``obs.tsv`` has one row per kept sequence: id, label (empty when unlabelled), length,
    gc (GC fraction of the A/C/G/T bases, empty when there are none) and n_fraction (share
    of letters that are not A/C/G/T). ``qc.json`` is :func:`genoprep.dna.qc.dataset_qc` of
    the kept sequences plus the input files with their record counts and the filters.
    Record ids must be unique across the inputs. What the filters removed is said on the
    terminal; fewer than ``min_fraction_kept`` of the sequences kept stops the run.
    """
    for expected, path in zip(options.sha256, paths, strict=True):
        check_readable(path)
        if expected is not None:  # the completed card records every input's digest (write_card)
            verify_sha256(path, expected)
    per_file: list[dict[str, Any]] = []
    counts = _FilterCounts(options)
    seen: dict[str, tuple[str, int]] = {}
    with open(obs_path, "w", encoding="utf-8", newline="") as handle:
        writer = _tsv_writer(handle)
        writer.writerow(OBS_COLUMNS)

        def observe(record: DnaRecord, stats: dict[str, Any]) -> None:
            gc = stats["gc_fraction"]
            writer.writerow(
                (
                    record.id,
                    "" if record.label is None else record.label,
                    stats["length"],
                    "" if gc is None else repr(gc),
                    repr(stats["n_fraction"]),
                )
            )

        def kept() -> Iterator[Summary]:
            # records in pieces: a chromosome is summarised (composition, digest) one piece at a time
            for entry, path in zip(options.inputs, paths, strict=True):
                per_file.append({"file": Path(path).name, "label": entry.get("label"), "n_sequences": 0})
                pieces = read_pieces([entry], [path], options.columns, None, piece_bases)
                for summary in summarize_pieces(pieces):
                    record = summary.record
                    per_file[-1]["n_sequences"] += 1
                    where = (str(path), record.number)
                    if record.id in seen:
                        first_file, first_number = seen[record.id]
                        raise InputError(
                            str(path),
                            f"duplicate id {record.id!r} (first seen as record "
                            f"{first_number} of {first_file}); ids must be unique",
                            f"record {record.number}",
                        )
                    seen[record.id] = where
                    if counts.passes(record.bases, summary.n_other):
                        yield summary

        qc = summary_qc(kept(), observe=observe)
    steps = counts.steps()
    console(summary_line(options.dataset_id, steps))
    source = ", ".join(str(p) for p in paths)
    guard(source, steps, "sequences", options.min_fraction_kept)
    if qc["n_sequences"] == 0:
        raise InputError(
            source, "the filters removed every sequence (params.min_length, params.max_n_fraction)", record="filters"
        )
    report = {
        "inputs": per_file,
        "filters": [{"name": s.name, "rule": s.threshold, "before": s.before, "after": s.after} for s in steps],
        **qc,
    }
    write_json(report, qc_path)
    return report


# ----------------------------------------------------------------- token rules


def _records(options: SchemeOptions, paths: Sequence[StrPath], *, as_bytes: bool = True) -> Iterator[DnaRecord]:
    return read_inputs(options.inputs, paths, options.columns, options.keep, as_bytes=as_bytes)


def _pieces(options: SchemeOptions, paths: Sequence[StrPath], piece_bases: int) -> Iterator[Piece]:
    return read_pieces(options.inputs, paths, options.columns, options.keep, piece_bases)


def _windows(options: SchemeOptions, paths: Sequence[StrPath], piece_bases: int) -> Iterator[DnaRecord] | None:
    """The window rows of the scheme's ``window``/``stride`` settings, or None without windows."""
    size = window_size(options.scheme, options.settings)
    if size is None:
        return None
    stride = window_stride(options.scheme, options.settings)
    assert stride is not None
    return record_windows(_pieces(options, paths, piece_bases), size, stride)


def tokens_fixed(
    options: SchemeOptions, paths: Sequence[StrPath], out_path: StrPath, *, piece_bases: int = PIECE_BASES
) -> dict[str, Any]:
    """Rule ``dna_tokens_fixed``: ``tokens_<scheme>.npy`` of a fixed-length scheme, streamed.

    Records are read in pieces (:func:`genoprep.dna.io.read_pieces`): a row holds a window of
    a record (``stride`` set) or the ``max_len`` bases the scheme keeps of it, so no record is
    ever held whole; ``piece_bases`` changes nothing in the artifact.
    """
    rows = _windows(options, paths, piece_bases)
    if rows is None:
        width = get_scheme(options.scheme).usable_length(options.settings)
        rows = record_ends(_pieces(options, paths, piece_bases), width, options.settings["truncation"])
    return artifacts.write_fixed_tokens(rows, out_path, options.scheme, options.settings)


def tokens_variable(
    options: SchemeOptions, paths: Sequence[StrPath], out_path: StrPath, *, piece_bases: int = PIECE_BASES
) -> dict[str, Any]:
    """Rule ``dna_tokens_variable``: ``tokens_<scheme>.parquet`` of a variable-length scheme, streamed.

    With ``window`` set the rows are windows read in pieces (memory bounded by the window);
    without, one row per whole record.
    """
    rows = _windows(options, paths, piece_bases)
    if rows is None:
        rows = _records(options, paths)
    return artifacts.write_variable_tokens(rows, out_path, options.scheme, options.settings)


def kmer_counts(
    options: SchemeOptions,
    paths: Sequence[StrPath],
    npz_path: StrPath,
    names_path: StrPath,
    *,
    piece_bases: int = PIECE_BASES,
) -> dict[str, Any]:
    """Rule ``dna_kmer_counts``: the sequences x k-mers CSR matrix and its column names.

    Records are read in pieces and counted with k-1 bases of overlap, so a chromosome is
    counted in memory bounded by the piece size; ``piece_bases`` changes nothing in the artifact.
    """
    summary = artifacts.write_kmer_count_pieces(_pieces(options, paths, piece_bases), npz_path, options.settings)
    artifacts.write_kmer_names(names_path, options.settings)
    return summary


def kmer_text(options: SchemeOptions, paths: Sequence[StrPath], out_path: StrPath) -> int:
    """Rule ``dna_kmer_text``: the spec's ``kmer_tokenize`` as text, one sequence per row.

    Columns ``sequence`` (the upper-cased sequence's k-mers joined by spaces: DNABERT's input
    format), ``label`` and ``id``; DNABERT's data processors read the first two columns.
    """
    return artifacts.write_kmer_text(_records(options, paths, as_bytes=False), out_path, options.settings)


# ----------------------------------------------------------------- rule dna_facts


def facts(options: FactsOptions, qc_path: StrPath, artifact_paths: Sequence[StrPath]) -> dict[str, Any]:
    """Rule ``dna_facts``: what the completed card records, read back from the artifacts."""
    qc = json.loads(Path(qc_path).read_text(encoding="utf-8"))
    by_name = {Path(p).name: Path(p) for p in artifact_paths}
    tokenizers: dict[str, Any] = {}
    for name, settings in options.schemes.items():
        scheme = get_scheme(name)
        files = scheme.artifacts(settings)
        entry: dict[str, Any] = {"params": dict(settings), "artifact": files[0]}
        if scheme.kind == "fixed":
            shape = np.load(by_name[files[0]], mmap_mode="r").shape
            lengths = np.asarray(_obs_lengths(by_name["obs.tsv"]))
            windowed = window_size(name, settings) is not None
            entry.update(
                shape=list(shape),
                vocab_size=len(scheme.vocabulary(**settings)),
                n_truncated=0 if windowed else int((lengths > scheme.usable_length(settings)).sum()),
            )
            if windowed:
                entry["n_windows"] = int(shape[0])
        elif scheme.kind == "variable":
            n_tokens = 0
            parquet = pq.ParquetFile(by_name[files[0]])
            for batch in parquet.iter_batches(columns=["input_ids"]):
                n_tokens += int(pc.sum(pc.list_value_length(batch.column(0))).as_py() or 0)
            entry.update(
                n_sequences=parquet.metadata.num_rows, n_tokens=n_tokens, vocab_size=len(scheme.vocabulary(**settings))
            )
            if window_size(name, settings) is not None:
                entry["n_windows"] = entry["n_sequences"]  # rows are windows
        elif scheme.kind == "counts":
            with np.load(by_name[files[0]]) as npz:  # the CSR's shape and nnz, without loading it
                shape, nnz = [int(n) for n in npz["shape"]], int(npz["indptr"][-1])
            entry.update(columns=files[1], shape=shape, nnz=nnz, vocab_size=shape[1])
        else:  # text: every k-mer over A,C,G,T may occur (not listed: 4**k strings for k up to 32)
            entry.update(vocab_size=4 ** settings["k"])
        entry["description"] = scheme.describe(settings)
        tokenizers[name] = entry
    return {
        "n_sequences": qc["n_sequences"],
        "n_bases": qc["n_bases"],
        "class_counts": qc["class_counts"],
        "n_unlabelled": qc["n_unlabelled"],
        "n_duplicate_groups": qc["duplicates"]["n_groups"],
        "n_label_conflicts": qc["label_conflicts"]["n_groups"],
        "tokenizers": tokenizers,
        "preprocessing": {
            "software": {**software_versions(SOFTWARE), "python": platform.python_version()},
            "ingest": f"FASTA/sequence tables read and validated (IUPAC {IUPAC_NUCLEOTIDES}, either case); "
            "record id = whole header line; k-mer rows of tables reassembled",
            "filters": f"kept sequences with length >= {options.min_length} and n_fraction <= "
            f"{options.max_n_fraction:g}",
            "case": "soft-masked (lower-case) bases upper-cased by every scheme",
            "order": "rows of every artifact follow obs.tsv (inputs in card order, records in file order)",
        },
    }


def _obs_lengths(path: Path) -> list[int]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        column = next(reader).index("length")
        return [int(row[column]) for row in reader]


__all__ = ["facts", "ingest", "kmer_counts", "kmer_text", "tokens_fixed", "tokens_variable"]
