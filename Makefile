# Two commands: `make demo` (compile, draw, run an example) and `make test` (the suite);
# `make docs` builds the documentation site into build/site/.
VENV ?= .venv
PY := $(VENV)/bin/python
EXAMPLE ?= examples/transformer.arch
BLOCK ?= EncoderLayer

$(VENV)/.ready: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# The suite also draws with Graphviz and drives Chromium; fetch them from Debian when missing
# (as root; elsewhere those tests skip and say why). `make demo` needs neither.
TOOLS := dot chromium chromedriver
tools:
	@missing=0; for t in $(TOOLS); do command -v $$t >/dev/null || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz chromium chromium-driver >/dev/null; } \
	      || echo "note: installing graphviz/chromium failed; their tests will skip"; \
	  else echo "note: apt-get install graphviz chromium chromium-driver to run the diagram and browser tests"; fi; \
	fi

.PHONY: setup tools demo test test-fast lint docs fuzz
setup: $(VENV)/.ready

demo: setup
	mkdir -p out
	$(VENV)/bin/archc check $(EXAMPLE)
	$(VENV)/bin/archc compile $(EXAMPLE) -o out/transformer.py
	$(PY) benchmarks/demo.py $(EXAMPLE) $(BLOCK) out

test: setup tools
	$(VENV)/bin/ruff check archdsl tests benchmarks
	$(PY) -m pytest -q -n auto --dist loadfile tests

# The fast layer (no subprocesses, browser, fuzzing or whole models): under a minute.
test-fast: setup
	$(VENV)/bin/ruff check archdsl tests benchmarks
	$(PY) -m pytest -q -m "not system" tests

lint: setup
	$(VENV)/bin/ruff check archdsl tests benchmarks

docs: setup
	$(VENV)/bin/archc docs examples stdlib -o build/site
	$(VENV)/bin/archc diagram examples/transformer.arch --block EncoderLayer -o docs/encoderlayer.svg
	$(VENV)/bin/archc diagram examples/resnet.arch --block ResNet50 -o docs/resnet50.svg
	$(VENV)/bin/archc diagram examples/swin.arch --block SwinT -o docs/swint.svg

# A long fuzz campaign (tests/fuzzing.py), then semantic mutants run fused and unfused
# (tests/mutate.py, tests/differential.py); the test suite runs a short one of each.
fuzz: setup
	$(PY) benchmarks/fuzz.py --inputs 20000
	$(PY) benchmarks/fuzz.py --mutate --inputs 4000 --findings build/fuzz-findings
	SYMMETRY_FUZZ_EXAMPLES=300 $(PY) -m pytest -q -s tests/test_symmetry_soundness.py -k fuzz
