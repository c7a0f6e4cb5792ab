"""Property tests: any bytes given to the text readers parse or raise InputError, never another exception.

Covers the FASTA reader, the CSV/TSV table readers (metadata and bulk expression tables) and
the VCF text path of the variants plan/chunk steps, with raw bytes and near-valid structured
text (plain and gzip). Examples are bounded so the whole file takes about a minute.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from genoprep.bulk.io import read_expression_table
from genoprep.dna.io import read_fasta
from genoprep.errors import InputError
from genoprep.tables import read_table
from genoprep.variants.steps import ChunkOptions, PlanOptions, plan, read_planned_chunk
from tests.variant_tools import variant_params

SETTINGS = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _maybe_gzip(text: bytes, compress: bool) -> bytes:
    return gzip.compress(text, mtime=0) if compress else text


def _lines(tokens: st.SearchStrategy[str], seps: list[str], max_fields: int = 6) -> st.SearchStrategy[str]:
    """A line of tokens joined by one of ``seps``."""
    return st.builds(lambda fields, sep: sep.join(fields), st.lists(tokens, max_size=max_fields), st.sampled_from(seps))


def _text(lines: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Lines joined with LF or CRLF, an optional BOM and final newline, optionally gzip-compressed."""
    return st.builds(
        lambda ls, eol, bom, final, gz: _maybe_gzip(
            (b"\xef\xbb\xbf" if bom else b"") + (eol.join(ls) + (eol if final else "")).encode("utf-8"), gz
        ),
        st.lists(lines, max_size=8),
        st.sampled_from(["\n", "\r\n", "\r"]),
        st.booleans(),
        st.booleans(),
        st.booleans(),
    )


