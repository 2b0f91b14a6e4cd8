"""The explorer's web app: a Starlette application serving the page and a JSON API.

Starlette (with uvicorn as its server) was chosen because it is a small, well-kept ASGI toolkit
with no template engine or ORM to carry: the app is a handful of routes, static files and JSON.
The drawing happens in the browser (hand-written JavaScript on canvas); every number comes
from steepest, computed on request.

Routes
------
``GET /`` and ``GET /network``
    The optimizer view and the network view (``static/``, served by the app itself).
``GET /api/meta``
    Problems, methods (from ``steepest.minimize.METHODS``), schedules, datasets, bounds.
``GET /api/contour?problem=&kappa=``
    The problem on a grid, for the contour plot.
``POST /api/run``
    One run of :func:`steepest.minimize`: trajectory, losses, rates, diagnostics in words.
``POST /api/net/session``, ``POST /api/net/{id}/train``, ``POST /api/net/{id}/step``,
``DELETE /api/net/{id}``
    Training sessions of the network view.

Every parameter is validated (:mod:`steepest.explore.params`): a bad one gets HTTP 400 with
``{"error": message, "parameter": name}``; the work per request is bounded by those checks (a
network-view train request also by :data:`steepest.explore.network.MAX_WORK`). The engine's
grad mode is one process-wide switch (as the rest of the library assumes one thread), so the
computations of concurrent requests take turns under one lock; each is short.

A local server is reachable by any web page the user opens, so every request is checked first:
its ``Host`` must be this server's (the bound address, ``127.0.0.1``, ``localhost`` or ``[::1]``,
with the bound port), else HTTP 400, which defeats DNS rebinding; and a request that changes
state (anything but GET, HEAD and OPTIONS) from another origin (an ``Origin`` header that is
not this server's, or ``Sec-Fetch-Site: cross-site``) gets HTTP 403, which defeats cross-site
request forgery, even with a ``text/plain`` body that needs no CORS preflight.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import network, optimizer
from .params import ParamError, bounds, parse_json, validate

__all__ = ["create_app", "STATIC", "MAX_BODY"]

STATIC = Path(__file__).parent / "static"
MAX_BODY = 64 * 1024  # bytes of JSON per request
_log = logging.getLogger("steepest.explore")

# Served with every response: scripts, styles, images and requests may come from this server
# only, so the page cannot load anything from another host even by mistake.
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def _error(status: int, message: str, parameter: str | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "parameter": parameter}, status_code=status)


_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``Host`` header -> (lower-case name without brackets, port or None); None if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:]
    elif value.count(":") == 1:
        name, port_text = value.split(":")
    elif ":" in value:
        return None  # an IPv6 literal must be bracketed
    else:
        name, port_text = value, ""
    if port_text and not port_text.isdigit():
        return None
    if not name:
        return None
    return name.rstrip("."), int(port_text) if port_text else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class _Guard(BaseHTTPMiddleware):
    """The Host check (DNS rebinding) and the same-origin check (CSRF) of every request."""

    def __init__(self, app: Any, host: str | None, port: int | None) -> None:
        super().__init__(app)
        self.port = port or None  # 0 or None: any port
        bound = (host or "127.0.0.1").strip("[]").lower()
        self.wildcard = bound in _WILDCARDS
        names = set(_LOOPBACK_NAMES)
        if not self.wildcard:
            names.add(bound)
        else:  # serving a classroom: reached by an IP address or this machine's name
            machine = socket.gethostname().lower()
            names.update({machine, f"{machine}.local"})
        self.names = frozenset(names)

    def allowed(self, host_header: str) -> bool:
        parsed = _split_host(host_header)
        if parsed is None:
            return False
        name, port = parsed
        if name not in self.names and not (self.wildcard and _is_ip(name)):
            return False
        return self.port is None or (port if port is not None else 80) == self.port

    def shown(self) -> str:
        names = ", ".join(sorted(f"[{n}]" if ":" in n else n for n in self.names))
        where = f" on port {self.port}" if self.port else ""
        return names + (" or an IP address" if self.wildcard else "") + where

    async def dispatch(self, request: Request, call_next: Callable[..., Any]) -> Response:
        host = request.headers.get("host", "")
        if not self.allowed(host):
            return _error(400, f"explore: the Host header {host!r} is not this server's "
                               f"(allowed: {self.shown()}); open the address that "
                               f"'steepest explore' printed", "Host")
        if request.method not in _SAFE_METHODS:
            origin = request.headers.get("origin")
            own = f"{request.url.scheme}://{host.strip().lower()}"
            if origin is not None and origin.strip().lower() != own:
                return _error(403, f"explore: cross-origin request refused: Origin {origin!r} is "
                                   f"not this server's ({own})", "Origin")
            if request.headers.get("sec-fetch-site") == "cross-site":
                return _error(403, "explore: cross-site request refused (Sec-Fetch-Site: "
                                   "cross-site)", "Origin")
        return await call_next(request)


class _Headers(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Callable[..., Any]) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response


async def _body(request: Request) -> Any:
    """The request's JSON object: at most MAX_BODY bytes, finite numbers only."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise ParamError("body", f"explore: the request body must be at most {MAX_BODY} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise ParamError("body", f"explore: the request body must be at most {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    return parse_json(raw)


