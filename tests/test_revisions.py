"""The readiness check's head revision, read from the migration files without alembic, is the head
alembic itself finds, for every app and for a history with a merge."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from crmkit.migrations import alembic_config
from crmkit.revisions import head_revision
from launcher.apps import ALL_APPS, AppSpec


def alembic_head(migrations_dir: Path) -> str | None:
    return ScriptDirectory.from_config(alembic_config(migrations_dir, "")).get_current_head()


@pytest.mark.parametrize("spec", ALL_APPS, ids=lambda spec: spec.name)
def test_every_apps_head_is_alembics(spec: AppSpec) -> None:
    assert head_revision(spec.migrations_dir) == alembic_head(spec.migrations_dir)


def write_revision(versions: Path, revision: str, down_revision: str) -> None:
    (versions / f"{revision}.py").write_text(
        f'"""{revision}"""\n\nrevision: str = "{revision}"\ndown_revision = {down_revision}\n'
        "branch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    pass\n\n\n"
        "def downgrade() -> None:\n    pass\n",
        encoding="utf-8",
    )


def test_a_merged_history_and_an_empty_one(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    assert head_revision(tmp_path) is None

    write_revision(versions, "a1", "None")
    write_revision(versions, "b1", '"a1"')
    write_revision(versions, "c1", '"a1"')
    with pytest.raises(ValueError, match="several heads"):
        head_revision(tmp_path)

    write_revision(versions, "d1", '("b1", "c1")')
    assert head_revision(tmp_path) == "d1" == alembic_head(tmp_path)
