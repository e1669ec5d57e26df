# The two commands a newcomer needs: `make run` (install, then run the main job) and
# `make test` (install, then run the whole test suite). Both create .venv themselves.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test docs bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Collect from the configured models (the simulated personas when none are configured),
# score, refresh signatures, then serve the app on 127.0.0.1 in the background.
# `bsb run` exits with 3 when some models failed; the app still starts to show what was stored.
run: install
	-$(BIN)/bsb run
	bash scripts/serve_app.sh

test: install
	bash scripts/test.sh

docs: install
	$(BIN)/bsb metrics --format markdown > docs/metrics.md

bench: install
	$(BIN)/python bench/score_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis test-artifacts
