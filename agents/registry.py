"""The agent registry: the reference agents by name, and any agent class by import path.

>>> import agents
>>> agent = agents.make("stageroute", env, seed=0, gamma=0.5)           # a reference agent
>>> mine = agents.make("my_pkg.my_module:MyAgent", env, seed=0)        # a class of your own

An import path is ``"module:attribute"`` (``"my_pkg.my_module:MyAgent"``, as in entry points); the
attribute is an agent class or any factory called as ``factory(env, **kwargs)`` that returns an
object with SB3's ``predict`` (a subclass of :class:`agents.base.Agent` is the easy way; see
docs/agents.md). ``llmroute run --agent`` and ``llmroute bench --agents`` accept both forms.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from .base import Agent
from .policies import (
    CheapestAgent,
    ContextualStageRouteAgent,
    GreedyAgent,
    OracleAgent,
    PrimalDualAgent,
    RandomAgent,
    StageRouteAgent,
    StageRouteLiteralAgent,
    StaticAgent,
    StrongestAgent,
    ThompsonAgent,
    UcbBwkAgent,
)

__all__ = ["AGENTS", "make", "agent_factory", "is_import_path"]

#: The reference agents by name (the key of :func:`make`), in the order of the docs' table.
AGENTS: dict[str, type[Agent]] = {
    cls.name: cls
    for cls in (
        StageRouteAgent,
        StageRouteLiteralAgent,
        GreedyAgent,
        RandomAgent,
        OracleAgent,
        UcbBwkAgent,
        PrimalDualAgent,
        ThompsonAgent,
        StaticAgent,
        CheapestAgent,
        StrongestAgent,
        ContextualStageRouteAgent,
    )
}


def is_import_path(spec: str) -> bool:
    """Whether ``spec`` names an agent by import path (``"module:attribute"``) rather than by name.

    Parameters
    ----------
    spec : str
        An agent name or an import path.

    Returns
    -------
    bool
        True if ``spec`` contains a colon.
    """
    return ":" in spec


def agent_factory(spec: str) -> Callable[..., Any]:
    """The class (or factory) an agent name or import path stands for.

    Parameters
    ----------
    spec : str
        A name of :data:`AGENTS` (case and ``-``/``_`` ignored) or an import path
        ``"module:attribute"``, the attribute possibly dotted (``"pkg.mod:Outer.Inner"``).

    Returns
    -------
    callable
        Called as ``factory(env, **kwargs)`` to build the agent.

    Raises
    ------
    ValueError
        Unknown name (the message lists the names), or a module or attribute that cannot be
        imported (the message says which).
    TypeError
        ``spec`` is not a string, or the attribute is not callable.
    """
    if not isinstance(spec, str):
        raise TypeError(f"agent name must be a string, got {type(spec).__name__}")
    if not is_import_path(spec):
        key = spec.lower().replace("-", "_")
        if key not in AGENTS:
            raise ValueError(f"unknown agent {spec!r}; agents are {sorted(AGENTS)}")
        return AGENTS[key]
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"agent import path {spec!r} must look like 'package.module:ClassName'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import the module of agent {spec!r}: {exc}") from exc
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"agent {spec!r}: {module_name!r} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"agent {spec!r} must be a class or a factory f(env, **kwargs), got {type(obj).__name__}")
    return obj


def make(name: str, env: Any, **kwargs: Any) -> Any:
    """Build an agent by name (see :data:`AGENTS`) or by import path.

    Parameters
    ----------
    name : str
        A reference agent's name (``"stageroute"``; case and ``-``/``_`` ignored) or an import path
        ``"module:ClassName"`` of an agent class of your own.
    env : gymnasium.Env, vector env or Scenario
        Where the agent will act.
    **kwargs
        Keyword arguments of the agent's constructor: ``seed`` for every reference agent, ``gamma``
        for those built on confidence bounds, and each agent's own.

    Returns
    -------
    Agent
        The agent (for an import path, whatever its factory returns).

    Raises
    ------
    ValueError
        Unknown name (listing the names) or an import path that does not resolve.

    Examples
    --------
    >>> make("stageroute", env, gamma=0.5)
    """
    return agent_factory(name)(env, **kwargs)
