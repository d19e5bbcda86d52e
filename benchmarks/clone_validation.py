"""Score learned models on the validation worlds, paired with StageRoute on the same episodes.

The experiment is :mod:`agents.experiments.clone_validation`; this script is its entry point
(``python benchmarks/clone_validation.py --help``).
"""

import sys

from agents.experiments.clone_validation import main

if __name__ == "__main__":
    sys.exit(main())
