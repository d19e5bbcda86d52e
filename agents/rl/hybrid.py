"""A learned deployer over a reference router: the hybrid of a trained model and StageRoute.

:class:`HybridAgent` takes the deploy-phase actions of one agent (a learned model, e.g. the shipped
StageRoute clone) and the route-phase actions of another (StageRoute's LP router by default). It
measures what the learned policy's deployments are worth under the router that generalizes: the
row of the learned deployer, apart from the pure learned policy's.

The router also sees every deploy-phase observation (its action there is discarded), so its own
per-episode and per-stage state is what it would be had it deployed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gym_llmroute.scenario import Scenario

__all__ = ["HybridAgent"]


class HybridAgent:
    """Deploy with ``deployer``, route with ``router`` (both with SB3's ``predict``, ``bind`` and
    ``reset``, like :class:`~agents.rl.SB3Agent` and the reference agents).

    Parameters
    ----------
    deployer : agent
        Acts in deploy phases.
    router : agent
        Acts in route phases (and sees the deploy phases too).
    name : str
        Shown in result tables.
    """

    def __init__(self, deployer: Any, router: Any, name: str = "hybrid"):
        self.deployer, self.router, self.name = deployer, router, name
        self.deterministic = getattr(deployer, "deterministic", None)

    @property
    def scenario_id(self) -> int | None:
        return getattr(self.router, "scenario_id", None)

    @property
    def n_models(self) -> int:
        return int(self.router.n_models)

    def bind(self, scenario: Scenario, n_slots: int | None = None) -> None:
        """Both agents act in ``scenario`` from now on.

        Parameters
        ----------
        scenario : Scenario
            The world.
        n_slots : int, optional
            The env's model slots.
        """
        self.deployer.bind(scenario, n_slots)
        self.router.bind(scenario, n_slots)

    def reset(self, seed: int | None = None) -> None:
        """Reset both agents.

        Parameters
        ----------
        seed : int, optional
            Passed to both.
        """
        self.deployer.reset(seed=seed)
        self.router.reset(seed=seed)

    def predict(self, observation, state=None, episode_start=None, deterministic: bool | None = None):
        """The deployer's action in a deploy phase, the router's in a route phase (one observation).

        Parameters
        ----------
        observation : dict of str to ndarray
            One raw observation.
        state, episode_start, deterministic
            Passed to both agents.

        Returns
        -------
        (int, None)
            The action.
        """
        if np.asarray(observation["phase"]).ndim != 1:
            raise ValueError("HybridAgent acts on one observation at a time (play one env, e.g. agents.run_episode)")
        routed, _ = self.router.predict(observation, state, episode_start, deterministic)
        if observation["phase"][0] >= 0.5:
            return int(routed), None
        deployed, _ = self.deployer.predict(observation, state, episode_start, deterministic)
        return int(deployed), None

    def __repr__(self) -> str:
        return f"HybridAgent(deployer={self.deployer!r}, router={self.router!r})"
