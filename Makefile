# The two commands of the README: `make run` and `make test`. Everything else serves them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

# Bundled plugins with their own catalogs: plugins/<package>/translations/.
PLUGIN_PACKAGES := $(patsubst %/translations,%,$(wildcard plugins/*/translations))
EXAMPLE_PLUGIN := docs/examples/portal-example-rules

.PHONY: run test install install-test translations messages browser lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# The example plugin of docs/plugins.md is installed too: the test suite runs it.
$(VENV)/.installed-test: pyproject.toml docs/examples/portal-example-rules/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/pip install --quiet -e docs/examples/portal-example-rules
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

translations: install
	$(BIN)/pybabel compile --statistics --directory translations --domain messages
	for package in $(PLUGIN_PACKAGES) $(EXAMPLE_PLUGIN)/portal_example_rules; do \
	  $(BIN)/pybabel compile --statistics --directory $$package/translations --domain messages || exit 1; \
	done

# Extract the strings of code and templates and merge them into every catalog.
messages: install
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords _l --keywords lazy_gettext \
	  --sort-by-file --project portal --copyright-holder "The portal authors" \
	  --output-file translations/messages.pot .
	$(BIN)/pybabel update --input-file translations/messages.pot --output-dir translations \
	  --domain messages --no-fuzzy-matching
	for package in $(PLUGIN_PACKAGES); do \
	  $(BIN)/pybabel extract --keywords _l --keywords lazy_gettext --sort-by-file \
	    --project $$(basename $$package) --copyright-holder "The portal authors" \
	    --output-file $$package/translations/messages.pot $$package || exit 1; \
	  $(BIN)/pybabel update --input-file $$package/translations/messages.pot \
	    --output-dir $$package/translations --domain messages --no-fuzzy-matching || exit 1; \
	done

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
	rm -rf $(VENV) instance test-artifacts translations/*/LC_MESSAGES/*.mo \
	  plugins/*/translations/*/LC_MESSAGES/*.mo
