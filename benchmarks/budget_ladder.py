"""Budget ladder: does every agent keep the budget, and how close to the oracle is it, from the tightest feasible budget to a budget that never binds?

The experiment is :mod:`agents.experiments.budget_ladder`; this script is its entry point
(``python benchmarks/budget_ladder.py --help``).
"""

from agents.experiments.budget_ladder import main

if __name__ == "__main__":
    main()
