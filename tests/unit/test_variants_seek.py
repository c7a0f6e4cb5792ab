"""Record chunks read by seek position (BGZF virtual offset / byte offset) equal the same
chunks read by scanning from the start, and a seeking chunk job inflates nothing before
its first record."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from genoprep.errors import InputError
from genoprep.variants import ChunkSpec, plan_chunks, read_chunk, vcfio
from tests.conftest import SHARED_DATA
from tests.unit.test_variants_tiny import _random_records, rec, write_vcf

VCF = SHARED_DATA / "vcf"
CHR22_BGZF = VCF / "1kg_nygc30x_grch38_chr22_100samples_100variants.vcf.gz"
CHR20_PLAIN = VCF / "1kg_beagle_imputed_chr20_14samples_987variants.vcf"


def _bgzf_block(data: bytes) -> bytes:
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = deflate.compress(data) + deflate.flush()
    header = b"\x1f\x8b\x08\x04" + b"\x00" * 4 + b"\x00\xff" + struct.pack("<H", 6) + b"BC"
    header += struct.pack("<HH", 2, 18 + len(body) + 8 - 1)
    return header + body + struct.pack("<II", zlib.crc32(data), len(data))


def write_bgzf(path: Path, header: bytes, data: bytes, block_text: int = 997) -> tuple[Path, int]:
    """BGZF with the header in its own blocks, then the data lines in blocks of
    ``block_text`` bytes (lines span blocks); returns (path, number of header blocks)."""
    blocks = [header[i : i + block_text] for i in range(0, len(header), block_text)]
    n_header = len(blocks)
    blocks += [data[i : i + block_text] for i in range(0, len(data), block_text)]
    with open(path, "wb") as f:
        for b in blocks:
            f.write(_bgzf_block(b))
        f.write(_bgzf_block(b""))  # the EOF marker
    return path, n_header


@pytest.fixture(scope="module")
def generated_bgzf(tmp_path_factory) -> tuple[Path, int]:
    folder = tmp_path_factory.mktemp("seek")
    records = _random_records(np.random.default_rng(17), 11, 300)
    plain = write_vcf(folder / "g.vcf", [f"S{i}" for i in range(11)], records)
    text = plain.read_bytes()
    cut = text.index(b"#CHROM")
    cut = text.index(b"\n", cut) + 1
    return write_bgzf(folder / "g.vcf.gz", text[:cut], text[cut:])


def _same(a, b) -> None:
    assert np.array_equal(a.dosage_by_variant, b.dosage_by_variant)
    assert (a.chrom, a.pos.tolist(), a.variant_id, a.ref, a.alt, a.filter, a.samples) == (
        b.chrom,
        b.pos.tolist(),
        b.variant_id,
        b.ref,
        b.alt,
        b.filter,
        b.samples,
    )
    assert (a.haploid is None) == (b.haploid is None)
    if a.haploid is not None:
        assert np.array_equal(a.haploid, b.haploid)
    assert a.load_counts == b.load_counts
    assert np.array_equal(a.sample_n_missing, b.sample_n_missing)


def _text(path: Path) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.decompress(path.read_bytes()) if head == b"\x1f\x8b" else path.read_bytes()


@pytest.mark.parametrize("route", ["libdeflate", "zlib"])
@pytest.mark.parametrize("which", ["chr22_bgzf", "chr20_plain", "generated_bgzf"])
def test_chunk_read_by_offset_equals_chunk_read_by_scanning(which, route, generated_bgzf, monkeypatch):
    path = {"chr22_bgzf": CHR22_BGZF, "chr20_plain": CHR20_PLAIN, "generated_bgzf": generated_bgzf[0]}[which]
    if not path.exists():
        pytest.skip(f"{path} not present (../shared/data)")
    if route == "zlib":
        monkeypatch.setattr(vcfio, "LIBDEFLATE", None)
    text = _text(path)
    is_bgzf = vcfio.is_bgzf(path)
    for size in (1, 7, 30, 97, 10_000):
        specs = plan_chunks(path, records_per_chunk=size)
        assert all(s.offset is not None for s in specs)
        for spec in specs:
            assert ChunkSpec.from_dict(spec.to_dict()) == spec  # the offset goes through chunks.json
            following = [s.offset for s in specs if s.index == spec.index + 1]
            assert spec.end_offset == (following[0] if following else None)
            # the seek position is a line start and the chunk's first record follows it
            if is_bgzf:
                coffsets, ustarts = vcfio.block_table(path)
                block = int(np.flatnonzero(coffsets == spec.offset >> 16)[0])
                at = int(ustarts[block]) + (spec.offset & 0xFFFF)
            else:
                at = spec.offset
            assert text[at - 1 : at] == b"\n"
            scanning = ChunkSpec(spec.index, first_record=spec.first_record, n_records=spec.n_records)
            _same(read_chunk(path, spec), read_chunk(path, scanning))


def test_virtual_offset_points_into_the_right_block(generated_bgzf):
    """The unit of the seek logic: inflating only the block at ``offset >> 16`` and
    skipping ``offset & 0xFFFF`` bytes gives the first line of the chunk's first record."""
    path, _ = generated_bgzf
    raw = path.read_bytes()
    lines = [ln for ln in _text(path).split(b"\n") if ln and not ln.startswith(b"#")]
    specs = plan_chunks(path, records_per_chunk=13)
    assert len({s.offset >> 16 for s in specs}) > 5  # the chunks start in many blocks
    for spec in specs:
        start = spec.offset >> 16
        size = struct.unpack("<H", raw[start + 16 : start + 18])[0] + 1
        text = zlib.decompress(raw[start : start + size], 31)[spec.offset & 0xFFFF :]
        head = text.split(b"\n")[0]  # the record's line, or its start when it spans blocks
        assert head and lines[spec.first_record].startswith(head)


