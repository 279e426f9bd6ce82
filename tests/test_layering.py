"""Architecture rules checked on the source text (with ast), without importing anything.

* ``crypto/`` imports only the standard library, ``cryptography``, ``argon2``, ``diceware`` and
  ``shamir_mnemonic`` (the escrow key's shares), never flask, sqlalchemy or portal, and never logs.
* ``portal/services/`` never imports flask.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRYPTO = ROOT / "crypto"
SERVICES = ROOT / "portal" / "services"

CRYPTO_THIRD_PARTY = frozenset({"cryptography", "argon2", "diceware", "shamir_mnemonic"})
CRYPTO_FORBIDDEN = frozenset({"flask", "sqlalchemy", "portal", "logging"})


def imported_modules(source: str, filename: str = "<source>") -> Iterator[str]:
    """Yield the absolute module names a source file imports.

    Covers ``import x``, ``from x import y`` and calls to ``importlib.import_module("x")`` or
    ``__import__("x")`` with a literal name. Relative imports stay inside the package and are
    skipped.
    """
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield node.module
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if (
                name in {"import_module", "__import__"}
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                yield first.value


def top_level(module: str) -> str:
    return module.split(".", 1)[0]


def python_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py")) if folder.is_dir() else []


def crypto_violations(source: str, filename: str = "<source>") -> list[str]:
    allowed = set(sys.stdlib_module_names) | CRYPTO_THIRD_PARTY | {"crypto", "__future__"}
    problems = []
    for module in imported_modules(source, filename):
        root = top_level(module)
        if root in CRYPTO_FORBIDDEN or root not in allowed:
            problems.append(f"{filename} imports {module}")
    return problems


def flask_violations(source: str, filename: str = "<source>") -> list[str]:
    return [
        f"{filename} imports {module}"
        for module in imported_modules(source, filename)
        if top_level(module) == "flask" or top_level(module).startswith("flask_")
    ]


def test_checkers_detect_violations() -> None:
    # Guards against a checker that silently passes everything.
    assert crypto_violations("import flask")
    assert crypto_violations("from sqlalchemy.orm import Session")
    assert crypto_violations("from portal.models import Case")
    assert crypto_violations("import logging")
    assert crypto_violations("import requests")
    assert crypto_violations("import importlib\nimportlib.import_module('portal.db')")
    assert not crypto_violations("import hmac\nfrom cryptography.hazmat import primitives")
    assert not crypto_violations("from argon2.low_level import hash_secret_raw\nfrom . import x")
    assert flask_violations("from flask import g")
    assert flask_violations("import flask_wtf")
    assert not flask_violations("from sqlalchemy.orm import Session")


def test_crypto_imports_only_stdlib_and_its_libraries() -> None:
    files = python_files(CRYPTO)
    assert files, "crypto/ has no Python files"
    problems = []
    for path in files:
        problems += crypto_violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not problems, problems


def test_crypto_never_prints() -> None:
    problems = []
    for path in python_files(CRYPTO):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "print"
            ):
                problems.append(f"{path.relative_to(ROOT)}:{node.lineno} calls print")
    assert not problems, problems


def test_services_never_import_flask() -> None:
    # The folder may still be empty; the rule holds for whatever is there.
    problems = []
    for path in python_files(SERVICES):
        problems += flask_violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not problems, problems
