"""chalicelib's modules import one another without cycles, and its layers in one direction only.

Read with the standard library's ast, function-level imports included:
`from package import name` is an edge to package.name when that is a module,
else to the package. Importing a submodule runs its package's __init__ too,
but that edge (child to parent) is how packages work and is not counted.
"""
import ast

from localdev import PROJECT_ROOT

PACKAGE = 'chalicelib'


def module_files():
    for path in sorted((PROJECT_ROOT / PACKAGE).rglob('*.py')):
        parts = path.relative_to(PROJECT_ROOT).with_suffix('').parts
        yield '.'.join(parts[:-1] if parts[-1] == '__init__' else parts), path


MODULES = dict(module_files())


def imports_of(path):
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                candidate = f'{node.module}.{alias.name}'
                found.add(candidate if candidate in MODULES else node.module)
    return {name for name in found if name in MODULES}


def graph():
    return {module: imports_of(path) for module, path in MODULES.items()}


def cycles(edges):
    """Every strongly connected component of more than one module (or a module importing itself)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges[node]:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert cycles(graph()) == []


# The layers, top to bottom (docs/architecture.md#layers): a module imports only from its own
# layer or below. HTTP glue and entry points, then the services, then providers and the store,
# then the leaves every layer may use.
LAYERS = (
    ('chalicelib.handlers', 'chalicelib.web'),
    ('chalicelib.orders', 'chalicelib.refunds', 'chalicelib.payments', 'chalicelib.notifications',
     'chalicelib.compensation', 'chalicelib.coins', 'chalicelib.events_api', 'chalicelib.cloudmarket',
     'chalicelib.reconciliation',
     'chalicelib.webhooks', 'chalicelib.keyring', 'chalicelib.checks', 'chalicelib.events'),
    ('chalicelib.providers',),
    ('chalicelib.store',),
    ('chalicelib.catalog', 'chalicelib.settings', 'chalicelib.auth', 'chalicelib.ordermodel',
     'chalicelib.aws', 'chalicelib.deadline', 'chalicelib.outbound', 'chalicelib.clock', 'chalicelib.money',
     'chalicelib.rsa',
     'chalicelib.signing', 'chalicelib.formdata', 'chalicelib.jsontext', 'chalicelib.errors',
     'chalicelib.retry', 'chalicelib.tables', 'chalicelib.qrimage', 'chalicelib'),
)


def layer_of(module):
    for depth, prefixes in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + '.') for prefix in prefixes):
            return depth
    raise AssertionError(f'{module} is in no layer: add it to LAYERS and docs/architecture.md')


def test_every_module_imports_only_its_own_layer_or_below():
    upward = {(module, target) for module, targets in graph().items() for target in targets
              if layer_of(target) < layer_of(module)}
    assert upward == set()
