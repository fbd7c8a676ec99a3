"""``python -m fuzz``: schemathesis against the whole API, as a demo agent and as the admin.

A fresh ``crm_fuzz`` database (``CRM_TEST_DATABASE_URL``'s server, else the embedded one), the real
launcher with the demo data on ports offset by 2000, then ``schemathesis run`` over every
operation of the gateway's merged ``/openapi.json``, once per account, with its default checks (no
server errors; status codes, content types, headers and bodies conform to the document). Exits with
schemathesis's status: 0 means zero failures. ``.ci/run`` runs it with few examples per
operation; ``make fuzz`` with more.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from launcher import throwaway
from launcher.apps import ROOT
from launcher.demo_data import DEMO_PASSWORD

PORT_OFFSET = 2000
ACCOUNTS = "wang.fang@demo.crm,admin@demo.crm"


MAX_AUTH_FAILURE_SHARE = 0.10
"""A run where more than this share of answers are 401/403 mostly tested the door, not the code."""


def _sign_in(gateway: str, email: str) -> str:
    signed_in = httpx.post(
        f"{gateway}/api/v1/auth/token", json={"email": email, "password": DEMO_PASSWORD}, timeout=30
    )
    signed_in.raise_for_status()
    token: str = signed_in.json()["access_token"]
    return token


def _run_as(email: str, token: str, gateway: str, args: argparse.Namespace) -> int:
    """One schemathesis run over the whole document, signed in as ``email``; its exit status."""
    print(f"fuzz | as {email}", flush=True)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(ROOT / "fuzz" / "schemathesis.toml"),
        "run",
        f"{gateway}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(args.max_examples),
        "--workers",
        args.workers,
        "--phases",
        args.phases,
        "--seed",
        str(args.seed),
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-dir",
        str(ROOT / ".data" / "fuzz" / "report"),
    ]
    tally = ROOT / ".data" / "fuzz" / f"tally-{email.split('@')[0]}.json"
    tally.parent.mkdir(parents=True, exist_ok=True)
    tally.unlink(missing_ok=True)
    hooks = {**os.environ, "SCHEMATHESIS_HOOKS": "fuzz.hooks", "CRM_FUZZ_TALLY": str(tally)}
    status = subprocess.run(command, cwd=ROOT, env=hooks, check=False).returncode  # noqa: S603
    return max(status, _report(email, tally))


def _report(email: str, tally_file: Path) -> int:
    """Cases, the share of answers that reached the code (not 4xx) per operation, and the 401/403
    share; 1 when that share passes ``MAX_AUTH_FAILURE_SHARE``.

    Operations that refused this account (403) and never answered it 2xx are another role's
    (creating products for the admin, registering devices for operations staff): they are listed,
    run by the account that may call them, and left out of the share, which is there to catch a
    run that never got past the door (a 401)."""
    if not tally_file.exists():
        print(f"fuzz | as {email}: no tally written", flush=True)
        return 1
    tally: dict[str, dict[str, int]] = json.loads(tally_file.read_text())
    others = sorted(
        label
        for label, counts in tally.items()
        if "403" in counts and not any(status.startswith("2") for status in counts)
    )
    mine = {label: counts for label, counts in tally.items() if label not in others}
    cases = sum(sum(counts.values()) for counts in mine.values())
    refused = sum(n for counts in mine.values() for status, n in counts.items() if status in ("401", "403"))
    print(f"fuzz | as {email}: {cases} cases over {len(mine)} operations", flush=True)
    for label in sorted(mine):
        counts = mine[label]
        total = sum(counts.values())
        reached = sum(n for status, n in counts.items() if not status.startswith("4"))
        print(f"fuzz |   {label:<70} {total:>5} cases, {reached / total:6.1%} not 4xx", flush=True)
    if others:
        print(f"fuzz | as {email}: {len(others)} operations of another role (only 403): {', '.join(others)}")
    share = refused / cases if cases else 1.0
    print(f"fuzz | as {email}: 401/403 answers {refused} of {cases} ({share:.1%})", flush=True)
    if share > MAX_AUTH_FAILURE_SHARE:
        print(f"fuzz | FAILED: more than {MAX_AUTH_FAILURE_SHARE:.0%} of answers were 401/403", flush=True)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument("--max-examples", type=int, default=10, help="test cases per operation and phase")
    parser.add_argument("--workers", default="1")
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful", help="schemathesis phases")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--keep", action="store_true", help="keep the crm_fuzz database afterwards")
    parser.add_argument("--accounts", default=ACCOUNTS, help="demo accounts to sign in as, comma-separated")
    args = parser.parse_args()

    with throwaway.database_server("fuzz") as server_url:
        url = throwaway.recreate_database(server_url, "crm_fuzz")
        env = {
            "GATEWAY_RATE_LIMIT": "100000000/minute",
            "GATEWAY_RATE_LIMIT_ANONYMOUS": "100000000/minute",
            "CRM_LOG_LEVEL": "WARNING",
        }
        with throwaway.running_stack(url, name="fuzz", port_offset=PORT_OFFSET, demo_data=True, env=env):
            gateway = f"http://127.0.0.1:{8000 + PORT_OFFSET}"
            # Every account in turn: what an agent may not call (products, users, webhooks, reports)
            # is exercised as the admin.
            # Signed in up front: the fuzzing of /auth/token from this address soon throttles it.
            tokens = {email: _sign_in(gateway, email) for email in args.accounts.split(",")}
            status = max(_run_as(email, token, gateway, args) for email, token in tokens.items())
        if not args.keep:
            throwaway.drop_database(server_url, "crm_fuzz")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
