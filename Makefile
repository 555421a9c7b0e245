# Set-up commands: `make demo` and `make test` (see README.md).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO   := build/demo

.PHONY: install demo test lint bench samples clean

install: $(STAMP)

# torch is pinned first: the CPU build of 2.13.0 is on disk, an unpinned torch pulls a CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: $(STAMP)
	mkdir -p $(DEMO)
	$(PY) samples/make_samples.py --only astronaut --out $(DEMO)
	$(VENV)/bin/nmfz compress $(DEMO)/astronaut.png -o $(DEMO)/astronaut.nmfz --overwrite --verify
	$(VENV)/bin/nmfz decompress $(DEMO)/astronaut.nmfz -o $(DEMO)/astronaut.decoded.png --overwrite
	$(VENV)/bin/nmfz info $(DEMO)/astronaut.nmfz

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check codec nmfnet tests bench samples
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/run.py

samples: $(STAMP)
	$(PY) samples/make_samples.py --out samples

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
