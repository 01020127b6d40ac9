"""Every action code that the code base records has a label: the source is scanned for
``record(...)`` calls, and codes built from a variable are followed to the calls that give it."""

import ast
from pathlib import Path

from portal.audit.presenting import ACTION_GROUPS, ACTION_LABELS, action_group

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    path
    for folder in ("portal", "plugins")
    for path in (ROOT / folder).rglob("*.py")
    if "tests" not in path.parts
)


def _name_of(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _enclosing_function(node, parents) -> ast.FunctionDef | None:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node
    return None


class Scan:
    """The record() calls of the code base and the action codes they can write."""

    def __init__(self) -> None:
        self.trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in SOURCES}
        self.codes: dict[str, list[str]] = {}
        self.unresolved: list[str] = []

    def calls_to(self, function: str):
        for path, tree in self.trees.items():
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and _name_of(node.func) == function:
                    yield path, node

    def may_call(self, path: Path, call: ast.Call, defined_in: Path) -> bool:
        """Tell whether ``call`` in ``path`` can reach the function of that name defined in
        ``defined_in``: the same module, or one that imports the function or its module."""
        if path == defined_in:
            return isinstance(call.func, ast.Name)
        module = ".".join(defined_in.relative_to(ROOT).with_suffix("").parts)
        parent, _dot, last = module.rpartition(".")
        name = _name_of(call.func)
        for node in ast.walk(self.trees[path]):
            if isinstance(node, ast.ImportFrom):
                imported = {alias.name for alias in node.names}
                if node.module == module and name in imported:
                    return True
                if node.module == parent and last in imported:
                    return isinstance(call.func, ast.Attribute)
        return False

    def argument_values(self, function: ast.FunctionDef, parameter: str, where: str, defined_in):
        """Yield the string constants passed as ``parameter`` of ``function``."""
        names = [arg.arg for arg in function.args.args]
        position = names.index(parameter) if parameter in names else None
        found = False
        for path, call in self.calls_to(function.name):
            if not self.may_call(path, call, defined_in):
                continue
            value = None
            for keyword in call.keywords:
                if keyword.arg == parameter:
                    value = keyword.value
            if value is None and position is not None and position < len(call.args):
                value = call.args[position]
            if value is None:
                continue
            found = True
            yield from self.values(value, path, call, where)
        if not found:
            self.unresolved.append(f"{where}: no call gives {function.name}({parameter}=...)")

    def values(self, node, path, call, where, parents=None):
        """Yield the codes an expression can have."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.IfExp):
            yield from self.values(node.body, path, call, where)
            yield from self.values(node.orelse, path, call, where)
        elif isinstance(node, ast.JoinedStr | ast.Name):
            parents = _parents(self.trees[path])
            function = _enclosing_function(call, parents)
            if isinstance(node, ast.Name):
                variable, prefix = node.id, ""
            else:
                parts = node.values
                if (
                    len(parts) == 2
                    and isinstance(parts[0], ast.Constant)
                    and isinstance(parts[1], ast.FormattedValue)
                    and isinstance(parts[1].value, ast.Name)
                ):
                    prefix, variable = parts[0].value, parts[1].value.id
                else:
                    self.unresolved.append(f"{where}: cannot read {ast.unparse(node)}")
                    return
            if function is None:
                self.unresolved.append(f"{where}: {ast.unparse(node)} outside a function")
                return
            for value in self.argument_values(function, variable, where, path):
                yield prefix + value
        else:
            self.unresolved.append(f"{where}: cannot read {ast.unparse(node)}")

    def run(self) -> "Scan":
        for path, call in self.calls_to("record"):
            if not call.args:
                continue
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            for code in self.values(call.args[0], path, call, where):
                self.codes.setdefault(code, []).append(where)
        return self


def test_the_scan_finds_the_record_calls():
    scan = Scan().run()
    assert "order.created" in scan.codes
    assert "supplier.registration_changed" in scan.codes  # through _change_link(action)
    assert "purchase_order.confirmed" in scan.codes  # through _set_status(action)
    assert "order.picking" in scan.codes  # through f"order.{action}"
    assert "password.changed" in scan.codes  # through set_password(action=...)


def test_every_recorded_action_has_a_label():
    scan = Scan().run()
    assert scan.unresolved == []
    missing = {code: places for code, places in scan.codes.items() if code not in ACTION_LABELS}
    assert missing == {}, "add these action codes to portal/audit/presenting.py ACTION_LABELS"


def test_every_action_belongs_to_a_group():
    assert {code for code in ACTION_LABELS if action_group(code) not in ACTION_GROUPS} == set()
