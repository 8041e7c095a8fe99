# qdistill: `make reproduce` (set up, then run the main job) and `make test`.
# Both create the virtual environment .venv from the pinned requirements.txt first.

# Found now, before PATH below puts the environment's own python first.
ifndef PYTHON
PYTHON := $(shell command -v python3.11 || command -v python3)
endif
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# A local dataset mirror used before any download (empty: download from the internet).
DATA_MIRROR ?= $(wildcard ../shared/datasets)
BUDGET ?= quick
# Every recipe runs the environment's programs (snakemake, pytest) first.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup reproduce reproduce-all paper-tables paper-lanes paper-stop paper-deadline paper-status test test-fast bench \
	bench-extensions lock clean-venv

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "qdistill needs Python 3.11, got " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -r requirements.txt
	$(BIN)/pip install --no-deps -e .
	touch $(STAMP)

SNAKEMAKE_CONFIG = budget=$(BUDGET) $(if $(DATA_MIRROR),data_mirror=$(DATA_MIRROR))
# The first run: MNIST Table I, its figures, stability and the report's first page.
FIRST_RUN = --configfile configs/first-run.yaml --config $(SNAKEMAKE_CONFIG) \
	-- table figures stability landing

# The main job: MNIST Table I and its report; reproduce-all adds CIFAR-10, the cost,
# shot-noise and extension jobs into the same results folder.
reproduce: $(STAMP)
	snakemake --cores all $(FIRST_RUN)
	snakemake --report results/$(BUDGET)/report.html $(FIRST_RUN)
reproduce-all: $(STAMP)
	snakemake --cores all --config $(SNAKEMAKE_CONFIG)
	snakemake --report results/$(BUDGET)/report.html --config $(SNAKEMAKE_CONFIG)

# Table I, the figures and the report at the paper budget from the runs shipped in
# published/paper (no distillation: only evaluation, tables and figures run), into
# results/shipped-paper; CAMPAIGN=paper-clip: the clipped campaign's, published/paper-clip
# into results/shipped-paper-clip.
CAMPAIGN ?= paper
SHIPPED_CONFIG = budget=$(CAMPAIGN) shipped_runs=True results=results/shipped-$(CAMPAIGN) \
	$(if $(DATA_MIRROR),data_mirror=$(DATA_MIRROR))
# --nolock: it may run beside a `make reproduce` in the same clone; it writes only under
# results/shipped-$(CAMPAIGN) and to the data root, whose files are renamed into place whole.
paper-tables: $(STAMP)
	snakemake --cores all --nolock --config $(SHIPPED_CONFIG)
	snakemake --report results/shipped-$(CAMPAIGN)/report.html \
		--config $(SHIPPED_CONFIG)
	cat results/shipped-$(CAMPAIGN)/tables/table1.md

# The paper campaign (tools/paper_lanes.py): LANES one-thread lanes work through
# published/$(CAMPAIGN)/queue.txt (CAMPAIGN is a budget: paper, or paper-clip) from a
# worktree of HEAD, and stop by themselves HOURS from now, each carrying its unfinished run
# into published/. One campaign's lanes at a time. Commit published/ after every stop.
HOURS ?= 2.4
LANES ?= 2
LANES_TOOL = $(BIN)/python tools/paper_lanes.py
paper-lanes: $(STAMP)
	DATA_MIRROR=$(DATA_MIRROR) $(LANES_TOOL) start --hours $(HOURS) --lanes $(LANES) \
		--budget $(CAMPAIGN)
paper-stop:
	$(LANES_TOOL) stop
paper-deadline:
	$(LANES_TOOL) deadline --hours $(HOURS)
paper-status:
	$(LANES_TOOL) status

# Both cores: pytest-xdist, one test file per worker at a time (a file's module fixtures,
# such as the smoke workflow run, are made once), the slow tests first.
PYTEST = QDISTILL_DATA_MIRROR=$(or $(DATA_MIRROR),../shared/datasets) \
	$(BIN)/python -m pytest -n 2 --dist loadfile
test: $(STAMP)
	$(PYTEST)

# Everything but the tests marked slow (whole workflows, kills, lanes): a few minutes.
test-fast: $(STAMP)
	$(PYTEST) -m "not slow"

# The code before the CIFAR-10 speed work (channels-last, uint8 augmentation), timed beside
# this tree's in the same run.
BENCH_REFERENCE ?= 6fbd704
bench: $(STAMP)
	$(BIN)/python bench/bench.py --reference $(BENCH_REFERENCE) $(if $(DATA_MIRROR),--mirror $(DATA_MIRROR))

# requirements.txt is the full lock of the environment: regenerate it after changing a pin
# (pip install NAME==VERSION into .venv, then make lock; tests/test_envs.py checks it).
lock: $(STAMP)
	$(BIN)/python tools/lock_requirements.py > requirements.txt.new && mv requirements.txt.new requirements.txt

bench-extensions: $(STAMP)
	$(BIN)/python bench/extensions.py $(if $(DATA_MIRROR),--mirror $(DATA_MIRROR))

clean-venv:
	rm -rf $(VENV)
