"""Generated worlds: what the distribution of ``gym_llmroute.generated`` looks like, and what a world costs.

The experiment is :mod:`agents.experiments.generated_worlds`; this script is its entry point
(``python benchmarks/generated_worlds.py --help``).
"""

from agents.experiments.generated_worlds import main

if __name__ == "__main__":
    main()
