"""Learn one level while StageRoute plays the other: the single-level views of LLMRoute-v0.

    python examples/single_level_view.py [--view deploy|route] [--steps 20000] [--seeds 3] [--horizon T]

``LLMRoute-Deploy-v0``: the agent picks each stage's deployment (``Discrete(N + 1)`` picks, as in the
deploy phase of LLMRoute-v0) and StageRoute's RouteOPT routes the stage's queries inside the
committing step, whose reward is the stage's total reward. ``LLMRoute-Route-v0``: StageRoute's
DeployOPT deploys at every stage boundary and the agent routes every query. Both keep the observation
and action spaces of LLMRoute-v0, so every agent runs on them unchanged; here MaskablePPO learns the
chosen level and is compared with StageRoute (both levels its own) and Random on the same worlds.

It also shows ``LagrangianReward``, which folds the cost into the reward (``reward - lambda * cost``)
for RL that knows nothing of constraints.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import agents
import gym_llmroute  # noqa: F401  (registers the env ids)
from agents.rl import load_agent, train
from gym_llmroute.wrappers import LagrangianReward

VIEWS = {"deploy": "LLMRoute-Deploy-v0", "route": "LLMRoute-Route-v0"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--view", choices=sorted(VIEWS), default="deploy", help="which level the agent learns (default deploy)"
    )
    parser.add_argument("--steps", type=int, default=20_000, help="training env steps (default 20000)")
    parser.add_argument("--seeds", type=int, default=3, help="evaluation episodes, seeds 0..n-1 (default 3)")
    parser.add_argument("--horizon", type=int, default=None, help="queries per episode (default: the scenario's)")
    parser.add_argument("--out", default=None, help="where the model goes (default runs/example_<view>)")
    args = parser.parse_args(argv)
    env_id = VIEWS[args.view]
    env_kwargs = {} if args.horizon is None else {"horizon": args.horizon}

    # 1. The view is an ordinary env: one deploy-view step per pick, a stage routed on commit.
    env = gym.make(env_id, **env_kwargs)
    obs, info = env.reset(seed=0)
    steps = 0
    terminated = False
    while not terminated:
        action = int(np.flatnonzero(info["action_mask"])[0])  # the lowest valid index
        obs, reward, terminated, truncated, info = env.step(action)
        steps += 1
    print(
        f"{env_id}: a lowest-index policy took {steps} steps for {info['queries_served']} queries, "
        f"reward {info['total_reward']:.0f} of the oracle's {info['oracle_value']:.0f}"
    )

    # 2. The Lagrangian wrapper: reward - multiplier * cost on every step.
    lagr = LagrangianReward(gym.make(env_id, **env_kwargs), multiplier=2.0)
    obs, info = lagr.reset(seed=0)
    obs, reward, *_, info = lagr.step(int(np.flatnonzero(info["action_mask"])[-1]))
    print(
        f"LagrangianReward(multiplier=2): first step reward {info['reward_unpenalised']:.3f} - 2 x cost "
        f"{info['cost']:.3f} = {reward:.3f}"
    )

    # 3. Train MaskablePPO on the view and compare with StageRoute and Random on the same seeds.
    out = args.out or f"runs/example_{args.view}"
    result = train(
        "maskableppo",
        env_id,
        total_timesteps=args.steps,
        seed=0,
        env_seed=10_000,
        out_dir=out,
        env_kwargs=env_kwargs,
        hyperparams={"vec_env": "dummy"},
    )
    print(f"trained MaskablePPO on {env_id} for {args.steps} steps in {result.wall_time_s:.0f} s")
    contenders = {
        "maskableppo": load_agent(result.model_path, env),
        "stageroute": agents.make("stageroute", env),
        "random": agents.make("random", env),
    }
    print(
        f"\n{'agent':<12} {'reward':>8} {'/ oracle':>8} {'regret':>8} {'served':>7}   ({args.view} level learned; "
        f"the other level is StageRoute's)"
    )
    for name, agent in contenders.items():
        eps = [agents.run_episode(agent, env, seed) for seed in range(args.seeds)]
        print(
            f"{name:<12} {np.mean([e['reward'] for e in eps]):>8.1f} {np.mean([e['reward_fraction'] for e in eps]):>8.3f} "
            f"{np.mean([e['regret'] for e in eps]):>8.1f} {np.mean([e['queries_served'] for e in eps]):>7.0f}"
        )


if __name__ == "__main__":
    main()
