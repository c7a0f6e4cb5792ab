# Shared set-up and input functions: config and dataset cards are validated here, before
# the job graph is built; rule files only say what depends on what.
import functools
import glob
import importlib
import inspect
import json
import os
import sys

from snakemake.common import overwrite_function_params
from snakemake.utils import validate

sys.path.insert(0, workflow.basedir)

from genoprep.cards import SCHEMA_DIR, check_inputs, load_cards  # noqa: E402
from genoprep.cards import dataset_constraint  # noqa: E402
from genoprep.download import download_target, remote_source  # noqa: E402
from genoprep.errors import InputError  # noqa: E402
from genoprep.fair.io import rerunnable_card  # noqa: E402
from genoprep.locking import ResultsLock, check_links  # noqa: E402
from genoprep.report.workflow import task_bundles, report_task_inputs  # noqa: E402

validate(config, os.path.join(SCHEMA_DIR, "config.schema.yaml"))


class _ImportOnCall:
    """A module whose functions are imported on their first call, not when the workflow is parsed.

    genoprep.scrna.tokens.workflow imports anndata, pandas and scipy (~3.5 s of CPU, as much as
    building the job graph of ~4,000 jobs), genoprep.scrna.resources h5py; a run without scRNA
    cards never calls them (tests/unit/test_parse_imports.py).
    """

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        def call(*args, **kwargs):
            return getattr(importlib.import_module(self._name), attr)(*args, **kwargs)

        call.__name__ = attr
        return call


def stop(line):
    """End the run before the job graph with one line on the terminal (no traceback)."""
    print(f"genoprep: {line}", file=sys.stderr, flush=True)
    raise SystemExit(1)


try:
    CARDS = load_cards(config["datasets"])
except InputError as err:
    stop(f"invalid dataset card: {err}")

RESULTS = os.path.normpath(config["results"])
RESOURCES = os.path.join(workflow.basedir, "resources")
MITO_GENE_LISTS = sorted(glob.glob(os.path.join(RESOURCES, "mito_genes_*.tsv")))

# Artifacts each modality writes under RESULTS/<dataset_id>/ (checksummed into card.yaml);
# every modality's rule file adds its own list.
ARTIFACTS = {}
# Figures for `snakemake --report` per modality (report() outputs, not checksummed).
REPORTS = {}
# Optional outputs beside a modality's chain (e.g. rules/scrna_tokens.smk): modality -> a
# function of the card giving more artifact names / JSON files whose top-level keys are
# added to the completed card's computed facts.
EXTRA_ARTIFACTS = {}
EXTRA_FACTS = {}


wildcard_constraints:
    dataset=r"[A-Za-z0-9._-]+",


def check_before_run():
    """Card inputs and the results folder, checked once every rule is known, before the job graph.

    Inputs that a rule of the workflow makes (the demo input) are not checked; links in the
    results folder that lead out of it are refused (see genoprep.locking).
    """
    generated = [
        os.path.abspath(f)
        for rule in workflow.rules
        for f in rule.output
        if not f.contains_wildcard()
    ]
    try:
        for card in CARDS.values():
            check_inputs(card, generated)
    except InputError as err:
        stop(f"invalid dataset card: {err}")
    try:
        check_links(RESULTS, CARDS)
    except InputError as err:
        stop(f"error: {err}")


def cache_function_signatures():
    """Give Snakemake the signature of every input and params function once.

    Snakemake inspects a function's signature (inspect.signature) each time it calls it, once
    per job and function: ~1/10 of a dry run over thousands of cards. Its own helpers
    (snakemake.ioutils) hand it the signature instead (overwrite_function_params); this does
    the same for every function of every rule, once every rule is known.
    """
    for step in workflow.rules:
        for item in [*step.input, *step.params]:
            # a function item is stored as is, or (flagged, e.g. unpack) as an AnnotatedString
            # or _IOFile holding it
            function = getattr(getattr(item, "_file", item), "callable", item)
            if callable(function) and not hasattr(function, "_overwrite_params"):
                overwrite_function_params(
                    function, inspect.signature(function).parameters
                )


RESULTS_LOCK = ResultsLock(RESULTS)


def lock_results():
    """onstart: the genoprep lock on the results folder (the main process of a real run only)."""
    try:
        RESULTS_LOCK.acquire()
    except InputError as err:
        stop(f"error: {err}")


