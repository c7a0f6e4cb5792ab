"""Remote inputs: fetch a card's ``input.url`` over HTTP(S) and check its SHA-256 before anything reads it.

A card may give ``url`` (with a mandatory ``sha256``) beside an input's ``path``; the
workflow then downloads the file into the results folder,
``RESULTS/.work/<dataset_id>/download/<path>`` (:func:`download_target`), and the
modality's rules read it from there.

:func:`download`:

- writes to ``<name>.part`` beside the target and renames it only once the whole file is
  there and its SHA-256 is the card's, so no partial or unchecked file ever has the real name;
- retries a dropped connection, a timeout or a server error (5xx, 408, 429) with
  exponential back-off, resuming with an HTTP ``Range`` request from the bytes already
  received when the server allows it (206), and starting again when it does not (200);
- refuses a client error (404, 403, ...) at once, and a checksum mismatch after the
  download, with one line naming the URL and the problem (the bad bytes are removed).
"""

from __future__ import annotations

import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from http.client import HTTPException
from pathlib import Path, PurePosixPath
from typing import Any

from genoprep.errors import InputError
from genoprep.progress import Progress
from genoprep.provenance import file_sha256

log = logging.getLogger(__name__)

#: the folder of a dataset's downloads, under RESULTS/.work/<dataset_id>/
DOWNLOAD_FOLDER = "download"
#: HTTP statuses worth another attempt (besides 5xx)
RETRY_STATUSES = (408, 429)
_BLOCK = 1 << 20


def download_target(results: str | os.PathLike[str], dataset_id: str, entry: Mapping[str, Any]) -> str:
    """Where the workflow puts an input with a ``url``: RESULTS/.work/<dataset_id>/download/<path>.

    ``path`` must be a plain relative name (no ``..``, not absolute): the file stays inside
    the results folder.
    """
    name = PurePosixPath(str(entry["path"]))
    if name.is_absolute() or ".." in name.parts or not name.parts:
        raise InputError(
            str(entry["path"]),
            "with a url, path is the file's name in the download folder: give a relative name without '..'",
            record="input.path",
        )
    return os.path.join(os.fspath(results), ".work", dataset_id, DOWNLOAD_FOLDER, *name.parts)


class _Retry(Exception):
    """A failure worth another attempt."""


def _fetch_once(url: str, partial: Path, timeout: float) -> None:
    """One attempt: append to ``partial`` (resuming with Range when it is not empty)."""
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "genoprep", "Accept-Encoding": "identity"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # nothing left to send: the partial file may be whole
            return
        if err.code >= 500 or err.code in RETRY_STATUSES:
            raise _Retry(f"HTTP {err.code} {err.reason}") from None
        raise InputError(url, f"HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, HTTPException, OSError) as err:
        raise _Retry(str(getattr(err, "reason", err))) from None
    with response:
        if have and response.status != 206:
            log.info("%s: the server ignored the Range request (status %s); starting again", url, response.status)
            have = 0
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None and length.isdigit() else None
        received = 0
        progress = Progress(f"downloading {url}", None if expected is None else have + expected, unit="bytes")
        progress.update(have)
        with open(partial, "ab" if have else "wb") as handle:
            try:
                for block in iter(lambda: response.read(_BLOCK), b""):
                    handle.write(block)
                    received += len(block)
                    progress.update(len(block))
            except (TimeoutError, ConnectionError, HTTPException, OSError) as err:
                raise _Retry(f"connection lost after {have + received} bytes ({type(err).__name__})") from None
        if expected is not None and received < expected:
            raise _Retry(f"connection closed after {have + received} of {have + expected} bytes")


def download(
    url: str,
    target: str | os.PathLike[str],
    sha256: str,
    *,
    attempts: int = 5,
    backoff: float = 1.0,
    timeout: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Fetch ``url`` into ``target``, checked against ``sha256``; returns the digest.

    Args:
        url: an http(s) URL.
        target: the final file name (its folder is created).
        sha256: the expected digest (lower-case hex); a mismatch raises :class:`InputError`.
        attempts: tries in all for dropped connections, time-outs and server errors.
        backoff: seconds before the second try, doubled before each next one.
        timeout: seconds a connection may stay silent.
        sleep: how to wait (tests pass a recorder).
    """
    if not url.lower().startswith(("http://", "https://")):
        raise InputError(url, "only http:// and https:// URLs are downloaded", record="input.url")
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    problem = ""
    for attempt in range(1, attempts + 1):
        try:
            _fetch_once(url, partial, timeout)
            break
        except _Retry as err:
            problem = str(err)
            if attempt == attempts:
                raise InputError(url, f"download failed after {attempts} attempts: {problem}") from None
            wait = backoff * 2 ** (attempt - 1)
            log.warning("%s: attempt %d of %d failed (%s); retrying in %.1f s", url, attempt, attempts, problem, wait)
            sleep(wait)
    actual = file_sha256(partial)
    if actual != sha256.lower():
        partial.unlink()
        raise InputError(url, f"sha256 of the download is {actual}, but the card says {sha256}; the file was not kept")
    os.replace(partial, target)
    log.info("%s: %d bytes, sha256 %s -> %s", url, target.stat().st_size, actual, target)
    return actual


def remote_source(card: Any, name: str) -> dict[str, str]:
    """The ``url`` and ``sha256`` of the card input downloaded as ``name`` (its ``path``).

    ``card`` is a :class:`genoprep.cards.Card`.
    """
    for entry in card.input_entries():
        if "url" in entry and PurePosixPath(str(entry["path"])) == PurePosixPath(name):
            return {"url": str(entry["url"]), "sha256": str(entry["sha256"])}
    raise InputError(str(card.path), f"no input with a url has the path {name!r}", record="input")
