# The two set-up commands: `make run` (count ResNet-50, per-layer stats) and `make test`.
# Each creates .venv on first use; PYTHON overrides the interpreter (it must be CPython 3.10,
# the newest Python oneflow 0.9.0 ships wheels for).
PYENV_DIR := $(shell pyenv root 2>/dev/null)
PYTHON ?= $(or $(lastword $(wildcard $(PYENV_DIR)/versions/3.10.*/bin/python)),$(shell command -v python3.10 2>/dev/null))
VENV := .venv
PY := $(VENV)/bin/python
# flowvision 0.2.1 is an sdist whose setup.py imports pkg_resources, which new setuptools
# dropped: it is built without isolation, against the venv's own older setuptools. flowflops
# itself is built in pip's isolated build environment (its SPDX license metadata needs
# setuptools >= 77).
DEPS := "oneflow==0.9.0" "numpy<2" "protobuf<4" prettytable \
        "nvidia-cudnn-cu11==8.5.0.96" "nvidia-cublas-cu11==11.10.3.66" pytest hypothesis matplotlib mypy selenium wheel "setuptools<70"

.PHONY: run test test-quick typecheck golden bench env clean pip-check torch-models docs

$(VENV)/.ready: pyproject.toml
	@test -n "$(PYTHON)" || { echo "No Python 3.10 found: run e.g. make PYTHON=/path/to/python3.10 $(MAKECMDGOALS)"; exit 1; }
	@echo "creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(DEPS)
	$(PY) -m pip install -q --no-build-isolation "flowvision==0.2.1"
	$(PY) -m pip install -q --no-deps -e ".[test]"
	$(PY) -c "import oneflow, flowvision, flowflops" 2>/dev/null
	touch $@

env: $(VENV)/.ready

run: env
	$(PY) -m flowflops resnet50 --input-shape 1,3,224,224

test: env
	$(PY) -m pytest -q

test-quick: env
	$(PY) -m pytest -q -m "not slow"

# build the sdist and wheel, install the wheel into a new venv with pip alone, run the quick start
pip-check:
	PYTHON=$(PYTHON) bash .ci/pip_check.sh

typecheck: env
	$(PY) -m mypy

# the linter (rules in pyproject's [tool.ruff]); installed into .venv on first use
.PHONY: lint
$(VENV)/.lint-ready: $(VENV)/.ready
	$(PY) -m pip install -q "ruff==0.17.6"
	touch $@

lint: $(VENV)/.lint-ready
	$(PY) -m ruff check flowflops tests examples benchmarks

# the torch-models extra in .venv (timm with --no-deps: it declares torch, which mock_torch serves)
torch-models: env
	$(PY) -m pip install -q "transformers==4.26.1" "huggingface_hub==0.36.2" "tokenizers==0.13.3"
	$(PY) -m pip install -q --no-deps "timm==0.6.12"

# the documentation site: docs/*.md (+ API reference from docstrings) -> site/, offline, failing
# on any warning (broken links and anchors included). Its tools go into .venv on first use.
# Pinned to the versions this build was checked with (2026-12-07; the build takes ~3 s, the
# install ~15 s); pymdown-extensions 12+ breaks mkdocstrings' highlighter on Python 3.10.
DOCS_DEPS := "mkdocs==1.6.1" "mkdocs-material==9.7.7" "mkdocstrings==1.0.6" "mkdocstrings-python==2.0.9" \
             "pymdown-extensions==11.0.2"

$(VENV)/.docs-ready: $(VENV)/.ready
	$(PY) -m pip install -q $(DOCS_DEPS)
	touch $@

docs: $(VENV)/.docs-ready
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --clean

# rewrite tests/golden/ from the current layouts (after a deliberate change; read the diff)
golden: env
	FLOWFLOPS_UPDATE_GOLDEN=1 $(PY) -m pytest -q tests/test_golden.py

bench: env
	$(PY) benchmarks/compare.py

clean:
	rm -rf $(VENV)