#: routes inside a modality: the scRNA-seq cards with params.shards >= 2 or auto run as the
#: sharded jobs of rules/scrna_shard.smk, the others as one scrna_process job
ROUTES = {
    "scrna_one_job": (
        "scrna",
        lambda card: card.params["shards"] != "auto" and card.params["shards"] < 2,
    ),
    "scrna_sharded": (
        "scrna",
        lambda card: card.params["shards"] == "auto" or card.params["shards"] >= 2,
    ),
}


@functools.cache
def ids_pattern(modality):
    """The dataset wildcard's constraint for the outputs of one modality (or of one route, see
    ROUTES): it accepts that modality's ids and refuses every other card's
    (genoprep.cards.dataset_constraint: the shorter of "these ids" and "any id but the
    others"); built once per modality: every out() of the modality's rules holds it."""
    name, keep = ROUTES.get(modality, (modality, lambda card: True))
    ids = {i for i, card in CARDS.items() if card.modality == name and keep(card)}
    return dataset_constraint(ids, set(CARDS) - ids)


def _dataset(modality):
    # the dataset wildcard, constrained inline to the ids of one modality: every concrete
    # output path then matches exactly one rule, with no per-rule wildcard_constraints
    return "{dataset}" if modality is None else f"{{dataset,{ids_pattern(modality)}}}"


def out(name, modality=None):
    """A file of the finished dataset folder: RESULTS/<dataset>/name.

    Outputs of a modality's rules pass ``modality`` (the wildcard then matches only that
    modality's dataset ids); inputs, logs and benchmarks need not.
    """
    return os.path.join(RESULTS, _dataset(modality), name)


def work(name, modality=None):
    """A working file of a dataset, outside its finished folder: RESULTS/.work/<dataset>/name.

    Intermediate files and the facts for the completed card live here, so that the
    dataset folder holds only what card.yaml lists.
    """
    return os.path.join(RESULTS, ".work", _dataset(modality), name)


def card_of(wildcards):
    return CARDS[wildcards.dataset]


# Card paths are used as resolved (card folder + path): absolute when the card or its path
# is, else relative to the working directory, so that generated demo inputs match their rule.


def card_file(wildcards):
    return os.fspath(card_of(wildcards).path)


def primary_inputs(wildcards):
    """The card's input file(s) or folder(s); an input with a ``url`` is its download
    (RESULTS/.work/<dataset>/download/<path>, made by rule download_input)."""
    return list(_primary_inputs(wildcards.dataset))


# Input functions run once per job (several jobs per dataset); what they derive from a card
# is computed once per dataset (CARDS does not change during a run).
@functools.cache
def _primary_inputs(dataset):
    card = CARDS[dataset]
    return tuple(
        (
            download_target(RESULTS, card.dataset_id, entry)
            if "url" in entry
            else os.fspath(card.resolve(entry["path"]))
        )
        for entry in card.input_entries()
    )


def download_source(wildcards):
    """The url and sha256 of the input that a download_input job fetches."""
    return remote_source(CARDS[wildcards.dataset], wildcards.name)


def input_sidecar(field):
    """An input function: the file the card's ``input.<field>`` names (e.g. the gene id file of
    a NumPy bulk input), resolved against the card's folder; none when the card has no such field.
    """

    def sidecar(wildcards):
        card = card_of(wildcards)
        path = card.data.get("input", {}).get(field)
        return [os.fspath(card.resolve(path))] if path else []

    return sidecar


def metadata_input(wildcards):
    path = card_of(wildcards).metadata_path()
    return [os.fspath(path)] if path else []


def card_data(wildcards):
    # input paths absolute, so that the completed card reruns from the results folder
    return rerunnable_card(card_of(wildcards))


def card_params(wildcards):
    return card_of(wildcards).params


