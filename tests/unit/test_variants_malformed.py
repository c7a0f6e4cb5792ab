"""A catalogue of malformed and awkward VCFs, through the variants steps as the workflow runs them.

Each bad input must stop with exactly one :class:`InputError` line that names the file and
the problem; each awkward-but-valid one (byte-order mark, CRLF, no final newline, gzip
content under a ``.vcf`` name, blank lines, unsorted records) must read with clean ids and
the right dosages. ``tests/e2e/test_variants_malformed.py`` runs the same catalogue
through the workflow (exit status, the terminal line, nothing left in the results folder).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from genoprep.errors import InputError
from genoprep.variants.steps import (
    ChunkOptions,
    GatherOptions,
    PlanOptions,
    check_kept,
    gather_dataset,
    plan,
    read_planned_chunk,
)
from tests.unit.test_variants_seek import write_bgzf
from tests.variant_tools import variant_params

GT_FORMAT = '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
DP_FORMAT = '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
META = "##fileformat=VCFv4.2\n##contig=<ID=1,length=100000>\n"
HEADER = META + GT_FORMAT + DP_FORMAT
COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT"
CHROM = COLUMNS + "\tA\tB\tC\n"
#: three good records: dosages A = [1, 0, 2], B = [2, 1, 1], C = [0, 1, 0]
GOOD_RECORDS = [
    "1\t100\tv1\tA\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0",
    "1\t200\tv2\tC\tT\t.\tPASS\t.\tGT\t0/0\t0|1\t1|0",
    "1\t300\tv3\tG\tA\t.\tPASS\t.\tGT:DP\t1/1:7\t0/1:3\t0/0:9",
]
GOOD_DOSAGE = [[1, 0, 2], [2, 1, 1], [0, 1, 0]]  # samples x variants
GOOD_TEXT = HEADER + CHROM + "".join(r + "\n" for r in GOOD_RECORDS)


def _records(*lines: str) -> str:
    return HEADER + CHROM + "".join(line + "\n" for line in lines)


def _bgzf(text: bytes, folder: Path, name: str) -> bytes:
    cut = text.index(b"\n", text.index(b"#CHROM")) + 1
    path, _ = write_bgzf(folder / f"{name}.tmp", text[:cut], text[cut:], block_text=64)
    data = path.read_bytes()
    path.unlink()
    return data


def _truncated_bgzf(folder: Path) -> bytes:
    data = _bgzf(GOOD_TEXT.encode(), folder, "t")
    return data[: len(data) - 60]  # cut inside the last data block (the EOF block is 28 bytes)


def _damaged_gzip(_: Path) -> bytes:
    data = bytearray(gzip.compress(GOOD_TEXT.encode() * 20, mtime=0))
    middle = len(data) // 2
    data[middle : middle + 8] = b"\xff" * 8
    return bytes(data)


@dataclass(frozen=True)
class Case:
    """One input: its file name, its bytes (a function of a scratch folder), and the outcome.

    ``problem`` is the text the one error line must hold (None: the input is valid).
    ``plan``/``load`` override card fields.
    """

    name: str
    file_name: str
    content: Callable[[Path], bytes]
    problem: str | None
    card_input: dict = field(default_factory=dict)
    card_params: dict = field(default_factory=dict)


def _text(text: str) -> Callable[[Path], bytes]:
    return lambda _: text.encode()


BAD = [
    Case("empty", "empty.vcf", _text(""), "empty file: no VCF header"),
    Case("empty_gzip", "empty_gzip.vcf.gz", lambda _: gzip.compress(b"", mtime=0), "empty file: no VCF header"),
    Case("empty_bgzf", "empty_bgzf.vcf.gz", lambda d: _bgzf(b"#CHROM\n", d, "e")[-28:], "empty file: no VCF header"),
    Case(
        "truncated_header",
        "truncated_header.vcf",
        _text(META + "##FORMAT=<ID=GT,Number=1,Type=Str"),
        "the header ends without a #CHROM line (truncated header?)",
    ),
    Case(
        "no_chrom_line",
        "no_chrom_line.vcf",
        _text(HEADER + "".join(r + "\n" for r in GOOD_RECORDS)),
        "line 5: no #CHROM header line before the first data line",
    ),
    Case("csv_named_vcf", "table.vcf", _text("sample,population\nA,GBR\n"), "not a VCF: the first line"),
    Case(
        "png_named_vcf",
        "picture.vcf",
        lambda _: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        "not a VCF: the first line",
    ),
    Case(
        "sites_only",
        "sites_only.vcf",
        _text(HEADER + COLUMNS.rsplit("\t", 1)[0] + "\n1\t5\t.\tA\tC\t.\t.\t.\n"),
        "#CHROM line: the VCF has no sample columns",
    ),
    Case(
        "duplicate_samples",
        "duplicate_samples.vcf",
        _text(HEADER + COLUMNS + "\tA\tB\tA\n" + GOOD_RECORDS[0] + "\n"),
        "#CHROM line: duplicate sample id 'A' (columns 10 and 12)",
    ),
    Case(
        "no_gt_field",
        "no_gt_field.vcf",
        _text(META + DP_FORMAT + CHROM + "1\t100\t.\tA\tG\t.\tPASS\t.\tDP\t3\t4\t5\n"),
        "no GT FORMAT field (the header declares none and the first record has none)",
    ),
    Case(
        "no_gt_in_records",
        "no_gt_in_records.vcf",
        _text(_records("1\t100\t.\tA\tG\t.\tPASS\t.\tDP\t3\t4\t5", "1\t200\t.\tA\tG\t.\tPASS\t.\tDP\t1\t1\t1")),
        "no record has a GT field: there are no genotypes to read",
    ),
    Case(
        "row_too_short",
        "row_too_short.vcf",
        _text(_records(GOOD_RECORDS[0], "1\t200\t.\tC\tT\t.\tPASS\t.\tGT\t0/0\t0/1")),
        "record 2: expected 12 tab-separated columns, found 11",
    ),
    Case(
        "row_too_long",
        "row_too_long.vcf",
        _text(_records(GOOD_RECORDS[0], GOOD_RECORDS[1] + "\t0/1")),
        "record 2: expected 12 tab-separated columns, found 13",
    ),
    Case(
        "gt_not_a_number",
        "gt_not_a_number.vcf",
        _text(_records(GOOD_RECORDS[0], "1\t200\t.\tC\tT\t.\tPASS\t.\tGT\t0/0\t0/A\t1/1")),
        "record 2 (1:200): GT '0/A' is not a number or '.'",
    ),
    Case(
        "allele_beyond_alt",
        "allele_beyond_alt.vcf",
        _text(_records("1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/2\t0/0\t0/1")),
        "record 1 (1:100): GT '0/2' refers to allele 2 but the record has 1 ALT allele(s)",
    ),
    Case(
        "ploidy_three",
        "ploidy_three.vcf",
        _text(_records("1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1/1\t0/0\t0/1")),
        "record 1 (1:100): GT '0/1/1' has ploidy 3",
    ),
    Case(
        "pos_not_a_number",
        "pos_not_a_number.vcf",
        _text(_records("1\tabc\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0\t0/1")),
        "record 1 (1:abc): POS 'abc' is not an integer",
    ),
    Case(
        "truncated_bgzf",
        "truncated_bgzf.vcf.gz",
        _truncated_bgzf,
        "truncated gzip: the file ends inside the BGZF block",
    ),
    Case(
        "truncated_gzip",
        "truncated_gzip.vcf.gz",
        lambda _: gzip.compress(GOOD_TEXT.encode(), mtime=0)[:-30],
        "truncated gzip: the file ends before",
    ),
    Case("damaged_gzip", "damaged_gzip.vcf.gz", _damaged_gzip, "damaged gzip"),
    Case(
        "format_says_bcf",
        "format_says_bcf.vcf",
        _text(GOOD_TEXT),
        "the card says format bcf but the file is VCF",
        card_input={"format": "bcf"},
    ),
    Case(
        "unknown_sample",
        "unknown_sample.vcf",
        _text(GOOD_TEXT),
        "1 requested sample(s) not in the file: Z",
        card_params={"samples": ["A", "Z"]},
    ),
]

GOOD = [
    Case("byte_order_mark", "bom.vcf", lambda _: b"\xef\xbb\xbf" + GOOD_TEXT.encode(), None),
    Case(
        "byte_order_mark_on_chrom",
        "bom_chrom.vcf",
        lambda _: b"\xef\xbb\xbf" + (CHROM + "".join(r + "\n" for r in GOOD_RECORDS)).encode(),
        None,
    ),
    Case("crlf", "crlf.vcf", _text(GOOD_TEXT.replace("\n", "\r\n")), None),
    Case("crlf_bgzf", "crlf_bgzf.vcf.gz", lambda d: _bgzf(GOOD_TEXT.replace("\n", "\r\n").encode(), d, "c"), None),
    Case("no_final_newline", "no_final_newline.vcf", _text(GOOD_TEXT.rstrip("\n")), None),
    Case("gzip_named_vcf", "gzip_named.vcf", lambda _: gzip.compress(GOOD_TEXT.encode(), mtime=0), None),
    Case("blank_lines", "blank_lines.vcf", _text(GOOD_TEXT.replace("\n1\t200", "\n\n1\t200")), None),
]

#: unsorted records are read in file order (plink2 --export A and bcftools query keep it too)
UNSORTED = Case("unsorted", "unsorted.vcf", _text(_records(GOOD_RECORDS[2], GOOD_RECORDS[0], GOOD_RECORDS[1])), None)

NO_FILTERS = {"min_maf": None, "max_variant_missing": None, "max_sample_missing": None}


def card_for(case: Case, path: Path) -> dict:
    """A complete card as the loader would fill it (schema defaults) for one case."""
    params = variant_params(records_per_chunk=2)
    return {
        "dataset_id": case.name,
        "modality": "variants",
        "input": {"path": str(path), "format": "auto", **case.card_input},
        "params": {**params, **case.card_params},
    }


def write_case(case: Case, folder: Path) -> Path:
    path = folder / case.file_name
    path.write_bytes(case.content(folder))
    return path


def run_steps(path: Path, card: dict, folder: Path):
    """plan → every chunk → gather → guard, as the workflow's three rules do."""
    chunk_plan = json.loads(json.dumps(plan(path, PlanOptions.from_card(card))))
    chunk_options = ChunkOptions.from_card(card)
    paths = []
    for i in range(len(chunk_plan["chunks"])):
        paths.append(folder / f"{i}.npz")
        read_planned_chunk(path, chunk_plan, i, chunk_options).save(paths[-1])
    options = GatherOptions.from_card(card)
    result, _, _ = gather_dataset(paths, options)
    check_kept(result, options)
    return result


