# The two commands of the README: `make run` and `make test`. Everything else serves them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
PORT ?= 8000

# Bundled plugins with their own catalogs: plugins/<package>/translations/.
PLUGIN_PACKAGES := $(patsubst %/translations,%,$(wildcard plugins/*/translations))
EXAMPLE_PLUGIN := docs/examples/portal-example-rules

# Every dependency, pinned with hashes: the extras test, postgres, redis and gunicorn of
# pyproject.toml, for Python 3.11+ on any platform. `make lock` refreshes both files.
LOCK := requirements/lock.txt
BUILD_LOCK := requirements/build.txt
UV_VERSION := 0.13.9
LOCK_OPTIONS := --universal --python-version 3.11 --generate-hashes --quiet \
  --custom-compile-command "make lock"

.PHONY: run test install install-test translations messages browser lint lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One lock for `make run` and `make test`; the portal and the example plugin of
# docs/plugins.md (the test suite runs it) are installed from the checkout on top of it.
# The distribution was called "portal" before: an old editable install of that name would
# register the bundled plugins twice, so it goes.
$(VENV)/.installed: pyproject.toml $(LOCK) $(EXAMPLE_PLUGIN)/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip uninstall --quiet --yes portal 2>/dev/null || true
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e . -e $(EXAMPLE_PLUGIN)
	touch $@

install: $(VENV)/.installed

install-test: install

translations: install
	$(BIN)/pybabel compile --statistics --directory translations --domain messages
	for package in $(PLUGIN_PACKAGES) $(EXAMPLE_PLUGIN)/portal_example_rules; do \
	  $(BIN)/pybabel compile --statistics --directory $$package/translations --domain messages || exit 1; \
	done

# Extract the strings of code and templates and merge them into every catalog. Catalogs whose
# Plural-Forms differ from the locked Babel's get Babel's, with their plural entries fuzzy.
messages: install
	$(BIN)/python -m portal.testing.catalogs translations $(addsuffix /translations,$(PLUGIN_PACKAGES))
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords _l --keywords lazy_gettext --keywords lazy_ngettext:1,2 \
	  --sort-by-file --project portal --copyright-holder "The portal authors" \
	  --output-file translations/messages.pot .
	$(BIN)/pybabel update --input-file translations/messages.pot --output-dir translations \
	  --domain messages --no-fuzzy-matching
	for package in $(PLUGIN_PACKAGES); do \
	  $(BIN)/pybabel extract --keywords _l --keywords lazy_gettext --keywords lazy_ngettext:1,2 --sort-by-file \
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
	$(BIN)/portal demo --port $(PORT)

lint: install-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

test: install-test translations browser lint
	$(BIN)/pytest $(PYTEST_ARGS)

# Refresh the lock on purpose (newer releases within pyproject.toml's ranges), then run
# `make test` and commit requirements/ with the change that needed it.
lock: | $(BIN)/python
	$(BIN)/pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile pyproject.toml --extra test --extra postgres --extra redis \
	  --extra gunicorn $(LOCK_OPTIONS) --output-file $(LOCK)
	$(BIN)/python -c 'import tomllib; print("\n".join(["build", *tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]]))' \
	  | $(BIN)/uv pip compile - --constraint $(LOCK) $(LOCK_OPTIONS) --output-file $(BUILD_LOCK)

clean:
	rm -rf $(VENV) instance test-artifacts translations/*/LC_MESSAGES/*.mo \
	  plugins/*/translations/*/LC_MESSAGES/*.mo
