# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test test-slow benchmark clean-venv

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip check
	touch $@

demo: $(VENV)/.installed
	$(PY) launch/divergence_demo.py && $(PY) launch/ica.py --gin_file=ica/demo.gin --workdir=runs/demo

test: $(VENV)/.installed
	$(PY) -m pytest -q -n 2 --dist loadfile

test-slow: $(VENV)/.installed
	$(PY) -m pytest -q -m slow

benchmark: $(VENV)/.installed
	$(PY) launch/benchmark.py

clean-venv:
	rm -rf $(VENV)
