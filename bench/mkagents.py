"""Create agent accounts in one process (``bastion user create`` costs a start-up per user).

Usage, with the node's ``BASTION_*`` environment: ``python bench/mkagents.py N`` reads the
password from stdin and prints the created e-mails, one per line. Uses only the public
service layer, the same call the first-start bootstrap makes.
"""

from __future__ import annotations

import asyncio
import sys

from bastion.domain.models import Role
from bastion.services import build_services
from bastion.settings import load_settings


async def create(count: int, password: str) -> list[str]:
    svc = build_services(load_settings())
    emails = [f"agent{i}@bench.localhost" for i in range(count)]
    try:
        for email in emails:
            await svc.staff.create_user(
                None, email=email, password=password, role=Role.AGENT, name=email.split("@")[0]
            )
    finally:
        await svc.db.dispose()
    return emails


if __name__ == "__main__":
    print("\n".join(asyncio.run(create(int(sys.argv[1]), sys.stdin.readline().strip()))))
