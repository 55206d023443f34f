"""The arrows between explainer/ modules point one way: no import cycles, and only the command
line (the cli package, __main__.py) imports the command line.

The graph is read from the source with `ast`, function-level imports included (a cycle hidden in a
function body is still a cycle a reader has to untangle).
"""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "explainer"
CLI = "explainer.cli"


def is_cli(module: str) -> bool:
    return module == CLI or module.startswith(CLI + ".") or module == "explainer.__main__"


def module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The explainer modules that `path` imports anywhere in its body.

    `from . import corpus` names the module `corpus` (not the package it sits in);
    `from .model import GPT` names the module `model`.
    """
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "explainer"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "explainer":
                continue
            subs = {f"{target}.{a.name}" for a in node.names} & modules
            out |= subs
            if len(subs) < len(node.names):           # names defined in `target` itself
                out.add(target)
    return {m for m in out if m in modules and m != me}


def graph() -> dict[str, set[str]]:
    files = [p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts]
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted.

    >>> cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}})
    [['a', 'b']]
    """
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read_from_the_source():
    g = graph()
    assert "explainer.model" in g["explainer.training"]             # a top-level import
    assert "explainer.corpus" in g["explainer.measure"]                # `from . import corpus`, in a function
    assert "explainer.paramfile" in g["explainer.app.models"]        # `from ..paramfile import ...`


def test_cycle_finder_finds_a_cycle_through_three_modules():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_inside_explainer():
    found = cycles(graph())
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_only_the_command_line_imports_the_command_line():
    offenders = sorted(m for m, deps in graph().items() if any(is_cli(d) for d in deps) and not is_cli(m))
    assert offenders == [], f"library modules importing explainer.cli: {offenders}"
