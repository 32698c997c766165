# The README's two commands are the contract: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Debian packages the test suite needs: Chromium for the browser tests (never a downloaded
# browser), CJK fonts so pages and report charts render 中文, LibreOffice and poppler to turn
# reports into PDF and read them back; nats-server for the bus-mode tests. Installed only when
# missing.
SYSTEM_PKGS := chromium fonts-noto-cjk libreoffice-writer-nogui poppler-utils nats-server
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps demo test check lint typecheck pytest bench constraints clean

system-deps:
	@missing=""; for p in $(SYSTEM_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# constraints.txt pins every dependency to the versions the suite last passed with, so a fresh
# clone next year installs what was tested; `make constraints` rewrites it from the venv.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/qingshan demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy

# Most tests wait on servers, browsers and subprocesses, so two workers (pytest-xdist, one
# module per worker at a time) nearly halve the wall time on 2 cores. Tests marked `serial`
# assert latencies or races and run alone afterwards. Both parts always run; either failing fails;
# each prints its slowest tests, so that the next one to split or speed up is in the CI log.
PYTEST_WORKERS ?= 2
pytest: $(STAMP)
	@rc=0; \
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not serial" --durations=25 || rc=1; \
	$(BIN)/pytest -m serial --durations=10 || rc=1; \
	exit $$rc

test: system-deps lint typecheck pytest

# The fast loop: no sudo, no PostgreSQL, no browser, nothing marked slow.
check: lint typecheck
	$(BIN)/pytest -q -m "not postgres and not browser and not slow"

constraints: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v -i '^qingshan' > constraints.txt

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
