"""The whole scRNA-seq chain of one dataset in one process (rule ``scrna_process``).

ingest -> QC -> filter -> normalize -> HVG -> ``processed.h5ad`` -> scaled HVG block ->
``X.npy``/``features.tsv``/``obs.tsv`` -> PCA/UMAP and the scaled layer appended to
``processed.h5ad`` (:func:`genoprep.scrna.export.add_embeddings`) and the facts for the completed card. No
intermediate file: each step hands its AnnData to the next, and big arrays are dropped as
soon as they are written. Each step logs the cells and genes it got and gave, its seconds
and the process's peak memory, and the chain writes these as a table into the dataset's
``logs/`` folder (beside the artifacts, but not one of them: timings differ run to run).

With ``params.split.enabled`` the kept cells get their split right after QC
(:mod:`genoprep.scrna.splitting`: a ``split`` column in ``obs.tsv`` and ``processed.h5ad``,
the split summary and leakage checks in ``qc.json``); the HVGs (``hvg_on_train``) and the
scaling mean/std of ``X.npy`` are then fitted on the train cells only.

When the QC filters keep too few cells (``params.min_fraction_kept``) or none, the per-cell
QC table and figure are still written, into the ``logs/`` folder (Snakemake removes a
failed job's outputs, not its logs), and the one error line says where.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from genoprep import filters, runtime
from genoprep.errors import InputError
from genoprep.jsonio import write_json
from genoprep.ml_files import write_ml_files
from genoprep.scrna import ooc, preprocess, splitting, steps
from genoprep.scrna.export import add_pca, add_umap, obs_table, write_counts, write_processed
from genoprep.scrna.options import (
    COUNT_FLAVORS,
    EmbedOptions,
    HvgOptions,
    IngestOptions,
    MemoryOptions,
    NormalizeOptions,
    QcFigureOptions,
    QcOptions,
    ScaleOptions,
)
from genoprep.scrna.qc import check_left
from genoprep.splits import SplitOptions
from genoprep.tasks.params import LeakageOptions

log = logging.getLogger(__name__)

StrPath = str | os.PathLike[str]


@dataclass(frozen=True)
class ChainOptions:
    ingest: IngestOptions
    qc: QcOptions
    normalize: NormalizeOptions
    hvg: HvgOptions
    scale: ScaleOptions
    embed: EmbedOptions
    split: SplitOptions
    leakage: LeakageOptions
    train_only: splitting.TrainOnlyOptions
    memory: MemoryOptions | None = None

    @classmethod
    def from_card(cls, card: Mapping[str, Any], memory: MemoryOptions | None = None) -> ChainOptions:
        """Every step's options from a loaded card's data (what rule ``scrna_process`` passes as
        params), for library callers; ``memory`` None lets the input's size choose the path."""
        return cls(
            ingest=IngestOptions.from_card(card),
            qc=QcOptions.from_card(card),
            normalize=NormalizeOptions.from_card(card),
            hvg=HvgOptions.from_card(card),
            scale=ScaleOptions.from_card(card),
            embed=EmbedOptions.from_card(card),
            split=SplitOptions.from_card(card),
            leakage=LeakageOptions.from_card(card),
            train_only=splitting.TrainOnlyOptions.from_card(card),
            memory=memory,
        )


@dataclass(frozen=True)
class Outputs:
    """Where the chain writes: the artifacts, the facts, the step table and the logs folder."""

    processed: StrPath
    x: StrPath
    features: StrPath
    obs: StrPath
    qc: StrPath
    cells: StrPath
    facts: StrPath
    steps: StrPath
    logs: StrPath


def release_freed_memory() -> None:
    """Give the heap pages freed so far back to the system (glibc's ``malloc_trim``; nothing elsewhere).

    Arrays under glibc's mmap threshold (the HVG blocks, pandas columns) live on the heap, and freed
    heap memory stays resident until trimmed; the chain calls this after dropping its big arrays."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def peak_rss_mib() -> float:
    """The process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class StepTable:
    """One row per step: cells and genes in and out, seconds, peak RSS of the process after the step."""

    rows: list[tuple[str, int, int, int, int, float, float]] = field(default_factory=list)

    def add(self, name: str, shape_in: tuple[int, int], shape_out: tuple[int, int], start: float) -> None:
        seconds = time.perf_counter() - start
        peak = peak_rss_mib()
        self.rows.append((name, *shape_in, *shape_out, seconds, peak))
        log.info(
            "step %s: %d x %d -> %d x %d cells x genes, %.2f s, peak RSS %.0f MiB",
            name,
            *shape_in,
            *shape_out,
            seconds,
            peak,
        )

    def write(self, path: StrPath) -> None:
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write("step\tcells_in\tgenes_in\tcells_out\tgenes_out\tseconds\tpeak_rss_mib\n")
            handle.writelines(
                f"{name}\t{c_in}\t{g_in}\t{c_out}\t{g_out}\t{seconds:.3f}\t{peak:.0f}\n"
                for name, c_in, g_in, c_out, g_out, seconds, peak in self.rows
            )


