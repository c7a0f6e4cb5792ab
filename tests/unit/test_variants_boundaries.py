"""Variant and sample filters exactly at their thresholds, checked against plink2 and bcftools.

Every tiny VCF here puts a variant or a sample *exactly* on a boundary (a missing rate, a
MAF, an HWE p-value equal to the threshold), so that ``<`` vs ``<=`` or a wrong
denominator changes the outcome; the expected outcome is written by hand and also
compared with plink2 2.00a3.5 (``--geno``, ``--mind``, ``--maf``, ``--hwe``, ``--missing``)
or bcftools. Tests that need a tool skip without it, but fail under
``GENOPREP_STRICT_TESTS=1`` (CI).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from genoprep.variants import FilterParams, gather, read_all
from genoprep.variants.stats import hwe_exact_p
from tests.conftest import SHARED_DATA
from tests.unit.test_variants_tiny import rec, write_vcf
from tests.variant_tools import bcftools_split, need, plink2, plink2_kept, read_plink_table

NYGC_CHR22 = SHARED_DATA / "vcf" / "1kg_nygc30x_grch38_chr22_100samples_100variants.vcf.gz"
OFF = {"min_maf": None, "max_variant_missing": None, "max_sample_missing": None}


def ours(vcf: Path, **params) -> tuple[list[str], list[str], object]:
    g = gather([read_all(vcf)], FilterParams(**{**OFF, **params}))
    ids = [
        f"{c}:{p}:{r}:{a}"
        for c, p, r, a in zip(g.variants["chrom"], g.variants["pos"], g.variants["ref"], g.variants["alt"], strict=True)
    ]
    return ids, g.samples["sample_id"].tolist(), g


def _vcf(tmp_path: Path, samples: list[str], rows: list[list[str]]) -> Path:
    """Variant i at 1:(i+1)*10 A>C (id chrom:pos:A:C) with the given calls."""
    return write_vcf(tmp_path / "b.vcf", samples, [rec("1", 10 * (i + 1), "A", "C", g) for i, g in enumerate(rows)])


def test_geno_keeps_a_variant_exactly_at_the_threshold(tmp_path):
    # missing rates over 4 samples: 0, 1/4 (exactly --geno 0.25), 2/4
    vcf = _vcf(
        tmp_path,
        list("ABCD"),
        [["0/1", "0/0", "1/1", "0/1"], ["./.", "0/1", "1/1", "0/0"], ["./.", "0/.", "1/1", "0/1"]],
    )
    kept, _, g = ours(vcf, max_variant_missing=0.25)
    assert kept == ["1:10:A:C", "1:20:A:C"]  # by hand: 1/4 <= 0.25 kept, 2/4 removed
    assert g.variants["missing_rate"].tolist() == [0.0, 0.25]
    assert kept == plink2_kept(vcf, tmp_path / "p", "--geno", "0.25")[0]


def test_mind_keeps_a_sample_exactly_at_the_threshold(tmp_path):
    # sample missing rates over 4 variants: A 0, B 1/4 (exactly --mind 0.25), C 2/4 (half-call counts)
    vcf = _vcf(
        tmp_path,
        list("ABC"),
        [["0/1", "./.", "0/."], ["0/0", "0/1", "./."], ["1/1", "0/1", "0/1"], ["0/1", "1/1", "0/0"]],
    )
    _, samples, g = ours(vcf, max_sample_missing=0.25)
    assert samples == ["A", "B"]
    assert g.samples["missing_rate_loaded"].tolist() == [0.0, 0.25]
    assert samples == plink2_kept(vcf, tmp_path / "p", "--mind", "0.25")[1]


def test_geno_counts_missing_over_the_samples_mind_kept(tmp_path):
    """E misses 3 of 4 calls (--mind 0.5 removes it); v1 misses D and E: 2/5 = 0.4 over all
    samples, 1/4 = 0.25 over the kept ones, so --geno 0.3 keeps it only with plink2's order."""
    vcf = _vcf(
        tmp_path,
        list("ABCDE"),
        [
            ["0/1", "0/0", "1/1", "./.", "./."],
            ["0/1", "0/0", "1/1", "0/1", "./."],
            ["0/0", "0/1", "1/1", "0/1", "./."],
            ["0/0", "0/1", "1/1", "0/1", "0/1"],
        ],
    )
    kept, samples, g = ours(vcf, max_sample_missing=0.5, max_variant_missing=0.3)
    assert samples == list("ABCD") and kept == ["1:10:A:C", "1:20:A:C", "1:30:A:C", "1:40:A:C"]
    assert g.variants["missing_rate"].tolist()[0] == 0.25
    assert (kept, samples) == plink2_kept(vcf, tmp_path / "p", "--mind", "0.5", "--geno", "0.3")


def test_maf_keeps_a_variant_exactly_at_the_threshold(tmp_path):
    # 4 diploid samples = 8 alleles: minor allele counts 0, 1 (MAF 0.125 exactly), 2; ALT-major 7/8 too
    vcf = _vcf(
        tmp_path,
        list("ABCD"),
        [["0/0"] * 4, ["0/1", "0/0", "0/0", "0/0"], ["0/1", "0/1", "0/0", "0/0"], ["1/1", "1/1", "1/1", "0/1"]],
    )
    kept, _, g = ours(vcf, min_maf=0.125)
    assert kept == ["1:20:A:C", "1:30:A:C", "1:40:A:C"]
    assert g.variants["MAF"].tolist() == [0.125, 0.25, 0.125]
    assert kept == plink2_kept(vcf, tmp_path / "p", "--maf", "0.125")[0]
    need("bcftools")
    text = subprocess.run(
        ["bcftools", "view", "-H", "-q", "0.125:minor", str(vcf)], capture_output=True, text=True, check=True
    ).stdout
    assert [f"1:{line.split()[1]}:A:C" for line in text.splitlines()] == kept


