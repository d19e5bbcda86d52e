"""Training speed: env steps per second of ``model.learn`` for MaskablePPO with the set policy on
generated worlds, the path of commit 63963ae against the default path of ``agents.rl.train``.

    python benchmarks/bench_train.py [--steps 20000] [--repeats 1] [--variants JSON] [--no-reference]

Both sides train ``MaskablePPO`` on ``LLMRoute-Gen-v0`` (``num_worlds=200, start_world=0``, padded to
40 slots) with the hyperparameter table's entry for that id (``agents.rl.hyperparams``: 4 envs, 512
steps per env per rollout, minibatches of 256, 5 epochs, the per-budget Lagrangian term), one torch
thread (``train``'s default), in one process:

  reference  the path of 63963ae: ``DummyVecEnv`` of 4 single ``LLMRouteGenEnv``, each ``Monitor`` ->
             ``LagrangianReward`` -> ``ScaledObservation`` (``make_train_env(vec_env="dummy")``), and
             the set network computing all 40 slots (:class:`DenseSetNetwork`: the ``_encode``,
             ``_pool`` and ``_actor`` of 63963ae's ``agents/rl/set_policy.py``, on the same weights).
  new        ``agents.rl.train``'s default path: the native batched env (``LLMRouteGenSB3VecEnv``)
             in ``VecMonitor`` -> ``VecLagrangianReward`` -> ``VecScaledObservation``
             (``make_train_env(vec_env="native")``) and the set network on the real slots only.

Every world is played once before timing (the per-process world caches warm on both sides, as in
a training run after its first pass over the worlds). Each side's rate is the best of ``--repeats``,
the sides interleaved. Each side's time is split into the env (the VecEnv's steps and action masks),
rollout inference (the rest of ``collect_rollouts``: the policy's forward, the rollout buffer) and the
PPO update (``model.train``).

``--variants`` (a JSON list of overrides of the table, e.g. '[{"n_envs": 16, "n_steps": 128}]') adds
new sides with other settings, to measure what they would give; they change what is learned, not
just its speed, and are marked so.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import torch as th
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.vec_env import VecEnvWrapper

from agents.rl.hyperparams import hyperparams_for
from agents.rl.set_policy import PADDED_LOGIT, SetNetwork, SetPolicy
from agents.rl.training import make_train_env
from gym_llmroute.gen_env import LLMRouteGenEnv

ENV_ID = "LLMRoute-Gen-v0"
ENV_KWARGS = {"num_worlds": 200, "start_world": 0, "pad_to": 40}


# ---------------------------------------------------------------------------------------- reference
def _dense_pool(h: th.Tensor, real: th.Tensor) -> th.Tensor:
    """63963ae's ``_pool``: mean and max of h (B, N, H) over the real slots (real: (B, N, 1))."""
    count = real.sum(dim=1)
    mean = (h * real).sum(dim=1) / count.clamp(min=1.0)
    masked = h.masked_fill(real == 0, float("-inf")).amax(dim=1)
    peak = th.where(count > 0, masked, th.zeros_like(masked))
    return th.cat([mean, peak], dim=-1)


class DenseSetNetwork(SetNetwork):
    """The set network as of 63963ae: every one of the N slots (40 here, ~12 of them real) through
    every layer. Same weights as :class:`SetNetwork`; its padded slots get the dense network's own
    scores (masked by MaskablePPO), where the packed one puts ``PADDED_LOGIT``."""

    def _encode(self, features: th.Tensor):  # type: ignore[override]
        glob = features[:, features.shape[1] - self.global_dim :]
        tokens = features[:, : features.shape[1] - self.global_dim].reshape(features.shape[0], -1, self.slot_dim)
        feats, real = tokens[..., :-1], tokens[..., -1:]
        mean = (feats * real).sum(dim=1, keepdim=True) / real.sum(dim=1, keepdim=True).clamp(min=1.0)
        n = tokens.shape[1]
        x = th.cat([feats, (feats - mean) * real, real, glob.unsqueeze(1).expand(-1, n, -1)], dim=-1)
        h = self.embed(x)
        for update in self.updates:
            pooled = _dense_pool(h, real)
            h = h + update(th.cat([h, pooled.unsqueeze(1).expand(-1, n, -1)], dim=-1))
        return h, _dense_pool(h, real), glob, ()

    def _actor(self, h: th.Tensor, pooled: th.Tensor, glob: th.Tensor, packing=()) -> th.Tensor:  # type: ignore[override]
        n = h.shape[1]
        scores = self.slot_head(th.cat([h, pooled.unsqueeze(1).expand(-1, n, -1)], dim=-1)).squeeze(-1)
        commit = self.commit_head(th.cat([pooled, glob], dim=-1))
        return th.cat([scores, commit], dim=-1)


