"""The architecture of both packages: layers and no import cycles.

The import-linter contracts of pyproject.toml (also run by ``make test`` as ``lint-imports``): agents/
and gym_llmroute/ in layers, each importing only the layers below it; no cycle among the modules of
any package; gym_llmroute never imports agents. Imports inside functions and under
``if TYPE_CHECKING:`` count: a cycle held together by a deferred import is still a cycle.

A second check walks the module graph itself (package ``__init__`` modules included, which the
sibling contracts do not see) and fails on any strongly connected component of more than one module.
"""

from __future__ import annotations

from pathlib import Path

import pytest

importlinter = pytest.importorskip("importlinter")
grimp = pytest.importorskip("grimp")

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_import_linter_contracts_are_kept(capsys):
    from importlinter.cli import lint_imports

    status = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    assert status == 0, capsys.readouterr().out


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_back_through_others():
    graph = grimp.build_graph("gym_llmroute", "agents", cache_dir=None)
    assert "agents.evaluation" in graph.modules and "gym_llmroute.scenario" in graph.modules
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    graph.add_import(importer="pkg", imported="pkg.a")
    assert _cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


# ------------------------------------------------------------------------- no policy code in the env
#: Words that name a policy or a piece of one: StageRoute's vocabulary and the usual names of agents.
POLICY_WORDS = frozenset(
    {"router", "routers", "deployer", "deployers", "agent", "agents", "policy", "policies", "ucb", "lcb"}
    | {"confidence", "optimistic", "bandit", "bandits", "bwk", "thompson"}
)
#: Two words in a row that name StageRoute's optimisation steps (``deploy_opt``, ``DeployOPT``).
POLICY_BIGRAMS = frozenset({("deploy", "opt"), ("route", "opt")})
#: The entry points of a policy: SB3's ``predict``, the hooks of ``agents.Agent``, the protocols of the
#: single-level views and the names other libraries use for "choose an action".
POLICY_METHODS = frozenset(
    {"predict", "act", "route", "deploy", "plan_deployment", "deploy_priority", "select_action", "get_action"}
    | {"compute_action", "compute_actions", "compute_single_action"}
)
OBSERVATION_ARGS = frozenset({"obs", "observation", "observations"})


