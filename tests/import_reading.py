"""What a module imports, read from its source, and what importing it really loads: the
shared means of the import-boundary tests (serving, batch, inference)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path


def imports_in(path: Path) -> set[str]:
    """The absolute module names ``path`` imports (relative imports are not used in edm)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def is_within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def modules_after_import(*modules: str) -> set[str]:
    """``sys.modules`` of a fresh interpreter once ``modules`` are imported."""
    code = f"import json, sys, {', '.join(modules)}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


def boundary_breaches(
    package: Path, forbidden: tuple[str, ...], registry_public: tuple[str, ...]
) -> list[str]:
    """Each module of ``package`` that imports something ``forbidden``, or a part of the
    registry outside ``registry_public``, with what it imports."""
    breaches = []
    for path in sorted(package.glob("*.py")):
        imported = imports_in(path)
        bad = sorted(n for n in imported if any(is_within(n, f) for f in forbidden))
        registry = {n for n in imported if is_within(n, "edm.registry")}
        bad += sorted(registry - set(registry_public))
        if bad:
            breaches.append(f"{path.name} imports {bad}")
    return breaches
