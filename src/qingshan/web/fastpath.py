"""The cached payloads answered before FastAPI: an ASGI fast path.

Profiled under ``bench/bench_web.py`` (50 clients, devices uploading), a cached cockpit
answer cost about 0.7 ms of CPU in a web worker, nearly all of it FastAPI's routing,
dependency resolution (``require`` → ``principal``), a thread hop and the response
machinery around bytes that were already made. :class:`FastPayloads` answers a GET of a
route registered here straight from the payload cache when everything it needs is already
in memory:

* the caller, from the credential cache (:func:`qingshan.web.deps.cached_principal`), with a
  role the route admits;
* whatever else the route checks, from memory (the series: the site's visibility to this
  caller, remembered like credentials);
* a payload the cache would serve (:meth:`qingshan.web.cache.VersionedCache.lookup`: current,
  or the previous one while one background thread recomputes it).

Anything else — no credential cached, a role refused, an unusual query, no payload yet —
goes on to FastAPI unchanged, which answers as it always did (401/403/404/422, or computes
the payload). The answer is made by the same function as the route's
(:func:`qingshan.web.cache.answer`: body, ``ETag``, ``Cache-Control``, ``304``), inside the
security-headers middleware, so both paths send the same bytes and headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from qingshan.roles import Principal, Role
from qingshan.web.cache import answer, payloads
from qingshan.web.deps import cached_principal, ctx

# (request, caller, path match) → (cache key, per-request head) or None (let FastAPI answer)
Resolver = Callable[[Request, Principal, "re.Match[str]"], "tuple[str, bytes] | None"]


@dataclass(frozen=True, slots=True)
class FastRoute:
    path: re.Pattern[str]  # the route's path under the app's root, matched whole
    roles: frozenset[Role]  # the route's grant (the same tuple it passes to require())
    resolve: Resolver


class FastPayloads:
    """Pure ASGI middleware answering the :class:`FastRoute` s from the payload cache."""

    def __init__(self, app: ASGIApp, routes: tuple[FastRoute, ...]) -> None:
        self.app = app
        self.routes = routes
        self.answered = 0  # requests answered here (tests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            got = self._answer(scope)
            if got is not None:
                self.answered += 1
                status, headers, body = got
                # The messages Starlette's Response would send (same headers), without it.
                raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
                if status == 200:
                    raw.append((b"content-length", str(len(body)).encode()))
                    raw.append((b"content-type", b"application/json"))
                await send({"type": "http.response.start", "status": status, "headers": raw})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> tuple[int, dict[str, str], bytes] | None:
        path = get_route_path(scope)
        for route in self.routes:
            m = route.path.fullmatch(path)
            if m is not None:
                break
        else:
            return None
        request = Request(scope)
        p = cached_principal(ctx(request), request)
        if p is None or p.role not in route.roles:
            return None
        got = route.resolve(request, p, m)
        if got is None:
            return None
        key, head = got
        hit = payloads(request).lookup(key)
        if hit is None:
            return None
        return answer(hit, head, request.headers.get("if-none-match"))
