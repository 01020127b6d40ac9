# The two commands of the README: `make run` and `make test`. Everything else serves them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test install install-test translations messages browser lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

translations: install
	$(BIN)/pybabel compile --statistics --directory translations --domain messages

# Extract the strings of code and templates and merge them into every catalog.
messages: install
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords _l --keywords lazy_gettext \
	  --sort-by-file --project portal --copyright-holder "The portal authors" \
	  --output-file translations/messages.pot .
	$(BIN)/pybabel update --input-file translations/messages.pot --output-dir translations \
	  --domain messages --no-fuzzy-matching

# Chromium from Debian, for the browser tests (Playwright's own downloads do not work here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "Chromium is missing: run 'sudo apt-get install chromium'" >&2; exit 1; fi; }

run: install translations
	$(BIN)/portal demo

lint: install-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

test: install-test translations browser lint
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance test-artifacts translations/*/LC_MESSAGES/*.mo
