# The two commands a newcomer types: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE_TRACE := tests/data/sample-trace.jsonl.gz
# The seed alone (policies/ also holds the org baseline, policies/org-baseline/).
SEED := policies/leaked-accesskey-protection.rules

.PHONY: demo test lint bench bench-save bench-compare fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/ramguard compile policies --out generated
	@echo
	@echo '$$ ramguard decide --rules $(SEED) ecs:RunInstances'
	@$(BIN)/ramguard decide --rules $(SEED) ecs:RunInstances
	@echo '$$ ramguard decide --rules $(SEED) ecs:DescribeInstances'
	@$(BIN)/ramguard decide --rules $(SEED) ecs:DescribeInstances
	@echo '$$ ramguard decide --rules $(SEED) ram:CreateUser -c source_ip=203.0.113.9'
	@$(BIN)/ramguard decide --rules $(SEED) ram:CreateUser -c source_ip=203.0.113.9
	@echo '$$ ramguard decide --rules $(SEED) rds:DeleteDBInstance'
	@$(BIN)/ramguard decide --rules $(SEED) rds:DeleteDBInstance
	@echo '$$ ramguard decide --rules $(SEED) dysms:QuerySendDetails'
	@$(BIN)/ramguard decide --rules $(SEED) dysms:QuerySendDetails
	@echo
	@echo '$$ ramguard simulate --rules $(SEED) --trace $(SAMPLE_TRACE)'
	@$(BIN)/ramguard simulate --rules $(SEED) --trace $(SAMPLE_TRACE)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/ramguard compile policies --target ram --out generated --check
	$(BIN)/ramguard compile policies --target control-policy --out generated/control-policy --check
	$(BIN)/ramguard compile policies --target terraform --out generated/terraform --check
	$(BIN)/ramguard compile policies --target ros --out generated/ros --check
	$(BIN)/ramguard compile policies --target cedar --out generated/cedar --check
	$(BIN)/ramguard test policies
	for d in examples/guardrails examples/resources examples/org-allowlist; do $(BIN)/ramguard test $$d || exit 1; done
	$(BIN)/ramguard prove --rules policies
	$(BIN)/pytest
	$(BIN)/pytest bench/test_gate.py -p no:cacheprovider

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

# Mutation campaign (issue 16), not part of `make test`: 20,000 rules files, 2,000 traces; exit 1
# and fuzz-findings/ on a traceback, a hang over 5 s, or fmt changing meaning.
fuzz: $(VENV)/.installed-test
	$(BIN)/python tests/fuzz_campaign.py --rules 20000 --traces 2000

bench-save: $(VENV)/.installed-test
	$(BIN)/python -m bench --save

bench-compare: $(VENV)/.installed-test
	$(BIN)/python -m bench --compare

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .benchmarks
