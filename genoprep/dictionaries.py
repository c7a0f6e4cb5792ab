"""Gene dictionaries of foundation models (Geneformer, scGPT): safe loading and their facts.

Geneformer ships its dictionaries as Python pickles. Unpickling runs whatever callables a
pickle names, so a pickle from the internet is code. :func:`load_dictionary` reads pickles
with :class:`NumpyScalarUnpickler`, which admits only the two reconstructors that numpy
scalars need (``numpy.core.multiarray.scalar`` — ``numpy._core.multiarray.scalar`` under
numpy 2 — and ``numpy.dtype``); a pickle naming anything else is refused with one line.
JSON objects are accepted as well (the format genoprep writes when it derives dictionaries).

Every loaded dictionary comes with its :class:`DictionaryFacts` (path, format, size, sha256,
entries) for the completed card.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from genoprep.errors import InputError
from genoprep.jsonio import write_json
from genoprep.provenance import file_sha256

# (module, name) pairs a dictionary pickle may name, and what each resolves to.
_SCALAR = np._core.multiarray.scalar
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy", "dtype"): np.dtype,
}


class RefusedPickle(pickle.UnpicklingError):
    """A pickle that names something a gene dictionary must not contain."""


class NumpyScalarUnpickler(pickle.Unpickler):
    """An unpickler that resolves only numpy's scalar and dtype reconstructors."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise RefusedPickle(
                f"the pickle refers to {module}.{name}; only numpy scalars and dtypes are allowed in a gene dictionary"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise RefusedPickle("the pickle uses persistent ids; a gene dictionary has none")


@dataclasses.dataclass(frozen=True)
class DictionaryFacts:
    """What the completed card records about a dictionary file."""

    path: str
    format: str
    size_bytes: int
    sha256: str
    entries: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _plain_scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def load_dictionary(path: str | os.PathLike[str], what: str) -> tuple[dict[str, Any], DictionaryFacts]:
    """Read a str-keyed dictionary from a pickle (restricted) or a JSON object file.

    ``what`` names the dictionary in error messages (e.g. ``"token dictionary"``). Numpy
    scalar values become Python ``int``/``float``. The format is recognised from the
    content: a pickle starts with the PROTO opcode (``0x80``), JSON with ``{``.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise InputError(
            source, f"{what} not found (dictionaries are read from the paths in the card, never downloaded)"
        )
    raw = path.read_bytes()
    if raw[:1] == b"\x80":
        fmt = "pickle"
        try:
            data = NumpyScalarUnpickler(io.BytesIO(raw)).load()
        except RefusedPickle as err:
            raise InputError(source, f"{what} refused: {err}") from None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as err:
            raise InputError(source, f"{what} is not a readable pickle: {type(err).__name__}: {err}") from None
    else:
        fmt = "json"
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise InputError(source, f"{what} is neither a pickle nor a JSON object: {err}") from None
    if not isinstance(data, dict):
        raise InputError(source, f"{what} holds a {type(data).__name__}, not a dictionary")
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        raise InputError(source, f"{what} has {len(bad_keys)} keys that are not strings (e.g. {bad_keys[0]!r})")
    plain = {key: _plain_scalar(value) for key, value in data.items()}
    facts = DictionaryFacts(path=source, format=fmt, size_bytes=len(raw), sha256=file_sha256(path), entries=len(plain))
    return plain, facts


def check_values(data: Mapping[str, Any], source: str, what: str, accept: Callable[[Any], bool], expected: str) -> None:
    """Refuse a dictionary with a value that ``accept`` rejects (one line naming the first bad entry)."""
    for key, value in data.items():
        if not accept(value):
            raise InputError(source, f"{what}: the value of {key!r} is {value!r}, expected {expected}")


def is_token_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def save_dictionary(data: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a dictionary as a JSON object (insertion order kept), loadable by :func:`load_dictionary`."""
    write_json(dict(data), path)
