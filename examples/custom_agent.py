"""An agent of your own: a few lines on ``agents.Agent``, then compared with StageRoute.

python examples/custom_agent.py [--seeds 3] [--horizon 1728]

``AffordableGreedyAgent`` fills its two hooks and nothing else: the base class turns the planned
deployment into deploy actions (and never sends an invalid one), and gives it SB3's ``predict``, so
``agents.run_episode``, ``agents.evaluate``, SB3's ``evaluate_policy`` and the ``llmroute`` command run
it like the reference agents. From this folder, the command line takes it by import path:

    llmroute run   --agent custom_agent:AffordableGreedyAgent --seeds 0-4
    llmroute bench --agents stageroute,custom_agent:AffordableGreedyAgent --seeds 0-4 --out results/mine
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

import agents
import gym_llmroute  # noqa: F401  (registers the ids)


class AffordableGreedyAgent(agents.Agent):
    """Deploys the cheapest models by public price; routes to the best observed model it can afford."""

    name = "affordable_greedy"

    def plan_deployment(self, obs, ctx):
        available = np.flatnonzero(obs["available"] > 0.5)
        return available[np.argsort(obs["price"][available], kind="stable")][: self.max_deployed].tolist()

    def route(self, obs, ctx):
        valid = np.flatnonzero(self.valid_routes(obs))  # deployed and below their throughput cap
        tried = obs["pulls"][valid] > 0
        affordable = ~tried | (obs["mean_cost"][valid] <= obs["budget_per_query"][0])
        if not affordable.any():  # nothing fits the budget left: the cheapest by public price
            return int(valid[np.argmin(obs["price"][valid])])
        score = np.where(tried, obs["mean_reward"][valid], 2.0)  # untried models first
        return int(valid[np.argmax(np.where(affordable, score, -1.0))])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3, help="episodes (seeds 0 .. n-1; default 3)")
    parser.add_argument("--horizon", type=int, default=1728, help="queries per episode (default 1728)")
    args = parser.parse_args(argv)
    env = gym.make("LLMRoute-v0", horizon=args.horizon)
    print(f"{'agent':<18} {'reward/oracle':>14} {'regret':>16} {'spend/budget':>14}")
    for agent in (AffordableGreedyAgent, "stageroute"):
        result = agents.evaluate(agent, env, seeds=range(args.seeds))
        cells = [
            f"{result[key][0]:.3f} ± {result[key][1]:.3f}" for key in ("reward_fraction", "regret", "spend_fraction")
        ]
        print(f"{result.agent:<18} {cells[0]:>14} {cells[1]:>16} {cells[2]:>14}")

    # The same agent through the command line, by import path (this folder is importable).
    from agents.cli import main as llmroute

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print("\n$ llmroute run --agent custom_agent:AffordableGreedyAgent ...")
    llmroute(
        ["run", "--agent", "custom_agent:AffordableGreedyAgent", "--seeds", f"0-{args.seeds - 1}"]
        + ["--horizon", str(args.horizon), "--no-progress"]
    )


if __name__ == "__main__":
    main()
