# Two commands on a fresh machine: `make demo` (the main job) and `make test`.
# Each creates or updates the virtual environment first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.edm-installed

.PHONY: demo test services lint docs screenshots bench clean-store reference-model lofo flywheel

$(STAMP): pyproject.toml scripts/install.sh
	bash scripts/install.sh $(VENV)
	touch $(STAMP)

# Java for `edm batch` afterwards; without root and without Java it says what to install and
# the demo goes on (the demo itself does not need Java).
demo: $(STAMP)
	-bash scripts/install-services.sh java
	bash scripts/demo.sh

test: $(STAMP) services
	$(PY) -m pytest

# PostgreSQL, Prometheus (with promtool) and amtool for the integration and rule tests
# (Debian's packages, installed with apt-get when missing).
services:
	bash scripts/install-services.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

# The documentation site into site/ (git-ignored); --strict: a broken link, anchor or page, or
# a reference page that cannot be generated from the code, fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# The documentation's pictures again (docs/images): a small model trained in a temporary store,
# its analysis plot, and the MLflow UI drawn by Debian's chromium (a few minutes on 2 cores).
screenshots: $(STAMP)
	$(PY) scripts/screenshots.py

bench: $(STAMP)
	$(PY) bench/registry_list.py
	$(PY) bench/train_input.py
	$(PY) bench/registry_remote.py
	$(PY) bench/analyze_speed.py
	$(PY) bench/serve_load.py
	$(PY) bench/batch_analyze.py

# The reference model (data, outputs/<run>/best.pt, its own MLflow store) in $(EDM_REF_DIR):
# about 15 minutes on a 2-core CPU, synthesis included (scripts/reference_model.py).
EDM_REF_DIR ?= reference
reference-model: $(STAMP)
	$(PY) scripts/reference_model.py --dir $(EDM_REF_DIR)

# Leave-one-family-out evaluation of the same recipe (scripts/lofo.py); e.g. on a GPU machine:
# make lofo LOFO_ARGS="--device cuda --jobs 6"
LOFO_DIR ?= lofo
LOFO_ARGS ?=
lofo: $(STAMP)
	$(PY) scripts/lofo.py --out $(LOFO_DIR) $(LOFO_ARGS)

# The data flywheel end to end (scripts/flywheel.py): edm.benchmarks music as a catalogue, a
# stand-in reviewer, fine-tunes from Production on 4/8/16/32 reviewed tracks, the gate on 16
# held-out ones; into $(FLYWHEEL_DIR), reusing (or first making) the reference model in $(EDM_REF_DIR).
FLYWHEEL_DIR ?= flywheel
flywheel: $(STAMP)
	-bash scripts/install-services.sh java
	$(PY) scripts/flywheel.py --dir $(FLYWHEEL_DIR) --reference $(EDM_REF_DIR)

clean-store:
	rm -rf mlruns mlartifacts downloads
