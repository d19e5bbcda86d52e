"""Regret scaling: does StageRoute's regret grow like T^(2/3) and track the oracle?

The experiment is :mod:`agents.experiments.regret_scaling`; this script is its entry point
(``python benchmarks/regret_scaling.py --help``).
"""

from agents.experiments.regret_scaling import main

if __name__ == "__main__":
    main()
