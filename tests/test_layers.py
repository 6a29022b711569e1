"""Imports run one way, down: the package's floors never import what stands on them.

The floors mirror TorchGeo's layout. From the bottom:

0. ``constants``: the conventions every floor shares (label scheme, normalisation);
1. ``datasets`` and ``models`` (peers: neither imports the other; ``models`` also
   holds the registry of shipped files, the weights and the structure bank);
2. ``samplers`` (over ``datasets``) and ``transforms`` (over ``models``: the
   augmentations hold inpainters and load the structure bank);
3. ``losses``;
4. ``datamodules`` and ``tasks`` (peers, as in TorchGeo);

and on top everything else (the package's ``__init__``, the CLI, experiments,
benchmarks), which may import any floor but is imported by none. A module may import
the modules of its own floor unit (``transforms.csia`` imports
``transforms.sources``). Every import counts: at module level, inside functions
(imported on use) and under ``TYPE_CHECKING``.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = 'torchgeo_csia'
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
FLOORS: tuple[frozenset[str], ...] = (
    frozenset({'constants'}),
    frozenset({'datasets', 'models'}),
    frozenset({'samplers', 'transforms'}),
    frozenset({'losses'}),
    frozenset({'datamodules', 'tasks'}),
)
#: the floor of everything not named in FLOORS
TOP = len(FLOORS)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob('*.py'))}


def unit(module: str) -> str:
    """The floor unit of a module: its first name below the package ('' for it)."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else ''


def floor(module: str) -> int:
    name = unit(module)
    return next((i for i, f in enumerate(FLOORS) if name in f), TOP)


def resolve(module: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The package modules that an import statement in *module* loads."""
    is_package = MODULES[module].name == '__init__.py'
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split('.')[0] == PACKAGE]
    if node.level:
        base = module.split('.')
        drop = node.level - 1 if is_package else node.level
        base = base[: len(base) - drop]
        target = '.'.join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ''
    if target.split('.')[0] != PACKAGE:
        return []
    # `from pkg import sub` loads pkg.sub when sub is a module
    subs = [f'{target}.{a.name}' for a in node.names if f'{target}.{a.name}' in MODULES]
    return subs or [target]


def imports() -> list[tuple[str, str, int]]:
    """``(importer, imported, line)`` for every package import in the package."""
    out = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in resolve(module, node):
                    out.append((module, target, node.lineno))
    return out


def test_floors_are_units_of_the_package() -> None:
    # a floor that is renamed or removed must leave FLOORS too
    units = {unit(m) for m in MODULES}
    assert set().union(*FLOORS) <= units | {'losses'}


def test_no_import_runs_up() -> None:
    upward = [
        f'{MODULES[a].relative_to(ROOT.parent)}:{line} imports {b} '
        f'(floor {floor(a)} -> floor {floor(b)})'
        for a, b, line in imports()
        if unit(a) != unit(b) and floor(b) >= floor(a) and floor(a) != TOP
    ]
    assert not upward, '\n'.join(upward)


def test_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for a, b, _ in imports():
        # importing a.b.c runs the packages a and a.b first
        parts = b.split('.')
        loaded = {'.'.join(parts[:i]) for i in range(2, len(parts) + 1)}
        graph[a] |= {m for m in loaded if m in graph and m != a}
    # a module's own packages import it (`__init__` re-exports): not a cycle back
    for a in graph:
        graph[a] -= {p for p in graph if a.startswith(p + '.')}
    seen: dict[str, int] = {}  # 1: on the stack, 2: done

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph[node]):
            if seen.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail('import cycle: ' + ' -> '.join(cycle))
            if nxt not in seen:
                visit(nxt, [*stack, nxt])
        seen[node] = 2

    for m in sorted(graph):
        if m not in seen:
            visit(m, [m])


def test_the_check_sees_an_upward_import() -> None:
    node = ast.parse('from ..transforms.sources import StructureBank').body[0]
    assert isinstance(node, ast.ImportFrom)
    [target] = resolve(f'{PACKAGE}.models.weights', node)
    assert target == f'{PACKAGE}.transforms.sources'
    assert floor(target) > floor(f'{PACKAGE}.models.weights')
