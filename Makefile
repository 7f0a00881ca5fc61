# voicebot: `make demo` sets everything up and runs the bundled sample meeting;
# `make test` sets everything up and runs the whole test suite.
# Paths are absolute, so that scripts which change folder still find the venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
# A CPU machine without a GPU still gets torch from this pin; override on other platforms.
TORCH  ?= torch==2.14.1
# llama-cpp-python ships as source only: a portable CPU build (the native one crashes in AMX code on some
# CPUs). The first build takes about 10 minutes on 2 cores; pip caches the wheel, so later installs are quick.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: setup system python models demo test test-fast lint bench clean

setup: system python models

system:
	./scripts/install-system.sh

python: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q -e '.[dev,llm]'
	touch $@

models: python
	$(BIN)/voicebot models install base
	$(BIN)/voicebot models install minutes

demo: setup
	VOICEBOT=$(BIN)/voicebot ./scripts/demo.sh

lint: python
	$(BIN)/ruff check .

test: setup lint
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

test-fast: python
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow"

bench: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