def _words(name: str) -> list[str]:
    """The words of an identifier, lower case: snake_case parts, then CamelCase humps (an upper-case
    run is one word: ``ROUTERBENCH_MODELS`` is ``routerbench, models``, ``DeployOPT`` is ``deploy, opt``)."""
    import re

    return [w.lower() for part in name.split("_") for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", part)]


def policy_code(source: str) -> list[str]:
    """What in ``source`` looks like policy code: ``"line: name (reason)"`` for each find.

    Two rules, on the syntax tree (so code under ``if TYPE_CHECKING:``, inside functions or never
    imported counts too):

    * **names**: every class, function and method (at any depth) and every module-level assignment
      whose name has a word of :data:`POLICY_WORDS` or a pair of :data:`POLICY_BIGRAMS`
      (``OptimisticRouter``, ``StageRouteDeployer``, ``OracleAgent``, ``deploy_opt``,
      ``confidence_bounds``, a table ``ROUTERS``). Whole words, not substrings: RouterBench, the data
      set behind the trace world (``load_routerbench``), is not a router. Fields of a class are data,
      not code, and are not read (the market facts have a ``confidence`` column).
    * **signatures**: every function or method named as a policy's entry point
      (:data:`POLICY_METHODS`) whose first argument (after ``self``) is the observation. This finds a
      policy under any class name. The env's own ``route`` and ``deploy`` (the simulation core's) take
      the action, not the observation, and are spared; so are functions that read an observation
      without choosing an action (``mask_from_obs``), whose names are not a policy's.

    The stage oracle stays in the env (``StageOracle``, ``stage_oracle``: the benchmark V* of the
    regret the env reports); playing it is a policy's business and lives in agents/ (``OracleAgent``,
    the views' oracle router and deployer).
    """
    import ast

    found = []

    def named(node: ast.AST, name: str) -> None:
        words = _words(name)
        hits = sorted(set(words) & POLICY_WORDS) + [
            " ".join(p) for p in zip(words, words[1:], strict=False) if p in POLICY_BIGRAMS
        ]
        if hits:
            found.append(f"{node.lineno}: {name} (names a policy: {', '.join(hits)})")

    def assigned(body: list[ast.stmt]) -> None:
        for stmt in body:
            targets = (
                stmt.targets
                if isinstance(stmt, ast.Assign)
                else [stmt.target]
                if isinstance(stmt, ast.AnnAssign)
                else []
            )
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name):
                        named(stmt, leaf.id)

    tree = ast.parse(source)
    assigned(tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            named(node, node.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            named(node, node.name)
            args = [a.arg for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")]
            if node.name in POLICY_METHODS and args[:1] and args[0] in OBSERVATION_ARGS:
                found.append(f"{node.lineno}: {node.name}({args[0]}, ...) (a policy's entry point)")
    return found


def test_no_module_of_gym_llmroute_defines_a_router_deployer_or_agent():
    """The env package ships no agent: routers, deployers and agents live in agents/ (StageRoute's in
    agents/policies/stageroute/), reached by the env only through the string entry points of the
    single-level views. The import-linter contract keeps the env from importing them; this keeps
    policy code from being written into the env itself (see :func:`policy_code` for the rules)."""
    root = PYPROJECT.parent / "gym_llmroute"
    found = [
        f"{path.relative_to(root.parent)}:{hit}"
        for path in sorted(root.rglob("*.py"))
        for hit in policy_code(path.read_text())
    ]
    assert found == []


def test_the_policy_check_finds_policy_code_and_spares_the_envs_own_names():
    planted = """
class OptimisticRouter:
    pass
class StageRouteDeployer:
    pass
class AnyName:
    def predict(self, observation, state=None):
        pass
    def route(self, obs):
        pass
def deploy_opt(ucb, lcb):
    pass
def confidence_bounds(pulls):
    pass
ROUTERS = {}
class DeployOPTPlan:
    pass
"""
    flagged = {hit.split(": ", 1)[1].split(" (")[0] for hit in policy_code(planted)}
    assert flagged == {
        "OptimisticRouter",
        "StageRouteDeployer",
        "predict(observation, ...)",
        "route(obs, ...)",
        "deploy_opt",
        "confidence_bounds",
        "ROUTERS",
        "DeployOPTPlan",
    }
    spared = """
ROUTERBENCH_MODELS = ()
def load_routerbench(path):
    pass
class Sim1:
    def route(self, a):
        pass
    def deploy(self, rows, actions, stages):
        pass
def mask_from_obs(obs, max_deployed):
    pass
class StageOracle:
    pass
def solve_deploy(u, c, caps, budget, k):
    pass
"""
    assert policy_code(spared) == []


def test_the_version_is_declared_once():
    import tomllib

    import gym_llmroute

    project = tomllib.loads(PYPROJECT.read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gym_llmroute.__version__"}
    assert gym_llmroute.__version__.count(".") == 2


def test_code_and_docs_speak_of_the_project_not_of_its_issue_tracker():
    import re

    root = PYPROJECT.parent
    pattern = re.compile(r"\bissues? #?\d", re.IGNORECASE)
    found = []
    for folder in ("agents", "gym_llmroute", "benchmarks", "examples", "docs", "tests"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in (".py", ".md") and path.name != "test_architecture.py":
                found += [
                    f"{path.relative_to(root)}:{i}"
                    for i, line in enumerate(path.read_text().splitlines(), 1)
                    if pattern.search(line)
                ]
    found += [
        f"README.md:{i}"
        for i, line in enumerate((root / "README.md").read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []


def _public_api():
    """The functions and methods of the public API: what ``agents``, ``agents.rl`` and ``gym_llmroute``
    export, and the public methods of the classes they export (inherited docstrings count)."""
    import inspect

    import agents
    import agents.rl
    import gym_llmroute

    found = {}
    for module in (agents, agents.rl, gym_llmroute):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                found[f"{module.__name__}.{name}"] = obj
            elif inspect.isclass(obj) and obj.__module__.split(".")[0] in ("agents", "gym_llmroute"):
                for attr, value in vars(obj).items():
                    func = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
                    if not attr.startswith("_") and inspect.isfunction(func):
                        found[f"{obj.__module__}.{obj.__qualname__}.{attr}"] = func
    return found


def test_the_public_api_has_numpydoc_parameters_and_returns_sections():
    import inspect

    missing = []
    for name, func in sorted(_public_api().items()):
        doc = inspect.getdoc(func) or ""
        signature = inspect.signature(func)
        if [p for p in signature.parameters if p not in ("self", "cls")] and "Parameters\n----------" not in doc:
            missing.append(f"{name}: Parameters")
        if signature.return_annotation not in (None, "None", inspect.Signature.empty) and "Returns\n-------" not in doc:
            missing.append(f"{name}: Returns")
    assert len(_public_api()) > 40 and missing == []
