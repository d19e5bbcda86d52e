"""Train MaskablePPO on LLMRoute-v0, then compare it with StageRoute, Random and the oracle.

    python examples/train_maskable_ppo.py [--steps 60000] [--seeds 3] [--horizon T] [--out runs/example_mppo]

MaskablePPO (sb3-contrib) gets the valid actions from ``env.action_masks()`` during training; the
trained model is loaded back as an agent whose ``predict`` computes the masks from the observation
(``gym_llmroute.env.mask_from_obs``), so ``agents.run_episode`` and SB3's ``evaluate_policy`` run it like any
other agent. Training uses the hyperparameters of ``agents/rl/hyperparams.py`` (the reward folds in the
cost with a Lagrange multiplier learned towards the budget). TensorBoard: ``tensorboard --logdir OUT/tb``.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import agents
import gym_llmroute  # noqa: F401  (registers the env ids)
from agents.rl import load_agent, train


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60_000, help="training env steps (default 60000, ~30 s)")
    parser.add_argument("--seeds", type=int, default=3, help="evaluation episodes, seeds 0..n-1 (default 3)")
    parser.add_argument("--horizon", type=int, default=None, help="queries per episode (default: the scenario's)")
    parser.add_argument("--out", default="runs/example_mppo", help="where the model and logs go")
    args = parser.parse_args(argv)
    env_kwargs = {} if args.horizon is None else {"horizon": args.horizon}

    # Training envs are seeded apart from the evaluation seeds 0..n-1.
    result = train(
        "maskableppo",
        "LLMRoute-v0",
        total_timesteps=args.steps,
        seed=0,
        env_seed=10_000,
        out_dir=args.out,
        env_kwargs=env_kwargs,
    )
    print(f"trained MaskablePPO for {args.steps} steps in {result.wall_time_s:.0f} s -> {result.model_path}")

    env = gym.make("LLMRoute-v0", **env_kwargs)
    contenders = {
        "maskableppo": load_agent(result.model_path, env),
        "stageroute": agents.make("stageroute", env),
        "random": agents.make("random", env),
        "oracle": agents.make("oracle", env),
    }
    seeds = range(args.seeds)
    print(f"\n{'agent':<12} {'reward':>8} {'/ oracle':>8} {'regret':>8} {'spend/B':>8} {'served':>7}")
    for name, agent in contenders.items():
        eps = [agents.run_episode(agent, env, seed) for seed in seeds]
        mean = {
            k: float(np.mean([e[k] for e in eps]))
            for k in ("reward", "reward_fraction", "regret", "spend_fraction", "queries_served")
        }
        print(
            f"{name:<12} {mean['reward']:>8.1f} {mean['reward_fraction']:>8.3f} {mean['regret']:>8.1f} "
            f"{mean['spend_fraction']:>8.3f} {mean['queries_served']:>7.0f}"
        )

    # The same agent through SB3's own evaluation loop (batched observations from a VecEnv).
    from stable_baselines3.common.evaluation import evaluate_policy

    mean_reward, std_reward = evaluate_policy(contenders["maskableppo"], env, n_eval_episodes=1, warn=False)
    print(f"\nSB3 evaluate_policy on MaskablePPO: reward {mean_reward:.1f} (one episode)")


if __name__ == "__main__":
    main()
