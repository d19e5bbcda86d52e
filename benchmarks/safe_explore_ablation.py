"""Budget-safe exploration, on and off: StageRoute's ``safe_explore`` over the budget ladder.

The experiment is :mod:`agents.experiments.safe_explore_ablation`; this script is its entry point
(``python benchmarks/safe_explore_ablation.py --help``).
"""

from agents.experiments.safe_explore_ablation import main

if __name__ == "__main__":
    main()
