"""StageRoute's defaults, measured: one gamma for every world, and what each choice buys.

The experiment is :mod:`agents.experiments.stageroute_ablation`; this script is its entry point
(``python benchmarks/stageroute_ablation.py --help``).
"""

from agents.experiments.stageroute_ablation import main

if __name__ == "__main__":
    main()
