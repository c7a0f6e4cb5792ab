"""The variants workflow steps: plan the chunks, read one chunk, gather the artifacts.

One function per rule of ``rules/variants.smk`` (the scripts only move files), each with
the options it reads (a :class:`genoprep.options.StepOptions`, the rule's ``params``):

- :func:`plan` (``variants_plan``, :class:`PlanOptions`) checks the input (sha256,
  format, header, damage) and splits it into chunks: region windows of ``region_bp``
  when the file is indexed and ``region_bp`` is set, else ranges of
  ``records_per_chunk`` records;
- :func:`read_planned_chunk` (``variants_chunk``, :class:`ChunkOptions`) reads one chunk
  with the card's load-time options (regions, samples, PASS-only, multi-allelic policy);
- :func:`gather_dataset` (``variants_gather``, :class:`GatherOptions`) applies the sample
  and variant filters over all chunks, joins the sample metadata and returns the
  artifacts' content, the filter steps (for the terminal line and the guard) and the
  facts for the completed card.

The artifacts do not depend on the chunking (tests compare one chunk with many).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from genoprep.errors import InputError
from genoprep.options import StepOptions, freeze
from genoprep.provenance import software_versions, verify_sha256
from genoprep.variants import vcfio
from genoprep.variants.chunks import plan_chunks
from genoprep.variants.records import ChunkResult, ChunkSpec, LoadOptions, parse_region

if TYPE_CHECKING:
    from genoprep.filters import FilterStep
    from genoprep.variants.gather import FilterParams, GatheredResult

# Each job imports only what its step needs (every import below a ``def`` is deliberate):
# the plan job loads neither numba (``ingest``, ``gather``) nor pandas (``gather``,
# ``tables``); the chunk job not pandas. Start-up is most of a job's CPU time on a small file.

#: the libraries the variants chain computes with (recorded in the completed card)
SOFTWARE = ("numpy", "numba", "cyvcf2", "pandas", "pyarrow")

SEMANTICS = {
    "dosage": "number of ALT alleles per call (0, 1, 2; haploid calls 0 or 1), -1 missing; int8 samples x variants",
    "missing": "any '.' in the call is missing, including half-missing calls such as 0/. and ./1",
    "allele_frequency": "AF = AC/AN over called alleles (bcftools); MAF = min(AF, 1 - AF)",
    "filter_order": "load (regions, samples, FILTER, multi-allelic) -> mind -> geno -> hwe -> maf (plink2)",
}

#: what changes with ``dosage_field: DS`` (plink2 --vcf dosage=DS)
SEMANTICS_DS = {
    "dosage": (
        "imputed ALT dosage from FORMAT/DS (else P(het) + 2 P(hom-alt) from GP, else the GT call), "
        "NaN missing; float32 samples x variants"
    ),
    "missing": "a sample's dosage is missing when DS, GP and GT are all missing (plink2 --geno/--mind dosage)",
    "allele_frequency": "AF = sum of dosages / (2 x non-missing dosages) (plink2 --freq); MAF = min(AF, 1 - AF)",
    "hwe_genotypes": "plink2 hardcalls: dosage within 0.1 of 0, 1 or 2 (1/16384 units), else not counted",
}


@dataclasses.dataclass(frozen=True)
class PlanOptions(StepOptions):
    """What ``variants_plan`` reads: the input's declared format and checksum, the chunking."""

    format: str
    sha256: str | None
    records_per_chunk: int
    region_bp: int | None
    dosage_field: str

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Self:
        params, spec = card["params"], card["input"]
        return cls(
            format=spec["format"],
            sha256=spec.get("sha256"),  # sha256 is optional, without a default
            records_per_chunk=params["records_per_chunk"],
            region_bp=params["region_bp"],
            dosage_field=params["dosage_field"],
        )


