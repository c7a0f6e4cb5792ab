"""genoprep.locking: links that leave the results folder, and the results-folder lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genoprep.errors import InputError
from genoprep.locking import LOCK_NAME, ResultsLock, check_links
from tests.conftest import REPO


def test_dataset_folder_linked_outside_is_refused(tmp_path: Path) -> None:
    results, elsewhere = tmp_path / "results", tmp_path / "elsewhere"
    results.mkdir()
    elsewhere.mkdir()
    (results / "x").symlink_to(elsewhere)
    with pytest.raises(
        InputError,
        match=rf"^{results / 'x'}: a symbolic link to {elsewhere}, outside the results "
        rf"folder {results}; genoprep does not write through it",
    ):
        check_links(results, ["x"])
    check_links(results, ["other"])  # only the run's datasets are looked at


@pytest.mark.parametrize("where", ["x/obs.tsv", "x/logs/a.log", ".work/x/facts.json"])
def test_file_linked_outside_is_refused(tmp_path: Path, where: str) -> None:
    results = tmp_path / "results"
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = results / where
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    with pytest.raises(InputError, match=rf"^{link}: a symbolic link to {target}, outside"):
        check_links(results, ["x"])
    assert target.read_text() == "keep me"


def test_links_inside_and_a_linked_results_folder_are_fine(tmp_path: Path) -> None:
    real = tmp_path / "scratch"
    (real / "x").mkdir(parents=True)
    (real / "x" / "a.tsv").write_text("a")
    (real / "x" / "b.tsv").symlink_to(real / "x" / "a.tsv")  # inside the results folder
    (real / "x" / "c.tsv").symlink_to("a.tsv")  # relative, inside
    (tmp_path / "results").symlink_to(real)  # results on a scratch disk
    check_links(tmp_path / "results", ["x"])
    check_links(tmp_path / "missing", ["x"])  # nothing to check before the first run


def test_dangling_link_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "results" / "x").mkdir(parents=True)
    (tmp_path / "results" / "x" / "card.yaml").symlink_to(tmp_path / "nowhere" / "card.yaml")
    with pytest.raises(InputError, match="outside the results folder"):
        check_links(tmp_path / "results", ["x"])


HOLD = """
import sys, time
from genoprep.locking import ResultsLock
lock = ResultsLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def _holder(results: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(results)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "locked"
    return process


def test_second_writer_is_refused_until_the_first_ends_even_by_kill_9(tmp_path: Path) -> None:
    results = tmp_path / "results"
    holder = _holder(results)
    try:
        with pytest.raises(
            InputError,
            match=rf"^{results}: another genoprep run is writing to this results folder "
            rf"\(pid {holder.pid} in .*\); wait for it to end",
        ):
            ResultsLock(results).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    lock = ResultsLock(results)
    lock.acquire()  # the kernel released the lock of the killed process
    assert lock.held and (results / LOCK_NAME).read_text() == f"pid {os.getpid()} in {os.getcwd()}\n"
    lock.release()
    assert not lock.held


def test_release_lets_the_next_run_in(tmp_path: Path) -> None:
    first, second = ResultsLock(tmp_path), ResultsLock(tmp_path)
    first.acquire()
    # flock locks belong to the open file: a second open in the same process is refused too
    with pytest.raises(InputError, match="another genoprep run"):
        second.acquire()
    first.release()
    started = time.monotonic()
    second.acquire()
    assert second.held and time.monotonic() - started < 5
    second.release()


def test_lock_file_that_is_a_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError, match="a symbolic link; genoprep's lock file must be a plain file"):
        ResultsLock(tmp_path).acquire()
