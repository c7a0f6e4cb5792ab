"""A card input with url + sha256, through the workflow, from a local HTTP server (127.0.0.1, a test thread)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import run_workflow, shared_data, write_card

pytestmark = pytest.mark.e2e

FASTA = ("dna", "lady_slipper_orchids_its_94seqs_genus_labels.fasta")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served() -> Iterator[tuple[str, Path]]:
    """http://127.0.0.1:<port>/ serving the real data folder of the FASTA file."""
    source = shared_data(*FASTA)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(source.parent)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", source
    httpd.shutdown()
    httpd.server_close()


def test_remote_input_is_downloaded_checked_and_used(served: tuple[str, Path], tmp_path: Path) -> None:
    base_url, source = served
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    url = f"{base_url}/{source.name}"
    write_card(
        tmp_path / "cards",
        {
            "dataset_id": "remote",
            "name": "orchids over http",
            "modality": "dna",
            "input": {"path": "orchids.fasta", "url": url, "sha256": digest},
        },
    )
    write_card(
        tmp_path / "cards",
        {
            "dataset_id": "badsum",
            "name": "wrong checksum",
            "modality": "dna",
            "input": {"path": "orchids.fasta", "url": url, "sha256": "0" * 64},
        },
    )
    out = tmp_path / "out"
    done = run_workflow(tmp_path / "cards", out, "--keep-going", check=False)
    assert done.returncode != 0  # the bad checksum fails its dataset, the other one completes

    downloaded = out / ".work" / "remote" / "download" / "orchids.fasta"
    assert downloaded.read_bytes() == source.read_bytes()
    card = yaml.safe_load((out / "remote" / "card.yaml").read_text())
    assert {k: card["input"][k] for k in ("path", "url", "sha256")} == {
        "path": "orchids.fasta",
        "url": url,
        "sha256": digest,
    }
    headers = [line[1:].rstrip("\n") for line in source.read_text().splitlines() if line.startswith(">")]
    assert pd.read_csv(out / "remote" / "obs.tsv", sep="\t")["id"].tolist() == headers

    errors = [line for line in done.stderr.splitlines() if line.startswith("genoprep: error:")]
    assert errors == [
        (
            f"genoprep: error: {url}: sha256 of the download is {digest}, but the card says {'0' * 64}; "
            "the file was not kept"
        )
    ]
    assert [p for p in (out / ".work" / "badsum").rglob("*") if p.is_file()] == []  # no file, no .part
    assert not (out / "badsum" / "obs.tsv").exists()
