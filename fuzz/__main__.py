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
import os
import subprocess
import sys

import httpx

from launcher import throwaway
from launcher.apps import ROOT
from launcher.demo_data import DEMO_PASSWORD

PORT_OFFSET = 2000
ACCOUNTS = "wang.fang@demo.crm,admin@demo.crm"


def _run_as(email: str, gateway: str, args: argparse.Namespace) -> int:
    """One schemathesis run over the whole document, signed in as ``email``; its exit status."""
    signed_in = httpx.post(
        f"{gateway}/api/v1/auth/token", json={"email": email, "password": DEMO_PASSWORD}, timeout=30
    )
    signed_in.raise_for_status()
    token = signed_in.json()["access_token"]
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
        "--seed",
        str(args.seed),
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-dir",
        str(ROOT / ".data" / "fuzz" / "report"),
    ]
    hooks = {**os.environ, "SCHEMATHESIS_HOOKS": "fuzz.hooks"}
    return subprocess.run(command, cwd=ROOT, env=hooks, check=False).returncode  # noqa: S603


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument("--max-examples", type=int, default=10, help="test cases per operation and phase")
    parser.add_argument("--workers", default="1")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--keep", action="store_true", help="keep the crm_fuzz database afterwards")
    parser.add_argument("--accounts", default=ACCOUNTS, help="demo accounts to sign in as, comma-separated")
    args = parser.parse_args()

    with throwaway.database_server("fuzz") as server_url:
        url = throwaway.recreate_database(server_url, "crm_fuzz")
        env = {"GATEWAY_RATE_LIMIT": "100000000/minute", "CRM_LOG_LEVEL": "WARNING"}
        with throwaway.running_stack(url, name="fuzz", port_offset=PORT_OFFSET, demo_data=True, env=env):
            gateway = f"http://127.0.0.1:{8000 + PORT_OFFSET}"
            # Every account in turn: what an agent may not call (products, users, webhooks, reports)
            # is exercised as the admin.
            status = max(_run_as(email, gateway, args) for email in args.accounts.split(","))
        if not args.keep:
            throwaway.drop_database(server_url, "crm_fuzz")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
