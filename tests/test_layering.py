"""The package's rooms import only downward, and no module imports itself round a circle.

Imports are read from the source with :mod:`ast`, so that what is checked is what a
reader sees: every ``import`` and ``from ... import``, at module level or inside a
function, counts; those under ``if TYPE_CHECKING:`` count only for the annotation-level
circle check, since they never run.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mocopr"

#: Which rooms each room may import (besides itself). A room is a subpackage, or a
#: top-level module; "mocopr" is the package's own ``__init__``, the public API.
ALLOWED: dict[str, set[str]] = {
    "protocol": set(),
    "ipc": set(),
    # A client: it speaks the protocol and shares the sans-I/O header codec.
    "loadtest": {"protocol", "transport"},
    "app": {"protocol"},
    "transport": {"protocol", "app"},
    "config": {"transport"},
    "loader": {"app"},
    "workers": {"protocol", "app", "transport", "config", "ipc", "loader"},
    "server": {"protocol", "app", "transport", "config", "ipc", "loader", "workers"},
    "cli": {"mocopr", "protocol", "app", "transport", "config", "loader", "server", "loadtest"},
    "mocopr": {"protocol", "app"},
    "__main__": {"cli"},
}


def module_name(path: Path) -> str:
    parts = ["mocopr", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "mocopr"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from`` import names, relative or not."""
    if not node.level:
        return node.module or ""
    package = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def _targets(importer: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The modules of ours an import statement loads: ``from pkg import mod`` loads pkg.mod."""
    if isinstance(node, ast.Import):
        names = {alias.name for alias in node.names}
    else:
        base = _resolve(importer, node)
        submodules = {f"{base}.{alias.name}" for alias in node.names}
        names = {name if name in MODULES else base for name in submodules}
    return {name for name in names if name in MODULES}


def imports_of(module: str, *, with_type_checking: bool) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node) and not with_type_checking:
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.update(_targets(module, node))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    return found


def graph(*, with_type_checking: bool) -> dict[str, set[str]]:
    return {module: imports_of(module, with_type_checking=with_type_checking) for module in MODULES}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports, as the list of modules round it, or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def walk(module: str) -> list[str] | None:
        state[module] = "open"
        stack.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := walk(target)):
                return cycle
        stack.pop()
        state[module] = "done"
        return None

    for module in sorted(edges):
        if module not in state and (cycle := walk(module)):
            return cycle
    return None


def test_every_module_belongs_to_a_room_of_the_table():
    assert {room_of(module) for module in MODULES} <= set(ALLOWED)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_the_rooms_below_its_own(module):
    room = room_of(module)
    upward = {
        target
        for target in imports_of(module, with_type_checking=False)
        if room_of(target) != room and room_of(target) not in ALLOWED[room]
    }
    assert not upward, f"{module} ({room}) may import only {sorted(ALLOWED[room])}; it imports {upward}"


def test_no_circle_of_imports_at_run_time():
    assert find_cycle(graph(with_type_checking=False)) is None


def test_no_circle_of_imports_even_counting_annotations():
    """A circle that exists only for the type checker still makes a reader hold every
    module of it in mind at once; none is left."""
    assert find_cycle(graph(with_type_checking=True)) is None


def test_the_checks_see_a_circle_and_an_upward_import_when_there_is_one():
    """The checker itself: a made-up graph with a circle is caught, and the real
    graph does record the imports the table speaks of."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert "mocopr.config" in imports_of("mocopr.workers.worker", with_type_checking=False)
    assert "mocopr.workers.worker" in imports_of("mocopr.server.child", with_type_checking=False)
    assert "mocopr.app.context" in imports_of("mocopr.app.server", with_type_checking=False)


def test_the_package_ships_its_type_hints():
    """PEP 561: ``py.typed`` is in the package and in what setuptools puts in a wheel."""
    assert (PACKAGE / "py.typed").is_file()
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()
    assert 'mocopr = ["py.typed"]' in pyproject
