"""The variants workflow steps: plan the chunks, read one chunk, gather the artifacts.

One function per rule of ``rules/variants.smk`` (the scripts only move files):

- :func:`plan` (``variants_plan``) checks the input (sha256, format) and splits it into
  chunks: region windows of ``region_bp`` when the file is indexed and ``region_bp`` is
  set, else ranges of ``records_per_chunk`` records;
- :func:`read_planned_chunk` (``variants_chunk``) reads one chunk with the card's
  load-time options (regions, samples, PASS-only, multi-allelic policy);
- :func:`gather_dataset` (``variants_gather``) applies the sample and variant filters
  over all chunks, joins the sample metadata and returns the artifacts' content plus the
  facts for the completed card.

The artifacts do not depend on the chunking (tests compare one chunk with many).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from genoprep import __version__
from genoprep.errors import InputError
from genoprep.provenance import package_versions, verify_sha256
from genoprep.variants import textgt
from genoprep.variants.artifacts import join_sample_metadata, read_sample_metadata
from genoprep.variants.chunks import plan_chunks, spec_from_dict, spec_to_dict
from genoprep.variants.gather import FilterParams, GatheredResult, gather
from genoprep.variants.ingest import ChunkResult, read_chunk
from genoprep.variants.records import LoadOptions, parse_region

#: the libraries the variants chain computes with (recorded in the completed card)
SOFTWARE = ("numpy", "numba", "cyvcf2", "pandas", "pyarrow")

SEMANTICS = {
    "dosage": "number of ALT alleles per call (0, 1, 2; haploid calls 0 or 1), -1 missing; int8 samples x variants",
    "missing": "any '.' in the call is missing, including half-missing calls such as 0/. and ./1",
    "allele_frequency": "AF = AC/AN over called alleles (bcftools); MAF = min(AF, 1 - AF)",
    "filter_order": "load (regions, samples, FILTER, multi-allelic) -> mind -> geno -> hwe -> maf (plink2)",
}


def load_options(params: Mapping[str, Any]) -> LoadOptions:
    """The load-time options of a card's params."""
    regions = params.get("regions")
    samples = params.get("samples")
    return LoadOptions(
        regions=None if regions is None else tuple(parse_region(r) for r in regions),
        samples=None if samples is None else tuple(str(s) for s in samples),
        pass_only=bool(params.get("pass_only", False)),
        missing_filter_passes=bool(params.get("missing_filter_passes", True)),
        multiallelic=params.get("multiallelic", "split"),
    )


def filter_params(params: Mapping[str, Any]) -> FilterParams:
    """The sample/variant filter thresholds of a card's params (``None`` = off)."""
    return FilterParams(
        min_maf=params.get("min_maf", 0.01),
        max_variant_missing=params.get("max_variant_missing", 0.1),
        max_sample_missing=params.get("max_sample_missing", 0.1),
        hwe_p=params.get("hwe_p"),
        hwe_midp=bool(params.get("hwe_midp", False)),
    )


def check_format(path: str | os.PathLike[str], declared: str) -> str:
    """``vcf`` or ``bcf`` as the file's bytes say; an error when the card says otherwise."""
    actual = "bcf" if textgt.is_bcf(path) else "vcf"
    if declared not in ("auto", actual):
        raise InputError(str(path), f"the card says format {declared} but the file is {actual.upper()}")
    return actual


def plan(data_path: str | os.PathLike[str], card: Mapping[str, Any]) -> dict[str, Any]:
    """Check the input (sha256, format, header) and list its chunks.

    Returns ``{"format", "input_sha256", "chunks": [spec dicts]}``; the chunk list is what
    the workflow scatters over.
    """
    spec = card["input"]
    digest = verify_sha256(data_path, spec.get("sha256"))
    fmt = check_format(data_path, spec.get("format", "auto"))
    params = card.get("params", {})
    load_options(params)  # bad regions fail here, before any chunk job
    if fmt == "vcf":
        textgt.TextVcf(data_path)  # header check: #CHROM line and sample columns
    chunks = plan_chunks(data_path, params.get("records_per_chunk", 50_000), params.get("region_bp"))
    return {"format": fmt, "input_sha256": digest, "chunks": [spec_to_dict(c) for c in chunks]}