def test_hwe_keeps_a_variant_whose_p_equals_the_threshold(tmp_path):
    # genotypes 1/1, 0/0 (no het): P = P(het = 0) = 1/3 exactly (2 of the 3 equally likely... by hand:
    # with 2 REF and 2 ALT alleles in 2 people, het = 0 has probability 1/3, het = 2 has 2/3)
    vcf = _vcf(tmp_path, list("AB"), [["1/1", "0/0"], ["0/1", "0/1"], ["0/0", "0/0"]])
    assert hwe_exact_p(0, 1, 1) == 1 / 3
    kept, _, _ = ours(vcf, hwe_p=1 / 3)
    assert kept == ["1:10:A:C", "1:20:A:C", "1:30:A:C"]
    kept_above, _, _ = ours(vcf, hwe_p=0.34)
    assert kept_above == ["1:20:A:C", "1:30:A:C"]
    assert kept == plink2_kept(vcf, tmp_path / "p", "--hwe", repr(1 / 3))[0]
    assert kept_above == plink2_kept(vcf, tmp_path / "q", "--hwe", "0.34")[0]


def _missing_vcf(tmp_path: Path) -> Path:
    """Six samples, eight variants, every kind of missing call; F misses 5 of 8 (--mind 0.5 removes it)."""
    rows = [
        ["0/1", "./.", "1/1", "0/0", "0|1", "./."],
        ["0/0", "0/.", "0/1", "1/1", "0/0", "./."],
        ["1/1", "0/1", "./.", "0/1", "./1", "1/1"],
        ["0/1", "0/1", "0/0", "./.", "0/0", "./."],
        ["0/0", "1/1", "0/1", "0/1", "1|1", "./."],
        ["./.", "0/0", "0/1", "0/0", "0/1", "0/1"],
        ["0/1", "0/1", "1/1", "0/0", "0/0", "./."],
        ["0/0", "0/1", "0/1", "./.", "0/1", "0/0"],
    ]
    return _vcf(tmp_path, list("ABCDEF"), rows)


def test_samples_tsv_missing_rates_equal_plink2_smiss(tmp_path):
    """samples.tsv: missing_rate_loaded = plink2 --missing F_MISS over all loaded variants;
    missing_rate = F_MISS over the final matrix (after --mind 0.5, then --geno 0.2)."""
    vcf = _missing_vcf(tmp_path)
    _, samples, g = ours(vcf, max_sample_missing=0.5, max_variant_missing=0.2)
    assert samples == list("ABCDE")
    assert plink2(vcf, tmp_path / "all", "--missing").returncode == 0
    smiss = read_plink_table(tmp_path / "all.smiss").set_index("IID")
    assert g.samples["missing_rate_loaded"].tolist() == smiss.loc[samples, "rate"].tolist()
    assert smiss.loc["F", "rate"] == 5 / 8
    kept_variants, kept_samples = plink2_kept(vcf, tmp_path / "f", "--mind", "0.5", "--geno", "0.2")
    assert kept_samples == samples
    # the final matrix's per-sample missing rate = plink2 --missing on the filtered data set
    subset = tmp_path / "keep"
    subset.with_suffix(".snps").write_text("\n".join(kept_variants) + "\n")
    subset.with_suffix(".ids").write_text("\n".join(kept_samples) + "\n")
    assert (
        plink2(
            vcf,
            tmp_path / "fin",
            "--extract",
            str(subset.with_suffix(".snps")),
            "--keep",
            str(subset.with_suffix(".ids")),
            "--missing",
        ).returncode
        == 0
    )
    final = read_plink_table(tmp_path / "fin.smiss").set_index("IID")
    assert g.samples["missing_rate"].tolist() == final.loc[samples, "rate"].tolist()
    vmiss = read_plink_table(tmp_path / "fin.vmiss")
    assert g.variants["missing_rate"].tolist() == vmiss["rate"].tolist()
    # and by hand: A..E over the 4 variants --geno 0.2 keeps (1/5 missing at most)
    dosage = np.asarray(g.dosage)
    assert g.samples["missing_rate"].tolist() == (dosage < 0).mean(axis=1).tolist()


def test_real_file_mind_and_strict_geno_interact_like_plink2(tmp_path):
    """NYGC chr22 (68 % missing): --mind 0.7 removes 73 samples, after which the strict
    --geno 0.1 keeps variants it would remove over all 100 samples."""
    if not NYGC_CHR22.exists():
        pytest.skip(f"shared data not found: {NYGC_CHR22}")
    split = bcftools_split(NYGC_CHR22, tmp_path / "split.vcf")
    kept, samples, _ = ours(NYGC_CHR22, max_sample_missing=0.7, max_variant_missing=0.1)
    only_geno, _, _ = ours(NYGC_CHR22, max_variant_missing=0.1)
    assert len(samples) == 27 and len(kept) > len(only_geno)  # the two filters interact on this file
    expected = plink2_kept(split, tmp_path / "p", "--mind", "0.7", "--geno", "0.1")
    assert ([k.removeprefix("chr") for k in kept], samples) == expected
