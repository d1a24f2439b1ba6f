# Two commands on a fresh machine: `make demo` (the main job) and `make test`.
# Each creates or updates the virtual environment first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.edm-installed

.PHONY: demo test services lint bench clean-store

$(STAMP): pyproject.toml scripts/install.sh
	bash scripts/install.sh $(VENV)
	touch $(STAMP)

demo: $(STAMP)
	bash scripts/demo.sh

test: $(STAMP) services
	$(PY) -m pytest

# PostgreSQL for the integration tests (installed with apt-get when missing).
services:
	bash scripts/install-services.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

bench: $(STAMP)
	$(PY) bench/registry_list.py
	$(PY) bench/train_input.py
	$(PY) bench/registry_remote.py
	$(PY) bench/analyze_speed.py
	$(PY) bench/serve_load.py

clean-store:
	rm -rf mlruns mlartifacts downloads
