"""genoprep.cards: the facts the mutation run (``make mutants MODULES=cards``) found untested.

``write_yaml`` (the completed card.yaml every run writes) is read back byte by byte against
YAML written by hand; ``validate`` fills defaults in place and names the field; the errors of
``discover_cards`` are checked whole (file, record, problem).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from genoprep import cards
from genoprep.cards import SCHEMA_DIR, CardError, discover_cards, load_card, load_cards, validate, write_yaml


@pytest.fixture(autouse=True)
def _fresh_schema_caches() -> None:
    """The schema loaders are cached per process, and mutmut forks each mutant from a process
    whose caches are filled: empty them, so that each test here parses, merges and inlines the
    schemas (and validates each params value) with the code under test."""
    for cached in (cards._parsed_schema, cards._merged_modality_schema, cards._validator, cards._field_validators):
        cached.cache_clear()
    cards._VALIDATED_FIELDS.clear()


def test_schema_dir_is_the_packaged_schemas_folder() -> None:
    """Called directly: SCHEMA_DIR is computed once, when genoprep.cards is imported."""
    expected = Path(cards.__file__).resolve().parent / "schemas"
    assert Path(cards._schema_dir()).resolve() == expected
    assert (cards._schema_dir() / "card.schema.yaml").is_file()


def test_with_defaults_fills_copies_of_defaults_and_still_validates() -> None:
    """Called directly (the module's validator class is made at import time): defaults are
    filled in, as copies (filling twice gives two distinct lists; the schema's list is unchanged),
    given values win, a non-mapping instance is left alone and errors are still found."""
    filling = cards._with_defaults(Draft202012Validator)
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "default": ["a"]},
            "n": {"type": "integer", "minimum": 1, "default": 2},
            "free": {"type": "string"},
        },
    }
    first: dict = {}
    second: dict = {"n": 5}
    assert list(filling(schema).iter_errors(first)) == []
    assert list(filling(schema).iter_errors(second)) == []
    assert first == {"tags": ["a"], "n": 2}
    assert second == {"n": 5, "tags": ["a"]}
    first["tags"].append("b")
    assert second["tags"] == ["a"] and schema["properties"]["tags"]["default"] == ["a"]
    nested = {"type": "object", "properties": {"d": {"default": {"inner": [1]}}}}
    one: dict = {}
    two: dict = {}
    assert list(filling(nested).iter_errors(one)) == [] and list(filling(nested).iter_errors(two)) == []
    one["d"]["inner"].append(2)  # deep copies: the other card and the schema keep [1]
    assert two == {"d": {"inner": [1]}} and nested["properties"]["d"]["default"] == {"inner": [1]}
    listed: list = []
    assert list(filling({"properties": schema["properties"]}).iter_errors(listed)) == [] and listed == []
    errors = list(filling(schema).iter_errors({"n": 0}))
    assert [(list(e.absolute_path), e.message) for e in errors] == [(["n"], "0 is less than the minimum of 1")]
    # the plain validator fills nothing: the filling is _with_defaults' doing
    plain: dict = {}
    assert list(Draft202012Validator(schema).iter_errors(plain)) == [] and plain == {}


def test_write_yaml_is_block_style_utf8_in_the_given_key_order(tmp_path: Path) -> None:
    path = tmp_path / "card.yaml"
    write_yaml({"name": "Zürich cells", "b": 1, "a": {"z": [1, 2], "y": None}}, path)
    expected = "name: Zürich cells\nb: 1\na:\n  z:\n  - 1\n  - 2\n  y: null\n"
    assert path.read_bytes() == expected.encode("utf-8")


def test_write_yaml_wraps_long_text_at_100_columns_and_reads_back_equal(tmp_path: Path) -> None:
    """Width 100 (not YAML's default 80): a 90-character line stays one line."""
    path = tmp_path / "card.yaml"
    ninety = " ".join(["abcdefghi"] * 9)[:-1] + "x"  # 89 characters, 9 words
    long = " ".join(["word"] * 40)  # 199 characters
    write_yaml({"k": ninety, "long": long}, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"k: {ninety}"
    # PyYAML breaks at the first space past the width: at most one short word beyond column 100
    assert all(len(line) <= 100 + len(" word") for line in lines)
    assert len(lines) > 2  # the 199-character text was folded
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == {"k": ninety, "long": long}


def test_write_yaml_breaks_a_line_past_column_100_not_101(tmp_path: Path) -> None:
    """PyYAML breaks plain text at the first space past the width: "k: " + 98 letters ends at
    column 101, past 100, so " b" goes to the next line (with width 101 it would stay)."""
    path = tmp_path / "card.yaml"
    write_yaml({"k": "a" * 98 + " b"}, path)
    assert path.read_text(encoding="utf-8") == "k: " + "a" * 98 + "\n  b\n"
    write_yaml({"k": "a" * 97 + " b"}, path)
    assert path.read_text(encoding="utf-8") == "k: " + "a" * 97 + " b\n"


def test_write_yaml_accepts_a_mapping_that_is_not_a_dict(tmp_path: Path) -> None:
    from types import MappingProxyType

    path = tmp_path / "card.yaml"
    write_yaml(MappingProxyType({"a": 1}), path)
    assert path.read_text(encoding="utf-8") == "a: 1\n"


SCHEMA = {
    "type": "object",
    "properties": {
        "params": {
            "type": "object",
            "properties": {"n": {"type": "integer", "default": 3}, "m": {"type": "integer", "minimum": 1}},
            "default": {},
        }
    },
}


def test_validate_fills_defaults_in_place() -> None:
    data: dict = {}
    validate(data, SCHEMA, "c.yaml")
    assert data == {"params": {"n": 3}}
    given = {"params": {"n": 5}}
    validate(given, SCHEMA, "c.yaml")
    assert given == {"params": {"n": 5}}


def test_validate_names_the_card_and_the_field() -> None:
    with pytest.raises(CardError) as caught:
        validate({"params": {"m": 0}}, SCHEMA, "c.yaml")
    assert (caught.value.source, caught.value.record) == ("c.yaml", "params.m")
    assert caught.value.problem == "0 is less than the minimum of 1"


def test_discover_takes_yaml_and_yml_files_sorted_and_skips_folders(tmp_path: Path) -> None:
    for name in ("c.yml", "a.yaml", "b.YAML.txt", "notes.txt"):
        (tmp_path / name).write_text("dataset_id: x\n", encoding="utf-8")
    (tmp_path / "folder.yaml").mkdir()
    assert discover_cards(tmp_path) == [tmp_path / "a.yaml", tmp_path / "c.yml"]
    assert discover_cards([str(tmp_path / "c.yml"), tmp_path / "a.yaml"]) == [tmp_path / "c.yml", tmp_path / "a.yaml"]


def test_discover_errors_name_the_spec_and_the_problem(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(CardError) as caught:
        discover_cards(missing)
    assert (caught.value.source, caught.value.record, caught.value.problem) == (
        str(missing),
        "datasets",
        "no such card file or folder",
    )
    one, two = tmp_path / "e1", tmp_path / "e2"
    one.mkdir()
    two.mkdir()
    with pytest.raises(CardError) as caught:
        discover_cards([one, two])
    assert (caught.value.source, caught.value.record, caught.value.problem) == (
        f"{one}, {two}",
        "datasets",
        "no dataset cards (*.yaml) found",
    )


GOOD = {
    "dataset_id": "pbmc_x",
    "name": "PBMC",
    "modality": "scrna",
    "input": {"path": "counts.csv.gz", "format": "csv", "orientation": "genes_x_cells"},
}


def _write_card(folder: Path, card: dict, name: str) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    return path


def test_a_card_with_several_inputs_lists_them_in_card_order(tmp_path: Path) -> None:
    card = {
        "dataset_id": "promoters",
        "name": "promoters",
        "modality": "dna",
        "inputs": [{"path": "pos.fa", "label": "pos"}, {"path": "/data/neg.fa", "label": "neg"}],
    }
    loaded = load_card(_write_card(tmp_path, card, "p.yaml"))
    assert [(e["path"], e["label"]) for e in loaded.input_entries()] == [("pos.fa", "pos"), ("/data/neg.fa", "neg")]
    assert loaded.input_paths() == [tmp_path / "pos.fa", Path("/data/neg.fa")]


def test_duplicate_dataset_id_names_the_second_card_and_the_first(tmp_path: Path) -> None:
    first = _write_card(tmp_path, GOOD, "a.yaml")
    second = _write_card(tmp_path, GOOD, "b.yaml")
    with pytest.raises(CardError) as caught:
        load_cards(tmp_path)
    assert (caught.value.source, caught.value.record, caught.value.problem) == (
        str(second),
        "dataset_id",
        f"dataset_id 'pbmc_x' is already used by {first}",
    )


def test_load_cards_uses_the_schema_folder_it_is_given(tmp_path: Path) -> None:
    """A copy of the schemas whose scrna min_genes default is 7 gives cards with min_genes 7."""
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, schemas)
    scrna = schemas / "modality" / "scrna.schema.yaml"
    text = scrna.read_text(encoding="utf-8")
    assert text.count("default: 200") >= 1
    schema = yaml.safe_load(text)
    schema["properties"]["params"]["properties"]["min_genes"]["default"] = 7
    scrna.write_text(yaml.safe_dump(schema, sort_keys=False), encoding="utf-8")
    cards = tmp_path / "cards"
    cards.mkdir()
    _write_card(cards, GOOD, "a.yaml")
    assert load_cards(cards)["pbmc_x"].params["min_genes"] == 200
    assert load_cards(cards, schemas)["pbmc_x"].params["min_genes"] == 7


def test_inline_refs_by_hand() -> None:
    """Local refs are replaced by their definitions (recursively, siblings kept); a ref whose
    siblings clash with the definition, a non-local ref and an unknown one stay as written."""
    from genoprep.cards import _inline_refs

    n = {"type": "integer", "minimum": 0}
    entry = {"type": "object", "properties": {"path": {"type": "string"}}}
    defs = {"entry": entry, "n": n, "wrap": {"$ref": "#/$defs/n"}}
    schema = {
        "$defs": defs,
        "properties": {
            "input": {"$ref": "#/$defs/entry"},
            "inputs": {"type": "array", "items": {"$ref": "#/$defs/entry"}},
            "k": {"$ref": "#/$defs/n", "default": 3},
            "w": {"$ref": "#/$defs/wrap"},
            "clash": {"$ref": "#/$defs/n", "minimum": 5},
            "other": {"$ref": "#/other/n"},
            "unknown": {"$ref": "#/$defs/missing"},
        },
        "list": [{"$ref": "#/$defs/n"}, 1],
    }
    assert _inline_refs(schema, defs) == {
        "properties": {
            "input": entry,
            "inputs": {"type": "array", "items": entry},
            "k": {"type": "integer", "minimum": 0, "default": 3},
            "w": n,
            "clash": {"$ref": "#/$defs/n", "minimum": 5},
            "other": {"$ref": "#/other/n"},
            "unknown": {"$ref": "#/$defs/missing"},
        },
        "list": [n, 1],
        "$defs": defs,
    }
    assert "$defs" not in _inline_refs({"a": 1}, defs)


def _refusal(call, *args, **kwargs) -> tuple[str, str | None, str]:
    with pytest.raises(CardError) as caught:
        call(*args, **kwargs)
    err = caught.value
    assert "\n" not in str(err)
    return err.source, err.record, err.problem


@pytest.mark.parametrize(
    ("text", "record", "problem"),
    [
        ("dataset_id: x\n1: 2\n", None, "the key 1 is not text (quote it)"),
        ("dataset_id: x\nparams:\n  a:\n    true: 2\n", "params.a", "the key True is not text (quote it)"),
        ("a: &a [*a]\n", "a" + "[0]" * 50, "nested more than 50 levels deep (a recursive YAML alias?)"),
        ('dataset_id: x\nname: "a\\0b"\n', "name", "contains a NUL character"),
        ('dataset_id: x\nlist: [a, "b\\0"]\n', "list[1]", "contains a NUL character"),
        (
            "dataset_id: x\nparams:\n  max_pct_mito: .nan\n",
            "params.max_pct_mito",
            "is NaN (.nan), not a number: give a value or leave the field out",
        ),
        (
            "dataset_id: x\nparams:\n  qc: [1.0, .NaN]\n",
            "params.qc[1]",
            "is NaN (.nan), not a number: give a value or leave the field out",
        ),
        ('"\\0"\n', None, "a card must be a YAML mapping of fields"),
        ("- a\n- b\n", None, "a card must be a YAML mapping of fields"),
        ("", None, "a card must be a YAML mapping of fields"),
        ("a: [1\nb: 2\n", "line 2", "not valid YAML: did not find expected ',' or ']'"),
        (
            "dataset_id: ../x\nname: x\nmodality: scrna\n",
            "dataset_id",
            "'../x' is not a plain folder name: use letters, digits, '.', '_' and '-', not starting with '.' "
            "(the id names the folder OUT/<dataset_id>/)",
        ),
        (
            "dataset_id: x\nname: x\nmodality: scrna\n",
            None,
            "give exactly one of 'input' (one file) or 'inputs' (a list)",
        ),
    ],
)
def test_card_refusals_are_whole_lines(tmp_path: Path, text: str, record: str | None, problem: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8")
    if problem.startswith("give exactly one"):
        record = "input"
    assert _refusal(load_card, path) == (str(path), record, problem)


def test_nesting_exactly_at_the_limit_is_accepted_as_plain(tmp_path: Path) -> None:
    """A value 50 keys below the top is allowed; 51 are not (the check, not the schema, refuses)."""
    deep: dict = {"leaf": 1}
    for _ in range(48):
        deep = {"k": deep}
    cards._check_plain({"top": deep}, "c.yaml")  # top, 48 x k, leaf: 50 keys
    source, record, problem = _refusal(cards._check_plain, {"top": {"k": deep}}, "c.yaml")
    assert (source, problem) == ("c.yaml", "nested more than 50 levels deep (a recursive YAML alias?)")
    assert record == "top" + ".k" * 49 + ".leaf"


def test_read_yaml_problems(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: caf\xe9\n")
    assert _refusal(cards.read_yaml, latin) == (
        str(latin),
        None,
        "not UTF-8 text (invalid continuation byte at byte 9)",
    )
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    assert _refusal(cards.read_yaml, folder) == (str(folder), None, "cannot read card: Is a directory")
    tabbed = tmp_path / "tab.yaml"
    tabbed.write_text("a:\n\tb: 1\n", encoding="utf-8")
    source, record, problem = _refusal(cards.read_yaml, tabbed)
    assert (source, record) == (str(tabbed), "line 2") and problem == (
        "not valid YAML: found character that cannot start any token"
    )


def test_short_collapses_whitespace_and_cuts_at_the_limit() -> None:
    assert cards._short("a \n b\t c") == "a b c"
    assert cards._short("x" * 160) == "x" * 160
    assert cards._short("x" * 161) == "x" * 157 + "..."
    assert cards._short("abcdefgh", limit=5) == "ab..."


def test_validation_errors_name_nested_fields_and_list_items(tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "array", "items": {"type": "object", "properties": {"b": {"type": "integer"}}}}},
    }
    assert _refusal(validate, {"a": [{"b": 1}, {"b": "x"}]}, schema, "c.yaml") == (
        "c.yaml",
        "a[1].b",
        "'x' is not of type 'integer'",
    )
    assert _refusal(validate, [], {"type": "object"}, "c.yaml") == ("c.yaml", "(card)", "[] is not of type 'object'")
    long = {"type": "object", "properties": {"s": {"enum": ["a" * 100, "b" * 100]}}}
    source, record, problem = _refusal(validate, {"s": "c"}, long, "c.yaml")
    assert record == "s" and len(problem) == 160 and problem.endswith("...")


def test_unknown_modality_is_named(tmp_path: Path) -> None:
    card = {**GOOD, "modality": "proteomics"}
    path = _write_card(tmp_path, card, "p.yaml")
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, schemas)
    schema = yaml.safe_load((schemas / "card.schema.yaml").read_text(encoding="utf-8"))
    schema["properties"]["modality"] = {"type": "string"}
    (schemas / "card.schema.yaml").write_text(yaml.safe_dump(schema), encoding="utf-8")
    assert _refusal(load_card, path, schemas) == (str(path), "modality", "modality 'proteomics' is not supported yet")


def test_check_inputs_records_and_relative_path_hint(tmp_path: Path) -> None:
    """Each path's card field is the record; a missing relative path says it is relative to the
    card's folder, an absolute one does not; a NumPy input's sidecar is named by its own field."""
    folder = tmp_path / "cards"
    folder.mkdir()
    (tmp_path / "m.npy").write_bytes(b"")
    bulk = {
        "dataset_id": "b",
        "name": "b",
        "modality": "bulk",
        "input": {"path": "../m.npy", "format": "npy", "gene_ids_path": "g.txt", "sample_ids_path": "s.txt"},
    }
    card = load_card(_write_card(folder, bulk, "b.yaml"))
    missing = folder / "g.txt"
    assert _refusal(cards.check_inputs, card) == (
        str(card.path),
        "input.gene_ids_path",
        f"{missing}: no such file (the path 'g.txt' is relative to the card's folder {folder})",
    )
    # made by the workflow: not checked, and the next path still is
    assert _refusal(cards.check_inputs, card, generated=[str(missing)])[1] == "input.sample_ids_path"
    cards.check_inputs(card, generated=[str(missing), str(folder / "s.txt")])
    absolute = {**GOOD, "input": {**GOOD["input"], "path": str(tmp_path / "none.csv")}}
    card = load_card(_write_card(folder, absolute, "a.yaml"))
    assert _refusal(cards.check_inputs, card) == (
        str(card.path),
        "input.path",
        f"{tmp_path / 'none.csv'}: no such file",
    )
    fetched = {**GOOD, "input": {**GOOD["input"], "url": "https://example.org/x.csv", "sha256": "0" * 64}}
    cards.check_inputs(load_card(_write_card(folder, fetched, "u.yaml")))  # downloaded by the workflow
    fetched["metadata"] = {"path": "nometa.csv"}
    card = load_card(_write_card(folder, fetched, "u.yaml"))
    assert _refusal(cards.check_inputs, card)[1] == "metadata.path"  # the paths after it are checked
    (tmp_path / "x.csv").write_text("gene,c\nA,1\n", encoding="utf-8")
    with_meta = {**GOOD, "input": {**GOOD["input"], "path": "../x.csv"}, "metadata": {"path": "meta.csv"}}
    card = load_card(_write_card(folder, with_meta, "m.yaml"))
    assert _refusal(cards.check_inputs, card)[1] == "metadata.path"
    assert card.metadata_path() == folder / "meta.csv"
    assert load_card(_write_card(folder, GOOD, "g.yaml")).metadata_path() is None


def test_card_properties(tmp_path: Path) -> None:
    card = load_card(_write_card(tmp_path, {**GOOD, "params": {"min_genes": 3}}, "c.yaml"))
    assert (card.dataset_id, card.modality, card.folder) == ("pbmc_x", "scrna", tmp_path)
    assert card.params["min_genes"] == 3
    card.params["min_genes"] = 9  # a copy
    assert card.data["params"]["min_genes"] == 3
    assert card.resolve("../a/./b.csv") == tmp_path.parent / "a" / "b.csv"
    assert card.resolve("/x/../y.csv") == Path("/y.csv")
    assert card.input_entries() == [card.data["input"]] and card.input_paths() == [tmp_path / "counts.csv.gz"]
    bare = cards.Card(path=tmp_path / "c.yaml", data={"dataset_id": 7, "modality": "bulk", "inputs": []})
    assert (bare.dataset_id, bare.params, bare.input_entries()) == ("7", {}, [])


def test_ids_regex_by_hand() -> None:
    import re

    assert cards.ids_regex([]) == "(?!)"
    assert cards.ids_regex(["a"]) == "a"
    assert cards.ids_regex(["ab", "a"]) == "ab?"
    assert cards.ids_regex(["d001", "d012", "d001"]) == "d0(?:01|12)"
    assert cards.ids_regex(["a", "abc"]) == "a(?:bc)?"
    assert cards.ids_regex(["a", "ab", "ac"]) == "a(?:(?:b|c))?"
    assert cards.ids_regex(["a.b"]) == "a\\.b"
    pattern = re.compile(cards.ids_regex(["x-1", "x.1", "x"]))
    assert [bool(pattern.fullmatch(t)) for t in ("x", "x-1", "x.1", "xa1", "x-", "")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_a_modality_field_missing_is_refused(tmp_path: Path) -> None:
    """A bulk card with ``inputs`` (a list) passes the shared schema but not the bulk schema,
    which requires ``input``: the full validator's line, not a card accepted field by field."""
    card = {"dataset_id": "b", "name": "b", "modality": "bulk", "inputs": [{"path": "t.csv", "format": "csv"}]}
    path = _write_card(tmp_path, card, "b.yaml")
    assert _refusal(load_card, path) == (str(path), "(card)", "'input' is a required property")


def test_dataset_constraint_by_hand() -> None:
    """The shorter of "these ids" and "any id but the others" (a tie keeps the ids), written out
    by hand; each form accepts the modality's ids and refuses the others' ids, as a path segment
    (``out/<id>/``) and as a bare wildcard value."""
    import re

    any_id = "[A-Za-z0-9_-][A-Za-z0-9._-]*"
    assert cards.dataset_constraint(["d1", "d2"], []) == any_id
    assert cards.dataset_constraint(["d1", "d2"], iter(())) == any_id  # an empty iterator, not only a list
    assert cards.dataset_constraint(["a"], ["b", "c"]) == "a"
    assert cards.dataset_constraint([], ["b"]) == "(?!)"
    # "(?!(?:b)(?:/|$))" + any_id is 44 characters: an id of 44 letters ties (the ids win), 45 does not
    but_b = "(?!(?:b)(?:/|$))" + any_id
    assert len(but_b) == 44
    assert cards.dataset_constraint(["a" * 44], ["b"]) == "a" * 44
    assert cards.dataset_constraint(["a" * 45], iter(["b"])) == but_b
    many = [f"d{i:02d}" for i in range(30)]
    constraint = cards.dataset_constraint(many, ["x1", "d1"])
    assert constraint == "(?!(?:(?:d1|x1))(?:/|$))" + any_id
    segment = re.compile(f"out/(?P<d>{constraint})/qc\\.json")
    for dataset_id, kept in [("d07", True), ("d29", True), ("x1", False), ("d1", False), ("x12", True)]:
        assert (segment.fullmatch(f"out/{dataset_id}/qc.json") is not None) == kept, dataset_id
        bare = re.match(constraint, dataset_id)
        assert (bare is not None and bare.end() == len(dataset_id)) == kept, dataset_id


BULK = {"dataset_id": "b", "name": "b", "modality": "bulk"}


def _schema_defaults(modality: str) -> dict:
    """The params' plain (not nested) defaults written in the modality's schema file (read with plain PyYAML)."""
    schema = yaml.safe_load((SCHEMA_DIR / "modality" / f"{modality}.schema.yaml").read_text(encoding="utf-8"))
    properties = schema["properties"]["params"]["properties"]
    return {name: sub["default"] for name, sub in properties.items() if not isinstance(sub.get("default", {}), dict)}


def test_a_valid_card_is_checked_field_by_field_and_remembered(tmp_path: Path, monkeypatch) -> None:
    """A valid card never needs the whole-card modality validator (each field's value is checked
    once and remembered); its params, given and left out, come back with the schema's defaults."""
    asked: list[str] = []
    real = cards._validator

    def spy(schema_dir: str, name: str):
        asked.append(name)
        return real(schema_dir, name)

    monkeypatch.setattr(cards, "_validator", spy)
    defaults = _schema_defaults("scrna")
    assert defaults["min_genes"] == 200
    bare = load_card(_write_card(tmp_path, GOOD, "a.yaml"))
    given = load_card(_write_card(tmp_path, {**GOOD, "params": {"min_genes": 3}}, "b.yaml"))
    again = load_card(_write_card(tmp_path, {**GOOD, "dataset_id": "other", "params": {"min_genes": 3}}, "c.yaml"))
    # a bulk card leaves out ``columns``, a top-level field with a default of its own in the bulk schema
    bulk = load_card(_write_card(tmp_path, {**BULK, "input": {"path": "t.csv", "format": "csv"}}, "d.yaml"))
    bulk_schema = yaml.safe_load((SCHEMA_DIR / "modality" / "bulk.schema.yaml").read_text(encoding="utf-8"))
    assert bulk.data["columns"] == bulk_schema["properties"]["columns"]["default"]
    assert [n for n in asked if n.startswith("modality/")] == []
    assert {k: bare.params[k] for k in defaults} == defaults
    assert (
        {k: given.params[k] for k in defaults} == {**defaults, "min_genes": 3} == {k: again.params[k] for k in defaults}
    )
    assert bare.data["input"] == {**GOOD["input"], "value_type": "counts"}  # the schema's default
    # the cards' own values (written with sorted keys), and the params' default {} of the first card
    assert {(k[1], k[2], k[3]) for k in cards._VALIDATED_FIELDS if k[1] == "scrna"} == {
        ("scrna", "input", json.dumps(GOOD["input"], sort_keys=True)),
        ("scrna", "params", "{}"),
        ("scrna", "params", '{"min_genes": 3}'),
    }
    assert ("bulk", "columns", json.dumps(bulk_schema["properties"]["columns"]["default"])) in {
        (k[1], k[2], k[3]) for k in cards._VALIDATED_FIELDS
    }


def test_an_infinite_param_goes_through_the_whole_card_validator(tmp_path: Path) -> None:
    """``.inf`` has no JSON text: such a card is checked by the whole-card validator, which fills
    the defaults the same way and names the card and the field of an error beside it. (``.nan`` is
    refused before, when the card is read: no schema bound can refuse it.)"""
    card = load_card(_write_card(tmp_path, {**GOOD, "params": {"target_sum": float("inf")}}, "n.yaml"))
    defaults = _schema_defaults("scrna")
    assert card.params["target_sum"] == float("inf")
    assert {k: card.params[k] for k in defaults if k != "target_sum"} == {
        k: v for k, v in defaults.items() if k != "target_sum"
    }
    path = _write_card(tmp_path, {**GOOD, "params": {"target_sum": float("inf"), "min_genes": -1}}, "e.yaml")
    assert _refusal(load_card, path) == (str(path), "params.min_genes", "-1 is less than the minimum of 0")
    path = _write_card(tmp_path, {**GOOD, "params": {"max_pct_mito": float("nan")}}, "nan.yaml")
    assert _refusal(load_card, path) == (
        str(path),
        "params.max_pct_mito",
        "is NaN (.nan), not a number: give a value or leave the field out",
    )


def test_check_inputs_wants_the_sidecar_ids_as_files(tmp_path: Path) -> None:
    """A NumPy input's gene and sample id files: files pass, a folder in their place is refused."""
    for name in ("m.npy", "g.txt", "s.txt"):
        (tmp_path / name).write_bytes(b"")
    bulk = {
        "dataset_id": "b",
        "name": "b",
        "modality": "bulk",
        "input": {"path": "m.npy", "format": "npy", "gene_ids_path": "g.txt", "sample_ids_path": "s.txt"},
    }
    cards.check_inputs(load_card(_write_card(tmp_path, bulk, "b.yaml")))
    (tmp_path / "gdir").mkdir()
    bulk["input"]["gene_ids_path"] = "gdir"
    card = load_card(_write_card(tmp_path, bulk, "b.yaml"))
    assert _refusal(cards.check_inputs, card) == (
        str(card.path),
        "input.gene_ids_path",
        f"{tmp_path / 'gdir'}: a folder, but a file is expected here",
    )


def test_a_control_character_is_named_by_the_yaml_reader(tmp_path: Path) -> None:
    """PyYAML's reader error has no ``problem`` attribute: its own text is the problem."""
    path = tmp_path / "bell.yaml"
    path.write_bytes(b"dataset_id: x\x07\n")
    source, record, problem = _refusal(load_card, path)
    assert (source, record) == (str(path), None)
    assert problem.startswith("not valid YAML: unacceptable character #x0007: control characters are not allowed")


def test_a_yaml_date_in_a_modality_field_gets_the_full_validators_line(tmp_path: Path) -> None:
    """A value JSON cannot hold (a YAML date) cannot be memoized field by field: the card goes
    through the modality's full validator, whose line names the field and the date's type."""
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(GOOD) + "params:\n  min_genes: 2020-01-01\n", encoding="utf-8")
    assert _refusal(load_card, path) == (
        str(path),
        "params.min_genes",
        "datetime.date(2020, 1, 1) is not of type 'integer'",
    )


def test_dataset_constraint_is_the_shorter_expression() -> None:
    """Many ids of one modality and one other card: the look-ahead over the other id is shorter
    than the trie of the many, so it is returned (it also accepts ids no card has); with few ids
    and many others, the ids themselves. Both accept exactly the ids and refuse the others."""
    import re

    many = [f"sample_{i:03d}_{chr(97 + i % 26)}" for i in range(200)]
    short = cards.dataset_constraint(many, ["other"])
    assert len(short) < 100
    assert all(re.fullmatch(short, i) for i in many)
    assert not re.fullmatch(short, "other") and re.fullmatch(short, "no_card_has_this")
    few = cards.dataset_constraint(["a1"], many)
    assert few == "a1"
    assert not any(re.fullmatch(few, i) for i in many)
    assert cards.dataset_constraint(["a1"], []) == cards.dataset_constraint([], [])