class DenseSetPolicy(SetPolicy):
    """:class:`SetPolicy` as of 63963ae: the dense network, and sb3-contrib's own ``forward`` (its
    ``MaskableCategorical``)."""

    forward = MaskableActorCriticPolicy.forward  # type: ignore[assignment]

    def _build_mlp_extractor(self) -> None:
        fe = self.features_extractor
        self.mlp_extractor = DenseSetNetwork(fe.slot_dim, fe.global_dim, self.hidden, self.rounds, self.activation_fn)


def check_dense_matches_packed(seed: int = 0) -> float:
    """The dense and the packed network give the same logits on the real slots and the same values
    (the reference computes what the new path computes); the largest difference."""
    env = make_train_env(ENV_ID, 4, seed, env_kwargs=ENV_KWARGS, vec_env="native")
    model = MaskablePPO(SetPolicy, env, seed=seed, n_steps=64, batch_size=64)
    obs = env.reset()
    rng = np.random.default_rng(seed)
    batch = []
    for _ in range(64):
        masks = np.stack(env.env_method("action_masks"))
        batch.append(obs)
        obs, *_ = env.step(np.array([rng.choice(np.flatnonzero(m)) for m in masks]))
    env.close()
    stacked = {k: np.concatenate([o[k] for o in batch]) for k in batch[0]}
    policy = model.policy
    tensor, _ = policy.obs_to_tensor(stacked)
    dense = DenseSetNetwork(
        policy.mlp_extractor.slot_dim, policy.mlp_extractor.global_dim, policy.hidden, policy.rounds
    )
    dense.load_state_dict(policy.mlp_extractor.state_dict())
    with th.no_grad():
        features = policy.extract_features(tensor)
        logits_p, value_p = policy.mlp_extractor(features)
        logits_d, value_d = dense(features)
    real = logits_p != PADDED_LOGIT
    return max(float((logits_p - logits_d)[real].abs().max()), float((value_p - value_d).abs().max()))


# ---------------------------------------------------------------------------------------- timing
class EnvTimer(VecEnvWrapper):
    """Adds up the time spent in the vector env: steps and action masks."""

    def __init__(self, venv):
        super().__init__(venv)
        self.seconds = 0.0

    def reset(self):
        return self.venv.reset()

    def step_async(self, actions: np.ndarray) -> None:
        start = time.perf_counter()
        self.venv.step_async(actions)
        self.seconds += time.perf_counter() - start

    def step_wait(self):
        start = time.perf_counter()
        out = self.venv.step_wait()
        self.seconds += time.perf_counter() - start
        return out

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list[Any]:
        start = time.perf_counter()
        out = self.venv.env_method(method_name, *method_args, indices=indices, **method_kwargs)
        self.seconds += time.perf_counter() - start
        return out


def warm_worlds() -> float:
    """Play (reset into) every training world once, so that both sides find them in the per-process
    caches; the seconds it took."""
    start = time.perf_counter()
    env = LLMRouteGenEnv(**ENV_KWARGS)
    for world in range(ENV_KWARGS["start_world"], ENV_KWARGS["start_world"] + ENV_KWARGS["num_worlds"]):
        env.reset(seed=world, options={"world": world})
    return time.perf_counter() - start


