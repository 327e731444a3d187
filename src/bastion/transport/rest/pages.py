"""HTML and static assets: console, widget loader and frame, demo page, privacy notice."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from bastion.domain.errors import NotFound
from bastion.domain.widgets import frame_ancestors
from bastion.security.headers import page_csp
from bastion.transport.context import services

router = APIRouter(include_in_schema=False)

NO_BUILD = (
    "<!doctype html><title>Bastion</title><p>The front-end is not built. "
    "Run <code>make run</code> (or <code>make web</code>).</p>"
)


def _html_file(path: Path, csp: str) -> Response:
    if not path.is_file():
        return HTMLResponse(NO_BUILD, status_code=503, headers={"Content-Security-Policy": csp})
    return FileResponse(
        path,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": csp, "Cache-Control": "no-cache"},
    )


def _asset(root: Path, rel: str) -> Response:
    """A file under ``root``; refuses anything that resolves outside it."""
    base = root.resolve()
    target = (base / rel).resolve()
    if base not in target.parents or not target.is_file():
        raise NotFound("no such file")
    return FileResponse(target, headers={"Cache-Control": "public, max-age=31536000, immutable"})


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/console/")


@router.get("/console")
async def console_redirect() -> RedirectResponse:
    return RedirectResponse("/console/")


@router.get("/console/assets/{path:path}")
async def console_asset(path: str, request: Request) -> Response:
    return _asset(services(request).web_dist / "console" / "assets", path)


@router.get("/console/{path:path}")
async def console(path: str, request: Request) -> Response:
    # A single-page app: every console URL serves the same document.
    return _html_file(services(request).web_dist / "console" / "index.html", page_csp())


@router.get("/widget.js")
async def widget_loader(request: Request) -> Response:
    path = services(request).web_dist / "widget.js"
    if not path.is_file():
        raise NotFound("the widget is not built")
    # Loaded by customers' pages: it must be readable cross-origin.
    return FileResponse(
        path,
        media_type="text/javascript; charset=utf-8",
        headers={"Cross-Origin-Resource-Policy": "cross-origin", "Cache-Control": "max-age=300"},
    )


@router.get("/widget/assets/{path:path}")
async def widget_asset(path: str, request: Request) -> Response:
    return _asset(services(request).web_dist / "widget" / "assets", path)


@router.get("/widget/frame")
async def widget_frame(
    request: Request, w: str = Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
) -> Response:
    svc = services(request)
    widget = await svc.widgets.get(w)
    # Only the widget's allowed sites may frame it (clickjacking defence).
    csp = page_csp(frame_ancestors=frame_ancestors(widget))
    response = _html_file(svc.web_dist / "widget" / "frame.html", csp)
    response.headers["Referrer-Policy"] = "origin"
    return response


@router.get("/privacy")
async def privacy() -> HTMLResponse:
    body = (PAGES / "privacy.html").read_text(encoding="utf-8")
    return HTMLResponse(body, headers={"Content-Security-Policy": page_csp()})


@router.get("/static/{path:path}")
async def static(path: str) -> Response:
    return _asset(PAGES / "static", path)


@router.get("/favicon.svg")
@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """The icon every page names; ``/favicon.ico`` too, which browsers and tools ask for unasked."""
    # An SVG under the .ico name: every current browser decodes it by its content type.
    return FileResponse(
        PAGES / "static" / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def demo_router() -> APIRouter:
    """``/demo/``: a pretend company page embedding the default widget (``serve --demo``)."""
    demo = APIRouter(include_in_schema=False)

    @demo.get("/demo")
    async def demo_redirect() -> RedirectResponse:
        return RedirectResponse("/demo/")

    @demo.get("/demo/")
    async def demo_page(request: Request) -> HTMLResponse:
        svc = services(request)
        widgets = await svc.widgets.list_all(None)
        if not widgets:
            raise NotFound("no widget exists yet")
        snippet = (
            f'<script async src="{html.escape(str(request.base_url).rstrip("/"))}/widget.js" '
            f'data-bastion-widget="{html.escape(widgets[0].id)}"></script>'
        )
        body = (PAGES / "demo.html").read_text(encoding="utf-8")
        body = body.replace("{{SNIPPET}}", snippet).replace(
            "{{SNIPPET_TEXT}}", html.escape(snippet)
        )
        return HTMLResponse(body, headers={"Content-Security-Policy": page_csp(frame_src="'self'")})

    return demo


PAGES = Path(__file__).with_name("templates")


def apidocs_router() -> APIRouter:
    """``/api/docs``: Swagger UI served from Bastion itself (no CDN, strict CSP)."""
    docs = APIRouter(include_in_schema=False)

    @docs.get("/api/docs")
    async def api_docs(request: Request) -> Response:
        if not (services(request).web_dist / "apidocs" / "swagger-ui-bundle.js").is_file():
            return HTMLResponse(NO_BUILD, status_code=503)
        body = (PAGES / "apidocs.html").read_text(encoding="utf-8")
        return HTMLResponse(body, headers={"Content-Security-Policy": page_csp()})

    @docs.get("/api/docs/assets/{path:path}")
    async def api_docs_asset(path: str, request: Request) -> Response:
        return _asset(services(request).web_dist / "apidocs", path)

    return docs
