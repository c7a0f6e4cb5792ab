"""Dataset cards: schema validation, defaults, one-line errors, discovery."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genoprep.cards import (
    COMMON_PARAMS_SCHEMA,
    DATASET_ID,
    SCHEMA_DIR,
    CardError,
    check_inputs,
    discover_cards,
    ids_regex,
    load_card,
    load_cards,
    load_schema,
    modality_schema,
)

GOOD = {
    "dataset_id": "pbmc_x",
    "name": "PBMC",
    "modality": "scrna",
    "input": {"path": "counts.csv.gz", "format": "csv", "orientation": "genes_x_cells"},
}


def write(folder: Path, card: dict, name: str | None = None) -> Path:
    path = folder / (name or f"{card['dataset_id']}.yaml")
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    return path


def test_defaults_are_filled_in(tmp_path: Path) -> None:
    card = load_card(write(tmp_path, GOOD))
    assert card.params["min_genes"] == 200
    assert card.params["min_cells"] == 3
    assert card.params["max_genes"] == 2500
    assert card.params["max_pct_mito"] == 5
    assert card.params["target_sum"] == 10000
    assert card.params["n_top_genes"] == 2000
    assert card.params["scale_max_value"] == 10
    assert card.data["input"]["value_type"] == "counts"


def test_overrides_win_over_defaults(tmp_path: Path) -> None:
    card = load_card(write(tmp_path, {**GOOD, "params": {"min_genes": 10, "max_genes": None}}))
    assert card.params["min_genes"] == 10 and card.params["max_genes"] is None and card.params["min_cells"] == 3


def test_input_path_is_relative_to_the_card(tmp_path: Path) -> None:
    (tmp_path / "cards").mkdir()
    card = load_card(write(tmp_path / "cards", {**GOOD, "input": {**GOOD["input"], "path": "../data/x.csv"}}))
    assert card.input_paths() == [tmp_path / "data" / "x.csv"]
    absolute = load_card(write(tmp_path, {**GOOD, "input": {**GOOD["input"], "path": "/abs/x.csv"}}))
    assert absolute.input_paths() == [Path("/abs/x.csv")]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"dataset_id": "bad id/with slash"}, "dataset_id", "is not a plain folder name"),
        ({"modality": "proteomics"}, "modality", "is not one of"),
        ({"input": {"path": "x", "format": "xlsx"}}, "input.format", "is not one of"),
        ({"input": {"path": "x.csv", "format": "csv"}}, "input", "orientation"),
        ({"params": {"min_genes": -1}}, "params.min_genes", "minimum"),
        ({"params": {"min_gens": 3}}, "params", "min_gens"),
        ({"input": {"path": "x", "format": "h5ad", "sha256": "abc"}}, "input.sha256", "does not match"),
    ],
)
def test_invalid_card_gives_one_line_naming_card_and_field(
    tmp_path: Path, change: dict, field: str, words: str
) -> None:
    path = write(tmp_path, {**GOOD, **change}, name="card.yaml")
    with pytest.raises(CardError) as info:
        load_card(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {field}: "), message
    assert words in message


def test_missing_required_field(tmp_path: Path) -> None:
    card = {k: v for k, v in GOOD.items() if k != "name"}
    with pytest.raises(CardError, match="'name' is a required property"):
        load_card(write(tmp_path, card))


def test_input_and_inputs_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(CardError, match="exactly one of 'input'"):
        load_card(write(tmp_path, {**GOOD, "inputs": [{"path": "a"}]}))


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("dataset_id: x\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(CardError, match=r"broken.yaml: line \d+: not valid YAML"):
        load_card(path)


def test_ids_must_be_unique_across_cards(tmp_path: Path) -> None:
    write(tmp_path, GOOD, name="a.yaml")
    write(tmp_path, GOOD, name="b.yaml")
    with pytest.raises(CardError, match="dataset_id 'pbmc_x' is already used by"):
        load_cards(tmp_path)


def test_discover_folder_file_and_list(tmp_path: Path) -> None:
    a = write(tmp_path, GOOD, name="a.yaml")
    b = write(tmp_path, {**GOOD, "dataset_id": "other"}, name="b.yml")
    (tmp_path / "notes.txt").write_text("not a card")
    assert discover_cards(tmp_path) == [a, b]
    assert discover_cards(str(a)) == [a]
    assert discover_cards([a, b]) == [a, b]
    assert sorted(load_cards(tmp_path)) == ["other", "pbmc_x"]
    with pytest.raises(CardError, match="no such card file or folder"):
        discover_cards(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CardError, match="no dataset cards"):
        discover_cards(empty)


def test_repository_cards_are_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    cards = load_cards(root / "config" / "demo")
    assert "pbmc_demo" in cards


def test_metadata_unmatched_policy_defaults_to_error(tmp_path: Path) -> None:
    card = load_card(write(tmp_path, {**GOOD, "metadata": {"path": "m.csv"}}))
    assert card.data["metadata"]["unmatched"] == "error"
    assert (
        load_card(write(tmp_path, {**GOOD, "metadata": {"path": "m.csv", "unmatched": "na"}})).data["metadata"][
            "unmatched"
        ]
        == "na"
    )
    with pytest.raises(CardError, match=r"metadata\.unmatched: 'drop' is not one of"):
        load_card(write(tmp_path, {**GOOD, "metadata": {"path": "m.csv", "unmatched": "drop"}}))


def _schemas_with_common(tmp_path: Path, common: dict | None) -> Path:
    """A copy of the repository's schemas, with ``common`` as common_params.schema.yaml (or none)."""
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, schemas)
    (schemas / COMMON_PARAMS_SCHEMA).unlink(missing_ok=True)
    if common is not None:
        (schemas / COMMON_PARAMS_SCHEMA).write_text(yaml.safe_dump(common), encoding="utf-8")
    return schemas