@pytest.mark.parametrize("case", BAD, ids=[c.name for c in BAD])
def test_bad_vcf_is_one_line_naming_the_file_and_problem(case, tmp_path):
    path = write_case(case, tmp_path)
    with pytest.raises(InputError) as info:
        run_steps(path, card_for(case, path), tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert case.problem in message


@pytest.mark.parametrize("case", [*GOOD, UNSORTED], ids=[c.name for c in [*GOOD, UNSORTED]])
def test_awkward_but_valid_vcf_reads_with_clean_ids(case, tmp_path):
    path = write_case(case, tmp_path)
    card = card_for(case, path)
    card["params"].update(NO_FILTERS)
    result = run_steps(path, card, tmp_path)
    assert result.samples["sample_id"].tolist() == ["A", "B", "C"]
    expected = np.array(GOOD_DOSAGE, dtype=np.int8)  # samples x variants
    if case is UNSORTED:
        assert result.variants["id"].tolist() == ["v3", "v1", "v2"]
        expected = expected[:, [2, 0, 1]]
    else:
        assert result.variants["id"].tolist() == ["v1", "v2", "v3"]
    assert np.asarray(result.dosage).tolist() == expected.tolist()
    assert result.variants["pos"].dtype == np.int64


def test_catalogue_has_at_least_fifteen_malformed_cases():
    assert len({c.name for c in BAD}) >= 15 and len({c.file_name for c in BAD + GOOD}) == len(BAD + GOOD)


@pytest.mark.parametrize("blank_bytes", [0, (1 << 20) - 1, (1 << 20) + 5, 3 << 20])
@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"])
def test_first_record_after_many_blank_lines(tmp_path: Path, blank_bytes: int, line_end: bytes) -> None:
    # A VCF whose header declares no GT: whether it has genotypes is read from the first record's
    # FORMAT. Blank lines before it (more than the 1 MiB the reader used to look at, all in the same
    # 8 MiB text block) must not hide it: before, the record was skipped and the file refused.
    from genoprep.variants import vcfio

    head = b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\n"
    record = b"1\t10\t.\tA\tG\t.\tPASS\t.\tGT\t0/1"
    blanks = (line_end * (blank_bytes // len(line_end) + 1))[:blank_bytes]
    if blanks.endswith(b"\r"):
        blanks = blanks[:-1]
    path = tmp_path / "blank.vcf"
    path.write_bytes(head + blanks + record + line_end + record.replace(b"\t10\t", b"\t11\t") + line_end)
    vcf = vcfio.VcfText(path)
    first = vcf.first_record()
    assert first == record + line_end[:-1]  # the line without its "\n" (a CR stays, as the decoder reads it)
    assert not vcf.header.declares_gt
    vcfio.check_has_gt(vcf.header, first)  # GT in the first record's FORMAT: accepted
    assert sum(len(block) for block in vcf.data_blocks()) == path.stat().st_size - len(head)  # nothing lost
