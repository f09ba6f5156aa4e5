# Set-up and common tasks. `make run` and `make test` do all set-up on a fresh Debian machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench bench-autogluon-env system-deps clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# The mariadb/mysql command-line client, for the end-to-end tests, and the PostgreSQL and
# MariaDB server binaries that tests/databases.py starts itself (never as system services).
system-deps:
	@missing=""; \
	command -v mariadb >/dev/null 2>&1 || command -v mysql >/dev/null 2>&1 || missing="$$missing mariadb-client"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 || \
		[ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ] || missing="$$missing mariadb-server"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

run: $(VENV)/.installed
	$(VENV)/bin/augurdb serve

test: $(VENV)/.installed system-deps
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

# AutoGluon for bench/automl.py: its pins do not fit beside this project's, so it gets its own
# environment (torch is the local CPU wheel).
bench-autogluon-env:
	$(PYTHON) -m venv .venv-autogluon
	.venv-autogluon/bin/python -m pip install -q --upgrade pip
	.venv-autogluon/bin/python -m pip install -q "torch==2.13.0" "autogluon.tabular[lightgbm,catboost,xgboost]"

bench: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[test,bench]'
	$(PY) bench/server.py

clean:
	rm -rf $(VENV) augurdb_data .pytest_cache