def test_common_params_are_merged_into_every_modality(tmp_path: Path) -> None:
    common = {
        "properties": {
            "split": {"type": "object", "default": {"method": "random", "seed": 0}},
            "min_genes": {"type": "integer", "default": 999},  # scrna defines it too: scrna's own wins
        }
    }
    schemas = _schemas_with_common(tmp_path, common)
    card = load_card(write(tmp_path, GOOD), schemas)
    assert card.params["split"] == {"method": "random", "seed": 0}
    assert card.params["min_genes"] == 200
    with pytest.raises(CardError, match=r"params\.split: 3 is not of type 'object'"):
        load_card(write(tmp_path, {**GOOD, "params": {"split": 3}}), schemas)
    for modality in ("scrna", "bulk", "dna", "variants"):
        params = modality_schema(modality, schemas)["properties"]["params"]["properties"]
        assert params["split"]["default"] == {"method": "random", "seed": 0}
    # the parsed modality schema itself is not modified by the merge
    assert "split" not in load_schema("modality/scrna.schema.yaml", schemas)["properties"]["params"]["properties"]


def test_without_common_params_file_the_modality_schema_is_as_written(tmp_path: Path) -> None:
    schemas = _schemas_with_common(tmp_path, None)
    assert modality_schema("bulk", schemas) == load_schema("modality/bulk.schema.yaml", schemas)
    with pytest.raises(CardError, match=r"params: Additional properties are not allowed \('split'"):
        load_card(write(tmp_path, {**GOOD, "params": {"split": {}}}), schemas)


def test_non_utf8_card_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("dataset_id: x\nname: caf\xe9\n".encode("latin-1"))
    with pytest.raises(CardError, match=r"latin1\.yaml: not UTF-8 text"):
        load_card(path)


@pytest.mark.parametrize("dataset_id", [".", "..", ".work", ".hidden", "a/b", "../x", "a b", ""])
def test_ids_that_are_not_plain_folder_names_are_refused(tmp_path: Path, dataset_id: str) -> None:
    path = write(tmp_path, {**GOOD, "dataset_id": dataset_id}, name="card.yaml")
    with pytest.raises(
        CardError,
        match=rf"^{path}: dataset_id: {re.escape(repr(dataset_id))} is not a plain folder "
        r"name",
    ):
        load_card(path)


@pytest.mark.parametrize("dataset_id", ["a", "pbmc_3k.v2", "A-1", "_x", "1kg"])
def test_plain_ids_are_accepted(tmp_path: Path, dataset_id: str) -> None:
    assert load_card(write(tmp_path, {**GOOD, "dataset_id": dataset_id}, name="c.yaml")).dataset_id == dataset_id


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("dataset_id: x\n1: 2\n", r"the key 1 is not text"),
        ("a: &a [*a]\n", r"nested more than 50 levels deep"),
        ('dataset_id: x\nname: "a\\0b"\n', r"name: contains a NUL character"),
        ("- a\n- b\n", r"a card must be a YAML mapping of fields"),
        ("", r"a card must be a YAML mapping of fields"),
    ],
)
def test_yaml_that_json_cannot_say_is_one_line(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CardError, match=words):
        load_card(path)


def _with_files(tmp_path: Path) -> Path:
    cards = tmp_path / "cards"
    (tmp_path / "data" / "mtx").mkdir(parents=True)
    (tmp_path / "data" / "counts.csv").write_text("gene,c1\nA,1\n")
    (tmp_path / "data" / "meta.csv").write_text("id,label\nc1,T\n")
    cards.mkdir()
    return cards