def options_of(options_class, *args, wildcard=None):
    """A rule's params entry: the slice of the card one step uses.

    ``options_class`` is a :class:`genoprep.options.StepOptions` subclass, or its
    ``"module:Class"`` name when the module is heavy to import (it is then imported on the
    first job that needs it, not when the workflow is parsed); the rule gets
    ``options_class.from_card(card, *args).as_params()`` (a plain dict, so that Snakemake
    reruns the job exactly when one of these values changes), and the script rebuilds it
    with ``options_class.from_params(snakemake.params.<name>)``. With ``wildcard``, the
    value of that wildcard is passed after ``args`` (e.g. the DNA scheme of a token rule).
    The dict is computed once per dataset (and wildcard value), not once per job.
    """
    computed = {}

    def params(wildcards):
        extra = (getattr(wildcards, wildcard),) if wildcard else ()
        key = (wildcards.dataset, *extra)
        if key not in computed:
            computed[key] = (
                _options_class(options_class)
                .from_card(card_of(wildcards).data, *args, *extra)
                .as_params()
            )
        return computed[key]

    return params


def _options_class(options_class):
    if not isinstance(options_class, str):
        return options_class
    module_name, name = options_class.split(":")
    return getattr(importlib.import_module(module_name), name)


def completed_cards():
    return [
        os.path.join(RESULTS, dataset_id, "card.yaml") for dataset_id in sorted(CARDS)
    ]


def report_names(card):
    """The report figures of a card: REPORTS[modality] holds names, or functions of the card
    giving a list of names (figures that exist only with some params, e.g. the task figure).
    """
    names = []
    for entry in REPORTS.get(card.modality, []):
        names.extend(entry(card) if callable(entry) else [entry])
    return names


def report_files():
    """Every dataset's report figures."""
    return [
        os.path.join(RESULTS, dataset_id, name)
        for dataset_id, card in sorted(CARDS.items())
        for name in report_names(card)
    ]


def artifacts_of(wildcards):
    """The artifacts of a dataset's modality, checksummed into its card.yaml.

    ARTIFACTS[modality] is a list of names, or a function of the card giving that list
    (when the artifacts depend on the card's params, e.g. the DNA tokenizers chosen).
    """
    return list(_artifacts_of(wildcards.dataset))


@functools.cache
def _artifacts_of(dataset):
    return tuple(
        os.path.join(RESULTS, dataset, name) for name in artifact_names(CARDS[dataset])
    )


def artifact_names(card):
    """The artifact names of a card (ARTIFACTS and EXTRA_ARTIFACTS of its modality)."""
    names = ARTIFACTS[card.modality]
    if callable(names):
        names = names(card)
    if card.modality in EXTRA_ARTIFACTS:
        names = list(names) + EXTRA_ARTIFACTS[card.modality](card)
    return list(names)


def task_report_inputs(wildcards):
    """rows.tsv and baseline.json (when the card trains baselines) of each task bundle of a dataset."""
    card = card_of(wildcards)
    split_qc = (
        work_of(card, "splits_qc.json")
        if card.modality == "dna"
        else os.path.join(RESULTS, wildcards.dataset, "qc.json")
    )
    return report_task_inputs(
        os.path.join(RESULTS, wildcards.dataset), artifact_names(card), [split_qc]
    )


def write_card_inputs(wildcards):
    """The inputs of write_card in one call (card, artifacts, data, metadata): with thousands
    of datasets, every input function costs Snakemake a signature inspection per job."""
    card = card_of(wildcards)
    return {
        "card": os.fspath(card.path),
        "artifacts": artifacts_of(wildcards),
        "data": primary_inputs(wildcards),
        "metadata": [os.fspath(p) for p in [card.metadata_path()] if p is not None],
        # report figures are made before card.yaml, so that it lists every file of the folder
        "reports": [
            os.path.join(RESULTS, wildcards.dataset, name)
            for name in report_names(card)
        ],
        # JSON files whose keys join the computed facts (EXTRA_FACTS, e.g. the scRNA tokens)
        "extra_facts": (
            EXTRA_FACTS[card.modality](card) if card.modality in EXTRA_FACTS else []
        ),
    }


def input_mem_mb(wildcards, input, attempt):
    """Memory for a step: 1 GiB plus 20x the size of its inputs, growing with retries."""
    size_mb = sum(os.path.getsize(f) for f in input if os.path.isfile(f)) / 2**20
    return int((1024 + 20 * size_mb) * attempt)