def read_planned_chunk(
    data_path: str | os.PathLike[str], chunk_plan: Mapping[str, Any], index: int, params: Mapping[str, Any]
) -> ChunkResult:
    """Read chunk ``index`` of the plan with the card's load-time options."""
    chunks = chunk_plan["chunks"]
    if not 0 <= index < len(chunks):
        raise ValueError(f"chunk {index} is not in the plan ({len(chunks)} chunks)")
    return read_chunk(data_path, spec_from_dict(chunks[index]), load_options(params))


def gather_dataset(
    chunk_paths: Sequence[str | os.PathLike[str]],
    card: Mapping[str, Any],
    metadata_path: str | os.PathLike[str] | None = None,
) -> tuple[GatheredResult, dict[str, Any]]:
    """Filter and gather the chunks, join the sample metadata; returns (result, facts)."""
    params = card.get("params", {})
    result = gather([Path(p) for p in chunk_paths], filter_params(params))
    options = load_options(params)
    result.qc["load_options"] = {
        "regions": None if options.regions is None else [str(r) for r in options.regions],
        "samples": None if options.samples is None else len(options.samples),
        "pass_only": options.pass_only,
        "missing_filter_passes": options.missing_filter_passes,
        "multiallelic": options.multiallelic,
    }
    labels: list[str] = []
    if metadata_path is not None:
        meta = card["metadata"]
        verify_sha256(metadata_path, meta.get("sha256"))
        sep = {"csv": ",", "tsv": "\t"}.get(meta.get("format", ""))
        table = read_sample_metadata(metadata_path, meta.get("id_column", 0), sep=sep,
                                     header=meta.get("header", True), columns=card.get("columns") or None)
        result.samples, report = join_sample_metadata(result.samples, table)
        labels = [c for c in table.columns if c != "sample_id" and c in result.samples.columns]
        result.qc["metadata"] = {"labels": labels, **report}
    facts = {
        "n_samples": int(result.dosage.shape[0]),
        "n_variants": int(result.dosage.shape[1]),
        "n_chunks": len(chunk_paths),
        "sample_labels": labels,
        "missing_genotype_rate": result.qc["missing_genotype_rate_after"],
        "preprocessing": {
            "software": software_versions(),
            **SEMANTICS,
            "multiallelic": ("split into one biallelic column per ALT (bcftools norm -m-)"
                             if options.multiallelic == "split" else "records with more than one ALT dropped"),
            "filters": describe_filters(filter_params(params), options),
        },
    }
    return result, facts


def describe_filters(params: FilterParams, options: LoadOptions) -> list[str]:
    """The filters that ran, in order, in plink2/bcftools words."""
    steps = []
    if options.regions is not None:
        steps.append(f"regions {', '.join(str(r) for r in options.regions)} (POS inside)")
    if options.samples is not None:
        steps.append(f"samples: {len(options.samples)} selected")
    if options.pass_only:
        steps.append("FILTER PASS" + (" or ." if options.missing_filter_passes else " only"))
    if params.max_sample_missing is not None:
        steps.append(f"--mind {params.max_sample_missing:g} (sample missing rate > threshold removed)")
    if params.max_variant_missing is not None:
        steps.append(f"--geno {params.max_variant_missing:g} (variant missing rate > threshold removed)")
    if params.hwe_p is not None:
        steps.append(f"--hwe {params.hwe_p:g}{' midp' if params.hwe_midp else ''} (exact test p < threshold removed)")
    if params.min_maf is not None:
        steps.append(f"--maf {params.min_maf:g} = bcftools view -q {params.min_maf:g}:minor (MAF >= threshold kept)")
    return steps


def software_versions() -> dict[str, str]:
    """genoprep and the libraries the variants chain computes with."""
    return {"genoprep": __version__, **package_versions(SOFTWARE)}
