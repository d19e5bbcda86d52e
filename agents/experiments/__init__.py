"""Experiments: benchmark sweeps (agents x envs x scenarios x seeds), their backends, reports and
plots, the demo and the contextual comparison.

* :mod:`~agents.experiments.jobs`: the units of work (a training, an evaluation episode), each
  finished when its file exists;
* :mod:`~agents.experiments.sweep`: plan a bench, run what is not done, write the report
  (``llmroute bench``);
* :mod:`~agents.experiments.local` and :mod:`~agents.experiments.ray_backend`: where jobs run
  (:func:`~agents.experiments.local.map_jobs`, the runner of the experiments below);
* :mod:`~agents.experiments.report`: run files read back, summarised with confidence intervals,
  written as markdown and CSV;
* :mod:`~agents.experiments.plots`: the PNG figures;
* :mod:`~agents.experiments.demo`: ``make demo``;
* :mod:`~agents.experiments.contextual_comparison`: the table of docs/results/contextual.md;
* the experiments behind docs/results/ (each run by its script in benchmarks/):
  :mod:`~agents.experiments.regret_scaling`, :mod:`~agents.experiments.budget_ladder`,
  :mod:`~agents.experiments.stageroute_ablation`, :mod:`~agents.experiments.safe_explore_ablation`,
  :mod:`~agents.experiments.paper_experiments`,
  :mod:`~agents.experiments.generated_worlds`, :mod:`~agents.experiments.generalization`,
  :mod:`~agents.experiments.clone_validation`;
* :mod:`~agents.experiments.args`: argument types shared with ``llmroute``.

Episodes are played by :func:`agents.run_episode`, learned agents trained by :mod:`agents.rl`.
"""
