"""The ``llmroute`` command: run an agent, benchmark agents, train RL agents, list scenarios.

    llmroute scenarios [NAME]
    llmroute run   --agent stageroute [--env LLMRoute-v0] [--scenario paper] [--seeds 0-2]
    llmroute bench --agents stageroute,greedy,random,oracle,maskableppo --seeds 0-4 --out results/bench
    llmroute train --algo maskableppo [--env LLMRoute-v0] [--policy set] --steps 100000 --out runs/mppo

Generated worlds (LLMRoute-Gen-v0, a new catalog at every reset; no --scenario): train on some
worlds, score on others it never saw:

    llmroute train --algo maskableppo --policy set --env LLMRoute-Gen-v0 --num-worlds 200 --out runs/gen
    llmroute run   --agent maskableppo --model runs/gen --env LLMRoute-Gen-v0 --start-world 1000000 --num-worlds 100
    llmroute bench --agents stageroute,maskableppo --policy set --envs LLMRoute-Gen-v0
                   --train-worlds 0:200 --start-world 1000000 --num-worlds 100 --seeds 0-4   (one line)

``--pad-to n`` gives any env's spaces n model slots (LLMRoute-Gen-v0: at least 40, the default).

An agent of your own runs by import path, ``--agent my_pkg.my_module:MyAgent`` (a subclass of
``agents.Agent``; the current folder is importable). ``llmroute <command> --help`` explains every
option. Bad arguments exit with status 2 and a message that names the argument.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
from typing import Any

from gym_llmroute import ENV_IDS
from gym_llmroute.gen_env import GENERATED
from gym_llmroute.scenario import OVERRIDES, Override

from .experiments.args import csv_list, int_at_least
from .experiments.sweep import parse_seeds

__all__ = ["main", "build_parser", "parse_seeds"]

ENV_CHOICES = ENV_IDS  # the two-level env, its single-level views and the world ids
RL_ALGOS = ("maskableppo", "ppo", "a2c", "dqn")
# gym.make keyword -> CLI option: the scenario overrides (declared once, gym_llmroute.scenario.OVERRIDES),
# then the generated worlds' and the padding.
ENV_OPTIONS = {
    **{o.name: o.flag for o in OVERRIDES},
    "num_worlds": "--num-worlds",
    "start_world": "--start-world",
    "pad_to": "--pad-to",
}
# The options only the generated worlds' kind takes (gym_llmroute.gen_env.GENERATED), and its id.
GEN_ONLY = GENERATED.world_args
GEN_ENV = "LLMRoute-Gen-v0"
# Where `llmroute train` suggests scoring a model trained on generated worlds 0..N-1.
HELD_OUT_START = 1_000_000


class _Parser(argparse.ArgumentParser):
    """argparse with the raw description kept (the examples) and defaults shown."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def _seeds_arg(text: str) -> list[int]:
    try:
        return parse_seeds(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


_positive_int = int_at_least(1)
_nonneg_int = int_at_least(0)


def _worlds_arg(text: str) -> tuple[int, int]:
    """``START:COUNT`` -> (start_world, num_worlds)."""
    parts = text.split(":")
    try:
        start, count = (int(x) for x in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        start = count = None
    if start is None or count is None or start < 0 or count < 0:
        raise argparse.ArgumentTypeError(
            f"expected START:COUNT, two integers >= 0 (e.g. 0:200, worlds 0-199; COUNT 0: fresh worlds), got {text!r}"
        )
    return start, count


def _nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _hyperparam(text: str) -> tuple[str, Any]:
    """``KEY:VALUE``, the value a Python literal (a number, True, None, a list...)."""
    import ast

    key, sep, value = text.partition(":")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY:VALUE (e.g. learning_rate:3e-5), got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        raise argparse.ArgumentTypeError(
            f"{key}: expected a Python literal (a number, True, None...), got {value!r}"
        ) from None


_csv = csv_list


def _add_world_options(p: argparse.ArgumentParser, many: bool) -> None:
    g = p.add_argument_group("world (the env and its scenario)")
    if many:
        g.add_argument(
            "--envs",
            type=_csv,
            default=["LLMRoute-v0"],
            metavar="IDS",
            help=f"comma-separated env ids: {', '.join(ENV_CHOICES)} (the two-level env, its deploy- and "
            "route-level views, and the realistic worlds)",
        )
        g.add_argument(
            "--scenarios",
            type=_csv,
            default=None,
            metavar="NAMES",
            help="comma-separated scenario presets (see `llmroute scenarios`); default: the scenario each env "
            "id is registered with ('paper', or the world an id names, e.g. 'market' for LLMRoute-Market-v0); not "
            f"with {GEN_ENV}, which draws its worlds (--num-worlds, --start-world)",
        )
    else:
        g.add_argument("--env", default="LLMRoute-v0", metavar="ID", help=f"env id, one of {', '.join(ENV_CHOICES)}")
        g.add_argument(
            "--scenario",
            default=None,
            metavar="NAME",
            help="scenario preset (see `llmroute scenarios`); default: the one the env id is registered with; not "
            f"with {GEN_ENV}, which draws its worlds (--num-worlds, --start-world)",
        )
    for override in OVERRIDES:
        _add_override(g, override)
    g.add_argument(
        "--pad-to",
        type=_positive_int,
        metavar="n",
        help="give the spaces n model slots (at least the catalog's models; LLMRoute-Gen-v0: at least 40, its "
        "default), so that a policy runs on every world of at most n models",
    )
    g.add_argument(
        "--num-worlds",
        type=_nonneg_int,
        metavar="N",
        help=f"{GEN_ENV} only: play N generated worlds from --start-world (0: a fresh world at every reset, the "
        "env's default)",
    )
    g.add_argument(
        "--start-world",
        type=_nonneg_int,
        metavar="W",
        help=f"{GEN_ENV} only: the first generated world (the env's default: 0)",
    )


def _add_deterministic(p: argparse.ArgumentParser, what: str) -> None:
    """``--deterministic``: RL agents act greedily (else as their algorithm evaluates by default)."""
    default = "PPO, A2C, MaskablePPO sample their policy; DQN is greedy"
    p.add_argument("--deterministic", action="store_true", default=None, help=f"{what} (default: {default})")


def _add_policy(p: argparse.ArgumentParser, help: str) -> None:
    """``--policy``: the policy network of the RL agents trained."""
    p.add_argument("--policy", choices=("mlp", "set"), default="mlp", help=help)


def _add_override(g: Any, o: Override) -> None:
    """The option of a scenario override (``--n-stages K`` for ``n_stages``), typed by its declaration."""
    parse: Any = o.type if o.low is None else int_at_least(o.low)
    g.add_argument(o.flag, type=parse, choices=o.choices, metavar=o.metavar, help="override " + o.help)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``llmroute`` and its four commands.

    Returns
    -------
    argparse.ArgumentParser
        ``parse_args`` gives ``command`` and the chosen command's options.
    """
    parser = _Parser(prog="llmroute", description=__doc__)
    parser.add_argument("--version", action="version", version="%(prog)s " + _version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_scenarios_command(sub)
    _add_run_command(sub)
    _add_bench_command(sub)
    _add_train_command(sub)
    return parser


def _add_scenarios_command(sub: Any) -> None:
    """``llmroute scenarios``: list or describe the presets."""
    p = sub.add_parser(
        "scenarios",
        help="list the scenario presets, or describe one",
        description="List the scenario presets with a one-line summary, or describe one: its parameters, "
        "its models (quality, cost, throughput cap, arrival, retirement) and the oracle value per stage.",
    )
    p.add_argument("name", nargs="?", help="a preset to describe (omit to list them all)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")


def _add_run_command(sub: Any) -> None:
    """``llmroute run``: one agent, one world, one episode per seed."""
    p = sub.add_parser(
        "run",
        help="run one agent on one env and scenario over seeds",
        description="Run one agent for one episode per seed and print its reward, regret and spend, then the "
        "mean with a 95%% confidence interval.\n\nexample:\n  llmroute run --agent stageroute --seeds 0-4\n"
        "  llmroute run --agent maskableppo --model runs/mppo --seeds 0-2\n"
        "  llmroute run --agent maskableppo --model runs/mppo --shield --env LLMRoute-Gen-v0 --pad-to 40\n"
        "  llmroute run --agent my_pkg.my_module:MyAgent --seeds 0-4\n"
        "  llmroute run --agent stageroute --env LLMRoute-Gen-v0 --start-world 1000000 --num-worlds 100 --seeds 0-4",
    )
    p.add_argument(
        "--agent",
        required=True,
        help="a reference agent (stageroute, greedy, random, oracle, ucb_bwk, primal_dual, thompson, static, "
        "cheapest, strongest, ...), an RL algorithm (maskableppo, ppo, a2c, dqn) with --model, or the import path "
        "of an agent class of your own (my_pkg.my_module:MyAgent)",
    )
    p.add_argument(
        "--model",
        metavar="PATH",
        help="a trained model (the folder `llmroute train` wrote, or its model.zip); RL agents only",
    )
    p.add_argument("--seeds", type=_seeds_arg, default=[0], metavar="SEEDS", help="episode seeds, e.g. '0-4' or '1,3'")
    p.add_argument(
        "--gamma", type=float, help="confidence parameter of StageRoute-based agents (their default if omitted)"
    )
    _add_deterministic(p, "RL agents: take the greedy action")
    p.add_argument(
        "--shield",
        action="store_true",
        help="maskableppo with --model: act under StageRoute's budget shield (the policy chooses among the actions "
        "budget-safe exploration allows; default: the pure learned policy)",
    )
    p.add_argument("--out", metavar="FILE", help="also write the episodes as JSON to FILE (atomically)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    _add_world_options(p, many=False)


def _add_bench_command(sub: Any) -> None:
    """``llmroute bench``: agents x envs x scenarios x seeds, table and plots."""
    p = sub.add_parser(
        "bench",
        help="benchmark agents x envs x scenarios x seeds; table, CSV and plots",
        description="Benchmark agents on envs x scenarios x seeds. RL agents (maskableppo, ppo, a2c, dqn) are "
        "first trained for --train-steps per seed, then evaluated like the others. Each run is written to "
        "OUT/runs/*.json (atomically) and each model to OUT/models/; a rerun skips whatever is finished, so "
        "an interrupted bench (Ctrl-C) resumes where it stopped. Then OUT/results.md and .csv (means with "
        "95%% confidence intervals over seeds) and the PNG plots are written.\n\nexample:\n"
        "  llmroute bench --agents stageroute,greedy,random,oracle,maskableppo --seeds 0-4 --out results/bench\n"
        "  llmroute bench --agents stageroute,maskableppo --policy set --envs LLMRoute-Gen-v0 --train-worlds 0:200 "
        "--start-world 1000000 --num-worlds 100 --seeds 0-4 --out results/gen",
    )
    p.add_argument(
        "--agents",
        type=_csv,
        required=True,
        metavar="NAMES",
        help="comma-separated agents: reference agents (see `llmroute run --help`), RL algorithms, and import "
        "paths of agent classes of your own (my_pkg.my_module:MyAgent)",
    )
    p.add_argument("--seeds", type=_seeds_arg, default=[0, 1, 2], metavar="SEEDS", help="episode seeds, e.g. '0-4'")
    p.add_argument(
        "--out", default="results/bench", metavar="DIR", help="folder of the run files, models, table and plots"
    )
    p.add_argument("--report-dir", metavar="DIR", help="write the table and plots here instead of OUT")
    p.add_argument(
        "--train-steps", type=_positive_int, default=50_000, metavar="N", help="training env steps per RL model"
    )
    p.add_argument(
        "--vec-env",
        choices=("table", "native", "dummy", "subproc"),
        default="table",
        help="RL training vector env; 'table' uses agents/rl/hyperparams.py (native where the env has a native "
        "batched version)",
    )
    _add_policy(
        p,
        "policy of the RL agents trained: SB3's MultiInputPolicy, or the permutation-equivariant set policy "
        "(maskableppo, ppo, a2c; see `llmroute train --help`)",
    )
    p.add_argument(
        "--train-worlds",
        type=_worlds_arg,
        metavar="START:COUNT",
        help=f"{GEN_ENV} only: the RL agents train on worlds START to START+COUNT-1 (COUNT 0: fresh worlds) and "
        "are scored, like every agent, on --start-world/--num-worlds; default 0:200",
    )
    _add_deterministic(p, "evaluate RL agents with their greedy action")
    p.add_argument(
        "--jobs", type=_positive_int, default=1, metavar="N", help="parallel worker processes (1: in this process)"
    )
    p.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="where jobs run: local processes (--jobs of them), or Ray tasks on a local instance or a cluster",
    )
    p.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="with --backend ray: the cluster to join ('auto', HOST:PORT, ray://HOST:10001); default RAY_ADDRESS "
        "or a new local instance",
    )

    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    _add_world_options(p, many=True)


def _add_train_command(sub: Any) -> None:
    """``llmroute train``: train an SB3 algorithm."""
    p = sub.add_parser(
        "train",
        help="train an SB3 algorithm; TensorBoard logs and a saved model",
        description="Train PPO, A2C, DQN or MaskablePPO with the hyperparameters of agents/rl/hyperparams.py and save "
        "OUT/model.zip, OUT/train.json, the episode monitor OUT/monitor/ and TensorBoard logs OUT/tb/ "
        "(tensorboard --logdir OUT/tb). The model then runs with `llmroute run --agent ALGO --model OUT`.\n\n"
        "example:\n  llmroute train --algo maskableppo --steps 100000 --out runs/mppo\n"
        "  llmroute train --algo maskableppo --policy set --env LLMRoute-Gen-v0 --num-worlds 200 --out runs/gen\n"
        "  llmroute train --algo maskableppo --policy set --env LLMRoute-Gen-v0 --num-worlds 200 --pad-to 40 "
        "--steps 0 --warm-start stageroute --warm-start-episodes 100 --dagger-rounds 2 --out runs/clone",
    )
    p.add_argument("--algo", required=True, choices=RL_ALGOS, help="the algorithm")
    _add_policy(
        p,
        "mlp: SB3's MultiInputPolicy; set: the permutation-equivariant policy of agents/rl/set_policy.py, "
        "independent of the order and number of models (maskableppo, ppo, a2c)",
    )
    p.add_argument(
        "--steps",
        type=_nonneg_int,
        default=100_000,
        metavar="N",
        help="training env steps (over all envs); 0 with --warm-start: the clone alone",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the algorithm and of the training envs")
    warm = p.add_argument_group("warm start (agents/rl/imitation.py)")
    warm.add_argument(
        "--warm-start",
        metavar="AGENT",
        help="clone this reference agent (e.g. stageroute) before reinforcement learning (maskableppo, ppo, a2c)",
    )
    warm.add_argument(
        "--warm-start-episodes", type=_positive_int, default=200, metavar="N", help="episodes per round of cloning"
    )
    warm.add_argument("--warm-start-epochs", type=_positive_int, default=3, metavar="N", help="epochs of each fit")
    warm.add_argument(
        "--dagger-rounds",
        type=_nonneg_int,
        default=0,
        metavar="N",
        help="rounds of DAgger after the first fit (the clone plays, the agent labels)",
    )
    warm.add_argument(
        "--dagger-play",
        choices=("sampled", "greedy", "mixed"),
        default="sampled",
        help="how the clone acts in the DAgger rounds: its policy sampled, its most probable action, or the most "
        "probable in deploy phases and sampled in route phases",
    )
    p.add_argument(
        "--dagger-shield",
        action="store_true",
        help="maskableppo: the clone plays its DAgger rounds under StageRoute's budget shield (as `llmroute run "
        "--shield` scores it)",
    )
    rl = p.add_argument_group("reinforcement learning from a start (agents/rl/training.py)")
    rl.add_argument(
        "--init-from",
        metavar="DIR",
        help="start from this saved model's policy weights (a folder with model.zip), e.g. a clone to fine-tune",
    )
    rl.add_argument(
        "--privileged-critic",
        action="store_true",
        help="set policy: an asymmetric critic that also reads each training world's true means (the actor, and "
        "the saved policy, act without them)",
    )
    rl.add_argument(
        "--critic-warmup",
        type=_nonneg_int,
        default=0,
        metavar="N",
        help="the first N of --steps train the critic's own layers only (the actor frozen)",
    )
    rl.add_argument(
        "--hyperparams",
        nargs="+",
        type=_hyperparam,
        default=[],
        metavar="KEY:VALUE",
        help="override entries of the hyperparameter table (agents/rl/hyperparams.py), e.g. learning_rate:3e-5 "
        "target_kl:0.01 ent_coef:0",
    )
    p.add_argument(
        "--n-envs", type=_positive_int, metavar="N", help="training envs (default from the hyperparameter table)"
    )
    p.add_argument(
        "--vec-env",
        choices=("native", "dummy", "subproc"),
        help="the native batched env (LLMRoute-v0, its presets, LLMRoute-Gen-v0), DummyVecEnv or SubprocVecEnv "
        "(default from the hyperparameter table: native where the env has one)",
    )
    cost = p.add_mutually_exclusive_group()
    cost.add_argument(
        "--lagrange",
        type=_nonneg_float,
        metavar="LAMBDA",
        help="train on reward - LAMBDA * cost with this initial multiplier, the cost in units of the world's budget "
        "on LLMRoute-Gen-v0 as in the table (default: the hyperparameter table's, dual ascent from 0 with step 0.01)",
    )
    cost.add_argument("--raw-reward", action="store_true", help="train on the env's reward, without the cost term")
    p.add_argument(
        "--lagrange-step",
        type=_nonneg_float,
        default=0.0,
        metavar="ETA",
        help="with --lagrange: dual ascent step of the multiplier towards the budget (0: fixed multiplier)",
    )
    p.add_argument("--out", default="runs/train", metavar="DIR", help="output folder")
    p.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard logs")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--verbose", type=int, default=0, choices=(0, 1, 2), help="SB3 verbosity")
    _add_world_options(p, many=False)


def _version() -> str:
    try:
        import gym_llmroute

        return gym_llmroute.__version__
    except Exception:  # pragma: no cover
        return "?"


# ---------------------------------------------------------------------------------------- validation
def _env_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {key: getattr(args, key) for key in ENV_OPTIONS if getattr(args, key, None) is not None}


def _opt_list(name: str | None) -> list[str]:
    return [] if name is None else [name]


def _default_scenario(env_id: str, env_kwargs: dict[str, Any] | None = None) -> str:
    from .experiments.jobs import default_scenario

    return default_scenario(env_id, env_kwargs)


def _make_kwargs(env_id: str, scenario: str, env_kwargs: dict[str, Any]) -> dict[str, Any]:
    from .experiments.jobs import make_kwargs

    return make_kwargs(env_id, scenario, env_kwargs)


def _is_generated(env_id: str) -> bool:
    from .experiments.jobs import is_generated

    return is_generated(env_id)


def _check_world(
    parser: argparse.ArgumentParser,
    env_ids: list[str],
    scenarios: list[str],
    env_kwargs: dict[str, Any],
    env_flag: str,
    scen_flag: str,
) -> None:
    """Build each (env, scenario) once so that bad values fail now, naming the option: the generated
    worlds' options only with LLMRoute-Gen-v0, which takes no scenario."""
    from gym_llmroute import list_scenarios

    for env_id in env_ids:
        if env_id not in ENV_CHOICES:
            parser.error(f"argument {env_flag}: unknown env id {env_id!r}; choose from {', '.join(ENV_CHOICES)}")
    generated = [env_id for env_id in env_ids if _is_generated(env_id)]
    others = [env_id for env_id in env_ids if env_id not in generated]
    for key in GEN_ONLY:
        if key in env_kwargs and others:
            parser.error(
                f"argument {ENV_OPTIONS[key]}: only with {GEN_ENV} (generated worlds), not {others[0]}; "
                f"use {env_flag} {GEN_ENV}"
            )
    if generated and scenarios:
        parser.error(
            f"argument {scen_flag}: {GEN_ENV} takes no scenario (it draws a generated world at every reset); "
            "choose its worlds with --num-worlds and --start-world"
        )
    for env_id in generated[:1]:
        _make_or_blame(parser, env_id, env_kwargs, env_flag)
    if not others:
        return
    scenarios = scenarios or sorted({_default_scenario(env_id) for env_id in others})
    known = list_scenarios()
    for name in scenarios:
        if name not in known:
            parser.error(f"argument {scen_flag}: unknown scenario {name!r}; presets are {', '.join(sorted(known))}")
    for name in scenarios:
        _make_or_blame(parser, others[0], {"scenario": name, **env_kwargs}, scen_flag)


def _make_or_blame(parser: argparse.ArgumentParser, env_id: str, kwargs: dict[str, Any], default: str) -> None:
    """``gym.make(env_id, **kwargs)``, or exit naming the option its error is about."""
    import gymnasium as gym

    try:
        gym.make(env_id, **kwargs)
    except (ValueError, TypeError) as e:
        message = str(e)
        env_kwargs = {k: v for k, v in kwargs.items() if k in ENV_OPTIONS}
        parser.error(f"argument {_blame(message, env_kwargs, default)}: {message}")


def _blame(message: str, env_kwargs: dict[str, Any], default: str) -> str:
    """The option a scenario error is about: the first of the options given that the message names."""
    hits = []
    for key in env_kwargs:
        found = re.search(rf"\b{key}\b", message)
        if found:
            hits.append((found.start(), ENV_OPTIONS[key]))
    if hits:
        return min(hits)[1]
    return ", ".join(ENV_OPTIONS[k] for k in env_kwargs) or default


def _check_agents(parser: argparse.ArgumentParser, names: list[str], flag: str) -> None:
    """Every name is a reference agent, an RL algorithm or an importable agent class."""
    from .registry import AGENTS, agent_factory, is_import_path

    known = set(AGENTS) | set(RL_ALGOS)
    for name in names:
        if is_import_path(name):
            _import_from_cwd()
            try:
                agent_factory(name)
            except (ValueError, TypeError) as e:
                parser.error(f"argument {flag}: {e}")
        elif name.lower().replace("-", "_") not in known:
            parser.error(f"argument {flag}: unknown agent {name!r}; choose from {', '.join(sorted(known))}")


def _import_from_cwd() -> None:
    """Let agents of the current folder be imported by path, as ``python -m`` would (the console
    script's own folder is first on ``sys.path``, not the current one)."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)


# ---------------------------------------------------------------------------------------- commands
def cmd_scenarios(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from gym_llmroute import list_scenarios, make_scenario

    presets = list_scenarios()
    if args.name is None:
        if args.json:
            print(json.dumps(presets, indent=2))
            return 0
        width = max(len(n) for n in presets)
        for name, summary in presets.items():
            print(f"{name:<{width}}  {summary}")
        return 0
    if args.name not in presets:
        parser.error(f"argument name: unknown scenario {args.name!r}; presets are {', '.join(sorted(presets))}")
    s = make_scenario(args.name)
    models = [
        {
            "index": i,
            "name": m.name,
            "quality": s.mean_quality[i],
            "cost": s.mean_cost[i],
            "throughput": m.throughput,
            "arrival": m.arrival,
            "retirement": m.retirement,
            "list_price": m.list_price,
            "release": m.release,
        }
        for i, m in enumerate(s.models)
    ]
    if args.json:
        oracle = s.oracle
        print(
            json.dumps(
                {
                    "name": s.name,
                    "description": s.description,
                    "horizon": s.horizon,
                    "n_stages": s.n_stages,
                    "max_deployed": s.max_deployed,
                    "budget": s.budget,
                    "budget_mode": s.budget_mode,
                    "task_types": list(s.task_types),
                    "models": models,
                    "oracle_value_per_stage": oracle.values.tolist(),
                    "oracle_value": oracle.total,
                },
                indent=2,
                default=float,
            )
        )
        return 0
    _print_scenario(s, models)
    return 0


def _print_scenario(s: Any, models: list[dict[str, Any]]) -> None:
    """``llmroute scenarios NAME``: the summary, the models and the oracle per stage, as text."""
    oracle = s.oracle
    print(s.summary())
    print(f"\n  {'#':>2} {'model':<24} {'quality':>7} {'cost':>8} {'alpha':>5} {'arrival':>7} {'retires':>7}  release")
    for m in models:
        retire = "-" if m["retirement"] is None else f"{m['retirement']:.2f}"
        print(
            f"  {m['index']:>2} {m['name']:<24} {m['quality']:>7.3f} {m['cost']:>8.4f} {m['throughput']:>5.2f} "
            f"{m['arrival']:>7.2f} {retire:>7}  {m['release']}"
        )
    print("\n  stage oracle V*_k (expected reward per query) and its deployment:")
    for k in range(s.n_stages):
        names = ", ".join(s.model_names[i] for i in oracle.deployed[k].nonzero()[0])
        print(f"  {k + 1:>3}  {oracle.values[k]:.4f}  {names}")
    print(
        f"\n  oracle value over the horizon: {oracle.total:.1f} (arrival/retirement as fractions of T; cost per query in normalised units)"
    )


def _make_agent(args: argparse.Namespace, parser: argparse.ArgumentParser, env):
    name = args.agent.lower().replace("-", "_")
    if name in RL_ALGOS:
        if not args.model:
            parser.error(f"argument --model: RL agent {args.agent!r} needs a trained model (see `llmroute train`)")
        from .rl import load_agent

        if args.shield and name != "maskableppo":
            parser.error(f"argument --shield: needs a masked policy (maskableppo), not {args.agent!r}")
        try:
            return load_agent(args.model, env, algo=name, deterministic=args.deterministic, shield=args.shield)
        except (FileNotFoundError, ValueError) as e:
            parser.error(f"argument --model: {e}")
    if args.shield:
        parser.error(f"argument --shield: only a learned maskableppo agent acts under the shield, not {args.agent!r}")
    if args.model:
        parser.error(f"argument --model: only RL agents ({', '.join(RL_ALGOS)}) load a model, not {args.agent!r}")
    from .registry import is_import_path, make

    kwargs = {} if args.gamma is None else {"gamma": args.gamma}
    try:
        return make(args.agent if is_import_path(args.agent) else name, env, **kwargs)
    except (TypeError, ValueError) as e:
        parser.error(f"argument --gamma: {e}" if kwargs else f"argument --agent: {e}")


def cmd_run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import gymnasium as gym

    from .base import scenario_of
    from .evaluation import mean_ci, run_episode
    from .files import atomic_write_json

    env_kwargs = _env_kwargs(args)
    _check_world(parser, [args.env], _opt_list(args.scenario), env_kwargs, "--env", "--scenario")
    args.scenario = args.scenario or _default_scenario(args.env, env_kwargs)
    _check_agents(parser, [args.agent], "--agent")
    env = gym.make(args.env, **_make_kwargs(args.env, args.scenario, env_kwargs))
    agent = _make_agent(args, parser, env)
    from tqdm.auto import tqdm

    records = []
    generated = _is_generated(args.env)
    scenario = scenario_of(env)
    if generated:  # the worlds differ; what they share is the overrides
        about = f"{args.scenario}: T={scenario.horizon} queries, K={scenario.n_stages} stages"
    else:
        about = scenario.summary().splitlines()[1].strip()
    print(f"{args.agent} on {args.env} ({about})")
    world_head = f" {'world':>8}" if generated else ""
    print(
        f"{'seed':>5}{world_head} {'reward':>8} {'oracle':>8} {'regret':>8} {'spend':>8} {'budget':>8} {'served':>7} "
        f"{'invalid':>7}"
    )
    # The bar only on a terminal: piped or redirected, the rows are plain lines, each as it is done.
    bar = not args.no_progress and sys.stdout.isatty() and sys.stderr.isatty()
    write = tqdm.write if bar else functools.partial(print, flush=True)
    for seed in tqdm(args.seeds, desc="episodes", unit="ep", disable=not bar, leave=False):
        r = run_episode(agent, env, seed, record=True, deterministic=None)
        records.append(r)
        world = f" {r.get('world', '-'):>8}" if generated else ""
        write(
            f"{seed:>5}{world} {r['reward']:>8.1f} {r['oracle_value']:>8.1f} {r['regret']:>8.1f} {r['cost']:>8.2f} "
            f"{r['budget']:>8.2f} {r['queries_served']:>7d} {r['invalid_actions']:>7d}"
        )
    if len(records) > 1:
        parts = []
        for key in ("reward", "regret", "spend_fraction"):
            mean, half = mean_ci([r[key] for r in records])
            parts.append(f"{key} {mean:.3f} ± {half:.3f}")
        print(f"mean over {len(records)} seeds (95% CI): " + ", ".join(parts))
    if args.out:
        for r in records:
            r.update(agent=args.agent, env_id=args.env, scenario=args.scenario, env_kwargs=env_kwargs)
        atomic_write_json(args.out, records)
        print(f"wrote {args.out}")
    return 0


def cmd_bench(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.ray_address and args.backend != "ray":
        parser.error("argument --ray-address: only with --backend ray")
    env_kwargs = _env_kwargs(args)
    _check_world(parser, args.envs, args.scenarios, env_kwargs, "--envs", "--scenarios")
    if args.train_worlds is not None:
        others = [env_id for env_id in args.envs if not _is_generated(env_id)]
        if others:
            parser.error(
                f"argument --train-worlds: only with {GEN_ENV} (generated worlds), not {others[0]}; "
                f"use --envs {GEN_ENV}"
            )
    _check_agents(parser, args.agents, "--agents")
    if args.policy == "set" and "dqn" in {a.lower() for a in args.agents}:
        parser.error("argument --policy: 'set' is for maskableppo, ppo and a2c, not dqn")
    from .experiments.report import CorruptRunFile
    from .experiments.sweep import bench_report, plan_bench

    trains, runs = plan_bench(
        args.agents,
        args.envs,
        args.scenarios,
        args.seeds,
        train_steps=args.train_steps,
        env_kwargs=env_kwargs,
        deterministic=args.deterministic,
        vec_env=None if args.vec_env == "table" else args.vec_env,
        policy=args.policy,
        train_worlds=args.train_worlds,
    )
    try:
        bench_report(
            trains,
            runs,
            args.out,
            report_dir=args.report_dir,
            plots=not args.no_plots,
            jobs=args.jobs,
            backend=args.backend,
            progress=not args.no_progress,
            ray_address=args.ray_address,
        )
    except NotImplementedError as exc:  # the Ray backend is not installed
        parser.error(f"argument --backend: {exc}")
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished runs are kept in {args.out}; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    except CorruptRunFile as exc:  # name it, keep everything else
        print(f"llmroute bench: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _check_train_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Refuse combinations of ``llmroute train`` arguments that cannot work, naming the argument."""
    if args.lagrange is None and args.lagrange_step:
        parser.error("argument --lagrange-step: needs --lagrange (the initial multiplier)")
    if args.policy == "set" and args.algo == "dqn":
        parser.error("argument --policy: 'set' is for maskableppo, ppo and a2c, not dqn")
    if args.warm_start is not None:
        from .registry import AGENTS

        if args.warm_start not in AGENTS:
            parser.error(f"argument --warm-start: unknown agent {args.warm_start!r}; choose from {sorted(AGENTS)}")
        if args.algo == "dqn":
            parser.error("argument --warm-start: needs an actor-critic algorithm (maskableppo, ppo, a2c), not dqn")
    elif args.steps == 0:
        parser.error("argument --steps: must be >= 1 (0 only with --warm-start)")
    if args.hyperparams:
        from .rl.training import check_hyperparams

        try:
            check_hyperparams(args.algo, args.env, args.policy, [k for k, _ in args.hyperparams])
        except ValueError as e:
            parser.error(f"argument --hyperparams: {e}")
    if args.privileged_critic and args.policy != "set":
        parser.error(f"argument --privileged-critic: needs --policy set, not {args.policy}")
    if args.critic_warmup > args.steps:
        parser.error(f"argument --critic-warmup: must be <= --steps ({args.steps}), got {args.critic_warmup}")
    if args.critic_warmup and args.algo == "dqn":
        parser.error("argument --critic-warmup: needs an actor-critic algorithm (maskableppo, ppo, a2c), not dqn")
    if args.init_from is not None and not os.path.exists(os.path.join(args.init_from, "model.zip")):
        parser.error(f"argument --init-from: no model.zip in {args.init_from}")
    from .rl.training import has_native_vec_env

    if args.vec_env == "native" and not has_native_vec_env(args.env):
        parser.error(
            f"argument --vec-env: {args.env} has no native batched env (LLMRoute-v0, its presets and {GEN_ENV} "
            "have); use dummy or subproc"
        )


def cmd_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    env_kwargs = _env_kwargs(args)
    _check_world(parser, [args.env], _opt_list(args.scenario), env_kwargs, "--env", "--scenario")
    args.scenario = args.scenario or _default_scenario(args.env, env_kwargs)
    _check_train_args(args, parser)
    from .rl import train

    overrides = {}
    if args.n_envs is not None:
        overrides["n_envs"] = args.n_envs
    if args.vec_env is not None:
        overrides["vec_env"] = args.vec_env
    overrides.update(args.hyperparams)
    if args.raw_reward:
        lagrangian: Any = False
    elif args.lagrange is not None:
        from .rl.hyperparams import hyperparams_for

        # The cost's unit as in the table (the world's budget on generated worlds, whose budgets differ).
        table = hyperparams_for(args.algo, args.env, args.policy).get("lagrangian") or {}
        lagrangian = {"multiplier": args.lagrange, "step_size": args.lagrange_step}
        if table.get("per_budget"):
            lagrangian["per_budget"] = True
    else:
        lagrangian = None
    result = train(
        args.algo,
        args.env,
        total_timesteps=args.steps,
        seed=args.seed,
        out_dir=args.out,
        env_kwargs=_make_kwargs(args.env, args.scenario, env_kwargs),
        hyperparams=overrides,
        lagrangian=lagrangian,
        tensorboard=not args.no_tensorboard,
        progress_bar=not args.no_progress,
        verbose=args.verbose,
        policy=args.policy,
        warm_start=args.warm_start,
        warm_start_episodes=args.warm_start_episodes,
        warm_start_epochs=args.warm_start_epochs,
        dagger_rounds=args.dagger_rounds,
        dagger_play=args.dagger_play,
        dagger_shield=args.dagger_shield,
        privileged_critic=args.privileged_critic,
        init_from=args.init_from,
        critic_warmup=args.critic_warmup,
    )
    if result.warm_start is not None:
        w = result.warm_start
        print(
            f"cloned {w['teacher']} ({w['teacher_reward_fraction']:.3f} of the oracle on its episodes) from {w['steps']:,} "
            f"labelled steps, {w['dagger_rounds']} DAgger rounds, in {w['wall_time_s']:.0f} s"
        )
    print(f"trained {args.algo} on {args.env} for {args.steps} steps in {result.wall_time_s:.0f} s")
    print(f"model: {result.model_path}")
    if not args.no_tensorboard:
        print(f"TensorBoard: tensorboard --logdir {result.tensorboard_dir}")
    run = f"llmroute run --agent {args.algo} --model {_quote(args.out)} --env {args.env}"
    if not _is_generated(args.env):
        world = "".join(f" {ENV_OPTIONS[k]} {v}" for k, v in env_kwargs.items())
        print(f"evaluate: {run} --scenario {args.scenario}{world} --seeds 0-4")
        return 0
    # Generated worlds: the training worlds, then (up to 100) held-out worlds past them.
    flags = "".join(f" {ENV_OPTIONS[k]} {v}" for k, v in env_kwargs.items() if k not in GEN_ONLY)
    start, count = env_kwargs.get("start_world", 0), env_kwargs.get("num_worlds", 0)
    print(f"evaluate: {run} --num-worlds {count} --start-world {start}{flags} --seeds 0-4")
    if count:
        held_out = max(HELD_OUT_START, start + count)
        print(f"held-out worlds: {run} --num-worlds {min(count, 100)} --start-world {held_out}{flags} --seeds 0-4")
    return 0


def _quote(path: str) -> str:
    import shlex

    return shlex.quote(path)


COMMANDS = {"scenarios": cmd_scenarios, "run": cmd_run, "bench": cmd_bench, "train": cmd_train}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``llmroute`` console script.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status (bad arguments exit with status 2 before returning).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    return COMMANDS[args.command](args, _subcommand_parser(parser, args.command))


def _subcommand_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """The parser of one command (its errors name the command's usage)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[command]
    raise KeyError(command)


if __name__ == "__main__":
    sys.exit(main())
