"""Performance of gym_llmroute against the issue-6 anchors, each measured against a reference in the same run.

    python benchmarks/bench_perf.py [--quick] [--repeats 5] [--only single,batched,...]

Sections (``--only`` takes a comma-separated subset; all by default):

  single     steps/s of gym.make("LLMRoute-v0") over gym.make("CartPole-v1"), a random valid action
             each step (ours: uniform over info["action_mask"]; CartPole: uniform over {0, 1}).
             Target: ratio >= 1.0.
  generated  steps/s of gym.make("LLMRoute-Gen-v0") (resets included, a random valid action each
             step) over LLMRoute-v0 in the same run: with num_worlds=0 (a world generated and its
             oracle solved at every reset; target >= 0.5) and with num_worlds=200 on an env that has
             played every world once, as a training env soon has (target >= 0.9). That first pass
             over the 200 worlds (each generated and solved) is timed too and reported.
  batched    steps/s (sub-env steps) of gym.make_vec("LLMRoute-v0", 64, vectorization_mode=
             "vector_entry_point") over gym.make_vec("CartPole-v1", 64, vectorization_mode=
             "vector_entry_point") and over gym.make_vec("LLMRoute-v0", 64, vectorization_mode="sync"),
             random valid actions. Targets: >= 0.5 and >= 10.
  genvec     steps/s (sub-env steps) of gym.make_vec("LLMRoute-Gen-v0", n, vectorization_mode=
             "vector_entry_point") (each sub-env in its own generated worlds, the rows of one batched
             simulation) over gym.make_vec("LLMRoute-Gen-v0", n, vectorization_mode="sync") with the
             same n (8 and 16), random valid actions, num_worlds=200 once both have played every world
             (the per-process world caches and the sync sub-envs' per-world state warm, as in a
             training run). Target: >= 4. Context: num_worlds=0 (a world generated and solved at every
             reset, on both sides).
  stageroute queries/s of agents.make("stageroute", env) end to end (agents.run_episode) on
             LLMRoute-v0 with horizon 20,000 and 27 stages, against the same env driven by a random
             valid policy. Target: ratio >= 0.5; the former absolute target, 50,000 queries/s, is
             reported beside it (it moves with the machine's load).
  deployopt  median ms of gym_llmroute.solvers.solve_deploy with 100 models and M_max = 10 on random
             UCB/LCB-like inputs, against one LP relaxation of the same instances by
             scipy.optimize.linprog. Target: <= 50 ms.
  memory     tracemalloc peak over a 10^6-query episode against a 10^4-query one (a fixed cheap
             policy, budget_mode="average" so every query is served). Target: ratio ~ 1 (flat).
  import     seconds to `import gym_llmroute` in a fresh interpreter (best of --repeats), against
             `import gymnasium`, and whether torch / stable_baselines3 got imported. Target: < 0.3 s.

Throughputs are the best of --repeats measurements per side, the two sides interleaved, so that a
busy machine hurts both alike. --quick shortens everything (a smoke run, not a measurement).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import tracemalloc

import gymnasium as gym
import numpy as np

import gym_llmroute  # noqa: F401  (registers LLMRoute-v0)

N_ENVS = 64


def report(name: str, ours: str, ref: str, ratio: float | None, target: str, ok: bool, note: str = "") -> None:
    verdict = "ok" if ok else "MISSED"
    r = f"{ratio:8.2f}" if ratio is not None else " " * 8
    print(f"{name:<11} {ours:>26}  {ref:>34}  ratio {r}  target {target:<10} {verdict}{'  ' + note if note else ''}")


# ---------------------------------------------------------------------------------------- single
def single_rate(env_id: str, steps: int, seed: int, env: gym.Env | None = None, **kwargs) -> float:
    env = gym.make(env_id, **kwargs) if env is None else env
    draws = np.random.default_rng(seed).integers(0, 2**31, size=steps).tolist()
    obs, info = env.reset(seed=seed)
    masked = env_id != "CartPole-v1"
    start = time.perf_counter()
    for i in range(steps):
        if masked:
            valid = info["action_mask"].nonzero()[0]
            a = int(valid[draws[i] % valid.size])
        else:
            a = draws[i] & 1
        obs, r, term, trunc, info = env.step(a)
        if term or trunc:
            obs, info = env.reset()
    return steps / (time.perf_counter() - start)


def bench_single(args) -> None:
    steps = 10_000 if args.quick else 50_000
    ours, ref = [], []
    for r in range(args.repeats):
        ref.append(single_rate("CartPole-v1", steps, r))
        ours.append(single_rate("LLMRoute-v0", steps, r))
    ratio = max(ours) / max(ref)
    report("single", f"LLMRoute-v0 {max(ours):,.0f}/s", f"CartPole-v1 {max(ref):,.0f}/s", ratio, ">= 1.0", ratio >= 1.0)


# ------------------------------------------------------------------------------------- generated
def play_every_world(env: gym.Env, n_worlds: int) -> float:
    """Play worlds 0 .. n_worlds - 1 once each (random valid actions); returns the steps per second."""
    start, played = time.perf_counter(), 0
    for w in range(n_worlds):
        _, info = env.reset(seed=w, options={"world": w})
        done = False
        while not done:
            valid = info["action_mask"].nonzero()[0]
            _, _, done, _, info = env.step(int(valid[played % valid.size]))
            played += 1
    return played / (time.perf_counter() - start)


def bench_generated(args) -> None:
    steps = 20_000 if args.quick else 100_000
    n_worlds = 20 if args.quick else 200
    # The cold pass: every world played once, each generated and its oracle solved (first in this
    # process), timed. That env has then seen every world, as a training env soon has.
    warm = gym.make("LLMRoute-Gen-v0", num_worlds=n_worlds)
    cold = play_every_world(warm, n_worlds)
    base, fresh, cached = [], [], []
    for r in range(args.repeats):
        base.append(single_rate("LLMRoute-v0", steps, r))
        fresh.append(single_rate("LLMRoute-Gen-v0", steps, r, num_worlds=0, start_world=10**6 + r * 10**5))
        cached.append(single_rate("LLMRoute-Gen-v0", steps, r, env=warm))
    ref = f"LLMRoute-v0 {max(base):,.0f}/s"
    ratio = max(fresh) / max(base)
    report("gen fresh", f"num_worlds=0 {max(fresh):,.0f}/s", ref, ratio, ">= 0.5", ratio >= 0.5)
    ratio = max(cached) / max(base)
    report(
        "gen cached",
        f"num_worlds={n_worlds} {max(cached):,.0f}/s",
        ref,
        ratio,
        ">= 0.9",
        ratio >= 0.9,
        f"first pass (cold) {cold:,.0f}/s = {cold / max(base):.2f}x",
    )


# --------------------------------------------------------------------------------------- batched
def vector_rate(envs, steps: int, seed: int, masked: bool) -> float:
    n = envs.num_envs
    rng = np.random.default_rng(seed)
    obs, info = envs.reset(seed=seed)
    if masked:
        draws = rng.random((steps, *info["action_mask"].shape))
    else:
        draws = rng.integers(0, 2, size=(steps, n))
    start = time.perf_counter()
    for i in range(steps):
        # Uniform over the valid actions: the largest of uniform draws where the mask allows.
        a = (draws[i] * info["action_mask"]).argmax(axis=1) if masked else draws[i]
        obs, r, term, trunc, info = envs.step(a)
    return steps * n / (time.perf_counter() - start)


def bench_batched(args) -> None:
    steps = 300 if args.quick else 3_000
    native = gym.make_vec("LLMRoute-v0", N_ENVS, vectorization_mode="vector_entry_point")
    cart = gym.make_vec("CartPole-v1", N_ENVS, vectorization_mode="vector_entry_point")
    sync = gym.make_vec("LLMRoute-v0", N_ENVS, vectorization_mode="sync")
    # Context: a random policy overspends the default hard budget after ~400 of the 1,728 queries, so
    # episodes are short and resets (each draws a 1,024-query chunk of outcomes) frequent. With
    # budget_mode="average" every episode runs to the horizon.
    full = gym.make_vec("LLMRoute-v0", N_ENVS, vectorization_mode="vector_entry_point", budget_mode="average")
    ours, ref_cart, ref_sync, ours_full = [], [], [], []
    for r in range(args.repeats):
        ref_cart.append(vector_rate(cart, steps, r, masked=False))
        ours.append(vector_rate(native, steps, r, masked=True))
        ref_sync.append(vector_rate(sync, max(30, steps // 20), r, masked=True))
        ours_full.append(vector_rate(full, steps, r, masked=True))
    ratio_cart = max(ours) / max(ref_cart)
    ratio_sync = max(ours) / max(ref_sync)
    ours_s = f"native x{N_ENVS} {max(ours):,.0f}/s"
    report(
        "batched",
        ours_s,
        f"CartPoleVectorEnv x{N_ENVS} {max(ref_cart):,.0f}/s",
        ratio_cart,
        ">= 0.5",
        ratio_cart >= 0.5,
    )
    report(
        "batched", ours_s, f"our SyncVectorEnv x{N_ENVS} {max(ref_sync):,.0f}/s", ratio_sync, ">= 10", ratio_sync >= 10
    )
    ratio_full = max(ours_full) / max(ref_cart)
    print(
        f"{'  context':<11} {f'average-budget x{N_ENVS} {max(ours_full):,.0f}/s':>26}  "
        f"{f'CartPoleVectorEnv x{N_ENVS} {max(ref_cart):,.0f}/s':>34}  ratio {ratio_full:8.2f}  "
        "(episodes run to the horizon: fewer resets)"
    )
    for e in (native, cart, sync, full):
        e.close()


# ---------------------------------------------------------------------------------------- genvec
GENVEC_SIZES = (8, 16)


def bench_genvec(args) -> None:
    steps = 300 if args.quick else 3_000
    fresh_steps = 300 if args.quick else 1_500
    n_worlds = 20 if args.quick else 200
    for n in GENVEC_SIZES:
        native = gym.make_vec("LLMRoute-Gen-v0", n, vectorization_mode="vector_entry_point", num_worlds=n_worlds)
        sync = gym.make_vec("LLMRoute-Gen-v0", n, vectorization_mode="sync", num_worlds=n_worlds)
        # Every sub-env plays every world once (a reset into it): the worlds are generated and solved
        # once per process, and each sync sub-env builds its own episode state for each.
        for w in range(n_worlds):
            native.reset(seed=w, options={"world": w})
            sync.reset(seed=w, options={"world": w})
        ours, ref, fresh, fresh_ref = [], [], [], []
        for r in range(args.repeats):
            ref.append(vector_rate(sync, max(30, steps // 5), r, masked=True))
            ours.append(vector_rate(native, steps, r, masked=True))
            # Fresh worlds on each side (none cached: a new world range per measurement), over enough
            # steps for dozens of resets (a random-policy episode is ~300-1,700 steps).
            start = 10**6 + 10**5 * (2 * r + n)
            for side, out, mode in ((start, fresh, "vector_entry_point"), (start + 5 * 10**4, fresh_ref, "sync")):
                envs = gym.make_vec("LLMRoute-Gen-v0", n, vectorization_mode=mode, num_worlds=0, start_world=side)
                out.append(vector_rate(envs, fresh_steps, r, masked=True))
                envs.close()
        ratio = max(ours) / max(ref)
        report(
            "gen batched",
            f"native x{n} {max(ours):,.0f}/s",
            f"LLMRouteGenEnv SyncVectorEnv x{n} {max(ref):,.0f}/s",
            ratio,
            ">= 4",
            ratio >= 4,
            f"num_worlds={n_worlds}, warm",
        )
        print(
            f"{'  context':<11} {f'num_worlds=0 x{n} {max(fresh):,.0f}/s':>26}  "
            f"{f'SyncVectorEnv x{n} {max(fresh_ref):,.0f}/s':>34}  ratio {max(fresh) / max(fresh_ref):8.2f}  "
            "(a world generated and solved at every reset, both sides)"
        )
        native.close()
        sync.close()


# ------------------------------------------------------------------------------------ stageroute
def bench_stageroute(args) -> None:
    try:
        import agents
    except ImportError:
        print("stageroute  skipped: the agents package is not importable")
        return
    horizon = 4_000 if args.quick else 20_000
    env = gym.make("LLMRoute-v0", horizon=horizon, n_stages=round(horizon ** (1 / 3)))
    agent = agents.make("stageroute", env)
    rates, ref = [], []
    for r in range(args.repeats):
        ref.append(single_rate_env(env, horizon, seed=r))
        start = time.perf_counter()
        out = agents.run_episode(agent, env, seed=r)
        rates.append(out["queries_served"] / (time.perf_counter() - start))
    best = max(rates)
    ratio = best / max(ref)
    report(
        "stageroute",
        f"StageRoute {best:,.0f} q/s",
        f"random valid policy {max(ref):,.0f} q/s",
        ratio,
        ">= 0.5",
        ratio >= 0.5,
        f"({'>=' if best >= 50_000 else '<'} 50,000 q/s)",
    )


def single_rate_env(env, horizon: int, seed: int) -> float:
    """Queries/s of a random valid policy over one episode of ``env`` (the env's own cost)."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    start = time.perf_counter()
    served = 0
    done = False
    while not done:
        valid = info["action_mask"].nonzero()[0]
        obs, r, done, trunc, info = env.step(int(valid[rng.integers(valid.size)]))
        served += info["model"] >= 0
    return served / (time.perf_counter() - start)


# ------------------------------------------------------------------------------------- deployopt
def deploy_instances(count: int, n: int = 100, seed: int = 0):
    """UCB/LCB-like inputs: quality means plus a confidence bonus, cost means minus one."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        pulls = rng.integers(1, 200, n)
        bonus = np.sqrt(np.log(1e4) / pulls)
        u = np.minimum(rng.uniform(0.3, 0.95, n) + 0.2 * bonus, 1.0)
        c_mean = rng.uniform(0.01, 1.0, n)
        c = np.maximum(c_mean - 0.2 * bonus, 0.0)
        caps = rng.uniform(0.05, 0.5, n)
        budget = float(np.quantile(c, 0.3))
        out.append((u, c, caps, budget))
    return out


def bench_deployopt(args) -> None:
    from scipy.optimize import linprog

    from gym_llmroute.solvers import solve_deploy

    inst = deploy_instances(5 if args.quick else 20)
    ms, lp_ms = [], []
    for u, c, caps, b in inst:
        start = time.perf_counter()
        sol = solve_deploy(u, c, caps, b, 10)
        ms.append(1e3 * (time.perf_counter() - start))
        assert sol.feasible
        start = time.perf_counter()
        linprog(
            -u,
            A_ub=c[None, :],
            b_ub=[b],
            A_eq=np.ones((1, u.size)),
            b_eq=[1.0],
            bounds=np.c_[np.zeros(u.size), caps],
            method="highs",
        )
        lp_ms.append(1e3 * (time.perf_counter() - start))
    med, ref = statistics.median(ms), statistics.median(lp_ms)
    report(
        "deployopt",
        f"solve_deploy {med:.1f} ms (median)",
        f"linprog LP relaxation {ref:.1f} ms",
        med / ref,
        "<= 50 ms",
        med <= 50,
        f"(max {max(ms):.1f} ms)" if med <= 50 else f"({med / 50:.2f}x over)",
    )


# ---------------------------------------------------------------------------------------- memory
def episode_peak(horizon: int) -> tuple[int, float]:
    """tracemalloc peak (bytes) over one full episode of ``horizon`` queries, and its wall time."""
    env = gym.make("LLMRoute-v0", horizon=horizon, budget_mode="average")
    obs, info = env.reset(seed=0)
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    done = False
    while not done:
        # A fixed cheap policy: the first valid action (deploys the first models that fit, routes
        # to the first model with capacity left).
        obs, r, done, trunc, info = env.step(int(info["action_mask"].argmax()))
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    env.close()
    return peak, elapsed


def bench_memory(args) -> None:
    short, long = (10_000, 100_000) if args.quick else (10_000, 1_000_000)
    small, _ = episode_peak(short)
    big, secs = episode_peak(long)
    ratio = big / small
    report(
        "memory",
        f"T={long:.0e} peak {big / 1024:,.0f} KiB",
        f"T={short:.0e} peak {small / 1024:,.0f} KiB",
        ratio,
        "~1 (flat)",
        ratio < 1.5,
        f"({secs:.0f} s for the long episode under tracemalloc)",
    )


# ---------------------------------------------------------------------------------------- import
IMPORT_CODE = (
    "import sys, time; t = time.perf_counter(); import {mod}; dt = time.perf_counter() - t; "
    "print(dt, 'torch' in sys.modules, 'stable_baselines3' in sys.modules, 'scipy' in sys.modules)"
)


def import_time(mod: str) -> tuple[float, bool, bool, bool]:
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_CODE.format(mod=mod)], capture_output=True, text=True, check=True
    )
    dt, torch, sb3, scipy = out.stdout.split()
    return float(dt), torch == "True", sb3 == "True", scipy == "True"


def bench_import(args) -> None:
    ours = [import_time("gym_llmroute") for _ in range(args.repeats)]
    ref = [import_time("gymnasium")[0] for _ in range(args.repeats)]
    best = min(t for t, *_ in ours)
    torch, sb3, scipy = (any(x[i] for x in ours) for i in (1, 2, 3))
    ok = best < 0.3 and not torch and not sb3
    report(
        "import",
        f"gym_llmroute {best:.3f} s",
        f"gymnasium alone {min(ref):.3f} s",
        best / min(ref),
        "< 0.3 s",
        ok,
        f"(torch imported: {torch}, stable_baselines3: {sb3}, scipy: {scipy})",
    )


SECTIONS = {
    "single": bench_single,
    "generated": bench_generated,
    "batched": bench_batched,
    "genvec": bench_genvec,
    "stageroute": bench_stageroute,
    "deployopt": bench_deployopt,
    "memory": bench_memory,
    "import": bench_import,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test, not a measurement)")
    parser.add_argument("--repeats", type=int, default=5, help="measurements per side; the best is kept (default 5)")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections (default: all of {','.join(SECTIONS)})"
    )
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; sections are {list(SECTIONS)}")
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, gymnasium {gym.__version__}; best of {args.repeats}"
    )
    for name in chosen:
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
