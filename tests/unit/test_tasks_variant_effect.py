"""Reference access and variant windows: hand-made references, then ClinVar MT on the rCRS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from Bio import SeqIO

from genoprep.errors import InputError
from genoprep.tasks.fasta import Reference, build_index
from genoprep.tasks.variant_effect import VariantEffectOptions, read_variants, split_arrays, variant_windows
from tests.conftest import shared_data

LABEL_MAP = {
    "Pathogenic": 1,
    "Likely_pathogenic": 1,
    "Pathogenic/Likely_pathogenic": 1,
    "Benign": 0,
    "Likely_benign": 0,
    "Benign/Likely_benign": 0,
}


def options(**changes) -> VariantEffectOptions:
    settings = {
        "width": 11,
        "label_field": "CLNSIG",
        "label_map": LABEL_MAP,
        "ref_mismatch": "drop",
        "circular": ("MT",),
        "contig_aliases": {"chrM": "MT"},
        "match_chr_prefix": True,
        "tokenizers": ("char", "kmer_counts"),
        "kmer_k": 3,
        "dnabert_k": 6,
        "region_bp": 1000,
        "min_fraction_kept": 0.5,
    }
    settings.update(changes)
    return VariantEffectOptions(**settings)


CIRC = "ACGTTGCAAGGCTTAACCGG"  # 20 bp
LINEAR = "TTTTTCCCCCGGGGGAAAAA"


@pytest.fixture
def reference(tmp_path: Path) -> Reference:
    path = tmp_path / "ref.fa"
    # line widths 7 and 6: the index must handle both, and CRLF line ends
    body_mt = "\r\n".join(CIRC[i : i + 7] for i in range(0, 20, 7))
    body_1 = "\n".join(LINEAR[i : i + 6] for i in range(0, 20, 6))
    path.write_bytes(f">MT rCRS-like\r\n{body_mt}\r\n>1\n{body_1}\n".encode())
    return Reference(path)


def test_fetch_equals_string_slices(reference: Reference) -> None:
    for contig, seq in (("MT", CIRC), ("1", LINEAR)):
        for start in range(20):
            for end in range(start, 21):
                assert reference.fetch(contig, start, end) == seq[start:end]


def test_uneven_lines_inside_a_contig_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.fa"
    path.write_text(">a\nACGT\nAC\nACGT\n")
    with pytest.raises(InputError, match="contig a, line 4: lines of different lengths"):
        build_index(path)


def test_windows_centre_wrap_pad_and_keep_width(reference: Reference) -> None:
    # SNV in the middle: 5 bases before the variant
    ref_w, alt_w, how = variant_windows(reference, "MT", 10, "G", "T", 11, circular=True)
    assert (ref_w, how) == (CIRC[4:15], "inside") and alt_w == CIRC[4:9] + "T" + CIRC[10:15]
    # position 2 on the circular contig: the window starts 4 bases before position 1
    ref_w, alt_w, how = variant_windows(reference, "MT", 2, "C", "A", 11, circular=True)
    assert how == "wrapped" and ref_w == CIRC[-4:] + CIRC[:7]
    assert alt_w == CIRC[-4:] + CIRC[0] + "A" + CIRC[2:7]
    assert ref_w[5] == "C" and alt_w[5] == "A"
    # near the end (position 19): wraps past 20 back to 1
    ref_w, _, how = variant_windows(reference, "MT", 19, "G", "A", 11, circular=True)
    assert how == "wrapped" and ref_w == CIRC[13:20] + CIRC[:4]
    # a linear contig is padded with N instead
    ref_w, _, how = variant_windows(reference, "1", 2, "T", "A", 11, circular=False)
    assert how == "padded" and ref_w == "NNNN" + LINEAR[:7]
    # a deletion pulls the right flank in, an insertion pushes it out: the width stays
    ref_w, alt_w, _ = variant_windows(reference, "1", 10, "CGG", "C", 11, circular=False)
    assert ref_w == LINEAR[4:15] and alt_w == LINEAR[4:9] + "C" + LINEAR[12:17]
    ref_w, alt_w, _ = variant_windows(reference, "1", 10, "C", "CAAAA", 11, circular=False)
    assert alt_w == LINEAR[4:9] + "CAAAA" + LINEAR[10:11] and len(alt_w) == 11


def write_vcf(path: Path, records: list[str]) -> Path:
    header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    path.write_text(header + "".join(r + "\n" for r in records))
    return path


def test_ref_check_labels_and_aliases(reference: Reference, tmp_path: Path) -> None:
    vcf = write_vcf(
        tmp_path / "v.vcf",
        [
            "chrM\t10\tv1\tG\tT\t.\t.\tCLNSIG=Pathogenic",
            "MT\t11\tv2\tC\tA\t.\t.\tCLNSIG=Benign",  # reference has G at 11: mismatch
            "MT\t12\tv3\tC\tG\t.\t.\tCLNSIG=Uncertain_significance",
            "chr1\t6\tv4\tC\tG,T\t.\t.\tCLNSIG=Likely_benign",  # chr prefix removed; two alleles
            "2\t5\tv5\tA\tC\t.\t.\tCLNSIG=Benign",  # contig absent
            "MT\t13\tv6\tT\tC\t.\t.\tCLNREVSTAT=x",  # no label field
        ],
    )
    table = read_variants(vcf, reference, options())
    assert [v.id for v in table.variants] == ["v1", "v4:G", "v4:T"]
    assert [v.label for v in table.variants] == [1, 0, 0]
    assert table.dropped == {"label_not_mapped": 1, "no_label_field": 1, "ref_mismatch": 1, "unknown_contig": 1}
    assert table.dropped_labels == {"Uncertain_significance": 1}
    assert table.ref_mismatches == ["MT:11 REF C, reference G"]
    assert table.contigs == {"chrM": "MT", "MT": "MT", "chr1": "1", "2": "not in the reference"}
    with pytest.raises(InputError, match=r"line 4 \(MT:11 C>A\): REF C differs from the reference base\(s\) G"):
        read_variants(vcf, reference, options(ref_mismatch="error"))


def test_split_arrays_tokenise_both_windows(reference: Reference, tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "v.vcf", ["MT\t10\tv1\tG\tT\t.\t.\tCLNSIG=Pathogenic"])
    arrays = split_arrays(read_variants(vcf, reference, options()).variants, options())
    char = {"A": 0, "C": 1, "G": 2, "T": 3}
    assert arrays["ref_char"][0].tolist() == [char[b] for b in CIRC[4:15]]
    assert arrays["alt_char"][0].tolist() == [char[b] for b in CIRC[4:9] + "T" + CIRC[10:15]]
    # 3-mer counts: 9 windows each; only the 3 k-mers covering the variant differ
    difference = arrays["alt_kmer_counts"] - arrays["ref_kmer_counts"]
    assert arrays["ref_kmer_counts"].sum() == 9 and np.abs(difference).sum() == 6


# --------------------------------------------------------------- real data: ClinVar MT + rCRS


def clinvar() -> tuple[Path, Path]:
    return (
        shared_data("variant_effect", "clinvar_mt_snv_20220525_labels.vcf"),
        shared_data("variant_effect", "rcrs_mt_reference.fa"),
    )


def test_clinvar_windows_equal_the_reference_slices() -> None:
    vcf, fasta = clinvar()
    rcrs = str(next(SeqIO.parse(fasta, "fasta")).seq).upper()  # Biopython: an independent reader
    assert len(rcrs) == 16569
    width = 2001  # wide enough that the first labelled variants (from 578) and the last ones wrap
    table = read_variants(vcf, Reference(fasta), options(width=width))
    labels = [v.label for v in table.variants]
    assert labels.count(1) == 255 and labels.count(0) == 1430
    assert table.dropped == {"label_not_mapped": 1064}  # every REF matches the rCRS
    doubled = rcrs * 3
    left = (width - 1) // 2
    wrapped = 0
    for v in table.variants:
        start = v.pos - 1 - left + len(rcrs)  # index into the tripled genome
        assert v.ref_window == doubled[start : start + width]
        assert v.alt_window[:left] == v.ref_window[:left] and v.alt_window[left + 1 :] == v.ref_window[left + 1 :]
        assert v.ref_window[left] == v.ref and v.alt_window[left] == v.alt != v.ref
        wrapped += not (v.pos - 1 - left >= 0 and v.pos + left <= len(rcrs))
    positions = [v.pos for v in table.variants]
    assert min(positions) - 1 < left and max(positions) + left > len(rcrs)
    assert table.n_wrapped == wrapped > 0


def test_clinvar_wrong_ref_is_reported(tmp_path: Path) -> None:
    vcf, fasta = clinvar()
    lines = vcf.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    fields = lines[first].split("\t")
    wrong = {"A": "C", "C": "G", "G": "T", "T": "A"}[fields[3]]
    lines[first] = "\t".join(fields[:3] + [wrong] + fields[4:])
    broken = tmp_path / "broken.vcf"
    broken.write_text("\n".join(lines) + "\n")
    table = read_variants(broken, Reference(fasta), options())
    assert table.dropped["ref_mismatch"] == 1
    assert table.ref_mismatches == [f"MT:{fields[1]} REF {wrong}, reference {fields[3]}"]
    with pytest.raises(InputError, match=f"MT:{fields[1]} {wrong}>"):
        read_variants(broken, Reference(fasta), options(ref_mismatch="error"))
