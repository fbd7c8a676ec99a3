"""An app's head revision read from its migration files, without importing alembic.

Every app needs its head at start (``/readyz`` compares it with the schema's ``alembic_version``);
importing alembic for it (mako, pygments and alembic's DDL modules) was ~0.5 s of each app's start.
A file whose ``revision`` or ``down_revision`` is not a plain literal, or a tree with several heads,
is left to alembic, which also gives its errors.
"""

from __future__ import annotations

import ast
from pathlib import Path


class _NotLiteral(ValueError):
    pass


def _revision_pair(source: Path) -> tuple[str, tuple[str, ...]]:
    """``revision`` and the ``down_revision``(s) assigned at the top of one migration file."""
    found: dict[str, object] = {}
    for node in ast.parse(source.read_bytes(), str(source)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name = node.target.id
        else:
            continue
        if name in ("revision", "down_revision"):
            try:
                found[name] = ast.literal_eval(node.value)  # type: ignore[arg-type]
            except ValueError:
                raise _NotLiteral(f"{source}: {name} is not a literal") from None
    revision, down = found.get("revision"), found.get("down_revision")
    if not isinstance(revision, str):
        raise _NotLiteral(f"{source}: no literal revision")
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
        return revision, tuple(down)
    raise _NotLiteral(f"{source}: down_revision is neither a revision nor a list of them")


def head_revision(migrations_dir: Path) -> str | None:
    """The single head of ``migrations_dir/versions`` (``None`` when there is no migration)."""
    try:
        pairs = [_revision_pair(p) for p in sorted((migrations_dir / "versions").glob("*.py"))]
    except _NotLiteral:
        pairs = []
    else:
        revised = {down for _, downs in pairs for down in downs}
        heads = [revision for revision, _ in pairs if revision not in revised]
        if not pairs:
            return None
        if len(heads) == 1:
            return heads[0]
    from crmkit.migrations import head_revision as alembic_head  # several heads, or unusual files

    return alembic_head(migrations_dir)