@dataclasses.dataclass(frozen=True)
class ChunkOptions(StepOptions):
    """What ``variants_chunk`` reads: the load-time options (see :class:`LoadOptions`)."""

    regions: tuple[str, ...] | None
    samples: tuple[str, ...] | None
    pass_only: bool
    missing_filter_passes: bool
    multiallelic: str
    dosage_field: str

    def load_options(self) -> LoadOptions:
        """The typed load-time options (regions parsed: a bad one is one line)."""
        return LoadOptions(
            regions=None if self.regions is None else tuple(parse_region(r) for r in self.regions),
            samples=None if self.samples is None else tuple(str(s) for s in self.samples),
            pass_only=self.pass_only,
            missing_filter_passes=self.missing_filter_passes,
            multiallelic=self.multiallelic,  # type: ignore[arg-type] - the schema's enum
            dosage_field=self.dosage_field,  # type: ignore[arg-type] - the schema's enum
        )


@dataclasses.dataclass(frozen=True)
class MetadataOptions:
    """The card's optional sample table (``metadata``) and label columns (``columns``)."""

    sha256: str | None
    format: str | None
    header: bool
    id_column: str | int
    unmatched: str
    columns: Mapping[str, str | int] | None

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> MetadataOptions | None:
        meta = card.get("metadata")  # optional section: None when the card has no sample table
        if meta is None:
            return None
        return cls(
            sha256=meta.get("sha256"),
            format=meta.get("format"),  # optional, no default
            header=meta["header"],
            id_column=meta["id_column"],
            unmatched=meta["unmatched"],
            columns=freeze(card.get("columns")) or None,
        )


@dataclasses.dataclass(frozen=True)
class GatherOptions(StepOptions):
    """What ``variants_gather`` reads: the filter thresholds, the guard, the metadata, and
    the load-time options (described in qc.json and the completed card)."""

    min_maf: float | None
    max_variant_missing: float | None
    max_sample_missing: float | None
    hwe_p: float | None
    hwe_midp: bool
    min_fraction_kept: float | Mapping[str, float | None] | None
    load: ChunkOptions
    metadata: MetadataOptions | None

    @classmethod
    def from_card(cls, card: Mapping[str, Any]) -> Self:
        params = card["params"]
        names = ("min_maf", "max_variant_missing", "max_sample_missing", "hwe_p", "hwe_midp", "min_fraction_kept")
        return cls(
            **{n: params[n] for n in names}, load=ChunkOptions.from_card(card), metadata=MetadataOptions.from_card(card)
        )

    def as_params(self) -> dict[str, Any]:
        plain = super().as_params()
        plain["load"] = self.load.as_params()
        plain["metadata"] = None if self.metadata is None else dataclasses.asdict(self.metadata)
        if plain["metadata"] is not None and plain["metadata"]["columns"] is not None:
            plain["metadata"]["columns"] = dict(plain["metadata"]["columns"])
        return plain

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Self:
        fields = dict(params)
        fields["load"] = ChunkOptions.from_params(fields["load"])
        meta = fields["metadata"]
        fields["metadata"] = None if meta is None else MetadataOptions(**{k: freeze(v) for k, v in meta.items()})
        return cls(**fields)

    def filter_params(self) -> FilterParams:
        """The sample/variant filter thresholds (``None`` = off)."""
        from genoprep.variants.gather import FilterParams

        return FilterParams(
            min_maf=self.min_maf,
            max_variant_missing=self.max_variant_missing,
            max_sample_missing=self.max_sample_missing,
            hwe_p=self.hwe_p,
            hwe_midp=self.hwe_midp,
        )


def check_format(path: str | os.PathLike[str], declared: str) -> str:
    """``vcf`` or ``bcf`` as the file's bytes say; an error when the card says otherwise."""
    actual = "bcf" if vcfio.is_bcf(path) else "vcf"
    if declared not in ("auto", actual):
        raise InputError(str(path), f"the card says format {declared} but the file is {actual.upper()}")
    return actual


