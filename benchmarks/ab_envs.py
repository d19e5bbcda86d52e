"""A/B of this checkout's envs against an earlier commit's, in one process, alternating.

    python benchmarks/ab_envs.py --base REV [--only single,batched] [--worlds paper,typed,...] [--rounds 200]

The commit's ``gym_llmroute`` is copied (``git archive``) into a temporary folder under another name,
so both versions load side by side; each round plays the same seeded episodes and actions on both,
in alternating order. Times are CPU time (``time.process_time``), so that the other jobs of a shared
machine do not count; a round is short (a few ms to tens of ms) so that most rounds run undisturbed.
The speed ratio new/base is the sum over seeds of each side's best round (the same work on both
sides), then the 10th percentile and the median over all rounds. ``--aa`` runs the base against a
second copy of itself: the harness's own bias, which should read 1.00.

  single   gym.make(id), a random valid action each step (a uniform draw over info["action_mask"],
           bench_perf.py's policy), 1,000 steps a round, resets included.
  batched  gym.make_vec(id, 64, vectorization_mode="vector_entry_point"), random valid actions,
           200 steps a round.
  stageroute  agents.run_episode of this checkout's StageRoute on gym.make(id, horizon=20_000,
           n_stages=27) (bench_perf.py's setup), one episode a round (seeds 0 and 1), 20 rounds by
           default; queries per CPU second, and the episodes' results must agree.

Worlds: paper (LLMRoute-v0), average (its average budget), typed, market, market-delay,
market-drift (the presets of those names).
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import register

import gym_llmroute  # noqa: F401  (this checkout's ids)

WORLDS = {
    "paper": {},
    "average": {"budget_mode": "average"},
    "typed": {"scenario": "typed"},
    "market": {"scenario": "market"},
    "market-delay": {"scenario": "market-delay"},
    "market-drift": {"scenario": "market-drift"},
}
SEEDS = 10


def load_base(rev: str, name: str, folder: Path) -> str:
    """Copy REV's gym_llmroute to folder/name, import it and register its env as ``name``-v0."""
    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True)
    archive = folder / f"{name}.tar"
    subprocess.run(["git", "-C", root.stdout.strip(), "archive", "-o", str(archive), rev, "gym_llmroute"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder / name, filter="data")
    (folder / name / "gym_llmroute").rename(folder / f"{name}_pkg")
    sys.path.insert(0, str(folder))
    importlib.import_module(f"{name}_pkg")
    env_id = f"{name}-LLMRoute-v0"
    register(
        id=env_id,
        entry_point=f"{name}_pkg.env:LLMRouteEnv",
        vector_entry_point=f"{name}_pkg.vector:LLMRouteVectorEnv",
    )
    return env_id


def single_round(env, steps: int, seed: int) -> float:
    draws = np.random.default_rng(seed).integers(0, 2**31, size=steps).tolist()
    obs, info = env.reset(seed=seed)
    start = time.process_time()
    for i in range(steps):
        valid = info["action_mask"].nonzero()[0]
        obs, r, term, trunc, info = env.step(int(valid[draws[i] % valid.size]))
        if term or trunc:
            obs, info = env.reset()
    return time.process_time() - start


def batched_round(envs, steps: int, seed: int) -> float:
    obs, info = envs.reset(seed=seed)
    draws = np.random.default_rng(seed).random((steps, *info["action_mask"].shape))
    start = time.process_time()
    for i in range(steps):
        obs, r, term, trunc, info = envs.step((draws[i] * info["action_mask"]).argmax(axis=1))
    return time.process_time() - start


def stageroute_round(side: tuple, seed: int) -> float:
    import agents

    env, agent, results = side
    start = time.process_time()
    out = agents.run_episode(agent, env, seed=seed)
    elapsed = time.process_time() - start
    results.setdefault(seed, (out["reward"], out["cost"], out["regret"]))
    return elapsed


def compare(section: str, ids: dict[str, str], kwargs: dict, rounds: int):
    """Speed ratios new/base (best per seed, p10, median) and each side's fastest round."""
    if section == "stageroute":
        import agents
        import agents.base

        # The agents accept this checkout's Scenario class only; the base's is another class with the
        # same fields.
        scenario_classes = {type(gym.make(env_id, **kwargs).unwrapped.scenario) for env_id in ids.values()}
        agents.base.Scenario = tuple(scenario_classes)
        sides = {}
        for side, env_id in ids.items():
            env = gym.make(env_id, **{"horizon": 20_000, "n_stages": 27, **kwargs})
            sides[side] = (env, agents.make("stageroute", env), {})
        play = stageroute_round
        seeds = 2
    elif section == "single":
        sides = {side: gym.make(env_id, **kwargs) for side, env_id in ids.items()}
        play = lambda env, seed: single_round(env, 1000, seed)  # noqa: E731
    else:
        sides = {
            side: gym.make_vec(env_id, 64, vectorization_mode="vector_entry_point", **kwargs)
            for side, env_id in ids.items()
        }
        play = lambda envs, seed: batched_round(envs, 200, seed)  # noqa: E731
    if section != "stageroute":
        seeds = SEEDS
    times: dict[str, list[float]] = {"new": [], "base": []}
    for r in range(rounds):
        for side in ("new", "base") if r % 2 else ("base", "new"):
            times[side].append(play(sides[side], r % seeds))
    if section == "stageroute":
        assert sides["new"][2] == sides["base"][2], "StageRoute's episodes differ between the two versions"
    new, base = np.array(times["new"]), np.array(times["base"])
    per_seed = np.arange(rounds) % seeds
    best = sum(base[per_seed == s].min() for s in range(seeds)) / sum(new[per_seed == s].min() for s in range(seeds))
    ratios = best, np.percentile(base, 10) / np.percentile(new, 10), np.median(base) / np.median(new)
    return ratios, (new.min(), base.min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the commit to compare with (e.g. HEAD~3, a hash)")
    parser.add_argument("--only", default="single,batched")
    parser.add_argument("--worlds", default="paper,average,typed,market-delay")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--stageroute-rounds", type=int, default=20)
    parser.add_argument("--aa", action="store_true", help="compare the base with a copy of itself")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ids = {"base": load_base(args.base, "abbase", Path(tmp))}
        ids["new"] = load_base(args.base, "abcopy", Path(tmp)) if args.aa else "LLMRoute-v0"
        print(f"new: {'a copy of the base' if args.aa else 'this checkout'}; base: {args.base}; CPU time")
        for world in args.worlds.split(","):
            for section in args.only.split(","):
                rounds = args.stageroute_rounds if section == "stageroute" else args.rounds
                (best, p10, median), fastest = compare(section, ids, WORLDS[world], rounds)
                rates = ""
                if section == "stageroute":  # one episode of 20,000 queries a round
                    rates = (
                        f"  (fastest episode: new {20_000 / fastest[0]:,.0f} q/s, base {20_000 / fastest[1]:,.0f} q/s)"
                    )
                print(
                    f"{section:<8} {world:<13} speed new/base: best per seed {best:.3f}  p10 {p10:.3f}  "
                    f"median {median:.3f}{rates}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
