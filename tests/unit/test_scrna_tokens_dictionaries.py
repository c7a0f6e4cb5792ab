"""genoprep.dictionaries: the restricted unpickler, JSON dictionaries and their facts."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from genoprep.dictionaries import load_dictionary, save_dictionary
from genoprep.errors import InputError


class _RunsACommand:
    """A pickle payload that would run a shell command when unpickled by plain pickle.load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_numpy_scalar_pickle_is_read_as_plain_values(tmp_path: Path) -> None:
    path = tmp_path / "tokens.pkl"
    data = {"<pad>": 0, "ENSG00000000003": np.int16(2), "ENSG00000000005": np.float64(3.25)}
    path.write_bytes(pickle.dumps(data, protocol=4))
    loaded, facts = load_dictionary(path, "token dictionary")
    assert loaded == {"<pad>": 0, "ENSG00000000003": 2, "ENSG00000000005": 3.25}
    assert type(loaded["ENSG00000000003"]) is int and type(loaded["ENSG00000000005"]) is float
    assert facts.format == "pickle" and facts.entries == 3
    assert facts.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert facts.size_bytes == path.stat().st_size


def test_numpy1_module_name_is_admitted(tmp_path: Path) -> None:
    # numpy 1.x pickles name numpy.core.multiarray.scalar (the real V1 dictionaries do)
    # (protocol 3 names globals as text lines and has no frames, so the module name can be swapped in place)
    raw = pickle.dumps({"g": np.int16(7)}, protocol=3).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray\nscalar" in raw
    path = tmp_path / "old.pkl"
    path.write_bytes(raw)
    loaded, _ = load_dictionary(path, "token dictionary")
    assert loaded == {"g": 7}


def test_malicious_pickle_is_refused_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"ENSG00000000003": _RunsACommand(marker)}, protocol=4))
    with pytest.raises(InputError) as caught:
        load_dictionary(path, "token dictionary")
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert "system" in message and "only numpy scalars and dtypes" in message
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps({"a": {1, 2}}, protocol=2),  # builtins.set via GLOBAL
        pickle.dumps({"a": np.arange(3)}, protocol=4),
    ],
)  # an ndarray
def test_other_globals_are_refused(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "other.pkl"
    path.write_bytes(payload)
    with pytest.raises(InputError, match="refused"):
        load_dictionary(path, "gene median dictionary")


def test_json_dictionary_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "medians.json"
    save_dictionary({"ENSG00000000005": 0.1, "ENSG00000000003": 2.001186019549122}, path)
    loaded, facts = load_dictionary(path, "gene median dictionary")
    assert list(loaded) == ["ENSG00000000005", "ENSG00000000003"]  # insertion order kept
    assert loaded["ENSG00000000003"] == 2.001186019549122
    assert facts.format == "json" and facts.entries == 2


@pytest.mark.parametrize(
    "content, problem",
    [
        (json.dumps([1, 2]).encode(), "holds a list, not a dictionary"),
        (b"not json at all", "neither a pickle nor a JSON object"),
        (pickle.dumps({1: 2}, protocol=4), "keys that are not strings"),
        (pickle.dumps({"a": 1}, protocol=4)[:-3], "not a readable pickle"),
    ],
)
def test_bad_dictionaries_give_one_line(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.pkl"
    path.write_bytes(content)
    with pytest.raises(InputError, match=problem) as caught:
        load_dictionary(path, "token dictionary")
    assert "\n" not in str(caught.value)


def test_missing_dictionary(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="never downloaded"):
        load_dictionary(tmp_path / "absent.pkl", "token dictionary")