def run(side: str, steps: int, seed: int, overrides: dict[str, Any], split: bool) -> dict[str, float]:
    """Train one side for ``steps`` env steps; steps/s of ``model.learn`` and the split."""
    params = hyperparams_for("maskableppo", ENV_ID, "set")
    params.update(overrides)
    n_envs = int(params.pop("n_envs"))
    params.pop("vec_env")
    params.pop("normalize_reward")
    lagrangian = params.pop("lagrangian")
    vec_env = "dummy" if side == "reference" else "native"
    env = make_train_env(ENV_ID, n_envs, seed, env_kwargs=ENV_KWARGS, vec_env=vec_env, lagrangian=lagrangian)
    timer = EnvTimer(env) if split else None
    policy = DenseSetPolicy if side == "reference" else SetPolicy
    model = MaskablePPO(policy, timer or env, seed=seed, **params)
    update = 0.0
    train = model.train

    def timed_train() -> None:
        nonlocal update
        start = time.perf_counter()
        train()
        update += time.perf_counter() - start

    model.train = timed_train  # type: ignore[method-assign]
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    seconds = time.perf_counter() - start
    env.close()
    out = {"rate": model.num_timesteps / seconds, "seconds": seconds, "steps": model.num_timesteps}
    if timer is not None:
        out.update(env=timer.seconds, update=update, inference=seconds - timer.seconds - update)
    return out


def _split(result: dict[str, float]) -> str:
    total = result["seconds"]
    return ", ".join(
        f"{name} {result[key]:.1f} s ({100 * result[key] / total:.0f}%)"
        for name, key in (("env", "env"), ("rollout inference", "inference"), ("PPO update", "update"))
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000, help="env steps of model.learn per side (20,000)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per side, interleaved; the best is kept (1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--variants",
        default="[]",
        metavar="JSON",
        help="a JSON list of overrides of the table, each timed as a further new side, e.g. "
        '\'[{"n_envs": 16, "n_steps": 128}]\' (they change what is learned)',
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (train's default: 1)")
    parser.add_argument("--no-reference", action="store_true", help="time the new side(s) only")
    args = parser.parse_args(argv)
    th.set_num_threads(args.threads)
    variants: list[dict[str, Any]] = json.loads(args.variants)
    print(f"dense and packed set networks agree to {check_dense_matches_packed():.1e}")
    print(f"warmed the {ENV_KWARGS['num_worlds']} worlds in {warm_worlds():.1f} s")
    table = hyperparams_for("maskableppo", ENV_ID, "set")
    settings = {k: table[k] for k in ("n_envs", "n_steps", "batch_size", "n_epochs")}
    sides: list[tuple[str, str, dict[str, Any]]] = [] if args.no_reference else [("reference", "reference", {})]
    sides.append(("new", "new", {}))
    sides += [("new", "new " + json.dumps(v, separators=(",", ":")), v) for v in variants]
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.repeats):
        for side, name, overrides in sides:
            result = run(side, args.steps, args.seed, overrides, split=True)
            print(f"  {name:<40} {result['rate']:>7,.0f} steps/s ({result['seconds']:.1f} s: {_split(result)})")
            if name not in best or result["rate"] > best[name]["rate"]:
                best[name] = result
    print(f"table settings {settings}, torch threads {args.threads}; best of {args.repeats}:")
    ref = best.get("reference")
    for _, name, overrides in sides:
        result = best[name]
        line = f"train  {name:<40} {result['rate']:>7,.0f} steps/s"
        if ref is not None and name != "reference":
            ratio = result["rate"] / ref["rate"]
            line += f"  ratio {ratio:5.2f}  target >= 10  {'ok' if ratio >= 10 else 'MISSED'}"
            if overrides:
                line += "  (changes learning)"
        print(line)
    print(f"  split of the new path: {_split(best['new'])}")


if __name__ == "__main__":
    main()
