"""``bastion role``: create, list, delete; a role in use cannot be deleted."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.server import base_env, cli


def test_role_create_list_assign_and_delete(tmp_path: Path) -> None:
    env = base_env(tmp_path, None)
    out = cli(
        env, "role", "create", "desk", "--perm", "chat.handle", "--perm", "canned.manage", "--json"
    )
    assert json.loads(out.stdout) == {
        "name": "desk",
        "builtin": False,
        "permissions": ["canned.manage", "chat.handle"],
    }
    cli(
        env,
        "user",
        "create",
        "--email",
        "d@example.com",
        "--role",
        "desk",
        "--password-stdin",
        stdin="a perfectly fine password\n",
    )
    roles = {r["name"]: r for r in json.loads(cli(env, "role", "list", "--json").stdout)}
    assert roles["desk"]["users"] == 1 and roles["admin"]["builtin"] is True
    assert "roles.manage" in roles["admin"]["permissions"]

    busy = cli(env, "role", "delete", "desk", check=False)
    assert busy.returncode == 1 and "still have this role" in busy.stderr
    bad = cli(env, "role", "create", "x2", "--perm", "root.all", check=False)
    assert bad.returncode == 1 and "unknown permission" in bad.stderr
    fixed = cli(env, "role", "delete", "agent", check=False)
    assert fixed.returncode == 1 and "Traceback" not in fixed.stderr
    cli(env, "role", "create", "spare")
    assert cli(env, "role", "delete", "spare").stdout.strip() == "deleted role spare"
