# CadreConnect: `make run` serves the portal, `make test` runs the tests.
# Both set everything up first (virtualenv, dependencies, translations) on a machine that has
# only Python 3.11+. DATABASE_URL and CELERY_BROKER_URL select PostgreSQL and Redis.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Development defaults; a deployment sets its own environment and never uses these targets.
export DEBUG ?= true

CATALOGUES := $(wildcard locale/*/LC_MESSAGES/django.po)
COMPILED := $(CATALOGUES:.po=.mo)

.PHONY: setup run test bench lint format messages messages-extract migrate clean

setup: $(VENV)/.installed $(COMPILED)

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Compiled with Babel, so GNU gettext need not be installed.
locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

messages: $(COMPILED)

# Needs GNU gettext (apt-get install gettext): refreshes the catalogues from the source.
messages-extract: setup
	$(BIN)/python manage.py makemessages --all --ignore=.venv --ignore=tests --ignore=bench

migrate: setup
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py demo_data
	@echo ""
	@echo "Serving http://127.0.0.1:8000 with a Celery worker and beat. Ctrl-C stops all three."
	$(BIN)/honcho --procfile Procfile.dev start

test: setup
	CELERY_FILESYSTEM_DIR=var/test-broker $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var staticfiles $(COMPILED)