def test_check_inputs_accepts_good_paths(tmp_path: Path) -> None:
    cards = _with_files(tmp_path)
    card = load_card(
        write(
            cards,
            {
                **GOOD,
                "input": {**GOOD["input"], "path": "../data/counts.csv"},
                "metadata": {"path": str(tmp_path / "data" / "meta.csv")},
            },
        )
    )
    check_inputs(card)
    folder = load_card(write(cards, {**GOOD, "input": {"path": "../data/mtx", "format": "10x_mtx"}}))
    check_inputs(folder)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            {"input": {**GOOD["input"], "path": "../data/missing.csv"}},
            "input.path",
            "data/missing.csv: no such file (the path '../data/missing.csv' is relative to the card's folder",
        ),
        (
            {"input": {**GOOD["input"], "path": "../../../../../../../../nowhere.csv"}},
            "input.path",
            "/nowhere.csv: no such file (the path",
        ),
        ({"input": {**GOOD["input"], "path": "../data/mtx"}}, "input.path", "a folder, but a file is expected here"),
        (
            {"input": {"path": "../data/counts.csv", "format": "10x_mtx"}},
            "input.path",
            "a file, but a folder is expected here",
        ),
        (
            {"input": {**GOOD["input"], "path": "../data/counts.csv"}, "metadata": {"path": "../data/nope.csv"}},
            "metadata.path",
            "data/nope.csv: no such file",
        ),
        (
            {"input": {**GOOD["input"], "path": "../data/dangling.csv"}},
            "input.path",
            "a symbolic link to gone.csv, which does not exist",
        ),
    ],
)
def test_check_inputs_names_card_field_path_and_problem(tmp_path: Path, change: dict, field: str, words: str) -> None:
    cards = _with_files(tmp_path)
    (tmp_path / "data" / "dangling.csv").symlink_to("gone.csv")
    path = write(cards, {**GOOD, **change}, name="card.yaml")
    with pytest.raises(CardError) as info:
        check_inputs(load_card(path))
    message = str(info.value)
    assert message.startswith(f"{path}: {field}: ") and words in message and "\n" not in message, message


def test_check_inputs_of_a_list_names_the_entry(tmp_path: Path) -> None:
    cards = _with_files(tmp_path)
    card = {
        "dataset_id": "d",
        "name": "d",
        "modality": "dna",
        "inputs": [{"path": "../data/counts.csv"}, {"path": "../data/none.fa"}],
    }
    with pytest.raises(CardError, match=r"card.yaml: inputs\[1\]\.path: .*none.fa: no such file"):
        check_inputs(load_card(write(cards, card, name="card.yaml")))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_check_inputs_unreadable(tmp_path: Path) -> None:
    cards = _with_files(tmp_path)
    (tmp_path / "data" / "counts.csv").chmod(0)
    with pytest.raises(CardError, match="not readable"):
        check_inputs(load_card(write(cards, {**GOOD, "input": {**GOOD["input"], "path": "../data/counts.csv"}})))


def test_check_inputs_skips_what_the_workflow_generates(tmp_path: Path) -> None:
    cards = _with_files(tmp_path)
    card = load_card(write(cards, {**GOOD, "input": {**GOOD["input"], "path": "../data/later.csv"}}))
    check_inputs(card, generated=[tmp_path / "data" / "later.csv"])
    with pytest.raises(CardError):
        load_cards(cards, inputs=True)
    assert list(load_cards(cards, inputs=True, generated=[tmp_path / "data" / "later.csv"])) == ["pbmc_x"]


# ---------------------------------------------------------------- property: any bytes -> Card or CardError

