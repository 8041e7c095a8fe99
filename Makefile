# qdistill: `make reproduce` (set up, then run the main job) and `make test`.
# Both create the virtual environment .venv from the pinned requirements.txt first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# A local dataset mirror used before any download (empty: download from the internet).
DATA_MIRROR ?= $(wildcard ../shared/datasets)
BUDGET ?= quick
RUNS   := results/runs

.PHONY: setup reproduce test bench clean-venv

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "qdistill needs Python 3.11, got " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -r requirements.txt
	$(BIN)/pip install --no-deps -e .
	touch $(STAMP)

# The main job. Until the Snakemake workflow lands this distills MNIST for the classical
# LeNet and the quantum LeNet (residual + trainable Hermitian) at $(BUDGET) and evaluates.
reproduce: $(STAMP)
	for model in classical q-res-herm; do \
	  $(BIN)/python -m qdistill distill --dataset mnist --model $$model --seed 0 \
	    --budget $(BUDGET) --out $(RUNS)/mnist/$$model/seed0 \
	    $(if $(DATA_MIRROR),--data-mirror $(DATA_MIRROR)) && \
	  $(BIN)/python -m qdistill evaluate $(RUNS)/mnist/$$model/seed0 \
	    $(if $(DATA_MIRROR),--data-mirror $(DATA_MIRROR)) || exit 1; \
	done

test: $(STAMP)
	QDISTILL_DATA_MIRROR=$(or $(DATA_MIRROR),../shared/datasets) $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/core_speed.py $(if $(DATA_MIRROR),--mirror $(DATA_MIRROR))

clean-venv:
	rm -rf $(VENV)
