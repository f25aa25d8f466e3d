# One entry point for people and CI. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The virtualenv lives outside the checkout and is reused while requirements/ is unchanged.
VENV ?= $(HOME)/.cache/cgpo/venv
PY := $(VENV)/bin/python
REQ_HASH := $(shell cat requirements/*.txt | sha256sum | cut -c1-16)
STAMP := $(VENV)/.cgpo-deps-$(REQ_HASH)
export PYTHONPATH := $(CURDIR)/python
export VIRTUAL_ENV := $(VENV)
export CGPO_CACHE ?= $(HOME)/.cache/cgpo
# Math-Verify and torch are happier with a stable thread count on a 2-core box.
export TOKENIZERS_PARALLELISM := false
# Every Python file is linted, the sandbox's zygote (run by the Rust fork server) included.
PY_SOURCES := python tests benches rust/src/sandbox/zygote.py

.PHONY: help venv build install test test-rust test-py test-slow lint fmt bench demo clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements/dev.txt requirements/nodeps.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps -r requirements/nodeps.txt
	@rm -f $(VENV)/.cgpo-deps-* && touch $@

venv: $(STAMP)  ## create/refresh the cached virtualenv (reused while requirements/ is unchanged)

build: venv  ## build the Rust extension in place (python/cgpo/_core*.so), release mode
	$(VENV)/bin/maturin develop --release --skip-install -q

install: build  ## install cgpo (and its `cgpo` command) into the virtualenv
	$(VENV)/bin/maturin develop --release -q

test-rust:  ## Rust unit tests of the pure core (no Python needed)
	cargo test --workspace -q

test-py: build  ## pytest, without the slow tests (collecting no test at all is a failure)
	$(PY) -m pytest -q -m "not slow and not gpu" tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is broken"; exit 1; fi; exit $$rc

test: test-rust test-py  ## everything CI runs: Rust tests + pytest (not slow)

test-slow: build  ## the slow tests (real models, full datasets); none collected is not an error
	$(PY) -m pytest -q -m "slow" tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no slow tests collected"; exit 0; fi; exit $$rc

lint: venv  ## cargo fmt/clippy, ruff, mypy, stubtest
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --workspace --all-targets --features python -- -D warnings
	$(VENV)/bin/ruff check $(PY_SOURCES)
	$(VENV)/bin/ruff format --check $(PY_SOURCES)
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest cgpo._core --allowlist .ci/stubtest-allowlist.txt

demo: install  ## the main job: `cgpo train` on the built-in default (CPU, offline)
	$(VENV)/bin/cgpo train

bench: build  ## the judge and selection benchmarks (one run each, tables on stdout)
	$(PY) benches/bench_math.py
	$(PY) benches/bench_instructions.py
	$(PY) benches/bench_code.py
	$(PY) benches/bench_selection.py

fmt:  ## format Rust and Python
	cargo fmt --all
	$(VENV)/bin/ruff format $(PY_SOURCES)
	$(VENV)/bin/ruff check --fix $(PY_SOURCES)

clean:  ## remove build outputs (keeps the virtualenv)
	cargo clean
	rm -f python/cgpo/_core*.so