def create_app(*, max_sessions: int = 16, session_ttl: float = 900.0, host: str | None = None,
               port: int | None = None) -> Starlette:
    """The explorer's ASGI application.

    Parameters
    ----------
    max_sessions : int, default 16
        Network-view training sessions kept at once (one per tab; the least recently used is
        dropped to make room, and its tab starts a new one).
    session_ttl : float, default 900
        Seconds an unused session lives.
    host : str, optional
        The address the server is bound to: requests whose ``Host`` header names it (or
        ``127.0.0.1``, ``localhost``, ``[::1]``) are served, others get HTTP 400. A wildcard
        (``0.0.0.0``, ``::``) also accepts any IP address and this machine's name. Default:
        the loopback names only.
    port : int, optional
        The bound port the ``Host`` header must carry (default, or 0: any port).

    Returns
    -------
    starlette.applications.Starlette
    """
    store = network.SessionStore(max_sessions, session_ttl)
    engine = threading.Lock()

    async def compute(function: Callable[..., Any], *args: Any) -> JSONResponse:
        def locked() -> Any:
            with engine:
                return function(*args)
        return JSONResponse(await run_in_threadpool(locked))

    def page(name: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> FileResponse:
            return FileResponse(STATIC / name, media_type="text/html")
        return endpoint

    async def meta(request: Request) -> JSONResponse:
        info = optimizer.meta()
        info["network"] = {
            "datasets": list(network.DATASETS), "optimizers": list(network.optimizers()),
            "activations": list(network.SESSION_SPEC["activation"].names()),
            "max_layers": network.SESSION_SPEC["hidden"].max_layers,
            "max_width": network.SESSION_SPEC["hidden"].max_width,
            "max_batches": network.MAX_BATCHES, "max_work": network.MAX_WORK,
            # the bounds the session and train requests are checked against (lr is in both)
            "bounds": bounds({**network.SESSION_SPEC, **network.TRAIN_SPEC})}
        return JSONResponse(info)

    async def contour(request: Request) -> JSONResponse:
        values = validate(optimizer.CONTOUR_SPEC, dict(request.query_params))
        return await compute(optimizer.contour, values)

    async def run(request: Request) -> JSONResponse:
        values = validate(optimizer.RUN_SPEC, await _body(request))
        return await compute(optimizer.run, values)

    async def new_session(request: Request) -> JSONResponse:
        settings = validate(network.SESSION_SPEC, await _body(request))
        network.check_batch_size(settings)

        def start() -> dict[str, Any]:
            key, session = store.create(settings)
            return {"id": key, "settings": settings, **session.data(), "frame": session.frame([])}
        return await compute(start)

    def session(request: Request) -> network.TrainingSession:
        key = request.path_params["sid"]
        try:
            return store.get(key)
        except KeyError:
            raise HTTPException(404, "explore: no such training session (it expired or was "
                                     "replaced); start a new one") from None

    async def train(request: Request) -> JSONResponse:
        values = validate(network.TRAIN_SPEC, await _body(request))
        s = session(request)
        network.check_work(s, values["batches"])
        return await compute(lambda: _with(s, lambda: s.train(values["batches"], values["lr"])))

    async def step(request: Request) -> JSONResponse:
        values = validate({"lr": network.TRAIN_SPEC["lr"]}, await _body(request))
        s = session(request)
        return await compute(lambda: _with(s, lambda: s.step(values["lr"])))

    async def delete(request: Request) -> JSONResponse:
        return JSONResponse({"deleted": store.delete(request.path_params["sid"])})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "sessions": len(store)})

    async def bad_param(request: Request, error: Exception) -> JSONResponse:
        return _error(400, str(error), getattr(error, "parameter", None))

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if request.url.path.startswith("/api/") or error.status_code != 404:
            return _error(error.status_code, str(error.detail))
        return JSONResponse({"error": f"no page at {request.url.path}"}, status_code=404)

    async def library_error(request: Request, error: Exception) -> JSONResponse:
        # A setting the fields allowed but the library refused (its message says why), or a
        # run that overflowed: the request was wrong, the server is fine.
        return _error(422, f"{type(error).__name__}: {error}")

    async def server_error(request: Request, error: Exception) -> JSONResponse:
        _log.exception("explore: %s %s failed", request.method, request.url.path)
        return _error(500, f"explore: internal error ({type(error).__name__}); the server logged "
                           "the details and keeps serving")

    routes = [
        Route("/", page("optimizer.html")),
        Route("/network", page("network.html")),
        Route("/api/meta", meta),
        Route("/api/health", health),
        Route("/api/contour", contour),
        Route("/api/run", run, methods=["POST"]),
        Route("/api/net/session", new_session, methods=["POST"]),
        Route("/api/net/{sid}/train", train, methods=["POST"]),
        Route("/api/net/{sid}/step", step, methods=["POST"]),
        Route("/api/net/{sid}", delete, methods=["DELETE"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    handlers = {ParamError: bad_param, HTTPException: http_error, ValueError: library_error,
                TypeError: library_error, ArithmeticError: library_error,
                Exception: server_error}
    return Starlette(routes=routes, exception_handlers=handlers,  # type: ignore[arg-type]
                     middleware=[Middleware(_Headers), Middleware(_Guard, host=host, port=port)])


def _with(session: network.TrainingSession, work: Callable[[], Any]) -> Any:
    with session.lock:  # two tabs sharing one id (a copied URL) take turns
        return work()