def write_qc_diagnostics(cells: pd.DataFrame, options: QcOptions, dataset: str, folder: StrPath) -> list[str]:
    """The per-cell QC table and figure of a run the filters stopped, into ``folder`` (the logs)."""
    from genoprep.plotting import save_figure
    from genoprep.scrna.plots import qc_figure

    os.makedirs(folder, exist_ok=True)
    table = os.path.join(folder, "qc_cells.tsv")
    figure = os.path.join(folder, "qc_metrics.png")
    cells.to_csv(table, sep="\t", index=False, lineterminator="\n")
    figure_options = QcFigureOptions(
        min_genes=options.min_genes, max_genes=options.max_genes, max_pct_mito=options.max_pct_mito
    )
    save_figure(qc_figure(cells, figure_options, title=f"{dataset} (stopped by the QC filters)"), figure)
    return [table, figure]


@dataclass(frozen=True)
class Job:
    """One dataset's chain: what it reads (the matrix, the metadata table or None, the
    mitochondrial gene lists), its id and where it writes."""

    data: StrPath
    metadata: StrPath | None
    mito_gene_lists: tuple[StrPath, ...]
    dataset: str
    outputs: Outputs


def process(job: Job, options: ChainOptions) -> None:
    """Run the chain and write every output (see the module docstring); out of core
    (:mod:`genoprep.scrna.ooc`) when the input is larger than the memory budget."""
    data_path, metadata_path, mito_gene_lists = job.data, job.metadata, job.mito_gene_lists
    dataset, outputs = job.dataset, job.outputs
    table = StepTable()
    try:
        chunk = ooc.streaming_chunk(data_path, options)
        if chunk is not None:
            ooc.process(job, options, table, chunk)
            return
        start = time.perf_counter()
        adata = steps.ingest(data_path, options.ingest, dataset, metadata_path)
        table.add("ingest", (0, 0), adata.shape, start)

        start = time.perf_counter()
        decision = steps.quality_control(adata, options.qc, mito_gene_lists)
        runtime.console(filters.summary_line(dataset, decision.steps))
        try:
            filters.guard(str(data_path), decision.steps, "cells", options.qc.min_fraction_kept)
            check_left(decision, str(data_path))
        except InputError as err:
            written = write_qc_diagnostics(decision.cells, options.qc, dataset, outputs.logs)
            raise InputError(
                err.source, f"{err.problem} (per-cell QC table and figure: {', '.join(written)})", record=err.record
            ) from None
        filtered, report = steps.filter_cells(adata, decision)
        shape_in = adata.shape
        del adata  # the unfiltered matrix is not needed any more
        split = None
        if options.split.enabled:
            split = splitting.assign_cells(
                filtered.obs, options.split, options.leakage.policy, str(data_path), counts=filtered.X
            )
            report = splitting.record_split(filtered, split, options.split, dataset, report)
        write_json(report, outputs.qc)
        decision.cells.to_csv(outputs.cells, sep="\t", index=False, lineterminator="\n")
        table.add("qc", shape_in, filtered.shape, start)

        start = time.perf_counter()
        # the counts go to processed.h5ad now and are normalised in place, unless a step still reads them
        in_place = options.normalize.value_type == "counts" and options.hvg.hvg_flavor not in COUNT_FLAVORS
        if in_place:
            write_counts(outputs.processed, filtered.X)
        adata = steps.normalize(filtered, options.normalize, in_place=in_place)
        del filtered
        table.add("normalize", adata.shape, adata.shape, start)

        start = time.perf_counter()
        if split is not None and options.train_only.hvg_on_train:
            splitting.select_hvg_on_train(adata, options.hvg, split.train)
        else:
            steps.select_hvg(adata, options.hvg)
        steps.record_provenance(adata, options.qc, options.normalize, options.hvg, options.scale)
        write_processed(outputs.processed, adata, counts_written=in_place)
        if split is None:  # in blocks of rows, which the scaling densifies and releases one by one
            hvg = adata.var["highly_variable"].to_numpy(dtype=bool)
            block, features = preprocess.hvg_blocks(adata.X, hvg), list(adata.var_names[hvg])
        else:
            block, features = steps.hvg_matrix(adata)
        table.add("hvg", adata.shape, (adata.n_obs, len(features)), start)

        start = time.perf_counter()
        obs = obs_table(adata)
        facts = steps.facts(adata, options.normalize, options.hvg, options.scale, len(features))
        shape = adata.shape
        del adata  # counts and normalised values are written; only the HVG block is left
        release_freed_memory()
        if split is None:
            matrix = preprocess.scale_blocks(block, options.scale.scale_max_value)
        else:
            matrix, _ = splitting.scale_on_train(block, options.scale.scale_max_value, split.train)
            facts = splitting.split_facts(facts, split, options.split, options.train_only)
            obs["split"] = split.splits.astype(str)
        del block
        write_ml_files(matrix, features, obs, outputs.x, outputs.features, outputs.obs)
        table.add("scale", shape, matrix.shape, start)

        start = time.perf_counter()
        shape = matrix.shape
        coordinates = add_pca(outputs.processed, matrix, features, options.embed)  # obsm X_pca, layers scaled
        del matrix  # the UMAP needs the PCA coordinates only
        release_freed_memory()
        add_umap(outputs.processed, coordinates, options.embed)
        write_json(facts, outputs.facts)
        table.add("embed", shape, shape, start)
    finally:
        table.write(outputs.steps)
