"""The dashboard's modules import one way: no circle, counting imports inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in DASHBOARD.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dashboard"):
                parts = node.module.split(".")
                deps |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
        graph[path.stem] = deps - {path.stem}
    return graph


def test_no_import_circle_between_dashboard_modules():
    graph = _graph()
    assert {"comparison", "views", "controls", "sidebar"} <= set(graph)
    for start in graph:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for dep in graph.get(node, ()):
                assert dep != start, " → ".join([*path, dep])
                if dep not in path:
                    stack.append((dep, [*path, dep]))
