"""genoprep.variants against bcftools and plink2 on the real 1000 Genomes VCFs.

Needs ``apt-get install -y bcftools tabix plink2``; each test skips with the reason when
a binary or the shared data is absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from genoprep.variants import FilterParams, gather, read_all, read_chunk
from genoprep.variants.chunks import plan_record_chunks
from tests.conftest import SHARED_DATA
from tests.variant_tools import (
    bcftools_split,
    need,
    plink2,
    plink2_dosage,
    plink_ids,
    read_sample_ids,
    read_snplist,
    run,
    site_keys,
)

DATA = SHARED_DATA
VCF = DATA / "vcf"
CHR21 = VCF / "1kg_phase3_chr21_2504samples_600variants_phased.vcf.gz"
CHR22 = VCF / "1kg_nygc30x_grch38_chr22_100samples_100variants.vcf.gz"
CHR20 = VCF / "1kg_beagle_imputed_chr20_14samples_987variants.vcf"
ALL = [CHR21, CHR22, CHR20]
NO_FILTERS = FilterParams(min_maf=None, max_variant_missing=None, max_sample_missing=None)


@pytest.fixture(params=ALL, ids=["chr21_1kg_phase3", "chr22_nygc_missing_multiallelic", "chr20_beagle"])
def vcf(request) -> Path:
    if not request.param.exists():
        pytest.skip(f"shared data not found: {request.param}")
    return request.param


@pytest.fixture
def split_vcf(vcf, tmp_path) -> Path:
    """``bcftools norm -m-`` of the input (multi-allelic records split), INFO removed so
    that ``bcftools view -q`` computes AC/AN from the genotypes."""
    return bcftools_split(vcf, tmp_path / "split.vcf")


def gt_matrix_from_bcftools(path: Path) -> np.ndarray:
    """Dosage from ``bcftools query -f '[%GT\\t]\\n'``, decoded here independently."""
    rows = []
    for line in run(["bcftools", "query", "-f", "[%GT\t]\n", str(path)]).splitlines():
        row = []
        for gt in line.rstrip("\t").split("\t"):
            alleles = gt.replace("|", "/").split("/")
            row.append(-1 if "." in alleles else sum(a != "0" for a in alleles))
        rows.append(row)
    return np.array(rows, dtype=np.int8)


def bcftools_sites(path: Path, *view_args: str) -> list[tuple]:
    out = (
        run(
            ["bcftools", "view", *view_args, str(path)],
        )
        if view_args
        else None
    )
    text = (
        run(["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\n", "-"], input=out)
        if out
        else run(["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\n", str(path)])
    )
    return [(c, int(p), r, a) for c, p, r, a in (line.split("\t") for line in text.splitlines())]


@pytest.mark.parametrize("engine", ["text", "cyvcf2"])
def test_dosage_equals_bcftools_norm_then_query(vcf, split_vcf, engine):
    ours = read_all(vcf, engine=engine)
    expected = gt_matrix_from_bcftools(split_vcf)  # variants × samples
    assert ours.dosage_by_variant.shape == expected.shape
    assert np.array_equal(ours.dosage_by_variant, expected)
    assert site_keys(
        pd.DataFrame({"chrom": ours.chrom, "pos": ours.pos, "ref": ours.ref, "alt": ours.alt})
    ) == bcftools_sites(split_vcf)


def test_dosage_equals_two_minus_plink2_export_a(vcf, split_vcf, tmp_path):
    need("plink2")
    prefix = tmp_path / "p"
    done = plink2(split_vcf, prefix, "--export", "A")
    assert done.returncode == 0, done.stdout[-2000:]
    samples, variants, expected = plink2_dosage(prefix)
    g = gather([read_all(vcf)], NO_FILTERS)
    assert g.samples["sample_id"].tolist() == samples
    assert plink_ids(g.variants) == variants
    assert np.array_equal(g.dosage, expected)


def test_maf_filter_equals_bcftools_view_q_minor(vcf, split_vcf):
    g = gather([read_all(vcf)], FilterParams(min_maf=0.01, max_variant_missing=None, max_sample_missing=None))
    assert site_keys(g.variants) == bcftools_sites(split_vcf, "-q", "0.01:minor")


@pytest.mark.parametrize("geno, mind", [(0.5, None), (0.05, None), (0.5, 0.7), (None, 0.69)])
def test_maf_geno_mind_equal_plink2(vcf, split_vcf, tmp_path, geno, mind):
    need("plink2")
    prefix = tmp_path / "p"
    flags = ["--maf", "0.01", "--write-snplist", "--write-samples"]
    if geno is not None:
        flags += ["--geno", str(geno)]
    if mind is not None:
        flags += ["--mind", str(mind)]
    proc = plink2(split_vcf, prefix, *flags)
    g = gather([read_all(vcf)], FilterParams(min_maf=0.01, max_variant_missing=geno, max_sample_missing=mind))
    ours = plink_ids(g.variants)
    log = proc.stdout + proc.stderr
    # The per-filter counts plink2 logs equal ours (also when it stops with no variant left).
    n_mind = re.search(r"(\d+) samples? removed due to missing genotype data \(--mind\)", log)
    assert (int(n_mind.group(1)) if n_mind else 0) == g.qc["samples_removed"]["mind"]
    n_geno = re.search(r"--geno: (\d+) variants? removed", log)
    assert (int(n_geno.group(1)) if n_geno else 0) == g.qc["variants_removed"]["geno"]
    n_maf = re.search(r"(\d+) variants? removed due to allele frequency", log)
    assert (int(n_maf.group(1)) if n_maf else 0) == g.qc["variants_removed"]["maf"]
    if proc.returncode != 0:
        assert "No variants remaining" in log
        assert ours == []
        return
    assert ours == read_snplist(prefix)
    assert g.samples["sample_id"].tolist() == read_sample_ids(prefix)


def test_qc_missing_rate_equals_count_of_missing_calls(vcf, split_vcf):
    calls = run(["bcftools", "query", "-f", "[%GT\n]", str(split_vcf)]).split()
    n_missing = sum("." in gt for gt in calls)
    g = gather([read_all(vcf)], FilterParams())
    assert g.qc["variants_before"] * g.qc["samples_before"] == len(calls)
    assert g.qc["missing_genotype_rate_before"] == pytest.approx(n_missing / len(calls), rel=0, abs=1e-15)


def test_hwe_p_values_and_filter_equal_plink2(tmp_path):
    need("plink2")
    if not CHR21.exists():
        pytest.skip(f"shared data not found: {CHR21}")
    prefix = tmp_path / "h"
    run(["plink2", "--vcf", str(CHR21), "--hardy", "--threads", "1", "--out", str(prefix)])
    hardy = pd.read_csv(f"{prefix}.hardy", sep="\t")
    g = gather(
        [read_all(CHR21)], FilterParams(min_maf=None, max_variant_missing=None, max_sample_missing=None, hwe_p=0.0)
    )
    np.testing.assert_allclose(g.variants["hwe_p"].to_numpy(), hardy["P"].to_numpy(), rtol=1e-4, atol=1e-300)
    run(
        [
            "plink2",
            "--vcf",
            str(CHR21),
            "--hwe",
            "1e-4",
            "--set-all-var-ids",
            "@:#:$r:$a",
            "--write-snplist",
            "--threads",
            "1",
            "--out",
            str(prefix),
        ]
    )
    kept = Path(f"{prefix}.snplist").read_text().split()
    g = gather(
        [read_all(CHR21)], FilterParams(min_maf=None, max_variant_missing=None, max_sample_missing=None, hwe_p=1e-4)
    )
    assert plink_ids(g.variants) == kept


def test_engines_agree_and_chunks_gather_identically(vcf):
    whole = read_all(vcf, engine="text")
    general = read_all(vcf, engine="cyvcf2")
    assert np.array_equal(whole.dosage_by_variant, general.dosage_by_variant)
    params = FilterParams(min_maf=0.01, max_variant_missing=0.7, max_sample_missing=0.9)
    one = gather([whole], params)
    n = whole.load_counts["records_read"]
    for size in (1, 37, n):
        many = gather([read_chunk(vcf, spec) for spec in plan_record_chunks(n, size)], params)
        assert np.array_equal(one.dosage, many.dosage)
        pd.testing.assert_frame_equal(one.variants, many.variants)
        pd.testing.assert_frame_equal(one.samples, many.samples)


@pytest.mark.parametrize("inflate", ["libdeflate", "zlib"])
def test_text_route_equals_the_cyvcf2_general_path(vcf, inflate, monkeypatch):
    """The text route (numba scan + per-line decoder, libdeflate or zlib inflation) gives
    exactly the cyvcf2 (htslib) result on every real file."""
    from genoprep.variants import vcfio

    if inflate == "zlib":
        monkeypatch.setattr(vcfio, "LIBDEFLATE", None)
    fast = read_all(vcf, engine="text")
    general = read_all(vcf, engine="cyvcf2")
    assert np.array_equal(fast.dosage_by_variant, general.dosage_by_variant)
    assert (fast.chrom, fast.ref, fast.alt, fast.filter) == (general.chrom, general.ref, general.alt, general.filter)
    assert np.array_equal(fast.sample_n_missing, general.sample_n_missing)
    assert np.array_equal(fast.variant_n_missing, general.variant_n_missing)
