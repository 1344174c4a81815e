# The one way to do each thing. `make help` lists the verbs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: help setup toolchain dev up preview destroy down cluster-up cluster-down test bench

help: ## list the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16

setup: $(VENV)/.installed ## install everything: Python packages, Debian packages
	@tools/system-packages

$(VENV)/.installed: requirements-dev.txt backend/requirements.txt frontend/requirements.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@

toolchain: ## build (or find) pulumi, the kubernetes provider, the control plane and the node into the cache
	tools/toolchain install pulumi kube node

dev: $(VENV)/.installed ## run the shop locally: frontend http://127.0.0.1:8080, backend :8082
	$(PYTHON) tools/dev

up: setup toolchain ## deploy the dev stack (minikube), or to the embedded cluster (real pods) when minikube is not there
	$(PYTHON) tools/deploy up

preview: setup toolchain ## pulumi preview --diff, with the guardrails
	$(PYTHON) tools/deploy preview

destroy: setup toolchain ## remove what `make up` deployed
	$(PYTHON) tools/deploy destroy

down: setup ## remove what `make up` deployed and stop the embedded clusters
	$(PYTHON) tools/deploy down

cluster-up: setup toolchain ## start the embedded cluster: REAL=1 for a real node running containers
	tools/cluster up $(if $(REAL),--real)

cluster-down: ## stop the embedded cluster and remove its state (REAL=1: the real one)
	tools/cluster down $(if $(REAL),--real)

test: setup toolchain ## set up (packages, toolchain), then run every test
	$(PYTHON) -m pytest $(PYTEST_ARGS)

# Deploys first: for minutes after the full load run, every pulumi run here took ~5 s
# longer (no process or socket was left behind; the cause was not found).
bench: setup toolchain ## load (backend alone, ours, the original) and deploy (kubectl vs pulumi) benchmarks, figures in artifacts/bench/
	$(PYTHON) benchmarks/deploy.py
	$(PYTHON) benchmarks/deploy.py --real
	$(PYTHON) benchmarks/load.py
