"""Each app's head as ``crmkit.app`` reads it (its files, no alembic) is alembic's head."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmkit import migrations, revisions
from launcher.apps import ALL_APPS, AppSpec


@pytest.mark.parametrize("spec", ALL_APPS, ids=lambda spec: spec.name)
def test_the_head_read_from_the_files_is_alembics(spec: AppSpec) -> None:
    assert revisions.head_revision(spec.migrations_dir) == migrations.head_revision(spec.migrations_dir)


def _write(versions: Path, name: str, body: str) -> None:
    (versions / f"{name}.py").write_text(body, encoding="utf-8")


def test_a_branch_merged_again_has_one_head(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    _write(versions, "a", 'revision = "a"\ndown_revision = None\n')
    _write(versions, "b", 'revision = "b"\ndown_revision = "a"\n')
    _write(versions, "c", 'revision: str = "c"\ndown_revision = "a"\n')
    _write(versions, "d", 'revision = "d"\ndown_revision = ("b", "c")\n')
    assert revisions.head_revision(tmp_path) == "d"


def test_no_migration_has_no_head(tmp_path: Path) -> None:
    (tmp_path / "versions").mkdir()
    assert revisions.head_revision(tmp_path) is None
