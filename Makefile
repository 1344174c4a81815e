# The one way to do each thing. `make help` lists the verbs.
# The shop's verbs use your own pulumi, kubectl and cluster when you have them
# (tools/toolset.py); the sandbox (toolchain, embedded cluster) is built only when needed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON := $(VENV)/bin/python
PYTEST_ARGS ?=
# Filled by `make test` (sandbox/wheels.py); where it holds every pin, `make setup` needs no package index.
WHEELS := $(or $(PYTHON_SHOP_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/python-shop)/wheels
# The hermetic tier: no toolchain, no root, no cluster, no browser.
UNIT := not engine and not cluster and not pods and not browser

.PHONY: help setup dev up preview logs down lint unit mutate test bench toolchain cluster-up cluster-down

help: ## list the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

setup: $(VENV)/.installed ## the Python packages, pinned, in .venv (nothing else is installed)

$(VENV)/.installed: infra/requirements.txt requirements-dev.txt backend/requirements.txt frontend/requirements.txt policy/requirements.txt
	@python3 -m venv $(VENV) >/dev/null 2>&1 || { rm -rf $(VENV); \
	  echo "make setup: python3 cannot create a virtualenv: install python3-venv (Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
	@if [ -d "$(WHEELS)" ] && $(PYTHON) -m pip install --disable-pip-version-check -q --no-index --find-links "$(WHEELS)" \
	    -r requirements-dev.txt 2>/dev/null; then echo "make setup: installed from the wheel cache $(WHEELS) (sandbox/wheels.py)"; \
	else $(PYTHON) -m pip install --disable-pip-version-check -q -r requirements-dev.txt; fi
	@touch $@

dev: setup ## run the shop locally: frontend http://127.0.0.1:8080, backend :8082
	$(PYTHON) -m tools.dev

up: setup ## deploy: to your kube context (minikube), or without one to the embedded cluster
	$(PYTHON) -m tools.deploy up

preview: setup ## pulumi preview --diff of what `make up` deployed, with the guardrails
	$(PYTHON) -m tools.deploy preview

logs: setup ## follow both apps' logs where `make up` deployed, each line prefixed by app and pod
	$(PYTHON) -m tools.deploy logs

down: setup ## remove what `make up` deployed, wherever it went (and the sandbox clusters that run)
	$(PYTHON) -m tools.deploy down

lint: setup ## ruff (pyflakes, pycodestyle, imports, naming, bugbear, pyupgrade) and mypy on infra/, policy/, the apps, tools/, sandbox/, tests/ and benchmarks/
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy --config-file pyproject.toml tools sandbox
	$(VENV)/bin/mypy --config-file pyproject.toml --explicit-package-bases tests benchmarks
	$(VENV)/bin/mypy --config-file pyproject.toml --explicit-package-bases infra
	cd policy && $(CURDIR)/$(VENV)/bin/mypy --config-file ../pyproject.toml .
	cd backend && $(CURDIR)/$(VENV)/bin/mypy --config-file ../pyproject.toml shop_backend
	cd frontend && $(CURDIR)/$(VENV)/bin/mypy --config-file ../pyproject.toml shop_frontend

unit: setup ## the hermetic tests: apps, Pulumi mocks, policy rules, tool logic
	$(PYTHON) -m pytest -m "$(UNIT)" $(PYTEST_ARGS)

# Niced, JOBS mutants at once (default 2; the apps' suites mostly wait, so 3 suits them on 2 cores).
# Not in .ci/run (minutes per module).
mutate: setup ## mutation testing (cosmic-ray) of infra/, policy/ and the apps against the hermetic tier; MODULE=policy/rules.py for one, CHANGED=main for what a branch touched, JOBS=3 for three at once
	nice -n 10 $(PYTHON) -m tools.mutate $(MODULE) $(if $(CHANGED),--changed $(CHANGED)) $(if $(JOBS),--jobs $(JOBS))

test: setup ## every test: first installs what they need (Debian packages, the sandbox toolchain)
	$(PYTHON) -m sandbox.system_packages browser shells node
	sandbox/toolchain install pulumi kube node
	$(PYTHON) -m sandbox.wheels
	env $$($(PYTHON) -m sandbox.wheels --env) $(PYTHON) -m tools.toolset policy-pack
	$(PYTHON) -m pytest --durations=25 $(PYTEST_ARGS)

# Deploys first: for minutes after the full load run, every pulumi run here took ~5 s
# longer (no process or socket was left behind; the cause was not found).
bench: setup ## serving load (granian, gunicorn, the original), deploy, the verbs' overhead over raw pulumi, growth with N web services, edit loop, ten up/down cycles under load, figures in artifacts/bench/
	$(PYTHON) -m sandbox.system_packages bench node
	sandbox/toolchain install pulumi kube node
	$(PYTHON) -m tools.toolset policy-pack
	$(PYTHON) -m benchmarks.deploy
	$(PYTHON) -m benchmarks.deploy --real
	$(PYTHON) -m benchmarks.verbs
	$(PYTHON) -m benchmarks.growth
	$(PYTHON) -m benchmarks.edit_loop
	$(PYTHON) -m benchmarks.cycles
	$(PYTHON) -m benchmarks.serving_real
	$(PYTHON) -m benchmarks.load

# --- the sandbox: for machines without their own pulumi or cluster (sandbox/README.md) ---

toolchain: ## sandbox: build (or find) pulumi, the kubernetes provider, the control plane and the node into the cache
	sandbox/toolchain install pulumi kube node

cluster-up: setup ## sandbox: start the embedded cluster (REAL=1: with a real node running containers)
	$(if $(REAL),$(PYTHON) -m sandbox.system_packages node)
	sandbox/toolchain install kube $(if $(REAL),node)
	sandbox/cluster up $(if $(REAL),--real)

cluster-down: ## sandbox: stop the embedded cluster and remove its state (REAL=1: the real one)
	sandbox/cluster down $(if $(REAL),--real)
