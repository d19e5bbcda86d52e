"""The StageRoute paper's experiments, reproduced on this package's worlds and checked claim by claim.

The experiment is :mod:`agents.experiments.paper_experiments`; this script is its entry point
(``python benchmarks/paper_experiments.py --help``).
"""

from agents.experiments.paper_experiments import main

if __name__ == "__main__":
    main()
