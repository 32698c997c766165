"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import resources
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qingshan import __version__
from qingshan.services.errors import Conflict, NotFound
from qingshan.settings import Settings
from qingshan.storage.db import READONLY
from qingshan.web.api import (
    accounts,
    attachments,
    devices,
    inbox,
    observations,
    overview,
    registry,
    sites,
    timeline,
)
from qingshan.web.auth import LoginLimiter
from qingshan.web.deps import WebContext

log = logging.getLogger("qingshan.web")

PAGES = {
    "/": "cockpit.html",
    "/login": "login.html",
    "/map": "map.html",
    "/site": "site.html",
    "/query": "query.html",
    "/devices": "devices.html",
    "/registry": "registry.html",
    "/public": "public.html",
}


def _security_headers(tile_url: str) -> dict[str, str]:
    img = "'self' data:"
    if tile_url:
        # Allow only the configured tile server's origin.
        from urllib.parse import urlsplit

        u = urlsplit(tile_url.replace("{s}", "t0"))
        img += f" {u.scheme}://{u.hostname}" if u.hostname else ""
        if "{s}" in tile_url and u.hostname:
            img += f" {u.scheme}://*.{u.hostname.split('.', 1)[-1]}"
    return {
        "Content-Security-Policy": (
            f"default-src 'self'; img-src {img}; style-src 'self'; script-src 'self'; "
            "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than Starlette's BaseHTTPMiddleware): security headers on
    every response, ``no-store`` on the API."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = [] if path.startswith("/api/v1/docs") else list(self.raw)
        if path.startswith("/api/"):
            extra.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in extra if k not in have
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    status: Callable[[], dict[str, Any]] | None = None,
) -> FastAPI:
    """The ASGI app over the database of ``session_factory`` (its engine).

    ``status`` (optional) reports the gateway's health for ``GET /healthz``.
    """
    engine = session_factory.kw["bind"]
    ctx = WebContext(
        settings=settings,
        read=sessionmaker(engine.execution_options(**READONLY), expire_on_commit=False),
        write=sessionmaker(engine, expire_on_commit=False),
        limiter=LoginLimiter(settings.web_login_max_failures, settings.web_login_window_seconds),
        status=status,
    )
    app = FastAPI(
        title="青山 Qingshan API",
        version=__version__,
        description=(
            "Monitoring data, devices, cockpit figures and disclosure of the Qingshan "
            "ecological-environment platform. Authenticate with the session cookie (browser; "
            "unsafe methods need X-CSRF-Token) or `Authorization: Bearer <API token>`. "
            "Times without an offset are China Standard Time (UTC+8)."
        ),
        root_path=settings.web_root_path,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.qingshan = ctx
    headers = _security_headers(settings.map_tile_url)

    app.add_middleware(SecurityHeaders, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(ValueError)
    async def value_error(_request: Request, exc: ValueError) -> JSONResponse:
        # Service errors (qingshan.services.errors) and domain errors (bad codes, bad times):
        # a clear 422, not a 500.
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Conflict)
    async def conflict(_request: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    for r in (
        accounts.router,
        sites.router,
        observations.router,
        devices.router,
        overview.router,
        overview.public_router,
        attachments.router,
        inbox.router,
        timeline.router,
        registry.router,
    ):
        app.include_router(r, prefix="/api/v1")

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        """Liveness and gateway state (JSON)."""
        return status() if status is not None else {"status": "ok"}

    static = resources.files("qingshan.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    pages = resources.files("qingshan.web").joinpath("pages")

    def page(name: str) -> Callable[[], FileResponse]:
        def serve_page() -> FileResponse:
            return FileResponse(str(pages.joinpath(name)), media_type="text/html; charset=utf-8")

        return serve_page

    for path, name in PAGES.items():
        app.add_api_route(path, page(name), include_in_schema=False, methods=["GET"])

    @app.get("/index.html", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("./")

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    return app