def plan(data_path: str | os.PathLike[str], options: PlanOptions) -> dict[str, Any]:
    """Check the input (sha256, format, header, compression damage) and list its chunks.

    Returns ``{"format", "input_sha256", "n_samples", "chunks": [spec dicts]}``; the chunk
    list is what the workflow scatters over, ``n_samples`` sizes the chunk jobs' memory.
    """
    digest = verify_sha256(data_path, options.sha256)
    fmt = check_format(data_path, options.format)
    if fmt == "vcf":
        vcf = vcfio.VcfText(data_path)  # header checks: #CHROM line, sample columns, duplicates
        keys = (b"GT", b"DS", b"GP") if options.dosage_field == "DS" else (b"GT",)
        vcfio.check_has_gt(vcf.header, vcf.first_record(), keys)
        n_samples = len(vcf.samples)
        if options.region_bp is not None and vcfio.is_bgzf(data_path):
            vcfio.block_table(data_path)  # region jobs read through htslib: find a truncated file now
    else:
        import cyvcf2

        try:
            bcf = cyvcf2.VCF(str(data_path), lazy=True)
        except Exception as err:  # noqa: BLE001 -cyvcf2 raises OSError/plain Exception on a bad file
            raise InputError(str(data_path), f"cannot open as BCF: {err}") from None
        n_samples = len(bcf.samples)
        bcf.close()
    chunks = plan_chunks(data_path, options.records_per_chunk, options.region_bp)
    return {"format": fmt, "input_sha256": digest, "n_samples": n_samples, "chunks": [c.to_dict() for c in chunks]}


def read_planned_chunk(
    data_path: str | os.PathLike[str], chunk_plan: Mapping[str, Any], index: int, options: ChunkOptions
) -> ChunkResult:
    """Read chunk ``index`` of the plan with the card's load-time options."""
    from genoprep.variants.ingest import read_chunk

    chunks = chunk_plan["chunks"]
    if not 0 <= index < len(chunks):
        raise ValueError(f"chunk {index} is not in the plan ({len(chunks)} chunks)")
    return read_chunk(data_path, ChunkSpec.from_dict(chunks[index]), options.load_options())


def gather_dataset(
    chunk_paths: Sequence[str | os.PathLike[str]],
    options: GatherOptions,
    metadata_path: str | os.PathLike[str] | None = None,
    dosage_path: str | os.PathLike[str] | None = None,
) -> tuple[GatheredResult, list[FilterStep], dict[str, Any]]:
    """Filter and gather the chunks, join the sample metadata; returns (result, filter steps, facts).

    Raises a one-line :class:`InputError` when no record of the file has a GT field.
    ``dosage_path``: write the dosage matrix there through a memory map (see
    :func:`genoprep.variants.gather.gather`). The caller says what the filters removed
    and then calls :func:`check_kept`.
    """
    from genoprep.variants.gather import gather

    result = gather([Path(p) for p in chunk_paths], options.filter_params(), dosage_path)
    if result.qc["records_read"] and result.qc["records_without_gt"] == result.qc["records_read"]:
        fields = "DS, GP or GT" if options.load.dosage_field == "DS" else "GT"
        raise InputError(result.source, f"no record has a {fields} field: there are no genotypes to read")
    steps = result.filter_steps
    load = options.load.load_options()
    result.qc["load_options"] = {
        "regions": None if load.regions is None else [str(r) for r in load.regions],
        "samples": None if load.samples is None else len(load.samples),
        "pass_only": load.pass_only,
        "missing_filter_passes": load.missing_filter_passes,
        "multiallelic": load.multiallelic,
        "dosage_field": load.dosage_field,
    }
    labels: list[str] = []
    if metadata_path is not None and options.metadata is not None:
        labels = join_sample_labels(result, metadata_path, options.metadata)
    facts = {
        "n_samples": int(result.dosage.shape[0]),
        "n_variants": int(result.dosage.shape[1]),
        "n_chunks": len(chunk_paths),
        "sample_labels": labels,
        "missing_genotype_rate": result.qc["missing_genotype_rate_after"],
        "preprocessing": {
            "software": software_versions(SOFTWARE),
            **SEMANTICS,
            **(SEMANTICS_DS if load.dosage_field == "DS" else {}),
            "multiallelic": (
                "split into one biallelic column per ALT (bcftools norm -m-)"
                if load.multiallelic == "split"
                else "records with more than one ALT dropped"
            ),
            "filters": describe_filters(options.filter_params(), load),
        },
    }
    return result, steps, facts


