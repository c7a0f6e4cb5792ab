"""genoprep.download against a local HTTP server (127.0.0.1, a thread of the test) serving a real file."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from genoprep.download import download, download_target
from genoprep.errors import InputError
from tests.conftest import shared_data


class Server:
    """Serves one file's bytes: /file (Range honoured), /drop-once (the first answer breaks off halfway),
    /no-range (ignores Range), /busy-once (503 first), anything else 404. Records each request's Range."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.requests: list[tuple[str, str | None]] = []
        self.dropped = self.busy = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                byte_range = self.headers.get("Range")
                server.requests.append((self.path, byte_range))
                if self.path == "/busy-once" and not server.busy:
                    server.busy = True
                    self.send_error(503, "Busy")
                    return
                if self.path not in ("/file", "/drop-once", "/no-range", "/busy-once"):
                    self.send_error(404, "Not Found")
                    return
                start = 0
                if byte_range and self.path != "/no-range":
                    start = int(byte_range.removeprefix("bytes=").rstrip("-"))
                body = server.data[start:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(server.data) - 1}/{len(server.data)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path == "/drop-once" and not server.dropped:
                    server.dropped = True
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)


@pytest.fixture
def server() -> Iterator[Server]:
    data = shared_data("vcf", "1kg_nygc30x_grch38_chr22_100samples_100variants.vcf.gz").read_bytes()
    running = Server(data)
    running.thread.start()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_good_download(server: Server, tmp_path: Path) -> None:
    target = tmp_path / "d" / "x.vcf.gz"
    assert download(f"{server.url}/file", target, sha(server.data)) == sha(server.data)
    assert target.read_bytes() == server.data
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.vcf.gz"]
    assert server.requests == [("/file", None)]


def test_wrong_checksum_keeps_nothing(server: Server, tmp_path: Path) -> None:
    target = tmp_path / "x.vcf.gz"
    with pytest.raises(InputError) as err:
        download(f"{server.url}/file", target, "0" * 64)
    assert str(err.value) == (
        f"{server.url}/file: sha256 of the download is {sha(server.data)}, but the card says "
        f"{'0' * 64}; the file was not kept"
    )
    assert list(tmp_path.iterdir()) == []


def test_dropped_connection_resumes_with_range(server: Server, tmp_path: Path) -> None:
    waits: list[float] = []
    target = tmp_path / "x.vcf.gz"
    download(f"{server.url}/drop-once", target, sha(server.data), sleep=waits.append, backoff=0.5)
    assert target.read_bytes() == server.data
    half = len(server.data) // 2
    assert server.requests == [("/drop-once", None), ("/drop-once", f"bytes={half}-")]
    assert waits == [0.5]


def test_server_ignoring_range_restarts_from_zero(server: Server, tmp_path: Path) -> None:
    target = tmp_path / "x.vcf.gz"
    target.with_name("x.vcf.gz.part").write_bytes(server.data[:100])  # left by an earlier, broken run
    download(f"{server.url}/no-range", target, sha(server.data))
    assert target.read_bytes() == server.data
    assert server.requests == [("/no-range", "bytes=100-")]


def test_server_error_is_retried_with_backoff(server: Server, tmp_path: Path) -> None:
    waits: list[float] = []
    download(f"{server.url}/busy-once", tmp_path / "x", sha(server.data), sleep=waits.append, backoff=2)
    assert waits == [2] and (tmp_path / "x").read_bytes() == server.data


def test_not_found_is_one_line_without_retry(server: Server, tmp_path: Path) -> None:
    waits: list[float] = []
    with pytest.raises(InputError) as err:
        download(f"{server.url}/missing.vcf.gz", tmp_path / "x", sha(server.data), sleep=waits.append)
    assert str(err.value) == f"{server.url}/missing.vcf.gz: HTTP 404 Not Found"
    assert waits == [] and list(tmp_path.iterdir()) == []


def test_unreachable_server_gives_up_after_the_attempts(tmp_path: Path, server: Server) -> None:
    waits: list[float] = []
    port = server.httpd.server_address[1]
    server.httpd.shutdown()
    server.httpd.server_close()
    with pytest.raises(InputError, match=r"download failed after 3 attempts: .*refused"):
        download(f"http://127.0.0.1:{port}/file", tmp_path / "x", "0" * 64, attempts=3, sleep=waits.append)
    assert waits == [1.0, 2.0]


def test_only_http_urls(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="only http:// and https://"):
        download("file:///etc/passwd", tmp_path / "x", "0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_download_target_stays_in_the_results_folder(tmp_path: Path) -> None:
    assert download_target(tmp_path, "d1", {"path": "sub/x.vcf.gz"}) == str(tmp_path / ".work/d1/download/sub/x.vcf.gz")
    for bad in ("../x.vcf.gz", "/etc/x.vcf.gz"):
        with pytest.raises(InputError, match="relative name"):
            download_target(tmp_path, "d1", {"path": bad})
