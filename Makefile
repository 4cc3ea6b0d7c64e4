# neurorep: `make demo` runs the main job, `make test` the test suite. Both set up .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= runs/demo
DEMO_DATA ?= runs/demo-data

.PHONY: demo test test-all bench screenshots install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test,export,lora]"
	touch $(STAMP)

install: $(STAMP)

$(DEMO_DATA)/.complete: | $(STAMP)
	$(BIN)/neurorep data simulate sleep --out $(DEMO_DATA) --subjects 10 --seed 0 --jobs 2 --overwrite
	touch $@

demo: $(STAMP) $(DEMO_DATA)/.complete
	$(BIN)/neurorep benchmark sleep-ssl --preset quick --data $(DEMO_DATA) --out $(DEMO_OUT) --overwrite --jobs 2

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -n 2 --dist loadfile

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# each recipe's small grid, then report.html photographed by headless Chromium (apt-get install -y chromium)
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshot_reports.py --out runs/screenshots

clean:
	rm -rf $(VENV) runs .pytest_cache
