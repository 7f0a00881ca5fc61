# voicebot: `make demo` sets everything up and runs the bundled sample meeting;
# `make test` sets everything up and runs the whole test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# A CPU machine without a GPU still gets torch from this pin; override on other platforms.
TORCH  ?= torch==2.14.1

.PHONY: setup system python models demo test test-fast bench clean

setup: system python models

system:
	./scripts/install-system.sh

python: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

models: python
	$(BIN)/voicebot models install base

demo: setup
	VOICEBOT=$(BIN)/voicebot ./scripts/demo.sh

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

test-fast: python
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow"

bench: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
