"""Every error response is ``{"code","message"[,"field"]}``; none carries a stack trace."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.domain.errors import DomainError, InvalidInput, OtpRequired, RateLimited

log = structlog.get_logger(__name__)

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    401: "not_authenticated",
    403: "forbidden",
    413: "too_large",
    429: "rate_limited",
}


# A value the request may not carry, whether the schema or the domain refuses it: one code
# over REST. The domain's InvalidInput has the WebSocket protocol's code (``invalid_frame``,
# an error frame naming the field), which means nothing to a REST client.
INVALID_REQUEST = "invalid_request"
_REST_CODES = {InvalidInput.code: INVALID_REQUEST}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, str]:
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    return body


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, err: DomainError) -> JSONResponse:
        headers: dict[str, str] = {}
        code = _REST_CODES.get(err.code, err.code)
        body: dict[str, object] = dict(error_body(code, err.message, err.field))
        retry = getattr(err, "retry_after_s", None)
        if isinstance(err, RateLimited):
            retry = err.retry_after
            body["retry_after"] = err.retry_after
        if isinstance(err, OtpRequired):
            body["email_code"] = err.email_code
        if retry is not None:
            headers["Retry-After"] = str(retry)
        return JSONResponse(body, status_code=err.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, err: RequestValidationError) -> JSONResponse:
        errors = err.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        loc = tuple(first.get("loc", ()))
        msg = first.get("msg")
        if first.get("type") == "extra_forbidden" and loc:
            # The last part is a key the caller made up: name where it is, not the key.
            loc, msg = loc[:-1], "unknown field"
        field = ".".join(str(p) for p in loc) or None
        # Name the field and the rule; never echo the submitted value.
        return JSONResponse(
            error_body(INVALID_REQUEST, f"{field or 'request'}: {msg}", field),
            status_code=422,
        )

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, err: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(err.status_code, "http_error")
        message = err.detail if isinstance(err.detail, str) else code.replace("_", " ")
        return JSONResponse(
            error_body(code, message), status_code=err.status_code, headers=err.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, err: Exception) -> JSONResponse:
        # Only for the middlewares outside LastResort (below), which answers the rest.
        log.error("unhandled_error", error_type=type(err).__name__)
        return JSONResponse(error_body("internal_error", "internal error"), status_code=500)


class LastResort:
    """Answers an unexpected exception with 500 ``internal_error`` and logs its type only
    (a pure ASGI middleware, innermost, so the answer still gets the security headers).

    Not an exception handler: Starlette re-raises after calling one, and the server then
    logs the whole traceback, whose text — a database error's SQL parameters, a value in
    a message — can hold e-mail addresses, names or token hashes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as err:  # noqa: BLE001 - the last resort: logged by type, answered 500
            log.error("unhandled_error", error_type=type(err).__name__)
            if not started:  # else the response is cut short; the client sees it fail
                response = JSONResponse(
                    error_body("internal_error", "internal error"), status_code=500
                )
                await response(scope, receive, send)
