"""The independent verifier (tools/verify_ledger.py and tools/ledger_verifier/) imports nothing of the application:
only the standard library, `cryptography`, the database driver and (for its progress bar) tqdm."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[2] / "tools"
ALLOWED = {"cryptography", "psycopg", "tqdm", "ledger_verifier"}


def test_the_verifier_imports_only_the_standard_library_cryptography_and_the_driver() -> None:
    files = [TOOLS / "verify_ledger.py", *sorted((TOOLS / "ledger_verifier").glob("*.py"))]
    found = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ALLOWED:
                    found.setdefault(path.name, []).append(name)
    assert len(files) >= 4 and not found, found
