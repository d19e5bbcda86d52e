# Quickstart: `make demo` and `make test` each create .venv and install what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo results test test-min-deps lint bench clean

# NumPy's dispatch targets beyond AVX2 (np.show_runtime() lists them); disabling them is harmless where absent.
AVX512 := X86_V4 AVX512_ICL AVX512_SPR

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU wheel of torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[rl,plot,trace,dev,ray]"
	touch $(STAMP)

# The main job: StageRoute, Greedy, Random, the oracle and a briefly trained MaskablePPO on LLMRoute-v0
# (3 seeds), the results table and the plots in results/demo, then the held-out table: MaskablePPO (MLP and
# set policy) briefly trained on generated worlds and scored on unseen ones (agents/experiments/demo.py).
# About 2 minutes on 2 cores.
demo: $(STAMP)
	$(BIN)/python -m agents.experiments.demo --out results/demo

# The RL results of docs/results/: every agent on LLMRoute-v0 and both single-level views, 5 seeds,
# RL agents trained per seed (resumable: runs and models are kept in results/full). About an hour.
results: $(STAMP)
	$(BIN)/llmroute bench --out results/full --report-dir docs/results/LLMRoute-v0 --jobs 2 --seeds 0-4 \
		--envs LLMRoute-v0 --train-steps 100000 \
		--agents stageroute,greedy,random,oracle,ucb_bwk,primal_dual,thompson,static,cheapest,strongest,maskableppo,ppo,a2c,dqn
	$(BIN)/llmroute bench --out results/full --report-dir docs/results/LLMRoute-Route-v0 --jobs 2 --seeds 0-4 \
		--envs LLMRoute-Route-v0 --train-steps 100000 \
		--agents stageroute,greedy,random,oracle,cheapest,maskableppo,ppo,a2c,dqn
	$(BIN)/llmroute bench --out results/full --report-dir docs/results/LLMRoute-Deploy-v0 --jobs 2 --seeds 0-4 \
		--envs LLMRoute-Deploy-v0 --train-steps 20000 \
		--agents stageroute,greedy,random,oracle,static,maskableppo,ppo,a2c,dqn

# Lint (ruff, formatting, types, import architecture), then the test suite.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo
	$(BIN)/python -m pytest -n 2 -q
	# The recorded episodes again with NumPy's AVX-512 kernels off (what an AVX2-only machine runs):
	# they must hold on any x86-64 CPU (tests/recording.py).
	NPY_DISABLE_CPU_FEATURES="$(AVX512)" $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/test_recorded_trajectories.py tests/agents/test_evaluation.py

# The env's tests (tests/env, and StageRoute's components) on the floors of pyproject's dependencies (gymnasium, numpy, scipy; .ci/min_deps.py
# reads them) in a second venv, .venv-min, with the newest SB3 for its check_env and MaskablePPO. CI runs
# it after `make test`. Left out: the agents and RL tests (make test runs them), and
# tests/test_recorded_trajectories.py, whose hashes are bit-exact: numpy 1.26 sums one final-info float
# (oracle_value) one ulp apart from numpy 2. About 2 minutes (1 to build the venv).
MIN_VENV := .venv-min
MIN_STAMP := $(MIN_VENV)/.installed
ENV_TESTS := tests/env tests/agents/test_routing.py

$(MIN_STAMP): pyproject.toml Makefile .ci/min_deps.py
	rm -rf $(MIN_VENV)
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install -q --upgrade pip
	$(MIN_VENV)/bin/python -m pip install -q torch==2.13.0
	$(MIN_VENV)/bin/python -m pip install -q -e . $$($(PYTHON) .ci/min_deps.py) \
		stable-baselines3 sb3-contrib "pytest>=8" pytest-xdist "hypothesis>=6.100"
	touch $(MIN_STAMP)

test-min-deps: $(MIN_STAMP)
	$(MIN_VENV)/bin/python .ci/min_deps.py --check
	$(MIN_VENV)/bin/python -m pytest -n 2 -q -p no:cacheprovider $(ENV_TESTS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_env.py

clean:
	rm -rf $(VENV) $(MIN_VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache .import_linter_cache