def test_seeking_chunk_job_does_not_inflate_blocks_before_its_start(generated_bgzf, tmp_path):
    """Corrupt every block between the header and the chunk's first block, and every block
    after the one holding its end: the chunk read by offset is unchanged (those blocks are
    neither read nor inflated), the scanning read fails on them."""
    if vcfio.LIBDEFLATE is None:
        pytest.skip("libdeflate is not available (cyvcf2 wheel or system libdeflate)")
    path, n_header = generated_bgzf
    coffsets, _ = vcfio.block_table(path)
    spec = next(s for s in plan_chunks(path, records_per_chunk=40) if (s.offset >> 16) >= coffsets[n_header + 3])
    first_block = int(np.flatnonzero(coffsets == spec.offset >> 16)[0])
    assert spec.end_offset is not None
    end_block = int(np.flatnonzero(coffsets == spec.end_offset >> 16)[0])
    assert end_block + 2 < len(coffsets)
    raw = bytearray(path.read_bytes())
    coffsets = [*coffsets.tolist(), len(raw)]
    for b in [*range(n_header, first_block), *range(end_block + 1, len(coffsets) - 1)]:
        body_start, body_end = int(coffsets[b]) + 18, int(coffsets[b + 1]) - 8
        raw[body_start:body_end] = b"\xff" * (body_end - body_start)
    corrupt = tmp_path / "corrupt.vcf.gz"
    corrupt.write_bytes(bytes(raw))
    expected = read_chunk(path, spec)
    _same(read_chunk(corrupt, spec), expected)
    scanning = ChunkSpec(spec.index, first_record=spec.first_record, n_records=spec.n_records)
    with pytest.raises(InputError, match="corrupt BGZF block"):
        read_chunk(corrupt, scanning)


@pytest.mark.parametrize("compression", ["plain", "bgzf"])
def test_bad_record_in_a_seeking_chunk_has_its_global_number(tmp_path, compression):
    records = [rec("1", 10 * i + 1, "A", "C", ["0/1", "1/1"]) for i in range(20)]
    records[16] = rec("1", 161, "A", "C", ["0/1", "0/A"])
    p = write_vcf(tmp_path / "bad.vcf", ["A", "B"], records)
    if compression == "bgzf":
        text = p.read_bytes()
        cut = text.index(b"\n", text.index(b"#CHROM")) + 1
        p, _ = write_bgzf(tmp_path / "bad.vcf.gz", text[:cut], text[cut:], block_text=100)
    specs = plan_chunks(p, records_per_chunk=6)
    spec = specs[2]  # records 12-17 (0-based): the bad one is record 17 counted from 1
    assert spec.offset is not None and spec.first_record == 12
    with pytest.raises(InputError) as info:
        read_chunk(p, spec)
    assert str(info.value).startswith(f"{p}: record 17 (1:161): ")
    assert "\n" not in str(info.value)


def test_plain_gzip_has_no_offsets(tmp_path):
    records = _random_records(np.random.default_rng(2), 3, 20)
    p = write_vcf(tmp_path / "z.vcf", ["A", "B", "C"], records)
    gz = tmp_path / "z.vcf.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    specs = plan_chunks(gz, records_per_chunk=6)
    assert [s.offset for s in specs] == [None] * 4
    assert "offset" not in specs[1].to_dict()
    with pytest.raises(ValueError, match="plain gzip cannot seek"):
        read_chunk(gz, ChunkSpec(1, first_record=6, n_records=6, offset=123))
