# odebench: set-up, main job and tests. Everything runs inside ./.venv.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
CORES   ?= all
PROFILE_CONFIG ?=

.PHONY: venv install install-check smoke paper report claims reference reference-report gpu-check test lint bench clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)

# CPU torch 2.13.0 first on machines without CUDA, from PyTorch's CPU wheel index (the public
# package index serves the multi-GB CUDA build); where that index cannot be reached, pip's own
# configured sources. The line after it says where the wheel came from and which build it is.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_LOG := $(VENV)/torch-install.log

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --upgrade pip >/dev/null
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then \
	  echo "CUDA found: installing the default torch build"; \
	else \
	  echo "no CUDA: installing CPU torch 2.13.0 from $(TORCH_CPU_INDEX)"; \
	  $(PIP) install --timeout 20 --retries 1 --index-url $(TORCH_CPU_INDEX) torch==2.13.0 \
	    >$(TORCH_LOG) 2>&1 || { echo "$(TORCH_CPU_INDEX) could not be reached: falling back \
	to pip's configured sources"; $(PIP) install torch==2.13.0 >$(TORCH_LOG) 2>&1 || \
	    { cat $(TORCH_LOG); exit 1; }; }; \
	  grep -m1 -E "^ *(Processing|Downloading|Requirement already satisfied)" $(TORCH_LOG) \
	    | sed 's/^ */torch came from: /'; \
	  $(PY) -W ignore -c "import torch; c = torch.version.cuda; print('torch', torch.__version__, \
	'(CPU build)' if c is None else f'(CUDA {c} build: not the CPU wheel, see $(TORCH_LOG))')"; \
	fi
	$(PIP) install -e ".[dev]"
	touch $@

venv: $(VENV)/.installed
install: venv

## make install-check: what a CPU set-up would install (pip --dry-run --report), no CUDA package
install-check: | $(VENV)/bin/python
	$(PY) tools/cpu_resolution.py --index $(TORCH_CPU_INDEX)

## make smoke: the whole workflow on the offline smoke profile (config/smoke.yaml)
smoke: install
	$(VENV)/bin/snakemake --cores $(CORES) --workflow-profile workflow/profiles/default $(PROFILE_CONFIG)

## make report: rebuild tables and figures from existing run records, no training
report: install
	$(VENV)/bin/snakemake --cores 1 --workflow-profile workflow/profiles/default report

## make claims: the claims ledger on the run records that exist (no training)
claims: report
	$(VENV)/bin/odebench claims

## make reference PIECE=<name> [REFERENCE_DIR=results/mine]: one piece of the reference run
## (config/reference.yaml pieces:), resumable; its record pieces/<name>.json says the machine,
## versions and wall time. The default folder is the committed reference, where a finished
## piece has nothing to do: name another folder to reproduce it on your machine
REFERENCE_CONFIG ?= config/reference.yaml
REFERENCE_DIR    ?= results/reference/papers
reference: install
	@test -n "$(PIECE)" || { echo "make reference: name a piece, PIECE=<name>; the pieces: \
	$$($(PY) -c 'import yaml; print(", ".join(yaml.safe_load(open("$(REFERENCE_CONFIG)"))["pieces"]))')"; exit 2; }
	$(VENV)/bin/snakemake --cores 2 --workflow-profile workflow/profiles/default \
	  $(REFERENCE_DIR)/pieces/$(PIECE).json --configfile $(REFERENCE_CONFIG) \
	  --config results_dir=$(REFERENCE_DIR)

## make reference-report [REFERENCE_DIR=results/mine]: tables, figures, the claims ledger and
## report.html of a reference folder (default the committed results/reference/papers/) rebuilt
## from its run records, no training
reference-report: install
	$(VENV)/bin/odebench report --config $(REFERENCE_CONFIG) --results-dir $(REFERENCE_DIR)
	$(VENV)/bin/odebench claims --config $(REFERENCE_CONFIG) --results-dir $(REFERENCE_DIR)
	$(VENV)/bin/odebench report-page --config $(REFERENCE_CONFIG) --results-dir $(REFERENCE_DIR)

## make gpu-check: CUDA vs CPU for one model of each family, timed paper-profile MNIST and
## CIFAR10 slices with NFE, a record under results/reference/gpu/ (`GPU_CHECK_ARGS=--dry`: CPU)
GPU_CHECK_ARGS ?=
gpu-check: install
	$(PY) tools/gpu_check.py $(GPU_CHECK_ARGS)

## make test: the test suite (what CI runs)
test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -q
test: test-deps

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

## make dashboard: `asv publish`, then the pages made self-contained (no CDN): the libraries come
## from pinned npm packages (tools/asv_offline.py), copied under $(ASV_HTML)/vendor/
ASV         := $(VENV)/bin/asv
ASV_CONF    ?= asv.conf.json
ASV_HTML    ?= .asv/html
ASV_RESULTS ?= .asv/results
ASV_VENDOR  ?= .asv/vendor
APT_LOG     ?= .asv/apt-chromium.log
CHROMIUM    ?= /usr/bin/chromium
NPM         ?= npm

.PHONY: dashboard dashboard-assets test-deps asv-history perf-check

## make perf-check [BASE=<rev>]: the working tree against a base commit (default: the merge base
## with main): every change of a deterministic track (NFE, steps, parameter counts) fails unless
## marked intended; time ratios worse by more than 1.3x fail (`PERF_ARGS=--deterministic-only`)
BASE ?=
PERF_ARGS ?=
perf-check: install
	$(PY) -m tools.perf_check $(if $(BASE),--base $(BASE)) $(PERF_ARGS)

## make asv-history RANGE=<rev range>: asv records the benchmarks for each commit of the range,
## each built in its own virtualenv (asv.history.conf.json: dependencies pinned, made once and
## reused); `BENCH=<regex>` limits the benchmarks; then `make dashboard` publishes the history
RANGE ?= HEAD~5..HEAD
BENCH ?=
asv-history: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m tools.asv_history --config asv.history.conf.json \
	  $(if $(BENCH),--bench '$(BENCH)') $(RANGE)

dashboard: install dashboard-assets
	@$(PY) -m tools.asv_offline check-results $(ASV_RESULTS)
	$(ASV) publish --config $(ASV_CONF)
	$(PY) -m tools.asv_offline vendor $(ASV_HTML) --cache $(ASV_VENDOR)

## make dashboard-assets: npm pack the pinned packages into $(ASV_VENDOR) (git-ignored; skips cached)
dashboard-assets: install
	$(PY) -m tools.asv_offline fetch --cache $(ASV_VENDOR) --npm $(NPM)

## make test-deps: optional extras of tests/test_dashboard.py (it skips without them): the npm
## assets and, as root with apt-get, Debian's chromium. A failure here only prints a note.
test-deps: install
	@$(MAKE) --no-print-directory dashboard-assets || echo "note: could not fetch the \
	dashboard's npm assets (make dashboard-assets): the dashboard browser test will be skipped"
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for tests/test_dashboard.py (log: $(APT_LOG))"; \
	  mkdir -p $(dir $(APT_LOG)); export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get install -y --no-install-recommends chromium || { apt-get update && \
	    apt-get install -y --no-install-recommends chromium; }; } >$(APT_LOG) 2>&1 \
	  || echo "note: apt-get install chromium failed (see $(APT_LOG)): the dashboard browser \
	test will be skipped"; \
	else echo "no $(CHROMIUM) (and not root with apt-get): the dashboard browser test will be \
	skipped"; fi
