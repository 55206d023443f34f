"""The arrows between explainer/ modules point one way: no import cycles, every import points down
the rooms' layers (LAYERS), only the command line (the cli package, __main__.py) imports the
command line, and only the app package imports streamlit.

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
    assert "explainer.gpt.model" in g["explainer.gpt.training"]         # a top-level import
    assert "explainer.corpus" in g["explainer.bench.measure"]           # `from .. import corpus`, in a function
    assert "explainer.gpt.paramfile" in g["explainer.serve.registry"]   # `from ..gpt.paramfile import ...`


def test_cycle_finder_finds_a_cycle_through_three_modules():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_inside_explainer():
    found = cycles(graph())
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_only_the_command_line_imports_the_command_line():
    offenders = sorted(m for m, deps in graph().items() if any(is_cli(d) for d in deps) and not is_cli(m))
    assert offenders == [], f"library modules importing explainer.cli: {offenders}"


# The rooms from the bottom up: a module may import its own room and the rooms below it, never one
# above. Rooms on one line are side by side and never import each other.
LAYERS = [
    ["i18n"],
    ["corpus", "runfile"],
    ["gpt"],
    ["phases", "export"],
    ["views"],
    ["real"],
    ["agents"],
    ["serve"],
    ["classroom"],
    ["bench"],
    ["journey", "notebook", "app"],
    ["cli"],
    ["__main__"],
]
RANK = {room: i for i, rooms in enumerate(LAYERS) for room in rooms}


def room(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_every_module_sits_in_a_room_and_the_top_level_is_small():
    g = graph()
    assert {room(m) for m in g} - {""} <= set(RANK), "a room missing from LAYERS"
    top = [m for m in g if m.count(".") == 1 and (PKG / f"{room(m)}.py").exists()]
    assert len(top) <= 12, f"{len(top)} modules at the top of explainer/: {sorted(top)}"


def test_imports_point_down_the_layers():
    g = graph()
    upward = sorted(f"{m} -> {d}" for m, deps in g.items() for d in deps
                    if room(m) and room(d) and room(m) != room(d)
                    and RANK[room(d)] >= RANK[room(m)])
    assert upward == [], "imports that point up or sideways: " + "; ".join(upward)


def test_only_the_app_package_imports_streamlit():
    offenders = []
    for path in PKG.rglob("*.py"):
        if "__pycache__" in path.parts or module_name(path).startswith("explainer.app"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if any(n.split(".")[0] == "streamlit" for n in names):
                offenders.append(module_name(path))
    assert offenders == [], f"streamlit imported outside explainer.app: {sorted(set(offenders))}"
