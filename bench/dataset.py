"""The benchmark's data set: a fresh database, every app's migrations, users and clients by COPY.

Loading writes straight into the schemas with ``COPY`` (the API would take minutes for 100,000
clients); encrypted fields are sealed with the same ``FieldCipher`` the clients service uses, so
the apps read the rows exactly as if they had created them.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import asyncpg

from crmkit.crypto import FieldCipher, mask_middle
from crmkit.settings import DEV_FIELD_KEY
from launcher.throwaway import plain

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建国红梅志强晓东海燕"
CHANNELS = ("warm_market", "referral", "cold", "online")
OCCUPATIONS = (("中学教师", 1), ("软件工程师", 1), ("会计", 1), ("护士", 2), ("销售经理", 2), ("物流司机", 4))
REGIONS = ("310115", "110105", "440305", "330106", "320106")
_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RIC_CHECK = "10X98765432"


@dataclass
class Agent:
    user_id: uuid.UUID
    team_id: uuid.UUID
    client_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class DataSet:
    agents: list[Agent]
    teams: list[uuid.UUID]
    load_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def clients(self) -> int:
        return sum(len(a.client_ids) for a in self.agents)


def _resident_id(rng: random.Random, birth: date) -> str:
    body = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + _RIC_CHECK[sum(int(d) * w for d, w in zip(body, _RIC_WEIGHTS, strict=True)) % 11]


async def load_people(url: str, *, agents: int, teams: int, first: int = 0) -> DataSet:
    """Teams of agents in the identity schema (no passwords needed: the bench mints tokens);
    ``first``: numbering (names, e-mails) starts after it, for a second load into the same book."""
    team_ids = [uuid.uuid4() for _ in range(teams)]
    people = [Agent(uuid.uuid4(), team_ids[i % teams]) for i in range(agents)]
    now = datetime.now(UTC)
    conn = await asyncpg.connect(plain(url))
    try:
        await conn.copy_records_to_table(
            "teams",
            schema_name="identity",
            columns=["id", "name", "created_at"],
            records=[(t, f"Bench team {first + i + 1}", now) for i, t in enumerate(team_ids)],
        )
        await conn.copy_records_to_table(
            "users",
            schema_name="identity",
            columns=[
                "id",
                "email",
                "full_name",
                "role",
                "team_id",
                "password_hash",
                "is_active",
                "version",
                "created_at",
                "updated_at",
            ],
            records=[
                (
                    a.user_id,
                    f"agent{first + i + 1}@bench.crm",
                    f"Bench agent {first + i + 1}",
                    "agent",
                    a.team_id,
                    "!bench-no-password",
                    True,
                    1,
                    now,
                    now,
                )
                for i, a in enumerate(people)
            ],
        )
    finally:
        await conn.close()
    return DataSet(agents=people, teams=team_ids)


async def load_clients(url: str, data: DataSet, *, count: int, seed: int = 7, batch: int = 20_000) -> float:
    """``count`` more clients spread evenly over the agents; returns the seconds it took."""
    rng = random.Random(seed + data.clients)
    cipher = FieldCipher(DEV_FIELD_KEY)
    started = time.perf_counter()
    base_time = datetime.now(UTC) - timedelta(days=365)
    conn = await asyncpg.connect(plain(url))
    try:
        columns = [
            "id",
            "owner_agent_id",
            "team_id",
            "name",
            "gender",
            "birth_date",
            "resident_id_cipher",
            "resident_id_hmac",
            "resident_id_masked",
            "id_document_type",
            "phone_cipher",
            "phone_hmac",
            "phone_masked",
            "occupation",
            "occupation_class",
            "channel",
            "referred_by_client_id",
            "version",
            "created_at",
            "updated_at",
        ]
        done = 0
        serial = data.clients
        while done < count:
            rows = []
            for _ in range(min(batch, count - done)):
                serial += 1
                agent = data.agents[serial % len(data.agents)]
                client_id = uuid.uuid4()
                birth = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 45))
                resident_id = _resident_id(rng, birth)
                phone = f"+86139{rng.randrange(10**8):08d}"
                occupation, occupation_class = rng.choice(OCCUPATIONS)
                channel = rng.choice(CHANNELS)
                referrer = (
                    rng.choice(agent.client_ids) if channel == "referral" and agent.client_ids else None
                )
                if channel == "referral" and referrer is None:
                    channel = "warm_market"
                created = base_time + timedelta(seconds=serial)
                rows.append(
                    (
                        client_id,
                        agent.user_id,
                        agent.team_id,
                        rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                        rng.choice(("male", "female")),
                        birth,
                        cipher.encrypt(resident_id, context="clients.resident_id"),
                        cipher.lookup_hash(resident_id, context="clients.resident_id"),
                        mask_middle(resident_id, keep_start=3, keep_end=4),
                        "resident_id",
                        cipher.encrypt(phone, context="clients.phone"),
                        cipher.lookup_hash(phone, context="clients.phone"),
                        f"+86 {mask_middle(phone[3:], keep_start=3, keep_end=4)}",
                        occupation,
                        occupation_class,
                        channel,
                        referrer,
                        1,
                        created,
                        created,
                    )
                )
                agent.client_ids.append(client_id)
            await conn.copy_records_to_table("clients", schema_name="clients", columns=columns, records=rows)
            done += len(rows)
        await conn.execute("ANALYZE clients.clients")
    finally:
        await conn.close()
    return time.perf_counter() - started


SETTLED_TABLES = (
    "identity.users",
    "clients.clients",
    "policies.applications",
    "policies.policies",
    "policies.premium_dues",
    "claims.claims",
)


async def settle(url: str) -> float:
    """Vacuum, analyse and checkpoint what was bulk-loaded, as a database in service would be.

    Without it autovacuum and the checkpointer start on the fresh tables in the middle of the
    measurements, on the same two cores; the seconds it took are returned (and reported)."""
    started = time.perf_counter()
    conn = await asyncpg.connect(plain(url))
    try:
        for table in SETTLED_TABLES:
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        # Not a superuser: the checkpointer runs on its own schedule.
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    return time.perf_counter() - started
