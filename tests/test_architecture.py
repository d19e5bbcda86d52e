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
