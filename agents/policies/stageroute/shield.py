"""StageRoute's budget-safe exploration as a shield over any policy's actions.

A shield (Alshiekh et al., "Safe reinforcement learning via shielding", AAAI 2018) is a fixed
safety layer between a policy and its env: it removes the actions that could break a constraint
and lets the policy choose among the rest. :class:`BudgetShield` applies the rule StageRoute's
``safe_explore`` follows (docs/stageroute.md) to another agent's choices, as an action mask that a
masked policy (sb3-contrib's MaskablePPO) takes in place of the env's:

* **route phase**: the query may go only to a deployed model whose worst-case cost the slack left
  covers (:meth:`OptimisticRouter.covered`); if none is covered, only to the one StageRoute's rule
  would take then.
* **deploy phase**: a model may be added only if the set so far, with it, can still be completed
  (with the slots left) into a deployment whose cheapest routing under worst-case costs fits the
  stage's share of the slack, and the set may be committed only if it fits; where no deployment
  fits, the bar is the cheapest one's cost instead (StageRoute's ``safe_plan`` falls back to the
  cheapest routing in the same case).

One addition, ``pace``: the slack prices the queries after the current stage at the pool's
estimated cheapest routing, which StageRoute can afford to trust since its own LPs pace its spend;
a policy that does not pace (a clone of StageRoute spends at its teacher's rate until a rare
mistake, then does not recover) can spend that slack on the current stage and find the later
pools dearer than estimated. With ``pace = kappa`` the shield keeps at least ``kappa`` times the
paced per-query budget at the stage's start (``budget_per_query``) for each of those queries.
``pace=0`` is StageRoute's rule exactly.

The shield keeps StageRoute's statistics of the episode (from the observations alone, as StageRoute
does) but never chooses an action: among the actions it leaves, the policy's choice stands.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gym_llmroute.scenario import Scenario

from ...base import scenario_of
from .agent import StageRouteAgent
from .router import OptimisticRouter, _fill

__all__ = ["BudgetShield", "DEFAULT_PACE"]

#: The shield's default ``pace``: chosen on the validation worlds of ``LLMRoute-Gen-v0`` (500,000-500,099)
#: with the three StageRoute clones of docs/rl.md, among 0, 0.5, 0.8 and 1 (docs/rl.md has the table).
DEFAULT_PACE = 0.8


class BudgetShield:
    """StageRoute's budget-safe exploration as an action mask for another policy.

    Parameters
    ----------
    env : gymnasium.Env or Scenario
        The world (its public parameters only, as any agent).
    seed : int, optional
        Unused by the rule itself (it draws nothing); kept for the agents' interface.
    pace : float
        In [0, 1]: the per-query cost kept for every query after the current stage, as a fraction
        of the paced budget at the stage's start (default :data:`DEFAULT_PACE`; 0: StageRoute's
        rule).

    Attributes
    ----------
    n_masked : int
        Steps where the shield removed an action the env allowed, since the last :meth:`reset`.
    """

    def __init__(self, env: Any, seed: int | None = None, pace: float = DEFAULT_PACE):
        if not 0.0 <= pace <= 1.0:
            raise ValueError(f"pace must be in [0, 1], got {pace!r}")
        self.pace = float(pace)
        self._reserve = 0.0
        self._stageroute = StageRouteAgent(env, seed=seed, safe_explore=True)
        self._scenario = scenario_of(env)
        self._router: OptimisticRouter | None = None
        self._tau = math.inf
        self.n_masked = 0

    def bind(self, scenario: Scenario, n_slots: int | None = None) -> None:
        """Act in ``scenario`` from now on (a new episode follows).

        Parameters
        ----------
        scenario : Scenario
            The world.
        n_slots : int, optional
            The env's model slots.
        """
        self._stageroute.bind(scenario, n_slots)
        self._scenario = scenario
        self._router = None

    def reset(self, seed: int | None = None) -> None:
        """Forget the episode (also done by itself at an episode's first observation).

        Parameters
        ----------
        seed : int, optional
            Passed to the StageRoute whose statistics the shield keeps.
        """
        self._stageroute.reset(seed)
        self._router = None
        self.n_masked = 0

    def mask(self, obs: dict[str, np.ndarray], valid: np.ndarray) -> np.ndarray:
        """The actions the shield allows for one raw observation.

        Parameters
        ----------
        obs : dict of str to ndarray
            One raw observation (not scaled), in the order the env sends them: the shield follows
            the episode through them.
        valid : ndarray of bool, shape (N + 1,)
            The env's valid actions (``action_masks()``).

        Returns
        -------
        ndarray of bool, shape (N + 1,)
            A subset of ``valid``, never empty (``valid`` itself where the rule leaves nothing).
        """
        valid = np.asarray(valid, dtype=bool)
        if obs["available"].size != self._stageroute.n_models:  # bound without the env's padding
            self.bind(self._scenario, obs["available"].size)
        deploy = obs["phase"].item(0) < 0.5
        picked = obs["picked"] > 0.5
        if self._router is None or (deploy and obs["time"].item(0) == 0.0 and not picked.any()):
            self._router = self._stageroute.new_context().router
            self._router.reset(self._stageroute.rng)
        out = self._deploy_mask(obs, valid, picked) if deploy else self._route_mask(obs, valid)
        if not out.any():
            return valid
        if not np.array_equal(out, valid):
            self.n_masked += 1
        return out

    def _route_mask(self, obs: dict[str, np.ndarray], valid: np.ndarray) -> np.ndarray:
        assert self._router is not None
        out = np.zeros_like(valid)
        out[self._router.covered(obs, self._reserve)] = True
        return out & valid

    def _deploy_mask(self, obs: dict[str, np.ndarray], valid: np.ndarray, picked: np.ndarray) -> np.ndarray:
        router = self._router
        assert router is not None
        n = picked.size
        free = np.flatnonzero((obs["available"] > 0.5) & ~picked).tolist()
        chosen = np.flatnonzero(picked).tolist()
        slots = self._stageroute.max_deployed - len(chosen)
        if not chosen:  # a fresh deploy phase: the stage's bar and reserve (the bounds refreshed first)
            self._reserve = self.pace * obs["budget_per_query"].item(0)
            length, slack = router.stage_slack(obs, self._reserve)
        hi, alpha, c2 = router.worst_case_cost, router.throughput.tolist(), router.c2
        if not chosen:
            self._tau = max(slack / max(length, 1), _worst_case_fill(hi, alpha, [], free, slots, c2))
        bar = self._tau + 1e-9 * (abs(self._tau) + 1.0)
        out = np.zeros_like(valid)
        for m in np.flatnonzero(valid[:n]).tolist():
            rest = [i for i in free if i != m]
            out[m] = _worst_case_fill(hi, alpha, [*chosen, m], rest, slots - 1, c2) <= bar
        out[n] = valid[n] and _worst_case_fill(hi, alpha, chosen, [], 0, c2) <= bar
        return out


def _worst_case_fill(
    hi: list[float], alpha: list[float], forced: list[int], extra: list[int], k: int, rest: float
) -> float:
    """The cost of the cheapest routing under worst-case costs ``hi`` (caps ``alpha``) of the
    models ``forced`` plus the ``k`` of ``extra`` with the smallest worst-case costs, filled by
    increasing cost (:func:`~.router._fill`; greedy: an upper bound of the best choice of the
    ``k``); the mass their caps cannot carry is priced at ``rest``."""
    cheapest = sorted(extra, key=lambda i: (hi[i], i))[:k] if k > 0 else []
    return _fill([(hi[i], alpha[i]) for i in (*forced, *cheapest)], rest)
