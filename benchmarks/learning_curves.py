"""Learning curves of training runs side by side (score and spend of their training episodes).

The script is :mod:`agents.experiments.curves`; this is its entry point
(``python benchmarks/learning_curves.py --help``).
"""

import sys

from agents.experiments.curves import main

if __name__ == "__main__":
    sys.exit(main())
