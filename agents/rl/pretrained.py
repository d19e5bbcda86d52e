"""Checkpoints shipped with the package: trained models that load in one line.

>>> import gymnasium as gym
>>> from agents.rl import load_pretrained
>>> env = gym.make("LLMRoute-Gen-v0", pad_to=40, start_world=10**6, num_worlds=100)
>>> agent = load_pretrained("set-stageroute-clone", env)      # an SB3Agent: predict / reset
>>> shielded = load_pretrained("set-stageroute-clone", env, shield=True)  # under the budget shield

Each checkpoint is a run folder of :func:`agents.rl.train` (``model.zip`` and ``train.json``) under
``agents/rl/pretrained/<name>/``, listed in :data:`PRETRAINED` with how it was made and the score
it reached on held-out worlds (the README's table). ``benchmarks/pretrained.py`` scores a shipped
checkpoint again on those worlds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .sb3_agent import SB3Agent, load_agent

__all__ = ["Pretrained", "PRETRAINED", "load_pretrained", "pretrained_path"]

_ROOT = Path(__file__).parent / "pretrained"


@dataclass(frozen=True)
class Pretrained:
    """A shipped checkpoint.

    Attributes
    ----------
    name : str
        Its name (the folder under ``agents/rl/pretrained``).
    description : str
        What it is and how it was trained (the command).
    held_out : tuple of float
        Mean reward / oracle value and the 95% half-width on ``LLMRoute-Gen-v0`` worlds
        ``10**6 .. 10**6 + 99`` (seed i on world ``10**6 + i``), with the agent's default actions.
    held_out_shielded : tuple of float, optional
        The same under StageRoute's budget shield (``load_pretrained(..., shield=True)``).
    """

    name: str
    description: str
    held_out: tuple[float, float]
    held_out_shielded: tuple[float, float] | None = None


PRETRAINED: dict[str, Pretrained] = {
    entry.name: entry
    for entry in (
        Pretrained(
            "set-stageroute-clone",
            "MaskablePPO with the set policy, a clone of StageRoute on generated worlds 0-199 (padded to 40 "
            "slots): 100 StageRoute episodes, then 2 DAgger rounds of 100 episodes, 3 epochs per fit, no PPO "
            "(training seed 0 of docs/results/generalization/clone). Made by: llmroute train --algo maskableppo "
            "--policy set --env LLMRoute-Gen-v0 --num-worlds 200 --pad-to 40 --steps 0 --warm-start stageroute "
            "--warm-start-episodes 100 --dagger-rounds 2 --seed 0",
            held_out=(0.908, 0.036),
            held_out_shielded=(0.970, 0.006),
        ),
    )
}


def pretrained_path(name: str) -> Path:
    """The run folder of a shipped checkpoint.

    Parameters
    ----------
    name : str
        A key of :data:`PRETRAINED`.

    Returns
    -------
    Path
        The folder holding ``model.zip`` and ``train.json``.

    Raises
    ------
    ValueError
        An unknown name (the message lists the shipped ones).
    """
    if name not in PRETRAINED:
        raise ValueError(f"no pretrained checkpoint {name!r}; shipped: {sorted(PRETRAINED)}")
    return _ROOT / name


def load_pretrained(name: str = "set-stageroute-clone", env: Any = None, **kwargs: Any) -> SB3Agent:
    """Load a shipped checkpoint as an agent (:func:`agents.rl.load_agent`).

    Parameters
    ----------
    name : str
        A key of :data:`PRETRAINED`.
    env : gymnasium.Env or Scenario, optional
        The world it acts in (default: its training env). The set policy runs on any catalog with
        the observation keys of an untyped world.
    **kwargs
        Passed to :func:`~agents.rl.load_agent` (``deterministic``, ``name``, ``shield``).

    Returns
    -------
    SB3Agent
        The agent.
    """
    return load_agent(pretrained_path(name), env, **kwargs)
