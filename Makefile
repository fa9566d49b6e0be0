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

# The real-digit study of the README: five MNIST configurations x three seeds on mnist5k, each
# trained until its test ELBO stops improving, evaluated (IW likelihood with K = 1,000, sample
# quality in the two shipped mnist5k feature views) and gathered into runs/mnist5k/report.
MNIST5K_CONFIGS := vae_baseline vae_baseline_matched delta_vae_gaussian delta_vae_laplace \
	delta_vae_lowrank
MNIST5K_SEEDS := 0 1 2
mnist5k-study: $(VENV)/.installed
	for config in $(MNIST5K_CONFIGS); do for seed in $(MNIST5K_SEEDS); do \
	  workdir=runs/mnist5k/$$config/seed=$$seed; \
	  $(PY) launch/train.py --workdir=$$workdir --gin_file=mnist/$$config.gin \
	    --gin_file=data/mnist5k.gin --gin_bindings=train.seed=$$seed \
	    --gin_bindings=train.verbose=False && \
	  $(PY) launch/evaluate.py --workdir=$$workdir || exit 1; \
	done; done
	$(PY) launch/report.py --runs='runs/mnist5k/*/seed=*' --out=runs/mnist5k/report

clean-venv:
	rm -rf $(VENV) $(REF_VENV)
