"""The FastAPI application factory."""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qingshan import __version__
from qingshan.roles import PUBLIC
from qingshan.services.errors import Conflict, NotFound
from qingshan.services.permissions import DISTRICT, GATEWAY_OPERATORS, READERS
from qingshan.settings import Settings
from qingshan.storage.db import READONLY
from qingshan.web.api import (
    accounts,
    attachments,
    cases,
    devices,
    inbox,
    observations,
    overview,
    plans,
    registry,
    reports,
    sites,
    sources,
    timeline,
)
from qingshan.web.auth import LoginLimiter
from qingshan.web.deps import WebContext, principal
from qingshan.web.exports import ExportGate
from qingshan.web.fastpath import FastPayloads, FastRoute
from qingshan.web.gateway_status import GatewayStatusSource

log = logging.getLogger("qingshan.web")

PAGES = {
    "/": "cockpit.html",
    "/login": "login.html",
    "/map": "map.html",
    "/site": "site.html",
    "/query": "query.html",
    "/devices": "devices.html",
    "/registry": "registry.html",
    "/sources": "sources.html",
    "/enterprise": "enterprise.html",
    "/warnings": "warnings.html",
    "/plans": "plans.html",
    "/cases": "cases.html",
    "/case": "case.html",
    "/report": "report.html",
    "/reports": "reports.html",
    "/registry-item": "registry-item.html",
    "/inbox": "inbox.html",
    "/public": "public.html",
    "/users": "users.html",
    "/account": "account.html",
}


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# Swagger UI (vendored, no inline script) sets style attributes from its React components;
# only its page admits inline styles, never inline or foreign scripts.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

DOCS_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>青山 Qingshan API</title>
<link rel="icon" href="../../static/img/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="../../static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="../../static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="../../static/js/apidocs.js"></script>
</body>
</html>
"""


def _security_headers() -> dict[str, str]:
    # Map tiles come through the app's own proxy (/api/v1/map/tiles), so images need no
    # other origin and the tile key never reaches the browser.
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than Starlette's BaseHTTPMiddleware): security headers on
    every response (the docs page with its own CSP), ``no-store`` on the API, and HSTS when
    the request came over TLS (directly, or by a trusted proxy's ``X-Forwarded-Proto``) or
    the settings say the site is served behind TLS."""

    def __init__(
        self, app: ASGIApp, headers: dict[str, str], hsts_seconds: int, behind_tls: bool
    ) -> None:
        self.app = app
        self.raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.docs_raw = [
            (k, DOCS_CSP.encode() if k == b"content-security-policy" else v) for k, v in self.raw
        ]
        self.hsts = (b"strict-transport-security", f"max-age={hsts_seconds}".encode())
        self.hsts_on = hsts_seconds > 0
        self.behind_tls = behind_tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = list(self.docs_raw if path.startswith("/api/v1/docs") else self.raw)
        if path.startswith("/api/"):
            extra.append((b"cache-control", b"no-store"))
        if self.hsts_on and (self.behind_tls or scope.get("scheme") == "https"):
            extra.append(self.hsts)

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
    status: GatewayStatusSource | None = None,
) -> FastAPI:
    """The ASGI app over the database of ``session_factory`` (its engine).

    ``status`` (optional) reports the gateway's health for ``GET /healthz``: a function, or a
    coroutine function such as :class:`~qingshan.web.gateway_status.GatewayStatus` (the
    gateway in another process).
    """
    from qingshan.services.accounts import prepare_log_in

    prepare_log_in()
    engine = session_factory.kw["bind"]
    ctx = WebContext(
        settings=settings,
        read=sessionmaker(engine.execution_options(**READONLY), expire_on_commit=False),
        write=sessionmaker(engine, expire_on_commit=False),
        limiter=LoginLimiter(
            settings.web_login_max_failures,
            settings.web_login_window_seconds,
            base_delay=settings.web_login_base_delay_seconds,
            max_delay=settings.web_login_max_delay_seconds,
            user_max_delay=settings.web_login_user_max_delay_seconds,
        ),
        status=status,
        exports=ExportGate(settings.web_export_concurrency, settings.web_export_max_rows),
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
        docs_url=None,  # our own page below: vendored Swagger UI under the CSP
        redoc_url=None,
    )
    app.state.qingshan = ctx
    # Inside SecurityHeaders (added last = outermost): the fast answers get the same headers.
    app.add_middleware(
        FastPayloads,
        routes=(
            FastRoute(re.compile(r"/api/v1/cockpit"), frozenset(DISTRICT), overview.cockpit_fast),
            FastRoute(
                re.compile(r"/api/v1/sites/(\d{1,10})/series"),
                frozenset(READERS),
                sites.series_fast,
            ),
        ),
    )
    app.add_middleware(
        SecurityHeaders,
        headers=_security_headers(),
        hsts_seconds=settings.web_hsts_seconds,
        behind_tls=settings.web_behind_tls,
    )

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
        sources.router,
        plans.router,
        cases.router,
        cases.public_router,
        reports.router,
    ):
        app.include_router(r, prefix="/api/v1")

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> dict[str, Any]:
        """Liveness and the gateway's counters for anyone (``status``: ok / degraded,
        ``database``, whole numbers); texts such as the last forwarding error only for a
        logged-in reader (session or API token)."""
        full: dict[str, Any] = {"status": "ok"}
        if status is not None:
            answer = status()
            full = await answer if inspect.isawaitable(answer) else answer
        try:
            p = await principal(request)
        except HTTPException:
            p = PUBLIC
        if p.role in READERS:
            if p.role in GATEWAY_OPERATORS:
                return full
            # What the gateway refused and from whom: the bureau's operators only.
            return {k: v for k, v in full.items() if k != "gateway_limits"}
        return {
            k: v
            for k, v in full.items()
            if k in ("status", "database") or (isinstance(v, int) and not isinstance(v, bool))
        }

    @app.get("/api/v1/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    static = resources.files("qingshan.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    pages = resources.files("qingshan.web").joinpath("pages")

    def page(name: str) -> Callable[[], FileResponse]:
        def serve_page() -> FileResponse:
            return FileResponse(str(pages.joinpath(name)), media_type="text/html; charset=utf-8")

        return serve_page

    for path, name in PAGES.items():
        app.add_api_route(path, page(name), include_in_schema=False, methods=["GET"])

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        # Browsers and tools ask for /favicon.ico by name; the pages link the SVG.
        return FileResponse(
            str(static.joinpath("img/favicon.ico")),
            media_type="image/x-icon",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/index.html", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("./")

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    return app