def _raw() -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, also behind a gzip header and cut short (truncated gzip)."""
    return st.one_of(
        st.binary(max_size=200),
        st.builds(lambda b, cut: gzip.compress(b, mtime=0)[: max(1, cut)], st.binary(max_size=200), st.integers(1, 80)),
    )


def _write(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


def _one_line(err: InputError, path: Path) -> None:
    message = str(err)
    assert "\n" not in message, message
    assert str(path) in message, message


# --- FASTA ---------------------------------------------------------------------------------

_FASTA_TOKENS = st.sampled_from([">", ">seq1", ">seq 2 desc", "ACGT", "acgtn", "NNNN", "AC GT", "XYZ*-", "", ";c", "é"])
_FASTA = _text(st.one_of(_FASTA_TOKENS, st.text(alphabet="ACGTN>x \t", max_size=12)))


@SETTINGS
@given(content=st.one_of(_raw(), _FASTA), name=st.sampled_from(["in.fa", "in.fa.gz"]))
def test_fasta_reader_parses_or_raises_input_error(tmp_path: Path, content: bytes, name: str) -> None:
    path = _write(tmp_path, name, content)
    for as_bytes in (False, True):
        try:
            records = list(read_fasta(path, as_bytes=as_bytes))
        except InputError as err:
            _one_line(err, path)
            event("InputError")
        else:
            assert all(isinstance(r.name, str) for r in records)
            event("parsed")


# --- CSV / TSV tables ----------------------------------------------------------------------

_CELLS = st.sampled_from(
    ["id", "gene", "s1", "s2", "", "1", "2.5", "-3", "NA", "nan", "x y", '"q"', '"a,b"', "é", "1e3"]
)
_TABLE = _text(_lines(st.one_of(_CELLS, st.text(alphabet='ab1,\t"; ', max_size=4)), [",", "\t", ";"]))


@SETTINGS
@given(
    content=st.one_of(_raw(), _TABLE),
    fmt=st.sampled_from([None, "csv", "tsv"]),
    header=st.booleans(),
    id_column=st.sampled_from([0, 1, "id"]),
)
def test_read_table_parses_or_raises_input_error(
    tmp_path: Path, content: bytes, fmt: str | None, header: bool, id_column: str | int
) -> None:
    path = _write(tmp_path, "meta.csv", content)
    try:
        frame = read_table(path, fmt, header=header, id_column=id_column)
    except InputError as err:
        _one_line(err, path)
        event("InputError")
    else:
        assert frame.index.is_unique
        assert all(isinstance(i, str) for i in frame.index)
        event("parsed")


_GENE = st.sampled_from(["ENSG01", "ENSG02", "TP53", "ENSG01", "", "NA", "g,1", "é"])
_VALUE = st.sampled_from(["0", "1", "7", "2.5", "-1", "NA", "", "x", "1e3", "inf"])
_CLEAN_GENES = st.lists(st.sampled_from(["ENSG01", "ENSG02", "ENSG03", "TP53"]), unique=True, min_size=1, max_size=4)
_CLEAN_VALUE = st.sampled_from(["0", "1", "7", "12"])


def _expression(fmt: str, clean: bool) -> st.SearchStrategy[bytes]:
    """A header ``gene,s0..sk`` (sometimes one field short) and rows of a gene id and values;
    ``clean`` draws unique genes and count values (parseable unless the header is short)."""
    sep = "," if fmt == "csv" else "\t"
    genes = _CLEAN_GENES if clean else st.lists(_GENE, max_size=6)
    value = _CLEAN_VALUE if clean else _VALUE
    return st.tuples(st.integers(1, 4), genes).flatmap(
        lambda kg: st.builds(
            lambda short, values, crlf: (
                sep.join(([] if short else ["gene"]) + [f"s{i}" for i in range(kg[0])])
                + "".join(("\r\n" if crlf else "\n") + sep.join([g, *vs]) for g, vs in zip(kg[1], values))
                + "\n"
            ).encode(),
            st.booleans(),
            st.lists(st.lists(value, min_size=kg[0], max_size=kg[0]), min_size=len(kg[1]), max_size=len(kg[1])),
            st.booleans(),
        )
    )


@SETTINGS
@given(
    data=st.data(),
    fmt=st.sampled_from(["csv", "tsv"]),
    orientation=st.sampled_from(["genes_x_samples", "samples_x_genes"]),
    value_type=st.sampled_from(["counts", "tpm"]),
    duplicate_genes=st.sampled_from(["refuse", "sum"]),
)
def test_expression_table_parses_or_raises_input_error(
    tmp_path: Path, data: st.DataObject, fmt: str, orientation: str, value_type: str, duplicate_genes: str
) -> None:
    content = data.draw(st.one_of(_raw(), _TABLE, _expression(fmt, clean=False), _expression(fmt, clean=True)))
    path = _write(tmp_path, f"expr.{fmt}", content)
    try:
        table = read_expression_table(
            path, fmt, orientation=orientation, value_type=value_type, duplicate_genes=duplicate_genes
        )
    except InputError as err:
        _one_line(err, path)
        event("InputError")
    else:
        assert table.values.shape == (len(table.samples), len(table.genes))
        event("parsed")


# --- VCF text ------------------------------------------------------------------------------

_META = st.sampled_from(
    [
        "##fileformat=VCFv4.2",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "##contig=<ID=1>",
        "##",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tA",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
        "#CHROM POS ID",
    ]
)
_VCF_FIELD = st.sampled_from(
    ["1", "chr1", "100", "-5", "0", "x", ".", "A", "C", "G,T", "<DEL>", "*", "PASS", "q10", "GT", "GT:DP",
     "0/1", "1|1", "./.", "0", "2/3", "0/1:7", "1/.", "", "AC=1"]
)  # fmt: skip
_VCF_RECORD = _lines(_VCF_FIELD, ["\t", " "], max_fields=12)
_VCF_LOOSE = st.builds(
    lambda meta, records, eol, gz: _maybe_gzip(eol.join(meta + records).encode() + eol.encode(), gz),
    st.lists(_META, max_size=5),
    st.lists(_VCF_RECORD, max_size=5),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
_HEADER = [
    "##fileformat=VCFv4.2",
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB",
]
_GT = st.sampled_from(["0/1", "1|1", "0|0", "./.", "0", "1", ".", "0/2", "1/.", "0/1:5", "x", ""])
_STRUCTURED_RECORD = st.builds(
    lambda chrom, pos, ref, alt, filt, fmt, gts: "\t".join([chrom, pos, ".", ref, alt, ".", filt, ".", fmt, *gts]),
    st.sampled_from(["1", "chr1", "2", ""]),
    st.sampled_from(["100", "200", "1", "0", "-5", "x"]),
    st.sampled_from(["A", "C", "N", ""]),
    st.sampled_from(["C", "G,T", ".", "<DEL>", "*", "A"]),
    st.sampled_from(["PASS", ".", "q10"]),
    st.sampled_from(["GT", "GT:DP", "DP", ""]),
    st.lists(_GT, min_size=1, max_size=3),
)
_VCF_STRUCTURED = st.builds(
    lambda records, eol, gz: _maybe_gzip((eol.join(_HEADER + records) + eol).encode(), gz),
    st.lists(_STRUCTURED_RECORD, min_size=1, max_size=5),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
_CLEAN_RECORD = st.builds(
    lambda pos, alt, gts: "\t".join(["1", str(pos), ".", "A", alt, ".", "PASS", ".", "GT", *gts]),
    st.integers(1, 10**6),
    st.sampled_from(["C", "G,T"]),
    st.lists(st.sampled_from(["0/1", "1|1", "0|0", "./.", "0/0"]), min_size=2, max_size=2),
)
_VCF_CLEAN = st.builds(
    lambda records, gz: _maybe_gzip(("\n".join(_HEADER + records) + "\n").encode(), gz),
    st.lists(_CLEAN_RECORD, min_size=1, max_size=5),
    st.booleans(),
)
_VCF = st.one_of(_VCF_LOOSE, _VCF_STRUCTURED, _VCF_CLEAN)

_VCF_CARD = variant_params(min_maf=None, max_variant_missing=None, max_sample_missing=None, records_per_chunk=2)


@SETTINGS
@given(content=st.one_of(_raw(), _VCF), name=st.sampled_from(["in.vcf", "in.vcf.gz"]))
@example(content=b"BCF", name="in.vcf")  # found by this property: BCF magic, then cyvcf2 raised OSError
def test_vcf_plan_and_chunks_parse_or_raise_input_error(tmp_path: Path, content: bytes, name: str) -> None:
    path = _write(tmp_path, name, content)
    card = {"dataset_id": "fuzz", "modality": "variants", "input": {"path": str(path), "format": "auto"}}
    card["params"] = dict(_VCF_CARD)
    try:
        chunk_plan = json.loads(json.dumps(plan(path, PlanOptions.from_card(card))))
        options = ChunkOptions.from_card(card)
        for i in range(len(chunk_plan["chunks"])):
            read_planned_chunk(path, chunk_plan, i, options)
        event("parsed")
    except InputError as err:
        _one_line(err, path)
        event("InputError")


def test_strategies_reach_both_outcomes(tmp_path: Path) -> None:
    """The near-valid generators can produce parseable input, so the properties test parsing too."""
    good_vcf = "\n".join(
        [
            "##fileformat=VCFv4.2",
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB",
            "1\t100\t.\tA\tC\t.\tPASS\t.\tGT\t0/1\t1|1",
        ]
    )
    path = _write(tmp_path, "good.vcf", (good_vcf + "\n").encode())
    card = {"dataset_id": "g", "modality": "variants", "input": {"path": str(path), "format": "auto"}}
    card["params"] = dict(_VCF_CARD)
    assert plan(path, PlanOptions.from_card(card))["n_samples"] == 2
    with pytest.raises(InputError):
        plan(_write(tmp_path, "bad.vcf", b"\x00\x01"), PlanOptions.from_card(card))
