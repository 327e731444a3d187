"""Visitor sessions: origin check, hashed tokens, expiry, rotation."""

from __future__ import annotations

import pytest

from bastion.domain.errors import InvalidInput, NotAuthenticated, NotFound, OriginNotAllowed
from bastion.security.tokens import hash_token
from tests.support.factories import World


async def test_session_requires_an_allowed_page_origin(world: World) -> None:
    visitors = world.svc.visitors
    issued = await visitors.create_session(world.widget_id, "http://127.0.0.1:8000/shop?x=1", None)
    assert issued.token.startswith("vt_")
    with pytest.raises(OriginNotAllowed):
        await visitors.create_session(world.widget_id, "https://evil.example/", None)
    with pytest.raises(InvalidInput):
        await visitors.create_session(world.widget_id, "javascript:alert(1)", None)
    with pytest.raises(NotFound):
        await visitors.create_session("w_missing", "http://127.0.0.1:8000/", None)


async def test_tokens_are_stored_hashed(world: World) -> None:
    issued = await world.svc.visitors.create_session(
        world.widget_id, "http://127.0.0.1:8000/", None
    )
    from sqlalchemy import text

    async with world.svc.db.transaction(write=False) as conn:
        rows = (await conn.execute(text("SELECT token_hash FROM visitor_tokens"))).all()
    stored = {r.token_hash for r in rows}
    assert hash_token(issued.token) in stored
    assert issued.token not in stored


async def test_tokens_expire_and_rotate_with_grace(world: World) -> None:
    visitors = world.svc.visitors
    first = await visitors.create_session(world.widget_id, "http://127.0.0.1:8000/", None)
    second = await visitors.create_session(world.widget_id, "http://127.0.0.1:8000/", first.token)
    assert second.visitor_id == first.visitor_id and second.token != first.token
    await visitors.authenticate(first.token)  # still valid during the grace period
    world.clock.advance(seconds=61)
    with pytest.raises(NotAuthenticated):
        await visitors.authenticate(first.token)
    await visitors.authenticate(second.token)
    world.clock.advance(days=31)
    with pytest.raises(NotAuthenticated):
        await visitors.authenticate(second.token)
    # An expired token resumes nothing: a new visitor is made.
    third = await visitors.create_session(world.widget_id, "http://127.0.0.1:8000/", second.token)
    assert third.visitor_id != first.visitor_id


async def test_page_views_are_validated(world: World) -> None:
    visitor = await world.visitor()
    shop = "http://127.0.0.1:8000"  # the world's widget is embedded there only
    await world.svc.visitors.record_page(visitor, f"{shop}/cart", "Cart", None)
    with pytest.raises(InvalidInput):
        await world.svc.visitors.record_page(visitor, "javascript:alert(1)", None, None)
    with pytest.raises(InvalidInput):
        await world.svc.visitors.record_page(visitor, f"{shop}/", "bad\x00title", None)
    # A page outside the widget's sites is not where the visitor is: agents would read a
    # link the visitor made up as the page they are on.
    for elsewhere in ("https://evil.example/reset?from=bank", "http://127.0.0.1:8001/cart"):
        with pytest.raises(OriginNotAllowed):
            await world.svc.visitors.record_page(visitor, elsewhere, "Bank", None)
    # A referrer may be anywhere (people arrive from search engines).
    await world.svc.visitors.record_page(visitor, f"{shop}/", "Home", "https://search.example/")
    pages = [m["url"] for ch, m in world.bus.published if m.get("type") == "page"]
    assert pages == [f"{shop}/cart", f"{shop}/"]
