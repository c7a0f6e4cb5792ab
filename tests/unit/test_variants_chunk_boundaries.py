"""A genotype at a chunk boundary is read once: record ranges whose boundary line straddles
two BGZF blocks (read by seeking to the chunk's virtual offset), and region windows with
records exactly on their first and last base. GT and DS dosages alike.

Each chunk's records are identified by their ID, so a record read twice or lost is seen
directly (not only through a changed total), and the concatenated chunks must equal one
read of the whole file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from genoprep.variants import LoadOptions, plan_chunks, read_all, read_chunk, vcfio
from tests.conftest import require_tool

OPTIONS = {"GT": LoadOptions(), "DS": LoadOptions(dosage_field="DS")}


def write_vcf(path: Path, n_samples: int, positions: list[int], seed: int) -> Path:
    rng = np.random.default_rng(seed)
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1,length=100000>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=DS,Number=A,Type=Float,Description="ALT dose">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "".join(f"\tS{i}" for i in range(n_samples)),
    ]
    for r, pos in enumerate(positions):
        gt = rng.integers(0, 2, (n_samples, 2))
        ds = np.clip(gt.sum(axis=1) + rng.normal(0, 0.1, n_samples), 0, 2)
        calls = "\t".join(f"{a}|{b}:{d:.3f}" for (a, b), d in zip(gt, ds, strict=True))
        lines.append(f"1\t{pos}\tr{r}\tA\tG\t.\tPASS\t.\tGT:DS\t{calls}")
    path.write_text("\n".join(lines) + "\n")
    return path


def bgzip(path: Path) -> Path:
    require_tool("bgzip")
    subprocess.run(["bgzip", "-f", str(path)], check=True)
    return Path(f"{path}.gz")


def straddling_records(path: Path) -> list[int]:
    """0-based numbers of the data records whose line starts in one BGZF block and ends in
    a later one."""
    _, text_starts = vcfio.block_table(path)
    text = subprocess.run(["bgzip", "-dc", str(path)], check=True, capture_output=True).stdout
    data_start = text.index(b"\n#CHROM")
    data_start = text.index(b"\n", data_start + 1) + 1
    found = []
    line_start = data_start
    for r, line in enumerate(text[data_start:].splitlines(keepends=True)):
        line_end = line_start + len(line) - 1  # the newline
        first, last = np.searchsorted(text_starts, [line_start, line_end], side="right")
        if last > first:
            found.append(r)
        line_start += len(line)
    return found


@pytest.mark.parametrize("field", ["GT", "DS"])
def test_record_at_a_bgzf_block_boundary_is_read_once(tmp_path, field):
    # 400 samples x 10 bytes a call: each line is ~4 kB, so a 64 kB BGZF block holds ~16
    gz = bgzip(write_vcf(tmp_path / "b.vcf", 400, list(range(100, 100 + 120)), seed=5))
    crossing = straddling_records(gz)
    assert len(crossing) >= 3
    whole = read_all(gz, OPTIONS[field])
    for r in crossing[:3]:
        # chunk boundaries just before, at and just after the straddling record
        for size in (r, r + 1):
            specs = plan_chunks(gz, records_per_chunk=size)
            assert all(s.offset is not None for s in specs)  # the chunks seek; none rescans
            chunks = [read_chunk(gz, s, OPTIONS[field]) for s in specs]
            ids = [i for c in chunks for i in c.variant_id]
            assert ids == [f"r{k}" for k in range(120)], (r, size)
            joined = np.concatenate([c.dosage_by_variant for c in chunks])
            np.testing.assert_array_equal(joined, whole.dosage_by_variant)
            assert sum(c.sample_n_missing for c in chunks).tolist() == whole.sample_n_missing.tolist()


@pytest.mark.parametrize("field", ["GT", "DS"])
def test_records_on_the_first_and_last_base_of_a_region_window_are_read_once(tmp_path, field):
    positions = [1, 99, 100, 101, 199, 200, 201, 300, 301, 1000]
    gz = bgzip(write_vcf(tmp_path / "w.vcf", 6, positions, seed=9))
    require_tool("tabix")
    subprocess.run(["tabix", "-p", "vcf", str(gz)], check=True)
    specs = plan_chunks(gz, region_bp=100)
    windows = [(s.region.start, s.region.end) for s in specs]
    assert windows[:4] == [(1, 100), (101, 200), (201, 300), (301, 400)]
    chunks = [read_chunk(gz, s, OPTIONS[field]) for s in specs]
    by_window = [c.pos.tolist() for c in chunks]
    assert by_window[:4] == [[1, 99, 100], [101, 199, 200], [201, 300], [301]]
    assert [p for w in by_window for p in w] == positions
    whole = read_all(gz, OPTIONS[field], engine="text")
    np.testing.assert_array_equal(np.concatenate([c.dosage_by_variant for c in chunks]), whole.dosage_by_variant)
