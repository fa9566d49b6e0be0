# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The PyTorch reference's own environment (`make benchmark` builds it on first use).
REF_VENV := .venv-ref
REF_PY := $(REF_VENV)/bin/python
REF_REQUIREMENTS := benchmarks/reference/requirements.txt
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test test-slow lint benchmark mnist5k-study clean-venv

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip check
	touch $@

demo: $(VENV)/.installed
	$(PY) launch/divergence_demo.py && $(PY) launch/ica.py --gin_file=ica/demo.gin --workdir=runs/demo

test: $(VENV)/.installed
	$(PY) -m pytest -q -n 2 --dist worksteal

lint: $(VENV)/.installed
	$(PY) -m ruff check .

test-slow: $(VENV)/.installed
	$(PY) -m pytest -q -n 2 --dist worksteal -m slow

$(REF_VENV)/.installed: $(REF_REQUIREMENTS)
	test -x $(REF_PY) || $(PYTHON) -m venv $(REF_VENV)
	$(REF_PY) -m pip install --quiet -r $(REF_REQUIREMENTS)
	touch $@

benchmark: $(VENV)/.installed $(REF_VENV)/.installed
	$(PY) launch/benchmark.py --torch_python=$(CURDIR)/$(REF_PY)

# The real-digit study of the README (gin/studies/mnist5k.gin: five MNIST configurations x three
# seeds on mnist5k; sample quality in the two shipped mnist5k feature views), trained, evaluated
# and reported into runs/mnist5k_study by launch/study.py. Running it again continues where it
# stopped; finished runs are skipped.
mnist5k-study: $(VENV)/.installed
	$(PY) launch/study.py --study=studies/mnist5k.gin --workdir=runs/mnist5k_study

clean-venv:
	rm -rf $(VENV) $(REF_VENV)
