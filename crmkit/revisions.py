"""An app's head migration revision, read from its migration files without importing alembic.

Every app needs its head at startup (the readiness check compares it with the schema's
``alembic_version``); alembic itself (with the SQLAlchemy dialects its DDL layer imports) cost each
app ~7 MB of RSS (105 modules) for that one string. Each revision file names its
``revision`` and ``down_revision`` as literals (alembic's template); the head is the revision no
other file revises. ``tests/test_revisions.py`` checks the answer against alembic's for every app.
"""

from __future__ import annotations

import ast
from pathlib import Path


def _literals(path: Path) -> dict[str, object]:
    """The module-level ``revision`` and ``down_revision`` of one revision file."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            found[target.id] = ast.literal_eval(value)
    return found


def _revises(down_revision: object) -> set[str]:
    if down_revision is None:
        return set()
    if isinstance(down_revision, str):
        return {down_revision}
    if isinstance(down_revision, tuple | list) and all(isinstance(r, str) for r in down_revision):
        return set(down_revision)
    raise ValueError(f"down_revision {down_revision!r} is neither a revision nor a tuple of them")


def head_revision(migrations_dir: Path) -> str | None:
    """The single head of ``migrations_dir/versions`` (None when there is no revision yet), as
    alembic's ``ScriptDirectory.get_current_head()`` names it; several heads are an error there too."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in sorted((migrations_dir / "versions").glob("*.py")):
        if path.name.startswith(("__init__", ".#")):  # alembic skips these too (editor lock files)
            continue
        literals = _literals(path)
        revision = literals.get("revision")
        if not isinstance(revision, str):
            raise ValueError(f"{path}: no literal revision id")
        revisions.add(revision)
        revised |= _revises(literals.get("down_revision"))
    heads = revisions - revised
    if len(heads) > 1:
        raise ValueError(f"{migrations_dir}: several heads {sorted(heads)}; merge them")
    return next(iter(heads), None)
