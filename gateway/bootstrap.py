"""Create the first admin: ``python -m gateway.bootstrap --email E --password P [--full-name N]``.

Idempotent: when a user with that email exists, nothing changes and it still exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from crmkit.auth import Role
from crmkit.db import create_engine, session_factory
from gateway.config import Settings
from gateway.identity.service import create_user, get_user_by_email


async def ensure_admin(*, settings: Settings, email: str, password: str, full_name: str) -> bool:
    """Create the admin unless the email is taken; True when one was created."""
    engine = create_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with session_factory(engine)() as session:
            if await get_user_by_email(session=session, email=email) is not None:
                return False
            await create_user(
                session=session,
                settings=settings,
                email=email,
                password=password,
                full_name=full_name,
                role=Role.ADMIN,
                team_id=None,
            )
            await session.commit()
            return True
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create the first admin user if missing.")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--full-name", default="Administrator")
    args = parser.parse_args(argv)
    if len(args.password) < 12:
        parser.error("--password must be at least 12 characters")
    created = asyncio.run(
        ensure_admin(settings=Settings(), email=args.email, password=args.password, full_name=args.full_name)
    )
    print("admin created" if created else "admin already exists; nothing changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
