"""Haploid chrX calls of males, half-calls and multi-allelic sites, checked by bcftools and plink2.

The real VCFs have no haploid or half calls and few multi-allelic records, so this small
file holds all three; the expected values are written by hand and the same file goes
through ``bcftools norm -m-`` + ``query`` (dosage), and plink2 with the samples' sex
(``--freq counts`` = AC/AN, ``--missing``). Mixed ploidy is read as bcftools and plink2 do:
a haploid call counts one allele (AN 1), a diploid call two, in the same record.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from genoprep.variants import FilterParams, gather, read_all
from tests.conftest import require_tool
from tests.variant_tools import plink2, read_plink_table

SAMPLES = ["M1", "M2", "F1", "F2"]  # two males (haploid on chrX), two females
RECORDS = [
    "1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/.\t./1\t1/1\t0/1",  # half-calls are missing
    "1\t200\t.\tA\tC,G\t.\tPASS\t.\tGT\t1/2\t0/2\t2/2\t./.",  # multi-allelic, split per ALT
    "X\t5000000\t.\tA\tG\t.\tPASS\t.\tGT\t1\t0\t0/1\t1/1",  # haploid males, diploid females
    "X\t6000000\t.\tC\tT\t.\tPASS\t.\tGT\t.\t1\t0/.\t./.",
    "X\t7000000\t.\tG\tC,T\t.\tPASS\t.\tGT\t2\t1\t1/2\t0/0",  # haploid and multi-allelic
]
#: by hand: one row per ALT (bcftools norm -m-), columns M1 M2 F1 F2; −1 missing
DOSAGE = [
    [-1, -1, 2, 1],
    [1, 0, 0, -1],  # ALT C: 1/2 -> 1/0, 0/2 -> 0/0, 2/2 -> 0/0
    [1, 1, 2, -1],  # ALT G
    [1, 0, 1, 2],
    [-1, 1, -1, -1],
    [0, 1, 1, 0],  # ALT C: 2 -> 0, 1 -> 1
    [1, 0, 1, 0],  # ALT T
]
#: by hand: (AC, AN) per column — a haploid call has one allele, a half-call none
AC_AN = [(3, 4), (1, 6), (4, 6), (4, 6), (1, 1), (2, 6), (2, 6)]


@pytest.fixture
def vcf(tmp_path: Path) -> Path:
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=100000>\n##contig=<ID=X,length=156040895>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(SAMPLES) + "\n"
    )
    path = tmp_path / "ploidy.vcf"
    path.write_text(header + "".join(r + "\n" for r in RECORDS))
    return path


@pytest.mark.parametrize("engine", ["text", "cyvcf2"])
def test_dosage_and_counts_by_hand(vcf, engine):
    g = gather(
        [read_all(vcf, engine=engine)], FilterParams(min_maf=None, max_variant_missing=None, max_sample_missing=None)
    )
    assert np.asarray(g.dosage).T.tolist() == DOSAGE
    assert list(zip(g.variants["AC"], g.variants["AN"], strict=True)) == AC_AN
    assert g.variants["alt"].tolist() == ["G", "C", "G", "G", "T", "C", "T"]


def test_dosage_equals_bcftools_norm_then_query(vcf, tmp_path):
    require_tool("bcftools")
    split = subprocess.run(["bcftools", "norm", "-m-", str(vcf)], check=True, capture_output=True).stdout
    text = subprocess.run(
        ["bcftools", "query", "-f", "[%GT\t]\n", "-"], input=split, check=True, capture_output=True
    ).stdout.decode()
    expected = []
    for line in text.splitlines():
        row = []
        for gt in line.rstrip("\t").split("\t"):
            alleles = gt.replace("|", "/").split("/")
            row.append(-1 if "." in alleles else sum(a != "0" for a in alleles))
        expected.append(row)
    assert read_all(vcf).dosage_by_variant.tolist() == expected == DOSAGE


def test_counts_and_missing_rates_equal_plink2_with_sex(vcf, tmp_path):
    """plink2 with the males' sex: AC/AN (--freq counts), per-variant and per-sample missing."""
    require_tool("bcftools")
    split = tmp_path / "split.vcf"
    subprocess.run(["bcftools", "norm", "-m-", "-Ov", "-o", str(split), str(vcf)], check=True, capture_output=True)
    sex = tmp_path / "sex.txt"
    sex.write_text("#IID\tSEX\nM1\t1\nM2\t1\nF1\t2\nF2\t2\n")
    done = plink2(split, tmp_path / "p", "--update-sex", str(sex), "--freq", "counts", "--missing")
    assert done.returncode == 0, done.stdout[-2000:]
    g = gather([read_all(vcf)], FilterParams(min_maf=None, max_variant_missing=None, max_sample_missing=None))
    counts = read_plink_table(tmp_path / "p.vmiss")
    freq = Path(tmp_path / "p.acount").read_text().splitlines()[1:]
    assert [(int(f.split("\t")[4]), int(f.split("\t")[5])) for f in freq] == AC_AN
    assert list(zip(g.variants["AC"], g.variants["AN"], strict=True)) == AC_AN
    assert g.variants["missing_rate"].tolist() == counts["rate"].tolist()
    smiss = read_plink_table(tmp_path / "p.smiss").set_index("IID")
    assert g.samples["missing_rate_loaded"].tolist() == smiss.loc[SAMPLES, "rate"].tolist()
