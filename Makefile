# odebench: set-up, main job and tests. Everything runs inside ./.venv.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
CORES   ?= all
PROFILE_CONFIG ?=

.PHONY: venv install smoke paper report test lint bench clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)

# CPU torch 2.13.0 first on machines without CUDA (an unpinned torch pulls a multi-GB CUDA build).
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --upgrade pip >/dev/null
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then \
	  echo "CUDA found: installing the default torch build"; \
	else \
	  echo "no CUDA: installing CPU torch 2.13.0 first"; $(PIP) install torch==2.13.0; \
	fi
	$(PIP) install -e ".[dev]"
	touch $@

venv: $(VENV)/.installed
install: venv

## make smoke: the whole workflow on the offline smoke profile (config/smoke.yaml)
smoke: install
	$(VENV)/bin/snakemake --cores $(CORES) --workflow-profile workflow/profiles/default $(PROFILE_CONFIG)

## make report: rebuild tables and figures from existing run records, no training
report: install
	$(VENV)/bin/snakemake --cores 1 --workflow-profile workflow/profiles/default report

## make test: the test suite (what CI runs)
test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/snakemake --lint

bench: install
	$(VENV)/bin/python benchmarks/overhead.py
	$(VENV)/bin/python benchmarks/step_overhead.py
	$(VENV)/bin/python benchmarks/gradnorm_overhead.py
	$(VENV)/bin/python benchmarks/odetoode_weights_reuse.py

clean:
	rm -rf .snakemake results/smoke results/test
