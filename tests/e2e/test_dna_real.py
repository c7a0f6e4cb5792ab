"""DNA end to end on the real files in ../shared/data/dna, against independent computations.

The workflow runs once (through the invocation contract) on cards for the three real data
sets: the E. coli promoter / non-promoter pair (one FASTA per label; every scheme), the
orchid ITS FASTA (genus labels from a header regex; the default schemes plus hyenadna) and
DNABERT's 6-mer TSV (k-mer rows reassembled; dnabert k=6, nucleotide_transformer and the
k-mer text). Sequences are read back here with Biopython / the csv module, and token ids are
recomputed by straightforward pure-Python versions of each published rule.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from functools import lru_cache
from itertools import product
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from Bio import SeqIO
from scipy import sparse

from tests.conftest import SHARED_DATA, artifact_bytes, leftovers, run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e

DNA = SHARED_DATA / "dna"
POSITIVE = DNA / "ecoli_sigma_promoters_81bp_positive_2860.fasta"
NEGATIVE = DNA / "ecoli_nonpromoters_81bp_negative_2860.fasta"
ORCHIDS = DNA / "lady_slipper_orchids_its_94seqs_genus_labels.fasta"
DNABERT_TSV = DNA / "dnabert_sample_ft_dev_1000seqs_6mer_binary_labels.tsv"
GENUS = {"C": "Cypripedium", "P": "Paphiopedilum", "M": "Mexipedium"}
ALL_SCHEMES = ["char", "kmer_counts", "dnabert", "nucleotide_transformer", "hyenadna", "kmer_tokenize"]


def _cards() -> dict[str, dict]:
    return {
        "ecoli": {
            "dataset_id": "ecoli",
            "name": "E. coli sigma70 promoters vs non-promoters (81 bp)",
            "modality": "dna",
            "inputs": [{"path": str(POSITIVE), "label": "promoter"}, {"path": str(NEGATIVE), "label": "non_promoter"}],
            "organism": "Escherichia coli K-12",
            "params": {
                "tokenizers": ALL_SCHEMES,
                "char": {"max_len": 64, "truncation": "left"},
                "hyenadna": {"max_len": 100},
                "kmer_counts": {"k": 6},
                "dnabert": {"k": 4},
                "kmer_tokenize": {"k": 3, "stride": 2},
            },
        },
        "orchids": {
            "dataset_id": "orchids",
            "name": "Lady slipper orchids, ITS",
            "modality": "dna",
            "input": {"path": str(ORCHIDS), "format": "fasta", "label_regex": r"^\S+\s+([A-Z])\.", "label_map": GENUS},
            "params": {
                "tokenizers": ["char", "kmer_counts", "hyenadna"],
                "kmer_counts": {"k": 3, "canonical": True},
                "hyenadna": {"max_len": 700},
            },
        },
        "dnabert": {
            "dataset_id": "dnabert",
            "name": "DNABERT sample fine-tuning set (dev)",
            "modality": "dna",
            "input": {"path": str(DNABERT_TSV)},
            "columns": {"sequence": "sequence", "label": "label"},
            "params": {"tokenizers": ["dnabert", "nucleotide_transformer", "kmer_tokenize"], "dnabert": {"k": 6}},
        },
    }


@pytest.fixture(scope="session")
def dna_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shared_data("dna")
    root = tmp_path_factory.mktemp("dna_real")
    for card in _cards().values():
        write_card(root / "cards", card)
    run_workflow(root / "cards", root / "out")
    return root / "out"


# ---- independent references: published rules, written the plain way ----


def _fasta(path: Path) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8") as handle:
        return [(record.description, str(record.seq)) for record in SeqIO.parse(handle, "fasta")]


def _dnabert_tsv() -> list[tuple[list[str], str]]:
    with open(DNABERT_TSV, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [(row["sequence"].split(), row["label"].strip()) for row in rows]


def _reassemble(kmers: list[str]) -> str:
    return kmers[0] + "".join(kmer[-1] for kmer in kmers[1:])


def ref_char(seq: str, max_len: int, truncation: str) -> list[int]:
    vocab = {"A": 0, "C": 1, "G": 2, "T": 3}
    ids = [vocab.get(base, 4) for base in seq.upper()]
    ids = ids[:max_len] if truncation == "right" else ids[-max_len:]
    return ids + [5] * (max_len - len(ids))


def ref_hyenadna(seq: str, max_len: int) -> list[int]:
    vocab = {"A": 7, "C": 8, "G": 9, "T": 10, "N": 11}
    ids = [vocab.get(base, 6) for base in seq.upper()][: max_len - 1]
    return [4] * (max_len - 1 - len(ids)) + ids + [1]


@lru_cache
def _dnabert_index(k: int) -> dict[str, int]:
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ["".join(p) for p in product("ATCG", repeat=k)]
    return {token: i for i, token in enumerate(vocab)}


@lru_cache
def _nt_index(k: int) -> dict[str, int]:
    vocab = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"]
    vocab += ["".join(p) for p in product("ATCG", repeat=k)] + list("ATCG") + ["N"]
    return {token: i for i, token in enumerate(vocab)}


def ref_dnabert(seq: str, k: int) -> list[int]:
    index = _dnabert_index(k)
    seq = seq.upper()
    return [2] + [index.get(seq[i : i + k], 1) for i in range(len(seq) - k + 1)] + [3]


def ref_nucleotide_transformer(seq: str, k: int = 6) -> list[int]:
    index = _nt_index(k)
    tokens = ["<cls>"]
    pieces = seq.upper().split("N")
    for i, piece in enumerate(pieces):
        whole = len(piece) // k * k
        tokens += [piece[j : j + k] for j in range(0, whole, k)] + list(piece[whole:])
        if i < len(pieces) - 1:
            tokens.append("N")
    return [index.get(token, 0) for token in tokens]


def ref_kmer_counts(seq: str, k: int) -> Counter[str]:
    seq = seq.upper()
    return Counter(kmer for kmer in (seq[i : i + k] for i in range(len(seq) - k + 1)) if set(kmer) <= set("ACGT"))


def _obs(out: Path) -> list[dict[str, str]]:
    with open(out / "obs.tsv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _ecoli_records() -> list[tuple[str, str, str]]:
    return [(h, s, "promoter") for h, s in _fasta(POSITIVE)] + [(h, s, "non_promoter") for h, s in _fasta(NEGATIVE)]


# ---- tests ----


def test_ecoli_labels_obs_and_qc(dna_run: Path) -> None:
    out = dna_run / "ecoli"
    records = _ecoli_records()
    obs = _obs(out)
    assert [row["id"] for row in obs] == [h for h, _, _ in records]
    assert [row["label"] for row in obs] == [label for _, _, label in records]
    assert any("\u3000" in row["id"] for row in obs)  # full-width spaces of the positive headers kept
    qc = json.loads((out / "qc.json").read_text())
    assert qc["class_counts"] == {"non_promoter": 2860, "promoter": 2860}
    assert qc["n_sequences"] == 5720 and qc["length"]["min"] == qc["length"]["max"] == 81
    for row, (_, seq, _) in zip(obs, records):
        upper = seq.upper()
        gc = (upper.count("G") + upper.count("C")) / sum(upper.count(b) for b in "ACGT")
        assert float(row["gc"]) == pytest.approx(gc, abs=1e-12)
        assert int(row["length"]) == len(seq) == 81 and float(row["n_fraction"]) == 0.0
    # duplicates and leakage, recomputed: identical (case-insensitive) sequences, and those labelled differently
    groups: dict[str, set[str]] = {}
    for _, seq, label in records:
        groups.setdefault(seq.upper(), set()).add(label)
    copies = Counter(seq.upper() for _, seq, _ in records)
    assert qc["duplicates"]["n_groups"] == sum(1 for n in copies.values() if n > 1)
    assert qc["duplicates"]["n_redundant"] == sum(n - 1 for n in copies.values())
    assert qc["label_conflicts"]["n_groups"] == sum(1 for s, labels in groups.items() if len(labels) > 1)


def test_ecoli_fixed_length_tokens(dna_run: Path) -> None:
    out = dna_run / "ecoli"
    records = _ecoli_records()
    char = np.load(out / "tokens_char.npy")
    hyena = np.load(out / "tokens_hyenadna.npy")
    assert char.shape == (5720, 64) and char.dtype == np.int32
    assert hyena.shape == (5720, 100) and hyena.dtype == np.int32
    for i in list(range(0, 5720, 97)) + [2859, 2860, 5719]:
        seq = records[i][1]
        assert char[i].tolist() == ref_char(seq, 64, "left")
        assert hyena[i].tolist() == ref_hyenadna(seq, 100)
    assert char.min() >= 0 and char.max() <= 4  # 81 bp > 64: no padding, and no N in these files
    assert (hyena[:, :18] == 4).all() and (hyena[:, -1] == 1).all()  # 100 - 1 - 81 = 18 [PAD] on the left


def test_ecoli_variable_length_tokens(dna_run: Path) -> None:
    out = dna_run / "ecoli"
    records = _ecoli_records()
    for scheme, reference in (
        ("dnabert", lambda s: ref_dnabert(s, 4)),
        ("nucleotide_transformer", ref_nucleotide_transformer),
    ):
        table = pq.read_table(out / f"tokens_{scheme}.parquet")
        assert table.schema.field("input_ids").type == pa.list_(pa.int32())
        assert table.schema.field("length").type == pa.int32()
        assert table.schema.field("id").type == pa.string() and table.schema.field("label").type == pa.string()
        assert table.num_rows == 5720
        assert table.column("id").to_pylist() == [h for h, _, _ in records]
        assert table.column("label").to_pylist() == [label for _, _, label in records]
        ids = table.column("input_ids").to_pylist()
        assert ids == [reference(seq) for _, seq, _ in records]
    nt = pq.read_table(out / "tokens_nucleotide_transformer.parquet").column("input_ids").to_pylist()
    assert {len(row) for row in nt} == {1 + 13 + 3}  # <cls>, 13 6-mers, 3 single bases


def test_ecoli_kmer_counts_against_counter(dna_run: Path) -> None:
    out = dna_run / "ecoli"
    records = _ecoli_records()
    matrix = sparse.load_npz(out / "kmers_k6.npz").tocsr()
    with open(out / "kmers_k6.tsv", encoding="utf-8", newline="") as handle:
        names = [row["kmer"] for row in csv.DictReader(handle, delimiter="\t")]
    assert names == ["".join(p) for p in product("ACGT", repeat=6)]
    assert matrix.shape == (5720, 4096) and matrix.dtype == np.int32
    assert int(matrix.sum()) == 5720 * (81 - 6 + 1)
    for i in range(0, 5720, 131):
        row = matrix[i]
        got = {names[j]: int(v) for j, v in zip(row.indices, row.data)}
        assert got == dict(ref_kmer_counts(records[i][1], 6))


def test_ecoli_kmer_text(dna_run: Path) -> None:
    with open(dna_run / "ecoli" / "tokens_kmer_tokenize.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    records = _ecoli_records()
    assert len(rows) == 5720
    for row, (header, seq, label) in zip(rows, records):
        upper = seq.upper()
        assert row["sequence"] == " ".join(upper[i : i + 3] for i in range(0, len(upper) - 3 + 1, 2))
        assert (row["label"], row["id"]) == (label, header)


def test_orchid_genus_from_headers(dna_run: Path) -> None:
    out = dna_run / "orchids"
    records = _fasta(ORCHIDS)
    expected = [GENUS[re.search(r"^\S+\s+([A-Z])\.", header).group(1)] for header, _ in records]
    obs = _obs(out)
    assert [row["label"] for row in obs] == expected
    assert Counter(expected) == {"Paphiopedilum": 76, "Cypripedium": 17, "Mexipedium": 1}
    qc = json.loads((out / "qc.json").read_text())
    assert qc["class_counts"] == {"Cypripedium": 17, "Mexipedium": 1, "Paphiopedilum": 76}
    char = np.load(out / "tokens_char.npy")
    hyena = np.load(out / "tokens_hyenadna.npy")
    for i, (_, seq) in enumerate(records):
        assert char[i].tolist() == ref_char(seq, 512, "right")
        assert hyena[i].tolist() == ref_hyenadna(seq, 700)
        assert int(obs[i]["length"]) == len(seq)
        upper = seq.upper()
        assert float(obs[i]["n_fraction"]) == pytest.approx(sum(c not in "ACGT" for c in upper) / len(upper))
    assert (char == 4).any()  # the orchid file has N


def test_orchid_canonical_kmer_counts(dna_run: Path) -> None:
    out = dna_run / "orchids"
    matrix = sparse.load_npz(out / "kmers_k3.npz").toarray()
    with open(out / "kmers_k3.tsv", encoding="utf-8", newline="") as handle:
        names = [row["kmer"] for row in csv.DictReader(handle, delimiter="\t")]
    complement = str.maketrans("ACGT", "TGCA")
    canonical = sorted({min(k, k.translate(complement)[::-1]) for k in ("".join(p) for p in product("ACGT", repeat=3))})
    assert names == canonical and matrix.shape == (94, 32)
    for i, (_, seq) in enumerate(_fasta(ORCHIDS)):
        folded: Counter[str] = Counter()
        for kmer, n in ref_kmer_counts(seq, 3).items():
            folded[min(kmer, kmer.translate(complement)[::-1])] += n
        assert dict(zip(names, matrix[i].tolist())) == {name: folded.get(name, 0) for name in names}


def test_dnabert_tsv_reassembled_and_tokens_equal_file_kmers(dna_run: Path) -> None:
    out = dna_run / "dnabert"
    rows = _dnabert_tsv()
    obs = _obs(out)
    assert [int(row["length"]) for row in obs] == [101] * 1000
    assert [row["label"] for row in obs] == [label for _, label in rows]
    assert Counter(row["label"] for row in obs) == {"0": 500, "1": 500}
    table = pq.read_table(out / "tokens_dnabert.parquet")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ["".join(p) for p in product("ATCG", repeat=6)]
    for ids, (kmers, _label) in zip(table.column("input_ids").to_pylist(), rows):
        assert [vocab[i] for i in ids] == ["[CLS]", *kmers, "[SEP]"]  # the 6-mers written in the file
        assert ids == ref_dnabert(_reassemble(kmers), 6)
    nt = pq.read_table(out / "tokens_nucleotide_transformer.parquet").column("input_ids").to_pylist()
    assert nt == [ref_nucleotide_transformer(_reassemble(kmers)) for kmers, _ in rows]
    with open(out / "tokens_kmer_tokenize.tsv", encoding="utf-8", newline="") as handle:
        text = list(csv.DictReader(handle, delimiter="\t"))
    with open(DNABERT_TSV, encoding="utf-8", newline="") as handle:
        original = list(csv.DictReader(handle, delimiter="\t"))
    assert [row["sequence"] for row in text] == [row["sequence"].strip() for row in original]


def test_completed_cards(dna_run: Path) -> None:
    for name, card_in in _cards().items():
        out = dna_run / name
        card = yaml.safe_load((out / "card.yaml").read_text(encoding="utf-8"))
        computed = card["computed"]
        assert set(card_in["params"]["tokenizers"]) == set(computed["tokenizers"])
        for artifact, digest in computed["artifacts_sha256"].items():
            assert hashlib.sha256((out / artifact).read_bytes()).hexdigest() == digest
        assert computed["preprocessing"]["software"]["numpy"] == np.__version__
    ecoli = yaml.safe_load((dna_run / "ecoli" / "card.yaml").read_text(encoding="utf-8"))
    assert [len(entry["sha256"]) for entry in ecoli["inputs"]] == [64, 64]
    tokenizers = ecoli["computed"]["tokenizers"]
    assert tokenizers["nucleotide_transformer"]["vocab_size"] == 4107
    assert tokenizers["dnabert"]["vocab_size"] == 5 + 4**4
    assert tokenizers["char"]["vocab_size"] == 6 and tokenizers["hyenadna"]["vocab_size"] == 12
    assert tokenizers["char"]["n_truncated"] == 5720 and tokenizers["hyenadna"]["n_truncated"] == 0
    assert tokenizers["kmer_counts"]["shape"] == [5720, 4096]
    assert ecoli["computed"]["n_sequences"] == 5720
    assert set(ecoli["computed"]["artifacts_sha256"]) == {
        "obs.tsv",
        "qc.json",
        "tokens_char.npy",
        "kmers_k6.npz",
        "kmers_k6.tsv",
        "tokens_dnabert.parquet",
        "tokens_nucleotide_transformer.parquet",
        "tokens_hyenadna.npy",
        "tokens_kmer_tokenize.tsv",
    }


def test_second_run_gives_identical_bytes(dna_run: Path, tmp_path: Path) -> None:
    cards = dna_run.parent / "cards"
    run_workflow(cards, tmp_path / "again")
    for name in _cards():
        first, second = artifact_bytes(dna_run / name), artifact_bytes(tmp_path / "again" / name)
        assert "card.yaml" in first and not any(k.startswith("work/") for k in first)
        assert sorted(first) == sorted(second)
        assert [n for n in first if first[n] != second[n]] == []


def test_bad_input_refused_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.fasta"
    bad.write_text(">ok one\nACGTN\nacgt\n>broken two\nACGT\nACXT\n", encoding="utf-8")
    write_card(
        tmp_path / "cards",
        {
            "dataset_id": "bad",
            "name": "bad",
            "modality": "dna",
            "input": {"path": str(bad)},
            "params": {"tokenizers": ALL_SCHEMES},
        },
    )
    done = run_workflow(tmp_path / "cards", tmp_path / "out", check=False)
    assert done.returncode != 0
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("genoprep: error:")]
    assert lines == [
        (f"genoprep: error: {bad}: record 2 (broken two): character 'X' at position 7 is not an IUPAC nucleotide code")
    ]
    assert leftovers(tmp_path / "out" / "bad") == []  # no artifacts (only logs/ and benchmarks/ folders)


def _job_counts(output: str) -> dict[str, int]:
    """The ``Job stats`` table of a ``snakemake -n`` run: {rule: jobs}."""
    counts: dict[str, int] = {}
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "Job stats:"), None)
    if start is None:
        return counts
    for line in lines[start + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def _without_card_followers(counts: dict[str, int]) -> dict[str, int]:
    """Job counts without the jobs made from card.yaml (FAIR files, run summary, card table): one per card rewritten."""
    followers = {
        rule: n
        for rule, n in counts.items()
        if rule.startswith("fair_") or rule in ("report_run_summary", "report_card")
    }
    assert all(n == counts.get("write_card") for n in followers.values()), counts
    return {rule: n for rule, n in counts.items() if rule not in followers}


def test_editing_a_card_reruns_only_the_steps_that_read_the_edit(dna_run: Path, tmp_path: Path) -> None:
    cards = _cards()
    cards["orchids"]["description"] = "a new description"
    cards["orchids"]["license"] = "CC-BY-4.0"
    for card in cards.values():
        write_card(tmp_path / "described", card)
    done = run_workflow(tmp_path / "described", dna_run, "-n")
    # every card file is new here (another folder), so each dataset's write_card runs; nothing else
    counts = _without_card_followers(_job_counts(done.stdout + done.stderr))
    assert counts == {"write_card": 3, "all": 1}, done.stderr[-3000:]
    cards["orchids"]["params"]["hyenadna"]["max_len"] = 650  # one scheme's setting: only its token job
    for card in cards.values():
        write_card(tmp_path / "hyena", card)
    done = run_workflow(tmp_path / "hyena", dna_run, "-n")
    counts = _without_card_followers(_job_counts(done.stdout + done.stderr))
    # the token-length figure reads every token file of the dataset
    assert counts == {"dna_facts": 1, "dna_tokens_fixed": 1, "report_dna_tokens": 1, "write_card": 3, "all": 1}
    outputs = [
        line.split(":", 1)[1] for line in (done.stdout + done.stderr).splitlines() if line.strip().startswith("output:")
    ]
    assert any("orchids/tokens_hyenadna.npy" in line for line in outputs)
    assert not any("tokens_char.npy" in line for line in outputs)


def test_malformed_inputs_through_the_workflow(tmp_path: Path) -> None:
    """Each bad input: exit status 1, one genoprep error line naming its file, nothing left in its
    results folder; the awkward but good one (a spreadsheet export: BOM, CRLF) succeeds with clean ids."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    ragged = inputs / "ragged.csv"
    ragged.write_text("sequence,label\nACGT,1\nACGT,0,extra\n", encoding="utf-8")
    evil = inputs / "evil.fa"
    evil.write_text(">" + "a" * 60 + "!\nACGT\n", encoding="utf-8")
    duplicated = inputs / "dup.fa"
    duplicated.write_text(">x\nACGT\n>x\nGGCC\n", encoding="utf-8")
    good = inputs / "excel.csv"
    good.write_bytes(b"\xef\xbb\xbfid,sequence,label\r\nr1,ACGTAC,pos\r\nr2,ggccTT,neg\r\n")
    cards = {
        "ragged": {"input": {"path": str(ragged)}},
        "evil": {"input": {"path": str(evil), "label_regex": r"^(a|aa)+$"}},
        "dup": {"input": {"path": str(duplicated)}},
        "excel": {"input": {"path": str(good)}, "columns": {"sequence": "sequence", "id": "id", "label": "label"}},
    }
    for name, body in cards.items():
        write_card(
            tmp_path / "cards",
            {
                "dataset_id": name,
                "name": name,
                "modality": "dna",
                "params": {"tokenizers": ["char", "dnabert"]},
                **body,
            },
        )
    done = run_workflow(tmp_path / "cards", tmp_path / "out", "--keep-going", check=False)
    assert done.returncode != 0
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("genoprep: error:")]
    expected = {
        "ragged": f"genoprep: error: {ragged}: row 2: 3 fields, but the header has 2",
        "evil": f"genoprep: error: {evil}: record 1 ({'a' * 60}!): label_regex '^(a|aa)+$' took longer than 1 s",
        "dup": f"genoprep: error: {duplicated}: record 2: duplicate id 'x' (first seen as record 1 of {duplicated})",
    }
    assert len(lines) == len(expected), lines
    for name, start in expected.items():
        assert sum(line.startswith(start) for line in lines) == 1, (name, lines)
        assert leftovers(tmp_path / "out" / name) == [], name  # only logs/ and benchmarks/
    obs = (tmp_path / "out" / "excel" / "obs.tsv").read_text(encoding="utf-8").splitlines()
    assert [row.split("\t")[:3] for row in obs] == [["id", "label", "length"], ["r1", "pos", "6"], ["r2", "neg", "6"]]
    assert (tmp_path / "out" / "excel" / "card.yaml").exists()