def join_sample_labels(result: GatheredResult, path: str | os.PathLike[str], meta: MetadataOptions) -> list[str]:
    """Add the metadata labels to ``result.samples`` (the shared table layer, the card's
    ``metadata.unmatched`` policy) and report the mismatches in ``result.qc``; returns the
    label names. Without ``columns`` every column of the table is a label, under its own name.
    """
    from genoprep.tables import join_metadata, map_labels, read_table

    source = os.fspath(path)
    verify_sha256(path, meta.sha256)
    table = read_table(path, meta.format, header=meta.header, id_column=meta.id_column)
    rows, report = join_metadata(
        result.samples["sample_id"].tolist(), table, source, what="samples", unmatched=meta.unmatched
    )
    columns = dict(meta.columns) if meta.columns else {str(c): c for c in table.columns}
    taken = [label for label in columns if label in result.samples.columns]
    if taken:
        raise InputError(
            source, f"columns: {', '.join(taken)} would replace a column genoprep computes", record="columns"
        )
    for label, values in map_labels(rows, columns, source).items():
        result.samples[label] = values
    result.qc["metadata"] = {
        "labels": list(columns),
        "unmatched": meta.unmatched,
        "samples_without_metadata": list(report.unmatched_ids),
        "metadata_without_sample": list(report.unused_rows),
    }
    return list(columns)


def check_kept(result: GatheredResult, options: GatherOptions) -> None:
    """The guard of :mod:`genoprep.filters`: one line when the filters kept fewer than
    ``min_fraction_kept`` of the samples or of the variants (naming the filter that removed
    the most, its numbers and the data's distribution). ``min_fraction_kept`` is one
    fraction for both, or ``{samples: ..., variants: ...}``."""
    from genoprep.filters import guard

    for unit in ("samples", "variants"):
        limit = options.min_fraction_kept
        if isinstance(limit, Mapping):
            limit = limit[unit]
        guard(result.source, result.filter_steps, unit, limit)


def describe_filters(params: FilterParams, options: LoadOptions) -> list[str]:
    """The filters that ran, in order, in plink2/bcftools words."""
    dosage = " dosage" if options.dosage_field == "DS" else ""  # plink2's modifier: missing = no dosage
    steps = []
    if options.regions is not None:
        steps.append(f"regions {', '.join(str(r) for r in options.regions)} (POS inside)")
    if options.samples is not None:
        steps.append(f"samples: {len(options.samples)} selected")
    if options.pass_only:
        steps.append("FILTER PASS" + (" or ." if options.missing_filter_passes else " only"))
    if params.max_sample_missing is not None:
        steps.append(f"--mind {params.max_sample_missing:g}{dosage} (sample missing rate > threshold removed)")
    if params.max_variant_missing is not None:
        steps.append(f"--geno {params.max_variant_missing:g}{dosage} (variant missing rate > threshold removed)")
    if params.hwe_p is not None:
        steps.append(f"--hwe {params.hwe_p:g}{' midp' if params.hwe_midp else ''} (exact test p < threshold removed)")
    if params.min_maf is not None:
        steps.append(f"--maf {params.min_maf:g} = bcftools view -q {params.min_maf:g}:minor (MAF >= threshold kept)")
    return steps
