# genoprep: `make run` (the embedded default) and `make test` (the whole suite) do all set-up.
PYTHON ?= python3
CORES ?= 2
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.genoprep-installed

.PHONY: venv run test lint format bench tools clean verify validate report mutants mutants-all

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "genoprep needs Python 3.11 (found $$($(PYTHON) --version)); set PYTHON=python3.11"; exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c 'import ensurepip' 2>/dev/null || \
		{ echo "installing python3-venv (Debian ships venv separately)"; \
		  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	@# genoprep itself is used in place (an editable install without build tools): a .pth file
	$(BIN)/python -c 'import site, pathlib; pathlib.Path(site.getsitepackages()[0], "genoprep.pth").write_text("$(CURDIR)\n")'
	@# the genoprep command (pyproject's console script, which an install would write)
	@printf '#!%s\nimport sys\nfrom genoprep.cli import main\nsys.exit(main())\n' "$(abspath $(BIN))/python" > $(BIN)/genoprep
	@chmod +x $(BIN)/genoprep
	@touch $(STAMP)

run: venv
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --cores 1 --report results/report.zip
	@for card in results/*/card.yaml; do echo "genoprep: artifacts in $$(dirname $$card)/ (completed card: $$card)"; done
	@echo "genoprep: report in results/report.zip (unzip it and open report/report.html); check the folders with make verify OUT=results"

# bcftools, tabix and plink2 are the references the variant tests compare against; the
# tests skip (saying why) where they cannot be installed.
tools:
	@command -v bcftools >/dev/null && command -v plink2 >/dev/null && command -v bgzip >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		  (apt-get update -qq && apt-get install -y -qq bcftools tabix plink2 >/dev/null) || \
		  echo "genoprep: bcftools/plink2 not installed; the tests that compare against them will skip"; }

test: venv tools
	$(BIN)/python -m pytest

# every checksum of every dataset under a results folder: make verify OUT=results
OUT ?= results
verify: venv
	$(BIN)/python -m genoprep.cli verify $(OUT)

# the self-contained report (figures with captions, per dataset) of the finished run whose results are
# in OUT; CONFIG passes the run's own --config, e.g. make report CONFIG="datasets=cards results=out" OUT=out
CONFIG ?=
report: venv
	$(BIN)/snakemake --cores 1 $(if $(CONFIG),--config $(CONFIG)) --report $(OUT)/report.zip
	@echo "genoprep: report in $(OUT)/report.zip (unzip it and open report/report.html)"

# Python: ruff (rules and format in pyproject.toml); workflow: snakemake --lint and snakefmt
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile rules/

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/snakefmt Snakefile rules/

# the card checks the workflow runs before the job graph: make validate CARDS=path/to/cards
CARDS ?=
validate: venv
	$(BIN)/python -m genoprep.cli validate --check-inputs $(CARDS)

bench: venv
	$(BIN)/python bench/run_all.py

# mutation testing of the science modules with the unit tests (mutmut; not part of make test);
# mutation testing (docs/testing.md): the seeded sample of each group (MUTANTS_SAMPLE mutants, the 10-minute habit),
# or every mutant (mutants-all); a subset: make mutants MODULES="filters textio"; report in bench/out/mutants.txt
MUTANTS_SAMPLE ?= 20
mutants: venv
	$(BIN)/python bench/mutants.py --sample $(MUTANTS_SAMPLE) $(MODULES)

mutants-all: venv
	$(BIN)/python bench/mutants.py --all $(MODULES)

clean:
	rm -rf results .snakemake resources/demo mutants
