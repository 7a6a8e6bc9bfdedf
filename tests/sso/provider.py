"""The real OpenID provider of the sign-in tests: ``tests/sso/provider/server.mjs`` (oidc-provider)
run by Node.js on a free loopback port. ``make test`` installs it (``make provider``: npm ci)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "provider"
CLIENT_ID = "pulse"
CLIENT_SECRET = "pulse-test-secret"

#: The provider's accounts: id -> claims. Any password signs in (the provider's development login page).
ACCOUNTS: dict[str, dict[str, Any]] = {
    "hr": {"email": "Hanna.HR@acme.test", "email_verified": True, "name": "Hanna", "groups": ["staff", "pulse-hr"]},
    "leader": {"email": "lea@acme.test", "email_verified": True, "name": "Lea", "groups": ["pulse-leaders"]},
    "newcomer": {"email": "nina@acme.test", "email_verified": True, "name": "Nina", "groups": ["pulse-leaders"]},
    "unverified": {"email": "hr2@acme.test", "email_verified": False, "name": "Unverified", "groups": ["pulse-hr"]},
    "stranger": {"email": "sam@acme.test", "email_verified": True, "name": "Sam", "groups": ["pulse-hr"]},
    "scoped": {
        "email": "stu@acme.test",
        "email_verified": True,
        "name": "Stu",
        "groups": ["pulse-leaders"],
        "units": ["retail / stores north"],
    },
    "outsider": {"email": "olga@globex.test", "email_verified": True, "name": "Olga", "groups": ["pulse-hr"]},
}


@contextlib.asynccontextmanager
async def oidc_provider(redirect_uri: str, *, mode: str = "normal", **env: str) -> AsyncIterator[str]:
    """Run the provider for ``redirect_uri``; yields its issuer URL (``http://127.0.0.1:PORT``)."""
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError(f"the test OpenID provider is not installed: run `make provider` ({HERE})")
    process = await asyncio.create_subprocess_exec(
        "node",
        str(HERE / "server.mjs"),
        cwd=str(HERE),
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PULSE_")},
            "PULSE_REDIRECT_URI": redirect_uri,
            "ACCOUNTS": json.dumps(ACCOUNTS),
            "MODE": mode,
            **env,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        if not line:
            raise RuntimeError(f"the OpenID provider exited with {await process.wait()}")
        yield str(json.loads(line)["issuer"])
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
