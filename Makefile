# One-command set-up for scrsearch. `make demo` installs everything into .venv
# (torch pinned to the CPU build first), indexes the demo corpus and runs a search.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
INDEX ?= index
# The CPU build of torch: pip takes it from the local wheel folder where the
# machine has one, never the multi-GB CUDA build.
TORCH := torch==2.13.0
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,--index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple)

.PHONY: setup demo test test-fast lint bench app clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q $(FIND_LINKS) "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev,ocr,onnx]"
	touch $@

demo: setup
	$(BIN)/scrsearch ingest corpus/ --index $(INDEX)
	$(BIN)/scrsearch search "new information shared in a meeting but the plan was not changed" --index $(INDEX) -k 6 --group

# The whole suite, as CI runs it (tests marked slow load the real model).
test: setup
	$(BIN)/pytest

# Everything that needs no real model (~1-2 min); a test that loads it unmarked fails.
test-fast: setup
	$(BIN)/pytest -m "not slow"

lint: setup
	$(BIN)/ruff check src tests app.py .ci
	$(BIN)/ruff format --check src tests app.py .ci
	$(BIN)/mypy

bench: setup
	$(BIN)/scrsearch bench

app: setup
	$(BIN)/scrsearch app

clean:
	rm -rf $(INDEX)/g*.sqlite $(INDEX)/g*.faiss $(INDEX)/manifest.json