def variants_chunk_files(wildcards):
    """The chunk results of a variants dataset, as listed by checkpoint variants_plan."""
    plan = checkpoints.variants_plan.get(dataset=wildcards.dataset).output.plan
    with open(plan, encoding="utf-8") as handle:
        n_chunks = len(json.load(handle)["chunks"])
    folder = os.path.join(RESULTS, ".work", wildcards.dataset, "chunks")
    return [os.path.join(folder, f"{i}.npz") for i in range(n_chunks)]


def variants_chunk_mem_mb(wildcards, attempt):
    """Memory for one chunk job: 1 GiB plus 4 bytes per genotype of its block
    (the card's records_per_chunk x the samples counted by variants_plan)."""
    plan = checkpoints.variants_plan.get(dataset=wildcards.dataset).output.plan
    with open(plan, encoding="utf-8") as handle:
        n_samples = json.load(handle)["n_samples"]
    block_mb = card_params(wildcards)["records_per_chunk"] * n_samples * 4 / 2**20
    return int((1024 + block_mb) * attempt)


# ---- scRNA-seq helpers (owned by the scRNA-seq modality) ----------------------------
import genoprep.scrna.options as ScrnaOptions  # noqa: E402

scrna_resources = _ImportOnCall("genoprep.scrna.resources")


@functools.lru_cache(maxsize=None)
def _scrna_size(dataset):
    card = CARDS[dataset]
    spec = card.data["input"]
    return scrna_resources.input_size(
        card.input_paths()[0], spec["format"], spec.get("layer")
    )


@functools.lru_cache(maxsize=None)
def _scrna_route(dataset):
    """(size, memory budget, path) of a dataset's scrna_process job: in memory, or out of core when
    the in-memory estimate exceeds params.memory_budget_mb (genoprep/scrna/ooc.py)."""
    card = CARDS[dataset].data
    size = _scrna_size(dataset)
    budget = scrna_resources.budget_mb(card["params"]["memory_budget_mb"])
    reason = scrna_resources.unsupported(
        CARDS[dataset].input_paths()[0],
        card["input"]["format"],
        card["input"].get("layer"),
        card["params"]["hvg_flavor"],
        card["params"]["hvg_batch_key"],
    )
    return size, budget, scrna_resources.plan(size, budget, reason is None)


def scrna_threads(wildcards):
    """Threads for a dataset's scrna_process job (from the input's stored values)."""
    return scrna_resources.threads(_scrna_size(wildcards.dataset))


def scrna_mem_mb(wildcards, attempt):
    """Memory for scrna_process: from the input's size and the path, escalating with --retries."""
    size, budget, route = _scrna_route(wildcards.dataset)
    return scrna_resources.job_mem_mb(size, route, budget, attempt)


def scrna_disk_mb(wildcards, attempt):
    """Disk for scrna_process: processed.h5ad and X.npy, and out of core the input converted into the
    work folder (a format other than h5ad); escalating with --retries."""
    size, _, route = _scrna_route(wildcards.dataset)
    card = CARDS[wildcards.dataset].data
    fmt, n_hvg = card["input"]["format"], card["params"]["n_top_genes"]
    return scrna_resources.job_disk_mb(size, route, fmt, attempt, n_hvg)


def scrna_runtime(wildcards, attempt):
    """Runtime (minutes) for scrna_process: from the input's size and the path, escalating with --retries."""
    size, _, route = _scrna_route(wildcards.dataset)
    return scrna_resources.job_runtime(size, route, attempt)


# ---- scRNA-seq foundation-model tokens (rules/scrna_tokens.smk) ----
scrna_tokens = _ImportOnCall("genoprep.scrna.tokens.workflow")


# ---- scRNA-seq sharded across jobs (rules/scrna_shard.smk, params.shards >= 2) ----
scrna_shard = _ImportOnCall("genoprep.scrna.shard")


def scrna_shard_params(wildcards):
    return scrna_shard.chain_params(card_of(wildcards).data)


def scrna_shard_plan_of(wildcards):
    return checkpoints.scrna_shard_plan.get(dataset=wildcards.dataset).output.plan


def scrna_shard_files(kind, ext="npz"):
    """The per-shard files of a dataset, as many as checkpoint scrna_shard_plan planned."""

    def files(wildcards):
        with open(scrna_shard_plan_of(wildcards), encoding="utf-8") as handle:
            n_shards = len(json.load(handle)["shards"])
        folder = os.path.join(RESULTS, ".work", wildcards.dataset, "shards")
        return [os.path.join(folder, f"{kind}_{i}.{ext}") for i in range(n_shards)]

    return files


