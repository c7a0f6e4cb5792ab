"""bcftools and plink2 as the variant tests call them: one place for the command lines and readers.

Used by tests/unit/test_variants_{boundaries,ploidy,reference}.py and tests/e2e/test_variants_real.py.
Every helper needs the tool (:func:`need`): it skips with the reason, or fails in strict mode
(``GENOPREP_STRICT_TESTS=1``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from tests.conftest import require_tool


def need(*tools: str) -> None:
    """Skip without the tools, fail without them in strict mode (GENOPREP_STRICT_TESTS=1)."""
    for tool in tools:
        require_tool(tool)


def run(cmd: list[str], **kw) -> str:
    """The standard output of a command that must succeed."""
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def bcftools_split(vcf: Path, out: Path) -> Path:
    """``bcftools norm -m-`` of ``vcf`` (multi-allelic records split) with INFO removed, so that
    AC/AN (``bcftools view -q``, plink2) come from the genotypes; written to ``out`` (VCF)."""
    need("bcftools")
    norm = subprocess.run(["bcftools", "norm", "-m-", str(vcf)], check=True, capture_output=True)
    subprocess.run(
        ["bcftools", "annotate", "-x", "INFO", "-Ov", "-o", str(out)],
        input=norm.stdout,
        check=True,
        capture_output=True,
    )
    return out


def plink2(vcf: Path, prefix: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """plink2 on a VCF with our semantics (half-calls missing, ids chrom:pos:ref:alt), one thread.
    Not checked: a run that stops (e.g. no variant left) is for the caller to judge."""
    need("plink2")
    command = [
        "plink2",
        "--vcf",
        str(vcf),
        "--vcf-half-call",
        "missing",
        "--allow-extra-chr",
        "--set-all-var-ids",
        "@:#:$r:$a",
        "--new-id-max-allele-len",
        "1000",
        "--threads",
        "1",
        "--out",
        str(prefix),
        *flags,
    ]
    return subprocess.run(command, capture_output=True, text=True)


def plink2_kept(vcf: Path, prefix: Path, *flags: str) -> tuple[list[str], list[str]]:
    """(variant ids, sample ids) that plink2 keeps with ``flags``."""
    done = plink2(vcf, prefix, *flags, "--write-snplist", "--write-samples")
    assert done.returncode == 0, done.stdout[-2000:]
    return read_snplist(prefix), read_sample_ids(prefix)


def read_snplist(prefix: Path) -> list[str]:
    """The variant ids of ``--write-snplist``."""
    return Path(f"{prefix}.snplist").read_text().split()


def read_sample_ids(prefix: Path) -> list[str]:
    """The sample ids (IID, last column) of ``--write-samples``."""
    return [line.split("\t")[-1] for line in Path(f"{prefix}.id").read_text().splitlines()[1:]]


def plink2_dosage(prefix: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(sample ids, variant ids, dosage samples × variants) of ``--export A``: plink2 counts REF
    copies (A1 = REF), so the ALT dosage is 2 - count, -1 where missing."""
    raw = pd.read_csv(f"{prefix}.raw", sep="\t", na_values="NA")
    ref_copies = raw.iloc[:, 6:].to_numpy(dtype=np.float64)
    dosage = np.where(np.isnan(ref_copies), -1, 2 - np.nan_to_num(ref_copies)).astype(np.int8)
    variants = [name.rsplit("_", 1)[0] for name in raw.columns[6:]]
    return raw["IID"].astype(str).tolist(), variants, dosage


def read_plink_table(path: Path) -> pd.DataFrame:
    """A plink2 --missing report (``#`` dropped from the header); ``rate`` = MISSING_CT / OBS_CT
    exactly (plink2 prints F_MISS with six digits)."""
    table = pd.read_csv(path, sep="\t", dtype={"IID": str, "#IID": str})
    table = table.rename(columns=lambda c: c.removeprefix("#"))
    table["rate"] = table["MISSING_CT"] / table["OBS_CT"]
    return table


def site_keys(table: pd.DataFrame) -> list[tuple]:
    """(chrom, pos, ref, alt) of each row of a variants table."""
    return list(zip(table["chrom"], table["pos"], table["ref"], table["alt"], strict=True))


def plink_ids(table: pd.DataFrame) -> list[str]:
    """IDs as plink2 ``--set-all-var-ids @:#:$r:$a`` writes them ('chr' prefix dropped)."""
    return [f"{c.removeprefix('chr')}:{p}:{r}:{a}" for c, p, r, a in site_keys(table)]


def variant_params(**overrides: object) -> dict:
    """A variants card's ``params`` as the card loader fills them (the schema's defaults, so no
    test repeats them), with ``overrides`` on top."""
    from genoprep import cards

    params: dict = {}
    cards.validate(params, cards.modality_schema("variants")["properties"]["params"], "variant_params")
    params.update(overrides)
    return params
