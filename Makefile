# The two commands a newcomer needs: `make run` (the app) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/trm-bio app

# pytest exits 5 when it collects no test: that is a failure here too, said plainly.
# The coverage table lists the modules not fully covered, then the total (about a tenth slower).
COVERAGE := --cov=trm_bio --cov=devices --cov=skills --cov-report=term:skip-covered
# mypy: strict on trm_bio/core and devices, its default checks elsewhere ([tool.mypy] in
# pyproject.toml); its cache in .mypy_cache makes a rerun take about a second.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q $(COVERAGE); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .coverage build *.egg-info
