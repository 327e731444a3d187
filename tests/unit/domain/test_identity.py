"""Verified visitor identity: HMAC with an issue time, JWT (HS256, RS256, EdDSA), replay,
expiry, strict mode, secret rotation with overlap, audit of rejections."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from bastion.domain.errors import IdentityInvalid, IdentityRequired
from bastion.domain.models import Role
from bastion.domain.visitors import IdentityInput, IssuedSession
from bastion.security.identity import hmac_hash
from tests.support.factories import World

PAGE = "http://127.0.0.1:8000/account"


def _now(world: World) -> int:
    return int(world.clock.now().timestamp())


async def _session(
    world: World, identity: IdentityInput | None, resume: str | None = None
) -> IssuedSession:
    return await world.svc.visitors.create_session(world.widget_id, PAGE, resume, identity)


async def _rejections(world: World) -> list[str]:
    admin = await world.staff(f"admin{time.monotonic_ns()}@example.com", Role.ADMIN, name="Adm")
    return [e.details["reason"] for e in await world.svc.auth.audit(admin, 50, "identity.")]


async def test_hmac_with_issue_time(world: World) -> None:
    secret = await world.svc.widgets.rotate_hmac_secret(None, world.widget_id, 0)
    good = hmac_hash(secret, "cust-42", _now(world))
    issued = await _session(world, IdentityInput(user_id="cust-42", user_hash=good))
    assert issued.verified
    visitor = await world.svc.visitors.authenticate(issued.token)
    conv = await world.start(visitor)
    agent = await world.staff("a@example.com")
    frames, _ = await world.svc.chat.events_after(agent, conv, 0)
    assert frames[0]["visitor"]["verified"] is True

    with pytest.raises(IdentityInvalid):  # another user id with that hash
        await _session(world, IdentityInput(user_id="cust-43", user_hash=good))
    with pytest.raises(IdentityInvalid):  # a forged hash
        await _session(
            world, IdentityInput(user_id="cust-42", user_hash=f"{_now(world)}." + "0" * 64)
        )
    world.clock.advance(seconds=301)
    with pytest.raises(IdentityInvalid):  # a copied hash stops working after five minutes
        await _session(world, IdentityInput(user_id="cust-42", user_hash=good))
    assert set(await _rejections(world)) >= {"bad_signature", "expired"}
    # Unverified visitors may still chat in optional mode…
    assert not (await _session(world, None)).verified
    # …but not in strict mode.
    await world.svc.widgets.set_identity_mode(None, world.widget_id, "strict")
    with pytest.raises(IdentityRequired):
        await _session(world, None)


async def test_secret_rotation_keeps_the_old_secret_for_the_overlap(world: World) -> None:
    old = await world.svc.widgets.rotate_hmac_secret(None, world.widget_id, 0)
    new = await world.svc.widgets.rotate_hmac_secret(None, world.widget_id, 3600)
    for secret in (old, new):
        ok = await _session(
            world, IdentityInput(user_id="u", user_hash=hmac_hash(secret, "u", _now(world)))
        )
        assert ok.verified
    world.clock.advance(seconds=3601)
    with pytest.raises(IdentityInvalid):
        await _session(
            world, IdentityInput(user_id="u", user_hash=hmac_hash(old, "u", _now(world)))
        )
    assert (
        await _session(
            world, IdentityInput(user_id="u", user_hash=hmac_hash(new, "u", _now(world)))
        )
    ).verified


def _keypairs() -> dict[str, tuple[object, str]]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()

    def pem(k: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
        return (
            k.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    shared = "s" * 40
    return {
        "HS256": (shared, shared),
        "RS256": (rsa_key, pem(rsa_key)),
        "EdDSA": (ed_key, pem(ed_key)),
    }


@pytest.mark.parametrize("alg", ["HS256", "RS256", "EdDSA"])
async def test_jwt_good_bad_expired_replayed(world: World, alg: str) -> None:
    signing, public = _keypairs()[alg]
    kid = await world.svc.widgets.add_jwt_key(None, world.widget_id, alg, public)
    now = _now(world)

    def token(**over: object) -> str:
        claims = {
            "sub": "cust-7",
            "name": "Ona",
            "email": "ona@example.lt",
            "aud": world.widget_id,
            "exp": now + 300,
            "jti": f"j-{time.monotonic_ns()}",
            **over,
        }
        return jwt.encode(claims, signing, algorithm=alg, headers={"kid": kid})  # type: ignore[arg-type]

    good = token()
    issued = await _session(world, IdentityInput(identity_jwt=good))
    assert issued.verified
    visitor = await world.svc.visitors.authenticate(issued.token)
    conv = await world.start(visitor)
    summaries = await world.svc.chat.summaries_for_staff(
        await world.staff("s@example.com", Role.SUPERVISOR)
    )
    mine = next(s for s in summaries if s["id"] == conv)
    assert mine["visitor"] == {
        "id": visitor.visitor_id,
        "name": "Ona",
        "email": "ona@example.lt",
        "verified": True,
    }

    bad_cases = {
        "replay": good,
        "wrong_audience": token(aud="w_other"),
        "expired": token(exp=now - 120),
        "lifetime_too_long": token(exp=now + 86400),
        "missing_claim": jwt.encode(
            {"sub": "x", "aud": world.widget_id, "exp": now + 60},
            signing,
            algorithm=alg,
            headers={"kid": kid},
        ),  # type: ignore[arg-type]
        "bad_signature": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        "malformed": "not.a.jwt",
    }
    for reason, bad in bad_cases.items():
        with pytest.raises(IdentityInvalid):
            await _session(world, IdentityInput(identity_jwt=bad))
        assert reason in await _rejections(world) or reason == "bad_signature"
    # An unsigned token ("alg": "none") is never accepted.
    unsigned = jwt.encode(
        {"sub": "x", "aud": world.widget_id, "exp": now + 60, "jti": "n"}, None, algorithm="none"
    )
    with pytest.raises(IdentityInvalid):
        await _session(world, IdentityInput(identity_jwt=unsigned))


async def test_a_verified_browser_never_merges_two_customers(world: World) -> None:
    secret = await world.svc.widgets.rotate_hmac_secret(None, world.widget_id, 0)
    first = await _session(
        world, IdentityInput(user_id="alice", user_hash=hmac_hash(secret, "alice", _now(world)))
    )
    same = await _session(
        world,
        IdentityInput(user_id="alice", user_hash=hmac_hash(secret, "alice", _now(world))),
        resume=first.token,
    )
    assert same.visitor_id == first.visitor_id
    other = await _session(
        world,
        IdentityInput(user_id="bob", user_hash=hmac_hash(secret, "bob", _now(world))),
        resume=same.token,
    )
    assert other.visitor_id != first.visitor_id