FIELDS = [
    "dataset_id",
    "name",
    "modality",
    "input",
    "inputs",
    "metadata",
    "columns",
    "params",
    "path",
    "format",
    "orientation",
    "min_genes",
    "tokenizers",
    "sha256",
    "computed",
    "unmatched",
    "id_column",
]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["scrna", "bulk", "dna", "variants", "..", ".", "csv", "10x_mtx", "x.csv", "genes_x_cells"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), inner, max_size=5),
    ),
    max_leaves=20,
)
_cards = st.dictionaries(st.sampled_from(FIELDS), _values, max_size=8).map(
    lambda d: yaml.safe_dump(d, allow_unicode=True).encode("utf-8")
)
_yamlish = st.lists(
    st.sampled_from(
        [
            "a: 1",
            "- x",
            "  b: [",
            "&x [*x]",
            "? c",
            "!!python/object:os.system x",
            "dataset_id: ..",
            "modality: dna",
            "input: {path: x}",
            "\t",
            "%YAML 9",
            "{",
            "'",
            '"\\u0000"',
            "1: 2",
            "<<: *y",
            "--- ",
            "...",
            "!!binary AAA=",
        ]
    ),
    max_size=8,
).map(lambda parts: "\n".join(parts).encode("utf-8"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.one_of(st.binary(max_size=300), _cards, _yamlish))
def test_any_bytes_give_a_card_or_a_card_error(tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    path = tmp_path_factory.mktemp("p") / "card.yaml"
    path.write_bytes(content)
    try:
        card = load_card(path)
    except CardError as err:
        assert "\n" not in str(err) and str(err).startswith(str(path))
    else:
        assert isinstance(card.data, dict) and DATASET_ID.match(card.dataset_id)


@settings(max_examples=300, deadline=None)
@given(
    ids=st.sets(st.text(alphabet="ab.-_1", min_size=1, max_size=5), max_size=12),
    probes=st.lists(st.text(alphabet="ab.-_1", max_size=6), max_size=12),
)
def test_ids_regex_matches_exactly_the_ids(ids: set[str], probes: list[str]) -> None:
    pattern = re.compile(ids_regex(ids))
    for text in [*ids, *probes, ""]:
        assert (pattern.fullmatch(text) is not None) == (text in ids), (sorted(ids), text, pattern.pattern)
    assert "|" not in ids_regex(["d001", "d002"]).split("(?:")[0]  # a common prefix is factored out


def test_dna_label_regex_is_checked_when_the_card_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "a.fa").write_text(">x\nACGT\n", encoding="utf-8")
    card = {
        "dataset_id": "x",
        "name": "x",
        "modality": "dna",
        "input": {"path": "a.fa", "format": "fasta", "label_regex": "(unclosed"},
    }
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    with pytest.raises(CardError) as raised:
        load_card(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: input.label_regex: ")
    assert "(unclosed" in message


@pytest.mark.parametrize("flavor", ["seurat_v3", "seurat_v3_paper"])
def test_scrna_count_flavor_on_log_normalized_input_is_refused_at_load(tmp_path: Path, flavor: str) -> None:
    # seurat_v3 selects genes on raw counts; a log-normalised input has none. Before the card check
    # this reached scanpy's HVG step as an internal ValueError after the matrix was read.
    card = {**GOOD, "input": {**GOOD["input"], "value_type": "log_normalized"}, "params": {"hvg_flavor": flavor}}
    path = write(tmp_path, card)
    with pytest.raises(CardError) as raised:
        load_card(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: params.hvg_flavor: ")
    assert flavor in message and "log_normalized" in message
    # the same flavor on counts, and the other flavors on log-normalised values, load
    assert load_card(write(tmp_path, {**card, "input": GOOD["input"]})).params["hvg_flavor"] == flavor
    for other in ("seurat", "cell_ranger"):
        assert load_card(write(tmp_path, {**card, "params": {"hvg_flavor": other}})).params["hvg_flavor"] == other


def _fully_validated(path: Path) -> dict:
    """Reference: the card checked by the modality's whole validator, no memo (defaults filled in)."""
    import genoprep.cards as cards

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    cards._check(data, cards._validator(os.fspath(SCHEMA_DIR), "card.schema.yaml"), str(path))
    cards._check(data, cards._validator(os.fspath(SCHEMA_DIR), f"modality/{data['modality']}"), str(path))
    return data


def test_repeated_params_are_validated_once_and_give_the_full_validators_result(tmp_path: Path) -> None:
    """Cards sharing params (a hub) reuse one validation; each gets its own copy, equal to the full pass."""
    params = {"min_genes": 10, "split": {"seed": 3}}
    first = write(tmp_path, {**GOOD, "dataset_id": "a", "params": params})
    second = write(tmp_path, {**GOOD, "dataset_id": "b", "params": dict(reversed(params.items()))})
    third = write(tmp_path, {**GOOD, "dataset_id": "c", "params": params, "columns": {"cell_type": "celltype"}})
    dna = write(tmp_path, {"dataset_id": "d", "name": "x", "modality": "dna", "input": {"path": "s.fa"}})
    loaded = [load_card(p) for p in (first, second, third, first, dna)]
    for card, path in zip(loaded, (first, second, third, first, dna)):
        assert card.data == _fully_validated(path)
        assert list(card.data["params"]) == list(_fully_validated(path)["params"])  # key order too
    loaded[0].data["params"]["min_genes"] = 99
    loaded[0].data["params"]["split"]["seed"] = 99
    assert load_card(first).params["min_genes"] == 10 and load_card(first).params["split"]["seed"] == 3


def test_a_bad_value_after_good_ones_reads_as_the_full_validators_error(tmp_path: Path) -> None:
    good = write(tmp_path, {**GOOD, "dataset_id": "a", "params": {"min_genes": 10}})
    bad = write(tmp_path, {**GOOD, "dataset_id": "b", "params": {"min_genes": "ten"}, "columns": {"nope": 1}})
    load_card(good)
    with pytest.raises(CardError) as memo:
        load_card(bad)
    with pytest.raises(CardError) as full:
        _fully_validated(bad)
    assert str(memo.value) == str(full.value)