def scrna_shard_mem_mb(wildcards, attempt):
    index = int(wildcards.shard) if hasattr(wildcards, "shard") else None
    return scrna_shard.shard_mem_mb(scrna_shard_plan_of(wildcards), index, attempt)


def scrna_shard_runtime(wildcards, attempt):
    index = int(wildcards.shard) if hasattr(wildcards, "shard") else None
    return scrna_shard.shard_runtime(scrna_shard_plan_of(wildcards), index, attempt)


def scrna_shard_converted(wildcards):
    """The CSR h5ad that rule scrna_shard_convert makes of a sharded 10x/CSV/TSV/loom input
    (the path the one-job out-of-core path converts into); [] for an h5ad input."""
    card = card_of(wildcards)
    if card.data["input"]["format"] == "h5ad":
        return []
    return [work_of(card, "input.h5ad")]


def scrna_shard_clip_values(wildcards):
    """The clip values of a sharded seurat_v3/seurat_v3_paper dataset ([] for the other flavors: no
    clip jobs in their job graph)."""
    card = card_of(wildcards)
    if not scrna_shard.needs_clip_pass(card.data):
        return []
    return [work_of(card, "shards/clip.npz")]


def scrna_shard_clipped(wildcards):
    """Every shard's clipped sums of a sharded seurat_v3/seurat_v3_paper dataset ([] otherwise)."""
    if not scrna_shard.needs_clip_pass(card_of(wildcards).data):
        return []
    return scrna_shard_files("clipped")(wildcards)


def scrna_shard_convert_mem_mb(wildcards, attempt):
    """The conversion streams as the out-of-core path does: its memory estimate."""
    size, budget, _ = _scrna_route(wildcards.dataset)
    return scrna_resources.ooc_mem_mb(size, budget, attempt)


def scrna_shard_convert_runtime(wildcards, attempt):
    size, _, _ = _scrna_route(wildcards.dataset)
    return scrna_resources.ooc_runtime_minutes(size, attempt)


def scrna_shard_convert_disk_mb(wildcards, attempt):
    """The converted input at the conversion's peak (spilled triples and the CSR h5ad)."""
    return scrna_resources.converted_disk_mb(_scrna_size(wildcards.dataset), attempt)


def scrna_shard_disk_mb(kind):
    """Disk for the shard jobs that write large files (genoprep.scrna.shard.shard_disk_mb), escalating
    with --retries."""

    def disk_mb(wildcards, attempt):
        index = int(wildcards.shard) if hasattr(wildcards, "shard") else None
        n_hvg = CARDS[wildcards.dataset].data["params"]["n_top_genes"]
        return scrna_shard.shard_disk_mb(
            scrna_shard_plan_of(wildcards), kind, index, attempt, n_hvg
        )

    return disk_mb


def scrna_token_facts(card):
    """The token facts merged into the completed card (when the card asks for tokens)."""
    return [work_of(card, "tokens/facts.json")] if card.params["tokenizers"] else []


def work_of(card, name):
    return os.path.join(RESULTS, ".work", card.dataset_id, name)


def token_files(wildcards):
    """The scheme's dictionary files by settings field (named inputs: a changed file reruns the job)."""
    card = card_of(wildcards)
    return scrna_tokens.dictionary_files(
        card, wildcards.scheme, lambda name: work_of(card, name)
    )


def name_id_file(wildcards):
    """The card's gene-name dictionary, which deriving the gene medians maps symbols through."""
    card = card_of(wildcards)
    path = card.params["geneformer"]["gene_name_id_dictionary"]
    return {"gene_name_id_dictionary": os.fspath(card.resolve(path))} if path else {}


def token_options(scheme=None):
    """A token rule's params: genoprep.scrna.tokens.workflow.TokenOptions of the card, for
    ``scheme`` or the job's ``{scheme}`` (like options_of, through the lazy module)."""

    def params(wildcards):
        return scrna_tokens.token_params(
            card_of(wildcards).data, scheme or wildcards.scheme
        )

    return params


def token_sections(wildcards):
    card = card_of(wildcards)
    return [
        work_of(card, f"tokens/{scheme}.json") for scheme in card.params["tokenizers"]
    ]
