"""Package fronts that import a module only when one of its names is first used.

A front lists its public names once, as ``from procure.pkg.module import name`` lines under
``if TYPE_CHECKING:`` (what mypy and a reader see). ``lazy_front`` reads that block from the
front's own source and gives the module a ``__getattr__`` that imports the name's module on first
use. So ``procure agreement`` never pays for SQLModel and Alembic, which only the records need,
while pages and the CLI still import everything from the fronts.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path


def _names_under_type_checking(source: str) -> dict[str, tuple[str, str]]:
    origins: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    for alias in statement.names:
                        origins[alias.asname or alias.name] = (statement.module, alias.name)
    return origins


def lazy_front(package: str) -> tuple[Callable[[str], object], list[str]]:
    """``__getattr__`` and ``__all__`` for the package front named ``package``."""
    front = sys.modules[package]
    origins = _names_under_type_checking(Path(str(front.__file__)).read_text(encoding="utf-8"))

    def __getattr__(name: str) -> object:
        try:
            module, attribute = origins[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), attribute)
        setattr(front, name, value)  # the next lookup is an ordinary attribute
        return value

    return __getattr__, sorted(origins)
